//! Upstream's validation of PriorityClasses (`pkg/apis/scheduling/validation`): the `system-`
//! prefix belongs to the two system classes (with their values), other classes stay at or below
//! 1,000,000,000, the preemption policy is one upstream knows (defaulted to
//! `PreemptLowerPriority`); value and preemption policy never change. That only one class is
//! the global default is admission's business (`crate::admission`), as upstream.

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use serde_json::{Value, json};

use super::checks;
use crate::admission::SYSTEM_PRIORITY_CLASSES;
use crate::object::{Object, meta_str};

/// `scheduling.HighestUserDefinablePriority`.
const HIGHEST_USER_PRIORITY: i64 = 1_000_000_000;
const SYSTEM_PREFIX: &str = "system-";
const PREEMPTION_POLICIES: &[&str] = &["PreemptLowerPriority", "Never"];

/// `SetDefaults_PriorityClass`.
pub fn default_class(obj: &mut Object) {
    if obj.get("preemptionPolicy").is_none_or(Value::is_null) {
        obj.insert("preemptionPolicy".into(), json!("PreemptLowerPriority"));
    }
}

/// scheduling.k8s.io/v1 PriorityClass, on create.
pub fn validate_class(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let name = meta_str(obj, "name");
    let value = obj.get("value").and_then(Value::as_i64).unwrap_or(0);
    let global_default = obj.get("globalDefault").and_then(Value::as_bool).unwrap_or(false);
    if name.starts_with(SYSTEM_PREFIX) {
        if let Err(why) = known_system_class(name, value, global_default) {
            errors.push(FieldError::forbidden(
                "metadata.name",
                format!(
                    "priority class names with '{SYSTEM_PREFIX}' prefix are reserved for system use only. error: {why}"
                ),
            ));
        }
    } else if value > HIGHEST_USER_PRIORITY {
        errors.push(FieldError::forbidden(
            "value",
            format!("maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"),
        ));
    }
    if let Some(policy) = obj.get("preemptionPolicy").filter(|p| !p.is_null()) {
        match policy.as_str().unwrap_or_default() {
            "" => errors.push(FieldError::required("preemptionPolicy", "")),
            policy => checks::one_of(&mut errors, &Path::new("preemptionPolicy"), policy, PREEMPTION_POLICIES),
        }
    }
    errors
}

/// `IsKnownSystemPriorityClass`.
fn known_system_class(name: &str, value: i64, global_default: bool) -> Result<(), String> {
    let class = SYSTEM_PRIORITY_CLASSES
        .iter()
        .find(|class| class.name == name)
        .ok_or_else(|| format!("{name} is not a known system priority class"))?;
    if class.value != value {
        return Err(format!("value of {name} PriorityClass must be {}", class.value));
    }
    if global_default {
        return Err(format!("globalDefault of {name} PriorityClass must be false"));
    }
    Ok(())
}

/// scheduling.k8s.io/v1 PriorityClass, on update: value and preemption policy never change.
pub fn validate_class_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate_class(new);
    if new.get("value") != old.get("value") {
        errors.push(FieldError::forbidden("value", "may not be changed in an update."));
    }
    checks::immutable(
        &mut errors,
        &Path::new("preemptionPolicy"),
        new.get("preemptionPolicy"),
        old.get("preemptionPolicy"),
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
    fn user_and_system_classes() {
        assert!(validate_class(&class(json!({"metadata": {"name": "high"}, "value": 1_000_000_000}))).is_empty());
        let critical = class(json!({"metadata": {"name": "system-node-critical"}, "value": 2_000_001_000}));
        assert!(validate_class(&critical).is_empty());
        assert_eq!(
            messages(&validate_class(&class(json!({"metadata": {"name": "huge"}, "value": 1_000_000_001})))),
            ["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]
        );
        assert_eq!(
            messages(&validate_class(&class(json!({"metadata": {"name": "system-mine"}, "value": 1})))),
            ["metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. \
              error: system-mine is not a known system priority class"]
        );
        let wrong_value = class(json!({"metadata": {"name": "system-cluster-critical"}, "value": 5}));
        assert!(
            messages(&validate_class(&wrong_value))[0]
                .ends_with("value of system-cluster-critical PriorityClass must be 2000000000")
        );
        assert_eq!(
            messages(&validate_class(&class(
                json!({"metadata": {"name": "x"}, "value": 1, "preemptionPolicy": "Always"})
            ))),
            ["preemptionPolicy: Unsupported value: \"Always\": supported values: \"PreemptLowerPriority\", \"Never\""]
        );
    }

    #[test]
    fn value_and_policy_never_change() {
        let old = class(json!({"metadata": {"name": "high"}, "value": 1000}));
        let mut described = old.clone();
        described.insert("description".into(), json!("for the web tier"));
        assert!(validate_class_update(&described, &old).is_empty());
        let changed = class(json!({"metadata": {"name": "high"}, "value": 2000, "preemptionPolicy": "Never"}));
        assert_eq!(
            messages(&validate_class_update(&changed, &old)),
            [
                "value: Forbidden: may not be changed in an update.",
                "preemptionPolicy: Invalid value: \"Never\": field is immutable",
            ]
        );
    }
}
