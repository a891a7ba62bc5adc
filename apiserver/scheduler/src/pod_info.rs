//! `PodInfo`: everything scheduling needs from a Pod, extracted and compiled once when the pod
//! is seen (selectors, requests, ports), shared as `Arc<PodInfo>` by the queue and the cache.

use std::collections::HashMap;
use std::fmt;

use k8s_openapi::api::core::v1::{Pod, PodAffinityTerm, Toleration, TopologySpreadConstraint};

use crate::resources::{PodRequests, pod_requests};
use crate::selector::{Labels, NodeTerm, Selector};

/// `namespace/name`: how the queue and the cache name a pod.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PodKey(pub String);

impl PodKey {
    pub fn new(namespace: &str, name: &str) -> Self {
        Self(format!("{namespace}/{name}"))
    }
}

impl fmt::Display for PodKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A host port a container asks for; `ip` "0.0.0.0" means every address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPort {
    pub protocol: String,
    pub ip: String,
    pub port: i32,
}

impl HostPort {
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == "0.0.0.0" || other.ip == "0.0.0.0")
    }
}

/// A pod (anti-)affinity term: pods matching `selector` in the term's namespaces, counted per
/// value of `topology_key` on their nodes.
#[derive(Clone, Debug)]
pub struct AffinityTerm {
    pub selector: Selector,
    /// Listed namespaces; when empty and there is no namespace selector, the pod's own.
    pub namespaces: Vec<String>,
    pub namespace_selector: Option<Selector>,
    pub topology_key: String,
}

impl AffinityTerm {
    fn new(term: &PodAffinityTerm, namespace: &str, labels: &Labels) -> Self {
        let mut selector = term.label_selector.as_ref().map(Selector::new);
        // matchLabelKeys / mismatchLabelKeys: narrow the selector by this pod's own label values.
        for key in term.match_label_keys.iter().flatten() {
            if let (Some(s), Some(v)) = (selector.take(), labels.get(key)) {
                selector = Some(s.with_equal(key, v));
            }
        }
        for key in term.mismatch_label_keys.iter().flatten() {
            if let (Some(s), Some(v)) = (selector.take(), labels.get(key)) {
                selector = Some(s.with_not_equal(key, v));
            }
        }
        let namespace_selector = term.namespace_selector.as_ref().map(Selector::new);
        let mut namespaces = term.namespaces.clone().unwrap_or_default();
        if namespaces.is_empty() && namespace_selector.is_none() {
            namespaces.push(namespace.to_string());
        }
        Self {
            // A term without a label selector selects no pod.
            selector: selector.unwrap_or_else(|| Selector::default().with_equal("", "\u{0}never")),
            namespaces,
            namespace_selector,
            topology_key: term.topology_key.clone(),
        }
    }

    /// Whether `pod` is one of the pods this term is about.
    pub fn matches(&self, pod: &PodInfo, namespace_labels: &HashMap<String, Labels>) -> bool {
        let in_namespace = self.namespaces.contains(&pod.namespace)
            || self.namespace_selector.as_ref().is_some_and(|s| {
                s.is_empty() || namespace_labels.get(&pod.namespace).is_some_and(|labels| s.matches(labels))
            });
        in_namespace && self.selector.matches(&pod.labels)
    }
}

/// A compiled topology spread constraint.
#[derive(Clone, Debug)]
pub struct SpreadConstraint {
    pub max_skew: i32,
    pub topology_key: String,
    pub selector: Selector,
    /// `whenUnsatisfiable: DoNotSchedule` (a filter) rather than `ScheduleAnyway` (a score).
    pub hard: bool,
    pub min_domains: Option<i32>,
    /// `nodeAffinityPolicy: Honor` (default): only nodes the pod could land on count.
    pub honor_node_affinity: bool,
    /// `nodeTaintsPolicy: Honor` (default Ignore): only nodes whose taints the pod tolerates.
    pub honor_taints: bool,
}

impl SpreadConstraint {
    fn new(c: &TopologySpreadConstraint, labels: &Labels) -> Self {
        let mut selector = c.label_selector.as_ref().map(Selector::new).unwrap_or_else(|| {
            // No selector: matches no pod (counts stay zero; only the pod itself counts).
            Selector::default().with_equal("", "\u{0}never")
        });
        for key in c.match_label_keys.iter().flatten() {
            if let Some(v) = labels.get(key) {
                selector = selector.with_equal(key, v);
            }
        }
        Self {
            max_skew: c.max_skew.max(1),
            topology_key: c.topology_key.clone(),
            selector,
            hard: c.when_unsatisfiable == "DoNotSchedule",
            min_domains: c.min_domains,
            honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
            honor_taints: c.node_taints_policy.as_deref() == Some("Honor"),
        }
    }
}

/// The scheduling view of one pod.
#[derive(Debug)]
pub struct PodInfo {
    pub key: PodKey,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub labels: Labels,
    pub scheduler_name: String,
    /// `spec.nodeName`: set for bound pods; on a pending pod, the NodeName filter.
    pub node_name: Option<String>,
    pub requests: PodRequests,
    pub host_ports: Vec<HostPort>,
    pub node_selector: Labels,
    /// Required node affinity: any term may match. `None`: no requirement.
    pub required_node_terms: Option<Vec<NodeTerm>>,
    pub preferred_node_terms: Vec<(i32, NodeTerm)>,
    pub tolerations: Vec<Toleration>,
    pub affinity: Vec<AffinityTerm>,
    pub anti_affinity: Vec<AffinityTerm>,
    pub preferred_affinity: Vec<(i32, AffinityTerm)>,
    pub preferred_anti_affinity: Vec<(i32, AffinityTerm)>,
    pub spread: Vec<SpreadConstraint>,
    pub priority: i32,
    /// PersistentVolumeClaims the pod mounts: unbound ones learn the chosen node at bind time
    /// (upstream's VolumeBinding contract with the PV controller's WaitForFirstConsumer).
    pub claims: Vec<String>,
    pub preemption_never: bool,
    /// The controller owning the pod when it is a ReplicaSet, StatefulSet or
    /// ReplicationController: pods of one owner are spread by default.
    pub spread_owner: Option<String>,
    pub deleting: bool,
    /// Has `spec.schedulingGates`: not to be scheduled yet.
    pub gated: bool,
    /// Succeeded or Failed: holds no resources.
    pub terminal: bool,
    pub nominated_node: Option<String>,
    pub resource_version: String,
    /// A fingerprint of what scheduling reads (spec and labels) of a pending pod, so that
    /// status-only updates (ours included) do not trigger retries; 0 for bound pods.
    pub fingerprint: u64,
}

fn fingerprint(spec: &k8s_openapi::api::core::v1::PodSpec, labels: &Labels) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(spec).unwrap_or_default().hash(&mut hasher);
    labels.hash(&mut hasher);
    hasher.finish()
}

impl PodInfo {
    pub fn new(pod: &Pod) -> Self {
        let meta = &pod.metadata;
        let namespace = meta.namespace.clone().unwrap_or_default();
        let name = meta.name.clone().unwrap_or_default();
        let labels = meta.labels.clone().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        let affinity = spec.affinity.clone().unwrap_or_default();
        let node_affinity = affinity.node_affinity.unwrap_or_default();
        let pod_affinity = affinity.pod_affinity.unwrap_or_default();
        let pod_anti = affinity.pod_anti_affinity.unwrap_or_default();
        let term = |t: &PodAffinityTerm| AffinityTerm::new(t, &namespace, &labels);
        let host_ports = spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .flat_map(|c| c.ports.iter().flatten())
            .filter_map(|p| {
                let port = p.host_port.filter(|p| *p > 0)?;
                let ip = p.host_ip.clone().filter(|ip| !ip.is_empty()).unwrap_or_else(|| "0.0.0.0".into());
                Some(HostPort { protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()), ip, port })
            })
            .collect();
        let spread_owner = meta.owner_references.iter().flatten().find_map(|o| {
            (o.controller == Some(true)
                && matches!(o.kind.as_str(), "ReplicaSet" | "StatefulSet" | "ReplicationController"))
            .then(|| o.uid.clone())
        });
        let status = pod.status.as_ref();
        Self {
            key: PodKey::new(&namespace, &name),
            uid: meta.uid.clone().unwrap_or_default(),
            scheduler_name: spec.scheduler_name.clone().unwrap_or_else(|| "default-scheduler".into()),
            node_name: spec.node_name.clone().filter(|n| !n.is_empty()),
            requests: pod_requests(&spec),
            host_ports,
            node_selector: spec.node_selector.clone().unwrap_or_default(),
            required_node_terms: node_affinity
                .required_during_scheduling_ignored_during_execution
                .map(|s| s.node_selector_terms.iter().map(NodeTerm::new).collect()),
            preferred_node_terms: node_affinity
                .preferred_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
                .map(|p| (p.weight, NodeTerm::new(&p.preference)))
                .collect(),
            tolerations: spec.tolerations.clone().unwrap_or_default(),
            affinity: pod_affinity
                .required_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
                .map(term)
                .collect(),
            anti_affinity: pod_anti
                .required_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
                .map(term)
                .collect(),
            preferred_affinity: pod_affinity
                .preferred_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
                .map(|w| (w.weight, term(&w.pod_affinity_term)))
                .collect(),
            preferred_anti_affinity: pod_anti
                .preferred_during_scheduling_ignored_during_execution
                .iter()
                .flatten()
                .map(|w| (w.weight, term(&w.pod_affinity_term)))
                .collect(),
            spread: spec
                .topology_spread_constraints
                .iter()
                .flatten()
                .map(|c| SpreadConstraint::new(c, &labels))
                .collect(),
            priority: spec.priority.unwrap_or(0),
            claims: spec
                .volumes
                .iter()
                .flatten()
                .filter_map(|v| Some(v.persistent_volume_claim.as_ref()?.claim_name.clone()))
                .collect(),
            preemption_never: spec.preemption_policy.as_deref() == Some("Never"),
            spread_owner,
            deleting: meta.deletion_timestamp.is_some(),
            gated: spec.scheduling_gates.as_ref().is_some_and(|g| !g.is_empty()),
            terminal: status.and_then(|s| s.phase.as_deref()).is_some_and(|p| p == "Succeeded" || p == "Failed"),
            nominated_node: status.and_then(|s| s.nominated_node_name.clone()).filter(|n| !n.is_empty()),
            resource_version: meta.resource_version.clone().unwrap_or_default(),
            fingerprint: if spec.node_name.is_some() { 0 } else { fingerprint(&spec, &labels) },
            namespace,
            name,
            labels,
        }
    }

    /// Whether this pod has inter-pod terms that existing pods must be checked against.
    pub fn has_required_anti_affinity(&self) -> bool {
        !self.anti_affinity.is_empty()
    }
}
