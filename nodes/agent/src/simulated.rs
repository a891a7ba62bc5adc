//! Simulated nodes: N Nodes with leases and heartbeats, whose pods go through the kubelet's
//! lifecycle on the [`SimulatedRuntime`] (no containers). One process carries thousands of
//! nodes: one pod watch, one worker loop, one runtime timer loop, bounded API concurrency, and
//! (unless turned off) one metrics reporter pushing pod and node usage to `metrics.k8s.io`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use kube::Client;
use tokio::sync::mpsc;

use crate::Error;
use crate::addresses::{PodCidr, PodIpPool, node_ip};
use crate::heartbeat::{renew_leases, report_node_status};
use crate::metrics::{MetricsOptions, reporter};
use crate::node::{self, NodeIdentity, NodeTemplate};
use crate::pod::worker::{NodeSlot, PodWorker};
use crate::registration::{Registered, register_all};
use crate::runtime::simulated::SimulatedRuntime;
pub use crate::runtime::simulated::SimulatedTimings;

/// Runtime events waiting for the worker (a burst of timers falling due together).
const RUNTIME_EVENT_QUEUE: usize = 4096;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulatedOptions {
    /// How many nodes (default 1).
    pub nodes: usize,
    /// Nodes are named `{name_prefix}-{i}` (default `sim`).
    pub name_prefix: String,
    /// Added to `i` to pick the node's pod CIDR and InternalIP, so several agent processes can
    /// share a cluster without overlapping addresses (default 0).
    pub index_offset: usize,
    /// Capacity and allocatable of every node (default as KWOK: cpu 32, memory 256Gi, pods 110;
    /// plus ephemeral-storage 1Ti).
    pub capacity: BTreeMap<String, String>,
    /// Extra node labels (default `type=simulated`).
    pub labels: BTreeMap<String, String>,
    /// Lease renewal interval (default 10 s, the kubelet's).
    pub lease_renew_interval: Duration,
    /// Node status refresh interval: conditions' lastHeartbeatTime (default 60 s).
    pub node_status_interval: Duration,
    /// Startup delay, run times of the simulated containers.
    pub timings: SimulatedTimings,
    /// API requests in flight at once, per kind (registration, heartbeats, pod writes); default 96.
    pub api_concurrency: usize,
    /// Push PodMetrics and NodeMetrics to `metrics.k8s.io` (`kubectl top`, the HPA); default on.
    pub metrics: bool,
    /// Least time between two NodeMetrics pushes of a node whose usage changed, and how often
    /// running pods' usage is sampled again (default 10 s). Pod changes are pushed at once;
    /// every node is refreshed at least once a minute.
    pub metrics_interval: Duration,
}

impl Default for SimulatedOptions {
    fn default() -> Self {
        let map = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self {
            nodes: 1,
            name_prefix: "sim".into(),
            index_offset: 0,
            capacity: map(&[("cpu", "32"), ("memory", "256Gi"), ("pods", "110"), ("ephemeral-storage", "1Ti")]),
            labels: map(&[("type", "simulated")]),
            lease_renew_interval: Duration::from_secs(10),
            node_status_interval: Duration::from_secs(60),
            timings: SimulatedTimings::default(),
            api_concurrency: 96,
            metrics: true,
            metrics_interval: Duration::from_secs(10),
        }
    }
}

/// Registered simulated nodes, not yet running their heartbeats and pods.
pub struct SimulatedNodes {
    client: Client,
    options: SimulatedOptions,
    identities: Vec<NodeIdentity>,
    template: NodeTemplate,
    registered: Vec<Registered>,
    since: Timestamp,
}

impl std::fmt::Debug for SimulatedNodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedNodes").field("nodes", &self.registered.len()).finish_non_exhaustive()
    }
}

impl SimulatedNodes {
    pub fn len(&self) -> usize {
        self.registered.len()
    }

    pub fn is_empty(&self) -> bool {
        self.registered.is_empty()
    }

    /// Heartbeats and pods, until the future is dropped.
    pub async fn run(self) -> Result<(), Error> {
        let concurrency = self.options.api_concurrency;
        let (events_tx, events_rx) = mpsc::channel(RUNTIME_EVENT_QUEUE);
        let (runtime, driver) = SimulatedRuntime::new(self.options.timings.clone(), events_tx);
        let slots: HashMap<String, NodeSlot> = self
            .identities
            .iter()
            .map(|n| (n.name.clone(), NodeSlot { host_ip: n.internal_ip, pool: PodIpPool::new(n.pod_cidr) }))
            .collect();
        let mut worker = PodWorker::new(self.client.clone(), runtime, slots, concurrency);
        let metrics = if self.options.metrics {
            let nodes = self.identities.iter().map(|n| (n.name.clone(), node::labels(n, &self.template)));
            let options = MetricsOptions {
                interval: self.options.metrics_interval,
                concurrency: concurrency.clamp(1, 32),
                ..MetricsOptions::default()
            };
            let (handle, reporter) = reporter(self.client.clone(), nodes, options);
            worker = worker.with_metrics(handle);
            Some(reporter)
        } else {
            None
        };
        let metrics = async move {
            match metrics {
                Some(reporter) => reporter.run().await,
                None => std::future::pending().await,
            }
        };
        let leases = renew_leases(
            self.client.clone(),
            Arc::new(self.registered),
            self.options.lease_renew_interval,
            concurrency,
        );
        let status = report_node_status(
            self.client,
            Arc::new(self.identities),
            Arc::new(self.template),
            self.since,
            self.options.node_status_interval,
            concurrency,
        );
        tokio::select! {
            result = worker.run(events_rx) => result,
            () = driver => Err(Error::RuntimeStopped),
            () = leases => Ok(()),
            () = status => Ok(()),
            () = metrics => Ok(()),
        }
    }
}

/// The names and addresses of the nodes `options` describes.
pub fn identities(options: &SimulatedOptions) -> Result<Vec<NodeIdentity>, Error> {
    (0..options.nodes)
        .map(|i| {
            let index = options.index_offset + i;
            Ok(NodeIdentity {
                name: format!("{}-{i}", options.name_prefix),
                internal_ip: node_ip(index)?,
                pod_cidr: PodCidr::for_node(index)?,
            })
        })
        .collect()
}

/// Registers the nodes (and their leases); returns once all of them exist.
pub async fn start(client: Client, options: SimulatedOptions) -> Result<SimulatedNodes, Error> {
    let identities = identities(&options)?;
    let template = NodeTemplate {
        capacity: options.capacity.clone(),
        labels: options.labels.clone(),
        runtime_version: crate::runtime::simulated::VERSION.into(),
    };
    let since = Timestamp::now();
    let registered = register_all(&client, &identities, &template, since, options.api_concurrency).await?;
    tracing::info!(nodes = registered.len(), "simulated nodes registered");
    Ok(SimulatedNodes { client, options, identities, template, registered, since })
}

/// Registers the nodes, then runs them until the future is dropped.
pub async fn run(client: Client, options: SimulatedOptions) -> Result<(), Error> {
    start(client, options).await?.run().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_named_from_zero_with_distinct_addresses() {
        let options = SimulatedOptions { nodes: 3, name_prefix: "n".into(), index_offset: 10, ..Default::default() };
        let nodes = identities(&options).unwrap();
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["n-0", "n-1", "n-2"]);
        assert_eq!(nodes[0].pod_cidr, PodCidr::for_node(10).unwrap());
        assert_eq!(nodes[2].internal_ip, node_ip(12).unwrap());
    }

    /// The harness and binaries spawn `run`: it must stay `Send + 'static`.
    #[allow(dead_code, reason = "compile-time check only")]
    fn run_is_spawnable(client: Client) {
        fn spawnable<F: Future + Send + 'static>(_: F) {}
        spawnable(run(client, SimulatedOptions::default()));
    }

    #[test]
    fn too_many_nodes_is_an_error_not_a_panic() {
        let options = SimulatedOptions { nodes: 2, index_offset: 32767, ..Default::default() };
        assert!(matches!(identities(&options), Err(Error::Addresses(_))));
    }
}
