//! A container's `volumeMounts` and `volumeDevices` (upstream's `ValidateVolumeMounts`,
//! `ValidateVolumeDevices`), and the path rules volumes share (`validateLocalDescendingPath`,
//! `ValidateLocalNonReservedPath`; `..` elements are `checks::no_backsteps`').
//!
//! A few paths are upstream's as they are, not as one would guess: the `subPath`,
//! `subPathExpr`, `mountPropagation` and `recursiveReadOnly` errors hang off the
//! `volumeMounts` list, not the mount.

use std::collections::HashSet;

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use serde_json::Value;

use super::volumes::Volumes;
use super::{field, flag, list, one_of, text};
use crate::resources::checks;

const PROPAGATIONS: &[&str] = &["Bidirectional", "HostToContainer", "None"];
const RECURSIVE_READ_ONLY: &[&str] = &["Disabled", "Enabled", "IfPossible"];

/// Both lists of the container at `path`.
pub(super) fn validate(container: &Value, volumes: &Volumes, path: &Path, errors: &mut FieldErrors) {
    let mounts = list(container, "volumeMounts");
    let devices = list(container, "volumeDevices");
    validate_mounts(container, mounts, devices, volumes, &path.child("volumeMounts"), errors);
    validate_devices(devices, mounts, volumes, &path.child("volumeDevices"), errors);
}

fn validate_mounts(
    container: &Value,
    mounts: &[Value],
    devices: &[Value],
    volumes: &Volumes,
    path: &Path,
    errors: &mut FieldErrors,
) {
    let device_names: HashSet<&str> = devices.iter().map(|d| text(d, "name")).collect();
    let device_paths: HashSet<&str> = devices.iter().map(|d| text(d, "devicePath")).collect();
    let privileged = container.pointer("/securityContext/privileged").and_then(Value::as_bool) == Some(true);
    let mut mount_paths = HashSet::new();
    for (i, mount) in mounts.iter().enumerate() {
        let at = path.index(i);
        let (name, mount_path) = (text(mount, "name"), text(mount, "mountPath"));
        if name.is_empty() {
            errors.push(FieldError::required(at.child("name"), ""));
        }
        if !volumes.contains_key(name) {
            errors.push(FieldError::not_found(at.child("name"), name));
        }
        if mount_path.is_empty() {
            errors.push(FieldError::required(at.child("mountPath"), ""));
        }
        if !mount_paths.insert(mount_path) {
            errors.push(FieldError::invalid(at.child("mountPath"), mount_path, "must be unique"));
        }
        if device_names.contains(name) {
            errors.push(FieldError::invalid(at.child("name"), name, "must not already exist in volumeDevices"));
        }
        if device_paths.contains(mount_path) {
            errors.push(FieldError::invalid(
                at.child("mountPath"),
                mount_path,
                "must not already exist as a path in volumeDevices",
            ));
        }
        let (sub_path, sub_path_expr) = (text(mount, "subPath"), text(mount, "subPathExpr"));
        if volumes.get(name).is_some_and(|volume| field(volume, "image").is_some()) {
            for (key, value) in [("subPath", sub_path), ("subPathExpr", sub_path_expr)] {
                if !value.is_empty() {
                    errors.push(FieldError::invalid(at.child(key), value, "not allowed in image volume sources"));
                }
            }
        }
        if !sub_path.is_empty() {
            local_descending_path(sub_path, &path.child("subPath"), errors);
        }
        if !sub_path_expr.is_empty() {
            if !sub_path.is_empty() {
                errors.push(FieldError::invalid(
                    at.child("subPathExpr"),
                    sub_path_expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            local_descending_path(sub_path_expr, &path.child("subPathExpr"), errors);
        }
        let propagation = field(mount, "mountPropagation").and_then(Value::as_str);
        if let Some(mode) = propagation {
            one_of(errors, &path.child("mountPropagation"), mode, PROPAGATIONS);
            if mode == "Bidirectional" && !privileged {
                errors.push(FieldError::forbidden(
                    path.child("mountPropagation"),
                    "Bidirectional mount propagation is available only to privileged containers",
                ));
            }
        }
        validate_recursive_read_only(mount, propagation, &path.child("recursiveReadOnly"), errors);
    }
}

fn validate_recursive_read_only(mount: &Value, propagation: Option<&str>, path: &Path, errors: &mut FieldErrors) {
    let Some(mode) = field(mount, "recursiveReadOnly").and_then(Value::as_str) else { return };
    match mode {
        "Disabled" => {}
        "Enabled" | "IfPossible" => {
            if !flag(mount, "readOnly") {
                errors.push(FieldError::forbidden(path, "may only be specified when readOnly is true"));
            }
            if propagation.is_some_and(|p| p != "None") {
                errors.push(FieldError::forbidden(
                    path,
                    "may only be specified when mountPropagation is None or not specified",
                ));
            }
        }
        other => errors.push(FieldError::not_supported(path, other, RECURSIVE_READ_ONLY)),
    }
}

fn validate_devices(devices: &[Value], mounts: &[Value], volumes: &Volumes, path: &Path, errors: &mut FieldErrors) {
    let mount_names: HashSet<&str> = mounts.iter().map(|m| text(m, "name")).collect();
    let mount_paths: HashSet<&str> = mounts.iter().map(|m| text(m, "mountPath")).collect();
    let (mut names, mut paths) = (HashSet::new(), HashSet::new());
    for (i, device) in devices.iter().enumerate() {
        let at = path.index(i);
        let (name, device_path) = (text(device, "name"), text(device, "devicePath"));
        if name.is_empty() {
            errors.push(FieldError::required(at.child("name"), ""));
        }
        if names.contains(name) {
            errors.push(FieldError::invalid(at.child("name"), name, "must be unique"));
        }
        match volumes.get(name) {
            Some(volume)
                if field(volume, "persistentVolumeClaim").is_none() && field(volume, "ephemeral").is_none() =>
            {
                errors.push(FieldError::invalid(
                    at.child("name"),
                    name,
                    "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode",
                ));
            }
            Some(_) => {}
            None => errors.push(FieldError::not_found(at.child("name"), name)),
        }
        if device_path.is_empty() {
            errors.push(FieldError::required(at.child("devicePath"), ""));
        }
        if paths.contains(device_path) {
            errors.push(FieldError::invalid(at.child("devicePath"), device_path, "must be unique"));
        }
        if !device_path.is_empty() && has_backsteps(device_path, &at) {
            errors.push(FieldError::invalid(at.child("devicePath"), device_path, "can not contain backsteps ('..')"));
        } else {
            paths.insert(device_path);
        }
        if mount_names.contains(name) {
            errors.push(FieldError::invalid(at.child("name"), name, "must not already exist in volumeMounts"));
        }
        if mount_paths.contains(device_path) {
            errors.push(FieldError::invalid(
                at.child("devicePath"),
                device_path,
                "must not already exist as a path in volumeMounts",
            ));
        }
        if !name.is_empty() {
            names.insert(name);
        }
    }
}

/// Whether `value` has a `..` element (upstream words this error differently for devices).
fn has_backsteps(value: &str, path: &Path) -> bool {
    let mut found = FieldErrors::default();
    checks::no_backsteps(&mut found, path, value);
    !found.is_empty()
}

/// Upstream's `validateLocalDescendingPath`: relative, without `..`.
pub(super) fn local_descending_path(value: &str, path: &Path, errors: &mut FieldErrors) {
    if value.starts_with('/') {
        errors.push(FieldError::invalid(path, value, "must be a relative path"));
    }
    checks::no_backsteps(errors, path, value);
}

/// Upstream's `ValidateLocalNonReservedPath`: a descending path not starting with `..`.
pub(super) fn local_non_reserved_path(value: &str, path: &Path, errors: &mut FieldErrors) {
    local_descending_path(value, path, errors);
    if value.starts_with("..") && !value.starts_with("../") {
        errors.push(FieldError::invalid(path, value, "must not start with '..'"));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{assert_errors, nginx_pod_spec};
    use super::super::{Owner, validate_pod_spec};
    use super::*;

    fn with_mounts(mounts: Value, devices: Value) -> FieldErrors {
        let mut spec = nginx_pod_spec();
        spec["volumes"] = json!([
            {"name": "html", "configMap": {"name": "site"}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
        ]);
        spec["containers"][0]["volumeMounts"] = mounts;
        spec["containers"][0]["volumeDevices"] = devices;
        validate_pod_spec(&spec, &Path::new("spec"), Owner::Pod)
    }

    #[test]
    fn good_mounts_and_devices() {
        assert_errors(
            with_mounts(
                json!([{"name": "html", "mountPath": "/usr/share/nginx/html", "readOnly": true, "subPath": "site/v1",
                        "recursiveReadOnly": "IfPossible"}]),
                json!([{"name": "data", "devicePath": "/dev/xvda"}]),
            ),
            &[],
        );
    }

    #[test]
    fn mounts_name_a_volume_once_per_path() {
        assert_errors(
            with_mounts(
                json!([
                    {"name": "missing", "mountPath": "/a"},
                    {"name": "html", "mountPath": "/a"},
                    {"name": "html", "mountPath": "", "subPath": "/abs/../x"},
                    {"name": "html", "mountPath": "/b", "mountPropagation": "Bidirectional"},
                ]),
                json!([]),
            ),
            &[
                "spec.containers[0].volumeMounts[0].name: Not found: \"missing\"",
                "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/a\": must be unique",
                "spec.containers[0].volumeMounts[2].mountPath: Required value",
                "spec.containers[0].volumeMounts.subPath: Invalid value: \"/abs/../x\": must be a relative path",
                "spec.containers[0].volumeMounts.subPath: Invalid value: \"/abs/../x\": must not contain '..'",
                "spec.containers[0].volumeMounts.mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers",
            ],
        );
    }

    #[test]
    fn devices_need_claims_and_their_own_paths() {
        assert_errors(
            with_mounts(
                json!([{"name": "data", "mountPath": "/dev/xvda"}]),
                json!([{"name": "html", "devicePath": "/dev/xvda"}, {"name": "nope", "devicePath": "../x"}]),
            ),
            &[
                "spec.containers[0].volumeMounts[0].mountPath: Invalid value: \"/dev/xvda\": must not already exist as a path in volumeDevices",
                "spec.containers[0].volumeDevices[0].name: Invalid value: \"html\": can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode",
                "spec.containers[0].volumeDevices[0].devicePath: Invalid value: \"/dev/xvda\": must not already exist as a path in volumeMounts",
                "spec.containers[0].volumeDevices[1].name: Not found: \"nope\"",
                "spec.containers[0].volumeDevices[1].devicePath: Invalid value: \"../x\": can not contain backsteps ('..')",
            ],
        );
    }

    #[test]
    fn local_paths() {
        let mut errors = FieldErrors::default();
        local_non_reserved_path("..data", &Path::new("p"), &mut errors);
        local_non_reserved_path("a/b", &Path::new("p"), &mut errors);
        assert_errors(errors, &["p: Invalid value: \"..data\": must not start with '..'"]);
    }
}
