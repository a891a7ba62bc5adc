//! StorageClasses (`ValidateStorageClass` and `...Update`): a provisioner that is a qualified
//! name, bounded parameters, a reclaim policy and binding mode upstream knows (defaulted to
//! `Delete` and `Immediate`), distinct allowed topologies; the provisioner, parameters, reclaim
//! policy and binding mode never change.

use std::collections::{BTreeMap, BTreeSet};

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use serde_json::{Value, json};

use crate::object::Object;
use crate::resources::checks::selectors::topology_term;
use crate::resources::checks::{self, entries, field, items, text};

/// `supportedReclaimPolicy` of classes (no `Recycle`).
const RECLAIM_POLICIES: &[&str] = &["Delete", "Retain"];
/// `supportedVolumeBindingModes`.
const BINDING_MODES: &[&str] = &["Immediate", "WaitForFirstConsumer"];
const MAX_PARAMETERS: usize = 512;
const MAX_PARAMETERS_BYTES: usize = 256 * 1024;

fn value(obj: &Object) -> Value {
    Value::Object(obj.clone())
}

/// `SetDefaults_StorageClass`.
pub fn default_class(obj: &mut Object) {
    for (key, default) in [("reclaimPolicy", "Delete"), ("volumeBindingMode", "Immediate")] {
        if obj.get(key).is_none_or(Value::is_null) {
            obj.insert(key.into(), json!(default));
        }
    }
}

/// storage.k8s.io/v1 StorageClass, on create.
pub fn validate_class(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let class = value(obj);
    let provisioner = text(&class, "provisioner");
    let provisioner_path = Path::new("provisioner");
    if provisioner.is_empty() {
        errors.push(FieldError::required(&provisioner_path, ""));
    } else {
        checks::qualified_name(&mut errors, &provisioner_path, &provisioner.to_lowercase());
    }
    parameters(&mut errors, &Path::new("parameters"), &class);
    if let Some(policy) = field(&class, "reclaimPolicy").and_then(Value::as_str).filter(|p| !p.is_empty()) {
        checks::one_of(&mut errors, &Path::new("reclaimPolicy"), policy, RECLAIM_POLICIES);
    }
    let mode_path = Path::new("volumeBindingMode");
    match field(&class, "volumeBindingMode") {
        None => errors.push(FieldError::required(&mode_path, "")),
        Some(mode) => checks::one_of(&mut errors, &mode_path, mode.as_str().unwrap_or_default(), BINDING_MODES),
    }
    let topologies = Path::new("allowedTopologies");
    let mut seen: Vec<BTreeMap<String, BTreeSet<String>>> = Vec::new();
    for (i, term) in items(&class, "allowedTopologies").iter().enumerate() {
        let keys = topology_term(&mut errors, &topologies.index(i), term);
        // Upstream also finds a term without expressions a duplicate (its list of earlier
        // terms starts with empty ones).
        if keys.is_empty() || seen.contains(&keys) {
            errors.push(FieldError::duplicate(topologies.index(i).child("matchLabelExpressions"), ""));
        }
        seen.push(keys);
    }
    errors
}

/// `validateParameters`: at most 512, no empty key, at most 256 KiB in all.
fn parameters(errors: &mut FieldErrors, path: &Path, class: &Value) {
    let count = entries(class, "parameters").count();
    if count > MAX_PARAMETERS {
        errors.push(FieldError::too_long(path, MAX_PARAMETERS));
        return;
    }
    let mut size = 0;
    for (key, value) in entries(class, "parameters") {
        if key.is_empty() {
            errors.push(FieldError::invalid(path, key.as_str(), "field can not be empty."));
        }
        size += key.len() + value.as_str().map_or(0, str::len);
    }
    if size > MAX_PARAMETERS_BYTES {
        errors.push(FieldError::too_long(path, MAX_PARAMETERS_BYTES));
    }
}

/// storage.k8s.io/v1 StorageClass, on update.
pub fn validate_class_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate_class(new);
    for key in ["parameters", "provisioner", "reclaimPolicy"] {
        if !checks::same(new.get(key), old.get(key)) {
            errors.push(FieldError::forbidden(key, format!("updates to {key} are forbidden.")));
        }
    }
    checks::immutable(
        &mut errors,
        &Path::new("volumeBindingMode"),
        new.get("volumeBindingMode"),
        old.get("volumeBindingMode"),
    );
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::checks::testing::messages;

    fn class(value: Value) -> Object {
        let Value::Object(mut obj) = value else { panic!("an object") };
        default_class(&mut obj);
        obj
    }

    #[test]
    fn defaults_and_a_realistic_class() {
        let standard = class(json!({"metadata": {"name": "standard"}, "provisioner": "kybernetes.io/local-path"}));
        assert_eq!(standard["reclaimPolicy"], "Delete");
        assert_eq!(standard["volumeBindingMode"], "Immediate");
        assert!(validate_class(&standard).is_empty());
        let zoned = class(json!({"provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3"},
            "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true,
            "allowedTopologies": [{"matchLabelExpressions": [{"key": "topology.kubernetes.io/zone", "values": ["a", "b"]}]}]}));
        assert!(validate_class(&zoned).is_empty());
    }

    #[test]
    fn bad_classes() {
        let bad = class(json!({"provisioner": "bad provisioner", "parameters": {"": "x"}, "reclaimPolicy": "Recycle",
            "volumeBindingMode": "Later",
            "allowedTopologies": [{"matchLabelExpressions": [{"key": "zone", "values": ["a"]}]},
                                  {"matchLabelExpressions": [{"key": "zone", "values": ["a"]}]}]}));
        let found = messages(&validate_class(&bad));
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(found[0].starts_with("provisioner: Invalid value: \"bad provisioner\": name part must consist of"));
        assert_eq!(found[1], "parameters: Invalid value: \"\": field can not be empty.");
        assert_eq!(found[2], "reclaimPolicy: Unsupported value: \"Recycle\": supported values: \"Delete\", \"Retain\"");
        assert_eq!(
            found[3],
            "volumeBindingMode: Unsupported value: \"Later\": supported values: \"Immediate\", \"WaitForFirstConsumer\""
        );
        assert_eq!(found[4], "allowedTopologies[1].matchLabelExpressions: Duplicate value: \"\"");
        assert_eq!(messages(&validate_class(&class(json!({})))), ["provisioner: Required value"]);
    }

    #[test]
    fn what_never_changes() {
        let old = class(json!({"provisioner": "a.io/x", "parameters": {"type": "gp3"}}));
        let mut new = old.clone();
        new.insert("allowVolumeExpansion".into(), json!(true));
        new.insert("mountOptions".into(), json!(["ro"]));
        assert!(validate_class_update(&new, &old).is_empty());
        let changed = class(json!({"provisioner": "b.io/x", "parameters": {"type": "io2"}, "reclaimPolicy": "Retain",
                                   "volumeBindingMode": "WaitForFirstConsumer"}));
        assert_eq!(
            messages(&validate_class_update(&changed, &old)),
            [
                "parameters: Forbidden: updates to parameters are forbidden.",
                "provisioner: Forbidden: updates to provisioner are forbidden.",
                "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.",
                "volumeBindingMode: Invalid value: \"WaitForFirstConsumer\": field is immutable",
            ]
        );
    }
}
