//! TaintToleration (PreferNoSchedule), preferred node affinity and preferred inter-pod
//! (anti-)affinity scores, with upstream's normalisations.

use crate::cache::Cache;
use crate::filters::inter_pod_affinity::TopologyCounts;
use crate::filters::{node_affinity, taints};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::scores::MAX_NODE_SCORE;

pub fn intolerable_taints(pod: &PodInfo, node: &NodeInfo) -> i64 {
    node.facts.as_ref().map_or(0, |f| taints::intolerable_preferred(&f.taints, &pod.tolerations) as i64)
}

pub fn preferred_node_affinity(pod: &PodInfo, node: &NodeInfo) -> i64 {
    node.facts.as_ref().map_or(0, |f| node_affinity::preferred_weight(pod, &node.name, &f.labels))
}

/// Scales to 0..=100 by the maximum (higher raw is better).
pub fn normalize(scores: &mut [i64]) {
    let max = scores.iter().copied().max().unwrap_or(0);
    for s in scores.iter_mut() {
        *s = if max > 0 { *s * MAX_NODE_SCORE / max } else { 0 };
    }
}

/// Scales to 0..=100 where the lowest raw is best (fewest intolerable taints).
pub fn normalize_reverse(scores: &mut [i64]) {
    let max = scores.iter().copied().max().unwrap_or(0);
    for s in scores.iter_mut() {
        *s = if max > 0 { MAX_NODE_SCORE - *s * MAX_NODE_SCORE / max } else { MAX_NODE_SCORE };
    }
}

/// Scales by the range (raw scores may be negative: anti-affinity subtracts).
pub fn normalize_min_max(scores: &mut [i64]) {
    let max = scores.iter().copied().max().unwrap_or(0);
    let min = scores.iter().copied().min().unwrap_or(0);
    for s in scores.iter_mut() {
        *s = if max > min { (*s - min) * MAX_NODE_SCORE / (max - min) } else { 0 };
    }
}

/// For each preferred term of the pod, matching pods per topology domain.
#[derive(Debug)]
pub struct PreferredCounts {
    affinity: Vec<TopologyCounts>,
    anti: Vec<TopologyCounts>,
}

impl PreferredCounts {
    pub fn new(cache: &Cache, pod: &PodInfo) -> Self {
        let mut affinity: Vec<TopologyCounts> =
            pod.preferred_affinity.iter().map(|_| TopologyCounts::default()).collect();
        let mut anti: Vec<TopologyCounts> =
            pod.preferred_anti_affinity.iter().map(|_| TopologyCounts::default()).collect();
        let namespaces = &cache.namespace_labels;
        for node in cache.nodes() {
            let Some(labels) = node.labels() else { continue };
            for existing in &node.pods {
                for ((_, term), counts) in pod.preferred_affinity.iter().zip(&mut affinity) {
                    if let Some(v) = labels.get(&term.topology_key)
                        && term.matches(existing, namespaces)
                    {
                        counts.add(&term.topology_key, v, 1);
                    }
                }
                for ((_, term), counts) in pod.preferred_anti_affinity.iter().zip(&mut anti) {
                    if let Some(v) = labels.get(&term.topology_key)
                        && term.matches(existing, namespaces)
                    {
                        counts.add(&term.topology_key, v, 1);
                    }
                }
            }
        }
        Self { affinity, anti }
    }

    /// Σ weight × matching pods in the node's domain, minus the same for anti-affinity.
    pub fn raw(&self, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(labels) = node.labels() else { return 0 };
        let sum = |terms: &[(i32, crate::pod_info::AffinityTerm)], counts: &[TopologyCounts]| -> i64 {
            terms
                .iter()
                .zip(counts)
                .map(|((w, t), c)| {
                    labels.get(&t.topology_key).map_or(0, |v| i64::from(*w) * i64::from(c.get(&t.topology_key, v)))
                })
                .sum()
        };
        sum(&pod.preferred_affinity, &self.affinity) - sum(&pod.preferred_anti_affinity, &self.anti)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisations() {
        let mut s = vec![0, 5, 10];
        normalize(&mut s);
        assert_eq!(s, vec![0, 50, 100]);
        let mut s = vec![0, 1, 2];
        normalize_reverse(&mut s);
        assert_eq!(s, vec![100, 50, 0]);
        let mut s = vec![-10, 0, 10];
        normalize_min_max(&mut s);
        assert_eq!(s, vec![0, 50, 100]);
        let mut s = vec![0, 0];
        normalize_reverse(&mut s);
        assert_eq!(s, vec![100, 100]);
    }
}
