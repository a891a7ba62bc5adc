//! One scheduling decision, pure: filter a sample of the nodes (starting where the previous
//! decision stopped, as upstream), score the feasible ones and pick the best, or explain why
//! no node fits.
//!
//! Sampling follows upstream's `percentageOfNodesToScore`: with 0 (adaptive) it looks for
//! max(5, 50 − nodes/125) % of the nodes, never fewer than 100, so 5,000 nodes cost 500 filter
//! runs per pod rather than 5,000.

use std::collections::HashMap;
use std::fmt::Write;

use crate::cache::Cache;
use crate::filters::{self, ClusterState, Reason};
use crate::pod_info::PodInfo;
use crate::scores;

const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE: usize = 5;

/// How many feasible nodes to look for among `all` before scoring.
pub fn feasible_nodes_to_find(all: usize, percentage: u32) -> usize {
    let percentage = percentage as usize;
    if all < MIN_FEASIBLE_NODES_TO_FIND || percentage >= 100 {
        return all;
    }
    let percentage =
        if percentage == 0 { 50usize.saturating_sub(all / 125).max(MIN_FEASIBLE_NODES_PERCENTAGE) } else { percentage };
    (all * percentage / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// A node was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub node: String,
    pub evaluated: usize,
    pub feasible: usize,
}

/// No node fits: why, node by node (upstream's `FitError`).
#[derive(Clone, Debug, Default)]
pub struct FitError {
    pub num_all_nodes: usize,
    /// How many nodes gave each reason.
    pub histogram: HashMap<Reason, usize>,
    /// Nodes (indexes into `Cache::nodes`) whose reasons evicting pods could remove.
    pub preemption_candidates: Vec<usize>,
}

impl FitError {
    /// Upstream's message: "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't
    /// match Pod's node affinity/selector." and the preemption outcome after it.
    pub fn message(&self, preemption: Option<&str>) -> String {
        if self.num_all_nodes == 0 {
            return "no nodes available to schedule pods".to_string();
        }
        let mut lines: Vec<String> = self.histogram.iter().map(|(reason, n)| format!("{n} {reason}")).collect();
        lines.sort();
        let mut out = format!("0/{} nodes are available: {}.", self.num_all_nodes, lines.join(", "));
        if let Some(p) = preemption {
            let _ = write!(out, " {p}");
        }
        out
    }
}

/// The state a scheduler keeps between decisions: where the next scan starts, a tie-breaking
/// random source and reusable buffers.
#[derive(Debug)]
pub struct Algorithm {
    percentage_of_nodes_to_score: u32,
    next_start: usize,
    rng: u64,
    feasible: Vec<usize>,
    reasons: Vec<Reason>,
    totals: Vec<i64>,
    scratch: Vec<i64>,
}

impl Algorithm {
    pub fn new(percentage_of_nodes_to_score: u32, seed: u64) -> Self {
        Self {
            percentage_of_nodes_to_score,
            next_start: 0,
            rng: seed | 1,
            feasible: Vec::new(),
            reasons: Vec::new(),
            totals: Vec::new(),
            scratch: Vec::new(),
        }
    }

    fn random(&mut self) -> u64 {
        // xorshift64: ties between equal nodes only need to be broken evenly, not securely.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Picks a node for `pod`, or says why none fits. Does not change the cache (the caller
    /// assumes the pod on the chosen node).
    pub fn schedule(&mut self, cache: &Cache, pod: &PodInfo) -> Result<Decision, FitError> {
        let live = cache.live_node_count();
        if live == 0 {
            return Err(FitError::default());
        }
        let state = ClusterState::new(cache, pod);
        let nodes = cache.nodes();

        // A nominated node (from an earlier preemption) is tried first, alone.
        if let Some(nominated) = pod.nominated_node.as_deref()
            && let Some(at) = nodes.iter().position(|n| n.name == nominated)
        {
            self.reasons.clear();
            if filters::fits(&state, pod, &nodes[at], &mut self.reasons) {
                return Ok(Decision { node: nominated.to_string(), evaluated: 1, feasible: 1 });
            }
        }

        let want = feasible_nodes_to_find(live, self.percentage_of_nodes_to_score);
        let start = self.next_start % nodes.len();
        self.feasible.clear();
        let mut error = FitError { num_all_nodes: live, ..Default::default() };
        let mut processed = 0;
        for offset in 0..nodes.len() {
            let at = (start + offset) % nodes.len();
            processed = offset + 1;
            let node = &nodes[at];
            if node.facts.is_none() {
                continue;
            }
            self.reasons.clear();
            if filters::fits(&state, pod, node, &mut self.reasons) {
                self.feasible.push(at);
                if self.feasible.len() >= want {
                    break;
                }
            } else {
                if self.reasons.iter().all(Reason::resolvable_by_preemption) {
                    error.preemption_candidates.push(at);
                }
                for reason in self.reasons.drain(..) {
                    *error.histogram.entry(reason).or_default() += 1;
                }
            }
        }
        self.next_start = (start + processed) % nodes.len();
        match self.feasible.len() {
            0 => Err(error),
            1 => Ok(Decision { node: nodes[self.feasible[0]].name.clone(), evaluated: processed, feasible: 1 }),
            feasible => {
                let mut feasible_nodes = std::mem::take(&mut self.feasible);
                scores::score(cache, pod, &feasible_nodes, &mut self.totals, &mut self.scratch);
                let best = self.pick(&feasible_nodes);
                feasible_nodes.clear();
                self.feasible = feasible_nodes;
                Ok(Decision { node: nodes[best].name.clone(), evaluated: processed, feasible })
            }
        }
    }

    /// The highest total; among equals, each is equally likely (reservoir sampling).
    fn pick(&mut self, nodes: &[usize]) -> usize {
        let mut best = 0;
        let mut ties = 0u64;
        for i in 0..self.totals.len() {
            if self.totals[i] > self.totals[best] {
                best = i;
                ties = 1;
            } else if self.totals[i] == self.totals[best] {
                ties += 1;
                if self.random().is_multiple_of(ties) {
                    best = i;
                }
            }
        }
        nodes[best]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::{node, pod};
    use std::sync::Arc;

    #[test]
    fn adaptive_sampling_matches_upstream() {
        assert_eq!(feasible_nodes_to_find(50, 0), 50);
        assert_eq!(feasible_nodes_to_find(1000, 0), 420);
        assert_eq!(feasible_nodes_to_find(5000, 0), 500);
        assert_eq!(feasible_nodes_to_find(10000, 0), 500, "5% floor");
        assert_eq!(feasible_nodes_to_find(500, 10), 100, "at least 100");
        assert_eq!(feasible_nodes_to_find(5000, 100), 5000);
    }

    #[test]
    fn picks_the_emptier_node() {
        let mut cache = Cache::default();
        cache.upsert_node(&node("busy", "4", "4Gi", &[]));
        cache.upsert_node(&node("idle", "4", "4Gi", &[]));
        cache.add_bound_pod(Arc::new(PodInfo::new(&pod("x", "3"))), "busy");
        let mut algorithm = Algorithm::new(0, 7);
        for _ in 0..5 {
            assert_eq!(algorithm.schedule(&cache, &PodInfo::new(&pod("p", "500m"))).unwrap().node, "idle");
        }
    }

    #[test]
    fn no_fit_explains_each_node_in_upstreams_words() {
        let mut cache = Cache::default();
        cache.upsert_node(&node("small", "1", "4Gi", &[]));
        cache.upsert_node(&node("other", "8", "4Gi", &[("disk", "hdd")]));
        cache.upsert_node(&node("third", "8", "4Gi", &[("disk", "hdd")]));
        let mut p = pod("p", "2");
        p.spec.as_mut().unwrap().node_selector = Some([("disk".to_string(), "ssd".to_string())].into());
        let info = PodInfo::new(&p);
        let err = Algorithm::new(0, 1).schedule(&cache, &info).unwrap_err();
        assert_eq!(
            err.message(Some("preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")),
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. \
             preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
        let err = Algorithm::new(0, 1).schedule(&cache, &PodInfo::new(&pod("big", "16"))).unwrap_err();
        assert_eq!(err.message(None), "0/3 nodes are available: 3 Insufficient cpu.");
        assert_eq!(err.preemption_candidates.len(), 3);
    }

    #[test]
    fn the_scan_rotates_across_decisions() {
        let mut cache = Cache::default();
        for i in 0..300 {
            cache.upsert_node(&node(&format!("n{i:03}"), "4", "4Gi", &[]));
        }
        let mut algorithm = Algorithm::new(0, 3);
        let first = algorithm.schedule(&cache, &PodInfo::new(&pod("a", "1"))).unwrap();
        assert_eq!(first.evaluated, feasible_nodes_to_find(300, 0));
        assert_eq!(algorithm.next_start, first.evaluated);
    }
}
