//! Store benchmark: prints one table, every system measured in the same run on the same disk.
//!
//! 1. Durable 1 KiB writes through our store (RocksDB backend) with 1, 16, 64 writers.
//! 2. The same workload against etcd 3.4 (Debian's `etcd`, started here on 127.0.0.1).
//! 3. The disk's limit: raw RocksDB synced one-put batches at the same concurrency (RocksDB's
//!    own group commit, no MVCC).
//! 4. Watch fan-out: 1,000 watchers on one prefix, 10,000 writes, commit-to-delivery latency.
//!
//! Run: `ci/bench` (or `cargo bench -p apiserver-store --bench store --profile dev`).
//! `BENCH_SECONDS` sets each write phase's length (default 5).

use std::future::Future;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apiserver_store::{Precondition, RocksStore, Store, StoreOptions, WatchItem, WatchTarget};
use bytes::Bytes;
use futures::StreamExt;

const CONCURRENCY: [usize; 3] = [1, 16, 64];
const VALUE_BYTES: usize = 1024;
const WATCHERS: usize = 1000;
const FANOUT_WRITES: usize = 10_000;
const FANOUT_WRITERS: usize = 16;

struct Row {
    system: &'static str,
    writers: usize,
    writes_per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn row(system: &'static str, writers: usize, elapsed: Duration, mut latencies: Vec<Duration>) -> Row {
    latencies.sort_unstable();
    Row {
        system,
        writers,
        writes_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn value() -> Bytes {
    Bytes::from(vec![b'v'; VALUE_BYTES])
}

/// Runs `writers` tasks for `phase`, each calling `put(writer, n)` for n = 0, 1, ...; returns
/// the wall time and every call's latency.
async fn drive<P, F>(writers: usize, phase: Duration, put: P) -> (Duration, Vec<Duration>)
where
    P: Fn(usize, u64) -> F + Clone + Send + 'static,
    F: Future<Output = ()> + Send,
{
    let deadline = Instant::now() + phase;
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let put = put.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for n in 0u64.. {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let t = Instant::now();
                    put(w, n).await;
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
    (started.elapsed(), all)
}

async fn ours(dir: &Path, writers: usize, phase: Duration) -> Row {
    let store = RocksStore::open_rocks(dir, StoreOptions::default()).expect("open store");
    let value = value();
    let (elapsed, latencies) = drive(writers, phase, move |w, n| {
        let (store, value) = (store.clone(), value.clone());
        async move {
            let key = Bytes::from(format!("/bench/{writers}/{w}/{n}"));
            store.put(key, value, Precondition::None).await.expect("put");
        }
    })
    .await;
    row("kybernetes store", writers, elapsed, latencies)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Etcd {
    child: Child,
    endpoint: String,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_etcd(dir: &Path) -> Option<Etcd> {
    let (client, peer) = (free_port(), free_port());
    let endpoint = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let child = Command::new("etcd")
        .args(["--name", "bench", "--data-dir"])
        .arg(dir)
        .args(["--listen-client-urls", &endpoint, "--advertise-client-urls", &endpoint])
        .args(["--listen-peer-urls", &peer_url, "--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster", &format!("bench={peer_url}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    Some(Etcd { child, endpoint })
}

async fn etcd(etcd: &Etcd, writers: usize, phase: Duration) -> Row {
    let client = etcd_client::Client::connect([etcd.endpoint.as_str()], None).await.expect("connect to etcd");
    let value = vec![b'v'; VALUE_BYTES];
    let (elapsed, latencies) = drive(writers, phase, move |w, n| {
        let (mut kv, value) = (client.kv_client(), value.clone());
        async move {
            kv.put(format!("/bench/{writers}/{w}/{n}"), value, None).await.expect("etcd put");
        }
    })
    .await;
    row("etcd 3.4", writers, elapsed, latencies)
}

async fn wait_for_etcd(etcd: &Etcd) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut client) = etcd_client::Client::connect([etcd.endpoint.as_str()], None).await
            && client.put("/bench/ready", "1", None).await.is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn raw_rocksdb(dir: &Path, writers: usize, phase: Duration) -> Row {
    let mut opts = rocksdb::Options::default();
    opts.create_if_missing(true);
    opts.set_compression_type(rocksdb::DBCompressionType::None);
    let db = Arc::new(rocksdb::DB::open(&opts, dir).expect("open rocksdb"));
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + phase;
    let started = Instant::now();
    let threads: Vec<_> = (0..writers)
        .map(|_| {
            let (db, next) = (db.clone(), next.clone());
            std::thread::spawn(move || {
                let mut sync = rocksdb::WriteOptions::default();
                sync.set_sync(true);
                let value = vec![b'v'; VALUE_BYTES];
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let key = next.fetch_add(1, Ordering::Relaxed).to_be_bytes();
                    let mut batch = rocksdb::WriteBatch::default();
                    batch.put(key, &value);
                    let t = Instant::now();
                    db.write_opt(batch, &sync).expect("rocksdb write");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for thread in threads {
        all.extend(thread.join().unwrap());
    }
    row("raw RocksDB (sync batches)", writers, started.elapsed(), all)
}

struct Fanout {
    delivered: usize,
    write_secs: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

async fn watch_fanout(dir: &Path) -> Fanout {
    let store = RocksStore::open_rocks(dir, StoreOptions::default()).expect("open store");
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let mut stream = store.watch(WatchTarget::Prefix(Bytes::from_static(b"/fanout/")), 0).await.unwrap();
        watchers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(FANOUT_WRITES);
            while latencies.len() < FANOUT_WRITES {
                match stream.next().await {
                    Some(Ok(WatchItem::Event(event))) => {
                        latencies.push(event.committed_at.expect("live event").elapsed());
                    }
                    Some(Ok(WatchItem::Progress { .. })) => {}
                    other => panic!("watcher ended: {other:?}"),
                }
            }
            latencies
        }));
    }
    let started = Instant::now();
    let per_writer = FANOUT_WRITES / FANOUT_WRITERS;
    let writers: Vec<_> = (0..FANOUT_WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 0..per_writer {
                    let key = Bytes::from(format!("/fanout/{w}/{n}"));
                    store.put(key, value(), Precondition::None).await.expect("put");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let write_secs = started.elapsed().as_secs_f64();
    let mut all = Vec::with_capacity(WATCHERS * FANOUT_WRITES);
    for watcher in watchers {
        all.extend(watcher.await.unwrap());
    }
    all.sort_unstable();
    Fanout {
        delivered: all.len(),
        write_secs,
        p50: percentile(&all, 0.50),
        p99: percentile(&all, 0.99),
        max: all.last().copied().unwrap_or_default(),
    }
}

fn main() {
    // libtest-style flags from `cargo bench` are ignored.
    let seconds = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5u64);
    let phase = Duration::from_secs(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let scratch = tempfile::tempdir().expect("scratch directory");
    let mut rows = Vec::new();

    runtime.block_on(async {
        for &writers in &CONCURRENCY {
            rows.push(ours(&scratch.path().join(format!("ours-{writers}")), writers, phase).await);
        }
        let etcd_dir = scratch.path().join("etcd");
        match start_etcd(&etcd_dir) {
            Some(server) if wait_for_etcd(&server).await => {
                for &writers in &CONCURRENCY {
                    rows.push(etcd(&server, writers, phase).await);
                }
            }
            _ => eprintln!("etcd not available (install Debian's etcd-server): etcd rows skipped"),
        }
    });
    for &writers in &CONCURRENCY {
        rows.push(raw_rocksdb(&scratch.path().join(format!("raw-{writers}")), writers, phase));
    }

    println!("\nDurable 1 KiB writes, {seconds} s per row, data under {}", scratch.path().display());
    println!("| system | writers | writes/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|");
    for r in &rows {
        println!("| {} | {} | {:.0} | {} | {} |", r.system, r.writers, r.writes_per_sec, ms(r.p50), ms(r.p99));
    }
    let at = |system: &str, writers| rows.iter().find(|r| r.system.starts_with(system) && r.writers == writers);
    for &writers in &CONCURRENCY {
        if let (Some(o), Some(raw)) = (at("kybernetes", writers), at("raw", writers)) {
            let vs_etcd = at("etcd", writers)
                .map(|e| format!("{:.2}x etcd", o.writes_per_sec / e.writes_per_sec))
                .unwrap_or_else(|| "etcd n/a".into());
            println!(
                "at {writers} writers: ours = {vs_etcd}, {:.0}% of raw RocksDB",
                100.0 * o.writes_per_sec / raw.writes_per_sec
            );
        }
    }

    let fanout = runtime.block_on(watch_fanout(&scratch.path().join("fanout")));
    println!(
        "\nWatch fan-out: {WATCHERS} watchers x {FANOUT_WRITES} writes ({FANOUT_WRITERS} writers, {:.0} writes/s): \
         {} deliveries, commit->delivery p50 {} ms, p99 {} ms, max {} ms",
        FANOUT_WRITES as f64 / fanout.write_secs,
        fanout.delivered,
        ms(fanout.p50),
        ms(fanout.p99),
        ms(fanout.max)
    );
}
