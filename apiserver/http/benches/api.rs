//! API server benchmark through HTTPS + JSON, in one process: our server (RocksDB store, TLS,
//! the full request path) and a hyper HTTP/2 client authenticating with a bearer token.
//!
//! Prints: process RSS holding 10,000 pods (measured first, with nothing else stored);
//! creates/s of 1 KiB ConfigMaps with 1, 16, 64 clients (p50/p99), sharing one HTTP/2
//! connection (client-go's way, and the etcd client's in the store bench) and on a connection
//! each; GET latency; LIST latency with 10,000 pods (whole list and kubectl's 500-item pages);
//! watch delivery with 1,000 watchers (create request sent → event parsed by the client).
//! Run: `ci/bench` (or `cargo bench --workspace --profile dev --bench api`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use apiserver_http::testing::RawClient;
use apiserver_http::{Api, Authenticator, Pki};
use apiserver_registry::{Registry, WriteOptions};
use apiserver_store::{RocksStore, Store, StoreOptions};
use http_body_util::BodyExt;
use serde_json::{Value, json};

/// The allocator the `apiserver` binary runs with, so the request path costs what it costs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONCURRENCY: [usize; 3] = [1, 16, 64];
const PODS: usize = 10_000;
const WATCHERS: usize = 1000;
const WATCH_WRITES: usize = 1000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted.get(((sorted.len().max(1) - 1) as f64 * p).round() as usize).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok());
    kib.unwrap_or(0.0) / 1024.0
}

fn summary(mut latencies: Vec<Duration>) -> (Duration, Duration) {
    latencies.sort_unstable();
    (percentile(&latencies, 0.5), percentile(&latencies, 0.99))
}

fn main() {
    let seconds = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5u64);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(run(Duration::from_secs(seconds)));
}

async fn run(phase: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(RocksStore::open_rocks(&dir.path().join("store"), StoreOptions::default()).unwrap());
    let pki = Pki::load_or_create(dir.path(), &[]).unwrap();
    let registries = Registry::all(&store);
    let namespaces = registries.iter().find(|r| r.resource().plural == "namespaces").unwrap().clone();
    let pods = registries.iter().find(|r| r.resource().plural == "pods").unwrap().clone();
    for ns in ["default", "bench"] {
        namespaces.create(None, json!({"metadata": {"name": ns}}), WriteOptions::default()).await.unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let api = Arc::new(Api::new(registries, Authenticator::new(&pki.admin_token), address.to_string()));
    tokio::spawn(apiserver_http::serve(listener, pki.server_config().unwrap(), api, std::future::pending()));
    let value = "v".repeat(1024);

    // Memory first, while the store holds nothing but the pods.
    let rss_empty = rss_mib();
    for i in 0..PODS {
        let pod = json!({"metadata": {"name": format!("pod-{i:05}"), "labels": {"app": "bench", "n": (i % 10).to_string()}},
                         "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}});
        pods.create(Some("bench"), pod, WriteOptions::default()).await.unwrap();
    }
    let rss_pods = rss_mib();

    println!("\nAPI server over HTTPS + JSON (HTTP/2), {} s per create row", phase.as_secs());
    println!("| measurement | clients | per s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|");
    // Clients on one shared connection (client-go's transport, and the etcd client of the store
    // bench), then each on its own connection.
    for shared in [true, false] {
        for &clients in CONCURRENCY.iter().filter(|&&c| c > 1 || shared) {
            let one = RawClient::connect(address, &pki).await;
            let deadline = Instant::now() + phase;
            let started = Instant::now();
            let tasks: Vec<_> = (0..clients)
                .map(|c| {
                    let (pki, value, one) = (pki.clone(), value.clone(), one.clone());
                    tokio::spawn(async move {
                        let mut client = if shared { one } else { RawClient::connect(address, &pki).await };
                        let mut latencies = Vec::new();
                        for n in 0u64.. {
                            if Instant::now() >= deadline {
                                break;
                            }
                            let name = format!("cm-{shared}-{clients}-{c}-{n}");
                            let body = json!({"metadata": {"name": name}, "data": {"v": value}});
                            let t = Instant::now();
                            client.call("POST", "/api/v1/namespaces/default/configmaps", Some(&body)).await;
                            latencies.push(t.elapsed());
                        }
                        latencies
                    })
                })
                .collect();
            let mut all = Vec::new();
            for task in tasks {
                all.extend(task.await.unwrap());
            }
            let rate = all.len() as f64 / started.elapsed().as_secs_f64();
            let (p50, p99) = summary(all);
            let how = if shared { "one connection" } else { "a connection each" };
            println!("| create ConfigMap (1 KiB), {how} | {clients} | {rate:.0} | {} | {} |", ms(p50), ms(p99));
        }
    }

    let mut client = RawClient::connect(address, &pki).await;
    let mut gets = Vec::new();
    for _ in 0..2000 {
        let t = Instant::now();
        client.call("GET", "/api/v1/namespaces/default/configmaps/cm-true-1-0-0", None).await;
        gets.push(t.elapsed());
    }
    let (p50, p99) = summary(gets);
    println!("| GET one ConfigMap | 1 | - | {} | {} |", ms(p50), ms(p99));

    let mut lists = Vec::new();
    let mut size = 0;
    for _ in 0..10 {
        let t = Instant::now();
        size = client.call("GET", "/api/v1/namespaces/bench/pods", None).await.len();
        lists.push(t.elapsed());
    }
    let (p50, p99) = summary(lists);
    println!("| LIST {PODS} pods ({:.1} MiB) | 1 | - | {} | {} |", size as f64 / 1048576.0, ms(p50), ms(p99));
    let mut paged = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut token = String::new();
        loop {
            let path = format!("/api/v1/namespaces/bench/pods?limit=500&continue={token}");
            let page: Value = serde_json::from_slice(&client.call("GET", &path, None).await).unwrap();
            match page["metadata"]["continue"].as_str() {
                Some(next) if !next.is_empty() => token = next.to_string(),
                _ => break,
            }
        }
        paged.push(t.elapsed());
    }
    let (p50, p99) = summary(paged);
    println!("| LIST {PODS} pods in pages of 500 (kubectl) | 1 | - | {} | {} |", ms(p50), ms(p99));
    println!(
        "| RSS holding {PODS} pods (whole process: server and bench client) | - | {rss_pods:.0} MiB | (empty: {rss_empty:.0} MiB) | |"
    );

    // Watch fan-out: WATCHERS watch streams over 10 connections, WATCH_WRITES creates.
    let bench_start = Instant::now();
    let mut watchers = Vec::new();
    for w in 0..WATCHERS {
        if w % 100 == 0 {
            watchers.push((RawClient::connect(address, &pki).await, Vec::new()));
        }
        let (client, streams) = watchers.last_mut().unwrap();
        let path = format!("/api/v1/namespaces/watched/configmaps?watch=1&timeoutSeconds=600&n={w}");
        let response = client.open(&path).await;
        streams.push(response.into_body());
    }
    namespaces.create(None, json!({"metadata": {"name": "watched"}}), WriteOptions::default()).await.ok();
    let mut receivers = Vec::new();
    for (_, streams) in watchers.iter_mut() {
        for body in streams.drain(..) {
            receivers.push(tokio::spawn(async move {
                let mut body = body;
                let mut buffer = Vec::new();
                let mut latencies = Vec::with_capacity(WATCH_WRITES);
                while latencies.len() < WATCH_WRITES {
                    let Some(frame) = body.frame().await else { break };
                    let Ok(data) = frame.unwrap().into_data() else { continue };
                    buffer.extend_from_slice(&data);
                    while let Some(end) = buffer.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = buffer.drain(..=end).collect();
                        let event: Value = serde_json::from_slice(&line).unwrap();
                        if let Some(sent) = event
                            .pointer("/object/data/sent")
                            .and_then(Value::as_str)
                            .and_then(|s| s.parse::<u64>().ok())
                        {
                            let now = bench_start.elapsed().as_nanos() as u64;
                            latencies.push(Duration::from_nanos(now.saturating_sub(sent)));
                        }
                    }
                }
                latencies
            }));
        }
    }
    let mut writer = RawClient::connect(address, &pki).await;
    let written = Instant::now();
    for n in 0..WATCH_WRITES {
        let sent = bench_start.elapsed().as_nanos().to_string();
        let body = json!({"metadata": {"name": format!("w-{n}")}, "data": {"sent": sent}});
        writer.call("POST", "/api/v1/namespaces/watched/configmaps", Some(&body)).await;
    }
    let rate = WATCH_WRITES as f64 / written.elapsed().as_secs_f64();
    let mut all = Vec::new();
    for receiver in receivers {
        all.extend(receiver.await.unwrap());
    }
    let delivered = all.len();
    let (p50, p99) = summary(all);
    println!(
        "| watch: {WATCHERS} watchers x {WATCH_WRITES} creates ({rate:.0}/s), request sent -> event parsed ({delivered} deliveries) | 1 | - | {} | {} |",
        ms(p50),
        ms(p99)
    );
}
