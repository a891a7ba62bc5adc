//! The persistent volume controller (upstream `pkg/controller/volume/persistentvolume`): binds
//! claims to volumes ([`matching`]), provisions volumes for claims of classes that use our
//! provisioner ([`provision`]: node-local directories, the default `standard` class waits for
//! the first consumer), and releases and reclaims volumes whose claims are gone. The decisions
//! are pure steps ([`decide`]); this module carries them out.
//!
//! Two controllers share the caches: one syncs claims (volume changes wake the claim they name,
//! or every unbound claim when a free volume appears), one syncs volumes (claim changes wake
//! the volumes that name the claim). Binding writes the volume first with its resourceVersion,
//! so two claims racing for one volume cannot both get it.

pub mod decide;
pub mod matching;
pub mod provision;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::json;

use crate::events::{Recorder, object_reference};
use crate::{Context, Error};
use decide::{ClaimSeen, ClaimStep, ClaimView, Note, VolumeStep};
use provision::{ANN_BETA_STORAGE_PROVISIONER, ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, ANN_STORAGE_PROVISIONER};

/// How often pending claims and volumes are looked at again (upstream `--pvclaimbinder-sync-period`).
const RESYNC: Duration = Duration::from_secs(15);
/// Steps one volume sync may take (Released then Delete is two).
const VOLUME_STEPS: usize = 4;

struct Shared {
    ctx: Arc<Context>,
    claims: Store<PersistentVolumeClaim>,
    volumes: Store<PersistentVolume>,
    classes: Store<StorageClass>,
    nodes: Store<Node>,
    recorder: Recorder,
}

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let claims = ctx.informers.get::<PersistentVolumeClaim>();
    let volumes = ctx.informers.get::<PersistentVolume>();
    let classes = ctx.informers.get::<StorageClass>();
    let nodes = ctx.informers.get::<Node>();
    let shared = Arc::new(Shared {
        ctx: ctx.clone(),
        claims: claims.store(),
        volumes: volumes.store(),
        classes: classes.store(),
        nodes: nodes.store(),
        recorder: ctx.events.recorder("persistentvolume-controller"),
    });
    classes.ready().await;
    ensure_default_class(&shared).await?;

    let config = Config::default().concurrency(ctx.options.concurrency);
    let claim_store = claims.store();
    let claim_controller = Controller::for_shared_stream(claims.subscribe(), claims.store())
        .watches_shared_stream(volumes.subscribe(), move |volume: Arc<PersistentVolume>| {
            claims_of_volume(&claim_store, &volume)
        })
        .with_config(config.clone())
        .run(sync_claim, error_policy, shared.clone())
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(%err, "claim sync failed");
            }
        });
    let volume_store = volumes.store();
    let volume_controller = Controller::for_shared_stream(volumes.subscribe(), volumes.store())
        .watches_shared_stream(claims.subscribe(), move |claim: Arc<PersistentVolumeClaim>| {
            volumes_of_claim(&volume_store, &claim)
        })
        .with_config(config)
        .run(sync_volume, error_policy, shared)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(%err, "volume sync failed");
            }
        });
    futures::future::join(claim_controller, volume_controller).await;
    Ok(())
}

/// Creates the `standard` class when no class is marked default.
async fn ensure_default_class(shared: &Shared) -> Result<(), Error> {
    let classes = shared.classes.state();
    if provision::default_class(classes.iter().map(Arc::as_ref)).is_some() {
        return Ok(());
    }
    let api: Api<StorageClass> = Api::all(shared.ctx.client.clone());
    match api.create(&PostParams::default(), &provision::standard_class()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// The claims to sync when a volume changes: the one it names, or, for a free volume, every
/// unbound claim (one of them may fit now).
fn claims_of_volume(
    claims: &Store<PersistentVolumeClaim>,
    volume: &PersistentVolume,
) -> Vec<ObjectRef<PersistentVolumeClaim>> {
    if let Some(reference) = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) {
        let (Some(name), Some(namespace)) = (reference.name.as_deref(), reference.namespace.as_deref()) else {
            return Vec::new();
        };
        return vec![ObjectRef::new(name).within(namespace)];
    }
    claims
        .state()
        .iter()
        .filter(|c| c.spec.as_ref().and_then(|s| s.volume_name.as_deref()).is_none_or(str::is_empty))
        .map(|c| ObjectRef::from_obj(c.as_ref()))
        .collect()
}

/// The volumes to sync when a claim changes (or goes): those naming it, and the one it names.
fn volumes_of_claim(
    volumes: &Store<PersistentVolume>,
    claim: &PersistentVolumeClaim,
) -> Vec<ObjectRef<PersistentVolume>> {
    let named = claim.spec.as_ref().and_then(|s| s.volume_name.clone()).filter(|n| !n.is_empty());
    let mut refs: Vec<ObjectRef<PersistentVolume>> = volumes
        .state()
        .iter()
        .filter(|v| matching::is_bound_to(v, claim))
        .map(|v| ObjectRef::from_obj(v.as_ref()))
        .collect();
    refs.extend(named.map(|n| ObjectRef::new(&n)));
    refs
}

fn error_policy<K>(_obj: Arc<K>, err: &Error, _shared: Arc<Shared>) -> Action {
    tracing::debug!(%err, "requeueing after a failed volume/claim sync");
    Action::requeue(Duration::from_secs(2))
}

impl Shared {
    fn record<K: kube::Resource<DynamicType = ()>>(&self, obj: &K, note: &Note) {
        self.recorder.record(object_reference(obj), note.event_type, note.reason, note.message.clone());
    }

    fn node_labels(&self, name: &str) -> BTreeMap<String, String> {
        let labels = self.nodes.get(&ObjectRef::new(name)).and_then(|n| n.metadata.labels.clone());
        // A node not cached yet is known by its name.
        labels.unwrap_or_else(|| [(provision::HOSTNAME_LABEL.to_string(), name.to_string())].into())
    }
}

async fn sync_claim(claim: Arc<PersistentVolumeClaim>, shared: Arc<Shared>) -> Result<Action, Error> {
    let namespace = claim.namespace().unwrap_or_default();
    let api: Api<PersistentVolumeClaim> = Api::namespaced(shared.ctx.client.clone(), &namespace);
    let volumes = shared.volumes.state();
    let classes = shared.classes.state();
    let node_labels = |name: &str| shared.node_labels(name);
    let step =
        decide::claim_step(&claim, &ClaimView { volumes: &volumes, classes: &classes, node_labels: &node_labels });
    tracing::trace!(claim = %claim.name_any(), ?step, "claim step");
    match step {
        ClaimStep::Nothing => Ok(Action::await_change()),
        ClaimStep::SetClass(class) => {
            let patch = json!({"spec": {"storageClassName": class}});
            api.patch(&claim.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
            Ok(Action::await_change())
        }
        ClaimStep::Pending(note) => {
            if let Some(note) = &note {
                shared.record(claim.as_ref(), note);
            }
            annotate_provisioner(&api, &claim, &classes).await?;
            set_claim_phase(&api, &claim, "Pending").await?;
            Ok(Action::requeue(RESYNC))
        }
        ClaimStep::Lost(note) => {
            shared.record(claim.as_ref(), &note);
            set_claim_phase(&api, &claim, "Lost").await?;
            Ok(Action::requeue(RESYNC))
        }
        ClaimStep::Provision { class, node } => {
            annotate_provisioner(&api, &claim, &classes).await?;
            set_claim_phase(&api, &claim, "Pending").await?;
            let volume = provision::provisioned_volume(&claim, &class, node.as_deref());
            let name = volume.name_any();
            let volumes: Api<PersistentVolume> = Api::all(shared.ctx.client.clone());
            match volumes.create(&PostParams::default(), &volume).await {
                Ok(_) => {
                    let message = format!("Successfully provisioned volume {name} using {}", provision::PROVISIONER);
                    shared.recorder.normal(claim.as_ref(), "ProvisioningSucceeded", message);
                }
                Err(kube::Error::Api(status)) if status.code == 409 => {}
                Err(err) => {
                    let message =
                        format!("Failed to provision volume with StorageClass \"{}\": {err}", class.name_any());
                    shared.recorder.warning(claim.as_ref(), "ProvisioningFailed", message);
                    return Err(err.into());
                }
            }
            // The new volume names the claim: its arrival in the cache syncs the claim again.
            Ok(Action::requeue(RESYNC))
        }
        ClaimStep::Bind(volume) => {
            bind(&shared, &api, &claim, &volume).await?;
            Ok(Action::await_change())
        }
    }
}

/// Records which provisioner will provision the claim (upstream's
/// `volume.kubernetes.io/storage-provisioner` annotations), when its class has one.
async fn annotate_provisioner(
    api: &Api<PersistentVolumeClaim>,
    claim: &PersistentVolumeClaim,
    classes: &[Arc<StorageClass>],
) -> Result<(), Error> {
    let Some(class_name) = matching::claim_class(claim).filter(|c| !c.is_empty()) else { return Ok(()) };
    let Some(class) = classes.iter().find(|c| c.metadata.name.as_deref() == Some(class_name.as_str())) else {
        return Ok(());
    };
    let annotations = claim.metadata.annotations.clone().unwrap_or_default();
    if annotations.get(ANN_STORAGE_PROVISIONER) == Some(&class.provisioner) {
        return Ok(());
    }
    let patch = json!({"metadata": {"annotations": {
        ANN_STORAGE_PROVISIONER: class.provisioner,
        ANN_BETA_STORAGE_PROVISIONER: class.provisioner,
    }}});
    api.patch(&claim.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    Ok(())
}

async fn set_claim_phase(
    api: &Api<PersistentVolumeClaim>,
    claim: &PersistentVolumeClaim,
    phase: &str,
) -> Result<(), Error> {
    if claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some(phase) {
        return Ok(());
    }
    let patch = json!({"status": {"phase": phase}});
    api.patch_status(&claim.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    Ok(())
}

/// Binds both ways, each write only when missing (upstream `bind`): the volume's claimRef
/// (optimistically, on the cached resourceVersion), its phase, the claim's volumeName and
/// annotations, the claim's phase, capacity and access modes.
async fn bind(
    shared: &Shared,
    claims: &Api<PersistentVolumeClaim>,
    claim: &PersistentVolumeClaim,
    volume: &PersistentVolume,
) -> Result<(), Error> {
    let volumes: Api<PersistentVolume> = Api::all(shared.ctx.client.clone());
    let mut volume = volume.clone();
    let reference = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
    let complete_ref = reference.is_some_and(|r| r.uid.is_some() && r.uid == claim.metadata.uid);
    if !complete_ref {
        let set_by_us = reference.is_none();
        let spec = volume.spec.get_or_insert_with(Default::default);
        spec.claim_ref = Some(provision::claim_reference(claim));
        if set_by_us {
            volume
                .metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(ANN_BOUND_BY_CONTROLLER.into(), "yes".into());
        }
        volume = volumes.replace(&volume.name_any(), &PostParams::default(), &volume).await?;
    }
    if matching::volume_phase(&volume) != "Bound" {
        let patch = json!({"status": {"phase": "Bound"}});
        volumes.patch_status(&volume.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    }

    let volume_name = volume.name_any();
    let claimed_name = claim.spec.as_ref().and_then(|s| s.volume_name.as_deref()).unwrap_or_default();
    let annotations = claim.metadata.annotations.clone().unwrap_or_default();
    if claimed_name != volume_name || !annotations.contains_key(ANN_BIND_COMPLETED) {
        let mut added = serde_json::Map::new();
        added.insert(ANN_BIND_COMPLETED.into(), json!("yes"));
        if claimed_name.is_empty() {
            added.insert(ANN_BOUND_BY_CONTROLLER.into(), json!("yes"));
        }
        let patch = json!({"metadata": {"annotations": added}, "spec": {"volumeName": volume_name}});
        claims.patch(&claim.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    }
    let spec = volume.spec.clone().unwrap_or_default();
    let status = claim.status.clone().unwrap_or_default();
    if status.phase.as_deref() != Some("Bound")
        || status.capacity != spec.capacity
        || status.access_modes != spec.access_modes
    {
        let patch = json!({"status": {"phase": "Bound", "capacity": spec.capacity, "accessModes": spec.access_modes}});
        claims.patch_status(&claim.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    }
    Ok(())
}

async fn sync_volume(volume: Arc<PersistentVolume>, shared: Arc<Shared>) -> Result<Action, Error> {
    let api: Api<PersistentVolume> = Api::all(shared.ctx.client.clone());
    let mut volume = (*volume).clone();
    for _ in 0..VOLUME_STEPS {
        let claim = claim_of(&shared, &volume).await?;
        let seen = match &claim {
            Some(Some(claim)) => ClaimSeen::Present(claim),
            Some(None) => ClaimSeen::Gone,
            None => ClaimSeen::NotBound,
        };
        let step = decide::volume_step(&volume, seen);
        tracing::trace!(volume = %volume.name_any(), ?step, "volume step");
        let name = volume.name_any();
        volume = match step {
            VolumeStep::Nothing => break,
            VolumeStep::SetPhase(phase) => {
                let patch = json!({"status": {"phase": phase, "message": null, "reason": null}});
                api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?
            }
            VolumeStep::Unbind => {
                if let Some(spec) = volume.spec.as_mut() {
                    spec.claim_ref = None;
                }
                if let Some(annotations) = volume.metadata.annotations.as_mut() {
                    annotations.remove(ANN_BOUND_BY_CONTROLLER);
                }
                api.replace(&name, &PostParams::default(), &volume).await?
            }
            VolumeStep::Delete => {
                match api.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(status)) if status.code == 404 => {}
                    Err(err) => return Err(err.into()),
                }
                return Ok(Action::await_change());
            }
            VolumeStep::Fail(note) => {
                shared.record(&volume, &note);
                let patch = json!({"status": {"phase": "Failed", "message": note.message}});
                api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?
            }
        };
    }
    // Only a volume whose claim is still being bound needs a second look without a change.
    let pending = matching::volume_phase(&volume) == "Pending";
    Ok(if pending { Action::requeue(RESYNC) } else { Action::await_change() })
}

/// The claim a volume's claimRef names: `None` when it names none (or only by name: a user's
/// pre-binding), `Some(None)` when that claim is gone. A claim missing from the cache is
/// looked up on the server before the volume is released (the cache may lag).
async fn claim_of(shared: &Shared, volume: &PersistentVolume) -> Result<Option<Option<PersistentVolumeClaim>>, Error> {
    let Some(reference) = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else { return Ok(None) };
    let Some(uid) = reference.uid.as_deref().filter(|u| !u.is_empty()) else { return Ok(None) };
    let (name, namespace) =
        (reference.name.clone().unwrap_or_default(), reference.namespace.clone().unwrap_or_default());
    let cached = shared.claims.get(&ObjectRef::new(&name).within(&namespace));
    let claim = match cached {
        Some(claim) => Some((*claim).clone()),
        None => {
            let api: Api<PersistentVolumeClaim> = Api::namespaced(shared.ctx.client.clone(), &namespace);
            api.get_opt(&name).await?
        }
    };
    Ok(Some(claim.filter(|c| c.metadata.uid.as_deref() == Some(uid))))
}
