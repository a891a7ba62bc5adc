//! Upstream's validation of ControllerRevisions (`ValidateControllerRevisionCreate` and
//! `...Update` in `pkg/apis/apps/validation`): data is required, the revision number is not
//! negative, and the data never changes.

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use serde_json::Value;

use super::checks;
use crate::object::Object;

/// apps/v1 ControllerRevision, on create.
pub fn validate_revision(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    if obj.get("data").is_none_or(Value::is_null) {
        errors.push(FieldError::required("data", "data is mandatory"));
    }
    checks::non_negative(&mut errors, &Path::new("revision"), obj.get("revision"));
    errors
}

/// apps/v1 ControllerRevision, on update: the data never changes.
pub fn validate_revision_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate_revision(new);
    // Compared as the bytes they are upstream (a raw extension), not semantically.
    let data = |obj: &Object| obj.get("data").filter(|d| !d.is_null()).cloned();
    if data(new) != data(old) {
        errors.push(FieldError::invalid("data", checks::shown(new.get("data")), checks::IMMUTABLE));
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn revision(value: Value) -> Object {
        let Value::Object(obj) = value else { panic!("an object") };
        obj
    }

    #[test]
    fn data_and_revision() {
        let stored = revision(json!({"revision": 2, "data": {"spec": {"template": {"spec": {"containers": []}}}}}));
        assert!(validate_revision(&stored).is_empty());
        let errors = validate_revision(&revision(json!({"revision": -1})));
        assert_eq!(
            errors.to_string(),
            "[data: Required value: data is mandatory, revision: Invalid value: -1: must be greater than or equal to 0]"
        );
        let mut relabelled = stored.clone();
        relabelled.insert("metadata".into(), json!({"labels": {"a": "b"}}));
        relabelled.insert("revision".into(), json!(3));
        assert!(validate_revision_update(&relabelled, &stored).is_empty(), "the revision number may change");
        let mut rewritten = stored.clone();
        rewritten.insert("data".into(), json!({"spec": {"replicas": 1}}));
        assert_eq!(
            validate_revision_update(&rewritten, &stored).to_string(),
            "data: Invalid value: {\"spec\":{\"replicas\":1}}: field is immutable"
        );
    }
}
