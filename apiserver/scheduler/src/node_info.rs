//! `NodeInfo`: one node as the scheduler sees it, with the sums filters and scores need kept up
//! to date as pods come and go (never recomputed per scheduling decision).

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Taint};

use crate::pod_info::{HostPort, PodInfo, PodKey};
use crate::resources::Resources;
use crate::selector::Labels;

/// What the Node object says (labels, taints, capacity).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeFacts {
    pub labels: Labels,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub allocatable: Resources,
    pub allowed_pods: i64,
}

impl NodeFacts {
    pub fn new(node: &Node) -> Self {
        let spec = node.spec.as_ref();
        let allocatable = node.status.as_ref().and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref()));
        Self {
            labels: node.metadata.labels.clone().unwrap_or_default(),
            taints: spec.and_then(|s| s.taints.clone()).unwrap_or_default(),
            unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
            allocatable: allocatable.map(Resources::from_map).unwrap_or_default(),
            allowed_pods: allocatable
                .and_then(|a| a.get("pods"))
                .and_then(|q| crate::quantity::units(&q.0))
                .unwrap_or(0),
        }
    }
}

/// A node and the pods on it (bound or assumed).
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub name: String,
    /// `None` for a node that was deleted while pods still point at it: kept only so that
    /// those pods can be removed later; never a scheduling candidate.
    pub facts: Option<NodeFacts>,
    pub pods: Vec<Arc<PodInfo>>,
    pub requested: Resources,
    pub non_zero_milli_cpu: i64,
    pub non_zero_memory: i64,
    pub used_ports: Vec<HostPort>,
    /// Pods here with required anti-affinity terms (the InterPodAffinity filter checks them).
    pub anti_affinity_pods: usize,
}

impl NodeInfo {
    pub fn new(name: &str, facts: Option<NodeFacts>) -> Self {
        Self {
            name: name.to_string(),
            facts,
            pods: Vec::new(),
            requested: Resources::default(),
            non_zero_milli_cpu: 0,
            non_zero_memory: 0,
            used_ports: Vec::new(),
            anti_affinity_pods: 0,
        }
    }

    pub fn labels(&self) -> Option<&Labels> {
        self.facts.as_ref().map(|f| &f.labels)
    }

    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(&pod.requests.exact);
        self.non_zero_milli_cpu += pod.requests.non_zero_milli_cpu;
        self.non_zero_memory += pod.requests.non_zero_memory;
        self.used_ports.extend(pod.host_ports.iter().cloned());
        if pod.has_required_anti_affinity() {
            self.anti_affinity_pods += 1;
        }
        self.pods.push(pod);
    }

    pub fn remove_pod(&mut self, key: &PodKey) -> Option<Arc<PodInfo>> {
        let at = self.pods.iter().position(|p| p.key == *key)?;
        let pod = self.pods.swap_remove(at);
        self.requested.sub(&pod.requests.exact);
        self.non_zero_milli_cpu -= pod.requests.non_zero_milli_cpu;
        self.non_zero_memory -= pod.requests.non_zero_memory;
        for port in &pod.host_ports {
            if let Some(i) = self.used_ports.iter().position(|p| p == port) {
                self.used_ports.swap_remove(i);
            }
        }
        if pod.has_required_anti_affinity() {
            self.anti_affinity_pods -= 1;
        }
        Some(pod)
    }
}
