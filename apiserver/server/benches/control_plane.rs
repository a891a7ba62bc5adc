//! Control-plane benchmark, end to end through the `apiserver` binary (controllers in-process,
//! as users run it; the scheduler in this process, as a separate scheduler runs) and simulated
//! nodes from the node agent's library in this process:
//! - time to register N nodes (all Ready);
//! - P pods created by 64 concurrent clients (creates/s), then scheduler throughput: pods/s
//!   from the scheduler's start until every pod is bound, while the nodes start the bound
//!   pods (status writes) at the same time; then until every pod is Running;
//! - a Deployment of R replicas: time until all available, then a rolling update until
//!   every replica runs the new template;
//! - the apiserver process's RSS (current and peak) at that scale.
//!
//! Run: `ci/bench` or `cargo bench --workspace --profile dev --bench control_plane`; scale
//! with BENCH_NODES (5000), BENCH_PODS (30000), BENCH_REPLICAS (1000); BENCH_BIND_CONCURRENCY
//! sets the scheduler's bindings in flight (its default otherwise).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher::{self, watcher};
use kube::{Client, Config};
use serde_json::json;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct ApiServer {
    child: Child,
    kubeconfig: std::path::PathBuf,
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ApiServer {
    fn start(data: &std::path::Path) -> Self {
        let kubeconfig = data.join("admin.kubeconfig");
        let mut child = Command::new(env!("CARGO_BIN_EXE_apiserver"))
            .arg("--data-dir")
            .arg(data)
            .args(["--secure-port", "0", "--scheduler=false", "--write-kubeconfig"])
            .arg(&kubeconfig)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("apiserver starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = lines.next().expect("a line").unwrap();
        assert!(ready.starts_with("apiserver listening on https://"), "{ready}");
        Self { child, kubeconfig }
    }

    /// (current, peak) resident memory in MiB.
    fn rss_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

async fn client(kubeconfig: &std::path::Path) -> Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig).unwrap();
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    config.read_timeout = Some(Duration::from_secs(600));
    Client::try_from(config).unwrap()
}

async fn wait_for(what: &str, timeout: Duration, mut check: impl AsyncFnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("{what}: NOT reached within {timeout:?}");
    None
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run());
}

async fn run() {
    let nodes = env_usize("BENCH_NODES", 5000);
    let pods = env_usize("BENCH_PODS", 30_000);
    let replicas = env_usize("BENCH_REPLICAS", 1000);
    let data = tempfile::tempdir().unwrap();
    let server = ApiServer::start(data.path());
    let client = client(&server.kubeconfig).await;
    println!("control-plane bench: {nodes} simulated nodes, {pods} pods, a {replicas}-replica Deployment");

    // 1. Nodes.
    let agent = tokio::spawn(node_agent::simulated::run(
        client.clone(),
        node_agent::simulated::SimulatedOptions { nodes, name_prefix: "sim".into(), ..Default::default() },
    ));
    let node_api: Api<Node> = Api::all(client.clone());
    let registered = wait_for("nodes Ready", Duration::from_secs(600), async || {
        let list = node_api.list_metadata(&ListParams::default()).await.map(|l| l.items.len()).unwrap_or(0);
        if list < nodes {
            return false;
        }
        let all = node_api.list(&ListParams::default()).await.unwrap();
        all.items.iter().filter(|n| ready(n)).count() == nodes
    })
    .await;
    if let Some(took) = registered {
        println!("| {nodes} nodes registered and Ready | {:.1} s |", took.as_secs_f64());
    }
    let (rss, peak) = server.rss_mib();
    println!("| apiserver RSS with {nodes} nodes | {rss:.0} MiB (peak {peak:.0}) |");

    // 2. Scheduler throughput.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "bench"}})).unwrap())
        .await
        .unwrap();
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), "bench");
    // One watch of the bench pods reports when the last was bound (through `bound_tx`), then
    // returns when the last is Running.
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel::<(usize, Instant)>();
    let running_watch = {
        let api = pod_api.clone();
        tokio::spawn(async move {
            let (mut bound, mut running) = (std::collections::HashSet::new(), std::collections::HashSet::new());
            let mut events = watcher(api, watcher::Config::default()).boxed();
            let mut bound_tx = Some(bound_tx);
            let (mut last_bound, mut last_running) = (Instant::now(), Instant::now());
            while let Ok(Some(event)) = events.try_next().await {
                let (watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) = event else { continue };
                let name = pod.metadata.name.clone().unwrap_or_default();
                if pod.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some() && bound.insert(name.clone()) {
                    last_bound = Instant::now();
                }
                let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
                if phase == Some("Running") && running.insert(name) {
                    last_running = Instant::now();
                }
                if bound.len() >= pods_target()
                    && let Some(tx) = bound_tx.take()
                {
                    let _ = tx.send((bound.len(), last_bound));
                }
                if running.len() >= pods_target() {
                    break;
                }
            }
            (running.len(), last_running)
        })
    };
    let start = Instant::now();
    futures::stream::iter(0..pods)
        .map(|i| {
            let api = pod_api.clone();
            async move {
                let pod = json!({"metadata": {"name": format!("p-{i}"), "labels": {"app": "bench"}},
                    "spec": {"containers": [{"name": "c", "image": "registry.local/pause:3.10",
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}});
                api.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.map(|_| ())
            }
        })
        .buffer_unordered(64)
        .try_collect::<Vec<()>>()
        .await
        .expect("pods created");
    let created = start.elapsed();
    let scheduling = Instant::now();
    let defaults = apiserver_scheduler::SchedulerOptions::default();
    let scheduler_options = apiserver_scheduler::SchedulerOptions {
        bind_concurrency: env_usize("BENCH_BIND_CONCURRENCY", defaults.bind_concurrency),
        ..defaults
    };
    let scheduler = tokio::spawn(apiserver_scheduler::run(client.clone(), scheduler_options));
    let (bound, last) = tokio::time::timeout(Duration::from_secs(900), bound_rx)
        .await
        .ok()
        .and_then(|r| r.ok())
        .unwrap_or((0, Instant::now()));
    let took = last.duration_since(scheduling);
    println!(
        "| {pods} pods created (64 clients) | {:.1} s | {:.0} pods/s |",
        created.as_secs_f64(),
        pods as f64 / created.as_secs_f64()
    );
    println!(
        "| {bound} of {pods} pending pods bound onto {nodes} nodes (scheduler start -> last bound) | {:.1} s | {:.0} pods/s |",
        took.as_secs_f64(),
        bound as f64 / took.as_secs_f64()
    );
    // The nodes start what was bound; the Deployment is measured once the cluster is quiet.
    let (running, last_running) = tokio::time::timeout(Duration::from_secs(900), running_watch)
        .await
        .ok()
        .and_then(|r| r.ok())
        .unwrap_or((0, Instant::now()));
    let took = last_running.duration_since(scheduling).as_secs_f64();
    println!(
        "| {running} of {pods} pods Running (scheduler start -> last Running) | {took:.1} s | {:.0} pods/s |",
        running as f64 / took
    );
    let (rss, peak) = server.rss_mib();
    println!("| apiserver RSS with {pods} pods | {rss:.0} MiB (peak {peak:.0}) |");

    // 3. A Deployment rollout.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let deployment = json!({"metadata": {"name": "big"}, "spec": {"replicas": replicas,
        "selector": {"matchLabels": {"app": "big"}},
        "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        "template": {"metadata": {"labels": {"app": "big"}}, "spec": {"containers": [{"name": "c", "image": "registry.local/app:1"}]}}}});
    deployments.create(&PostParams::default(), &serde_json::from_value(deployment).unwrap()).await.unwrap();
    let available = |image: &'static str| {
        let deployments = deployments.clone();
        async move || {
            let Ok(d) = deployments.get("big").await else { return false };
            let status = d.status.unwrap_or_default();
            let template_image = d
                .spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .map(|s| s.containers[0].image.clone())
                .unwrap_or_default();
            template_image.as_deref() == Some(image)
                && status.observed_generation == d.metadata.generation
                && status.updated_replicas == Some(replicas as i32)
                && status.available_replicas == Some(replicas as i32)
                && status.replicas == Some(replicas as i32)
        }
    };
    if let Some(took) =
        wait_for("deployment available", Duration::from_secs(900), available("registry.local/app:1")).await
    {
        println!("| Deployment of {replicas} replicas created -> all available | {:.1} s |", took.as_secs_f64());
    }
    let patch =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "registry.local/app:2"}]}}}});
    deployments.patch("big", &PatchParams::default(), &Patch::Strategic(&patch)).await.unwrap();
    if let Some(took) = wait_for("rollout complete", Duration::from_secs(900), available("registry.local/app:2")).await
    {
        println!("| rolling update of {replicas} replicas (25% surge/unavailable) | {:.1} s |", took.as_secs_f64());
    }
    let (rss, peak) = server.rss_mib();
    println!("| apiserver (with controllers and scheduler) RSS at the end | {rss:.0} MiB (peak {peak:.0}) |");
    agent.abort();
    scheduler.abort();
}

fn pods_target() -> usize {
    env_usize("BENCH_PODS", 30_000)
}

fn ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}
