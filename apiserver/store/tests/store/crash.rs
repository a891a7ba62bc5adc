//! Crash safety: a child process writes under concurrent load (and compacts constantly) and
//! reports every acknowledged write; it is killed with SIGKILL at random moments. After each
//! kill the store is reopened and must hold every acknowledged write at its revision, with a
//! revision clock that never went backwards.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use apiserver_store::{Precondition, RocksStore, Store, StoreError, StoreOptions};
use bytes::Bytes;
use rand::Rng;

const CHILD_DIR_ENV: &str = "KYBERNETES_STORE_CRASH_DIR";
const CHILD_CYCLE_ENV: &str = "KYBERNETES_STORE_CRASH_CYCLE";
/// Kill cycles in the normal test run (at least 20, as promised in the store's docs).
const CYCLES: usize = 24;
const WRITERS: usize = 16;

/// The value stored under `key`: 1 KiB derived from the key, so corruption is detectable.
fn value_for(key: &str) -> Bytes {
    Bytes::from(key.as_bytes().iter().copied().cycle().take(1024).collect::<Vec<u8>>())
}

fn options() -> StoreOptions {
    // Compaction is driven explicitly by the child, as often as it can.
    StoreOptions {
        history_window: Duration::from_secs(3600),
        compaction_check: Duration::from_secs(3600),
        ..StoreOptions::default()
    }
}

#[test]
#[ignore = "child process of kill_9_under_load_loses_no_acknowledged_write"]
fn crash_child() {
    let (Ok(dir), Ok(cycle)) = (std::env::var(CHILD_DIR_ENV), std::env::var(CHILD_CYCLE_ENV)) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(child(Path::new(&dir), &cycle));
}

async fn child(dir: &Path, cycle: &str) {
    let store = RocksStore::open_rocks(dir, options()).unwrap();
    // The leading newline ends libtest's "test crash::crash_child ... " line.
    println!("\nREADY {}", store.current_revision());
    let compactor = {
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(3)).await;
                let current = store.current_revision();
                if current > 100 && current - 50 > store.compacted_revision() {
                    println!("COMPACT_BEGIN");
                    let _ = store.compact(current - 50).await;
                    println!("COMPACT_END");
                }
            }
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            let cycle = cycle.to_string();
            tokio::spawn(async move {
                for n in 0u64.. {
                    let key = format!("/crash/{cycle}/{w}/{n}");
                    let kv = store.put(Bytes::from(key.clone()), value_for(&key), Precondition::Absent).await.unwrap();
                    println!("ACK {key} {}", kv.mod_revision);
                    if n % 4 == 3 {
                        let victim = format!("/crash/{cycle}/{w}/{}", n - 1);
                        println!("DELETING {victim}");
                        let deleted = store.delete(Bytes::from(victim.clone()), Precondition::None).await.unwrap();
                        println!("DEL {victim} {}", deleted.revision);
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    compactor.abort();
}

/// What the parent learned from a child's output.
#[derive(Default)]
struct Ledger {
    /// key -> acknowledged create revision.
    acked: HashMap<String, u64>,
    /// Keys whose delete was started (it may or may not have committed).
    deleting: HashSet<String>,
    /// Keys whose delete was acknowledged.
    deleted: HashSet<String>,
    /// Highest acknowledged revision.
    max_revision: u64,
}

impl Ledger {
    fn record(&mut self, line: &str) {
        let mut parts = line.split(' ');
        match (parts.next(), parts.next(), parts.next().and_then(|r| r.parse::<u64>().ok())) {
            (Some("ACK"), Some(key), Some(revision)) => {
                self.acked.insert(key.to_string(), revision);
                self.max_revision = self.max_revision.max(revision);
            }
            (Some("DELETING"), Some(key), None) => {
                self.deleting.insert(key.to_string());
            }
            (Some("DEL"), Some(key), Some(revision)) => {
                self.deleted.insert(key.to_string());
                self.max_revision = self.max_revision.max(revision);
            }
            _ => {}
        }
    }
}

/// Reopens the store and checks every acknowledged write against it.
fn verify(dir: &Path, ledger: &Ledger, cycle: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = RocksStore::open_rocks(dir, options()).unwrap();
        assert!(
            store.current_revision() >= ledger.max_revision,
            "cycle {cycle}: revision went backwards: {} < acknowledged {}",
            store.current_revision(),
            ledger.max_revision
        );
        for (key, &revision) in &ledger.acked {
            match store.get(key.as_bytes(), 0).await {
                Ok(kv) => {
                    assert!(!ledger.deleted.contains(key), "cycle {cycle}: acknowledged delete of {key} lost");
                    assert_eq!(kv.mod_revision, revision, "cycle {cycle}: {key} at the wrong revision");
                    assert_eq!(kv.value, value_for(key), "cycle {cycle}: {key} corrupted");
                }
                Err(StoreError::NotFound) => {
                    assert!(ledger.deleting.contains(key), "cycle {cycle}: acknowledged write {key}@{revision} lost");
                }
                Err(err) => panic!("cycle {cycle}: reading {key}: {err}"),
            }
        }
        let next = store.create(Bytes::from(format!("/verify/{cycle}")), Bytes::from_static(b"v")).await.unwrap();
        assert!(next.mod_revision > ledger.max_revision, "cycle {cycle}: revision reused");
    });
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::default();
    let mut rng = rand::rng();
    let mut kills_mid_compaction = 0;
    let started = Instant::now();
    for cycle in 0..CYCLES {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["crash::crash_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR_ENV, dir.path())
            .env(CHILD_CYCLE_ENV, cycle.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready_by = Instant::now() + Duration::from_secs(60);
        let ready = loop {
            let wait = ready_by.saturating_duration_since(Instant::now());
            let line = lines.recv_timeout(wait).expect("child opens the store within 60 s");
            if let Some(revision) = line.strip_prefix("READY ") {
                break revision.parse::<u64>().unwrap();
            }
        };
        assert!(ready >= ledger.max_revision, "cycle {cycle}: reopened at {ready} < {}", ledger.max_revision);

        let kill_at = Instant::now() + Duration::from_millis(rng.random_range(20..400));
        let mut compacting = false;
        while let Ok(line) = lines.recv_timeout(kill_at.saturating_duration_since(Instant::now())) {
            match line.as_str() {
                "COMPACT_BEGIN" => compacting = true,
                "COMPACT_END" => compacting = false,
                _ => ledger.record(&line),
            }
            if Instant::now() >= kill_at {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Lines the child wrote before it died are still in the pipe.
        for line in lines.iter() {
            match line.as_str() {
                "COMPACT_BEGIN" => compacting = true,
                "COMPACT_END" => compacting = false,
                _ => ledger.record(&line),
            }
        }
        reader.join().unwrap();
        kills_mid_compaction += usize::from(compacting);
        verify(dir.path(), &ledger, cycle);
    }
    eprintln!(
        "{CYCLES} kill -9 cycles in {:?}: {} acknowledged writes, {} acknowledged deletes, all present; \
         {kills_mid_compaction} kills landed during a compaction",
        started.elapsed(),
        ledger.acked.len(),
        ledger.deleted.len()
    );
    assert!(ledger.acked.len() > CYCLES * WRITERS, "the child wrote too little to prove anything");
    assert!(kills_mid_compaction > 0, "no kill landed during a compaction");
}
