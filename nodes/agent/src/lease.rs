//! The node heartbeat Lease (`kube-node-lease/<node>`), as the kubelet keeps it: held by the
//! node, 40 s duration, renewed every 10 s, owned by the Node so it goes away with it.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::time::rfc3339_micro;

/// Where node leases live.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";
/// The kubelet's default lease duration (`nodeLeaseDurationSeconds`).
pub const LEASE_DURATION_SECONDS: i32 = 40;

/// A new Lease for node `node` (with uid `node_uid`).
pub fn lease_object(node: &str, node_uid: &str, now: Timestamp) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": node,
            "namespace": LEASE_NAMESPACE,
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node, "uid": node_uid}],
        },
        "spec": {
            "holderIdentity": node,
            "leaseDurationSeconds": LEASE_DURATION_SECONDS,
            "renewTime": rfc3339_micro(now),
        },
    })
}

/// The renewal: a merge patch of the spec (the holder is restated in case someone cleared it).
pub fn renew_patch(node: &str, now: Timestamp) -> Value {
    json!({"spec": {
        "holderIdentity": node,
        "leaseDurationSeconds": LEASE_DURATION_SECONDS,
        "renewTime": rfc3339_micro(now),
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_is_held_by_and_owned_by_the_node() {
        let now: Timestamp = "2026-01-01T00:00:00.5Z".parse().unwrap();
        let lease = lease_object("sim-0", "uid-1", now);
        assert_eq!(lease["metadata"]["namespace"], "kube-node-lease");
        assert_eq!(lease["metadata"]["ownerReferences"][0]["uid"], "uid-1");
        assert_eq!(lease["metadata"]["ownerReferences"][0]["kind"], "Node");
        assert_eq!(lease["spec"]["holderIdentity"], "sim-0");
        assert_eq!(lease["spec"]["leaseDurationSeconds"], 40);
        assert_eq!(lease["spec"]["renewTime"], "2026-01-01T00:00:00.500000Z");
        assert_eq!(renew_patch("sim-0", now)["spec"]["renewTime"], "2026-01-01T00:00:00.500000Z");
    }
}
