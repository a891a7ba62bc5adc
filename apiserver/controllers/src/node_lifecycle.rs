//! Node lifecycle: a node whose heartbeats (its Lease renewals and status updates) stop for
//! the grace period gets its conditions set to Unknown and its pods marked not ready; nodes
//! get the `node.kubernetes.io/not-ready` / `unreachable` / `unschedulable` taints their
//! state calls for; pods on a node with a NoExecute taint they do not tolerate are evicted
//! (at once, or after their `tolerationSeconds`); pods bound to a node that no longer exists
//! are deleted (upstream's pod GC).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use serde_json::json;
use tokio::time::Instant;

use crate::daemonset::placement::tolerates;
use crate::{Context, Error};

pub const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";
pub const UNSCHEDULABLE_TAINT: &str = "node.kubernetes.io/unschedulable";
const LEASE_NAMESPACE: &str = "kube-node-lease";
/// Conditions a silent node's kubelet can no longer vouch for.
const KUBELET_CONDITIONS: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let nodes = ctx.informers.get::<Node>();
    let leases = ctx.informers.get::<Lease>();
    let pods = ctx.informers.get::<Pod>();
    nodes.ready().await;
    leases.ready().await;
    pods.ready().await;
    let period = ctx.options.node_monitor_period.min(ctx.options.node_monitor_grace_period / 4);
    let mut ticks = tokio::time::interval(period.max(Duration::from_millis(200)));
    let mut heartbeats: HashMap<String, (String, Instant)> = HashMap::new();
    let recorder = ctx.events.recorder("node-controller");
    loop {
        ticks.tick().await;
        let now = Instant::now();
        let node_list = nodes.store().state();
        heartbeats.retain(|name, _| node_list.iter().any(|n| n.metadata.name.as_deref() == Some(name.as_str())));
        for node in &node_list {
            let name = node.name_any();
            let lease = leases.store().get(&ObjectRef::new(&name).within(LEASE_NAMESPACE));
            let marker = heartbeat_marker(node, lease.as_deref());
            let seen = heartbeats.entry(name.clone()).or_insert_with(|| (marker.clone(), now));
            if seen.0 != marker {
                *seen = (marker, now);
            }
            let silent = now.duration_since(seen.1) > ctx.options.node_monitor_grace_period;
            if let Err(err) = check_node(&ctx, &recorder, node, silent).await {
                tracing::debug!(node = name, %err, "node lifecycle: will retry");
            }
        }
        if let Err(err) = evict_and_collect(&ctx, &recorder, &node_list).await {
            tracing::debug!(%err, "node lifecycle: eviction pass failed; will retry");
        }
    }
}

/// What changes when the node's kubelet is heard from.
fn heartbeat_marker(node: &Node, lease: Option<&Lease>) -> String {
    let renew = lease.and_then(|l| l.spec.as_ref()?.renew_time.as_ref()).map(|t| t.0.to_string());
    let beat = condition(node, "Ready").and_then(|c| c.last_heartbeat_time.as_ref()).map(|t| t.0.to_string());
    format!("{}|{}", renew.unwrap_or_default(), beat.unwrap_or_default())
}

fn condition<'a>(node: &'a Node, type_: &str) -> Option<&'a NodeCondition> {
    node.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == type_)
}

/// The taints a node's state calls for (upstream's TaintNodesByCondition and taint-based
/// eviction), besides whatever other taints it carries.
pub fn managed_taints(node: &Node, now: Timestamp) -> Vec<Taint> {
    let taint = |key: &str, effect: &str| Taint {
        key: key.into(),
        effect: effect.into(),
        time_added: (effect == "NoExecute").then_some(Time(now)),
        value: None,
    };
    let mut taints = Vec::new();
    match condition(node, "Ready").map(|c| c.status.as_str()) {
        Some("True") => {}
        Some("Unknown") => {
            taints.push(taint(UNREACHABLE_TAINT, "NoSchedule"));
            taints.push(taint(UNREACHABLE_TAINT, "NoExecute"));
        }
        _ => {
            taints.push(taint(NOT_READY_TAINT, "NoSchedule"));
            taints.push(taint(NOT_READY_TAINT, "NoExecute"));
        }
    }
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        taints.push(taint(UNSCHEDULABLE_TAINT, "NoSchedule"));
    }
    taints
}

fn is_managed(taint: &Taint) -> bool {
    [NOT_READY_TAINT, UNREACHABLE_TAINT, UNSCHEDULABLE_TAINT].contains(&taint.key.as_str())
}

/// The node's taints with ours brought up to date (`None`: nothing to change). A taint that
/// stays keeps its `timeAdded`, which eviction deadlines count from.
pub fn updated_taints(node: &Node, now: Timestamp) -> Option<Vec<Taint>> {
    let current: Vec<Taint> = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
    let wanted = managed_taints(node, now);
    let same_key = |a: &Taint, b: &Taint| a.key == b.key && a.effect == b.effect;
    let have: Vec<&Taint> = current.iter().filter(|t| is_managed(t)).collect();
    if have.len() == wanted.len() && wanted.iter().all(|w| have.iter().any(|h| same_key(h, w))) {
        return None;
    }
    let mut taints: Vec<Taint> = current.iter().filter(|t| !is_managed(t)).cloned().collect();
    for w in wanted {
        taints.push(have.iter().find(|h| same_key(h, &w)).map(|h| (*h).clone()).unwrap_or(w));
    }
    Some(taints)
}

async fn check_node(ctx: &Context, recorder: &crate::events::Recorder, node: &Node, silent: bool) -> Result<(), Error> {
    let name = node.name_any();
    let api: Api<Node> = Api::all(ctx.client.clone());
    let ready = condition(node, "Ready").map(|c| c.status.clone());
    if silent && ready.as_deref() != Some("Unknown") {
        let now = Time(Timestamp::now());
        let mut conditions: Vec<NodeCondition> =
            node.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
        for type_ in KUBELET_CONDITIONS {
            let fresh = NodeCondition {
                type_: type_.into(),
                status: "Unknown".into(),
                reason: Some("NodeStatusUnknown".into()),
                message: Some("Kubelet stopped posting node status.".into()),
                last_transition_time: Some(now.clone()),
                last_heartbeat_time: None,
            };
            match conditions.iter_mut().find(|c| c.type_ == type_) {
                Some(existing) => {
                    let heartbeat = existing.last_heartbeat_time.clone();
                    *existing = NodeCondition { last_heartbeat_time: heartbeat, ..fresh };
                }
                None => conditions.push(NodeCondition { status: "Unknown".into(), ..fresh }),
            }
        }
        let patch = json!({"status": {"conditions": conditions}});
        api.patch_status(&name, &PatchParams::default(), &Patch::Strategic(&patch)).await?;
        recorder.normal(node, "NodeNotReady", format!("Node {name} status is now: NodeNotReady"));
        mark_pods_not_ready(ctx, &name).await;
        // The taints follow on the next pass, from the new condition.
        return Ok(());
    }
    if let Some(taints) = updated_taints(node, Timestamp::now()) {
        let patch = json!({"metadata": {"resourceVersion": node.resource_version()}, "spec": {"taints": taints}});
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    }
    Ok(())
}

/// Upstream's `MarkPodsNotReady`: the pods of a silent node stop being Ready (services
/// stop sending them traffic) even though nobody can ask the kubelet.
async fn mark_pods_not_ready(ctx: &Context, node: &str) {
    let pods = ctx.informers.get::<Pod>().store().state();
    for pod in pods.iter().filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node)) {
        let Some(conditions) = pod.status.as_ref().and_then(|s| s.conditions.clone()) else { continue };
        if !conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True") {
            continue;
        }
        let conditions: Vec<_> = conditions
            .into_iter()
            .map(|mut c| {
                if c.type_ == "Ready" {
                    c.status = "False".into();
                    c.last_transition_time = Some(Time(Timestamp::now()));
                }
                c
            })
            .collect();
        let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
        let patch = json!({"status": {"conditions": conditions}});
        if let Err(err) = api.patch_status(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
            tracing::debug!(pod = pod.name_any(), %err, "not marked not ready");
        }
    }
}

/// When a pod must leave a node because of its NoExecute taints: `None` never, otherwise
/// the earliest deadline (a taint nothing tolerates: at once; tolerated for N seconds: N
/// seconds after the taint was added).
pub fn eviction_deadline(pod: &Pod, taints: &[Taint], now: Timestamp) -> Option<Timestamp> {
    let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.clone()).unwrap_or_default();
    let mut deadline: Option<Timestamp> = None;
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        let matching: Vec<&Toleration> = tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Some(now);
        }
        // Tolerated forever if any matching toleration has no limit.
        if matching.iter().any(|t| t.toleration_seconds.is_none()) {
            continue;
        }
        let seconds = matching.iter().filter_map(|t| t.toleration_seconds).min().unwrap_or(0).max(0);
        let added = taint.time_added.as_ref().map(|t| t.0).unwrap_or(now);
        let due = added.checked_add(SignedDuration::from_secs(seconds)).unwrap_or(now);
        deadline = Some(deadline.map_or(due, |d| d.min(due)));
    }
    deadline
}

async fn evict_and_collect(
    ctx: &Context,
    recorder: &crate::events::Recorder,
    nodes: &[Arc<Node>],
) -> Result<(), Error> {
    let now = Timestamp::now();
    let by_name: HashMap<&str, &Node> =
        nodes.iter().filter_map(|n| Some((n.metadata.name.as_deref()?, n.as_ref()))).collect();
    for pod in ctx.informers.get::<Pod>().store().state() {
        let Some(node_name) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) else { continue };
        let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
        let Some(node) = by_name.get(node_name) else {
            // Bound to a node that is gone: nobody will ever run or stop it (pod GC).
            if node_really_gone(ctx, node_name).await? {
                let params = DeleteParams { grace_period_seconds: Some(0), ..Default::default() };
                let _ = api.delete(&pod.name_any(), &params).await;
            }
            continue;
        };
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let taints = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
        if eviction_deadline(&pod, &taints, now).is_some_and(|due| due <= now) {
            let name = pod.name_any();
            let condition = json!({"status": {"conditions": [{
                "type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                "message": "Taint manager: deleting due to NoExecute taint", "lastTransitionTime": Time(now),
            }]}});
            let _ = api.patch_status(&name, &PatchParams::default(), &Patch::Strategic(&condition)).await;
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => recorder.normal(
                    pod.as_ref(),
                    "TaintManagerEviction",
                    format!("Marking for deletion Pod {}/{name}", pod.namespace().unwrap_or_default()),
                ),
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
    Ok(())
}

/// A live check before force-deleting pods of a node the cache does not have.
async fn node_really_gone(ctx: &Context, node: &str) -> Result<bool, Error> {
    let api: Api<Node> = Api::all(ctx.client.clone());
    Ok(api.get_opt(node).await?.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(ready: &str, unschedulable: bool, taints: Vec<Taint>) -> Node {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n"},
            "spec": {"unschedulable": unschedulable, "taints": taints},
            "status": {"conditions": [{"type": "Ready", "status": ready}]},
        }))
        .unwrap()
    }

    fn taint(key: &str, effect: &str, added: Option<Timestamp>) -> Taint {
        Taint { key: key.into(), effect: effect.into(), time_added: added.map(Time), value: None }
    }

    #[test]
    fn taints_follow_the_ready_condition_and_keep_their_time() {
        let now = Timestamp::now();
        assert_eq!(updated_taints(&node("True", false, vec![]), now), None);
        let lost = updated_taints(&node("Unknown", false, vec![taint("team", "NoSchedule", None)]), now).unwrap();
        let keys: Vec<(&str, &str)> = lost.iter().map(|t| (t.key.as_str(), t.effect.as_str())).collect();
        assert_eq!(keys, [("team", "NoSchedule"), (UNREACHABLE_TAINT, "NoSchedule"), (UNREACHABLE_TAINT, "NoExecute")]);
        let earlier = now.checked_sub(SignedDuration::from_secs(60)).unwrap();
        let tainted = node(
            "Unknown",
            false,
            vec![taint(UNREACHABLE_TAINT, "NoSchedule", None), taint(UNREACHABLE_TAINT, "NoExecute", Some(earlier))],
        );
        assert_eq!(updated_taints(&tainted, now), None);
        let back = updated_taints(&node("True", true, vec![taint(UNREACHABLE_TAINT, "NoExecute", Some(earlier))]), now)
            .unwrap();
        assert_eq!(back.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(), [UNSCHEDULABLE_TAINT]);
        let not_ready = updated_taints(&node("False", false, vec![]), now).unwrap();
        assert!(not_ready.iter().all(|t| t.key == NOT_READY_TAINT));
    }

    #[test]
    fn eviction_waits_for_toleration_seconds() {
        let now = Timestamp::now();
        let added = now.checked_sub(SignedDuration::from_secs(10)).unwrap();
        let taints = [taint(UNREACHABLE_TAINT, "NoExecute", Some(added))];
        let pod = |tolerations: serde_json::Value| -> Pod {
            serde_json::from_value(
                serde_json::json!({"metadata": {"name": "p"}, "spec": {"containers": [], "tolerations": tolerations}}),
            )
            .unwrap()
        };
        assert_eq!(eviction_deadline(&pod(serde_json::json!([])), &taints, now), Some(now));
        let limited = pod(
            serde_json::json!([{"key": UNREACHABLE_TAINT, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]),
        );
        assert_eq!(eviction_deadline(&limited, &taints, now), added.checked_add(SignedDuration::from_secs(300)).ok());
        let forever = pod(serde_json::json!([{"operator": "Exists"}]));
        assert_eq!(eviction_deadline(&forever, &taints, now), None);
        let wrong_value = pod(serde_json::json!([{"key": UNREACHABLE_TAINT, "value": "x", "effect": "NoExecute"}]));
        assert_eq!(eviction_deadline(&wrong_value, &taints, now), Some(now));
        let no_schedule_only = [taint(UNREACHABLE_TAINT, "NoSchedule", None)];
        assert_eq!(eviction_deadline(&pod(serde_json::json!([])), &no_schedule_only, now), None);
    }
}
