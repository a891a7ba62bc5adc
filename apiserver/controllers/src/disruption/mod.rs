//! The disruption controller (upstream `pkg/controller/disruption`): keeps each
//! PodDisruptionBudget's status current — the pods its selector matches, how many of them
//! are healthy (Ready and not being deleted), how many must be ([`budget`]), and so how many
//! may be disrupted now. The eviction subresource reads `status.disruptionsAllowed`.
//!
//! Expected pods come from the selected pods' controllers, read from the shared caches:
//! a Deployment's replicas for its ReplicaSets' pods, else a ReplicaSet's, StatefulSet's or
//! ReplicationController's; pods of other controllers count as themselves.

pub mod budget;
pub mod scale;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::json;

use crate::events::Recorder;
use crate::{Context, Error, selectors};
use budget::Observed;
use scale::{Controllers, Scale};

/// Changes within this window are one sync.
const DEBOUNCE: Duration = Duration::from_millis(200);
/// How long an eviction recorded in `status.disruptedPods` keeps its pod out of the healthy
/// count without the pod going away (upstream `DeletionTimeout`, 2 minutes).
const DISRUPTION_TIMEOUT: SignedDuration = SignedDuration::from_secs(120);

struct Shared {
    ctx: Arc<Context>,
    pods: Store<Pod>,
    controllers: Controllers,
    recorder: Recorder,
}

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let budgets = ctx.informers.get::<PodDisruptionBudget>();
    let pods = ctx.informers.get::<Pod>();
    let deployments = ctx.informers.get::<Deployment>();
    let replica_sets = ctx.informers.get::<ReplicaSet>();
    let stateful_sets = ctx.informers.get::<StatefulSet>();
    let replication_controllers = ctx.informers.get::<ReplicationController>();
    let shared = Arc::new(Shared {
        ctx: ctx.clone(),
        pods: pods.store(),
        controllers: Controllers {
            deployments: deployments.store(),
            replica_sets: replica_sets.store(),
            stateful_sets: stateful_sets.store(),
            replication_controllers: replication_controllers.store(),
        },
        recorder: ctx.events.recorder("controllermanager"),
    });
    let store = budgets.store();
    let for_pod = store.clone();
    let (for_deployment, for_rs, for_sts) = (store.clone(), store.clone(), store.clone());
    Controller::for_shared_stream(budgets.subscribe(), budgets.store())
        .watches_shared_stream(pods.subscribe(), move |pod: Arc<Pod>| budgets_of_pod(&for_pod, &pod))
        .watches_shared_stream(deployments.subscribe(), move |d: Arc<Deployment>| {
            budgets_in(&for_deployment, d.namespace())
        })
        .watches_shared_stream(replica_sets.subscribe(), move |r: Arc<ReplicaSet>| budgets_in(&for_rs, r.namespace()))
        .watches_shared_stream(stateful_sets.subscribe(), move |s: Arc<StatefulSet>| {
            budgets_in(&for_sts, s.namespace())
        })
        .with_config(Config::default().concurrency(ctx.options.concurrency).debounce(DEBOUNCE))
        .run(reconcile, error_policy, shared)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(%err, "disruption budget sync failed");
            }
        })
        .await;
    Ok(())
}

/// The budgets whose selector matches the pod.
fn budgets_of_pod(budgets: &Store<PodDisruptionBudget>, pod: &Pod) -> Vec<ObjectRef<PodDisruptionBudget>> {
    let namespace = pod.namespace();
    budgets
        .state()
        .iter()
        .filter(|b| b.namespace() == namespace)
        .filter(|b| selectors::matches(b.spec.as_ref().and_then(|s| s.selector.as_ref()), pod.metadata.labels.as_ref()))
        .map(|b| ObjectRef::from_obj(b.as_ref()))
        .collect()
}

/// Every budget of a namespace (a controller's scale changed there).
fn budgets_in(budgets: &Store<PodDisruptionBudget>, namespace: Option<String>) -> Vec<ObjectRef<PodDisruptionBudget>> {
    budgets.state().iter().filter(|b| b.namespace() == namespace).map(|b| ObjectRef::from_obj(b.as_ref())).collect()
}

fn error_policy(_budget: Arc<PodDisruptionBudget>, err: &Error, _shared: Arc<Shared>) -> Action {
    tracing::debug!(%err, "requeueing disruption budget after a failed sync");
    Action::requeue(Duration::from_secs(2))
}

async fn reconcile(pdb: Arc<PodDisruptionBudget>, shared: Arc<Shared>) -> Result<Action, Error> {
    let namespace = pdb.namespace().unwrap_or_default();
    let spec = pdb.spec.clone().unwrap_or_default();
    let generation = pdb.metadata.generation.unwrap_or(0);
    let current = pdb.status.clone().unwrap_or_default();
    let now = Timestamp::now();

    let pods: Vec<Arc<Pod>> = shared
        .pods
        .state()
        .into_iter()
        .filter(|p| p.namespace().as_deref() == Some(namespace.as_str()))
        .filter(|p| selectors::matches(spec.selector.as_ref(), p.metadata.labels.as_ref()))
        .collect();
    if pods.is_empty() {
        shared.recorder.normal(pdb.as_ref(), "NoPods", "No matching pods found");
    }

    // Evictions not yet carried out keep their pods out of the healthy count for a while.
    let disrupted: std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::apis::meta::v1::Time> = current
        .disrupted_pods
        .iter()
        .flatten()
        .filter(|(name, at)| {
            pods.iter().any(|p| &p.name_any() == *name && p.metadata.deletion_timestamp.is_none())
                && at.0.checked_add(DISRUPTION_TIMEOUT).is_ok_and(|expiry| expiry > now)
        })
        .map(|(name, at)| (name.clone(), at.clone()))
        .collect();
    let current_healthy = pods
        .iter()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none()
                && !disrupted.contains_key(&p.name_any())
                && crate::replicaset::pods::is_ready(p)
        })
        .count();

    let Scale { total, unmanaged } = shared.controllers.expected_scale(&namespace, pods.iter().map(Arc::as_ref));
    if unmanaged > 0 && budget::needs_scale(&spec) {
        let selector = spec.selector.as_ref().map(selectors::to_query).unwrap_or_default();
        shared.recorder.warning(
            pdb.as_ref(),
            "UnmanagedPods",
            format!(
                "Pods selected by this PodDisruptionBudget (selector: {selector}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value."
            ),
        );
    }
    let selected = i32::try_from(pods.len()).unwrap_or(i32::MAX);
    let mut next = match budget::expected_and_desired(&spec, selected, total) {
        Ok((expected, desired_healthy)) => {
            let observed = Observed {
                expected,
                desired_healthy,
                current_healthy: i32::try_from(current_healthy).unwrap_or(i32::MAX),
                generation,
            };
            budget::next_status(&current, observed, now)
        }
        Err(err) => {
            shared.recorder.warning(
                pdb.as_ref(),
                "CalculateExpectedPodCountFailed",
                format!("Failed to calculate the number of expected pods: {err}"),
            );
            budget::failed_status(&current, generation, &err.to_string(), now)
        }
    };
    next.disrupted_pods = (!disrupted.is_empty()).then_some(disrupted);

    if next != current {
        let api: Api<PodDisruptionBudget> = Api::namespaced(shared.ctx.client.clone(), &namespace);
        let mut status = serde_json::to_value(&next).map_err(|e| Error::Invalid(e.to_string()))?;
        if next.disrupted_pods.is_none() {
            status["disruptedPods"] = serde_json::Value::Null;
        }
        api.patch_status(&pdb.name_any(), &PatchParams::default(), &Patch::Merge(&json!({ "status": status }))).await?;
    }
    // Entries of disruptedPods expire on their own: look again when the first does.
    let recheck = next.disrupted_pods.iter().flatten().map(|(_, at)| at.0).min();
    Ok(match recheck {
        Some(at) => {
            Action::requeue(Duration::from_secs(at.duration_since(now).as_secs().clamp(1, 120).unsigned_abs() + 1))
        }
        None => Action::await_change(),
    })
}
