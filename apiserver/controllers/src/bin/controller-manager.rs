//! `controller-manager`: the controllers as their own process against any API server (the
//! `apiserver` binary runs the same controllers in-process unless `--controllers=false`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use kube::config::{KubeConfigOptions, Kubeconfig};

#[derive(Debug, Parser)]
#[command(
    name = "controller-manager",
    about = "Kybernetes controllers (Deployment, ReplicaSet, GC, ...) as an API client"
)]
struct Args {
    /// Kubeconfig of the cluster to manage.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Seconds without a heartbeat after which a node is marked NotReady/Unknown.
    #[arg(long, default_value_t = 40)]
    node_monitor_grace_period: u64,
    /// Seconds between two syncs of each HorizontalPodAutoscaler.
    #[arg(long, default_value_t = 15)]
    horizontal_pod_autoscaler_sync_period: u64,
    /// Seconds HPAs without behavior keep the highest recent recommendation before scaling down.
    #[arg(long, default_value_t = 300)]
    horizontal_pod_autoscaler_downscale_stabilization: u64,
    /// The cluster CA (PEM) to publish as `kube-root-ca.crt` in every namespace.
    #[arg(long)]
    root_ca_file: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let kubeconfig = Kubeconfig::read_from(&args.kubeconfig).context("reading the kubeconfig")?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    let client = kube::Client::try_from(config)?;
    let root_ca = match &args.root_ca_file {
        Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?),
        None => None,
    };
    let options = apiserver_controllers::Options {
        node_monitor_grace_period: Duration::from_secs(args.node_monitor_grace_period),
        hpa_sync_period: Duration::from_secs(args.horizontal_pod_autoscaler_sync_period.max(1)),
        hpa_downscale_stabilization: Duration::from_secs(args.horizontal_pod_autoscaler_downscale_stabilization),
        root_ca,
        ..Default::default()
    };
    tracing::info!("controllers starting");
    tokio::select! {
        () = apiserver_controllers::run(client, options) => {}
        _ = tokio::signal::ctrl_c() => tracing::info!("stopping"),
    }
    Ok(())
}
