//! Field selectors: the `fieldSelector` query parameter (`metadata.name=x,status.phase!=Running`).
//!
//! Terms are separated by unescaped commas; each is `field=value`, `field==value` or
//! `field!=value`. In values, `\,` `\=` and `\\` escape; any other escape is an error. Which
//! fields a resource supports is the resource strategy's business, not the parser's.

use std::fmt;

/// Why a field selector could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldSelectorError {
    /// A term with no operator.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    NoOperator {
        /// The whole selector.
        selector: String,
        /// The term without an operator.
        term: String,
    },
    /// A bad escape or an unescaped special character in a value.
    #[error("invalid field selector: {0}")]
    BadValue(String),
}

/// One `field op value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field path, e.g. `spec.nodeName`.
    pub field: String,
    /// `true` for `!=`.
    pub negated: bool,
    /// The unescaped value.
    pub value: String,
}

/// A parsed field selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses the `fieldSelector` syntax.
    pub fn parse(input: &str) -> Result<Self, FieldSelectorError> {
        let mut requirements = Vec::new();
        for term in split_unescaped(input, ',') {
            if term.is_empty() {
                continue;
            }
            let Some((field, negated, raw)) = split_term(term) else {
                return Err(FieldSelectorError::NoOperator { selector: input.to_string(), term: term.to_string() });
            };
            requirements.push(FieldRequirement { field: field.to_string(), negated, value: unescape(raw)? });
        }
        Ok(Self { requirements })
    }

    /// The terms, in the order given.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether this selector matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether an object matches, given a lookup of its selectable fields. A field the object
    /// does not have compares as the empty string (callers reject unsupported fields up front).
    pub fn matches<V: AsRef<str>>(&self, field: impl Fn(&str) -> Option<V>) -> bool {
        self.requirements.iter().all(|r| (field(&r.field).as_ref().map_or("", AsRef::as_ref) == r.value) != r.negated)
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            let op = if r.negated { "!=" } else { "=" };
            let value = r.value.replace('\\', "\\\\").replace(',', "\\,").replace('=', "\\=");
            write!(f, "{}{}{op}{value}", if i > 0 { "," } else { "" }, r.field)?;
        }
        Ok(())
    }
}

/// Splits on `sep` where it is not escaped by a backslash.
fn split_unescaped(input: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in input.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&input[start..i]);
            start = i + 1;
        }
    }
    parts.push(&input[start..]);
    parts
}

/// The first unescaped operator of a term: `!=`, then `==`, then `=`.
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    let bytes = term.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'!' if bytes.get(i + 1) == Some(&b'=') => return Some((&term[..i], true, &term[i + 2..])),
            b'=' if bytes.get(i + 1) == Some(&b'=') => return Some((&term[..i], false, &term[i + 2..])),
            b'=' => return Some((&term[..i], false, &term[i + 1..])),
            _ => {}
        }
        i += 1;
    }
    None
}

fn unescape(raw: &str) -> Result<String, FieldSelectorError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(other) => {
                    return Err(FieldSelectorError::BadValue(format!(
                        "invalid escape sequence '\\{other}' in '{raw}'"
                    )));
                }
                None => return Err(FieldSelectorError::BadValue(format!("trailing backslash in '{raw}'"))),
            },
            ',' | '=' => {
                return Err(FieldSelectorError::BadValue(format!("unescaped '{c}' in value '{raw}'")));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(field: &str) -> Option<&'static str> {
        match field {
            "metadata.name" => Some("web-1"),
            "spec.nodeName" => Some("node-a"),
            "status.phase" => Some("Running"),
            _ => None,
        }
    }

    #[test]
    fn parses_and_matches_every_operator() {
        let selector = FieldSelector::parse("metadata.name=web-1,status.phase!=Pending,spec.nodeName==node-a").unwrap();
        assert_eq!(selector.requirements().len(), 3);
        assert!(selector.matches(pod));
        assert!(!FieldSelector::parse("status.phase!=Running").unwrap().matches(pod));
        assert!(!FieldSelector::parse("spec.unknown=x").unwrap().matches(pod));
        assert!(FieldSelector::parse("spec.unknown=").unwrap().matches(pod), "absent compares as empty");
        assert!(FieldSelector::parse("").unwrap().matches(pod));
        assert!(FieldSelector::parse("").unwrap().is_empty());
    }

    #[test]
    fn escapes_round_trip() {
        let selector = FieldSelector::parse(r"metadata.name=a\,b\=c\\d").unwrap();
        assert_eq!(selector.requirements()[0].value, r"a,b=c\d");
        assert_eq!(FieldSelector::parse(&selector.to_string()).unwrap(), selector);
    }

    #[test]
    fn malformed_selectors_are_errors() {
        assert!(matches!(FieldSelector::parse("metadata.name"), Err(FieldSelectorError::NoOperator { .. })));
        assert!(matches!(FieldSelector::parse(r"a=b\x"), Err(FieldSelectorError::BadValue(_))));
        assert!(matches!(FieldSelector::parse("a=b=c"), Err(FieldSelectorError::BadValue(_))));
        assert!(matches!(FieldSelector::parse(r"a=b\"), Err(FieldSelectorError::BadValue(_))));
    }
}
