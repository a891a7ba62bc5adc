//! The scheduler cache: every node with the pods bound or assumed on it, updated incrementally
//! from watch events and from the scheduler's own decisions.
//!
//! "Assumed" pods are ones the scheduler decided on and is binding right now: they count on
//! their node at once, so the next decision sees the space as taken; a failed bind forgets
//! them, the pod's watch event (with `spec.nodeName`) confirms them.
//!
//! Default spreading needs, for a pod of some ReplicaSet/StatefulSet, how many of its siblings
//! run on each node and zone: those counts are kept per owner here rather than recounted from
//! every pod for every decision.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;

use crate::node_info::{NodeFacts, NodeInfo};
use crate::pod_info::{PodInfo, PodKey};
use crate::selector::Labels;

pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

#[derive(Debug)]
struct CachedPod {
    node: String,
    /// The zone of the node when the pod was added (for the per-owner counts).
    zone: Option<String>,
    info: Arc<PodInfo>,
    assumed: bool,
}

/// How many pods of one owner run per node and per zone.
#[derive(Debug, Default)]
pub struct OwnerSpread {
    pub by_node: HashMap<String, u32>,
    pub by_zone: HashMap<String, u32>,
}

/// What a node update changed, so the queue knows whether to retry unschedulable pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeChange {
    Added,
    Changed,
    Unchanged,
}

#[derive(Debug, Default)]
pub struct Cache {
    nodes: Vec<NodeInfo>,
    index: HashMap<String, usize>,
    pods: HashMap<PodKey, CachedPod>,
    live_nodes: usize,
    owners: HashMap<String, OwnerSpread>,
    anti_affinity_pods: usize,
    /// Namespace labels, for pod affinity terms with a namespace selector.
    pub namespace_labels: HashMap<String, Labels>,
}

impl Cache {
    /// All nodes, including deleted ones that still hold pods (`facts == None`).
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    /// Nodes that exist (the "N" of "0/N nodes are available").
    pub fn live_node_count(&self) -> usize {
        self.live_nodes
    }

    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.index.get(name).map(|i| &self.nodes[*i])
    }

    /// Pods anywhere with required anti-affinity terms.
    pub fn anti_affinity_pod_count(&self) -> usize {
        self.anti_affinity_pods
    }

    pub fn owner_spread(&self, owner: &str) -> Option<&OwnerSpread> {
        self.owners.get(owner)
    }

    #[cfg(test)]
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    pub fn is_assumed(&self, key: &PodKey) -> bool {
        self.pods.get(key).is_some_and(|p| p.assumed)
    }

    /// Keys of bound (not assumed) pods, for reconciling after a re-list.
    pub fn bound_pod_keys(&self) -> Vec<PodKey> {
        self.pods.iter().filter(|(_, p)| !p.assumed).map(|(k, _)| k.clone()).collect()
    }

    pub fn node_names(&self) -> Vec<String> {
        self.nodes.iter().filter(|n| n.facts.is_some()).map(|n| n.name.clone()).collect()
    }

    fn slot(&mut self, name: &str) -> usize {
        if let Some(i) = self.index.get(name) {
            return *i;
        }
        self.nodes.push(NodeInfo::new(name, None));
        self.index.insert(name.to_string(), self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    fn drop_slot(&mut self, at: usize) {
        let removed = self.nodes.swap_remove(at);
        self.index.remove(&removed.name);
        if let Some(moved) = self.nodes.get(at) {
            self.index.insert(moved.name.clone(), at);
        }
    }

    pub fn upsert_node(&mut self, node: &Node) -> NodeChange {
        let name = node.metadata.name.as_deref().unwrap_or_default();
        let facts = NodeFacts::new(node);
        let at = self.slot(name);
        let info = &mut self.nodes[at];
        match &info.facts {
            Some(old) if *old == facts => NodeChange::Unchanged,
            Some(_) => {
                info.facts = Some(facts);
                NodeChange::Changed
            }
            None => {
                info.facts = Some(facts);
                self.live_nodes += 1;
                NodeChange::Added
            }
        }
    }

    pub fn remove_node(&mut self, name: &str) {
        let Some(&at) = self.index.get(name) else { return };
        if self.nodes[at].facts.take().is_some() {
            self.live_nodes -= 1;
        }
        if self.nodes[at].pods.is_empty() {
            self.drop_slot(at);
        }
    }

    /// Adds or replaces a pod bound to `node` (as the watch reports it).
    pub fn add_bound_pod(&mut self, info: Arc<PodInfo>, node: &str) {
        self.remove_pod(&info.key);
        self.insert(info, node, false);
    }

    /// Counts `info` on `node` while its binding is in flight.
    pub fn assume(&mut self, info: Arc<PodInfo>, node: &str) {
        self.remove_pod(&info.key);
        self.insert(info, node, true);
    }

    /// Undoes `assume` (the bind failed). Bound pods are left alone.
    pub fn forget(&mut self, key: &PodKey) {
        if self.is_assumed(key) {
            self.remove_pod(key);
        }
    }

    fn insert(&mut self, info: Arc<PodInfo>, node: &str, assumed: bool) {
        let at = self.slot(node);
        let zone = self.nodes[at].labels().and_then(|l| l.get(ZONE_LABEL)).cloned();
        if let Some(owner) = &info.spread_owner {
            let spread = self.owners.entry(owner.clone()).or_default();
            *spread.by_node.entry(node.to_string()).or_default() += 1;
            if let Some(zone) = &zone {
                *spread.by_zone.entry(zone.clone()).or_default() += 1;
            }
        }
        if info.has_required_anti_affinity() {
            self.anti_affinity_pods += 1;
        }
        self.nodes[at].add_pod(info.clone());
        self.pods.insert(info.key.clone(), CachedPod { node: node.to_string(), zone, info, assumed });
    }

    /// Removes a pod; returns whether it was there.
    pub fn remove_pod(&mut self, key: &PodKey) -> bool {
        let Some(cached) = self.pods.remove(key) else { return false };
        if let Some(owner) = &cached.info.spread_owner
            && let Some(spread) = self.owners.get_mut(owner)
        {
            decrement(&mut spread.by_node, &cached.node);
            if let Some(zone) = &cached.zone {
                decrement(&mut spread.by_zone, zone);
            }
            if spread.by_node.is_empty() {
                self.owners.remove(owner);
            }
        }
        if cached.info.has_required_anti_affinity() {
            self.anti_affinity_pods -= 1;
        }
        if let Some(&at) = self.index.get(&cached.node) {
            self.nodes[at].remove_pod(key);
            if self.nodes[at].facts.is_none() && self.nodes[at].pods.is_empty() {
                self.drop_slot(at);
            }
        }
        true
    }
}

fn decrement(map: &mut HashMap<String, u32>, key: &str) {
    if let Some(count) = map.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            map.remove(key);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeStatus, PodSpec};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

    pub(crate) fn node(name: &str, cpu: &str, memory: &str, labels: &[(&str, &str)]) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
                ..Default::default()
            },
            status: Some(NodeStatus {
                allocatable: Some(
                    [("cpu", cpu), ("memory", memory), ("pods", "110")]
                        .iter()
                        .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub(crate) fn pod(name: &str, cpu: &str) -> k8s_openapi::api::core::v1::Pod {
        k8s_openapi::api::core::v1::Pod {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some("default".into()), ..Default::default() },
            spec: Some(PodSpec {
                containers: vec![crate::resources::tests::container(&[("cpu", cpu)])],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn assumed_pods_count_until_forgotten() {
        let mut cache = Cache::default();
        cache.upsert_node(&node("n1", "4", "8Gi", &[]));
        let info = Arc::new(PodInfo::new(&pod("p", "1")));
        cache.assume(info.clone(), "n1");
        assert_eq!(cache.node("n1").unwrap().requested.milli_cpu, 1000);
        assert!(cache.is_assumed(&info.key));
        cache.forget(&info.key);
        assert_eq!(cache.node("n1").unwrap().requested.milli_cpu, 0);
        assert!(cache.node("n1").unwrap().pods.is_empty());
    }

    #[test]
    fn confirmed_pods_replace_assumed_ones_without_double_counting() {
        let mut cache = Cache::default();
        cache.upsert_node(&node("n1", "4", "8Gi", &[]));
        let info = Arc::new(PodInfo::new(&pod("p", "1")));
        cache.assume(info.clone(), "n1");
        cache.add_bound_pod(info.clone(), "n1");
        assert!(!cache.is_assumed(&info.key));
        assert_eq!(cache.node("n1").unwrap().requested.milli_cpu, 1000);
        cache.forget(&info.key);
        assert_eq!(cache.node("n1").unwrap().pods.len(), 1, "forget leaves bound pods alone");
    }

    #[test]
    fn deleted_nodes_linger_while_pods_remain_but_are_not_live() {
        let mut cache = Cache::default();
        cache.upsert_node(&node("n1", "4", "8Gi", &[]));
        cache.upsert_node(&node("n2", "4", "8Gi", &[]));
        let info = Arc::new(PodInfo::new(&pod("p", "1")));
        cache.add_bound_pod(info.clone(), "n1");
        cache.remove_node("n1");
        assert_eq!(cache.live_node_count(), 1);
        assert!(cache.node("n1").is_some_and(|n| n.facts.is_none()));
        cache.remove_pod(&info.key);
        assert!(cache.node("n1").is_none());
        assert!(cache.node("n2").is_some(), "the index survives the swap_remove");
    }

    #[test]
    fn owner_counts_follow_pods() {
        let mut cache = Cache::default();
        cache.upsert_node(&node("n1", "4", "8Gi", &[(ZONE_LABEL, "a")]));
        let mut p = pod("p", "1");
        p.metadata.owner_references = Some(vec![OwnerReference {
            kind: "ReplicaSet".into(),
            uid: "rs-1".into(),
            controller: Some(true),
            ..Default::default()
        }]);
        let info = Arc::new(PodInfo::new(&p));
        cache.add_bound_pod(info.clone(), "n1");
        let spread = cache.owner_spread("rs-1").unwrap();
        assert_eq!((spread.by_node.get("n1"), spread.by_zone.get("a")), (Some(&1), Some(&1)));
        cache.remove_pod(&info.key);
        assert!(cache.owner_spread("rs-1").is_none());
    }

    #[test]
    fn node_updates_report_whether_anything_changed() {
        let mut cache = Cache::default();
        assert_eq!(cache.upsert_node(&node("n1", "4", "8Gi", &[])), NodeChange::Added);
        assert_eq!(cache.upsert_node(&node("n1", "4", "8Gi", &[])), NodeChange::Unchanged);
        assert_eq!(cache.upsert_node(&node("n1", "8", "8Gi", &[])), NodeChange::Changed);
    }
}
