//! Filters: can this pod run on this node? Each returns the reasons it cannot, worded as
//! upstream's plugins word them (they end up in "0/N nodes are available: ..." messages).
//!
//! They run in upstream's order and stop at the first plugin that rejects the node:
//! NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
//! PodTopologySpread, InterPodAffinity. The last two need cluster-wide counts computed once per
//! pod (`ClusterState`, upstream's PreFilter).

pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_ports;
pub mod resources_fit;
pub mod taints;
pub mod topology_spread;

use std::fmt;

use crate::cache::Cache;
use crate::node_info::{NodeFacts, NodeInfo};
use crate::pod_info::PodInfo;

/// Why a node cannot take a pod.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    Insufficient(String),
    TooManyPods,
    NodeName,
    Unschedulable,
    NodeAffinity,
    UntoleratedTaint { key: String, value: String },
    NodePorts,
    PodAffinity,
    PodAntiAffinity,
    ExistingPodsAntiAffinity,
    SpreadConstraints,
    SpreadMissingLabel,
}

impl Reason {
    /// Whether evicting pods from the node could remove this reason (upstream's `Unschedulable`
    /// versus `UnschedulableAndUnresolvable`).
    pub fn resolvable_by_preemption(&self) -> bool {
        matches!(
            self,
            Reason::Insufficient(_)
                | Reason::TooManyPods
                | Reason::NodePorts
                | Reason::PodAntiAffinity
                | Reason::ExistingPodsAntiAffinity
                | Reason::SpreadConstraints
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Insufficient(resource) => write!(f, "Insufficient {resource}"),
            Reason::TooManyPods => f.write_str("Too many pods"),
            Reason::NodeName => f.write_str("node(s) didn't match the requested node name"),
            Reason::Unschedulable => f.write_str("node(s) were unschedulable"),
            Reason::NodeAffinity => f.write_str("node(s) didn't match Pod's node affinity/selector"),
            Reason::UntoleratedTaint { key, value } => write!(f, "node(s) had untolerated taint {{{key}: {value}}}"),
            Reason::NodePorts => f.write_str("node(s) didn't have free ports for the requested pod ports"),
            Reason::PodAffinity => f.write_str("node(s) didn't match pod affinity rules"),
            Reason::PodAntiAffinity => f.write_str("node(s) didn't match pod anti-affinity rules"),
            Reason::ExistingPodsAntiAffinity => f.write_str("node(s) didn't satisfy existing pods anti-affinity rules"),
            Reason::SpreadConstraints => f.write_str("node(s) didn't match pod topology spread constraints"),
            Reason::SpreadMissingLabel => {
                f.write_str("node(s) didn't match pod topology spread constraints (missing required label)")
            }
        }
    }
}

/// Per-pod, cluster-wide precomputation for the filters that look beyond one node.
#[derive(Debug, Default)]
pub struct ClusterState {
    pub affinity: inter_pod_affinity::AffinityState,
    pub spread: topology_spread::SpreadState,
}

impl ClusterState {
    pub fn new(cache: &Cache, pod: &PodInfo) -> Self {
        Self {
            affinity: inter_pod_affinity::AffinityState::new(cache, pod),
            spread: topology_spread::SpreadState::new(cache, pod),
        }
    }
}

/// Runs every filter; on rejection, pushes the reasons into `reasons` and returns false.
pub fn fits(state: &ClusterState, pod: &PodInfo, node: &NodeInfo, reasons: &mut Vec<Reason>) -> bool {
    let Some(facts) = &node.facts else { return false };
    let before = reasons.len();
    node_local(pod, node, facts, reasons)
        && {
            topology_spread::filter(&state.spread, pod, facts, reasons);
            reasons.len() == before
        }
        && {
            inter_pod_affinity::filter(&state.affinity, pod, facts, reasons);
            reasons.len() == before
        }
}

/// The filters that only look at the node itself (also what preemption re-checks).
pub fn node_local(pod: &PodInfo, node: &NodeInfo, facts: &NodeFacts, reasons: &mut Vec<Reason>) -> bool {
    let before = reasons.len();
    if facts.unschedulable && !taints::tolerates_unschedulable(&pod.tolerations) {
        reasons.push(Reason::Unschedulable);
        return false;
    }
    if pod.node_name.as_deref().is_some_and(|n| n != node.name) {
        reasons.push(Reason::NodeName);
        return false;
    }
    if let Some(taint) = taints::first_untolerated(&facts.taints, &pod.tolerations) {
        reasons
            .push(Reason::UntoleratedTaint { key: taint.key.clone(), value: taint.value.clone().unwrap_or_default() });
        return false;
    }
    if !node_affinity::matches(pod, &node.name, &facts.labels) {
        reasons.push(Reason::NodeAffinity);
        return false;
    }
    if !node_ports::free(pod, node) {
        reasons.push(Reason::NodePorts);
        return false;
    }
    resources_fit::filter(pod, node, facts, reasons);
    reasons.len() == before
}
