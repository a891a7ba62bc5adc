//! Security contexts (upstream's `validatePodSpecSecurityContext`, `ValidateSecurityContext`,
//! `validateSysctls`, `validateHostUsers`, the seccomp and AppArmor profile checks): user and
//! group IDs, sysctl names, profiles, and the enums. Windows options are not looked into, and
//! `privileged` is allowed (the cluster policy of `--allow-privileged=true`).

use std::collections::HashSet;

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use serde_json::Value;

use super::mounts::local_descending_path;
use super::{field, flag, int, list, one_of, text};

const PROFILE_TYPES: &[&str] = &["Localhost", "RuntimeDefault", "Unconfined"];
const MAX_ID: i64 = 0xffff_ffff;
const SYSCTL_MAX: usize = 253;
const SYSCTL_REGEX: &str = r"^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$";
/// IPC-namespaced sysctls (the rest of the namespaced ones start with `net.`).
const IPC_SYSCTLS: &[&str] = &["kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue."];

/// A UID or GID: 0 to 2^32-1.
fn validate_id(value: &Value, key: &str, path: &Path, errors: &mut FieldErrors) {
    if let Some(id) = int(value, key) {
        id_in_range(id, &path.child(key), errors);
    }
}

fn id_in_range(id: i64, path: &Path, errors: &mut FieldErrors) {
    if !(0..=MAX_ID).contains(&id) {
        errors.push(FieldError::invalid(path, id, super::range_error(0, MAX_ID)));
    }
}

/// The pod's `securityContext` (and the host namespace fields upstream keeps there).
pub(super) fn validate_pod(spec: &Value, spec_path: &Path, errors: &mut FieldErrors) {
    let path = spec_path.child("securityContext");
    let Some(context) = field(spec, "securityContext") else { return };
    for key in ["fsGroup", "runAsUser", "runAsGroup"] {
        validate_id(context, key, &path, errors);
    }
    for (i, group) in list(context, "supplementalGroups").iter().enumerate() {
        id_in_range(group.as_i64().unwrap_or(-1), &path.child("supplementalGroups").index(i), errors);
    }
    if flag(spec, "shareProcessNamespace") && flag(spec, "hostPID") {
        errors.push(FieldError::invalid(
            path.child("shareProcessNamespace"),
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    validate_sysctls(spec, list(context, "sysctls"), &path.child("sysctls"), errors);
    if let Some(policy) = field(context, "fsGroupChangePolicy").and_then(Value::as_str) {
        one_of(errors, &path.child("fsGroupChangePolicy"), policy, &["Always", "OnRootMismatch"]);
    }
    validate_seccomp(context, &path, errors);
    validate_app_armor(context, &path, errors);
    if let Some(policy) = field(context, "supplementalGroupsPolicy").and_then(Value::as_str) {
        one_of(errors, &path.child("supplementalGroupsPolicy"), policy, &["Merge", "Strict"]);
    }
    if let Some(policy) = field(context, "seLinuxChangePolicy").and_then(Value::as_str) {
        one_of(errors, &path.child("seLinuxChangePolicy"), policy, &["MountOption", "Recursive"]);
    }
}

/// Upstream's `validateHostUsers`: a pod in its own user namespace shares no host namespace.
/// (The odd capitals are upstream's paths.)
pub(super) fn validate_host_users(spec: &Value, spec_path: &Path, errors: &mut FieldErrors) {
    if spec.pointer("/securityContext/hostUsers").and_then(Value::as_bool) != Some(false) {
        return;
    }
    for (key, path) in [("hostNetwork", "hostNetwork"), ("hostPID", "HostPID"), ("hostIPC", "HostIPC")] {
        if flag(spec, key) {
            errors.push(FieldError::forbidden(spec_path.child(path), "when `pod.Spec.HostUsers` is false"));
        }
    }
}

fn validate_sysctls(spec: &Value, sysctls: &[Value], path: &Path, errors: &mut FieldErrors) {
    let mut seen = HashSet::new();
    for (i, sysctl) in sysctls.iter().enumerate() {
        let at = path.index(i).child("name");
        let name = text(sysctl, "name");
        if name.is_empty() {
            errors.push(FieldError::required(&at, ""));
        } else if !is_sysctl_name(name) {
            errors.push(FieldError::invalid(
                &at,
                name,
                format!("must have at most {SYSCTL_MAX} characters and match regex {SYSCTL_REGEX}"),
            ));
        } else if seen.contains(name) {
            errors.push(FieldError::duplicate(&at, name));
        }
        // A namespaced sysctl would change the host's when the pod shares that namespace.
        if flag(spec, "hostNetwork") && name.starts_with("net.") {
            errors.push(FieldError::invalid(&at, name, "may not be specified when 'hostNetwork' is true"));
        } else if flag(spec, "hostIPC") && IPC_SYSCTLS.iter().any(|p| name.starts_with(p)) {
            errors.push(FieldError::invalid(&at, name, "may not be specified when 'hostIPC' is true"));
        }
        seen.insert(name);
    }
}

/// Segments of `[a-z0-9]([-_a-z0-9]*[a-z0-9])?` joined by `.` or `/`.
fn is_sysctl_name(name: &str) -> bool {
    let segment = |s: &str| {
        let bytes = s.as_bytes();
        let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                alnum(first) && alnum(last) && bytes.iter().all(|c| alnum(c) || *c == b'-' || *c == b'_')
            }
            _ => false,
        }
    };
    name.len() <= SYSCTL_MAX && name.split(['.', '/']).all(segment)
}

/// A container's `securityContext`.
pub(super) fn validate_container(context: &Value, host_users: bool, path: &Path, errors: &mut FieldErrors) {
    for key in ["runAsUser", "runAsGroup"] {
        validate_id(context, key, path, errors);
    }
    if let Some(mount) = field(context, "procMount").and_then(Value::as_str) {
        one_of(errors, &path.child("procMount"), mount, &["Default", "Unmasked"]);
        if host_users && mount == "Unmasked" {
            errors.push(FieldError::invalid(
                path.child("procMount"),
                mount,
                "`hostUsers` must be false to use `Unmasked`",
            ));
        }
    }
    validate_seccomp(context, path, errors);
    if context.get("allowPrivilegeEscalation").and_then(Value::as_bool) == Some(false) {
        let shown = context.to_string();
        if flag(context, "privileged") {
            errors.push(FieldError::invalid(
                path,
                shown.as_str(),
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            ));
        }
        let added =
            context.pointer("/capabilities/add").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        if added.iter().any(|c| c.as_str() == Some("CAP_SYS_ADMIN")) {
            errors.push(FieldError::invalid(
                path,
                shown.as_str(),
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            ));
        }
    }
    validate_app_armor(context, path, errors);
}

/// Upstream's `validateSeccompProfileField` for `context.seccompProfile`.
fn validate_seccomp(context: &Value, path: &Path, errors: &mut FieldErrors) {
    let Some(profile) = field(context, "seccompProfile") else { return };
    let path = path.child("seccompProfile");
    let kind = text(profile, "type");
    match kind {
        "" => errors.push(FieldError::required(path.child("type"), "type is required when seccompProfile is set")),
        _ => one_of(errors, &path.child("type"), kind, PROFILE_TYPES),
    }
    let local = field(profile, "localhostProfile").and_then(Value::as_str);
    match (kind, local) {
        ("Localhost", None) => errors
            .push(FieldError::required(path.child("localhostProfile"), "must be set when seccomp type is Localhost")),
        ("Localhost", Some(file)) => local_descending_path(file, &path.child("localhostProfile"), errors),
        (_, Some(file)) => errors.push(FieldError::invalid(
            path.child("localhostProfile"),
            file,
            "can only be set when seccomp type is Localhost",
        )),
        (_, None) => {}
    }
}

/// Upstream's `ValidateAppArmorProfileField` for `context.appArmorProfile`.
fn validate_app_armor(context: &Value, path: &Path, errors: &mut FieldErrors) {
    let Some(profile) = field(context, "appArmorProfile") else { return };
    let path = path.child("appArmorProfile");
    let local = field(profile, "localhostProfile").and_then(Value::as_str);
    let local_path = path.child("localhostProfile");
    match text(profile, "type") {
        "Localhost" => match local {
            None => errors.push(FieldError::required(&local_path, "must be set when AppArmor type is Localhost")),
            Some(name) => {
                if name.trim() != name {
                    errors.push(FieldError::invalid(&local_path, name, "must not be padded with whitespace"));
                } else if name.is_empty() {
                    errors.push(FieldError::required(&local_path, "must be set when AppArmor type is Localhost"));
                }
                if name.len() > 4095 {
                    errors.push(FieldError::too_long(&local_path, 4095));
                }
            }
        },
        "RuntimeDefault" | "Unconfined" => {
            if let Some(name) = local {
                errors.push(FieldError::invalid(&local_path, name, "can only be set when AppArmor type is Localhost"));
            }
        }
        "" => errors.push(FieldError::required(path.child("type"), "type is required when appArmorProfile is set")),
        other => errors.push(FieldError::not_supported(path.child("type"), other, PROFILE_TYPES)),
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

    #[test]
    fn pod_security_context() {
        let mut spec = nginx_pod_spec();
        spec["hostNetwork"] = json!(true);
        spec["containers"][0]["ports"][0]["hostPort"] = json!(80);
        spec["securityContext"] = json!({
            "runAsUser": -1, "fsGroup": 4_294_967_296_i64, "supplementalGroups": [1000, -5],
            "fsGroupChangePolicy": "Sometimes",
            "sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"}, {"name": "Net.Core"},
                        {"name": "net.core.somaxconn", "value": "1024"}, {"name": ""}],
            "seccompProfile": {"type": "Localhost"},
        });
        assert_errors(
            errors_of(&spec),
            &[
                "spec.securityContext.fsGroup: Invalid value: 4294967296: must be between 0 and 4294967295, inclusive",
                "spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 4294967295, inclusive",
                "spec.securityContext.supplementalGroups[1]: Invalid value: -5: must be between 0 and 4294967295, inclusive",
                &format!(
                    "spec.securityContext.sysctls[1].name: Invalid value: \"Net.Core\": must have at most 253 characters and match regex {SYSCTL_REGEX}"
                ),
                "spec.securityContext.sysctls[2].name: Invalid value: \"net.core.somaxconn\": may not be specified when 'hostNetwork' is true",
                "spec.securityContext.sysctls[3].name: Required value",
                "spec.securityContext.fsGroupChangePolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnRootMismatch\"",
                "spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost",
            ],
        );
    }

    #[test]
    fn user_namespaces_share_no_host_namespace() {
        let mut spec = nginx_pod_spec();
        spec["hostPID"] = json!(true);
        spec["securityContext"] = json!({"hostUsers": false});
        assert_errors(errors_of(&spec), &["spec.HostPID: Forbidden: when `pod.Spec.HostUsers` is false"]);
    }

    #[test]
    fn container_security_context() {
        let mut spec = nginx_pod_spec();
        spec["containers"][0]["securityContext"] = json!({
            "runAsGroup": -1, "procMount": "Unmasked", "allowPrivilegeEscalation": false,
            "capabilities": {"add": ["NET_BIND_SERVICE"]},
            "seccompProfile": {"type": "RuntimeDefault", "localhostProfile": "x.json"},
            "appArmorProfile": {"type": "Strict"},
        });
        assert_errors(
            errors_of(&spec),
            &[
                "spec.containers[0].securityContext.runAsGroup: Invalid value: -1: must be between 0 and 4294967295, inclusive",
                "spec.containers[0].securityContext.procMount: Invalid value: \"Unmasked\": `hostUsers` must be false to use `Unmasked`",
                "spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: \"x.json\": can only be set when seccomp type is Localhost",
                "spec.containers[0].securityContext.appArmorProfile.type: Unsupported value: \"Strict\": supported values: \"Localhost\", \"RuntimeDefault\", \"Unconfined\"",
            ],
        );
    }

    #[test]
    fn sysctl_names() {
        for good in ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net/ipv4/conf/eth0.100/forwarding"] {
            assert!(is_sysctl_name(good), "{good}");
        }
        for bad in ["", "Kernel.x", "a..b", "-a.b", "a.b_"] {
            assert!(!is_sysctl_name(bad), "{bad}");
        }
    }
}
