//! Scores: how good is each feasible node? Each plugin gives every node a score in 0..=100
//! (normalised like upstream's), multiplied by upstream's default weight, and summed:
//! TaintToleration 3, NodeAffinity 2, PodTopologySpread 2, InterPodAffinity 2,
//! NodeResourcesFit (LeastAllocated) 1, NodeResourcesBalancedAllocation 1.

pub mod affinity;
pub mod resources;
pub mod spread;

use crate::cache::Cache;
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

pub const MAX_NODE_SCORE: i64 = 100;

const WEIGHT_TAINT: i64 = 3;
const WEIGHT_NODE_AFFINITY: i64 = 2;
const WEIGHT_SPREAD: i64 = 2;
const WEIGHT_INTER_POD: i64 = 2;
const WEIGHT_FIT: i64 = 1;
const WEIGHT_BALANCED: i64 = 1;

/// Total weighted scores of `nodes` (indexes into `cache.nodes()`), in the same order.
pub fn score(cache: &Cache, pod: &PodInfo, nodes: &[usize], totals: &mut Vec<i64>, scratch: &mut Vec<i64>) {
    totals.clear();
    totals.resize(nodes.len(), 0);
    let all = cache.nodes();
    let each = |f: &dyn Fn(&NodeInfo) -> i64, scratch: &mut Vec<i64>| {
        scratch.clear();
        scratch.extend(nodes.iter().map(|i| f(&all[*i])));
    };

    for (t, n) in totals.iter_mut().zip(nodes) {
        let node = &all[*n];
        *t += WEIGHT_FIT * resources::least_allocated(pod, node) + WEIGHT_BALANCED * resources::balanced(pod, node);
    }

    each(&|n| affinity::intolerable_taints(pod, n), scratch);
    affinity::normalize_reverse(scratch);
    add(totals, scratch, WEIGHT_TAINT);

    if !pod.preferred_node_terms.is_empty() {
        each(&|n| affinity::preferred_node_affinity(pod, n), scratch);
        affinity::normalize(scratch);
        add(totals, scratch, WEIGHT_NODE_AFFINITY);
    }

    if !pod.preferred_affinity.is_empty() || !pod.preferred_anti_affinity.is_empty() {
        let domains = affinity::PreferredCounts::new(cache, pod);
        each(&|n| domains.raw(pod, n), scratch);
        affinity::normalize_min_max(scratch);
        add(totals, scratch, WEIGHT_INTER_POD);
    }

    if spread::applies(cache, pod) {
        spread::score(cache, pod, nodes, scratch);
        add(totals, scratch, WEIGHT_SPREAD);
    }
}

fn add(totals: &mut [i64], scores: &[i64], weight: i64) {
    for (t, s) in totals.iter_mut().zip(scores) {
        *t += weight * s;
    }
}
