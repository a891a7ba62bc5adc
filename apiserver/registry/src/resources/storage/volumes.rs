//! PersistentVolumes (`ValidatePersistentVolumeSpec` and `...Update`): access modes, a positive
//! `storage` capacity and nothing else, exactly one volume source, a reclaim policy and volume
//! mode upstream knows, node affinity; the source, volume mode and node affinity never change.
//! The same spec rules, in their inline form, check a VolumeAttachment's `inlineVolumeSpec`.

use apiserver_machinery::field::{FieldError, FieldErrors, FieldValue, Path};
use serde_json::{Map, Value};

use super::{VOLUME_MODES, access_modes, class_name, csi_driver_name};
use crate::object::Object;
use crate::resources::checks::quantity::{self, Quantity};
use crate::resources::checks::selectors::node_selector;
use crate::resources::checks::{self, entries, field, text};

/// `supportedReclaimPolicy`.
const RECLAIM_POLICIES: &[&str] = &["Delete", "Recycle", "Retain"];
/// `supportedHostPathTypes`, sorted.
const HOST_PATH_TYPES: &[&str] =
    &["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"];
/// The volume sources of a spec in the order upstream counts them, each with the field name its
/// "more than 1 volume type" error names.
const SOURCES: &[(&str, &str)] = &[
    ("hostPath", "hostPath"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("nfs", "nfs"),
    ("rbd", "rbd"),
    ("quobyte", "quobyte"),
    ("cephfs", "cephFS"),
    ("iscsi", "iscsi"),
    ("cinder", "cinder"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("scaleIO", "scaleIO"),
    ("local", "local"),
    ("storageos", "storageos"),
    ("csi", "csi"),
];
const INLINE: &str = "may not be specified in the context of inline volumes";

fn spec(obj: &Object) -> &Value {
    obj.get("spec").unwrap_or(&Value::Null)
}

/// core/v1 PersistentVolume, on create.
pub fn validate_volume(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    volume_spec(&mut errors, &Path::new("spec"), spec(obj), false);
    errors
}

/// `ValidatePersistentVolumeSpec`; `inline` for a volume spec inside another object (no claim,
/// capacity, class or node affinity of its own; CSI only).
pub(super) fn volume_spec(errors: &mut FieldErrors, path: &Path, spec: &Value, inline: bool) {
    if inline {
        if field(spec, "claimRef").is_some() {
            errors.push(FieldError::forbidden(path.child("claimRef"), INLINE));
        }
        if checks::has_entries(spec, "capacity") {
            errors.push(FieldError::forbidden(path.child("capacity"), INLINE));
        }
        if field(spec, "csi").is_none() {
            errors
                .push(FieldError::required(path.child("csi"), "has to be specified in the context of inline volumes"));
        }
    }
    if !checks::has_entries(spec, "accessModes") {
        errors.push(FieldError::required(path.child("accessModes"), ""));
    }
    access_modes(errors, &path.child("accessModes"), spec);
    if !inline {
        capacity(errors, &path.child("capacity"), spec);
    }
    let policy = text(spec, "persistentVolumeReclaimPolicy");
    let policy_path = path.child("persistentVolumeReclaimPolicy");
    if inline && !policy.is_empty() && policy != "Retain" {
        errors.push(FieldError::forbidden(&policy_path, "may only be Retain in the context of inline volumes"));
    } else if !inline && !policy.is_empty() {
        checks::one_of(errors, &policy_path, policy, RECLAIM_POLICIES);
    }
    let mut has_node_affinity = false;
    if let Some(affinity) = field(spec, "nodeAffinity") {
        if inline {
            errors.push(FieldError::forbidden(path.child("nodeAffinity"), INLINE));
        } else {
            has_node_affinity = true;
            let required = path.child("nodeAffinity").child("required");
            match field(affinity, "required") {
                Some(selector) => node_selector(errors, &required, selector),
                None => errors.push(FieldError::required(required, "must specify required node constraints")),
            }
        }
    }
    let mut sources = 0;
    for (key, name) in SOURCES {
        let Some(source) = field(spec, key) else { continue };
        // Upstream counts a flexVolume without asking whether another source came first.
        if sources > 0 && *key != "flexVolume" {
            errors.push(FieldError::forbidden(path.child(name), "may not specify more than 1 volume type"));
            continue;
        }
        sources += 1;
        volume_source(errors, path, key, source, has_node_affinity);
    }
    if sources == 0 {
        errors.push(FieldError::required(path, "must specify a volume type"));
    }
    if field(spec, "hostPath").is_some_and(|h| is_root(text(h, "path"))) && policy == "Recycle" {
        errors.push(FieldError::forbidden(&policy_path, "may not be 'recycle' for a hostPath mount of '/'"));
    }
    let class = text(spec, "storageClassName");
    if inline && !class.is_empty() {
        errors.push(FieldError::forbidden(path.child("storageClassName"), INLINE));
    } else {
        class_name(errors, &path.child("storageClassName"), class);
    }
    if let Some(mode) = field(spec, "volumeMode").map(|m| m.as_str().unwrap_or_default()) {
        if !inline {
            checks::one_of(errors, &path.child("volumeMode"), mode, VOLUME_MODES);
        } else if mode != "Filesystem" {
            errors.push(FieldError::forbidden(
                path.child("volumeMode"),
                "may not specify volumeMode other than Filesystem in the context of inline volumes",
            ));
        }
    }
    if let Some(class) = field(spec, "volumeAttributesClassName").map(|c| c.as_str().unwrap_or_default()) {
        let class_path = path.child("volumeAttributesClassName");
        if class.is_empty() {
            errors.push(FieldError::required(class_path, "an empty string is disallowed"));
        } else {
            class_name(errors, &class_path, class);
        }
        if field(spec, "csi").is_none() {
            errors.push(FieldError::required(
                path.child("csi"),
                "has to be specified when using volumeAttributesClassName",
            ));
        }
    }
}

/// A `storage` capacity and nothing else, positive.
fn capacity(errors: &mut FieldErrors, path: &Path, spec: &Value) {
    let capacity = spec.get("capacity").and_then(Value::as_object);
    let capacity = capacity.cloned().unwrap_or_default();
    if capacity.is_empty() {
        errors.push(FieldError::required(path, ""));
    }
    if !capacity.contains_key("storage") || capacity.len() > 1 {
        let shown = FieldValue::raw(Value::Object(capacity.clone()).to_string());
        errors.push(FieldError::not_supported(path, shown, &["storage"]));
    }
    for (resource, value) in entries(spec, "capacity") {
        let at = path.key(resource);
        if let Some(value) = Quantity::read(value, &at, errors) {
            if value.is_negative() {
                errors.push(FieldError::invalid(&at, value.text(), "must be a valid resource quantity"));
            }
            quantity::positive(errors, &at, &value);
        }
    }
}

/// The rules of one volume source (those every cluster meets; the cloud and vendor sources are
/// counted, their own fields are their drivers' business here).
fn volume_source(errors: &mut FieldErrors, path: &Path, key: &str, source: &Value, has_node_affinity: bool) {
    let at = path.child(key);
    match key {
        "hostPath" => {
            let host_path = text(source, "path");
            if host_path.is_empty() {
                errors.push(FieldError::required(at.child("path"), ""));
                return;
            }
            checks::no_backsteps(errors, &at.child("path"), host_path);
            if let Some(kind) = field(source, "type") {
                checks::one_of(errors, &at.child("type"), kind.as_str().unwrap_or_default(), HOST_PATH_TYPES);
            }
        }
        "nfs" => {
            for required in ["server", "path"] {
                if text(source, required).is_empty() {
                    errors.push(FieldError::required(at.child(required), ""));
                }
            }
            let export = text(source, "path");
            if !export.starts_with('/') {
                errors.push(FieldError::invalid(at.child("path"), export, "must be an absolute path"));
            }
        }
        "local" => {
            let local_path = text(source, "path");
            if local_path.is_empty() {
                errors.push(FieldError::required(at.child("path"), ""));
            } else {
                checks::no_backsteps(errors, &at.child("path"), local_path);
            }
            if !has_node_affinity {
                errors.push(FieldError::required(path.child("nodeAffinity"), "Local volume requires node affinity"));
            }
        }
        "flexVolume" if text(source, "driver").is_empty() => {
            errors.push(FieldError::required(at.child("driver"), ""));
        }
        "csi" => {
            csi_driver_name(errors, &at.child("driver"), text(source, "driver"));
            if text(source, "volumeHandle").is_empty() {
                errors.push(FieldError::required(at.child("volumeHandle"), ""));
            }
            for secret in [
                "controllerPublishSecretRef",
                "controllerExpandSecretRef",
                "nodePublishSecretRef",
                "nodeExpandSecretRef",
            ] {
                if let Some(reference) = field(source, secret) {
                    secret_reference(errors, &at.child(secret), reference);
                }
            }
        }
        _ => {}
    }
}

/// `validatePVSecretReference`: a name and a namespace.
fn secret_reference(errors: &mut FieldErrors, path: &Path, reference: &Value) {
    match text(reference, "name") {
        "" => errors.push(FieldError::required(path.child("name"), "")),
        name => checks::dns1123_subdomain(errors, &path.child("name"), name),
    }
    match text(reference, "namespace") {
        "" => errors.push(FieldError::required(path.child("namespace"), "")),
        namespace => checks::dns1123_label(errors, &path.child("namespace"), namespace),
    }
}

/// Whether a path is `/` once cleaned (`path.Clean`).
fn is_root(path: &str) -> bool {
    path.starts_with('/') && path.split('/').all(|part| matches!(part, "" | "." | ".."))
}

/// The volume source fields of a spec (upstream's `PersistentVolumeSource`).
fn sources(spec: &Value) -> Map<String, Value> {
    SOURCES.iter().filter_map(|(key, _)| Some((key.to_string(), field(spec, key)?.clone()))).collect()
}

/// core/v1 PersistentVolume, on update.
pub fn validate_volume_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate_volume(new);
    let (new_spec, old_spec) = (spec(new), spec(old));
    let (mut new_sources, old_sources) = (sources(new_spec), sources(old_spec));
    // A CSI volume may gain the secret its expansion needs.
    let expand_secret = "controllerExpandSecretRef";
    if old_spec.get("csi").is_some_and(|csi| field(csi, expand_secret).is_none())
        && let Some(csi) = new_sources.get_mut("csi").and_then(Value::as_object_mut)
    {
        csi.remove(expand_secret);
    }
    let (new_sources, old_sources) = (Value::Object(new_sources), Value::Object(old_sources));
    if !checks::same(Some(&new_sources), Some(&old_sources)) {
        errors.push(FieldError::forbidden(
            "spec.persistentvolumesource",
            format!(
                "spec.persistentvolumesource is immutable after creation\n{}",
                checks::diff(Some(&old_sources), Some(&new_sources))
            ),
        ));
    }
    checks::immutable(
        &mut errors,
        &Path::new("volumeMode"),
        field(new_spec, "volumeMode"),
        field(old_spec, "volumeMode"),
    );
    if field(old_spec, "nodeAffinity").is_some() {
        checks::immutable(
            &mut errors,
            &Path::new("nodeAffinity"),
            field(new_spec, "nodeAffinity"),
            field(old_spec, "nodeAffinity"),
        );
    }
    if field(old_spec, "volumeAttributesClassName").is_some() && field(new_spec, "volumeAttributesClassName").is_none()
    {
        errors.push(FieldError::forbidden(
            "spec.volumeAttributesClassName",
            "update from non-nil value to nil is forbidden",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::checks::testing::messages;

    fn volume(spec: Value) -> Object {
        let Value::Object(obj) = json!({"metadata": {"name": "pv-1"}, "spec": spec}) else { unreachable!() };
        obj
    }

    /// What the built-in provisioner creates.
    fn provisioned() -> Value {
        json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
               "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "standard",
               "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": "data", "namespace": "default", "uid": "u1"},
               "hostPath": {"path": "/var/lib/kybernetes/volumes/pvc-u1", "type": "DirectoryOrCreate"},
               "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                   {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-1"]}]}]}}})
    }

    #[test]
    fn realistic_volumes_pass() {
        assert_eq!(messages(&validate_volume(&volume(provisioned()))), Vec::<String>::new());
        let nfs = json!({"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany"],
                         "persistentVolumeReclaimPolicy": "Recycle", "nfs": {"server": "nfs.local", "path": "/exports/a"}});
        assert!(validate_volume(&volume(nfs)).is_empty());
        let csi = json!({"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"], "volumeAttributesClassName": "gold",
                         "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1",
                                 "nodePublishSecretRef": {"name": "creds", "namespace": "kube-system"}}});
        assert!(validate_volume(&volume(csi)).is_empty());
    }

    #[test]
    fn capacity_sources_and_enums() {
        assert_eq!(
            messages(&validate_volume(&volume(json!({})))),
            [
                "spec.accessModes: Required value",
                "spec.capacity: Required value",
                "spec.capacity: Unsupported value: {}: supported values: \"storage\"",
                "spec: Required value: must specify a volume type",
            ]
        );
        let bad = json!({"capacity": {"storage": "0", "cpu": "1"}, "accessModes": ["ReadWriteOnce"],
                         "persistentVolumeReclaimPolicy": "Keep", "volumeMode": "Raw",
                         "hostPath": {"path": "/data/../etc", "type": "Dir"}, "nfs": {"server": "s", "path": "/x"}});
        assert_eq!(
            messages(&validate_volume(&volume(bad))),
            [
                "spec.capacity: Unsupported value: {\"cpu\":\"1\",\"storage\":\"0\"}: supported values: \"storage\"",
                "spec.capacity[storage]: Invalid value: \"0\": must be greater than zero",
                "spec.persistentVolumeReclaimPolicy: Unsupported value: \"Keep\": supported values: \"Delete\", \"Recycle\", \"Retain\"",
                "spec.hostPath.path: Invalid value: \"/data/../etc\": must not contain '..'",
                "spec.hostPath.type: Unsupported value: \"Dir\": supported values: \"\", \"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\"",
                "spec.nfs: Forbidden: may not specify more than 1 volume type",
                "spec.volumeMode: Unsupported value: \"Raw\": supported values: \"Block\", \"Filesystem\"",
            ]
        );
    }

    #[test]
    fn local_volumes_need_node_affinity_and_root_is_not_recycled() {
        let local = json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "local": {"path": "/mnt/disk"},
                           "nodeAffinity": {}});
        assert_eq!(
            messages(&validate_volume(&volume(local))),
            ["spec.nodeAffinity.required: Required value: must specify required node constraints"]
        );
        let unpinned =
            json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "local": {"path": "/mnt/disk"}});
        assert_eq!(
            messages(&validate_volume(&volume(unpinned))),
            ["spec.nodeAffinity: Required value: Local volume requires node affinity"]
        );
        let root = json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "//"},
                          "persistentVolumeReclaimPolicy": "Recycle"});
        assert_eq!(
            messages(&validate_volume(&volume(root))),
            ["spec.persistentVolumeReclaimPolicy: Forbidden: may not be 'recycle' for a hostPath mount of '/'"]
        );
    }

    #[test]
    fn the_source_mode_and_affinity_never_change() {
        let old = volume(provisioned());
        let mut bound = provisioned();
        bound["claimRef"]["uid"] = json!("u2");
        bound["persistentVolumeReclaimPolicy"] = json!("Retain");
        assert!(validate_volume_update(&volume(bound), &old).is_empty(), "claimRef and reclaim policy may change");
        let mut moved = provisioned();
        moved["hostPath"]["path"] = json!("/elsewhere");
        moved["volumeMode"] = json!("Block");
        moved["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] = json!(["node-2"]);
        let found = messages(&validate_volume_update(&volume(moved), &old));
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with(
            "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation\n- hostPath:"
        ));
        assert_eq!(found[1], "volumeMode: Invalid value: \"Block\": field is immutable");
        assert!(found[2].starts_with("nodeAffinity: Invalid value: {\"required\""));
    }

    #[test]
    fn inline_specs() {
        let mut errors = FieldErrors::default();
        let inline =
            json!({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/x"}});
        volume_spec(&mut errors, &Path::new("spec.source.inlineVolumeSpec"), &inline, true);
        assert_eq!(
            messages(&errors),
            [
                "spec.source.inlineVolumeSpec.capacity: Forbidden: may not be specified in the context of inline volumes",
                "spec.source.inlineVolumeSpec.csi: Required value: has to be specified in the context of inline volumes",
            ]
        );
    }
}
