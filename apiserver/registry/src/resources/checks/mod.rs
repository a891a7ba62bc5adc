//! Field-level rules that upstream's per-type validation shares (`pkg/apis/core/validation`,
//! apimachinery's `util/validation` and `meta/v1/validation`), over objects as JSON: names,
//! enums, immutability, port numbers and names ([`net`] for IPs and CIDRs, [`quantity`] for
//! resource quantities, [`selectors`] for label and node selectors). The per-group modules
//! (`storage/`, `policy.rs`, `rbac.rs`, ...) compose them with upstream's field paths.

pub mod net;
pub mod quantity;
pub mod selectors;

use apiserver_machinery::field::{FieldError, FieldErrors, FieldValue, Path};
use apiserver_machinery::names;
use serde_json::Value;

/// Upstream's message for an immutable field.
pub const IMMUTABLE: &str = "field is immutable";
/// Upstream's message for a negative count (`apimachinery` `IsNegativeErrorMsg`).
pub const NEGATIVE: &str = "must be greater than or equal to 0";

/// A field of `value` that is set: present and not null (JSON's way of leaving it out).
pub fn field<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.get(key).filter(|v| !v.is_null())
}

/// A string field ("" when absent or not a string).
pub fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The items of a list field (none when absent).
pub fn items<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

/// The entries of a map field (none when absent).
pub fn entries<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = (&'a String, &'a Value)> {
    value.get(key).and_then(Value::as_object).into_iter().flatten()
}

/// Whether a list or map field has entries.
pub fn has_entries(value: &Value, key: &str) -> bool {
    match value.get(key) {
        Some(Value::Array(list)) => !list.is_empty(),
        Some(Value::Object(map)) => !map.is_empty(),
        _ => false,
    }
}

/// A value as upstream's field errors print it: strings quoted, numbers and booleans bare,
/// `null` for nothing, and anything else as its JSON (upstream prints Go structs there).
pub fn shown(value: Option<&Value>) -> FieldValue {
    match value {
        None | Some(Value::Null) => FieldValue::raw("null"),
        Some(Value::String(s)) => FieldValue::from(s),
        Some(Value::Bool(b)) => FieldValue::from(*b),
        Some(Value::Number(n)) => FieldValue::raw(n.to_string()),
        Some(other) => FieldValue::raw(other.to_string()),
    }
}

/// One `Invalid` error per problem a name check found.
pub fn invalid_each(errors: &mut FieldErrors, path: &Path, value: &str, problems: Vec<String>) {
    errors.extend(problems.into_iter().map(|problem| FieldError::invalid(path, value, problem)));
}

/// `ValidateQualifiedName`.
pub fn qualified_name(errors: &mut FieldErrors, path: &Path, value: &str) {
    invalid_each(errors, path, value, names::qualified_name(value));
}

/// `ValidateDNS1123Label`.
pub fn dns1123_label(errors: &mut FieldErrors, path: &Path, value: &str) {
    invalid_each(errors, path, value, names::dns1123_label(value));
}

/// `ValidateDNS1123Subdomain`.
pub fn dns1123_subdomain(errors: &mut FieldErrors, path: &Path, value: &str) {
    invalid_each(errors, path, value, names::dns1123_subdomain(value));
}

/// `field.NotSupported` unless `value` is one of `supported`.
pub fn one_of(errors: &mut FieldErrors, path: &Path, value: &str, supported: &[&str]) {
    if !supported.contains(&value) {
        errors.push(FieldError::not_supported(path, value, supported));
    }
}

/// Upstream's semantic equality of two values: unset, null, empty lists and empty maps are
/// all the same (Go's nil and empty slices and maps).
pub fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    normalized(a) == normalized(b)
}

fn normalized(value: Option<&Value>) -> Option<Value> {
    match value? {
        Value::Null => None,
        Value::Array(list) if list.is_empty() => None,
        Value::Array(list) => {
            Some(Value::Array(list.iter().map(|v| normalized(Some(v)).unwrap_or(Value::Null)).collect()))
        }
        Value::Object(map) => {
            let map: serde_json::Map<String, Value> =
                map.iter().filter_map(|(k, v)| Some((k.clone(), normalized(Some(v))?))).collect();
            (!map.is_empty()).then_some(Value::Object(map))
        }
        other => Some(other.clone()),
    }
}

/// The fields in which two objects differ, one `-` and one `+` line each (what upstream's
/// "immutable after creation" errors append, as a Go diff there).
pub fn diff(old: Option<&Value>, new: Option<&Value>) -> String {
    let empty = serde_json::Map::new();
    let (old, new) =
        (old.and_then(Value::as_object).unwrap_or(&empty), new.and_then(Value::as_object).unwrap_or(&empty));
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut lines = Vec::new();
    for key in keys.into_iter().filter(|k| !same(old.get(*k), new.get(*k))) {
        let line = |sign: char, value: Option<&Value>| format!("{sign} {key}: {}", value.unwrap_or(&Value::Null));
        lines.push(line('-', old.get(key)));
        lines.push(line('+', new.get(key)));
    }
    lines.join("\n")
}

/// `ValidateImmutableField`: `field is immutable` when the value changed.
pub fn immutable(errors: &mut FieldErrors, path: &Path, new: Option<&Value>, old: Option<&Value>) {
    if !same(new, old) {
        errors.push(FieldError::invalid(path, shown(new), IMMUTABLE));
    }
}

/// `ValidateNonnegativeField` of an optional integer field.
pub fn non_negative(errors: &mut FieldErrors, path: &Path, value: Option<&Value>) {
    if let Some(n) = value.and_then(Value::as_i64)
        && n < 0
    {
        errors.push(FieldError::invalid(path, n, NEGATIVE));
    }
}

/// `IsValidPortNum`.
pub fn port_number_problems(port: i64) -> Vec<String> {
    if (1..=65535).contains(&port) { Vec::new() } else { vec!["must be between 1 and 65535, inclusive".into()] }
}

/// `IsValidPortName`: an IANA service name.
pub fn port_name_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if name.len() > 15 {
        problems.push("must be no more than 15 characters".to_string());
    }
    if name.is_empty() || !name.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-') {
        problems.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    } else if !name.bytes().any(|c| c.is_ascii_lowercase()) {
        problems.push("must contain at least one letter (a-z)".into());
    }
    if name.contains("--") {
        problems.push("must not contain consecutive hyphens".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        problems.push("must not begin or end with a hyphen".into());
    }
    problems
}

/// `validatePathNoBacksteps`: no `..` element.
pub fn no_backsteps(errors: &mut FieldErrors, path: &Path, value: &str) {
    if value.split('/').any(|part| part == "..") {
        errors.push(FieldError::invalid(path, value, "must not contain '..'"));
    }
}

/// What the validation tests of every resource share.
#[cfg(test)]
pub(crate) mod testing {
    use apiserver_machinery::field::FieldErrors;

    /// The errors as their messages (`path: reason: detail`).
    pub fn messages(errors: &FieldErrors) -> Vec<String> {
        errors.iter().map(ToString::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_print_like_upstream() {
        assert_eq!(FieldError::invalid("a", shown(Some(&json!("x"))), "d").body(), "Invalid value: \"x\": d");
        assert_eq!(FieldError::invalid("a", shown(Some(&json!(3))), "d").body(), "Invalid value: 3: d");
        assert_eq!(FieldError::invalid("a", shown(None), "d").body(), "Invalid value: null: d");
    }

    #[test]
    fn immutability_ignores_null_versus_absent() {
        let mut errors = FieldErrors::default();
        immutable(&mut errors, &Path::new("a"), Some(&Value::Null), None);
        assert!(errors.is_empty());
        immutable(&mut errors, &Path::new("a"), Some(&json!("b")), Some(&json!("c")));
        assert_eq!(errors.to_string(), "a: Invalid value: \"b\": field is immutable");
    }

    #[test]
    fn semantic_equality_and_diffs() {
        assert!(same(Some(&json!({"a": [], "b": null, "c": {}})), None));
        assert!(!same(Some(&json!({"a": [1]})), Some(&json!({"a": [2]}))));
        let (old, new) = (json!({"a": 1, "b": "x"}), json!({"a": 1, "b": "y", "c": true}));
        assert_eq!(diff(Some(&old), Some(&new)), "- b: \"x\"\n+ b: \"y\"\n- c: null\n+ c: true");
    }

    #[test]
    fn port_names_and_numbers() {
        for ok in ["http", "h2c", "web-8080"] {
            assert!(port_name_problems(ok).is_empty(), "{ok}");
        }
        assert_eq!(port_name_problems("8080"), ["must contain at least one letter (a-z)"]);
        assert_eq!(port_name_problems("a--b"), ["must not contain consecutive hyphens"]);
        assert_eq!(port_name_problems("Http").len(), 1);
        assert_eq!(port_name_problems("a-very-long-port-name").len(), 1);
        assert!(port_number_problems(443).is_empty());
        assert_eq!(port_number_problems(0), ["must be between 1 and 65535, inclusive"]);
        assert_eq!(port_number_problems(65536).len(), 1);
    }

    #[test]
    fn backsteps() {
        let mut errors = FieldErrors::default();
        no_backsteps(&mut errors, &Path::new("p"), "/data/..hidden/x");
        assert!(errors.is_empty());
        no_backsteps(&mut errors, &Path::new("p"), "/data/../etc");
        assert_eq!(errors.len(), 1);
    }
}
