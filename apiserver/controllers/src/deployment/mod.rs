//! The Deployment controller (upstream `pkg/controller/deployment`): rolls a pod template out
//! through ReplicaSets named `<deployment>-<pod-template-hash>`.
//!
//! One sync: claim the ReplicaSets matching the selector ([`crate::replicaset::claim`]), then
//! - deleting: status only;
//! - paused, or resized (an active ReplicaSet's desired-replicas annotation differs): scale the
//!   ReplicaSets ([`rollout::proportional_sizes`]) without rolling out;
//! - `Recreate`: old ReplicaSets to 0, wait until their pods are gone, then the new one;
//! - `RollingUpdate`: grow the new ReplicaSet within maxSurge, shrink old ones while
//!   `replicas - maxUnavailable` pods stay available ([`rollout`]);
//!
//! and write the status and conditions ([`status`]). Old zero-sized ReplicaSets beyond
//! `revisionHistoryLimit` are deleted once a rollout completes. `kubectl rollout undo/restart`
//! only change the template; the matching old ReplicaSet then becomes the new one again.

pub mod annotations;
pub mod hash;
pub mod rollout;
pub mod status;
pub mod sync;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

use crate::events::Recorder;
use crate::replicaset::claim;
use crate::replicaset::index::NamespaceIndex;
use crate::replicaset::pods;
use crate::{Context, Error, owners, selectors};

/// What the syncs share.
pub struct Shared {
    ctx: Arc<Context>,
    deployments: Arc<NamespaceIndex<Deployment>>,
    replica_sets: Arc<NamespaceIndex<ReplicaSet>>,
    pods: Arc<NamespaceIndex<Pod>>,
    recorder: Recorder,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("deployment::Shared").finish_non_exhaustive()
    }
}

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let deployments = ctx.informers.get::<Deployment>();
    let replica_sets = ctx.informers.get::<ReplicaSet>();
    let pod_informer = ctx.informers.get::<Pod>();
    let shared = Arc::new(Shared {
        deployments: Arc::new(NamespaceIndex::new(deployments.store())),
        replica_sets: Arc::new(NamespaceIndex::new(replica_sets.store())),
        pods: Arc::new(NamespaceIndex::new(pod_informer.store())),
        recorder: ctx.events.recorder("deployment-controller"),
        ctx: ctx.clone(),
    });

    let index = shared.deployments.clone();
    let deployment_changes = deployments.subscribe().inspect(move |d| {
        index.observe(d);
    });
    let index = shared.replica_sets.clone();
    let rs_changes = replica_sets.subscribe().inspect(move |rs| {
        index.observe(rs);
    });
    let index = shared.pods.clone();
    let pod_changes = pod_informer.subscribe().filter_map(move |pod| {
        let cached = index.observe(&pod);
        // Only Recreate waits on pods, and only for them to finish or go away.
        let gone = !cached || !pods::is_active(&pod);
        std::future::ready(gone.then_some(pod))
    });

    let for_rs = shared.clone();
    let for_pods = shared.clone();
    Controller::for_shared_stream(deployment_changes, deployments.store())
        .watches_shared_stream(rs_changes, move |rs| deployments_of_rs(&rs, &for_rs))
        .watches_shared_stream(pod_changes, move |pod| deployment_of_pod(&pod, &for_pods))
        .with_config(Config::default().concurrency(ctx.options.concurrency))
        .run(reconcile, error_policy, shared)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(%err, "deployment sync failed");
            }
        })
        .await;
    Ok(())
}

/// The Deployment controlling a ReplicaSet, or for an orphan every Deployment that selects it.
fn deployments_of_rs(rs: &ReplicaSet, shared: &Shared) -> Vec<ObjectRef<Deployment>> {
    let namespace = rs.namespace().unwrap_or_default();
    if let Some(owner) = owners::controller_of(&rs.metadata) {
        return if owner.kind == "Deployment" {
            vec![ObjectRef::new(&owner.name).within(&namespace)]
        } else {
            Vec::new()
        };
    }
    shared
        .deployments
        .list(&namespace)
        .iter()
        .filter(|d| {
            let selector = d.spec.as_ref().map(|s| &s.selector);
            selector.is_some_and(|s| !selectors::is_empty(s))
                && selectors::matches(selector, rs.metadata.labels.as_ref())
        })
        .map(|d| ObjectRef::from_obj(d.as_ref()))
        .collect()
}

/// The Recreate Deployment a finished pod belonged to (through its ReplicaSet).
fn deployment_of_pod(pod: &Pod, shared: &Shared) -> Option<ObjectRef<Deployment>> {
    let namespace = pod.namespace().unwrap_or_default();
    let rs_ref = owners::controller_of(&pod.metadata).filter(|r| r.kind == "ReplicaSet")?;
    let rs = shared.replica_sets.get(&namespace, &rs_ref.name)?;
    let d_ref = owners::controller_of(&rs.metadata).filter(|r| r.kind == "Deployment")?;
    let d = shared.deployments.get(&namespace, &d_ref.name)?;
    (!rollout::is_rolling(&d)).then(|| ObjectRef::from_obj(d.as_ref()))
}

fn error_policy(_d: Arc<Deployment>, err: &Error, _shared: Arc<Shared>) -> Action {
    let conflict = matches!(err, Error::Api(kube::Error::Api(e)) if e.code == 409);
    tracing::debug!(%err, "requeueing a deployment");
    Action::requeue(if conflict { Duration::from_millis(200) } else { Duration::from_secs(2) })
}

async fn reconcile(d: Arc<Deployment>, shared: Arc<Shared>) -> Result<Action, Error> {
    let namespace = d.namespace().unwrap_or_default();
    let Some(selector) = d.spec.as_ref().map(|s| s.selector.clone()) else { return Ok(Action::await_change()) };
    if selectors::is_empty(&selector) {
        shared.recorder.warning(
            d.as_ref(),
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.",
        );
        let observed = d.status.as_ref().and_then(|s| s.observed_generation);
        if observed < d.metadata.generation {
            let api: Api<Deployment> = Api::namespaced(shared.ctx.client.clone(), &namespace);
            let patch = serde_json::json!({"status": {"observedGeneration": d.metadata.generation}});
            api.patch_status(&d.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
        }
        return Ok(Action::await_change());
    }

    let candidates = shared.replica_sets.list(&namespace);
    let claimed = claim::claim(&shared.ctx.client, d.as_ref(), &selector, &candidates).await?;
    let mut sync =
        sync::Sync { shared: &shared, d: (*d).clone(), rss: claimed.iter().map(|rs| (**rs).clone()).collect() };

    if d.meta().deletion_timestamp.is_some() {
        sync.status_only().await?;
        return Ok(Action::await_change());
    }
    if let Some(next) = status::paused_conditions(&sync.d, Timestamp::now()) {
        sync.write_status(next).await?;
    }
    let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    if paused || sync.is_scaling_event().await? {
        sync.scale_only().await?;
    } else if rollout::is_rolling(&sync.d) {
        sync.rolling().await?;
    } else {
        sync.recreate().await?;
    }
    let status = sync.d.status.clone().unwrap_or_default();
    Ok(match status::recheck_after(&sync.d, &status, Timestamp::now()) {
        Some(seconds) if !paused => Action::requeue(Duration::from_secs(u64::try_from(seconds).unwrap_or(1))),
        _ => Action::await_change(),
    })
}
