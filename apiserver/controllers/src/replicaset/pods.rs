//! What a replica controller needs to know about a pod: is it active, ready, available (upstream
//! `controller.FilterActivePods`, `podutil.IsPodReady`, `podutil.IsPodAvailable`), which pods go
//! first when scaling down (upstream `ActivePodsWithRanks`), and the pod a template makes.

use std::cmp::Ordering;
use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;

/// Upstream's annotation that lets users pick which pods a scale-down removes first.
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// Running or about to: not Succeeded/Failed and not being deleted.
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    !matches!(phase, Some("Succeeded" | "Failed")) && pod.metadata.deletion_timestamp.is_none()
}

/// When the Ready condition became True, if it is True.
pub fn ready_since(pod: &Pod) -> Option<Option<Timestamp>> {
    let condition = pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready")?;
    (condition.status == "True").then(|| condition.last_transition_time.as_ref().map(|t| t.0))
}

pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Ready for at least `min_ready_seconds` at `now`.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(None) => false,
        Some(Some(since)) => since.as_second() + i64::from(min_ready_seconds) <= now.as_second(),
    }
}

/// Seconds until a ready-but-not-yet-available pod becomes available (for a requeue).
pub fn seconds_until_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> Option<i64> {
    let since = ready_since(pod)??;
    let left = since.as_second() + i64::from(min_ready_seconds) - now.as_second();
    (left > 0).then_some(left)
}

fn restarts(pod: &Pod) -> i32 {
    let statuses = pod.status.as_ref().and_then(|s| s.container_statuses.as_ref());
    statuses.iter().flat_map(|s| s.iter()).map(|c| c.restart_count).sum()
}

fn deletion_cost(pod: &Pod) -> i32 {
    let annotations = pod.metadata.annotations.as_ref();
    annotations.and_then(|a| a.get(DELETION_COST)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn phase_rank(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") | None => 0,
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 3,
    }
}

fn node(pod: &Pod) -> &str {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("")
}

/// Which of two pods to delete first (`Less` = `a` goes first), as upstream's
/// `ActivePodsWithRanks`: not scheduled, then pending < unknown < running, not ready, lower
/// deletion cost, more of its siblings on the same node, ready for less time, more restarts,
/// created later.
fn delete_first(a: &Pod, a_rank: usize, b: &Pod, b_rank: usize) -> Ordering {
    let (a_node, b_node) = (node(a), node(b));
    (!a_node.is_empty())
        .cmp(&!b_node.is_empty())
        .then_with(|| phase_rank(a).cmp(&phase_rank(b)))
        .then_with(|| is_ready(a).cmp(&is_ready(b)))
        .then_with(|| deletion_cost(a).cmp(&deletion_cost(b)))
        .then_with(|| b_rank.cmp(&a_rank))
        .then_with(|| {
            // Both ready: the one ready for less time goes first (a missing time counts as new).
            match (ready_since(a).flatten(), ready_since(b).flatten()) {
                (Some(x), Some(y)) if is_ready(a) && is_ready(b) => y.cmp(&x),
                _ => Ordering::Equal,
            }
        })
        .then_with(|| restarts(b).cmp(&restarts(a)))
        .then_with(|| {
            let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
            match (created(a), created(b)) {
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (x, y) => y.cmp(&x),
            }
        })
}

/// The `count` pods to delete from `pods`, best candidates first. `related` are the pods of the
/// owner and its siblings (same controller): a pod doubled up on a node with them goes first.
pub fn pods_to_delete<'a>(pods: &[&'a Pod], related: &[&Pod], count: usize) -> Vec<&'a Pod> {
    if count >= pods.len() {
        return pods.to_vec();
    }
    let mut per_node: HashMap<&str, usize> = HashMap::new();
    for pod in related.iter().filter(|p| !node(p).is_empty()) {
        *per_node.entry(node(pod)).or_default() += 1;
    }
    let rank = |p: &Pod| if node(p).is_empty() { 0 } else { per_node.get(node(p)).copied().unwrap_or(0) };
    let mut ranked: Vec<(&Pod, usize)> = pods.iter().map(|p| (*p, rank(p))).collect();
    ranked.sort_by(|(a, ra), (b, rb)| delete_first(a, *ra, b, *rb));
    ranked.into_iter().take(count).map(|(p, _)| p).collect()
}

/// The pod a controller creates from its template (upstream `GetPodFromTemplate`).
pub fn pod_from_template(
    template: &PodTemplateSpec,
    generate_name: String,
    namespace: &str,
    owner: OwnerReference,
) -> Pod {
    let meta = template.metadata.clone().unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name),
            namespace: Some(namespace.to_string()),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ContainerStatus, PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    pub(crate) fn pod(name: &str, node: &str, phase: &str, ready_at: Option<i64>) -> Pod {
        let mut pod = Pod::default();
        pod.metadata.name = Some(name.into());
        pod.metadata.creation_timestamp = Some(Time(Timestamp::from_second(1000).unwrap()));
        pod.spec = Some(PodSpec { node_name: (!node.is_empty()).then(|| node.to_string()), ..Default::default() });
        pod.status = Some(PodStatus {
            phase: Some(phase.into()),
            conditions: ready_at.map(|at| {
                vec![PodCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    last_transition_time: Some(Time(Timestamp::from_second(at).unwrap())),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        });
        pod
    }

    fn names(pods: &[&Pod]) -> Vec<String> {
        pods.iter().map(|p| p.metadata.name.clone().unwrap()).collect()
    }

    #[test]
    fn deletes_unscheduled_then_pending_then_not_ready_then_ready() {
        let ready = pod("ready", "n1", "Running", Some(100));
        let not_ready = pod("not-ready", "n1", "Running", None);
        let pending = pod("pending", "n1", "Pending", None);
        let unscheduled = pod("unscheduled", "", "Pending", None);
        let pods = [&ready, &not_ready, &pending, &unscheduled];
        assert_eq!(names(&pods_to_delete(&pods, &[], 3)), ["unscheduled", "pending", "not-ready"]);
        assert_eq!(names(&pods_to_delete(&pods, &[], 1)), ["unscheduled"]);
    }

    #[test]
    fn among_ready_pods_newer_readiness_and_more_restarts_go_first() {
        let old = pod("old", "n1", "Running", Some(100));
        let new = pod("new", "n2", "Running", Some(200));
        assert_eq!(names(&pods_to_delete(&[&old, &new], &[], 1)), ["new"]);
        let mut crashy = pod("crashy", "n1", "Running", Some(100));
        crashy.status.as_mut().unwrap().container_statuses =
            Some(vec![ContainerStatus { restart_count: 5, ..Default::default() }]);
        let calm = pod("calm", "n2", "Running", Some(100));
        assert_eq!(names(&pods_to_delete(&[&calm, &crashy], &[], 1)), ["crashy"]);
        let mut younger = pod("younger", "n1", "Running", Some(100));
        younger.metadata.creation_timestamp = Some(Time(Timestamp::from_second(2000).unwrap()));
        assert_eq!(names(&pods_to_delete(&[&calm, &younger], &[], 1)), ["younger"]);
    }

    #[test]
    fn doubled_up_pods_and_low_deletion_cost_go_first() {
        let alone = pod("alone", "n1", "Running", Some(100));
        let crowded = pod("crowded", "n2", "Running", Some(100));
        let sibling = pod("sibling", "n2", "Running", Some(100));
        assert_eq!(names(&pods_to_delete(&[&alone, &crowded], &[&alone, &crowded, &sibling], 1)), ["crowded"]);
        let mut cheap = pod("cheap", "n1", "Running", Some(100));
        cheap.metadata.annotations = Some([(DELETION_COST.to_string(), "-10".to_string())].into());
        assert_eq!(names(&pods_to_delete(&[&alone, &cheap], &[], 1)), ["cheap"]);
    }

    #[test]
    fn availability_waits_min_ready_seconds_from_the_ready_transition() {
        let p = pod("p", "n1", "Running", Some(100));
        let at = |s| Timestamp::from_second(s).unwrap();
        assert!(is_available(&p, 0, at(100)));
        assert!(!is_available(&p, 10, at(105)));
        assert_eq!(seconds_until_available(&p, 10, at(105)), Some(5));
        assert!(is_available(&p, 10, at(110)));
        assert!(!is_available(&pod("q", "n1", "Running", None), 0, at(110)));
    }

    #[test]
    fn inactive_pods_are_terminal_or_deleting() {
        assert!(is_active(&pod("a", "n1", "Running", None)));
        assert!(!is_active(&pod("a", "n1", "Succeeded", None)));
        let mut deleting = pod("a", "n1", "Running", None);
        deleting.metadata.deletion_timestamp = Some(Time(Timestamp::from_second(1).unwrap()));
        assert!(!is_active(&deleting));
    }
}
