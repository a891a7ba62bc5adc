//! NodeResourcesFit's LeastAllocated and NodeResourcesBalancedAllocation, on CPU and memory
//! (weights 1 and 1), counting pods without requests at the default requests.

use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::scores::MAX_NODE_SCORE;

/// (requested including the pod, allocatable) for CPU and memory.
fn usage(pod: &PodInfo, node: &NodeInfo) -> [(i64, i64); 2] {
    let Some(facts) = &node.facts else { return [(0, 0), (0, 0)] };
    [
        (node.non_zero_milli_cpu + pod.requests.non_zero_milli_cpu, facts.allocatable.milli_cpu),
        (node.non_zero_memory + pod.requests.non_zero_memory, facts.allocatable.memory),
    ]
}

/// More free capacity left after placing the pod scores higher.
pub fn least_allocated(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let per = |(requested, allocatable): (i64, i64)| {
        if allocatable <= 0 || requested > allocatable {
            0
        } else {
            (allocatable - requested) * MAX_NODE_SCORE / allocatable
        }
    };
    let [cpu, memory] = usage(pod, node);
    (per(cpu) + per(memory)) / 2
}

/// CPU and memory used in similar proportions scores higher: 100 × (1 − standard deviation of
/// the two fractions).
pub fn balanced(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let fraction = |(requested, allocatable): (i64, i64)| {
        if allocatable <= 0 { 1.0 } else { (requested as f64 / allocatable as f64).min(1.0) }
    };
    let [cpu, memory] = usage(pod, node);
    let std = (fraction(cpu) - fraction(memory)).abs() / 2.0;
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::{node, pod};
    use crate::node_info::NodeFacts;
    use std::sync::Arc;

    fn node_info(cpu: &str, memory: &str, existing_cpu: &[&str]) -> NodeInfo {
        let mut n = NodeInfo::new("n", Some(NodeFacts::new(&node("n", cpu, memory, &[]))));
        for (i, c) in existing_cpu.iter().enumerate() {
            n.add_pod(Arc::new(PodInfo::new(&pod(&format!("e{i}"), c))));
        }
        n
    }

    #[test]
    fn emptier_nodes_score_higher() {
        let p = PodInfo::new(&pod("p", "1"));
        let empty = node_info("4", "4Gi", &[]);
        let busy = node_info("4", "4Gi", &["2"]);
        assert!(least_allocated(&p, &empty) > least_allocated(&p, &busy));
        // 1 of 4 CPUs (75 free) and the default 200Mi of 4Gi memory (95 free).
        assert_eq!(least_allocated(&p, &empty), (75 + 95) / 2);
    }

    #[test]
    fn balanced_prefers_even_use() {
        // The pod asks 1 CPU and (by default) 200Mi.
        let p = PodInfo::new(&pod("p", "1"));
        let even = node_info("2", "400Mi", &[]); // after: cpu 50 %, memory 50 %
        let uneven = node_info("2", "4Gi", &[]); // cpu 50 %, memory ~5 %
        assert_eq!(balanced(&p, &even), 100);
        assert!(balanced(&p, &uneven) < balanced(&p, &even));
    }
}
