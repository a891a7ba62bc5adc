//! `storage.k8s.io`: storage classes, CSI drivers, CSI nodes, volume attachments, CSI storage
//! capacities.

use serde_json::{Value, json};

use super::{AGE, Column, NAME, Printer, age, flag, items, name, object, text};

pub(super) static STORAGE_CLASSES: Printer = Printer::new(
    &[
        NAME,
        Column::string("Provisioner", "Provisioner indicates the type of the provisioner."),
        Column::string("ReclaimPolicy", "The reclaim policy of volumes this class provisions."),
        Column::string("VolumeBindingMode", "When volumes should be provisioned and bound."),
        Column::string("AllowVolumeExpansion", "Whether the storage class allows volume expand."),
        AGE,
    ],
    |obj, now| {
        let or = |pointer: &str, default: &'static str| match text(obj, pointer) {
            "" => default.to_string(),
            value => value.to_string(),
        };
        vec![
            // The default class is marked in the NAME cell itself.
            json!(if is_default(obj) {
                format!("{} (default)", text(obj, "/metadata/name"))
            } else {
                text(obj, "/metadata/name").to_string()
            }),
            json!(text(obj, "/provisioner")),
            json!(or("/reclaimPolicy", "Delete")),
            json!(or("/volumeBindingMode", "Immediate")),
            json!(flag(obj, "/allowVolumeExpansion", false)),
            age(obj, now),
        ]
    },
);

/// Whether a storage class is annotated as the default one (GA or beta annotation).
fn is_default(obj: &Value) -> bool {
    let annotations = object(obj, "/metadata/annotations");
    ["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"]
        .iter()
        .any(|key| annotations.and_then(|a| a.get(*key)).and_then(Value::as_str) == Some("true"))
}

pub(super) static CSI_DRIVERS: Printer = Printer::new(
    &[
        NAME,
        Column::boolean("AttachRequired", "Whether the driver needs an attach operation."),
        Column::boolean("PodInfoOnMount", "Whether the driver needs pod information during mount."),
        Column::boolean("StorageCapacity", "Whether the driver reports storage capacity."),
        Column::string("TokenRequests", "The audiences of the service account tokens the driver receives."),
        Column::boolean("RequiresRepublish", "Whether NodePublishVolume is called periodically."),
        Column::string("Modes", "The volume modes this driver supports."),
        AGE,
    ],
    |obj, now| {
        let token_requests = match obj.pointer("/spec/tokenRequests").and_then(Value::as_array) {
            Some(requests) => requests.iter().map(|r| text(r, "/audience")).collect::<Vec<_>>().join(","),
            None => "<unset>".to_string(),
        };
        let modes = match obj.pointer("/spec/volumeLifecycleModes").and_then(Value::as_array) {
            Some(modes) if modes.is_empty() => "<none>".to_string(),
            Some(modes) => modes.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
            None => "Persistent".to_string(),
        };
        vec![
            name(obj),
            json!(flag(obj, "/spec/attachRequired", true)),
            json!(flag(obj, "/spec/podInfoOnMount", false)),
            json!(flag(obj, "/spec/storageCapacity", false)),
            json!(token_requests),
            json!(flag(obj, "/spec/requiresRepublish", false)),
            json!(modes),
            age(obj, now),
        ]
    },
);

pub(super) static CSI_NODES: Printer = Printer::new(
    &[NAME, Column::integer("Drivers", "Drivers indicates the number of CSI drivers registered on the node"), AGE],
    |obj, now| vec![name(obj), json!(items(obj, "/spec/drivers").len()), age(obj, now)],
);

pub(super) static VOLUME_ATTACHMENTS: Printer = Printer::new(
    &[
        NAME,
        Column::string("Attacher", "The name of the volume driver that must handle this request.").name_format(),
        Column::string("PV", "The name of the persistent volume to attach."),
        Column::string("Node", "The node that the volume should be attached to."),
        Column::boolean("Attached", "Whether the volume is successfully attached."),
        AGE,
    ],
    |obj, now| {
        vec![
            name(obj),
            json!(text(obj, "/spec/attacher")),
            json!(text(obj, "/spec/source/persistentVolumeName")),
            json!(text(obj, "/spec/nodeName")),
            json!(flag(obj, "/status/attached", false)),
            age(obj, now),
        ]
    },
);

/// CSI storage capacities have no AGE column upstream.
pub(super) static CSI_STORAGE_CAPACITIES: Printer = Printer::new(
    &[
        NAME,
        Column::string("StorageClassName", "The name of the StorageClass that the reported capacity applies to."),
        Column::string("Capacity", "The value reported by the CSI driver in its GetCapacityResponse."),
    ],
    |obj, _| {
        let capacity = match obj.get("capacity") {
            Some(Value::String(q)) => q.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => "<unset>".to_string(),
        };
        vec![name(obj), json!(text(obj, "/storageClassName")), json!(capacity)]
    },
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{cells, headers};

    const GROUP: &str = "storage.k8s.io";

    #[test]
    fn storage_classes_mark_the_default() {
        assert_eq!(
            headers(GROUP, "storageclasses"),
            ["Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode", "AllowVolumeExpansion", "Age"]
        );
        let default = json!({"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"});
        assert_eq!(
            cells(GROUP, "storageclasses", default),
            json!([
                "standard (default)",
                "rancher.io/local-path",
                "Delete",
                "WaitForFirstConsumer",
                false,
                "<unknown>"
            ])
        );
        let other = json!({"metadata": {"name": "fast"}, "provisioner": "p", "reclaimPolicy": "Retain", "allowVolumeExpansion": true});
        assert_eq!(
            cells(GROUP, "storageclasses", other),
            json!(["fast", "p", "Retain", "Immediate", true, "<unknown>"])
        );
    }

    #[test]
    fn csi_objects_and_attachments() {
        assert_eq!(
            headers(GROUP, "csidrivers"),
            [
                "Name",
                "AttachRequired",
                "PodInfoOnMount",
                "StorageCapacity",
                "TokenRequests",
                "RequiresRepublish",
                "Modes",
                "Age"
            ]
        );
        let driver = json!({"metadata": {"name": "csi.example"}, "spec": {"attachRequired": false, "tokenRequests": [{"audience": "a"}, {"audience": "b"}],
            "volumeLifecycleModes": ["Persistent", "Ephemeral"]}});
        assert_eq!(
            cells(GROUP, "csidrivers", driver),
            json!(["csi.example", false, false, false, "a,b", false, "Persistent,Ephemeral", "<unknown>"])
        );
        let bare = json!({"metadata": {"name": "d"}, "spec": {}});
        assert_eq!(
            cells(GROUP, "csidrivers", bare),
            json!(["d", true, false, false, "<unset>", false, "Persistent", "<unknown>"])
        );
        let csi_node = json!({"metadata": {"name": "n1"}, "spec": {"drivers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(cells(GROUP, "csinodes", csi_node), json!(["n1", 2, "<unknown>"]));
        assert_eq!(headers(GROUP, "volumeattachments"), ["Name", "Attacher", "PV", "Node", "Attached", "Age"]);
        let attachment = json!({"metadata": {"name": "csi-1"}, "spec": {"attacher": "csi.example", "nodeName": "n1",
            "source": {"persistentVolumeName": "pv1"}}, "status": {"attached": true}});
        assert_eq!(
            cells(GROUP, "volumeattachments", attachment),
            json!(["csi-1", "csi.example", "pv1", "n1", true, "<unknown>"])
        );
        assert_eq!(headers(GROUP, "csistoragecapacities"), ["Name", "StorageClassName", "Capacity"]);
        let capacity = json!({"metadata": {"name": "c"}, "storageClassName": "fast", "capacity": "10Gi"});
        assert_eq!(cells(GROUP, "csistoragecapacities", capacity), json!(["c", "fast", "10Gi"]));
    }
}
