//! Containers, init containers and ephemeral containers (upstream's `validateContainers`,
//! `validateInitContainers`, `validateEphemeralContainers`, `validateContainerCommon`,
//! `validateContainerPorts`, `checkHostPortConflicts`): names unique across the three lists,
//! images, ports, pull and termination-message policies, and what each kind may hold.

use std::collections::HashSet;

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use serde_json::Value;

use super::volumes::Volumes;
use super::{env, mounts, probes, resources, security};
use super::{field, int, invalid_each, list, one_of, required_enum, text};
use crate::resources::checks;

const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const TERMINATION_MESSAGE_POLICIES: &[&str] = &["File", "FallbackToLogsOnError"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const NOT_FOR_INIT: &str = "may not be set for init containers without restartPolicy=Always";
const NOT_FOR_EPHEMERAL: &str = "cannot be set for an Ephemeral Container";

/// What every container's rules look at besides the container.
pub(super) struct Context<'a> {
    /// The whole pod spec.
    pub spec: &'a Value,
    /// The valid volumes, by name.
    pub volumes: &'a Volumes<'a>,
}

impl Context<'_> {
    fn grace_period(&self) -> Option<i64> {
        int(self.spec, "terminationGracePeriodSeconds")
    }

    fn host_users(&self) -> bool {
        self.spec.pointer("/securityContext/hostUsers").and_then(Value::as_bool).unwrap_or(true)
    }

    /// The names of the pod's `resourceClaims`, which containers' claims refer to.
    fn claim_names(&self) -> Vec<&str> {
        list(self.spec, "resourceClaims").iter().map(|c| text(c, "name")).filter(|n| !n.is_empty()).collect()
    }
}

/// The three container lists of `context.spec` at `spec_path`.
pub(super) fn validate_all(context: &Context, spec_path: &Path, errors: &mut FieldErrors) {
    let spec = context.spec;
    let regular = list(spec, "containers");
    let init = list(spec, "initContainers");
    validate_regular(context, regular, &spec_path.child("containers"), errors);
    validate_init(context, init, regular, &spec_path.child("initContainers"), errors);
    validate_ephemeral(context, list(spec, "ephemeralContainers"), &spec_path.child("ephemeralContainers"), errors);
}

/// Upstream's `validateContainersOnlyForPod` (a Pod, not a template, has no padded images).
pub(super) fn validate_pod_images(spec: &Value, spec_path: &Path, errors: &mut FieldErrors) {
    for kind in ["containers", "initContainers"] {
        for (i, container) in list(spec, kind).iter().enumerate() {
            image_without_padding(container, &spec_path.child(kind).index(i), errors);
        }
    }
}

fn image_without_padding(container: &Value, path: &Path, errors: &mut FieldErrors) {
    let image = text(container, "image");
    if image.trim() != image {
        errors.push(FieldError::invalid(path.child("image"), image, "must not have leading or trailing whitespace"));
    }
}

fn validate_regular(context: &Context, containers: &[Value], path: &Path, errors: &mut FieldErrors) {
    if containers.is_empty() {
        errors.push(FieldError::required(path, ""));
        return;
    }
    let mut names = HashSet::new();
    for (i, container) in containers.iter().enumerate() {
        let at = path.index(i);
        validate_common(context, container, &at, errors);
        let name = text(container, "name");
        if !names.insert(name) {
            errors.push(FieldError::duplicate(at.child("name"), name));
        }
        probes::validate_lifecycle_and_probes(container, context.grace_period(), &at, errors);
        if field(container, "restartPolicy").is_some() {
            errors.push(FieldError::forbidden(at.child("restartPolicy"), "may not be set for non-init containers"));
        }
    }
    check_host_port_conflicts(containers.iter().enumerate(), path, errors);
}

fn validate_init(context: &Context, containers: &[Value], regular: &[Value], path: &Path, errors: &mut FieldErrors) {
    let mut names: HashSet<&str> = regular.iter().map(|c| text(c, "name")).collect();
    for (i, container) in containers.iter().enumerate() {
        let at = path.index(i);
        validate_common(context, container, &at, errors);
        let restart_policy = field(container, "restartPolicy").and_then(Value::as_str);
        if let Some(policy) = restart_policy {
            one_of(errors, &at.child("restartPolicy"), policy, &["Always"]);
        }
        let name = text(container, "name");
        if names.contains(name) {
            errors.push(FieldError::duplicate(at.child("name"), name));
        } else if !name.is_empty() {
            names.insert(name);
        }
        // Init containers run one at a time: their host ports only conflict within one.
        check_host_port_conflicts([(i, container)].into_iter(), path, errors);
        if restart_policy == Some("Always") {
            // A sidecar keeps running next to the app containers, with their hooks and probes.
            probes::validate_lifecycle_and_probes(container, context.grace_period(), &at, errors);
        } else {
            for hook in ["lifecycle", "livenessProbe", "readinessProbe", "startupProbe"] {
                if field(container, hook).is_some() {
                    errors.push(FieldError::forbidden(at.child(hook), NOT_FOR_INIT));
                }
            }
        }
    }
}

fn validate_ephemeral(context: &Context, containers: &[Value], path: &Path, errors: &mut FieldErrors) {
    if containers.is_empty() {
        return;
    }
    let spec = context.spec;
    let others: HashSet<&str> =
        list(spec, "containers").iter().chain(list(spec, "initContainers")).map(|c| text(c, "name")).collect();
    let mut names = others.clone();
    for (i, container) in containers.iter().enumerate() {
        let at = path.index(i);
        validate_common(context, container, &at, errors);
        image_without_padding(container, &at, errors);
        let name = text(container, "name");
        if !names.insert(name) {
            errors.push(FieldError::duplicate(at.child("name"), name));
        }
        let target = text(container, "targetContainerName");
        if !target.is_empty() && !others.contains(target) {
            errors.push(FieldError::not_found(at.child("targetContainerName"), target));
        }
        // Ephemeral containers are for debugging: nothing the pod's service relies on.
        for key in [
            "ports",
            "resources",
            "resizePolicy",
            "restartPolicy",
            "livenessProbe",
            "readinessProbe",
            "startupProbe",
            "lifecycle",
        ] {
            if field(container, key).is_some_and(is_set) {
                errors.push(FieldError::forbidden(at.child(key), NOT_FOR_EPHEMERAL));
            }
        }
        for (j, mount) in list(container, "volumeMounts").iter().enumerate() {
            for key in ["subPath", "subPathExpr"] {
                if !text(mount, key).is_empty() {
                    errors.push(FieldError::forbidden(at.child("volumeMounts").index(j).child(key), NOT_FOR_EPHEMERAL));
                }
            }
        }
    }
}

/// Whether a value differs from its Go zero value (empty lists and objects count as unset).
fn is_set(value: &Value) -> bool {
    match value {
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => !fields.is_empty(),
        Value::Null => false,
        _ => true,
    }
}

/// Upstream's `validateContainerCommon`: what every kind of container must get right.
fn validate_common(context: &Context, container: &Value, path: &Path, errors: &mut FieldErrors) {
    let name = text(container, "name");
    if name.is_empty() {
        errors.push(FieldError::required(path.child("name"), ""));
    } else {
        invalid_each(errors, &path.child("name"), name, names::dns1123_label(name));
    }
    if text(container, "image").is_empty() {
        errors.push(FieldError::required(path.child("image"), ""));
    }
    required_enum(errors, container, "terminationMessagePolicy", path, TERMINATION_MESSAGE_POLICIES);
    validate_ports(list(container, "ports"), &path.child("ports"), errors);
    env::validate_env(list(container, "env"), &path.child("env"), errors);
    env::validate_env_from(list(container, "envFrom"), &path.child("envFrom"), errors);
    mounts::validate(container, context.volumes, path, errors);
    required_enum(errors, container, "imagePullPolicy", path, PULL_POLICIES);
    if let Some(requirements) = field(container, "resources") {
        resources::validate_container(requirements, &context.claim_names(), &path.child("resources"), errors);
    }
    if let Some(security_context) = field(container, "securityContext") {
        security::validate_container(security_context, context.host_users(), &path.child("securityContext"), errors);
    }
}

/// Upstream's `validateContainerPorts`.
fn validate_ports(ports: &[Value], path: &Path, errors: &mut FieldErrors) {
    let mut names = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let at = path.index(i);
        let name = text(port, "name");
        if !name.is_empty() {
            let problems = checks::port_name_problems(name);
            if !problems.is_empty() {
                invalid_each(errors, &at.child("name"), name, problems);
            } else if !names.insert(name) {
                errors.push(FieldError::duplicate(at.child("name"), name));
            }
        }
        match int(port, "containerPort").unwrap_or(0) {
            0 => errors.push(FieldError::required(at.child("containerPort"), "")),
            number => port_number(number, &at.child("containerPort"), errors),
        }
        match int(port, "hostPort").unwrap_or(0) {
            0 => {}
            number => port_number(number, &at.child("hostPort"), errors),
        }
        match text(port, "protocol") {
            "" => errors.push(FieldError::required(at.child("protocol"), "")),
            protocol => one_of(errors, &at.child("protocol"), protocol, PROTOCOLS),
        }
    }
}

/// Upstream's `IsValidPortNum` as a field error.
pub(super) fn port_number(number: i64, path: &Path, errors: &mut FieldErrors) {
    for problem in checks::port_number_problems(number) {
        errors.push(FieldError::invalid(path, number, problem));
    }
}

/// Upstream's `checkHostPortConflicts`: one host port per protocol and host IP.
fn check_host_port_conflicts<'a>(
    containers: impl Iterator<Item = (usize, &'a Value)>,
    path: &Path,
    errors: &mut FieldErrors,
) {
    let mut taken = HashSet::new();
    for (i, container) in containers {
        for (j, port) in list(container, "ports").iter().enumerate() {
            let host_port = int(port, "hostPort").unwrap_or(0);
            if host_port == 0 {
                continue;
            }
            let key = format!("{}/{}/{host_port}", text(port, "protocol"), text(port, "hostIP"));
            if !taken.insert(key.clone()) {
                errors.push(FieldError::duplicate(path.index(i).child("ports").index(j).child("hostPort"), key));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{assert_errors, nginx_pod_spec};
    use super::super::{Owner, validate_pod_spec};
    use super::*;

    fn errors_of(spec: &Value) -> FieldErrors {
        validate_pod_spec(spec, &Path::new("spec"), Owner::Pod)
    }

    fn container(name: &str) -> Value {
        json!({"name": name, "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent",
               "terminationMessagePolicy": "File", "terminationMessagePath": "/dev/termination-log"})
    }

    #[test]
    fn names_are_required_dns_labels_unique_across_all_containers() {
        let mut spec = nginx_pod_spec();
        spec["containers"] = json!([container("web"), container("web"), container("Web_1"), container("")]);
        spec["initContainers"] = json!([container("web")]);
        spec["ephemeralContainers"] = json!([container("web")]);
        let label = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and \
                     must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used \
                     for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
        assert_errors(
            errors_of(&spec),
            &[
                "spec.containers[1].name: Duplicate value: \"web\"",
                &format!("spec.containers[2].name: Invalid value: \"Web_1\": {label}"),
                "spec.containers[3].name: Required value",
                "spec.initContainers[0].name: Duplicate value: \"web\"",
                "spec.ephemeralContainers[0].name: Duplicate value: \"web\"",
            ],
        );
        let mut long = nginx_pod_spec();
        long["containers"][0]["name"] = json!("a".repeat(64));
        assert_errors(
            errors_of(&long),
            &[&format!(
                "spec.containers[0].name: Invalid value: \"{}\": must be no more than 63 characters",
                "a".repeat(64)
            )],
        );
    }

    #[test]
    fn images_and_policies() {
        let mut spec = nginx_pod_spec();
        spec["containers"][0]["image"] = json!("");
        spec["containers"][0]["imagePullPolicy"] = json!("Sometimes");
        spec["containers"][0]["terminationMessagePolicy"] = json!("Never");
        assert_errors(
            errors_of(&spec),
            &[
                "spec.containers[0].image: Required value",
                "spec.containers[0].terminationMessagePolicy: Unsupported value: \"Never\": supported values: \"File\", \"FallbackToLogsOnError\"",
                "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
            ],
        );
        let mut padded = nginx_pod_spec();
        padded["containers"][0]["image"] = json!(" nginx ");
        assert_errors(
            errors_of(&padded),
            &["spec.containers[0].image: Invalid value: \" nginx \": must not have leading or trailing whitespace"],
        );
        assert_errors(validate_pod_spec(&padded, &Path::new("spec"), Owner::Template), &[]);
    }

    #[test]
    fn ports() {
        let mut spec = nginx_pod_spec();
        spec["containers"][0]["ports"] = json!([
            {"name": "http", "containerPort": 80, "protocol": "TCP"},
            {"name": "http", "containerPort": 0, "protocol": "TCP"},
            {"name": "Metrics_Port", "containerPort": 70000, "hostPort": 70000, "protocol": "HTTP"},
            {"containerPort": 8080, "hostPort": 8080, "protocol": "TCP"},
            {"containerPort": 8081, "hostPort": 8080, "protocol": "TCP"},
        ]);
        assert_errors(
            errors_of(&spec),
            &[
                "spec.containers[0].ports[1].name: Duplicate value: \"http\"",
                "spec.containers[0].ports[1].containerPort: Required value",
                "spec.containers[0].ports[2].name: Invalid value: \"Metrics_Port\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                "spec.containers[0].ports[2].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.containers[0].ports[2].hostPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.containers[0].ports[2].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.containers[0].ports[4].hostPort: Duplicate value: \"TCP//8080\"",
            ],
        );
    }

    #[test]
    fn init_and_sidecar_containers() {
        let mut spec = nginx_pod_spec();
        let probe = json!({"exec": {"command": ["true"]}});
        let mut init = container("setup");
        init["livenessProbe"] = probe.clone();
        let mut sidecar = container("proxy");
        sidecar["restartPolicy"] = json!("Always");
        sidecar["readinessProbe"] = probe;
        let mut odd = container("odd");
        odd["restartPolicy"] = json!("OnFailure");
        spec["initContainers"] = json!([init, sidecar, odd]);
        spec["containers"][0]["restartPolicy"] = json!("Always");
        assert_errors(
            errors_of(&spec),
            &[
                "spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers",
                "spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
                "spec.initContainers[2].restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
            ],
        );
    }

    #[test]
    fn ephemeral_containers_hold_no_service_fields() {
        let mut spec = nginx_pod_spec();
        let mut debug = container("debug");
        debug["targetContainerName"] = json!("missing");
        debug["ports"] = json!([{"containerPort": 80, "protocol": "TCP"}]);
        debug["resources"] = json!({});
        debug["volumeMounts"] = json!([{"name": "html", "mountPath": "/x", "subPath": "a"}]);
        spec["ephemeralContainers"] = json!([debug]);
        assert_errors(
            errors_of(&spec),
            &[
                "spec.ephemeralContainers[0].targetContainerName: Not found: \"missing\"",
                "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container",
                "spec.ephemeralContainers[0].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container",
            ],
        );
    }

    #[test]
    fn a_pod_needs_a_container() {
        let mut spec = nginx_pod_spec();
        spec["containers"] = json!([]);
        assert_errors(errors_of(&spec), &["spec.containers: Required value"]);
    }
}
