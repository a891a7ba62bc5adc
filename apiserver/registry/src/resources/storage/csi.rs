//! The CSI objects of `storage.k8s.io`: CSIDrivers (their defaulted booleans set, a known
//! fsGroup policy and lifecycle modes; `attachRequired` and the modes never change), CSINodes
//! (drivers with distinct names, node IDs, topology keys; a driver entry never changes),
//! VolumeAttachments (an attacher, exactly one source, a node; the spec never changes) and
//! CSIStorageCapacities (a class and topology that never change, a non-negative capacity).

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use serde_json::{Map, Value, json};

use super::csi_driver_name;
use super::volumes::volume_spec;
use crate::object::Object;
use crate::resources::checks::quantity::{self, Quantity};
use crate::resources::checks::selectors::label_selector;
use crate::resources::checks::{self, field, items, text};

/// `supportedFSGroupPolicy`, sorted.
const FS_GROUP_POLICIES: &[&str] = &["File", "None", "ReadWriteOnceWithFSType"];
/// The volume lifecycle modes, in upstream's order.
const LIFECYCLE_MODES: &[&str] = &["Persistent", "Ephemeral"];
/// The longest node ID a CSINode driver may report.
const MAX_NODE_ID: usize = 256;

fn spec(obj: &Object) -> &Value {
    obj.get("spec").unwrap_or(&Value::Null)
}

/// `SetDefaults_CSIDriver`.
pub fn default_driver(obj: &mut Object) {
    let spec = obj.entry("spec").or_insert_with(|| json!({}));
    let Some(spec) = spec.as_object_mut() else { return };
    let defaults = [
        ("attachRequired", json!(true)),
        ("podInfoOnMount", json!(false)),
        ("storageCapacity", json!(false)),
        ("fsGroupPolicy", json!("ReadWriteOnceWithFSType")),
        ("requiresRepublish", json!(false)),
        ("seLinuxMount", json!(false)),
    ];
    for (key, default) in defaults {
        if spec.get(key).is_none_or(Value::is_null) {
            spec.insert(key.into(), default);
        }
    }
    if spec.get("volumeLifecycleModes").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        spec.insert("volumeLifecycleModes".into(), json!(["Persistent"]));
    }
}

/// storage.k8s.io/v1 CSIDriver, on create.
pub fn validate_driver(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let (spec, path) = (spec(obj), Path::new("spec"));
    // Upstream names `attachRequired`'s path `attachedRequired`.
    for (key, at) in [
        ("attachRequired", "attachedRequired"),
        ("podInfoOnMount", "podInfoOnMount"),
        ("storageCapacity", "storageCapacity"),
        ("seLinuxMount", "seLinuxMount"),
    ] {
        if field(spec, key).is_none() {
            errors.push(FieldError::required(path.child(at), ""));
        }
    }
    if let Some(policy) = field(spec, "fsGroupPolicy") {
        checks::one_of(
            &mut errors,
            &path.child("fsGroupPolicy"),
            policy.as_str().unwrap_or_default(),
            FS_GROUP_POLICIES,
        );
    }
    let mut audiences = Vec::new();
    for (i, request) in items(spec, "tokenRequests").iter().enumerate() {
        let at = path.child("tokenRequests").index(i);
        let audience = text(request, "audience");
        if audiences.contains(&audience) {
            errors.push(FieldError::duplicate(at.child("audience"), audience));
            continue;
        }
        audiences.push(audience);
        if let Some(seconds) = request.get("expirationSeconds").and_then(Value::as_i64) {
            if seconds < 600 {
                errors.push(FieldError::invalid(
                    at.child("expirationSeconds"),
                    seconds,
                    "may not specify a duration less than 10 minutes",
                ));
            }
            if seconds > 1 << 32 {
                errors.push(FieldError::invalid(
                    at.child("expirationSeconds"),
                    seconds,
                    "may not specify a duration larger than 2^32 seconds",
                ));
            }
        }
    }
    for mode in items(spec, "volumeLifecycleModes") {
        checks::one_of(
            &mut errors,
            &path.child("volumeLifecycleModes"),
            mode.as_str().unwrap_or_default(),
            LIFECYCLE_MODES,
        );
    }
    if let Some(period) = spec.get("nodeAllocatableUpdatePeriodSeconds").and_then(Value::as_i64)
        && period < 10
    {
        errors.push(FieldError::invalid(
            path.child("nodeAllocatableUpdatePeriodSeconds"),
            period,
            "must be greater than or equal to 10 seconds",
        ));
    }
    errors
}

/// storage.k8s.io/v1 CSIDriver, on update.
pub fn validate_driver_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate_driver(new);
    let (new_spec, old_spec) = (spec(new), spec(old));
    for (key, at) in [("attachRequired", "attachedRequired"), ("volumeLifecycleModes", "volumeLifecycleModes")] {
        checks::immutable(&mut errors, &Path::new("spec").child(at), new_spec.get(key), old_spec.get(key));
    }
    errors
}

/// storage.k8s.io/v1 CSINode, on create.
pub fn validate_node(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let path = Path::new("spec").child("drivers");
    let mut names_seen = Vec::new();
    for (i, driver) in items(spec(obj), "drivers").iter().enumerate() {
        let at = path.index(i);
        let name = text(driver, "name");
        csi_driver_name(&mut errors, &at.child("name"), name);
        let node_id = text(driver, "nodeID");
        if node_id.is_empty() {
            errors.push(FieldError::required(at.child("nodeID"), ""));
        }
        if node_id.len() > MAX_NODE_ID {
            errors.push(FieldError::invalid(
                at.child("nodeID"),
                node_id,
                format!("must be {MAX_NODE_ID} characters or less"),
            ));
        }
        checks::non_negative(
            &mut errors,
            &at.child("allocatable").child("count"),
            driver.pointer("/allocatable/count"),
        );
        if names_seen.contains(&name) {
            errors.push(FieldError::duplicate(at.child("name"), name));
        }
        names_seen.push(name);
        let mut keys = Vec::new();
        for key in items(driver, "topologyKeys") {
            let key = key.as_str().unwrap_or_default();
            if key.is_empty() {
                errors.push(FieldError::required(&at, ""));
            }
            if keys.contains(&key) {
                errors.push(FieldError::duplicate(&at, key));
            }
            keys.push(key);
            checks::qualified_name(&mut errors, &at, key);
        }
    }
    errors
}

/// storage.k8s.io/v1 CSINode, on update: a driver entry (but its allocatable count) stays as
/// it was registered.
pub fn validate_node_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate_node(new);
    let without_allocatable = |driver: &Value| {
        let mut driver: Map<String, Value> = driver.as_object().cloned().unwrap_or_default();
        driver.remove("allocatable");
        Value::Object(driver)
    };
    for old_driver in items(spec(old), "drivers") {
        for new_driver in items(spec(new), "drivers").iter().filter(|d| text(d, "name") == text(old_driver, "name")) {
            checks::immutable(
                &mut errors,
                &Path::new("spec").child("drivers"),
                Some(&without_allocatable(new_driver)),
                Some(&without_allocatable(old_driver)),
            );
        }
    }
    errors
}

/// storage.k8s.io/v1 VolumeAttachment, on create.
pub fn validate_attachment(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let (spec, path) = (spec(obj), Path::new("spec"));
    let attacher = text(spec, "attacher");
    if attacher.is_empty() {
        errors.push(FieldError::required(path.child("attacher"), ""));
    }
    let source_path = path.child("source");
    let source = spec.get("source").unwrap_or(&Value::Null);
    let one_of = "must specify exactly one of inlineVolumeSpec and persistentVolumeName";
    match (field(source, "inlineVolumeSpec"), field(source, "persistentVolumeName")) {
        (None, None) => errors.push(FieldError::required(&source_path, one_of)),
        (Some(_), Some(_)) => errors.push(FieldError::forbidden(&source_path, one_of)),
        (None, Some(name)) if name.as_str().unwrap_or_default().is_empty() => errors.push(FieldError::required(
            source_path.child("persistentVolumeName"),
            "must specify non empty persistentVolumeName",
        )),
        (None, Some(_)) => {}
        (Some(inline), None) => volume_spec(&mut errors, &source_path.child("inlineVolumeSpec"), inline, true),
    }
    let node = text(spec, "nodeName");
    checks::invalid_each(&mut errors, &path.child("nodeName"), node, names::dns1123_subdomain(node));
    // v1's own rules: the attacher is a CSI driver name, the volume a valid PV name.
    csi_driver_name(&mut errors, &path.child("attacher"), attacher);
    if let Some(name) = field(source, "persistentVolumeName").and_then(Value::as_str) {
        checks::dns1123_subdomain(&mut errors, &source_path.child("persistentVolumeName"), name);
    }
    errors
}

/// storage.k8s.io/v1 VolumeAttachment, on update: the spec never changes.
pub fn validate_attachment_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate_attachment(new);
    checks::immutable(&mut errors, &Path::new("spec"), new.get("spec"), old.get("spec"));
    errors
}

/// storage.k8s.io/v1 CSIStorageCapacity, on create.
pub fn validate_capacity(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    label_selector(&mut errors, &Path::new("nodeTopology"), obj.get("nodeTopology"));
    let class = obj.get("storageClassName").and_then(Value::as_str).unwrap_or_default();
    checks::dns1123_subdomain(&mut errors, &Path::new("storageClassName"), class);
    if let Some(capacity) = obj.get("capacity").filter(|c| !c.is_null()) {
        let path = Path::new("capacity");
        if let Some(capacity) = Quantity::read(capacity, &path, &mut errors) {
            quantity::non_negative(&mut errors, &path, &capacity);
        }
    }
    errors
}

/// storage.k8s.io/v1 CSIStorageCapacity, on update: the class and topology never change.
pub fn validate_capacity_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate_capacity(new);
    for key in ["nodeTopology", "storageClassName"] {
        checks::immutable(&mut errors, &Path::new(key), new.get(key), old.get(key));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::checks::testing::messages;

    fn object(value: Value) -> Object {
        let Value::Object(obj) = value else { panic!("an object") };
        obj
    }

    #[test]
    fn drivers() {
        let mut driver = object(json!({"metadata": {"name": "ebs.csi.aws.com"}, "spec": {}}));
        default_driver(&mut driver);
        assert_eq!(driver["spec"]["volumeLifecycleModes"], json!(["Persistent"]));
        assert!(validate_driver(&driver).is_empty());
        let mut bad = driver.clone();
        bad["spec"]["fsGroupPolicy"] = json!("Always");
        bad["spec"]["volumeLifecycleModes"] = json!(["Persistent", "Forever"]);
        bad["spec"]["tokenRequests"] = json!([{"audience": "a", "expirationSeconds": 60}, {"audience": "a"}]);
        assert_eq!(
            messages(&validate_driver(&bad)),
            [
                "spec.fsGroupPolicy: Unsupported value: \"Always\": supported values: \"File\", \"None\", \"ReadWriteOnceWithFSType\"",
                "spec.tokenRequests[0].expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes",
                "spec.tokenRequests[1].audience: Duplicate value: \"a\"",
                "spec.volumeLifecycleModes: Unsupported value: \"Forever\": supported values: \"Persistent\", \"Ephemeral\"",
            ]
        );
        let mut detached = driver.clone();
        detached["spec"]["attachRequired"] = json!(false);
        assert_eq!(
            messages(&validate_driver_update(&detached, &driver)),
            ["spec.attachedRequired: Invalid value: false: field is immutable"]
        );
    }

    #[test]
    fn nodes() {
        let node = object(json!({"spec": {"drivers": [{"name": "ebs.csi.aws.com", "nodeID": "i-123",
            "topologyKeys": ["topology.kubernetes.io/zone"], "allocatable": {"count": 25}}]}}));
        assert!(validate_node(&node).is_empty());
        let bad = object(json!({"spec": {"drivers": [{"name": "d.io", "nodeID": ""},
            {"name": "d.io", "nodeID": "n", "topologyKeys": ["k", "k"]}]}}));
        assert_eq!(
            messages(&validate_node(&bad)),
            [
                "spec.drivers[0].nodeID: Required value",
                "spec.drivers[1].name: Duplicate value: \"d.io\"",
                "spec.drivers[1]: Duplicate value: \"k\"",
            ]
        );
        let mut moved = node.clone();
        moved["spec"]["drivers"][0]["nodeID"] = json!("i-456");
        assert_eq!(validate_node_update(&moved, &node).len(), 1);
        let mut grown = node.clone();
        grown["spec"]["drivers"][0]["allocatable"]["count"] = json!(30);
        assert!(validate_node_update(&grown, &node).is_empty());
    }

    #[test]
    fn attachments() {
        let attachment = object(json!({"spec": {"attacher": "ebs.csi.aws.com", "nodeName": "node-1",
            "source": {"persistentVolumeName": "pv-1"}}}));
        assert!(validate_attachment(&attachment).is_empty());
        let none = object(json!({"spec": {"attacher": "ebs.csi.aws.com", "nodeName": "node-1", "source": {}}}));
        assert_eq!(
            messages(&validate_attachment(&none)),
            ["spec.source: Required value: must specify exactly one of inlineVolumeSpec and persistentVolumeName"]
        );
        let mut moved = attachment.clone();
        moved["spec"]["nodeName"] = json!("node-2");
        let found = messages(&validate_attachment_update(&moved, &attachment));
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("spec: Invalid value: {") && found[0].ends_with("field is immutable"));
    }

    #[test]
    fn capacities() {
        let capacity = object(json!({"storageClassName": "standard", "capacity": "100Gi",
            "nodeTopology": {"matchLabels": {"topology.kubernetes.io/zone": "a"}}}));
        assert!(validate_capacity(&capacity).is_empty());
        let mut negative = capacity.clone();
        negative["capacity"] = json!("-1Gi");
        negative["storageClassName"] = json!("other");
        assert_eq!(
            messages(&validate_capacity_update(&negative, &capacity)),
            [
                "capacity: Invalid value: \"-1Gi\": must be greater than or equal to 0",
                "storageClassName: Invalid value: \"other\": field is immutable",
            ]
        );
    }
}
