//! The controllers of kube-controller-manager, as API clients on kube-rs only (they never see
//! the store: `ci/check-deps.sh` enforces it). Each controller lives in its own module with a
//! `run(ctx)` entry point; they share one set of informers (one watch and one cache per
//! resource type) and one event writer. [`run`] starts them all, as the `apiserver` binary does
//! in-process (like k3s) or a `controller-manager` process does against any server.

pub mod backends;
pub mod events;
pub mod history;
pub mod informers;
pub mod owners;
pub mod selectors;

pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod endpointslice;
pub mod garbage_collector;
pub mod job;
pub mod namespace;
pub mod node_lifecycle;
pub mod persistentvolume;
pub mod podautoscaler;
pub mod replicaset;
pub mod resourcequota;
pub mod serviceaccount;
pub mod statefulset;
pub mod ttl_after_finished;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use kube::Client;

use crate::events::EventSink;
use crate::informers::Informers;

/// What a controller can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("API call failed: {0}")]
    Api(#[from] kube::Error),
    #[error("{0}")]
    Invalid(String),
}

/// Settings shared by the controllers (upstream's kube-controller-manager flags).
#[derive(Debug, Clone)]
pub struct Options {
    /// Objects each controller reconciles at once (upstream `--concurrent-*-syncs`).
    pub concurrency: u16,
    /// How long a node may go without a heartbeat before it is NotReady/Unknown
    /// (upstream `--node-monitor-grace-period`, 40 s).
    pub node_monitor_grace_period: Duration,
    /// How often node health is checked (upstream `--node-monitor-period`, 5 s).
    pub node_monitor_period: Duration,
    /// The cluster CA (PEM) published in every namespace as `kube-root-ca.crt`.
    pub root_ca: Option<String>,
    /// How often each HorizontalPodAutoscaler syncs (upstream
    /// `--horizontal-pod-autoscaler-sync-period`, 15 s).
    pub hpa_sync_period: Duration,
    /// How long HPAs without behavior keep the highest recent recommendation before scaling
    /// down (upstream `--horizontal-pod-autoscaler-downscale-stabilization`, 5 minutes).
    pub hpa_downscale_stabilization: Duration,
    /// Relative usage change HPAs ignore (upstream `--horizontal-pod-autoscaler-tolerance`, 0.1).
    pub hpa_tolerance: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            concurrency: 16,
            node_monitor_grace_period: Duration::from_secs(40),
            node_monitor_period: Duration::from_secs(5),
            root_ca: None,
            hpa_sync_period: Duration::from_secs(15),
            hpa_downscale_stabilization: Duration::from_secs(300),
            hpa_tolerance: 0.1,
        }
    }
}

/// What every controller gets: the client, the shared informers, events, the settings.
pub struct Context {
    pub client: Client,
    pub informers: Informers,
    pub events: EventSink,
    pub options: Options,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("options", &self.options).finish_non_exhaustive()
    }
}

impl Context {
    pub fn new(client: Client, options: Options) -> Arc<Self> {
        Arc::new(Self {
            informers: Informers::new(client.clone()),
            events: EventSink::start(client.clone()),
            client,
            options,
        })
    }
}

type ControllerFuture = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;
/// A controller's entry point.
type StartController = fn(Arc<Context>) -> ControllerFuture;

/// Every controller, by upstream's name.
fn controllers() -> Vec<(&'static str, StartController)> {
    vec![
        ("replicaset", |ctx| Box::pin(replicaset::run(ctx))),
        ("deployment", |ctx| Box::pin(deployment::run(ctx))),
        ("statefulset", |ctx| Box::pin(statefulset::run(ctx))),
        ("daemonset", |ctx| Box::pin(daemonset::run(ctx))),
        ("job", |ctx| Box::pin(job::run(ctx))),
        ("cronjob", |ctx| Box::pin(cronjob::run(ctx))),
        ("endpoints", |ctx| Box::pin(endpoints::run(ctx))),
        ("endpointslice", |ctx| Box::pin(endpointslice::run(ctx))),
        ("garbage-collector", |ctx| Box::pin(garbage_collector::run(ctx))),
        ("namespace", |ctx| Box::pin(namespace::run(ctx))),
        ("node-lifecycle", |ctx| Box::pin(node_lifecycle::run(ctx))),
        ("serviceaccount", |ctx| Box::pin(serviceaccount::run(ctx))),
        ("ttl-after-finished", |ctx| Box::pin(ttl_after_finished::run(ctx))),
        ("persistentvolume", |ctx| Box::pin(persistentvolume::run(ctx))),
        ("resourcequota", |ctx| Box::pin(resourcequota::run(ctx))),
        ("disruption", |ctx| Box::pin(disruption::run(ctx))),
        ("horizontal-pod-autoscaler", |ctx| Box::pin(podautoscaler::run(ctx))),
    ]
}

/// Runs every controller until the future is dropped; a controller that fails is restarted
/// after a pause (as a crashed controller-manager would be).
pub async fn run(client: Client, options: Options) {
    let ctx = Context::new(client, options);
    let mut running = Vec::new();
    for (name, start) in controllers() {
        let ctx = ctx.clone();
        running.push(tokio::spawn(async move {
            loop {
                match start(ctx.clone()).await {
                    Ok(()) => tracing::debug!(controller = name, "controller stopped"),
                    Err(err) => tracing::error!(controller = name, %err, "controller failed; restarting"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }));
    }
    // Dropping this future stops the controllers with it.
    let _abort_on_drop: Vec<AbortOnDrop> = running.iter().map(|t| AbortOnDrop(t.abort_handle())).collect();
    futures::future::join_all(running).await;
}

/// Aborts a task when dropped (tasks that live as long as a controller's `run`).
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
