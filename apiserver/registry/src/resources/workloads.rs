//! Upstream's validation of the workload controllers' objects (Deployment, ReplicaSet,
//! StatefulSet, DaemonSet): a selector that is set, not empty and matches the pod template's
//! labels, non-negative replicas, a template with containers, and a selector that never
//! changes. (Pod template contents beyond containers are the pod strategy's business.)

use std::collections::BTreeMap;

use apiserver_machinery::field::{FieldError, FieldErrors};
use apiserver_machinery::selectors::LabelSelector;
use serde_json::Value;

use crate::object::Object;
use crate::scale::selector_text;

/// The rules of a create.
pub fn validate(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    if let Some(replicas) = spec.get("replicas").and_then(Value::as_i64)
        && replicas < 0
    {
        errors.push(FieldError::invalid("spec.replicas", replicas, "must be greater than or equal to 0"));
    }
    let selector = spec.get("selector").filter(|s| !s.is_null());
    let template_labels: BTreeMap<String, String> = spec
        .pointer("/template/metadata/labels")
        .and_then(Value::as_object)
        .map(|labels| labels.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    match selector {
        None => errors.push(FieldError::required("spec.selector", "")),
        Some(selector) => {
            let text = selector_text(Some(selector));
            if text.is_empty() {
                errors.push(FieldError::invalid(
                    "spec.selector",
                    text.as_str(),
                    "empty selector is invalid for deployment",
                ));
            } else {
                match LabelSelector::parse(&text) {
                    Err(e) => errors.push(FieldError::invalid("spec.selector", text.as_str(), e.to_string())),
                    Ok(parsed) if !parsed.matches(&template_labels) => errors.push(FieldError::invalid(
                        "spec.template.metadata.labels",
                        format!("{template_labels:?}"),
                        "`selector` does not match template `labels`",
                    )),
                    Ok(_) => {}
                }
            }
        }
    }
    let containers = spec.pointer("/template/spec/containers").and_then(Value::as_array);
    if containers.is_none_or(Vec::is_empty) {
        errors.push(FieldError::required("spec.template.spec.containers", ""));
    }
    errors
}

/// The rules of an update: those of a create, and an unchanged selector.
pub fn validate_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate(new);
    let selector = |obj: &Object| obj.get("spec").and_then(|s| s.get("selector")).cloned();
    if selector(new) != selector(old) {
        let text = selector_text(selector(new).as_ref());
        errors.push(FieldError::invalid("spec.selector", text.as_str(), "field is immutable"));
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Object {
        let Value::Object(obj) = value else { panic!("an object") };
        obj
    }

    fn deployment(selector: Value, labels: Value) -> Object {
        object(json!({"spec": {"replicas": 1, "selector": selector,
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}))
    }

    fn fields(errors: &FieldErrors) -> Vec<String> {
        errors.iter().map(|e| e.field.to_string()).collect()
    }

    #[test]
    fn the_selector_must_match_the_template() {
        assert!(
            validate(&deployment(json!({"matchLabels": {"app": "web"}}), json!({"app": "web", "x": "y"}))).is_empty()
        );
        let mismatch = validate(&deployment(json!({"matchLabels": {"app": "web"}}), json!({"app": "db"})));
        assert_eq!(fields(&mismatch), ["spec.template.metadata.labels"]);
        let expressions = json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]});
        assert!(validate(&deployment(expressions, json!({"tier": "b"}))).is_empty());
        assert_eq!(fields(&validate(&deployment(json!({}), json!({"a": "b"})))), ["spec.selector"]);
        assert_eq!(fields(&validate(&deployment(Value::Null, json!({"a": "b"})))), ["spec.selector"]);
    }

    #[test]
    fn replicas_containers_and_an_immutable_selector() {
        let mut bad = deployment(json!({"matchLabels": {"a": "b"}}), json!({"a": "b"}));
        bad["spec"]["replicas"] = json!(-1);
        bad["spec"]["template"]["spec"]["containers"] = json!([]);
        assert_eq!(fields(&validate(&bad)), ["spec.replicas", "spec.template.spec.containers"]);
        let old = deployment(json!({"matchLabels": {"a": "b"}}), json!({"a": "b", "c": "d"}));
        let new = deployment(json!({"matchLabels": {"a": "b", "c": "d"}}), json!({"a": "b", "c": "d"}));
        assert_eq!(fields(&validate_update(&new, &old)), ["spec.selector"]);
        assert!(validate_update(&old, &old).is_empty());
    }
}
