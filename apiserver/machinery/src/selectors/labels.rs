//! Label selectors: the `labelSelector` query parameter, parsed and matched as upstream does.
//!
//! ```text
//! selector     = [ requirement { "," requirement } ]
//! requirement  = [ "!" ] key [ ( "in" | "notin" ) "(" values ")" | ( "=" | "==" | "!=" ) value
//!                            | ( ">" | "<" ) integer ]
//! ```
//! `key` alone means "exists", `!key` "does not exist". Requirements are kept sorted by key, so
//! two selectors that say the same thing print the same (`Display`).

use std::collections::BTreeMap;
use std::fmt;

use crate::names;

/// Why a label selector could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse requirement: {0}")]
pub struct LabelSelectorError(pub String);

/// A requirement's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `key in (a,b)`
    In,
    /// `key notin (a,b)`
    NotIn,
    /// `key=a` or `key==a`
    Equals,
    /// `key!=a`
    NotEquals,
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key>5`
    GreaterThan,
    /// `key<5`
    LessThan,
}

/// One clause of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// How the label's value is tested.
    pub operator: Operator,
    /// The values, sorted (one for `=`/`!=`/`>`/`<`, none for exists tests).
    pub values: Vec<String>,
}

impl Requirement {
    /// Whether a set of labels satisfies this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In | Operator::Equals => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn | Operator::NotEquals => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(actual), Some(bound)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan { actual > bound } else { actual < bound }
            }
        }
    }
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses the `labelSelector` syntax.
    pub fn parse(input: &str) -> Result<Self, LabelSelectorError> {
        let tokens = lex(input);
        let mut parser = Parser { tokens, position: 0 };
        let mut requirements = Vec::new();
        loop {
            match parser.peek() {
                Token::End => break,
                Token::Identifier(_) | Token::Not => {
                    requirements.push(parser.requirement()?);
                    match parser.next() {
                        Token::End => break,
                        Token::Comma => {
                            if !matches!(parser.peek(), Token::Identifier(_) | Token::Not) {
                                return Err(LabelSelectorError(format!(
                                    "found '{}', expected: identifier after ','",
                                    parser.peek()
                                )));
                            }
                        }
                        other => {
                            return Err(LabelSelectorError(format!(
                                "found '{other}', expected: ',' or 'end of string'"
                            )));
                        }
                    }
                }
                other => {
                    return Err(LabelSelectorError(format!(
                        "found '{other}', expected: !, identifier, or 'end of string'"
                    )));
                }
            }
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { requirements })
    }

    /// Whether a set of labels satisfies every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether this selector matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match r.operator {
                Operator::In => write!(f, "{} in ({})", r.key, r.values.join(","))?,
                Operator::NotIn => write!(f, "{} notin ({})", r.key, r.values.join(","))?,
                Operator::Equals => write!(f, "{}={}", r.key, r.values[0])?,
                Operator::NotEquals => write!(f, "{}!={}", r.key, r.values[0])?,
                Operator::Exists => write!(f, "{}", r.key)?,
                Operator::DoesNotExist => write!(f, "!{}", r.key)?,
                Operator::GreaterThan => write!(f, "{}>{}", r.key, r.values[0])?,
                Operator::LessThan => write!(f, "{}<{}", r.key, r.values[0])?,
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Identifier(String),
    In,
    NotIn,
    Not,
    Equals,
    DoubleEquals,
    NotEquals,
    GreaterThan,
    LessThan,
    OpenParen,
    CloseParen,
    Comma,
    End,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Token::Identifier(s) => s,
            Token::In => "in",
            Token::NotIn => "notin",
            Token::Not => "!",
            Token::Equals => "=",
            Token::DoubleEquals => "==",
            Token::NotEquals => "!=",
            Token::GreaterThan => ">",
            Token::LessThan => "<",
            Token::OpenParen => "(",
            Token::CloseParen => ")",
            Token::Comma => ",",
            Token::End => "end of string",
        })
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn lex(input: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if is_special(c) {
            chars.next();
            let next = chars.peek().map(|&(_, n)| n);
            let token = match (c, next) {
                ('!', Some('=')) => Some(Token::NotEquals),
                ('=', Some('=')) => Some(Token::DoubleEquals),
                _ => None,
            };
            if let Some(token) = token {
                chars.next();
                tokens.push(token);
                continue;
            }
            tokens.push(match c {
                '!' => Token::Not,
                '=' => Token::Equals,
                '(' => Token::OpenParen,
                ')' => Token::CloseParen,
                ',' => Token::Comma,
                '>' => Token::GreaterThan,
                _ => Token::LessThan,
            });
            continue;
        }
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() || is_special(c) {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        let word = &input[start..end];
        tokens.push(match word {
            "in" => Token::In,
            "notin" => Token::NotIn,
            _ => Token::Identifier(word.to_string()),
        });
    }
    tokens.push(Token::End);
    tokens
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.position.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        self.position += 1;
        token
    }

    fn requirement(&mut self) -> Result<Requirement, LabelSelectorError> {
        let negated = *self.peek() == Token::Not;
        if negated {
            self.next();
        }
        let key = match self.next() {
            Token::Identifier(key) => key,
            other => return Err(LabelSelectorError(format!("found '{other}', expected: identifier"))),
        };
        let errors = names::qualified_name(&key);
        if !errors.is_empty() {
            return Err(LabelSelectorError(format!("key: Invalid value: \"{key}\": {}", errors.join("; "))));
        }
        if matches!(self.peek(), Token::End | Token::Comma) {
            let operator = if negated { Operator::DoesNotExist } else { Operator::Exists };
            return Ok(Requirement { key, operator, values: Vec::new() });
        }
        if negated {
            return Err(LabelSelectorError(format!("found '{}', expected: ',' or 'end of string'", self.peek())));
        }
        let (operator, values) = match self.next() {
            Token::In => (Operator::In, self.value_set()?),
            Token::NotIn => (Operator::NotIn, self.value_set()?),
            Token::Equals | Token::DoubleEquals => (Operator::Equals, vec![self.exact_value()?]),
            Token::NotEquals => (Operator::NotEquals, vec![self.exact_value()?]),
            Token::GreaterThan => (Operator::GreaterThan, vec![self.exact_value()?]),
            Token::LessThan => (Operator::LessThan, vec![self.exact_value()?]),
            other => {
                return Err(LabelSelectorError(format!("found '{other}', expected: in, notin, =, ==, !=, gt, lt")));
            }
        };
        validate_values(&key, operator, &values)?;
        let mut values = values;
        values.sort();
        values.dedup();
        Ok(Requirement { key, operator, values })
    }

    /// The value after `=`, `!=`, `>`, `<`: an identifier, or empty at `,` / end.
    fn exact_value(&mut self) -> Result<String, LabelSelectorError> {
        match self.peek() {
            Token::End | Token::Comma => Ok(String::new()),
            Token::Identifier(_) => match self.next() {
                Token::Identifier(value) => Ok(value),
                _ => unreachable!("peeked an identifier"),
            },
            // Keywords are values too after an operator (`tier=in`).
            Token::In | Token::NotIn => Ok(self.next().to_string()),
            other => Err(LabelSelectorError(format!("found '{other}', expected: identifier"))),
        }
    }

    /// `( v1, v2, ... )`; an empty entry (`(a,)`) is the empty value.
    fn value_set(&mut self) -> Result<Vec<String>, LabelSelectorError> {
        match self.next() {
            Token::OpenParen => {}
            other => return Err(LabelSelectorError(format!("found '{other}', expected: '('"))),
        }
        let mut values = Vec::new();
        let mut expecting_value = true;
        loop {
            match self.next() {
                Token::CloseParen => {
                    if expecting_value && !values.is_empty() {
                        values.push(String::new());
                    }
                    return Ok(values);
                }
                Token::Comma if expecting_value => values.push(String::new()),
                Token::Comma => expecting_value = true,
                Token::Identifier(value) if expecting_value => {
                    values.push(value);
                    expecting_value = false;
                }
                token @ (Token::In | Token::NotIn) if expecting_value => {
                    values.push(token.to_string());
                    expecting_value = false;
                }
                other => return Err(LabelSelectorError(format!("found '{other}', expected: ',', ')' or identifier"))),
            }
        }
    }
}

fn validate_values(key: &str, operator: Operator, values: &[String]) -> Result<(), LabelSelectorError> {
    let invalid = |detail: String| LabelSelectorError(format!("values: Invalid value: {values:?}: {detail}"));
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => {
            return Err(invalid("for 'in', 'notin' operators, values set can't be empty".into()));
        }
        Operator::GreaterThan | Operator::LessThan => {
            if values[0].parse::<i64>().is_err() {
                return Err(invalid(format!("for 'Gt', 'Lt' operators, the value must be an integer (key {key})")));
            }
            return Ok(());
        }
        _ => {}
    }
    for (i, value) in values.iter().enumerate() {
        let errors = names::label_value(value);
        if !errors.is_empty() {
            return Err(LabelSelectorError(format!(
                "values[{i}][{key}]: Invalid value: \"{value}\": {}",
                errors.join("; ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn matches(selector: &str, pairs: &[(&str, &str)]) -> bool {
        LabelSelector::parse(selector).unwrap().matches(&labels(pairs))
    }

    #[test]
    fn every_operator_matches_like_upstream() {
        let pod = [("app", "web"), ("tier", "frontend"), ("replicas", "3")];
        assert!(matches("", &pod));
        assert!(matches("app=web", &pod));
        assert!(matches("app==web", &pod));
        assert!(!matches("app!=web", &pod));
        assert!(matches("missing!=x", &pod), "!= matches an absent label");
        assert!(matches("app in (web,api)", &pod));
        assert!(!matches("app in (api)", &pod));
        assert!(matches("app notin (api)", &pod));
        assert!(matches("missing notin (api)", &pod), "notin matches an absent label");
        assert!(matches("app", &pod));
        assert!(!matches("!app", &pod));
        assert!(matches("!missing", &pod));
        assert!(matches("replicas>2,replicas<4", &pod));
        assert!(!matches("replicas>3", &pod));
        assert!(!matches("app>1", &pod), "a non-integer label never satisfies gt");
        assert!(matches("app=web, tier in (frontend)", &pod));
        assert!(!matches("app=web,tier=backend", &pod));
        assert!(matches("empty=", &[("empty", "")]));
        assert!(matches("example.com/role=x", &[("example.com/role", "x")]));
    }

    #[test]
    fn requirements_are_sorted_and_print_canonically() {
        let selector = LabelSelector::parse("z=1,a in (c,b),!m,k").unwrap();
        assert_eq!(selector.to_string(), "a in (b,c),k,!m,z=1");
        assert_eq!(LabelSelector::parse(&selector.to_string()).unwrap(), selector);
    }

    #[test]
    fn bad_selectors_are_errors() {
        // An empty value is a value.
        for ok in ["app=", "app==", "app!=", "app in (a,)"] {
            assert!(LabelSelector::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "=web",
            "app=web,",
            ",app",
            "app in web",
            "app in ()",
            "app in (a",
            "!app=web",
            "app=a b",
            "app=web=x",
            "app===web",
            "-bad=x",
            "app=-bad",
            "a/b/c=x",
            "n>x",
            "app web",
        ] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad} should not parse");
        }
        let err = LabelSelector::parse("app=a,b c").unwrap_err();
        assert!(err.to_string().starts_with("unable to parse requirement: "), "{err}");
    }
}
