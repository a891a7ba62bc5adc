//! The DaemonSet controller (upstream's `pkg/controller/daemon`): one pod per eligible node,
//! pinned to it by node affinity (the scheduler binds it), replaced on template changes by a
//! rolling update or on delete, with the template history kept as ControllerRevisions.
//!
//! - [`placement`]: which nodes should run the daemon (selector, affinity, taints) — pure.
//! - [`pods`]: the daemon pod (tolerations, labels, node pin) — pure.
//! - [`plan`]: what to create and delete now (manage + rolling update) — pure.
//! - [`expectations`]: writes in flight, so a lagging cache never doubles a pod.
//! - [`status`]: the status from nodes and pods — pure.
//! - this file: the kube-runtime controller; nodes re-trigger every DaemonSet only when
//!   something placement depends on changes (not on every heartbeat of 5,000 nodes).

pub mod expectations;
pub mod placement;
pub mod plan;
pub mod pods;
pub mod status;

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::events::Recorder;
use crate::history::{self, CONTROLLER_REVISION_HASH_LABEL};
use crate::statefulset::{bounded, pod_state, scaled};
use crate::{Context, Error, owners};
use expectations::Pending;
use plan::{DaemonPod, NodePods, Rollout};

/// Parallel writes per reconcile.
const WRITES_IN_FLIGHT: usize = 16;
/// Reconcile again after this long even without a change.
const RESYNC: Duration = Duration::from_secs(300);

struct State {
    client: Client,
    pods: Store<Pod>,
    nodes: Store<Node>,
    revisions: Store<ControllerRevision>,
    recorder: Recorder,
    /// Writes in flight per DaemonSet (`namespace/name`).
    pending: Mutex<HashMap<String, Pending>>,
}

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let daemonsets = ctx.informers.get::<DaemonSet>();
    let pods = ctx.informers.get::<Pod>();
    let nodes = ctx.informers.get::<Node>();
    let revisions = ctx.informers.get::<ControllerRevision>();
    daemonsets.ready().await;
    pods.ready().await;
    nodes.ready().await;
    revisions.ready().await;
    let state = Arc::new(State {
        client: ctx.client.clone(),
        pods: pods.store(),
        nodes: nodes.store(),
        revisions: revisions.store(),
        recorder: ctx.events.recorder("daemonset-controller"),
        pending: Mutex::default(),
    });
    let all_daemonsets = daemonsets.store();
    let node_cache = nodes.store();
    let fingerprints: Mutex<HashMap<String, u64>> = Mutex::default();
    let on_node = move |node: Arc<Node>| -> Vec<ObjectRef<DaemonSet>> {
        let name = node.name_any();
        let gone = node_cache.get(&ObjectRef::new(&name)).is_none();
        let mut seen = fingerprints.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let changed = if gone {
            seen.remove(&name).is_some()
        } else {
            seen.insert(name, placement_fingerprint(&node)) != Some(placement_fingerprint(&node))
        };
        if !changed {
            return Vec::new();
        }
        all_daemonsets.state().iter().map(|ds| ObjectRef::from_obj(ds.as_ref())).collect()
    };
    Controller::for_shared_stream(daemonsets.subscribe(), daemonsets.store())
        .owns_shared_stream(pods.subscribe())
        .watches_shared_stream(nodes.subscribe(), on_node)
        .with_config(Config::default().concurrency(ctx.options.concurrency))
        .run(reconcile, error_policy, state)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(%err, "daemonset reconcile failed");
            }
        })
        .await;
    Ok(())
}

/// What placement reads of a node (labels, taints, existence): heartbeats do not change it.
fn placement_fingerprint(node: &Node) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    node.metadata.labels.hash(&mut hasher);
    for taint in node.spec.as_ref().and_then(|s| s.taints.as_ref()).into_iter().flatten() {
        (&taint.key, &taint.value, &taint.effect).hash(&mut hasher);
    }
    hasher.finish()
}

fn error_policy(ds: Arc<DaemonSet>, err: &Error, _: Arc<State>) -> Action {
    tracing::warn!(daemonset = %ds.name_any(), %err, "daemonset sync failed; retrying");
    Action::requeue(Duration::from_secs(5))
}

/// The rollout budgets for `desired` nodes (upstream: both percentages round up; both zero
/// means one unavailable at a time).
pub fn rollout_of(ds: &DaemonSet, desired: i32) -> Rollout {
    let strategy = ds.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
    if strategy.and_then(|s| s.type_.as_deref()) == Some("OnDelete") {
        return Rollout::OnDelete;
    }
    let rolling = strategy.and_then(|s| s.rolling_update.as_ref());
    let budget = |value: Option<&k8s_openapi::apimachinery::pkg::util::intstr::IntOrString>, default: i32| {
        value.and_then(|v| scaled::scaled(v, desired, true)).unwrap_or(default).max(0)
    };
    let max_surge = budget(rolling.and_then(|r| r.max_surge.as_ref()), 0);
    let mut max_unavailable = budget(rolling.and_then(|r| r.max_unavailable.as_ref()), 1);
    if max_surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    Rollout::RollingUpdate { max_surge, max_unavailable }
}

fn daemon_pod(pod: &Pod, hash: &str, min_ready: i32, now: Timestamp, deleting: bool) -> DaemonPod {
    DaemonPod {
        name: pod.name_any(),
        updated: pod.labels().get(CONTROLLER_REVISION_HASH_LABEL).is_some_and(|h| h == hash),
        terminating: pod_state::is_terminating(pod) || deleting,
        failed: pod_state::phase(pod) == "Failed",
        available: pod_state::is_running_and_ready(pod) && pod_state::is_available(pod, min_ready, now),
        created: pod.metadata.creation_timestamp.as_ref().map_or(i64::MAX, |t| t.0.as_second()),
    }
}

async fn reconcile(ds: Arc<DaemonSet>, state: Arc<State>) -> Result<Action, Error> {
    if owners::is_deleting(&ds.metadata) {
        return Ok(Action::await_change());
    }
    let name = ds.name_any();
    let namespace = ds.namespace().unwrap_or_default();
    let uid = ds.uid().unwrap_or_default();
    let key = format!("{namespace}/{name}");
    let spec = ds.spec.as_ref().ok_or_else(|| Error::Invalid(format!("daemonset {key} has no spec")))?;

    let owned: Vec<Arc<Pod>> = state
        .pods
        .state()
        .into_iter()
        .filter(|p| {
            p.metadata.namespace.as_deref() == Some(namespace.as_str()) && owners::is_controlled_by(&p.metadata, &uid)
        })
        .collect();

    let revisions = history::owned_revisions(&state.revisions, &namespace, &uid);
    let collision_count = ds.status.as_ref().and_then(|s| s.collision_count).unwrap_or(0);
    let (update, collision_count) =
        history::ensure_update_revision(&state.client, ds.as_ref(), &revisions, &spec.template, collision_count)
            .await?;
    let hash = history::hash_of(&update);
    let template = pods::daemon_template(&ds, &spec.template, &hash);
    let template_spec = template.spec.clone().unwrap_or_default();

    let now = Timestamp::now();
    let instant = Instant::now();
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let pending = {
        let mut all = state.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let pending = all.entry(key.clone()).or_default();
        let names: HashSet<String> = owned.iter().map(|p| p.name_any()).collect();
        let live: HashSet<String> =
            owned.iter().filter(|p| !pod_state::is_terminating(p)).filter_map(|p| p.uid()).collect();
        pending.observe(|pod| names.contains(pod), |uid| live.contains(uid), instant);
        let snapshot = pending.clone();
        if snapshot.is_empty() {
            all.remove(&key);
        }
        snapshot
    };

    let mut by_node: HashMap<String, Vec<&Arc<Pod>>> = HashMap::new();
    for pod in &owned {
        if let Some(node) = pods::target_node(pod) {
            by_node.entry(node).or_default().push(pod);
        }
    }
    let nodes = state.nodes.state();
    let mut node_pods = Vec::with_capacity(nodes.len());
    let mut counts = Vec::with_capacity(nodes.len());
    for node in &nodes {
        let node_name = node.name_any();
        let placed = placement::placement(node, &template_spec);
        let on_node = by_node.get(&node_name).map(Vec::as_slice).unwrap_or_default();
        let mut daemon_pods: Vec<DaemonPod> = on_node
            .iter()
            .map(|p| daemon_pod(p, &hash, min_ready, now, p.uid().is_some_and(|u| pending.deleting(&u))))
            .collect();
        counts.push(status_count(placed.should_run, on_node, &hash, min_ready, now));
        // A pod created but not cached yet counts as there (not available, updated).
        daemon_pods.extend(pending.creating_on().filter(|(n, _)| *n == node_name).map(|(_, pod)| DaemonPod {
            name: pod.to_string(),
            updated: true,
            ..Default::default()
        }));
        node_pods.push(NodePods {
            node: node_name,
            should_run: placed.should_run,
            should_continue_running: placed.should_continue_running,
            pods: daemon_pods,
        });
    }
    let desired = i32::try_from(node_pods.iter().filter(|n| n.should_run).count()).unwrap_or(i32::MAX);
    let decided = plan::plan(&node_pods, rollout_of(&ds, desired));

    for failed in &decided.failed {
        let node =
            owned.iter().find(|p| p.name_any() == *failed).and_then(|p| pods::target_node(p)).unwrap_or_default();
        let message = format!("Found failed daemon pod {namespace}/{failed} on node {node}, will try to kill it");
        state.recorder.warning(ds.as_ref(), "FailedDaemonPod", message);
    }
    // Built in plain loops: closures over borrowed items would make this future not `Send`.
    let mut writes = Vec::with_capacity(decided.create_on.len() + decided.delete.len());
    for node in &decided.create_on {
        writes.push(futures::future::Either::Left(create_pod(&state, &ds, &template, node, &key)));
    }
    for name in &decided.delete {
        if let Some(pod) = owned.iter().find(|p| p.name_any() == *name) {
            writes.push(futures::future::Either::Right(delete_pod(&state, &ds, pod, &key)));
        }
    }
    let written = bounded(writes, WRITES_IN_FLIGHT).await;

    let new_status = status::compute(&ds, &counts, collision_count);
    if !crate::statefulset::status::equivalent(ds.status.as_ref(), &new_status) {
        let api: Api<DaemonSet> = Api::namespaced(state.client.clone(), &namespace);
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&json!({ "status": new_status }))).await?;
    }

    let hashes: HashSet<String> =
        owned.iter().filter_map(|p| p.labels().get(CONTROLLER_REVISION_HASH_LABEL).cloned()).collect();
    let mut live: HashSet<String> =
        revisions.iter().filter(|r| hashes.contains(&history::hash_of(r))).map(|r| r.name_any()).collect();
    live.insert(update.name_any());
    let limit = spec.revision_history_limit.unwrap_or(10);
    history::prune(&state.client, &namespace, history::revisions_to_prune(&revisions, &live, limit)).await?;

    written.into_iter().collect::<Result<Vec<()>, Error>>()?;
    let soonest = owned.iter().filter_map(|p| pod_state::until_available(p, min_ready, now)).min();
    let waiting = (!pending.is_empty()).then_some(expectations::TIMEOUT);
    let after = [soonest.map(|d| d + Duration::from_secs(1)), waiting].into_iter().flatten().min().unwrap_or(RESYNC);
    Ok(Action::requeue(after))
}

/// The status view of a node: its oldest non-terminating daemon pod.
fn status_count(
    should_run: bool,
    on_node: &[&Arc<Pod>],
    hash: &str,
    min_ready: i32,
    now: Timestamp,
) -> status::NodeCount {
    let oldest = on_node
        .iter()
        .filter(|p| !pod_state::is_terminating(p))
        .min_by_key(|p| (p.metadata.creation_timestamp.as_ref().map(|t| t.0), p.name_any()))
        .map(|p| {
            let ready = pod_state::is_running_and_ready(p);
            let updated = p.labels().get(CONTROLLER_REVISION_HASH_LABEL).is_some_and(|h| h == hash);
            (ready, ready && pod_state::is_available(p, min_ready, now), updated)
        });
    status::NodeCount { should_run, oldest }
}

async fn create_pod(
    state: &State,
    ds: &DaemonSet,
    template: &k8s_openapi::api::core::v1::PodTemplateSpec,
    node: &str,
    key: &str,
) -> Result<(), Error> {
    let api: Api<Pod> = Api::namespaced(state.client.clone(), &ds.namespace().unwrap_or_default());
    match api.create(&PostParams::default(), &pods::new_pod(ds, template, node)).await {
        Ok(created) => {
            let pod = created.name_any();
            state
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(key.to_string())
                .or_default()
                .created(pod.clone(), node.to_string(), Instant::now());
            state.recorder.normal(ds, "SuccessfulCreate", format!("Created pod: {pod}"));
            Ok(())
        }
        Err(err) => {
            state.recorder.warning(ds, "FailedCreate", format!("Error creating: {err}"));
            Err(err.into())
        }
    }
}

async fn delete_pod(state: &State, ds: &DaemonSet, pod: &Pod, key: &str) -> Result<(), Error> {
    let api: Api<Pod> = Api::namespaced(state.client.clone(), &ds.namespace().unwrap_or_default());
    let params = DeleteParams {
        preconditions: Some(Preconditions { uid: pod.uid(), resource_version: None }),
        ..Default::default()
    };
    match api.delete(&pod.name_any(), &params).await {
        Ok(_) => {
            if let Some(uid) = pod.uid() {
                state
                    .pending
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .entry(key.to_string())
                    .or_default()
                    .deleted(uid, Instant::now());
            }
            state.recorder.normal(ds, "SuccessfulDelete", format!("Deleted pod: {}", pod.name_any()));
            Ok(())
        }
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Ok(()),
        Err(err) => {
            state.recorder.warning(ds, "FailedDelete", format!("Error deleting: {err}"));
            Err(err.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DaemonSetSpec, DaemonSetUpdateStrategy, RollingUpdateDaemonSet};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn with_strategy(kind: &str, surge: Option<IntOrString>, unavailable: Option<IntOrString>) -> DaemonSet {
        DaemonSet {
            spec: Some(DaemonSetSpec {
                update_strategy: Some(DaemonSetUpdateStrategy {
                    type_: Some(kind.into()),
                    rolling_update: Some(RollingUpdateDaemonSet { max_surge: surge, max_unavailable: unavailable }),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn rollout_budgets_scale_with_desired_nodes() {
        assert_eq!(rollout_of(&DaemonSet::default(), 10), Rollout::RollingUpdate { max_surge: 0, max_unavailable: 1 });
        let pct = with_strategy("RollingUpdate", Some(IntOrString::String("10%".into())), Some(IntOrString::Int(0)));
        assert_eq!(rollout_of(&pct, 15), Rollout::RollingUpdate { max_surge: 2, max_unavailable: 0 });
        let zero = with_strategy("RollingUpdate", Some(IntOrString::Int(0)), Some(IntOrString::Int(0)));
        assert_eq!(rollout_of(&zero, 5), Rollout::RollingUpdate { max_surge: 0, max_unavailable: 1 });
        assert_eq!(rollout_of(&with_strategy("OnDelete", None, None), 5), Rollout::OnDelete);
    }

    #[test]
    fn node_fingerprint_ignores_status_but_not_labels_or_taints() {
        let mut node = Node::default();
        let before = placement_fingerprint(&node);
        node.status = Some(Default::default());
        assert_eq!(placement_fingerprint(&node), before);
        node.metadata.labels = Some([("a".to_string(), "b".to_string())].into());
        assert_ne!(placement_fingerprint(&node), before);
    }
}
