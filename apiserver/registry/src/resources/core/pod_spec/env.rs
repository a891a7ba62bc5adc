//! A container's environment (upstream's `ValidateEnv`, `validateEnvVarValueFrom`,
//! `ValidateEnvFrom`) and the downward API selectors that volumes share: variable names
//! (relaxed, as `RelaxedEnvironmentVariableValidation` is GA in 1.34), exactly one value
//! source, supported `fieldRef` and `resourceFieldRef` paths, ConfigMap and Secret keys.

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use serde_json::Value;

use super::super::data_keys;
use super::{field, invalid_each, text};

/// The pod fields an environment variable may read (upstream's
/// `validEnvDownwardAPIFieldPathExpressions`, sorted as upstream prints them).
pub(super) const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// The pod fields a downward API volume file may hold.
pub(super) const VOLUME_FIELD_PATHS: &[&str] =
    &["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"];

/// The container resources the downward API exposes (hugepages-* come on top).
const RESOURCE_FIELD_PATHS: &[&str] = &[
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

/// The field labels of a v1 Pod the downward API converts (upstream's
/// `ConvertDownwardAPIFieldLabel`), besides subscripted labels and annotations.
const POD_FIELD_LABELS: &[&str] = &[
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.serviceAccountName",
    "spec.schedulerName",
    "status.phase",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

const RELAXED_NAME: &str =
    "a valid environment variable name must consist only of printable ASCII characters other than '='";

/// Upstream's `IsRelaxedEnvVarName`.
fn env_name_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if name.is_empty() {
        problems.push("environment variable name must be non-empty".to_string());
    }
    if name.chars().any(|c| !(' '..='~').contains(&c) || c == '=') {
        problems.push(RELAXED_NAME.to_string());
    }
    problems
}

/// `env`.
pub(super) fn validate_env(vars: &[Value], path: &Path, errors: &mut FieldErrors) {
    for (i, var) in vars.iter().enumerate() {
        let at = path.index(i);
        let name = text(var, "name");
        if name.is_empty() {
            errors.push(FieldError::required(at.child("name"), ""));
        } else {
            invalid_each(errors, &at.child("name"), name, env_name_problems(name));
        }
        if let Some(source) = field(var, "valueFrom") {
            validate_value_from(source, !text(var, "value").is_empty(), &at.child("valueFrom"), errors);
        }
    }
}

fn validate_value_from(source: &Value, has_value: bool, path: &Path, errors: &mut FieldErrors) {
    let mut sources = 0;
    if let Some(selector) = field(source, "fieldRef") {
        sources += 1;
        validate_object_field_selector(selector, ENV_FIELD_PATHS, &path.child("fieldRef"), errors);
    }
    if let Some(selector) = field(source, "resourceFieldRef") {
        sources += 1;
        validate_resource_field_selector(selector, false, &path.child("resourceFieldRef"), errors);
    }
    for key in ["configMapKeyRef", "secretKeyRef"] {
        if let Some(selector) = field(source, key) {
            sources += 1;
            validate_key_selector(selector, &path.child(key), errors);
        }
    }
    let problem = match sources {
        0 => Some("must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"),
        _ if has_value => Some("may not be specified when `value` is not empty"),
        1 => None,
        _ => Some("may not have more than one field specified at a time"),
    };
    if let Some(problem) = problem {
        errors.push(FieldError::invalid(path, "", problem));
    }
}

/// A `configMapKeyRef` or `secretKeyRef`: a valid object name (checked even when empty, as
/// upstream does) and a valid, present key.
fn validate_key_selector(selector: &Value, path: &Path, errors: &mut FieldErrors) {
    let name = text(selector, "name");
    invalid_each(errors, &path.child("name"), name, names::dns1123_subdomain(name));
    match text(selector, "key") {
        "" => errors.push(FieldError::required(path.child("key"), "")),
        key => invalid_each(errors, &path.child("key"), key, data_keys::key_problems(key)),
    }
}

/// Upstream's `validateObjectFieldSelector` with the paths `supported` where it is used.
pub(super) fn validate_object_field_selector(
    selector: &Value,
    supported: &[&str],
    path: &Path,
    errors: &mut FieldErrors,
) {
    // An absent apiVersion is upstream's default, v1.
    let api_version = field(selector, "apiVersion").and_then(Value::as_str).unwrap_or("v1");
    if api_version.is_empty() {
        errors.push(FieldError::required(path.child("apiVersion"), ""));
        return;
    }
    let field_path = text(selector, "fieldPath");
    if field_path.is_empty() {
        errors.push(FieldError::required(path.child("fieldPath"), ""));
        return;
    }
    if let Err(why) = convert_field_label(api_version, field_path) {
        errors.push(FieldError::invalid(
            path.child("fieldPath"),
            field_path,
            format!("error converting fieldPath: {why}"),
        ));
        return;
    }
    match split_subscript(field_path) {
        Some(("metadata.annotations", key)) => {
            let key = key.to_lowercase();
            invalid_each(errors, path, &key, names::qualified_name(&key));
        }
        Some(("metadata.labels", key)) => invalid_each(errors, path, key, names::qualified_name(key)),
        Some((other, _)) => errors.push(FieldError::invalid(path, other, "does not support subscript")),
        None if !supported.contains(&field_path) => {
            errors.push(FieldError::not_supported(path.child("fieldPath"), field_path, supported));
        }
        None => {}
    }
}

/// `metadata.labels['app']` → `("metadata.labels", "app")` (upstream's
/// `SplitMaybeSubscriptedPath`).
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let inner = path.strip_suffix("']")?;
    let (base, key) = inner.split_once("['")?;
    Some((base, key))
}

/// Upstream's `ConvertDownwardAPIFieldLabel` for v1 pods.
fn convert_field_label(api_version: &str, label: &str) -> Result<(), String> {
    if api_version != "v1" {
        return Err(format!("unsupported pod version: {api_version}"));
    }
    match split_subscript(label) {
        Some(("metadata.annotations" | "metadata.labels", _)) => Ok(()),
        Some(_) => Err(format!("field label does not support subscript: {label}")),
        None if POD_FIELD_LABELS.contains(&label) => Ok(()),
        None => Err(format!("field label not supported: {label}")),
    }
}

/// Upstream's `validateContainerResourceFieldSelector`; a volume file names its container.
pub(super) fn validate_resource_field_selector(selector: &Value, volume: bool, path: &Path, errors: &mut FieldErrors) {
    let resource = text(selector, "resource");
    if volume && text(selector, "containerName").is_empty() {
        errors.push(FieldError::required(path.child("containerName"), ""));
    } else if resource.is_empty() {
        errors.push(FieldError::required(path.child("resource"), ""));
    } else if !RESOURCE_FIELD_PATHS.contains(&resource)
        && !resource.starts_with("requests.hugepages-")
        && !resource.starts_with("limits.hugepages-")
    {
        errors.push(FieldError::not_supported(path.child("resource"), resource, RESOURCE_FIELD_PATHS));
    }
}

/// `envFrom`.
pub(super) fn validate_env_from(sources: &[Value], path: &Path, errors: &mut FieldErrors) {
    for (i, source) in sources.iter().enumerate() {
        let at = path.index(i);
        let prefix = text(source, "prefix");
        if !prefix.is_empty() {
            invalid_each(errors, &at.child("prefix"), prefix, env_name_problems(prefix));
        }
        let refs: Vec<&str> =
            ["configMapRef", "secretRef"].into_iter().filter(|k| field(source, k).is_some()).collect();
        for key in &refs {
            let reference = &source[*key];
            let name_path = at.child(key).child("name");
            match text(reference, "name") {
                "" => errors.push(FieldError::required(name_path, "")),
                name => invalid_each(errors, &name_path, name, prefix_name_problems(name)),
            }
        }
        match refs.len() {
            0 => errors.push(FieldError::invalid(path, "", "must specify one of: `configMapRef` or `secretRef`")),
            1 => {}
            _ => errors.push(FieldError::invalid(path, "", "may not have more than one field specified at a time")),
        }
    }
}

/// A DNS subdomain that may end in `-` (upstream validates these names "as a prefix").
fn prefix_name_problems(name: &str) -> Vec<String> {
    match name.strip_suffix('-') {
        Some(stem) => names::dns1123_subdomain(&format!("{stem}a")),
        None => names::dns1123_subdomain(name),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{assert_errors, nginx_pod_spec};
    use super::super::{Owner, validate_pod_spec};
    use super::*;

    fn with_env(env: Value, env_from: Value) -> FieldErrors {
        let mut spec = nginx_pod_spec();
        spec["containers"][0]["env"] = env;
        spec["containers"][0]["envFrom"] = env_from;
        validate_pod_spec(&spec, &Path::new("spec"), Owner::Pod)
    }

    #[test]
    fn good_variables_of_every_kind() {
        let env = json!([
            {"name": "MODE", "value": "production"},
            {"name": "my.relaxed-name:1", "value": "x"},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels['app']"}}},
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
            {"name": "USER", "valueFrom": {"secretKeyRef": {"name": "db", "key": "user"}}},
            {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "log.level", "optional": true}}},
        ]);
        let env_from = json!([{"configMapRef": {"name": "settings"}}, {"prefix": "DB_", "secretRef": {"name": "db"}}]);
        assert_errors(with_env(env, env_from), &[]);
    }

    #[test]
    fn names_and_sources() {
        let env = json!([
            {"name": "", "value": "x"},
            {"name": "A=B", "value": "x"},
            {"name": "NONE", "valueFrom": {}},
            {"name": "BOTH", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "TWO", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}, "secretKeyRef": {"name": "s", "key": "k"}}},
        ]);
        assert_errors(
            with_env(env, json!([])),
            &[
                "spec.containers[0].env[0].name: Required value",
                "spec.containers[0].env[1].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
                "spec.containers[0].env[2].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                "spec.containers[0].env[3].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
                "spec.containers[0].env[4].valueFrom: Invalid value: \"\": may not have more than one field specified at a time",
            ],
        );
    }

    #[test]
    fn downward_api_paths_and_keys() {
        let env = json!([
            {"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "status.phase"}}},
            {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "spec.nonsense"}}},
            {"name": "C", "valueFrom": {"fieldRef": {"apiVersion": "v2", "fieldPath": "metadata.name"}}},
            {"name": "D", "valueFrom": {"resourceFieldRef": {"resource": "limits.gpu"}}},
            {"name": "E", "valueFrom": {"secretKeyRef": {"name": "", "key": "a/b"}}},
        ]);
        let supported = ENV_FIELD_PATHS.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(", ");
        let resources = RESOURCE_FIELD_PATHS.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(", ");
        assert_errors(
            with_env(env, json!([{"configMapRef": {"name": ""}, "secretRef": {"name": "s"}}, {}])),
            &[
                &format!(
                    "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: \"status.phase\": supported values: {supported}"
                ),
                "spec.containers[0].env[1].valueFrom.fieldRef.fieldPath: Invalid value: \"spec.nonsense\": error converting fieldPath: field label not supported: spec.nonsense",
                "spec.containers[0].env[2].valueFrom.fieldRef.fieldPath: Invalid value: \"metadata.name\": error converting fieldPath: unsupported pod version: v2",
                &format!(
                    "spec.containers[0].env[3].valueFrom.resourceFieldRef.resource: Unsupported value: \"limits.gpu\": supported values: {resources}"
                ),
                "spec.containers[0].env[4].valueFrom.secretKeyRef.name: Invalid value: \"\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "spec.containers[0].env[4].valueFrom.secretKeyRef.key: Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                "spec.containers[0].envFrom[0].configMapRef.name: Required value",
                "spec.containers[0].envFrom: Invalid value: \"\": may not have more than one field specified at a time",
                "spec.containers[0].envFrom: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`",
            ],
        );
    }

    #[test]
    fn prefixes_may_end_in_a_hyphen() {
        assert!(prefix_name_problems("app-").is_empty());
        assert!(!prefix_name_problems("App").is_empty());
    }
}
