//! Rules shared by ConfigMap and Secret data: key syntax, and the total size limit.

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use serde_json::Value;

/// Largest total size of a ConfigMap's or Secret's data (upstream: 1 MiB).
pub const MAX_DATA_BYTES: usize = 1024 * 1024;
const MAX_KEY_LEN: usize = 253;

/// Problems with a data key: `[-._a-zA-Z0-9]+`, at most 253 characters, not `.`/`..`, not
/// starting with `..`.
pub fn key_problems(key: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if key.len() > MAX_KEY_LEN {
        problems.push(format!("must be no more than {MAX_KEY_LEN} characters"));
    }
    if key.is_empty() || !key.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_')) {
        problems.push(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or \
             'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
                .to_string(),
        );
    }
    if key == "." {
        problems.push("must not be '.'".into());
    } else if key == ".." {
        problems.push("must not be '..'".into());
    } else if key.starts_with("..") {
        problems.push("must not start with '..'".into());
    }
    problems
}

/// Validates the keys of the given data maps (no key twice across them) and their total size.
/// `size_of` tells how many bytes a value counts for.
pub fn validate(maps: &[(&str, Option<&Value>)], size_of: impl Fn(&str, &Value) -> usize) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    for (field, map) in maps {
        let Some(map) = map.and_then(Value::as_object) else { continue };
        for (key, value) in map {
            let path = Path::new(field).key(key);
            for problem in key_problems(key) {
                errors.push(FieldError::invalid(&path, key.as_str(), problem));
            }
            if !seen.insert(key.clone()) {
                errors.push(FieldError::invalid(&path, key.as_str(), "duplicate of key present in another map"));
            }
            total += size_of(field, value);
        }
    }
    if total > MAX_DATA_BYTES {
        errors.push(FieldError::too_long("", MAX_DATA_BYTES));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in ["a", "key.name", "KEY_NAME", "key-name", ".hidden", "tls.crt"] {
            assert!(key_problems(ok).is_empty(), "{ok}");
        }
        for bad in ["", ".", "..", "..a", "a/b", "a b", &"k".repeat(254)] {
            assert!(!key_problems(bad).is_empty(), "{bad}");
        }
    }
}
