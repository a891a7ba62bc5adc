//! Upstream's validation of the workload controllers' objects (Deployment, ReplicaSet,
//! StatefulSet, DaemonSet, ReplicationController): a selector that is set, not empty and
//! matches the pod template's labels, non-negative replicas, a selector that never changes
//! (apps/v1), and a valid pod template whose pods restart `Always` and have no deadline. The
//! template's rules are [`pod_spec`]'s; as upstream, a StatefulSet's template is checked for
//! its labels and annotations only (its volume mounts may name its volume claim templates).

use std::collections::BTreeMap;

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::selectors::LabelSelector;
use serde_json::Value;

use super::core::pod_spec;
use crate::object::Object;
use crate::scale::selector_text;

/// What upstream checks of a workload's pod template at `spec.template`, by the workload's
/// kind (Deployments share the ReplicaSet rules, message included).
fn template_rules(kind: &str, template: &Value) -> FieldErrors {
    let path = Path::new("spec").child("template");
    let (mut errors, owner) = match kind {
        "StatefulSet" => (pod_spec::template_metadata(template, &path), "StatefulSet"),
        "DaemonSet" => (pod_spec::validate_template(template, &path), "DaemonSet"),
        "ReplicationController" => (pod_spec::validate_template(template, &path), "ReplicationController"),
        _ => (pod_spec::validate_template(template, &path), "ReplicaSet"),
    };
    errors.extend(pod_spec::template_for_controller(template, &path, owner));
    errors
}

/// The rules of a create (the kind, which the registry sets, picks the template rules).
pub fn validate(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    non_negative(spec, "replicas", &mut errors);
    let selector = spec.get("selector").filter(|s| !s.is_null());
    let template_labels = string_map(spec.pointer("/template/metadata/labels"));
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
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    errors.extend(template_rules(kind, spec.get("template").unwrap_or(&Value::Null)));
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

/// core/v1 ReplicationController (create and update alike): a non-empty selector (a map)
/// matching the template's labels, non-negative counts, and the template rules.
pub fn validate_replication_controller(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    non_negative(spec, "minReadySeconds", &mut errors);
    if spec.get("selector").and_then(Value::as_object).is_none_or(|s| s.is_empty()) {
        errors.push(FieldError::required("spec.selector", ""));
    }
    non_negative(spec, "replicas", &mut errors);
    let Some(template) = spec.get("template").filter(|t| !t.is_null()) else {
        errors.push(FieldError::required("spec.template", ""));
        return errors;
    };
    let labels = string_map(template.pointer("/metadata/labels"));
    let selector = string_map(spec.get("selector"));
    if !selector.is_empty() && !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
        errors.push(FieldError::invalid(
            "spec.template.metadata.labels",
            format!("{labels:?}"),
            "`selector` does not match template `labels`",
        ));
    }
    errors.extend(template_rules("ReplicationController", template));
    errors
}

/// ReplicationController update rules are the create rules.
pub fn validate_replication_controller_update(new: &Object, _old: &Object) -> FieldErrors {
    validate_replication_controller(new)
}

fn non_negative(spec: &Value, field: &str, errors: &mut FieldErrors) {
    if let Some(n) = spec.get(field).and_then(Value::as_i64)
        && n < 0
    {
        errors.push(FieldError::invalid(Path::new("spec").child(field), n, "must be greater than or equal to 0"));
    }
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::checks::testing::messages;

    fn object(value: Value) -> Object {
        let Value::Object(obj) = value else { panic!("an object") };
        obj
    }

    /// A workload of `kind` as the registry validates it: kind set, defaults applied.
    fn workload(kind: &str, spec: Value) -> Object {
        let mut obj = object(json!({"kind": kind, "metadata": {"name": "w"}, "spec": spec}));
        match kind {
            "StatefulSet" => super::super::defaults::stateful_set(&mut obj),
            "DaemonSet" => super::super::defaults::daemon_set(&mut obj),
            "ReplicationController" => super::super::defaults::replication_controller(&mut obj),
            _ => super::super::defaults::deployment(&mut obj),
        }
        obj
    }

    fn deployment(selector: Value, labels: Value) -> Object {
        workload(
            "Deployment",
            json!({"replicas": 1, "selector": selector,
                   "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}),
        )
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

    #[test]
    fn templates_get_the_pod_spec_rules_at_their_paths() {
        let mut bad = deployment(json!({"matchLabels": {"app": "web"}}), json!({"app": "web"}));
        bad["spec"]["template"]["spec"]["containers"][0]["ports"] =
            json!([{"containerPort": 70000, "protocol": "TCP"}]);
        bad["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] =
            json!([{"name": "data", "mountPath": "/data"}]);
        bad["spec"]["template"]["spec"]["activeDeadlineSeconds"] = json!(30);
        assert_eq!(
            messages(&validate(&bad)),
            [
                "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.template.spec.containers[0].volumeMounts[0].name: Not found: \"data\"",
                "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported",
            ]
        );
    }

    #[test]
    fn daemon_sets_and_stateful_sets() {
        let spec = |policy: &str| {
            json!({"selector": {"matchLabels": {"app": "db"}}, "template": {"metadata": {"labels": {"app": "db"}},
                   "spec": {"restartPolicy": policy, "containers": [{"name": "db", "image": "postgres:17",
                            "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql"}]}]}}})
        };
        // A StatefulSet's mounts may name its volume claim templates: its pod spec is not checked.
        assert!(validate(&workload("StatefulSet", spec("Always"))).is_empty());
        assert_eq!(
            messages(&validate(&workload("StatefulSet", spec("Never")))),
            ["spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""]
        );
        assert_eq!(
            messages(&validate(&workload("DaemonSet", spec("Always")))),
            ["spec.template.spec.containers[0].volumeMounts[0].name: Not found: \"data\""]
        );
    }

    #[test]
    fn replication_controllers() {
        let rc = |selector: Value| {
            workload(
                "ReplicationController",
                json!({"selector": selector, "template": {"metadata": {"labels": {"app": "web"}},
                       "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}),
            )
        };
        assert!(validate_replication_controller(&rc(json!({"app": "web"}))).is_empty());
        assert_eq!(
            fields(&validate_replication_controller(&rc(json!({"app": "db"})))),
            ["spec.template.metadata.labels"]
        );
        let mut bad = rc(json!({"app": "web"}));
        bad["spec"]["replicas"] = json!(-1);
        bad["spec"]["template"]["spec"]["containers"][0]["name"] = json!("Web");
        assert_eq!(
            fields(&validate_replication_controller(&bad)),
            ["spec.replicas", "spec.template.spec.containers[0].name"]
        );
        let none = object(json!({"kind": "ReplicationController", "spec": {"replicas": 1}}));
        assert_eq!(fields(&validate_replication_controller(&none)), ["spec.selector", "spec.template"]);
    }
}
