//! Pod templates (upstream's `ValidatePodTemplateSpec`, `ValidatePodTemplate`) and the rule
//! every controller that keeps its pods running adds to its template (upstream's
//! `ValidatePodTemplateSpecForReplicaSet` and its siblings for DaemonSets, StatefulSets and
//! ReplicationControllers): `restartPolicy: Always` and no `activeDeadlineSeconds`.

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use serde_json::Value;

use super::{Owner, field, list, text, validate_pod_spec};
use crate::object::Object;
use crate::resources::checks;

/// Upstream's limit on the total size of an object's annotations.
const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

/// A `PodTemplateSpec` at `path` (`spec.template`, `template`, ...): its labels and
/// annotations, its spec, and no ephemeral containers.
pub fn validate_template(template: &Value, path: &Path) -> FieldErrors {
    let mut errors = template_metadata(template, path);
    let spec = template.get("spec").unwrap_or(&Value::Null);
    errors.extend(validate_pod_spec(spec, &path.child("spec"), Owner::Template));
    if !list(spec, "ephemeralContainers").is_empty() {
        errors.push(FieldError::forbidden(
            path.child("spec").child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errors
}

/// A template's labels and annotations alone (what upstream checks of a StatefulSet's
/// template). The errors name `labels` and `annotations` under the template, as upstream's do.
pub fn template_metadata(template: &Value, path: &Path) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let metadata = template.get("metadata").unwrap_or(&Value::Null);
    checks::selectors::labels(&mut errors, &path.child("labels"), field(metadata, "labels"));
    if let Some(annotations) = field(metadata, "annotations").and_then(Value::as_object) {
        let at = path.child("annotations");
        let mut total = 0;
        for (key, value) in annotations {
            let lower = key.to_lowercase();
            for problem in names::qualified_name(&lower) {
                errors.push(FieldError::invalid(&at, key.as_str(), problem));
            }
            total += key.len() + value.as_str().map_or(0, str::len);
        }
        if total > MAX_ANNOTATIONS_BYTES {
            errors.push(FieldError::too_long(&at, MAX_ANNOTATIONS_BYTES));
        }
    }
    errors
}

/// The template rule of a controller whose pods run until it removes them: they restart
/// `Always` and have no deadline. `kind` names the controller as upstream's message does.
pub fn template_for_controller(template: &Value, path: &Path, kind: &str) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let spec = template.get("spec").unwrap_or(&Value::Null);
    let policy = text(spec, "restartPolicy");
    if policy != "Always" {
        errors.push(FieldError::not_supported(path.child("spec").child("restartPolicy"), policy, &["Always"]));
    }
    if field(spec, "activeDeadlineSeconds").is_some() {
        errors.push(FieldError::forbidden(
            path.child("spec").child("activeDeadlineSeconds"),
            format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
    errors
}

/// core/v1 PodTemplate, on create.
pub fn validate_pod_template(obj: &Object) -> FieldErrors {
    validate_template(obj.get("template").unwrap_or(&Value::Null), &Path::new("template"))
}

/// core/v1 PodTemplate, on update: the create rules (a template may change at will).
pub fn validate_pod_template_update(new: &Object, _old: &Object) -> FieldErrors {
    validate_pod_template(new)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{assert_errors, nginx_pod_spec};
    use super::*;

    fn template(spec: Value) -> Value {
        json!({"metadata": {"labels": {"app": "web"}, "annotations": {"example.com/owner": "team-a"}}, "spec": spec})
    }

    #[test]
    fn templates_validate_metadata_and_spec() {
        let path = Path::new("spec").child("template");
        assert_errors(validate_template(&template(nginx_pod_spec()), &path), &[]);
        let mut bad = template(nginx_pod_spec());
        bad["metadata"]["labels"]["app"] = json!("web!");
        bad["spec"]["containers"][0]["name"] = json!("");
        bad["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox", "imagePullPolicy": "Always",
                                                     "terminationMessagePolicy": "File"}]);
        assert_errors(
            validate_template(&bad, &path),
            &[
                "spec.template.labels: Invalid value: \"web!\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                "spec.template.spec.containers[0].name: Required value",
                "spec.template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template",
            ],
        );
    }

    #[test]
    fn controllers_keep_their_pods_running() {
        let path = Path::new("spec").child("template");
        assert_errors(template_for_controller(&template(nginx_pod_spec()), &path, "ReplicaSet"), &[]);
        let mut spec = nginx_pod_spec();
        spec["restartPolicy"] = json!("OnFailure");
        spec["activeDeadlineSeconds"] = json!(60);
        assert_errors(
            template_for_controller(&template(spec), &path, "DaemonSet"),
            &[
                "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
                "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in DaemonSet is not Supported",
            ],
        );
    }

    #[test]
    fn pod_template_objects() {
        let Value::Object(obj) = json!({"metadata": {"name": "t"}, "template": template(nginx_pod_spec())}) else {
            unreachable!()
        };
        assert_errors(validate_pod_template(&obj), &[]);
        let Value::Object(empty) = json!({"metadata": {"name": "t"}, "template": {"spec": {
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30}}})
        else {
            unreachable!()
        };
        assert_errors(validate_pod_template_update(&empty, &obj), &["template.spec.containers: Required value"]);
    }
}
