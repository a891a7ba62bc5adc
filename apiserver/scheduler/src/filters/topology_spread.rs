//! PodTopologySpread (`whenUnsatisfiable: DoNotSchedule`): placing the pod must not make the
//! number of matching pods in its domain exceed the least populated domain by more than
//! `maxSkew`.

use std::collections::HashMap;

use crate::cache::Cache;
use crate::filters::{Reason, node_affinity, taints};
use crate::node_info::{NodeFacts, NodeInfo};
use crate::pod_info::{PodInfo, SpreadConstraint};

#[derive(Debug, Default)]
pub struct ConstraintCounts {
    pub by_domain: HashMap<String, u32>,
    pub min: u32,
}

/// Counts for each hard constraint of the pod (same order as `PodInfo::spread` filtered on
/// `hard`).
#[derive(Debug, Default)]
pub struct SpreadState {
    constraints: Vec<ConstraintCounts>,
}

/// Whether `node` is one of the nodes a constraint's domains are made of.
pub fn eligible(pod: &PodInfo, c: &SpreadConstraint, node: &NodeInfo, facts: &NodeFacts) -> bool {
    facts.labels.contains_key(&c.topology_key)
        && (!c.honor_node_affinity || node_affinity::matches(pod, &node.name, &facts.labels))
        && (!c.honor_taints || taints::first_untolerated(&facts.taints, &pod.tolerations).is_none())
}

/// Pods on `node` that a constraint counts: same namespace, matching, not being deleted.
pub fn matching_pods(pod: &PodInfo, c: &SpreadConstraint, node: &NodeInfo) -> u32 {
    node.pods.iter().filter(|p| p.namespace == pod.namespace && !p.deleting && c.selector.matches(&p.labels)).count()
        as u32
}

/// Matching pods per domain of `c` over the whole cluster.
pub fn count(cache: &Cache, pod: &PodInfo, c: &SpreadConstraint) -> ConstraintCounts {
    let mut by_domain: HashMap<String, u32> = HashMap::new();
    for node in cache.nodes() {
        let Some(facts) = &node.facts else { continue };
        if !eligible(pod, c, node, facts) {
            continue;
        }
        let value = &facts.labels[&c.topology_key];
        *by_domain.entry(value.clone()).or_default() += matching_pods(pod, c, node);
    }
    let too_few_domains = c.min_domains.is_some_and(|m| by_domain.len() < m.max(0) as usize);
    let min = if too_few_domains { 0 } else { by_domain.values().copied().min().unwrap_or(0) };
    ConstraintCounts { by_domain, min }
}

impl SpreadState {
    pub fn new(cache: &Cache, pod: &PodInfo) -> Self {
        Self { constraints: pod.spread.iter().filter(|c| c.hard).map(|c| count(cache, pod, c)).collect() }
    }
}

pub fn filter(state: &SpreadState, pod: &PodInfo, facts: &NodeFacts, reasons: &mut Vec<Reason>) {
    for (c, counts) in pod.spread.iter().filter(|c| c.hard).zip(&state.constraints) {
        let Some(value) = facts.labels.get(&c.topology_key) else {
            reasons.push(Reason::SpreadMissingLabel);
            return;
        };
        let itself = u32::from(c.selector.matches(&pod.labels));
        let here = counts.by_domain.get(value).copied().unwrap_or(0);
        if i64::from(here + itself) - i64::from(counts.min) > i64::from(c.max_skew) {
            reasons.push(Reason::SpreadConstraints);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::{node, pod};
    use k8s_openapi::api::core::v1::TopologySpreadConstraint;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    use std::sync::Arc;

    fn spread_pod(name: &str) -> PodInfo {
        let mut p = pod(name, "0");
        p.metadata.labels = Some([("app".to_string(), "web".to_string())].into());
        p.spec.as_mut().unwrap().topology_spread_constraints = Some(vec![TopologySpreadConstraint {
            max_skew: 1,
            topology_key: "zone".into(),
            when_unsatisfiable: "DoNotSchedule".into(),
            label_selector: Some(LabelSelector {
                match_labels: Some([("app".to_string(), "web".to_string())].into()),
                ..Default::default()
            }),
            ..Default::default()
        }]);
        PodInfo::new(&p)
    }

    #[test]
    fn skew_above_max_rejects_the_crowded_domain() {
        let mut cache = Cache::default();
        cache.upsert_node(&node("a1", "4", "4Gi", &[("zone", "a")]));
        cache.upsert_node(&node("b1", "4", "4Gi", &[("zone", "b")]));
        cache.upsert_node(&node("nozone", "4", "4Gi", &[]));
        cache.add_bound_pod(Arc::new(spread_pod("w1")), "a1");
        let p = spread_pod("w2");
        let state = SpreadState::new(&cache, &p);
        let check = |n: &str| {
            let mut out = Vec::new();
            filter(&state, &p, cache.node(n).unwrap().facts.as_ref().unwrap(), &mut out);
            out
        };
        assert_eq!(check("a1"), vec![Reason::SpreadConstraints]);
        assert!(check("b1").is_empty());
        assert_eq!(check("nozone"), vec![Reason::SpreadMissingLabel]);
    }
}
