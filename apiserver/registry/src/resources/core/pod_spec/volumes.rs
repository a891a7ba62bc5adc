//! A pod's `volumes` (upstream's `ValidateVolumes`, `validateVolumeSource` and the source
//! validators of the sources people use: emptyDir, hostPath, secret, configMap, projected,
//! downwardAPI, persistentVolumeClaim, nfs, csi, ephemeral, image, gitRepo). Every other
//! source is counted (one source per volume) but not looked into.

use std::collections::{HashMap, HashSet};

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use serde_json::Value;

use super::env::{VOLUME_FIELD_PATHS, validate_object_field_selector, validate_resource_field_selector};
use super::mounts::{local_descending_path, local_non_reserved_path};
use super::{Owner, field, int, invalid_each, list, one_of, text};
use crate::resources::checks::{self, quantity::Quantity};

/// The volumes that passed validation, by name: what mounts and devices may refer to.
pub(super) type Volumes<'a> = HashMap<&'a str, &'a Value>;

/// Every volume source in upstream's order, with the field upstream names when a second
/// source is refused (its spelling, typos included, differs for two of them).
const SOURCES: &[(&str, &str)] = &[
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
];

const HOST_PATH_TYPES: &[&str] =
    &["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"];
const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const FILE_MODE: &str = "must be a number between 0 and 0777 (octal), both inclusive";
/// Upstream's default `serviceAccountToken.expirationSeconds`.
const DEFAULT_TOKEN_SECONDS: i64 = 3600;

/// Validates `volumes` at `path`; the valid ones by name.
pub(super) fn validate<'a>(volumes: &'a [Value], path: &Path, owner: Owner, errors: &mut FieldErrors) -> Volumes<'a> {
    let mut valid = Volumes::new();
    let mut names_seen = HashSet::new();
    for (i, volume) in volumes.iter().enumerate() {
        let at = path.index(i);
        let mut problems = FieldErrors::default();
        validate_source(volume, &at, owner, &mut problems);
        let name = text(volume, "name");
        if name.is_empty() {
            problems.push(FieldError::required(at.child("name"), ""));
        } else {
            invalid_each(&mut problems, &at.child("name"), name, names::dns1123_label(name));
        }
        if names_seen.contains(name) {
            problems.push(FieldError::duplicate(at.child("name"), name));
        }
        if problems.is_empty() {
            names_seen.insert(name);
            valid.insert(name, volume);
        } else {
            errors.extend(problems);
        }
    }
    valid
}

fn validate_source(volume: &Value, path: &Path, owner: Owner, errors: &mut FieldErrors) {
    let mut found = false;
    for (key, refused_as) in SOURCES {
        let Some(source) = field(volume, key) else { continue };
        if found {
            errors.push(FieldError::forbidden(path.child(refused_as), "may not specify more than 1 volume type"));
            continue;
        }
        found = true;
        let at = path.child(key);
        match *key {
            "emptyDir" => validate_empty_dir(source, &at, errors),
            "hostPath" => validate_host_path(source, &at, errors),
            "gitRepo" => {
                if text(source, "repository").is_empty() {
                    errors.push(FieldError::required(at.child("repository"), ""));
                }
                local_descending_path(text(source, "directory"), &at.child("directory"), errors);
            }
            "secret" => validate_object_files(source, "secretName", &at, errors),
            "configMap" => validate_object_files(source, "name", &at, errors),
            "nfs" => validate_nfs(source, &at, errors),
            "persistentVolumeClaim" if text(source, "claimName").is_empty() => {
                errors.push(FieldError::required(at.child("claimName"), ""));
            }
            "downwardAPI" => {
                validate_mode(source, "defaultMode", &at, errors);
                for file in list(source, "items") {
                    validate_downward_api_file(file, &at, errors);
                }
            }
            "projected" => validate_projected(source, &at, errors),
            "csi" => validate_csi(source, &at, errors),
            "ephemeral" if field(source, "volumeClaimTemplate").is_none() => {
                errors.push(FieldError::required(at.child("volumeClaimTemplate"), ""));
            }
            "image" => {
                if owner == Owner::Pod && text(source, "reference").is_empty() {
                    errors.push(FieldError::required(at.child("reference"), ""));
                }
                if let Some(policy) = field(source, "pullPolicy").and_then(Value::as_str) {
                    one_of(errors, &at.child("pullPolicy"), policy, PULL_POLICIES);
                }
            }
            _ => {}
        }
    }
    if !found {
        errors.push(FieldError::required(path, "must specify a volume type"));
    }
}

fn validate_empty_dir(source: &Value, path: &Path, errors: &mut FieldErrors) {
    let Some(limit) = field(source, "sizeLimit") else { return };
    let at = path.child("sizeLimit");
    if Quantity::read(limit, &at, errors).is_some_and(|q| q.is_negative()) {
        errors.push(FieldError::forbidden(&at, "SizeLimit field must be a valid resource quantity"));
    }
}

fn validate_host_path(source: &Value, path: &Path, errors: &mut FieldErrors) {
    let host_path = text(source, "path");
    if host_path.is_empty() {
        errors.push(FieldError::required(path.child("path"), ""));
        return;
    }
    checks::no_backsteps(errors, &path.child("path"), host_path);
    if let Some(kind) = field(source, "type").and_then(Value::as_str) {
        one_of(errors, &path.child("type"), kind, HOST_PATH_TYPES);
    }
}

fn validate_nfs(source: &Value, path: &Path, errors: &mut FieldErrors) {
    if text(source, "server").is_empty() {
        errors.push(FieldError::required(path.child("server"), ""));
    }
    let export = text(source, "path");
    if export.is_empty() {
        errors.push(FieldError::required(path.child("path"), ""));
    }
    if !export.starts_with('/') {
        errors.push(FieldError::invalid(path.child("path"), export, "must be an absolute path"));
    }
}

fn validate_csi(source: &Value, path: &Path, errors: &mut FieldErrors) {
    let driver = text(source, "driver");
    let at = path.child("driver");
    if driver.is_empty() {
        errors.push(FieldError::required(&at, ""));
    }
    if driver.len() > 63 {
        errors.push(FieldError::too_long(&at, 63));
    }
    invalid_each(errors, &at, driver, names::dns1123_subdomain(&driver.to_lowercase()));
    if let Some(secret) = field(source, "nodePublishSecretRef") {
        match text(secret, "name") {
            "" => errors.push(FieldError::required(path.child("nodePublishSecretRef").child("name"), "")),
            name => invalid_each(errors, &path.child("name"), name, names::dns1123_subdomain(name)),
        }
    }
}

/// A `secret` or `configMap` volume: the object's name, the default mode, and its items.
fn validate_object_files(source: &Value, name_key: &str, path: &Path, errors: &mut FieldErrors) {
    if text(source, name_key).is_empty() {
        errors.push(FieldError::required(path.child(name_key), ""));
    }
    validate_mode(source, "defaultMode", path, errors);
    for (i, item) in list(source, "items").iter().enumerate() {
        validate_key_to_path(item, &path.child("items").index(i), errors);
    }
}

/// Upstream's `validateKeyToPath`.
fn validate_key_to_path(item: &Value, path: &Path, errors: &mut FieldErrors) {
    if text(item, "key").is_empty() {
        errors.push(FieldError::required(path.child("key"), ""));
    }
    let file = text(item, "path");
    if file.is_empty() {
        errors.push(FieldError::required(path.child("path"), ""));
    }
    local_non_reserved_path(file, &path.child("path"), errors);
    validate_mode(item, "mode", path, errors);
}

/// A file mode: 0 to 0777.
fn validate_mode(value: &Value, key: &str, path: &Path, errors: &mut FieldErrors) {
    if let Some(mode) = int(value, key)
        && !(0..=0o777).contains(&mode)
    {
        errors.push(FieldError::invalid(path.child(key), mode, FILE_MODE));
    }
}

/// Upstream's `validateDownwardAPIVolumeFile`; its errors hang off `path`, the source (not
/// the item), as upstream's do.
fn validate_downward_api_file(file: &Value, path: &Path, errors: &mut FieldErrors) {
    let file_path = text(file, "path");
    if file_path.is_empty() {
        errors.push(FieldError::required(path.child("path"), ""));
    }
    local_non_reserved_path(file_path, &path.child("path"), errors);
    match (field(file, "fieldRef"), field(file, "resourceFieldRef")) {
        (Some(selector), resource) => {
            validate_object_field_selector(selector, VOLUME_FIELD_PATHS, &path.child("fieldRef"), errors);
            if resource.is_some() {
                errors.push(FieldError::invalid(
                    path,
                    "resource",
                    "fieldRef and resourceFieldRef can not be specified simultaneously",
                ));
            }
        }
        (None, Some(selector)) => {
            validate_resource_field_selector(selector, true, &path.child("resourceFieldRef"), errors);
        }
        (None, None) => errors.push(FieldError::required(path, "one of fieldRef and resourceFieldRef is required")),
    }
    validate_mode(file, "mode", path, errors);
}

/// Upstream's `validateProjectedVolumeSource`: one source per entry, no two files at one path.
fn validate_projected(source: &Value, path: &Path, errors: &mut FieldErrors) {
    validate_mode(source, "defaultMode", path, errors);
    let mut paths = HashSet::new();
    for (i, projection) in list(source, "sources").iter().enumerate() {
        let at = path.child("sources").index(i);
        let mut kinds = 0;
        for key in ["secret", "configMap"] {
            let Some(object) = field(projection, key) else { continue };
            kinds += 1;
            let name = text(object, "name");
            if name.is_empty() {
                errors.push(FieldError::required(at.child(key).child("name"), ""));
            }
            for (j, item) in list(object, "items").iter().enumerate() {
                validate_key_to_path(item, &at.child(key).child("items").index(j), errors);
                let file = text(item, "path");
                if !file.is_empty() && !paths.insert(file) {
                    errors.push(FieldError::invalid(path, name, "conflicting duplicate paths"));
                }
            }
        }
        if let Some(downward) = field(projection, "downwardAPI") {
            kinds += 1;
            for file in list(downward, "items") {
                validate_downward_api_file(file, &at.child("downwardAPI"), errors);
                let file_path = text(file, "path");
                if !file_path.is_empty() && !paths.insert(file_path) {
                    errors.push(FieldError::invalid(path, file_path, "conflicting duplicate paths"));
                }
            }
        }
        if let Some(token) = field(projection, "serviceAccountToken") {
            kinds += 1;
            let seconds = int(token, "expirationSeconds").unwrap_or(DEFAULT_TOKEN_SECONDS);
            let seconds_path = at.child("serviceAccountToken").child("expirationSeconds");
            if seconds < 600 {
                errors.push(FieldError::invalid(
                    &seconds_path,
                    seconds,
                    "may not specify a duration less than 10 minutes",
                ));
            }
            if seconds > 1 << 32 {
                errors.push(FieldError::invalid(
                    &seconds_path,
                    seconds,
                    "may not specify a duration larger than 2^32 seconds",
                ));
            }
            match text(token, "path") {
                "" => errors.push(FieldError::required(path.child("path"), "")),
                file => local_non_reserved_path(file, &path.child("path"), errors),
            }
        }
        if field(projection, "clusterTrustBundle").is_some() {
            kinds += 1;
        }
        if kinds > 1 {
            errors.push(FieldError::forbidden(&at, "may not specify more than 1 volume type per source"));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{assert_errors, nginx_pod_spec};
    use super::super::validate_pod_spec;
    use super::*;

    fn with_volumes(volumes: Value) -> FieldErrors {
        let mut spec = nginx_pod_spec();
        spec["volumes"] = volumes;
        spec["containers"][0].as_object_mut().unwrap().remove("volumeMounts");
        validate_pod_spec(&spec, &Path::new("spec"), Owner::Pod)
    }

    #[test]
    fn good_volumes_of_every_common_kind() {
        assert_errors(
            with_volumes(json!([
                {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                {"name": "logs", "hostPath": {"path": "/var/log", "type": "DirectoryOrCreate"}},
                {"name": "certs", "secret": {"secretName": "tls", "defaultMode": 0o400,
                                             "items": [{"key": "tls.crt", "path": "certs/tls.crt", "mode": 0o444}]}},
                {"name": "conf", "configMap": {"name": "nginx", "items": [{"key": "nginx.conf", "path": "nginx.conf"}]}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "data", "readOnly": true}},
                {"name": "info", "downwardAPI": {"items": [
                    {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                    {"path": "cpu", "resourceFieldRef": {"containerName": "nginx", "resource": "limits.cpu"}}]}},
                {"name": "kube-api-access", "projected": {"defaultMode": 0o644, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace",
                                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}},
                {"name": "share", "nfs": {"server": "nfs.example.com", "path": "/exports"}},
                {"name": "secrets-store", "csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": true}},
                {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}},
            ])),
            &[],
        );
    }

    #[test]
    fn names_and_exactly_one_source() {
        assert_errors(
            with_volumes(json!([
                {"name": "a", "emptyDir": {}, "secret": {"secretName": "s"}, "cephfs": {"monitors": ["m"]}},
                {"name": "b"},
                {"name": "", "emptyDir": {}},
                {"name": "c", "emptyDir": {}},
                {"name": "c", "emptyDir": {}},
                {"name": "Bad_Name", "emptyDir": {}},
            ])),
            &[
                "spec.volumes[0].secret: Forbidden: may not specify more than 1 volume type",
                "spec.volumes[0].cephFS: Forbidden: may not specify more than 1 volume type",
                "spec.volumes[1]: Required value: must specify a volume type",
                "spec.volumes[2].name: Required value",
                "spec.volumes[4].name: Duplicate value: \"c\"",
                "spec.volumes[5].name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            ],
        );
    }

    #[test]
    fn source_rules() {
        assert_errors(
            with_volumes(json!([
                {"name": "a", "emptyDir": {"sizeLimit": "-1Gi"}},
                {"name": "b", "hostPath": {"path": "/var/../etc", "type": "Folder"}},
                {"name": "c", "secret": {"defaultMode": 0o1777, "items": [{"key": "", "path": "../up"}]}},
                {"name": "d", "configMap": {"name": "x", "items": [{"key": "k", "path": "/abs"}]}},
                {"name": "e", "persistentVolumeClaim": {"claimName": ""}},
                {"name": "f", "downwardAPI": {"items": [{"path": "x", "fieldRef": {"fieldPath": "spec.nodeName"}}]}},
                {"name": "g", "hostPath": {"path": ""}},
            ])),
            &[
                "spec.volumes[0].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a valid resource quantity",
                "spec.volumes[1].hostPath.path: Invalid value: \"/var/../etc\": must not contain '..'",
                "spec.volumes[1].hostPath.type: Unsupported value: \"Folder\": supported values: \"\", \"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\"",
                "spec.volumes[2].secret.secretName: Required value",
                "spec.volumes[2].secret.defaultMode: Invalid value: 1023: must be a number between 0 and 0777 (octal), both inclusive",
                "spec.volumes[2].secret.items[0].key: Required value",
                "spec.volumes[2].secret.items[0].path: Invalid value: \"../up\": must not contain '..'",
                "spec.volumes[3].configMap.items[0].path: Invalid value: \"/abs\": must be a relative path",
                "spec.volumes[4].persistentVolumeClaim.claimName: Required value",
                "spec.volumes[5].downwardAPI.fieldRef.fieldPath: Unsupported value: \"spec.nodeName\": supported values: \"metadata.annotations\", \"metadata.labels\", \"metadata.name\", \"metadata.namespace\", \"metadata.uid\"",
                "spec.volumes[6].hostPath.path: Required value",
            ],
        );
    }

    #[test]
    fn projections() {
        assert_errors(
            with_volumes(json!([{"name": "p", "projected": {"sources": [
                {"secret": {"name": "a", "items": [{"key": "k", "path": "same"}]},
                 "configMap": {"name": "b", "items": [{"key": "k", "path": "same"}]}},
                {"serviceAccountToken": {"expirationSeconds": 60, "path": "token"}},
            ]}}])),
            &[
                "spec.volumes[0].projected: Invalid value: \"b\": conflicting duplicate paths",
                "spec.volumes[0].projected.sources[0]: Forbidden: may not specify more than 1 volume type per source",
                "spec.volumes[0].projected.sources[1].serviceAccountToken.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes",
            ],
        );
    }
}
