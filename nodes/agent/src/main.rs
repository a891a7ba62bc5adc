//! `node-agent`: simulated nodes (and, later, real ones on Docker) for a Kybernetes cluster.
//!
//! `node-agent --kubeconfig FILE --runtime simulated --nodes N [--name-prefix P]` registers the
//! nodes, prints `node-agent ready: N nodes` once they exist, and runs until SIGTERM/SIGINT.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use kube::config::{KubeConfigOptions, Kubeconfig};
use node_agent::simulated::{self, SimulatedOptions};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RuntimeKind {
    /// No containers: pods go through their lifecycle on timers.
    Simulated,
    /// Real containers through the Docker Engine API (not implemented yet).
    Docker,
}

#[derive(Debug, Parser)]
#[command(name = "node-agent", about = "Kybernetes node agent: registers nodes and runs their pods")]
struct Args {
    /// Admin kubeconfig of the cluster.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// What runs the pods.
    #[arg(long, value_enum, default_value = "simulated")]
    runtime: RuntimeKind,
    /// How many nodes this process registers.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// Nodes are named `{prefix}-{i}`.
    #[arg(long, default_value = "sim")]
    name_prefix: String,
    /// Offset of this process's nodes in the simulated address ranges (use distinct ranges when
    /// several agents share a cluster).
    #[arg(long, default_value_t = 0)]
    index_offset: usize,
    /// Time from bind to running containers, in milliseconds.
    #[arg(long, default_value_t = 300)]
    startup_delay_ms: u64,
    /// Run time of restartPolicy Never/OnFailure containers without annotation, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    run_time_ms: u64,
    /// API requests in flight at once (per kind).
    #[arg(long, default_value_t = 96)]
    api_concurrency: usize,
    /// Push pod and node usage to metrics.k8s.io (`kubectl top`, the HPA).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    metrics: bool,
    /// Least time between two NodeMetrics pushes of a changed node, and the usage sample
    /// period, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    metrics_interval_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if let RuntimeKind::Docker = args.runtime {
        return Err(node_agent::Error::NotImplemented("docker".into())).context("--runtime docker");
    }
    let kubeconfig = Kubeconfig::read_from(&args.kubeconfig)
        .with_context(|| format!("reading kubeconfig {}", args.kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("loading kubeconfig")?;
    let client = kube::Client::try_from(config).context("building the API client")?;
    let mut options = SimulatedOptions {
        nodes: args.nodes,
        name_prefix: args.name_prefix,
        index_offset: args.index_offset,
        api_concurrency: args.api_concurrency,
        metrics: args.metrics,
        metrics_interval: Duration::from_millis(args.metrics_interval_ms),
        ..Default::default()
    };
    options.timings.startup_delay = Duration::from_millis(args.startup_delay_ms);
    options.timings.default_run_time = Duration::from_millis(args.run_time_ms);

    let nodes = tokio::select! {
        nodes = simulated::start(client, options) => nodes.context("registering nodes")?,
        () = shutdown_signal() => return Ok(()),
    };
    println!("node-agent ready: {} nodes", nodes.len());
    tokio::select! {
        result = nodes.run() => result.context("running nodes")?,
        () = shutdown_signal() => tracing::info!("stopping"),
    }
    Ok(())
}

/// SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
