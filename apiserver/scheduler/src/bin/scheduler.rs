//! `scheduler`: the scheduler as its own process against any API server (the `apiserver`
//! binary runs the same scheduler in-process unless `--scheduler=false` or
//! `--controllers=false`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use kube::config::{KubeConfigOptions, Kubeconfig};

#[derive(Debug, Parser)]
#[command(name = "scheduler", about = "Kybernetes scheduler (filters, scores, preemption, binding) as an API client")]
struct Args {
    /// Kubeconfig of the cluster to schedule for.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Schedule the pods whose `spec.schedulerName` is this.
    #[arg(long, default_value = "default-scheduler")]
    scheduler_name: String,
    /// Percentage of nodes to look through for feasible ones; 0 is upstream's adaptive rule.
    #[arg(long, default_value_t = 0)]
    percentage_of_nodes_to_score: u32,
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
    let options = apiserver_scheduler::SchedulerOptions {
        scheduler_name: args.scheduler_name,
        percentage_of_nodes_to_score: args.percentage_of_nodes_to_score.min(100),
        ..Default::default()
    };
    tracing::info!(scheduler_name = %options.scheduler_name, "scheduler starting");
    tokio::select! {
        result = apiserver_scheduler::run(client, options) => result.context("scheduler stopped")?,
        _ = tokio::signal::ctrl_c() => tracing::info!("stopping"),
    }
    Ok(())
}
