//! What a simulated node looks like in the API: the Node object the kubelet would register
//! (labels, pod CIDR, capacity, conditions, addresses, nodeInfo) and its heartbeat patch.
//! Pure builders; registration and heartbeats live in `registration` and `heartbeat`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::addresses::PodCidr;
use crate::time::rfc3339;

/// The kubelet version simulated nodes report.
pub const KUBELET_VERSION: &str = "v1.35.0";
/// The kubelet's default port, advertised in daemonEndpoints.
pub const KUBELET_PORT: u16 = 10250;

/// Everything that differs between simulated nodes.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    pub name: String,
    pub internal_ip: Ipv4Addr,
    pub pod_cidr: PodCidr,
}

/// What every node of one agent shares.
#[derive(Debug, Clone)]
pub struct NodeTemplate {
    /// Resource quantities for capacity and allocatable (nothing is reserved).
    pub capacity: BTreeMap<String, String>,
    /// Labels on top of the well-known ones (hostname, os, arch).
    pub labels: BTreeMap<String, String>,
    /// `containerRuntimeVersion`, e.g. `simulated://0.1`.
    pub runtime_version: String,
}

/// The Node as first registered (metadata, spec and status).
pub fn node_object(identity: &NodeIdentity, template: &NodeTemplate, now: Timestamp) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": identity.name, "labels": labels(identity, template)},
        "spec": {"podCIDR": identity.pod_cidr.to_string(), "podCIDRs": [identity.pod_cidr.to_string()]},
        "status": node_status(identity, template, now, now),
    })
}

/// Labels the kubelet sets (kubernetes.io/hostname, os, arch) plus the template's.
pub fn labels(identity: &NodeIdentity, template: &NodeTemplate) -> BTreeMap<String, String> {
    let mut labels = template.labels.clone();
    labels.insert("kubernetes.io/hostname".into(), identity.name.clone());
    labels.insert("kubernetes.io/os".into(), "linux".into());
    labels.insert("kubernetes.io/arch".into(), "amd64".into());
    labels.insert("beta.kubernetes.io/os".into(), "linux".into());
    labels.insert("beta.kubernetes.io/arch".into(), "amd64".into());
    labels
}

/// The full node status. `since` is when the conditions last changed (registration time):
/// a heartbeat only moves `lastHeartbeatTime`.
pub fn node_status(identity: &NodeIdentity, template: &NodeTemplate, since: Timestamp, now: Timestamp) -> Value {
    json!({
        "capacity": template.capacity,
        "allocatable": template.capacity,
        "conditions": conditions(since, now),
        "addresses": [
            {"type": "InternalIP", "address": identity.internal_ip.to_string()},
            {"type": "Hostname", "address": identity.name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": {
            "machineID": "",
            "systemUUID": "",
            "bootID": "",
            "kernelVersion": "simulated",
            "osImage": "Kybernetes simulated node",
            "containerRuntimeVersion": template.runtime_version,
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
        "phase": "Running",
    })
}

/// The heartbeat: the conditions again with a fresh lastHeartbeatTime (merge patch replaces the
/// list, so all four are sent).
pub fn heartbeat_patch(since: Timestamp, now: Timestamp) -> Value {
    json!({"status": {"conditions": conditions(since, now)}})
}

/// The kubelet's four node conditions of a healthy node, in its order.
fn conditions(since: Timestamp, now: Timestamp) -> Value {
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({
            "type": kind,
            "status": status,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": rfc3339(now),
            "lastTransitionTime": rfc3339(since),
        })
    };
    json!([
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> NodeIdentity {
        NodeIdentity {
            name: "sim-7".into(),
            internal_ip: Ipv4Addr::new(10, 64, 0, 8),
            pod_cidr: PodCidr::for_node(7).unwrap(),
        }
    }

    fn template() -> NodeTemplate {
        NodeTemplate {
            capacity: [("cpu", "32"), ("memory", "256Gi"), ("pods", "110")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            labels: [("type".to_string(), "simulated".to_string())].into(),
            runtime_version: "simulated://0.1".into(),
        }
    }

    #[test]
    fn node_has_kubelet_labels_cidr_capacity_and_ready_condition() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let node = node_object(&identity(), &template(), now);
        assert_eq!(node["metadata"]["labels"]["kubernetes.io/hostname"], "sim-7");
        assert_eq!(node["metadata"]["labels"]["kubernetes.io/os"], "linux");
        assert_eq!(node["metadata"]["labels"]["kubernetes.io/arch"], "amd64");
        assert_eq!(node["metadata"]["labels"]["type"], "simulated");
        assert_eq!(node["spec"]["podCIDR"], "10.128.7.0/24");
        assert_eq!(node["spec"]["podCIDRs"], json!(["10.128.7.0/24"]));
        assert_eq!(node["status"]["allocatable"]["pods"], "110");
        assert_eq!(node["status"]["capacity"]["memory"], "256Gi");
        let conditions = node["status"]["conditions"].as_array().unwrap();
        let ready = conditions.iter().find(|c| c["type"] == "Ready").unwrap();
        assert_eq!((&ready["status"], &ready["reason"]), (&json!("True"), &json!("KubeletReady")));
        for kind in ["MemoryPressure", "DiskPressure", "PIDPressure"] {
            let c = conditions.iter().find(|c| c["type"] == kind).unwrap();
            assert_eq!(c["status"], "False", "{kind}");
        }
        assert_eq!(node["status"]["addresses"][0], json!({"type": "InternalIP", "address": "10.64.0.8"}));
        assert_eq!(node["status"]["nodeInfo"]["kubeletVersion"], KUBELET_VERSION);
        assert_eq!(node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
    }

    #[test]
    fn heartbeat_moves_only_the_heartbeat_time() {
        let since: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let now: Timestamp = "2026-01-01T00:05:00Z".parse().unwrap();
        let patch = heartbeat_patch(since, now);
        for c in patch["status"]["conditions"].as_array().unwrap() {
            assert_eq!(c["lastHeartbeatTime"], "2026-01-01T00:05:00Z");
            assert_eq!(c["lastTransitionTime"], "2026-01-01T00:00:00Z");
        }
    }
}
