//! Preemption (upstream's DefaultPreemption, without PodDisruptionBudgets): when a pod fits
//! nowhere, find a node where evicting lower-priority pods makes it fit, evicting as few and
//! as unimportant pods as possible.
//!
//! Per candidate node: remove every lower-priority pod; if the pod then fits, add them back
//! from the most important down, keeping each one that still leaves room ("reprieve"); the
//! rest are the victims. Among nodes, the lowest highest-victim priority wins, then the lowest
//! priority sum, then the fewest victims.

use std::sync::Arc;

use crate::algorithm::FitError;
use crate::cache::Cache;
use crate::filters::{self, ClusterState};
use crate::pod_info::PodInfo;

/// Upstream dry-runs at least this many candidate nodes (or 10 % of the cluster).
const MIN_CANDIDATE_NODES: usize = 100;
const MIN_CANDIDATE_NODES_PERCENTAGE: usize = 10;

#[derive(Clone, Debug)]
pub struct Preemption {
    pub node: String,
    pub victims: Vec<Arc<PodInfo>>,
}

/// The outcome, with upstream's wording for the "preemption: ..." part of the message.
#[derive(Clone, Debug)]
pub enum Outcome {
    Preempt(Preemption),
    NotHelpful(String),
}

impl Outcome {
    pub fn message(&self) -> String {
        match self {
            Outcome::Preempt(p) => format!("preemption: {} victim(s) on node {}", p.victims.len(), p.node),
            Outcome::NotHelpful(m) => m.clone(),
        }
    }
}

/// Whether `pod` may preempt at all (upstream's `PodEligibleToPreemptOthers`).
fn ineligible(cache: &Cache, pod: &PodInfo) -> Option<&'static str> {
    if pod.preemption_never {
        return Some("preemption: not eligible due to preemptionPolicy=Never.");
    }
    // Victims chosen last time are still terminating: wait for them instead of evicting more.
    if let Some(node) = pod.nominated_node.as_deref().and_then(|n| cache.node(n))
        && node.pods.iter().any(|p| p.deleting && p.priority < pod.priority)
    {
        return Some("preemption: not eligible due to a terminating pod on the nominated node.");
    }
    None
}

/// Victims on the node at `at`, or `None` when evicting lower-priority pods does not help.
fn victims_on(cache: &Cache, state: &ClusterState, pod: &PodInfo, at: usize) -> Option<Vec<Arc<PodInfo>>> {
    let mut node = cache.nodes()[at].clone();
    let mut lower: Vec<Arc<PodInfo>> = node.pods.iter().filter(|p| p.priority < pod.priority).cloned().collect();
    if lower.is_empty() {
        return None;
    }
    for p in &lower {
        node.remove_pod(&p.key);
    }
    let mut reasons = Vec::new();
    if !filters::fits(state, pod, &node, &mut reasons) {
        return None;
    }
    lower.sort_by_key(|p| std::cmp::Reverse(p.priority));
    let mut victims = Vec::new();
    for p in lower {
        node.add_pod(p.clone());
        reasons.clear();
        if !filters::fits(state, pod, &node, &mut reasons) {
            node.remove_pod(&p.key);
            victims.push(p);
        }
    }
    Some(victims)
}

/// Ranks a candidate: lower is better.
fn cost(victims: &[Arc<PodInfo>]) -> (i32, i64, usize) {
    let highest = victims.iter().map(|v| v.priority).max().unwrap_or(i32::MIN);
    let sum = victims.iter().map(|v| i64::from(v.priority) + i64::from(i32::MAX) + 1).sum();
    (highest, sum, victims.len())
}

pub fn preempt(cache: &Cache, pod: &PodInfo, fit: &FitError) -> Outcome {
    if let Some(reason) = ineligible(cache, pod) {
        return Outcome::NotHelpful(reason.to_string());
    }
    let state = ClusterState::new(cache, pod);
    let enough = (cache.live_node_count() * MIN_CANDIDATE_NODES_PERCENTAGE / 100).max(MIN_CANDIDATE_NODES);
    let mut best: Option<(usize, Vec<Arc<PodInfo>>)> = None;
    let mut found = 0;
    for &at in &fit.preemption_candidates {
        let Some(victims) = victims_on(cache, &state, pod, at) else { continue };
        found += 1;
        if best.as_ref().is_none_or(|(_, b)| cost(&victims) < cost(b)) {
            best = Some((at, victims));
        }
        if found >= enough {
            break;
        }
    }
    match best {
        Some((at, victims)) => Outcome::Preempt(Preemption { node: cache.nodes()[at].name.clone(), victims }),
        None => {
            let helpless = fit.num_all_nodes - fit.preemption_candidates.len();
            let mut parts = Vec::new();
            if !fit.preemption_candidates.is_empty() {
                parts.push(format!("{} No preemption victims found for incoming pod", fit.preemption_candidates.len()));
            }
            if helpless > 0 {
                parts.push(format!("{helpless} Preemption is not helpful for scheduling"));
            }
            Outcome::NotHelpful(format!(
                "preemption: 0/{} nodes are available: {}.",
                fit.num_all_nodes,
                parts.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::Algorithm;
    use crate::cache::tests::{node, pod};

    fn prioritized(name: &str, cpu: &str, priority: i32) -> Arc<PodInfo> {
        let mut p = pod(name, cpu);
        p.spec.as_mut().unwrap().priority = Some(priority);
        Arc::new(PodInfo::new(&p))
    }

    fn outcome(cache: &Cache, pod: &PodInfo) -> Outcome {
        let fit = Algorithm::new(0, 1).schedule(cache, pod).unwrap_err();
        preempt(cache, pod, &fit)
    }

    #[test]
    fn evicts_the_fewest_lowest_priority_pods() {
        let mut cache = Cache::default();
        cache.upsert_node(&node("n1", "4", "4Gi", &[]));
        cache.upsert_node(&node("n2", "4", "4Gi", &[]));
        // n1: two low pods must go; n2: one slightly higher pod must go, plus a keeper.
        cache.add_bound_pod(prioritized("low-a", "2", 1), "n1");
        cache.add_bound_pod(prioritized("low-b", "2", 1), "n1");
        cache.add_bound_pod(prioritized("mid", "3", 5), "n2");
        cache.add_bound_pod(prioritized("keep", "1", 5), "n2");
        let Outcome::Preempt(p) = outcome(&cache, &prioritized("high", "3", 10)) else { panic!() };
        // Highest victim priority decides first: n1's victims (priority 1) beat n2's (5).
        assert_eq!(p.node, "n1");
        let mut names: Vec<_> = p.victims.iter().map(|v| v.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["low-a", "low-b"]);
    }

    #[test]
    fn reprieves_pods_that_need_not_go() {
        let mut cache = Cache::default();
        cache.upsert_node(&node("n1", "4", "4Gi", &[]));
        cache.add_bound_pod(prioritized("a", "2", 1), "n1");
        cache.add_bound_pod(prioritized("b", "2", 2), "n1");
        let Outcome::Preempt(p) = outcome(&cache, &prioritized("high", "2", 10)) else { panic!() };
        assert_eq!(p.victims.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["a"], "the more important b stays");
    }

    #[test]
    fn equal_or_higher_priority_pods_are_never_victims_and_never_policy_is_respected() {
        let mut cache = Cache::default();
        cache.upsert_node(&node("n1", "4", "4Gi", &[]));
        cache.add_bound_pod(prioritized("same", "4", 10), "n1");
        let Outcome::NotHelpful(m) = outcome(&cache, &prioritized("p", "2", 10)) else { panic!() };
        assert_eq!(m, "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.");

        let mut never = pod("never", "2");
        never.spec.as_mut().unwrap().priority = Some(100);
        never.spec.as_mut().unwrap().preemption_policy = Some("Never".into());
        let Outcome::NotHelpful(m) = outcome(&cache, &PodInfo::new(&never)) else { panic!() };
        assert_eq!(m, "preemption: not eligible due to preemptionPolicy=Never.");
    }
}
