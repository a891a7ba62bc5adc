//! A StatefulSet pod's stable identity and storage (upstream's `stateful_set_utils.go`): name
//! `<set>-<ordinal>`, hostname and subdomain, the pod-name/pod-index/revision labels, one PVC
//! per `volumeClaimTemplate` named `<template>-<set>-<ordinal>` referenced from the pod, and
//! the PVC owner references `persistentVolumeClaimRetentionPolicy` asks for.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::ResourceExt;

use crate::history::CONTROLLER_REVISION_HASH_LABEL;
use crate::owners;

/// The label holding a StatefulSet pod's name (services select single pods with it).
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// The label holding a StatefulSet pod's ordinal.
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

pub fn pod_name(set: &str, ordinal: i32) -> String {
    format!("{set}-{ordinal}")
}

pub fn claim_name(template: &str, set: &str, ordinal: i32) -> String {
    format!("{template}-{set}-{ordinal}")
}

/// The ordinal in a pod's name, if the name is `<set>-<integer>`.
pub fn ordinal_of(set: &str, pod: &str) -> Option<i32> {
    let suffix = pod.strip_prefix(set)?.strip_prefix('-')?;
    if suffix.is_empty() || !suffix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    suffix.parse().ok()
}

/// The pod at `ordinal` made from `template`, labelled with revision `revision`.
pub fn new_pod(set: &StatefulSet, template: &PodTemplateSpec, revision: &str, ordinal: i32) -> Pod {
    let name = pod_name(&set.name_any(), ordinal);
    let template_meta = template.metadata.clone().unwrap_or_default();
    let mut labels = template_meta.labels.unwrap_or_default();
    labels.insert(POD_NAME_LABEL.to_string(), name.clone());
    labels.insert(POD_INDEX_LABEL.to_string(), ordinal.to_string());
    labels.insert(CONTROLLER_REVISION_HASH_LABEL.to_string(), revision.to_string());
    let mut spec = template.spec.clone().unwrap_or_default();
    spec.hostname = Some(name.clone());
    spec.subdomain = set.spec.as_ref().and_then(|s| s.service_name.clone()).filter(|s| !s.is_empty());
    let claims = claim_templates(set);
    if !claims.is_empty() {
        let mut volumes: Vec<Volume> = spec.volumes.take().unwrap_or_default();
        for claim in claims {
            let template_name = claim.name_any();
            volumes.retain(|v| v.name != template_name);
            volumes.push(Volume {
                name: template_name.clone(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim_name(&template_name, &set.name_any(), ordinal),
                    read_only: None,
                }),
                ..Default::default()
            });
        }
        spec.volumes = Some(volumes);
    }
    Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: set.namespace(),
            labels: Some(labels),
            annotations: template_meta.annotations,
            owner_references: Some(vec![owners::controller_ref(set)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

fn claim_templates(set: &StatefulSet) -> &[PersistentVolumeClaim] {
    set.spec.as_ref().and_then(|s| s.volume_claim_templates.as_deref()).unwrap_or_default()
}

/// The PVCs the pod at `ordinal` uses, as they are created (before the pod).
pub fn new_claims(set: &StatefulSet, ordinal: i32) -> Vec<PersistentVolumeClaim> {
    let selector_labels: BTreeMap<String, String> =
        set.spec.as_ref().and_then(|s| s.selector.match_labels.clone()).unwrap_or_default();
    claim_templates(set)
        .iter()
        .map(|template| {
            let mut labels = template.metadata.labels.clone().unwrap_or_default();
            labels.extend(selector_labels.clone());
            PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(claim_name(&template.name_any(), &set.name_any(), ordinal)),
                    namespace: set.namespace(),
                    labels: Some(labels),
                    annotations: template.metadata.annotations.clone(),
                    ..Default::default()
                },
                spec: template.spec.clone(),
                status: None,
            }
        })
        .collect()
}

/// `persistentVolumeClaimRetentionPolicy` (both default to Retain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub delete_when_deleted: bool,
    pub delete_when_scaled: bool,
}

impl Retention {
    pub fn of(set: &StatefulSet) -> Self {
        let policy = set.spec.as_ref().and_then(|s| s.persistent_volume_claim_retention_policy.as_ref());
        let is_delete = |v: Option<&String>| v.is_some_and(|v| v == "Delete");
        Self {
            delete_when_deleted: is_delete(policy.and_then(|p| p.when_deleted.as_ref())),
            delete_when_scaled: is_delete(policy.and_then(|p| p.when_scaled.as_ref())),
        }
    }
}

fn controller_ref(api_version: &str, kind: &str, name: String, uid: String) -> OwnerReference {
    OwnerReference {
        api_version: api_version.into(),
        kind: kind.into(),
        name,
        uid,
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The owner references a claim should have (upstream's `updateClaimOwnerRefForSetAndPod`):
/// the set controls it when claims go with the set, the pod when its ordinal is scaled away
/// and claims go with scale-down; references to others are kept, and nothing is added when
/// another controller owns the claim. `None` when nothing changes.
pub fn claim_owner_refs(
    existing: &[OwnerReference],
    set: &StatefulSet,
    pod: Option<&Pod>,
    scaled_down: bool,
    retention: Retention,
) -> Option<Vec<OwnerReference>> {
    let set_uid = set.uid().unwrap_or_default();
    let pod_uid = pod.and_then(|p| p.uid());
    let ours = |r: &OwnerReference| r.uid == set_uid || Some(&r.uid) == pod_uid.as_ref();
    let mut refs: Vec<OwnerReference> = existing.iter().filter(|r| !ours(r)).cloned().collect();
    let foreign_controller = refs.iter().any(|r| r.controller == Some(true));
    if !foreign_controller {
        let want_pod = retention.delete_when_scaled && scaled_down;
        let want_set = retention.delete_when_deleted && !want_pod;
        if want_set {
            refs.push(controller_ref("apps/v1", "StatefulSet", set.name_any(), set_uid.clone()));
        }
        if let (true, Some(pod), Some(uid)) = (want_pod, pod, pod_uid.clone()) {
            refs.push(controller_ref("v1", "Pod", pod.name_any(), uid));
        }
    }
    (refs != existing).then_some(refs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec};
    use k8s_openapi::api::core::v1::{Container, PersistentVolumeClaimSpec, PodSpec};

    fn set(policy: Option<(&str, &str)>) -> StatefulSet {
        StatefulSet {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("ns".into()),
                uid: Some("set-uid".into()),
                ..Default::default()
            },
            spec: Some(StatefulSetSpec {
                service_name: Some("nginx".into()),
                selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                    match_labels: Some([("app".to_string(), "web".to_string())].into()),
                    ..Default::default()
                },
                template: template(),
                volume_claim_templates: Some(vec![PersistentVolumeClaim {
                    metadata: ObjectMeta { name: Some("www".into()), ..Default::default() },
                    spec: Some(PersistentVolumeClaimSpec::default()),
                    status: None,
                }]),
                persistent_volume_claim_retention_policy: policy.map(|(deleted, scaled)| {
                    StatefulSetPersistentVolumeClaimRetentionPolicy {
                        when_deleted: Some(deleted.into()),
                        when_scaled: Some(scaled.into()),
                    }
                }),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn template() -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some([("app".to_string(), "web".to_string())].into()),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container { name: "c".into(), ..Default::default() }],
                volumes: Some(vec![Volume { name: "www".into(), ..Default::default() }]),
                ..Default::default()
            }),
        }
    }

    fn pod_with_uid(uid: &str) -> Pod {
        Pod {
            metadata: ObjectMeta { name: Some("web-3".into()), uid: Some(uid.into()), ..Default::default() },
            ..Default::default()
        }
    }

    #[test]
    fn ordinals_parse_only_from_set_pod_names() {
        assert_eq!(ordinal_of("web", "web-0"), Some(0));
        assert_eq!(ordinal_of("web", "web-12"), Some(12));
        assert_eq!(ordinal_of("web", "web-x"), None);
        assert_eq!(ordinal_of("web", "webapp-1"), None);
        assert_eq!(ordinal_of("web", "web-"), None);
        assert_eq!(ordinal_of("web-a", "web-a-3"), Some(3));
    }

    #[test]
    fn pods_get_a_stable_identity_and_their_claims() {
        let pod = new_pod(&set(None), &template(), "web-abc", 2);
        assert_eq!(pod.name_any(), "web-2");
        let labels = pod.labels();
        assert_eq!(labels[POD_NAME_LABEL], "web-2");
        assert_eq!(labels[POD_INDEX_LABEL], "2");
        assert_eq!(labels[CONTROLLER_REVISION_HASH_LABEL], "web-abc");
        assert_eq!(labels["app"], "web");
        let spec = pod.spec.unwrap();
        assert_eq!(spec.hostname.as_deref(), Some("web-2"));
        assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
        let volumes = spec.volumes.unwrap();
        assert_eq!(volumes.len(), 1, "the template's volume of the same name is replaced");
        assert_eq!(volumes[0].persistent_volume_claim.as_ref().unwrap().claim_name, "www-web-2");
        assert_eq!(owners::controller_of(&pod.metadata).unwrap().uid, "set-uid");

        let claims = new_claims(&set(None), 2);
        assert_eq!(claims.len(), 1);
        assert_eq!(claims[0].name_any(), "www-web-2");
        assert_eq!(claims[0].labels()["app"], "web");
    }

    #[test]
    fn retain_retain_removes_set_and_pod_references() {
        let s = set(Some(("Retain", "Retain")));
        let existing = vec![controller_ref("apps/v1", "StatefulSet", "web".into(), "set-uid".into())];
        assert_eq!(claim_owner_refs(&existing, &s, Some(&pod_with_uid("p")), false, Retention::of(&s)), Some(vec![]));
        assert_eq!(claim_owner_refs(&[], &s, Some(&pod_with_uid("p")), true, Retention::of(&s)), None);
    }

    #[test]
    fn delete_when_deleted_makes_the_set_own_the_claim() {
        let s = set(Some(("Delete", "Retain")));
        let refs = claim_owner_refs(&[], &s, None, false, Retention::of(&s)).unwrap();
        assert_eq!(refs.len(), 1);
        assert_eq!((refs[0].kind.as_str(), refs[0].uid.as_str()), ("StatefulSet", "set-uid"));
        assert_eq!(refs[0].controller, Some(true));
        assert_eq!(
            claim_owner_refs(&refs, &s, None, true, Retention::of(&s)),
            None,
            "scale-down keeps the set's reference"
        );
    }

    #[test]
    fn another_controller_keeps_the_claim() {
        let s = set(Some(("Delete", "Delete")));
        let foreign = vec![controller_ref("v1", "Other", "x".into(), "other".into())];
        assert_eq!(claim_owner_refs(&foreign, &s, None, false, Retention::of(&s)), None);
    }

    #[test]
    fn delete_when_scaled_hands_condemned_claims_to_their_pod() {
        let s = set(Some(("Delete", "Delete")));
        let in_range = claim_owner_refs(&[], &s, Some(&pod_with_uid("p")), false, Retention::of(&s)).unwrap();
        assert_eq!(in_range.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(), vec!["StatefulSet"]);
        let condemned = claim_owner_refs(&in_range, &s, Some(&pod_with_uid("p")), true, Retention::of(&s)).unwrap();
        assert_eq!(condemned.iter().map(|r| (r.kind.as_str(), r.uid.as_str())).collect::<Vec<_>>(), vec![("Pod", "p")]);

        let only_scaled = set(Some(("Retain", "Delete")));
        assert_eq!(
            claim_owner_refs(&[], &only_scaled, Some(&pod_with_uid("p")), false, Retention::of(&only_scaled)),
            None
        );
        assert_eq!(
            claim_owner_refs(&[], &only_scaled, Some(&pod_with_uid("p")), true, Retention::of(&only_scaled))
                .unwrap()
                .len(),
            1
        );
    }
}
