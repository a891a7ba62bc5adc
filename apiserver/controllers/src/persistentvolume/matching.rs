//! Which volume a claim binds to (upstream `FindMatchingVolume`): a volume already bound to
//! the claim wins; otherwise the smallest Available volume of the claim's class with enough
//! capacity, every requested access mode, the same volume mode, labels matching the claim's
//! selector and node affinity that admits the claim's node.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, PersistentVolume, PersistentVolumeClaim};

use crate::resourcequota::quantity::Quantity;
use crate::selectors;

/// The beta annotations that name a class before `storageClassName` existed.
pub const BETA_CLAIM_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// The class a claim asks for: `None` when unset (the default class applies), `Some("")`
/// for "no class".
pub fn claim_class(claim: &PersistentVolumeClaim) -> Option<String> {
    if let Some(class) = claim.metadata.annotations.as_ref().and_then(|a| a.get(BETA_CLAIM_CLASS)) {
        return Some(class.clone());
    }
    claim.spec.as_ref().and_then(|s| s.storage_class_name.clone())
}

/// The class of a volume (`""` for none).
pub fn volume_class(volume: &PersistentVolume) -> String {
    if let Some(class) = volume.metadata.annotations.as_ref().and_then(|a| a.get(BETA_CLAIM_CLASS)) {
        return class.clone();
    }
    volume.spec.as_ref().and_then(|s| s.storage_class_name.clone()).unwrap_or_default()
}

/// The storage a claim requests.
pub fn requested(claim: &PersistentVolumeClaim) -> Quantity {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| Quantity::parse_or_zero(&q.0))
        .unwrap_or_default()
}

/// The storage a volume offers.
pub fn capacity(volume: &PersistentVolume) -> Quantity {
    volume
        .spec
        .as_ref()
        .and_then(|s| s.capacity.as_ref())
        .and_then(|c| c.get("storage"))
        .map(|q| Quantity::parse_or_zero(&q.0))
        .unwrap_or_default()
}

/// The volume's `status.phase` (`Pending` when unset).
pub fn volume_phase(volume: &PersistentVolume) -> &str {
    volume.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Pending")
}

/// Whether the volume's claimRef names this claim (by namespace and name, and by uid when the
/// reference has one: a reference without uid is a user's pre-binding).
pub fn is_bound_to(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let Some(reference) = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else { return false };
    reference.name.as_deref() == claim.metadata.name.as_deref()
        && reference.namespace.as_deref() == claim.metadata.namespace.as_deref()
        && reference.uid.as_deref().is_none_or(|uid| uid.is_empty() || Some(uid) == claim.metadata.uid.as_deref())
}

fn volume_mode(mode: Option<&String>) -> &str {
    mode.map_or("Filesystem", String::as_str)
}

/// Whether the volume offers every access mode the claim requests.
pub fn has_access_modes(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let offered = volume.spec.as_ref().and_then(|s| s.access_modes.as_ref());
    claim
        .spec
        .as_ref()
        .and_then(|s| s.access_modes.as_ref())
        .into_iter()
        .flatten()
        .all(|mode| offered.is_some_and(|o| o.contains(mode)))
}

/// Whether the volume's node affinity admits a node with `labels` (and `name`).
pub fn node_affinity_admits(volume: &PersistentVolume, name: &str, labels: &BTreeMap<String, String>) -> bool {
    let Some(required) = volume.spec.as_ref().and_then(|s| s.node_affinity.as_ref()).and_then(|a| a.required.as_ref())
    else {
        return true;
    };
    required.node_selector_terms.iter().any(|term| {
        let fields: BTreeMap<String, String> = [("metadata.name".to_string(), name.to_string())].into();
        let by_label = term.match_expressions.iter().flatten().all(|r| requirement_holds(r, labels));
        let by_field = term.match_fields.iter().flatten().all(|r| requirement_holds(r, &fields));
        let empty = term.match_expressions.as_ref().is_none_or(Vec::is_empty)
            && term.match_fields.as_ref().is_none_or(Vec::is_empty);
        !empty && by_label && by_field
    })
}

fn requirement_holds(requirement: &NodeSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let value = labels.get(&requirement.key);
    let values = requirement.values.as_deref().unwrap_or_default();
    let number = |v: &str| v.parse::<i64>().ok();
    match requirement.operator.as_str() {
        "In" => value.is_some_and(|v| values.contains(v)),
        "NotIn" => value.is_none_or(|v| !values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => {
            matches!((value.and_then(|v| number(v)), values.first().and_then(|v| number(v))), (Some(a), Some(b)) if a > b)
        }
        "Lt" => {
            matches!((value.and_then(|v| number(v)), values.first().and_then(|v| number(v))), (Some(a), Some(b)) if a < b)
        }
        _ => false,
    }
}

/// The node a claim's volume must be reachable from: `(name, labels)`.
pub type Node<'a> = (&'a str, &'a BTreeMap<String, String>);

/// The volume for `claim` of class `class` among `volumes` (upstream `FindMatchingVolume`).
/// `delay_binding` is set for WaitForFirstConsumer classes: without `node` only a volume
/// already bound to the claim may be chosen.
pub fn best_match(
    claim: &PersistentVolumeClaim,
    class: &str,
    volumes: &[Arc<PersistentVolume>],
    node: Option<Node<'_>>,
    delay_binding: bool,
) -> Option<Arc<PersistentVolume>> {
    let wanted = requested(claim);
    let claim_mode = volume_mode(claim.spec.as_ref().and_then(|s| s.volume_mode.as_ref()));
    let selector = claim.spec.as_ref().and_then(|s| s.selector.as_ref());
    let mut smallest: Option<Arc<PersistentVolume>> = None;
    for volume in volumes {
        let spec = volume.spec.as_ref();
        let bound_here = is_bound_to(volume, claim);
        if spec.and_then(|s| s.claim_ref.as_ref()).is_some() && !bound_here {
            continue;
        }
        if capacity(volume) < wanted
            || volume_mode(spec.and_then(|s| s.volume_mode.as_ref())) != claim_mode
            || volume.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        let admits_node = node.is_none_or(|(name, labels)| node_affinity_admits(volume, name, labels));
        if bound_here {
            return admits_node.then(|| volume.clone());
        }
        if node.is_none() && delay_binding {
            continue;
        }
        let fits = volume_phase(volume) == "Available"
            && selector.is_none_or(|s| selectors::matches(Some(s), volume.metadata.labels.as_ref()))
            && volume_class(volume) == class
            && admits_node
            && has_access_modes(volume, claim);
        if fits && smallest.as_ref().is_none_or(|s| capacity(s) > capacity(volume)) {
            smallest = Some(volume.clone());
        }
    }
    smallest
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn volume(name: &str, size: &str, extra: serde_json::Value) -> Arc<PersistentVolume> {
        let mut spec =
            json!({"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], "storageClassName": "fast"});
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "labels": {"tier": name}},
                "spec": spec,
                "status": {"phase": "Available"},
            }))
            .unwrap(),
        )
    }

    fn claim(size: &str, extra: serde_json::Value) -> PersistentVolumeClaim {
        let mut spec = json!({"resources": {"requests": {"storage": size}}, "accessModes": ["ReadWriteOnce"], "storageClassName": "fast"});
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        serde_json::from_value(json!({"metadata": {"name": "data", "namespace": "ns", "uid": "u1"}, "spec": spec}))
            .unwrap()
    }

    fn chosen(claim: &PersistentVolumeClaim, volumes: &[Arc<PersistentVolume>]) -> Option<String> {
        best_match(claim, &claim_class(claim).unwrap_or_default(), volumes, None, false)
            .and_then(|v| v.metadata.name.clone())
    }

    #[test]
    fn smallest_fitting_volume_of_the_class_wins() {
        let volumes = [
            volume("big", "10Gi", json!({})),
            volume("small", "1Gi", json!({})),
            volume("medium", "5Gi", json!({})),
            volume("other-class", "2Gi", json!({"storageClassName": "slow"})),
            volume("read-many", "2Gi", json!({"accessModes": ["ReadOnlyMany"]})),
            volume("block", "2Gi", json!({"volumeMode": "Block"})),
        ];
        assert_eq!(chosen(&claim("2Gi", json!({})), &volumes).as_deref(), Some("medium"));
        assert_eq!(chosen(&claim("1024Mi", json!({})), &volumes).as_deref(), Some("small"));
        assert_eq!(chosen(&claim("20Gi", json!({})), &volumes), None);
        assert_eq!(chosen(&claim("1Gi", json!({"volumeMode": "Block"})), &volumes).as_deref(), Some("block"));
        assert_eq!(
            chosen(&claim("1Gi", json!({"storageClassName": "slow"})), &volumes).as_deref(),
            Some("other-class")
        );
        assert_eq!(
            chosen(&claim("1Gi", json!({"selector": {"matchLabels": {"tier": "big"}}})), &volumes).as_deref(),
            Some("big")
        );
    }

    #[test]
    fn volumes_bound_elsewhere_or_not_available_are_skipped() {
        let volumes = [
            volume("taken", "1Gi", json!({"claimRef": {"namespace": "ns", "name": "other"}})),
            volume("released", "1Gi", json!({})),
        ];
        let released: PersistentVolume = {
            let mut v = (*volumes[1]).clone();
            v.status = Some(k8s_openapi::api::core::v1::PersistentVolumeStatus {
                phase: Some("Released".into()),
                ..Default::default()
            });
            v
        };
        assert_eq!(chosen(&claim("1Gi", json!({})), &[volumes[0].clone(), Arc::new(released)]), None);
    }

    #[test]
    fn a_volume_pre_bound_to_the_claim_wins_even_if_larger() {
        let volumes = [
            volume("small", "1Gi", json!({})),
            volume("mine", "10Gi", json!({"claimRef": {"namespace": "ns", "name": "data"}, "storageClassName": ""})),
        ];
        assert_eq!(chosen(&claim("1Gi", json!({})), &volumes).as_deref(), Some("mine"));
        let other_uid = [volume("mine", "10Gi", json!({"claimRef": {"namespace": "ns", "name": "data", "uid": "u0"}}))];
        assert_eq!(chosen(&claim("1Gi", json!({})), &other_uid), None, "a claimRef to an older claim of that name");
    }

    #[test]
    fn delayed_binding_waits_for_a_node_and_checks_its_affinity() {
        let affinity = json!({"nodeAffinity": {"required": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-1"]}]}
        ]}}});
        let volumes = [volume("local", "1Gi", affinity)];
        let c = claim("1Gi", json!({}));
        assert!(best_match(&c, "fast", &volumes, None, true).is_none());
        let node_1: BTreeMap<String, String> = [("kubernetes.io/hostname".to_string(), "node-1".to_string())].into();
        let node_2: BTreeMap<String, String> = [("kubernetes.io/hostname".to_string(), "node-2".to_string())].into();
        assert!(best_match(&c, "fast", &volumes, Some(("node-1", &node_1)), true).is_some());
        assert!(best_match(&c, "fast", &volumes, Some(("node-2", &node_2)), true).is_none());
    }

    #[test]
    fn missing_class_and_beta_annotation() {
        let mut c = claim("1Gi", json!({}));
        c.spec.as_mut().unwrap().storage_class_name = None;
        assert_eq!(claim_class(&c), None);
        c.metadata.annotations = Some([(BETA_CLAIM_CLASS.to_string(), "slow".to_string())].into());
        assert_eq!(claim_class(&c).as_deref(), Some("slow"));
    }
}
