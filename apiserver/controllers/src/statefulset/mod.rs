//! The StatefulSet controller (upstream's `pkg/controller/statefulset`): pods with stable names
//! `<set>-<ordinal>` and storage, created and deleted in order, rolled to a new template from
//! the highest ordinal down, with the template history kept as ControllerRevisions.
//!
//! - [`plan`]: which pods to create or delete now (pure; ordering, partition, maxUnavailable).
//! - [`identity`]: the pod and PVC objects, PVC owner references for the retention policy.
//! - [`status`]: the status from the pods; [`pod_state`]: pod readiness helpers.
//! - this file: the kube-runtime controller reading the shared caches and writing the steps.
//!
//! Pod names are fixed, so a stale cache cannot make this controller create twice: a second
//! create of `web-0` fails with AlreadyExists and a second delete is a no-op (deletes carry a
//! UID precondition so a replacement is never deleted by mistake).

pub mod identity;
pub mod plan;
pub mod pod_state;
pub mod scaled;
pub mod status;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodTemplateSpec};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::events::Recorder;
use crate::history::{self, CONTROLLER_REVISION_HASH_LABEL};
use crate::{Context, Error, owners};
use plan::{Management, Replica, Revision, Shape, Step, Strategy};

/// Parallel writes per reconcile (Parallel management, big scale-ups).
const WRITES_IN_FLIGHT: usize = 16;
/// Reconcile again after this long even without a change (a safety net, as upstream's resync).
const RESYNC: Duration = Duration::from_secs(300);

struct State {
    client: Client,
    pods: Store<Pod>,
    revisions: Store<ControllerRevision>,
    claims: Store<PersistentVolumeClaim>,
    recorder: Recorder,
}

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let sets = ctx.informers.get::<StatefulSet>();
    let pods = ctx.informers.get::<Pod>();
    let revisions = ctx.informers.get::<ControllerRevision>();
    let claims = ctx.informers.get::<PersistentVolumeClaim>();
    sets.ready().await;
    pods.ready().await;
    revisions.ready().await;
    claims.ready().await;
    let state = Arc::new(State {
        client: ctx.client.clone(),
        pods: pods.store(),
        revisions: revisions.store(),
        claims: claims.store(),
        recorder: ctx.events.recorder("statefulset-controller"),
    });
    Controller::for_shared_stream(sets.subscribe(), sets.store())
        .owns_shared_stream(pods.subscribe())
        .with_config(Config::default().concurrency(ctx.options.concurrency))
        .run(reconcile, error_policy, state)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(%err, "statefulset reconcile failed");
            }
        })
        .await;
    Ok(())
}

fn error_policy(set: Arc<StatefulSet>, err: &Error, _: Arc<State>) -> Action {
    tracing::warn!(statefulset = %set.name_any(), %err, "statefulset sync failed; retrying");
    Action::requeue(Duration::from_secs(5))
}

/// The planner's view of the set's spec (defaults as upstream).
pub fn shape_of(set: &StatefulSet) -> Shape {
    let spec = set.spec.as_ref();
    let replicas = spec.and_then(|s| s.replicas).unwrap_or(1);
    let start = spec.and_then(|s| s.ordinals.as_ref()).and_then(|o| o.start).unwrap_or(0);
    let management = match spec.and_then(|s| s.pod_management_policy.as_deref()) {
        Some("Parallel") => Management::Parallel,
        _ => Management::OrderedReady,
    };
    let update = spec.and_then(|s| s.update_strategy.as_ref());
    let strategy = match update.and_then(|u| u.type_.as_deref()) {
        Some("OnDelete") => Strategy::OnDelete,
        _ => {
            let rolling = update.and_then(|u| u.rolling_update.as_ref());
            let partition = rolling.and_then(|r| r.partition).unwrap_or(0);
            let max_unavailable = rolling
                .and_then(|r| r.max_unavailable.as_ref())
                .and_then(|m| scaled::scaled(m, replicas, false))
                .unwrap_or(1)
                .max(1);
            Strategy::RollingUpdate { partition, max_unavailable }
        }
    };
    Shape { replicas, start, management, strategy }
}

fn revision_label(pod: &Pod) -> Option<&String> {
    pod.metadata.labels.as_ref().and_then(|l| l.get(CONTROLLER_REVISION_HASH_LABEL))
}

/// The planner's view of one pod.
fn replica_of(ordinal: i32, pod: &Pod, update_revision: &str, min_ready: i32, now: Timestamp) -> Replica {
    Replica {
        ordinal,
        updated: revision_label(pod).is_some_and(|r| r == update_revision),
        terminating: pod_state::is_terminating(pod),
        finished: pod_state::is_finished(pod),
        available: pod_state::is_running_and_ready(pod) && pod_state::is_available(pod, min_ready, now),
    }
}

async fn reconcile(set: Arc<StatefulSet>, state: Arc<State>) -> Result<Action, Error> {
    if owners::is_deleting(&set.metadata) {
        // Its pods go with it through the garbage collector.
        return Ok(Action::await_change());
    }
    let name = set.name_any();
    let namespace = set.namespace().unwrap_or_default();
    let uid = set.uid().unwrap_or_default();
    let spec =
        set.spec.as_ref().ok_or_else(|| Error::Invalid(format!("statefulset {namespace}/{name} has no spec")))?;

    let pods: Vec<Arc<Pod>> = state
        .pods
        .state()
        .into_iter()
        .filter(|p| {
            p.metadata.namespace.as_deref() == Some(namespace.as_str()) && owners::is_controlled_by(&p.metadata, &uid)
        })
        .collect();
    let by_ordinal: HashMap<i32, &Arc<Pod>> =
        pods.iter().filter_map(|p| identity::ordinal_of(&name, &p.name_any()).map(|o| (o, p))).collect();

    let revisions = history::owned_revisions(&state.revisions, &namespace, &uid);
    let collision_count = set.status.as_ref().and_then(|s| s.collision_count).unwrap_or(0);
    let (update, collision_count) =
        history::ensure_update_revision(&state.client, set.as_ref(), &revisions, &spec.template, collision_count)
            .await?;
    let update_name = update.name_any();
    let current = set
        .status
        .as_ref()
        .and_then(|s| s.current_revision.as_ref())
        .and_then(|current| revisions.iter().find(|r| r.name_any() == *current))
        .map(|r| (**r).clone())
        .unwrap_or_else(|| update.clone());
    let current_name = current.name_any();
    let current_template = history::template_of(&current).unwrap_or_else(|| spec.template.clone());

    let now = Timestamp::now();
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let shape = shape_of(&set);
    let replicas: Vec<Replica> =
        by_ordinal.iter().map(|(ordinal, pod)| replica_of(*ordinal, pod, &update_name, min_ready, now)).collect();
    let steps = plan::plan(&shape, &replicas);

    sync_claim_owners(&state, &set, &by_ordinal, &shape).await?;

    let templates = Templates {
        current: (&current_template, current_name.as_str()),
        update: (&spec.template, update_name.as_str()),
    };
    let writes: Vec<_> = steps.into_iter().map(|step| execute(&state, &set, &by_ordinal, &templates, step)).collect();
    let results = bounded(writes, WRITES_IN_FLIGHT).await;

    let pod_refs: Vec<&Pod> = pods.iter().map(|p| &**p).collect();
    let revision_names = status::Revisions { current: &current_name, update: &update_name, collision_count };
    let new_status = status::compute(&set, &pod_refs, &revision_names, now);
    if !status::equivalent(set.status.as_ref(), &new_status) {
        let api: Api<StatefulSet> = Api::namespaced(state.client.clone(), &namespace);
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&json!({ "status": new_status }))).await?;
    }

    let mut live: HashSet<String> = pods.iter().filter_map(|p| revision_label(p).cloned()).collect();
    live.insert(current_name);
    live.insert(update_name);
    let limit = spec.revision_history_limit.unwrap_or(10);
    history::prune(&state.client, &namespace, history::revisions_to_prune(&revisions, &live, limit)).await?;

    results.into_iter().collect::<Result<Vec<()>, Error>>()?;
    let soonest = pods.iter().filter_map(|p| pod_state::until_available(p, min_ready, now)).min();
    Ok(Action::requeue(soonest.map_or(RESYNC, |d| d + Duration::from_secs(1))))
}

/// Runs `writes` with at most `limit` in flight, returning every result.
pub async fn bounded<F: Future>(writes: Vec<F>, limit: usize) -> Vec<F::Output> {
    let mut pending = writes.into_iter();
    let mut running = futures::stream::FuturesUnordered::new();
    let mut results = Vec::with_capacity(pending.len());
    loop {
        while running.len() < limit.max(1) {
            let Some(write) = pending.next() else { break };
            running.push(write);
        }
        match running.next().await {
            Some(result) => results.push(result),
            None => return results,
        }
    }
}

/// The templates (and revision names) new pods are made from.
struct Templates<'a> {
    current: (&'a PodTemplateSpec, &'a str),
    update: (&'a PodTemplateSpec, &'a str),
}

async fn execute(
    state: &State,
    set: &StatefulSet,
    by_ordinal: &HashMap<i32, &Arc<Pod>>,
    templates: &Templates<'_>,
    step: Step,
) -> Result<(), Error> {
    let namespace = set.namespace().unwrap_or_default();
    let pods: Api<Pod> = Api::namespaced(state.client.clone(), &namespace);
    match step {
        Step::Create { ordinal, revision } => {
            let (template, revision) = match revision {
                Revision::Current => templates.current,
                Revision::Update => templates.update,
            };
            let pod = identity::new_pod(set, template, revision, ordinal);
            create_claims(state, set, ordinal, &pod.name_any()).await?;
            match pods.create(&PostParams::default(), &pod).await {
                Ok(_) => {
                    let message = format!("create Pod {} in StatefulSet {} successful", pod.name_any(), set.name_any());
                    state.recorder.normal(set, "SuccessfulCreate", message);
                    Ok(())
                }
                // Our cache had not seen it yet: the create of an earlier pass stands.
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
                Err(err) => {
                    let message =
                        format!("create Pod {} in StatefulSet {} failed error: {err}", pod.name_any(), set.name_any());
                    state.recorder.warning(set, "FailedCreate", message);
                    Err(err.into())
                }
            }
        }
        Step::Delete { ordinal, reason } => {
            let Some(pod) = by_ordinal.get(&ordinal) else { return Ok(()) };
            tracing::debug!(statefulset = %set.name_any(), pod = %pod.name_any(), ?reason, "deleting pod");
            let params = DeleteParams {
                preconditions: Some(Preconditions { uid: pod.uid(), resource_version: None }),
                ..Default::default()
            };
            match pods.delete(&pod.name_any(), &params).await {
                Ok(_) => {
                    let message = format!("delete Pod {} in StatefulSet {} successful", pod.name_any(), set.name_any());
                    state.recorder.normal(set, "SuccessfulDelete", message);
                    Ok(())
                }
                Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Ok(()),
                Err(err) => {
                    let message =
                        format!("delete Pod {} in StatefulSet {} failed error: {err}", pod.name_any(), set.name_any());
                    state.recorder.warning(set, "FailedDelete", message);
                    Err(err.into())
                }
            }
        }
    }
}

/// Creates the PVCs of the pod at `ordinal` that do not exist yet (before the pod, so it
/// never starts without its storage).
async fn create_claims(state: &State, set: &StatefulSet, ordinal: i32, pod_name: &str) -> Result<(), Error> {
    let namespace = set.namespace().unwrap_or_default();
    let api: Api<PersistentVolumeClaim> = Api::namespaced(state.client.clone(), &namespace);
    let retention = identity::Retention::of(set);
    for mut claim in identity::new_claims(set, ordinal) {
        let key = ObjectRef::<PersistentVolumeClaim>::new(&claim.name_any()).within(&namespace);
        if state.claims.get(&key).is_some() {
            continue;
        }
        if let Some(refs) = identity::claim_owner_refs(&[], set, None, false, retention) {
            claim.metadata.owner_references = Some(refs);
        }
        match api.create(&PostParams::default(), &claim).await {
            Ok(_) => {
                let message = format!(
                    "create Claim {} Pod {pod_name} in StatefulSet {} success",
                    claim.name_any(),
                    set.name_any()
                );
                state.recorder.normal(set, "SuccessfulCreate", message);
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(err) => {
                let message = format!(
                    "create Claim {} for Pod {pod_name} in StatefulSet {} failed error: {err}",
                    claim.name_any(),
                    set.name_any()
                );
                state.recorder.warning(set, "FailedCreate", message);
                return Err(err.into());
            }
        }
    }
    Ok(())
}

/// Gives the existing claims of the set's pods the owners the retention policy asks for.
async fn sync_claim_owners(
    state: &State,
    set: &StatefulSet,
    by_ordinal: &HashMap<i32, &Arc<Pod>>,
    shape: &Shape,
) -> Result<(), Error> {
    let templates = set.spec.as_ref().and_then(|s| s.volume_claim_templates.as_deref()).unwrap_or_default();
    if templates.is_empty() {
        return Ok(());
    }
    let namespace = set.namespace().unwrap_or_default();
    let api: Api<PersistentVolumeClaim> = Api::namespaced(state.client.clone(), &namespace);
    let retention = identity::Retention::of(set);
    let in_range = (shape.start..shape.start + shape.replicas.max(0)).filter(|o| !by_ordinal.contains_key(o));
    let ordinals: Vec<i32> = by_ordinal.keys().copied().chain(in_range).collect();
    for ordinal in ordinals {
        let pod: Option<&Pod> = by_ordinal.get(&ordinal).map(|p| &***p);
        let scaled_down = ordinal < shape.start || ordinal >= shape.start + shape.replicas;
        for template in templates {
            let claim_name = identity::claim_name(&template.name_any(), &set.name_any(), ordinal);
            let Some(claim) = state.claims.get(&ObjectRef::new(&claim_name).within(&namespace)) else { continue };
            let existing = claim.metadata.owner_references.clone().unwrap_or_default();
            let Some(refs) = identity::claim_owner_refs(&existing, set, pod, scaled_down, retention) else { continue };
            let patch = json!({ "metadata": { "ownerReferences": refs } });
            match api.patch(&claim_name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{
        RollingUpdateStatefulSetStrategy, StatefulSetOrdinals, StatefulSetSpec, StatefulSetUpdateStrategy,
    };
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    #[test]
    fn shape_reads_defaults_and_strategy() {
        let mut set = StatefulSet { spec: Some(StatefulSetSpec::default()), ..Default::default() };
        assert_eq!(
            shape_of(&set),
            Shape {
                replicas: 1,
                start: 0,
                management: Management::OrderedReady,
                strategy: Strategy::RollingUpdate { partition: 0, max_unavailable: 1 }
            }
        );
        let spec = set.spec.as_mut().unwrap();
        spec.replicas = Some(8);
        spec.ordinals = Some(StatefulSetOrdinals { start: Some(3) });
        spec.pod_management_policy = Some("Parallel".into());
        spec.update_strategy = Some(StatefulSetUpdateStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateStatefulSetStrategy {
                partition: Some(2),
                max_unavailable: Some(IntOrString::String("50%".into())),
            }),
        });
        assert_eq!(
            shape_of(&set),
            Shape {
                replicas: 8,
                start: 3,
                management: Management::Parallel,
                strategy: Strategy::RollingUpdate { partition: 2, max_unavailable: 4 }
            }
        );
        set.spec.as_mut().unwrap().update_strategy =
            Some(StatefulSetUpdateStrategy { type_: Some("OnDelete".into()), rolling_update: None });
        assert_eq!(shape_of(&set).strategy, Strategy::OnDelete);
    }
}
