//! Heartbeats of every node of the process: lease renewals (every 10 s by default) and node
//! status refreshes (lastHeartbeatTime, every minute). Each round spreads its requests evenly
//! over the interval, so 5,000 nodes make a steady trickle instead of a burst.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use tokio::time::Instant;

use crate::lease::{LEASE_NAMESPACE, renew_patch};
use crate::node::{NodeIdentity, NodeTemplate, heartbeat_patch};
use crate::registration::{FIELD_MANAGER, Registered, ensure_lease, register_node};

/// When request `index` of `count` starts within a round of `interval`.
pub fn spread_offset(index: usize, count: usize, interval: Duration) -> Duration {
    if count == 0 {
        return Duration::ZERO;
    }
    let nanos = interval.as_nanos() * index as u128 / count as u128;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Runs `beat(i)` for every `i` in `0..count` once per `interval`, spread over it, at most
/// `concurrency` at a time. Never returns.
async fn rounds<F, Fut>(count: usize, interval: Duration, concurrency: usize, beat: F)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let interval = interval.max(Duration::from_millis(10));
    let mut round = Instant::now() + interval;
    loop {
        tokio::time::sleep_until(round).await;
        let start = round;
        futures::stream::iter(0..count)
            .map(|i| {
                let at = start + spread_offset(i, count, interval);
                let beat = beat(i);
                async move {
                    tokio::time::sleep_until(at).await;
                    beat.await;
                }
            })
            .buffer_unordered(concurrency.max(1))
            .for_each(|()| async {})
            .await;
        // A slow round (server overloaded) is not followed by a burst to catch up.
        round = (start + interval).max(Instant::now());
    }
}

/// Renews every node's lease forever; a lease deleted by someone is created again.
pub async fn renew_leases(client: Client, nodes: Arc<Vec<Registered>>, interval: Duration, concurrency: usize) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    rounds(nodes.len(), interval, concurrency, |i| {
        let (leases, client, node) = (leases.clone(), client.clone(), nodes[i].clone());
        async move {
            let params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() };
            match leases.patch(&node.name, &params, &Patch::Merge(renew_patch(&node.name, Timestamp::now()))).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {
                    if let Err(err) = ensure_lease(&client, &node).await {
                        tracing::warn!(%err, "recreating a lease failed");
                    }
                }
                Err(err) => tracing::warn!(node = %node.name, %err, "lease renewal failed"),
            }
        }
    })
    .await;
}

/// Refreshes every node's conditions forever; a Node deleted by someone is registered again.
pub async fn report_node_status(
    client: Client,
    nodes: Arc<Vec<NodeIdentity>>,
    template: Arc<NodeTemplate>,
    since: Timestamp,
    interval: Duration,
    concurrency: usize,
) {
    let api: Api<Node> = Api::all(client.clone());
    rounds(nodes.len(), interval, concurrency, |i| {
        let (api, client, template, identity) = (api.clone(), client.clone(), template.clone(), nodes[i].clone());
        async move {
            let params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() };
            let patch = heartbeat_patch(since, Timestamp::now());
            match api.patch_status(&identity.name, &params, &Patch::Merge(&patch)).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {
                    match register_node(&client, &identity, &template, since).await {
                        Ok(node) => {
                            if let Err(err) = ensure_lease(&client, &node).await {
                                tracing::warn!(%err, "re-registering a lease failed");
                            }
                        }
                        Err(err) => tracing::warn!(%err, "re-registering a node failed"),
                    }
                }
                Err(err) => tracing::warn!(node = %identity.name, %err, "node status update failed"),
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_spread_evenly_over_the_interval() {
        let interval = Duration::from_secs(10);
        assert_eq!(spread_offset(0, 5000, interval), Duration::ZERO);
        assert_eq!(spread_offset(2500, 5000, interval), Duration::from_secs(5));
        assert!(spread_offset(4999, 5000, interval) < interval);
        assert_eq!(spread_offset(0, 0, interval), Duration::ZERO);
    }
}
