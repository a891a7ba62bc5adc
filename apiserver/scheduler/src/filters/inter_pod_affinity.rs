//! InterPodAffinity (required terms): the pod's affinity terms need a matching pod in the
//! node's topology domain, its anti-affinity terms need none, and existing pods' anti-affinity
//! terms must not match the pod in their domains.
//!
//! Counts are per topology key and value, computed once per pod over the whole cluster.

use std::collections::HashMap;

use crate::cache::Cache;
use crate::filters::Reason;
use crate::node_info::NodeFacts;
use crate::pod_info::{AffinityTerm, PodInfo};
use crate::selector::Labels;

/// Counts of pods per topology key, then per value of that key.
#[derive(Debug, Default)]
pub struct TopologyCounts(HashMap<String, HashMap<String, u32>>);

impl TopologyCounts {
    pub fn add(&mut self, key: &str, value: &str, by: u32) {
        *self.0.entry(key.to_string()).or_default().entry(value.to_string()).or_default() += by;
    }

    pub fn get(&self, key: &str, value: &str) -> u32 {
        self.0.get(key).and_then(|values| values.get(value)).copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a node with `labels` is in any counted domain.
    pub fn any_in(&self, labels: &Labels) -> bool {
        self.0.iter().any(|(key, values)| labels.get(key).is_some_and(|v| values.contains_key(v)))
    }
}

#[derive(Debug, Default)]
pub struct AffinityState {
    /// Domains where an existing pod's required anti-affinity term matches the incoming pod.
    existing_anti: TopologyCounts,
    /// Domains holding pods that match all of the pod's affinity terms.
    affinity: TopologyCounts,
    /// Domains holding pods that match one of the pod's anti-affinity terms.
    anti: TopologyCounts,
    /// The pod matches its own affinity terms (lets the first pod of a group be placed).
    matches_itself: bool,
}

impl AffinityState {
    pub fn new(cache: &Cache, pod: &PodInfo) -> Self {
        let mut state = Self::default();
        let namespaces = &cache.namespace_labels;
        if cache.anti_affinity_pod_count() > 0 {
            for node in cache.nodes().iter().filter(|n| n.anti_affinity_pods > 0) {
                let Some(labels) = node.labels() else { continue };
                for existing in node.pods.iter().filter(|p| p.has_required_anti_affinity()) {
                    for term in &existing.anti_affinity {
                        if let Some(value) = labels.get(&term.topology_key)
                            && term.matches(pod, namespaces)
                        {
                            state.existing_anti.add(&term.topology_key, value, 1);
                        }
                    }
                }
            }
        }
        if pod.affinity.is_empty() && pod.anti_affinity.is_empty() {
            return state;
        }
        state.matches_itself = pod.affinity.iter().all(|t| t.matches(pod, namespaces));
        for node in cache.nodes() {
            let Some(labels) = node.labels() else { continue };
            for existing in &node.pods {
                if !pod.affinity.is_empty() && pod.affinity.iter().all(|t| t.matches(existing, namespaces)) {
                    add_domains(&mut state.affinity, &pod.affinity, labels);
                }
                for term in pod.anti_affinity.iter().filter(|t| t.matches(existing, namespaces)) {
                    if let Some(value) = labels.get(&term.topology_key) {
                        state.anti.add(&term.topology_key, value, 1);
                    }
                }
            }
        }
        state
    }
}

fn add_domains(counts: &mut TopologyCounts, terms: &[AffinityTerm], labels: &Labels) {
    for term in terms {
        if let Some(value) = labels.get(&term.topology_key) {
            counts.add(&term.topology_key, value, 1);
        }
    }
}

/// Upstream's order: the pod's affinity, its anti-affinity, then existing pods' anti-affinity.
pub fn filter(state: &AffinityState, pod: &PodInfo, facts: &NodeFacts, reasons: &mut Vec<Reason>) {
    let labels = &facts.labels;
    if !pod.affinity.is_empty() {
        let all_terms_satisfied = pod
            .affinity
            .iter()
            .all(|t| labels.get(&t.topology_key).is_some_and(|v| state.affinity.get(&t.topology_key, v) > 0));
        // No pod anywhere matches yet: the pod may start the group if it matches its own terms
        // (on a node that has the topology keys).
        let first_of_group = state.affinity.is_empty()
            && state.matches_itself
            && pod.affinity.iter().all(|t| labels.contains_key(&t.topology_key));
        if !all_terms_satisfied && !first_of_group {
            reasons.push(Reason::PodAffinity);
            return;
        }
    }
    for term in &pod.anti_affinity {
        if let Some(value) = labels.get(&term.topology_key)
            && state.anti.get(&term.topology_key, value) > 0
        {
            reasons.push(Reason::PodAntiAffinity);
            return;
        }
    }
    if !state.existing_anti.is_empty() && state.existing_anti.any_in(labels) {
        reasons.push(Reason::ExistingPodsAntiAffinity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::{node, pod};
    use k8s_openapi::api::core::v1::{Affinity, PodAffinity, PodAffinityTerm, PodAntiAffinity};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    use std::sync::Arc;

    fn term(app: &str, key: &str) -> PodAffinityTerm {
        PodAffinityTerm {
            label_selector: Some(LabelSelector {
                match_labels: Some([("app".to_string(), app.to_string())].into()),
                ..Default::default()
            }),
            topology_key: key.into(),
            ..Default::default()
        }
    }

    fn labelled(name: &str, app: &str, affinity: Option<Affinity>) -> PodInfo {
        let mut p = pod(name, "0");
        p.metadata.labels = Some([("app".to_string(), app.to_string())].into());
        p.spec.as_mut().unwrap().affinity = affinity;
        PodInfo::new(&p)
    }

    fn cluster() -> Cache {
        let mut cache = Cache::default();
        cache.upsert_node(&node("n1", "4", "4Gi", &[("zone", "a"), ("kubernetes.io/hostname", "n1")]));
        cache.upsert_node(&node("n2", "4", "4Gi", &[("zone", "b"), ("kubernetes.io/hostname", "n2")]));
        cache
    }

    fn check(cache: &Cache, pod: &PodInfo, node: &str) -> Vec<Reason> {
        let state = AffinityState::new(cache, pod);
        let mut out = Vec::new();
        filter(&state, pod, cache.node(node).unwrap().facts.as_ref().unwrap(), &mut out);
        out
    }

    #[test]
    fn anti_affinity_keeps_matching_pods_apart_per_domain() {
        let mut cache = cluster();
        cache.add_bound_pod(Arc::new(labelled("web-1", "web", None)), "n1");
        let anti = Affinity {
            pod_anti_affinity: Some(PodAntiAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![term("web", "zone")]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let p = labelled("web-2", "web", Some(anti));
        assert_eq!(check(&cache, &p, "n1"), vec![Reason::PodAntiAffinity]);
        assert!(check(&cache, &p, "n2").is_empty());
    }

    #[test]
    fn own_anti_affinity_is_reported_before_existing_pods_anti_affinity() {
        let mut cache = cluster();
        let anti = || Affinity {
            pod_anti_affinity: Some(PodAntiAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![term("web", "zone")]),
                ..Default::default()
            }),
            ..Default::default()
        };
        cache.add_bound_pod(Arc::new(labelled("web-1", "web", Some(anti()))), "n1");
        assert_eq!(check(&cache, &labelled("web-2", "web", Some(anti())), "n1"), vec![Reason::PodAntiAffinity]);
    }

    #[test]
    fn existing_pods_anti_affinity_is_symmetric() {
        let mut cache = cluster();
        let anti = Affinity {
            pod_anti_affinity: Some(PodAntiAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![term("db", "kubernetes.io/hostname")]),
                ..Default::default()
            }),
            ..Default::default()
        };
        cache.add_bound_pod(Arc::new(labelled("web-1", "web", Some(anti))), "n1");
        let p = labelled("db-1", "db", None);
        assert_eq!(check(&cache, &p, "n1"), vec![Reason::ExistingPodsAntiAffinity]);
        assert!(check(&cache, &p, "n2").is_empty());
    }

    #[test]
    fn affinity_needs_a_matching_pod_in_the_domain_except_for_the_first() {
        let affinity = || Affinity {
            pod_affinity: Some(PodAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![term("cache", "zone")]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut cache = cluster();
        let first = labelled("cache-1", "cache", Some(affinity()));
        assert!(check(&cache, &first, "n1").is_empty(), "the first of the group may go anywhere");
        let stranger = labelled("web-1", "web", Some(affinity()));
        assert_eq!(check(&cache, &stranger, "n1"), vec![Reason::PodAffinity], "no cache pod anywhere");
        cache.add_bound_pod(Arc::new(labelled("cache-0", "cache", None)), "n2");
        assert_eq!(check(&cache, &stranger, "n1"), vec![Reason::PodAffinity]);
        assert!(check(&cache, &stranger, "n2").is_empty());
    }
}
