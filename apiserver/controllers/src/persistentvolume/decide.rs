//! The binder's decisions as pure steps (upstream `syncClaim` and `syncVolume`): given what the
//! caches show, the one thing to do next for a claim or a volume. The glue in `mod.rs` carries
//! them out and, for volumes, asks again until nothing is left to do.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;

use super::matching::{self, Node};
use super::provision::{self, ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, ANN_PROVISIONED_BY, ANN_SELECTED_NODE};
use crate::events::EventType;

/// An event to record about the object being synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub event_type: EventType,
    pub reason: &'static str,
    pub message: String,
}

fn note(event_type: EventType, reason: &'static str, message: impl Into<String>) -> Option<Note> {
    Some(Note { event_type, reason, message: message.into() })
}

/// What to do for a claim.
#[derive(Debug, Clone)]
pub enum ClaimStep {
    /// The claim names no class: it gets the default one (upstream's retroactive default).
    SetClass(String),
    /// Bind (or finish binding) the claim and this volume, both ways.
    Bind(Arc<PersistentVolume>),
    /// Create a volume of this class, on this node if one was selected.
    Provision { class: Arc<StorageClass>, node: Option<String> },
    /// Stay Pending, with an event saying why.
    Pending(Option<Note>),
    /// The claim's volume is gone or belongs to another claim.
    Lost(Note),
    /// Nothing (the claim is being deleted).
    Nothing,
}

/// What the claim sync sees.
pub struct ClaimView<'a> {
    pub volumes: &'a [Arc<PersistentVolume>],
    pub classes: &'a [Arc<StorageClass>],
    /// Labels of nodes by name, for the selected node's affinity check.
    pub node_labels: &'a dyn Fn(&str) -> BTreeMap<String, String>,
}

impl std::fmt::Debug for ClaimView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimView").field("volumes", &self.volumes.len()).field("classes", &self.classes.len()).finish()
    }
}

fn annotation<'a>(meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref().and_then(|a| a.get(key)).map(String::as_str)
}

/// The next step for `claim` (upstream `syncUnboundClaim` / `syncBoundClaim`).
pub fn claim_step(claim: &PersistentVolumeClaim, view: &ClaimView<'_>) -> ClaimStep {
    if claim.metadata.deletion_timestamp.is_some() {
        return ClaimStep::Nothing;
    }
    let volume_name = claim.spec.as_ref().and_then(|s| s.volume_name.clone()).unwrap_or_default();
    if !volume_name.is_empty() {
        return bound_claim_step(claim, &volume_name, view);
    }
    let class_name = match matching::claim_class(claim) {
        Some(class) => class,
        None => match provision::default_class(view.classes.iter().map(Arc::as_ref)) {
            Some(default) => return ClaimStep::SetClass(default.metadata.name.clone().unwrap_or_default()),
            None => String::new(),
        },
    };
    let class = view.classes.iter().find(|c| c.metadata.name.as_deref() == Some(class_name.as_str()));
    let delay_binding = class.is_some_and(|c| provision::waits_for_first_consumer(c));
    let selected_node = annotation(&claim.metadata, ANN_SELECTED_NODE).filter(|n| !n.is_empty());
    let labels = selected_node.map(|n| (view.node_labels)(n));
    let node: Option<Node<'_>> = selected_node.zip(labels.as_ref());
    if let Some(volume) = matching::best_match(claim, &class_name, view.volumes, node, delay_binding) {
        return ClaimStep::Bind(volume);
    }
    if class_name.is_empty() {
        return ClaimStep::Pending(note(
            EventType::Normal,
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set",
        ));
    }
    let Some(class) = class else {
        return ClaimStep::Pending(note(
            EventType::Warning,
            "ProvisioningFailed",
            format!("storageclass.storage.k8s.io \"{class_name}\" not found"),
        ));
    };
    if delay_binding && selected_node.is_none() {
        return ClaimStep::Pending(note(
            EventType::Normal,
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
        ));
    }
    if class.provisioner == provision::PROVISIONER {
        return ClaimStep::Provision { class: class.clone(), node: selected_node.map(str::to_string) };
    }
    ClaimStep::Pending(note(
        EventType::Normal,
        "ExternalProvisioning",
        format!(
            "Waiting for a volume to be created either by the external provisioner '{}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
            class.provisioner
        ),
    ))
}

fn bound_claim_step(claim: &PersistentVolumeClaim, volume_name: &str, view: &ClaimView<'_>) -> ClaimStep {
    let bind_completed = annotation(&claim.metadata, ANN_BIND_COMPLETED).is_some();
    let Some(volume) = view.volumes.iter().find(|v| v.metadata.name.as_deref() == Some(volume_name)) else {
        return if bind_completed {
            ClaimStep::Lost(Note {
                event_type: EventType::Warning,
                reason: "ClaimLost",
                message: "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!".into(),
            })
        } else {
            // A claim pre-bound to a volume that does not exist (yet).
            ClaimStep::Pending(None)
        };
    };
    let claim_ref = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
    if claim_ref.is_none() || matching::is_bound_to(volume, claim) {
        return ClaimStep::Bind(volume.clone());
    }
    if bind_completed {
        return ClaimStep::Lost(Note {
            event_type: EventType::Warning,
            reason: "ClaimMisbound",
            message: "Two claims are bound to the same volume, this one is bound incorrectly".into(),
        });
    }
    ClaimStep::Pending(note(
        EventType::Warning,
        "FailedBinding",
        format!("volume \"{volume_name}\" already bound to a different claim."),
    ))
}

/// What the volume sync knows of the claim its claimRef names.
#[derive(Debug, Clone, Copy)]
pub enum ClaimSeen<'a> {
    /// No claimRef, or one without uid (a user's pre-binding the claim sync completes).
    NotBound,
    /// The claim (the same uid) exists.
    Present(&'a PersistentVolumeClaim),
    /// The claim was deleted (or replaced by a new one of the same name).
    Gone,
}

/// What to do for a volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeStep {
    SetPhase(&'static str),
    /// Clear the claimRef the controller set (the claim went to another volume).
    Unbind,
    /// Reclaim policy Delete of a volume we provisioned.
    Delete,
    /// Reclaiming is impossible: phase Failed with this event.
    Fail(Note),
    Nothing,
}

/// The next step for `volume` (upstream `syncVolume` and `reclaimVolume`).
pub fn volume_step(volume: &PersistentVolume, claim: ClaimSeen<'_>) -> VolumeStep {
    let phase = matching::volume_phase(volume);
    let name = volume.metadata.name.clone().unwrap_or_default();
    match claim {
        ClaimSeen::NotBound => {
            if phase == "Available"
                || phase == "Failed" && volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).is_some()
            {
                VolumeStep::Nothing
            } else {
                VolumeStep::SetPhase("Available")
            }
        }
        ClaimSeen::Present(claim) => {
            let claim_volume = claim.spec.as_ref().and_then(|s| s.volume_name.as_deref()).unwrap_or_default();
            if claim_volume.is_empty() {
                // The claim sync is completing the binding.
                VolumeStep::Nothing
            } else if claim_volume == name {
                if phase == "Bound" { VolumeStep::Nothing } else { VolumeStep::SetPhase("Bound") }
            } else if provisioned_by_us(volume) && reclaim_policy(volume) == "Delete" {
                // Provisioned for a claim that bound elsewhere: not needed.
                release_then_reclaim(volume, phase, &name)
            } else if annotation(&volume.metadata, ANN_BOUND_BY_CONTROLLER).is_some() {
                VolumeStep::Unbind
            } else {
                VolumeStep::Nothing
            }
        }
        ClaimSeen::Gone => release_then_reclaim(volume, phase, &name),
    }
}

fn provisioned_by_us(volume: &PersistentVolume) -> bool {
    annotation(&volume.metadata, ANN_PROVISIONED_BY) == Some(provision::PROVISIONER)
}

fn reclaim_policy(volume: &PersistentVolume) -> &str {
    volume.spec.as_ref().and_then(|s| s.persistent_volume_reclaim_policy.as_deref()).unwrap_or("Retain")
}

fn release_then_reclaim(volume: &PersistentVolume, phase: &str, name: &str) -> VolumeStep {
    match phase {
        "Released" => {}
        "Failed" => return VolumeStep::Nothing,
        _ => return VolumeStep::SetPhase("Released"),
    }
    match reclaim_policy(volume) {
        "Delete" if provisioned_by_us(volume) => VolumeStep::Delete,
        "Delete" => VolumeStep::Fail(Note {
            event_type: EventType::Warning,
            reason: "VolumeFailedDelete",
            message: format!(
                "error getting deleter volume plugin for volume \"{name}\": no deletable volume plugin matched"
            ),
        }),
        "Recycle" => VolumeStep::Fail(Note {
            event_type: EventType::Warning,
            reason: "VolumeFailedRecycle",
            message: "No recycler plugin found for the volume!".into(),
        }),
        _ => VolumeStep::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claim(spec: serde_json::Value, annotations: serde_json::Value) -> PersistentVolumeClaim {
        let mut spec_full = json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}});
        if let (Some(s), Some(extra)) = (spec_full.as_object_mut(), spec.as_object()) {
            s.extend(extra.clone());
        }
        serde_json::from_value(json!({
            "metadata": {"name": "data", "namespace": "ns", "uid": "u1", "annotations": annotations},
            "spec": spec_full,
        }))
        .unwrap()
    }

    fn volume(spec: serde_json::Value, phase: &str, annotations: serde_json::Value) -> Arc<PersistentVolume> {
        let mut spec_full = json!({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}, "persistentVolumeReclaimPolicy": "Delete"});
        if let (Some(s), Some(extra)) = (spec_full.as_object_mut(), spec.as_object()) {
            s.extend(extra.clone());
        }
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": "pv1", "annotations": annotations},
                "spec": spec_full,
                "status": {"phase": phase},
            }))
            .unwrap(),
        )
    }

    fn class(name: &str, mode: &str, default: bool) -> Arc<StorageClass> {
        let mut class = provision::standard_class();
        class.metadata.name = Some(name.into());
        class.volume_binding_mode = Some(mode.into());
        if !default {
            class.metadata.annotations = None;
        }
        Arc::new(class)
    }

    fn no_labels(name: &str) -> BTreeMap<String, String> {
        [("kubernetes.io/hostname".to_string(), name.to_string())].into()
    }

    fn step(
        claim: &PersistentVolumeClaim,
        volumes: &[Arc<PersistentVolume>],
        classes: &[Arc<StorageClass>],
    ) -> ClaimStep {
        claim_step(claim, &ClaimView { volumes, classes, node_labels: &no_labels })
    }

    #[test]
    fn a_claim_without_class_gets_the_default() {
        let classes = [class("standard", "WaitForFirstConsumer", true), class("fast", "Immediate", false)];
        assert!(matches!(step(&claim(json!({}), json!({})), &[], &classes), ClaimStep::SetClass(c) if c == "standard"));
        // Without a default class it is a claim for class-less volumes.
        let ClaimStep::Pending(Some(note)) = step(&claim(json!({}), json!({})), &[], &classes[1..]) else { panic!() };
        assert_eq!(note.reason, "FailedBinding");
        assert_eq!(note.message, "no persistent volumes available for this claim and no storage class is set");
    }

    #[test]
    fn wait_for_first_consumer_then_provision_on_the_selected_node() {
        let classes = [class("standard", "WaitForFirstConsumer", true)];
        let waiting = claim(json!({"storageClassName": "standard"}), json!({}));
        let ClaimStep::Pending(Some(note)) = step(&waiting, &[], &classes) else { panic!() };
        assert_eq!(
            (note.reason, note.message.as_str()),
            ("WaitForFirstConsumer", "waiting for first consumer to be created before binding")
        );
        let selected = claim(json!({"storageClassName": "standard"}), json!({ANN_SELECTED_NODE: "node-1"}));
        let ClaimStep::Provision { node, .. } = step(&selected, &[], &classes) else { panic!() };
        assert_eq!(node.as_deref(), Some("node-1"));
    }

    #[test]
    fn immediate_classes_provision_at_once_and_unknown_classes_fail() {
        let classes = [class("fast", "Immediate", false)];
        assert!(matches!(
            step(&claim(json!({"storageClassName": "fast"}), json!({})), &[], &classes),
            ClaimStep::Provision { node: None, .. }
        ));
        let ClaimStep::Pending(Some(note)) =
            step(&claim(json!({"storageClassName": "nope"}), json!({})), &[], &classes)
        else {
            panic!()
        };
        assert_eq!(
            (note.reason, note.message.as_str()),
            ("ProvisioningFailed", "storageclass.storage.k8s.io \"nope\" not found")
        );
    }

    #[test]
    fn an_available_volume_is_preferred_to_provisioning() {
        let classes = [class("fast", "Immediate", false)];
        let volumes = [volume(json!({"storageClassName": "fast"}), "Available", json!({}))];
        assert!(matches!(
            step(&claim(json!({"storageClassName": "fast"}), json!({})), &volumes, &classes),
            ClaimStep::Bind(_)
        ));
    }

    #[test]
    fn bound_claims_finish_binding_or_are_lost() {
        let pre_bound = claim(json!({"volumeName": "pv1", "storageClassName": ""}), json!({}));
        let free = [volume(json!({}), "Available", json!({}))];
        assert!(matches!(step(&pre_bound, &free, &[]), ClaimStep::Bind(_)));
        assert!(matches!(step(&pre_bound, &[], &[]), ClaimStep::Pending(None)));
        let completed = claim(json!({"volumeName": "pv1"}), json!({ANN_BIND_COMPLETED: "yes"}));
        assert!(matches!(step(&completed, &[], &[]), ClaimStep::Lost(n) if n.reason == "ClaimLost"));
        let elsewhere =
            [volume(json!({"claimRef": {"namespace": "ns", "name": "other", "uid": "u9"}}), "Bound", json!({}))];
        assert!(matches!(step(&completed, &elsewhere, &[]), ClaimStep::Lost(n) if n.reason == "ClaimMisbound"));
        assert!(
            matches!(step(&pre_bound, &elsewhere, &[]), ClaimStep::Pending(Some(n)) if n.reason == "FailedBinding")
        );
    }

    #[test]
    fn volume_phases_follow_their_claims() {
        let free = volume(json!({}), "Pending", json!({}));
        assert_eq!(volume_step(&free, ClaimSeen::NotBound), VolumeStep::SetPhase("Available"));
        let bound_claim = claim(json!({"volumeName": "pv1"}), json!({}));
        let claimed =
            volume(json!({"claimRef": {"namespace": "ns", "name": "data", "uid": "u1"}}), "Pending", json!({}));
        assert_eq!(volume_step(&claimed, ClaimSeen::Present(&bound_claim)), VolumeStep::SetPhase("Bound"));
        let binding = claim(json!({}), json!({}));
        assert_eq!(volume_step(&claimed, ClaimSeen::Present(&binding)), VolumeStep::Nothing);
    }

    #[test]
    fn reclaim_after_the_claim_is_gone() {
        let ours = json!({ANN_PROVISIONED_BY: provision::PROVISIONER});
        let bound = volume(json!({"claimRef": {"name": "data", "uid": "u1"}}), "Bound", ours.clone());
        assert_eq!(volume_step(&bound, ClaimSeen::Gone), VolumeStep::SetPhase("Released"));
        let released = volume(json!({"claimRef": {"name": "data", "uid": "u1"}}), "Released", ours.clone());
        assert_eq!(volume_step(&released, ClaimSeen::Gone), VolumeStep::Delete);
        let retained = volume(
            json!({"claimRef": {"name": "data", "uid": "u1"}, "persistentVolumeReclaimPolicy": "Retain"}),
            "Released",
            ours,
        );
        assert_eq!(volume_step(&retained, ClaimSeen::Gone), VolumeStep::Nothing);
        let foreign = volume(json!({"claimRef": {"name": "data", "uid": "u1"}}), "Released", json!({}));
        assert!(
            matches!(volume_step(&foreign, ClaimSeen::Gone), VolumeStep::Fail(n) if n.reason == "VolumeFailedDelete")
        );
        let failed = volume(json!({"claimRef": {"name": "data", "uid": "u1"}}), "Failed", json!({}));
        assert_eq!(volume_step(&failed, ClaimSeen::Gone), VolumeStep::Nothing);
    }

    #[test]
    fn a_controller_binding_to_a_claim_bound_elsewhere_is_undone() {
        let elsewhere = claim(json!({"volumeName": "pv2"}), json!({}));
        let by_controller = volume(
            json!({"claimRef": {"namespace": "ns", "name": "data", "uid": "u1"}}),
            "Bound",
            json!({ANN_BOUND_BY_CONTROLLER: "yes"}),
        );
        assert_eq!(volume_step(&by_controller, ClaimSeen::Present(&elsewhere)), VolumeStep::Unbind);
    }
}
