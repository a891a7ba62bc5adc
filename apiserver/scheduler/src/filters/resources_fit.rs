//! NodeResourcesFit: the pod's requests fit in what the node's pods leave of its allocatable,
//! and the node has room for one more pod.

use crate::filters::Reason;
use crate::node_info::{NodeFacts, NodeInfo};
use crate::pod_info::PodInfo;

/// Pushes one reason per resource that does not fit (upstream reports them all).
pub fn filter(pod: &PodInfo, node: &NodeInfo, facts: &NodeFacts, reasons: &mut Vec<Reason>) {
    if node.pods.len() as i64 + 1 > facts.allowed_pods {
        reasons.push(Reason::TooManyPods);
    }
    let want = &pod.requests.exact;
    let have = &facts.allocatable;
    let used = &node.requested;
    if want.milli_cpu > 0 && want.milli_cpu > have.milli_cpu - used.milli_cpu {
        reasons.push(Reason::Insufficient("cpu".into()));
    }
    if want.memory > 0 && want.memory > have.memory - used.memory {
        reasons.push(Reason::Insufficient("memory".into()));
    }
    if want.ephemeral_storage > 0 && want.ephemeral_storage > have.ephemeral_storage - used.ephemeral_storage {
        reasons.push(Reason::Insufficient("ephemeral-storage".into()));
    }
    for (name, amount) in &want.scalar {
        if *amount > 0 && *amount > have.scalar(name) - used.scalar(name) {
            reasons.push(Reason::Insufficient(name.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::{node, pod};
    use std::sync::Arc;

    fn reasons(pod_cpu: &str, existing: &[&str], node_cpu: &str) -> Vec<Reason> {
        let facts = NodeFacts::new(&node("n", node_cpu, "1Gi", &[]));
        let mut info = NodeInfo::new("n", Some(facts.clone()));
        for (i, cpu) in existing.iter().enumerate() {
            info.add_pod(Arc::new(PodInfo::new(&pod(&format!("e{i}"), cpu))));
        }
        let mut out = Vec::new();
        filter(&PodInfo::new(&pod("p", pod_cpu)), &info, &facts, &mut out);
        out
    }

    #[test]
    fn requests_must_fit_in_what_is_left() {
        assert!(reasons("1", &["2"], "3").is_empty());
        assert_eq!(reasons("1500m", &["2"], "3"), vec![Reason::Insufficient("cpu".into())]);
    }

    #[test]
    fn extended_resources_and_memory_are_checked() {
        let mut p = pod("p", "1");
        let requests = p.spec.as_mut().unwrap().containers[0].resources.as_mut().unwrap().requests.as_mut().unwrap();
        requests.insert("example.com/gpu".into(), k8s_openapi::apimachinery::pkg::api::resource::Quantity("1".into()));
        requests.insert("memory".into(), k8s_openapi::apimachinery::pkg::api::resource::Quantity("2Gi".into()));
        let facts = NodeFacts::new(&node("n", "4", "1Gi", &[]));
        let info = NodeInfo::new("n", Some(facts.clone()));
        let mut out = Vec::new();
        filter(&PodInfo::new(&p), &info, &facts, &mut out);
        assert_eq!(out, vec![Reason::Insufficient("memory".into()), Reason::Insufficient("example.com/gpu".into())]);
    }

    #[test]
    fn pod_count_is_limited_by_allocatable_pods() {
        let mut n = node("n", "4", "1Gi", &[]);
        n.status
            .as_mut()
            .unwrap()
            .allocatable
            .as_mut()
            .unwrap()
            .insert("pods".into(), k8s_openapi::apimachinery::pkg::api::resource::Quantity("1".into()));
        let facts = NodeFacts::new(&n);
        let mut info = NodeInfo::new("n", Some(facts.clone()));
        info.add_pod(Arc::new(PodInfo::new(&pod("e", "0"))));
        let mut out = Vec::new();
        filter(&PodInfo::new(&pod("p", "0")), &info, &facts, &mut out);
        assert_eq!(out, vec![Reason::TooManyPods]);
    }
}
