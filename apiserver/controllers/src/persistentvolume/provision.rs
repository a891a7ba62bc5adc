//! The built-in dynamic provisioner (`kybernetes.io/local-path`): a directory on the node the
//! scheduler picked for the claim's first pod, as a hostPath volume pinned to that node. The
//! node agent creates the directory when a pod mounts it (`DirectoryOrCreate`). Also the
//! default StorageClass that uses it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, ObjectReference, PersistentVolume,
    PersistentVolumeClaim, PersistentVolumeSpec, VolumeNodeAffinity,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;

use crate::resourcequota::quantity::Quantity;

/// Our provisioner's name (`StorageClass.provisioner`).
pub const PROVISIONER: &str = "kybernetes.io/local-path";
/// The default class created when the cluster has none.
pub const DEFAULT_CLASS: &str = "standard";
/// Where provisioned volumes live on their node.
pub const VOLUME_ROOT: &str = "/var/lib/kybernetes/volumes";

pub const ANN_DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
pub const ANN_BETA_DEFAULT_CLASS: &str = "storageclass.beta.kubernetes.io/is-default-class";
pub const ANN_PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
pub const ANN_BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
pub const ANN_BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
pub const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
pub const ANN_STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
pub const ANN_BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// Whether a class is marked default (either annotation, value `"true"`).
pub fn is_default_class(class: &StorageClass) -> bool {
    let annotations = class.metadata.annotations.as_ref();
    [ANN_DEFAULT_CLASS, ANN_BETA_DEFAULT_CLASS]
        .iter()
        .any(|a| annotations.and_then(|m| m.get(*a)).is_some_and(|v| v == "true"))
}

/// The default class among `classes`: the newest marked one, then by name (upstream's
/// admission picks the newest when several are marked).
pub fn default_class<'a>(classes: impl Iterator<Item = &'a StorageClass>) -> Option<&'a StorageClass> {
    classes.filter(|c| is_default_class(c)).max_by(|a, b| {
        let created = |c: &StorageClass| c.metadata.creation_timestamp.as_ref().map(|t| t.0);
        created(a).cmp(&created(b)).then_with(|| b.name_any().cmp(&a.name_any()))
    })
}

/// The class created when the cluster has no default one.
pub fn standard_class() -> StorageClass {
    StorageClass {
        metadata: ObjectMeta {
            name: Some(DEFAULT_CLASS.to_string()),
            annotations: Some([(ANN_DEFAULT_CLASS.to_string(), "true".to_string())].into()),
            ..Default::default()
        },
        provisioner: PROVISIONER.to_string(),
        reclaim_policy: Some("Delete".to_string()),
        volume_binding_mode: Some("WaitForFirstConsumer".to_string()),
        ..Default::default()
    }
}

/// Whether claims of the class wait for their first pod to be scheduled.
pub fn waits_for_first_consumer(class: &StorageClass) -> bool {
    class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer")
}

/// The name of the volume provisioned for a claim (upstream `pvc-<claim uid>`).
pub fn volume_name(claim: &PersistentVolumeClaim) -> String {
    format!("pvc-{}", claim.metadata.uid.as_deref().unwrap_or_default())
}

/// The volume provisioned for `claim` of `class`, pre-bound to the claim, on `node` when the
/// scheduler chose one.
pub fn provisioned_volume(claim: &PersistentVolumeClaim, class: &StorageClass, node: Option<&str>) -> PersistentVolume {
    let name = volume_name(claim);
    let spec = claim.spec.clone().unwrap_or_default();
    let request = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| Quantity::parse_or_zero(&q.0).to_string())
        .unwrap_or_else(|| "0".to_string());
    let node_affinity = node.map(|node| VolumeNodeAffinity {
        required: Some(NodeSelector {
            node_selector_terms: vec![NodeSelectorTerm {
                match_expressions: Some(vec![NodeSelectorRequirement {
                    key: HOSTNAME_LABEL.to_string(),
                    operator: "In".to_string(),
                    values: Some(vec![node.to_string()]),
                }]),
                match_fields: None,
            }],
        }),
    });
    PersistentVolume {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            annotations: Some(BTreeMap::from([
                (ANN_PROVISIONED_BY.to_string(), PROVISIONER.to_string()),
                (ANN_BOUND_BY_CONTROLLER.to_string(), "yes".to_string()),
            ])),
            ..Default::default()
        },
        spec: Some(PersistentVolumeSpec {
            capacity: Some(
                [("storage".to_string(), k8s_openapi::apimachinery::pkg::api::resource::Quantity(request))].into(),
            ),
            access_modes: spec.access_modes.clone(),
            volume_mode: spec.volume_mode.clone(),
            persistent_volume_reclaim_policy: Some(
                class.reclaim_policy.clone().unwrap_or_else(|| "Delete".to_string()),
            ),
            storage_class_name: Some(class.name_any()),
            mount_options: class.mount_options.clone(),
            claim_ref: Some(claim_reference(claim)),
            host_path: Some(HostPathVolumeSource {
                path: format!("{VOLUME_ROOT}/{name}"),
                type_: Some("DirectoryOrCreate".to_string()),
            }),
            node_affinity,
            ..Default::default()
        }),
        status: None,
    }
}

/// A volume's reference to its claim.
pub fn claim_reference(claim: &PersistentVolumeClaim) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".to_string()),
        kind: Some("PersistentVolumeClaim".to_string()),
        name: claim.metadata.name.clone(),
        namespace: claim.metadata.namespace.clone(),
        uid: claim.metadata.uid.clone(),
        resource_version: claim.metadata.resource_version.clone(),
        field_path: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn provisioned_volume_is_pre_bound_and_pinned_to_the_node() {
        let claim: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": "data", "namespace": "ns", "uid": "1234"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1024Mi"}}},
        }))
        .unwrap();
        let mut class = standard_class();
        class.reclaim_policy = Some("Retain".into());
        let volume = provisioned_volume(&claim, &class, Some("node-1"));
        let value = serde_json::to_value(&volume).unwrap();
        assert_eq!(value["metadata"]["name"], "pvc-1234");
        assert_eq!(value["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"], "kybernetes.io/local-path");
        assert_eq!(value["spec"]["capacity"]["storage"], "1Gi");
        assert_eq!(value["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert_eq!(value["spec"]["storageClassName"], "standard");
        assert_eq!(value["spec"]["claimRef"]["uid"], "1234");
        assert_eq!(value["spec"]["claimRef"]["name"], "data");
        assert_eq!(value["spec"]["hostPath"]["path"], "/var/lib/kybernetes/volumes/pvc-1234");
        let term = &value["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0];
        assert_eq!(term["key"], "kubernetes.io/hostname");
        assert_eq!(term["values"], json!(["node-1"]));
        assert!(provisioned_volume(&claim, &class, None).spec.unwrap().node_affinity.is_none());
    }

    #[test]
    fn default_class_detection() {
        let standard = standard_class();
        assert!(is_default_class(&standard));
        assert!(waits_for_first_consumer(&standard));
        let mut plain = standard_class();
        plain.metadata.name = Some("plain".into());
        plain.metadata.annotations = Some([(ANN_DEFAULT_CLASS.to_string(), "false".to_string())].into());
        assert!(!is_default_class(&plain));
        let classes = [plain.clone(), standard.clone()];
        assert_eq!(default_class(classes.iter()).and_then(|c| c.metadata.name.clone()).as_deref(), Some("standard"));
        assert!(default_class([plain].iter()).is_none());
    }
}
