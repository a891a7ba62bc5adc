//! Throughput of the pure scheduling algorithm (filter + score + assume) without a server:
//! `cargo nextest run -p apiserver-scheduler --run-ignored only bench` prints pods/s for
//! 30,000 pods on 5,000 nodes. A small version runs with the unit tests and checks that no
//! node is over-committed.

use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use crate::algorithm::Algorithm;
use crate::cache::tests::{node, pod};
use crate::cache::{Cache, ZONE_LABEL};
use crate::pod_info::PodInfo;

/// Schedules `pods` pods onto `nodes` nodes; returns the cache and pods/s.
fn schedule_all(nodes: usize, pods: usize) -> (Cache, f64) {
    let mut cache = Cache::default();
    for i in 0..nodes {
        let name = format!("node-{i:05}");
        let zone = format!("zone-{}", i % 10);
        cache.upsert_node(&node(&name, "4", "16Gi", &[(ZONE_LABEL, &zone), ("kubernetes.io/hostname", &name)]));
    }
    // Pods of 300-pod ReplicaSets (default spreading applies), 100m CPU each, built up front.
    let infos: Vec<Arc<PodInfo>> = (0..pods)
        .map(|i| {
            let mut p = pod(&format!("pod-{i:06}"), "100m");
            p.metadata.owner_references = Some(vec![OwnerReference {
                kind: "ReplicaSet".into(),
                uid: format!("rs-{}", i / 300),
                controller: Some(true),
                ..Default::default()
            }]);
            Arc::new(PodInfo::new(&p))
        })
        .collect();
    let mut algorithm = Algorithm::new(0, 42);
    let started = Instant::now();
    for info in infos {
        let decision = algorithm.schedule(&cache, &info).expect("room for every pod");
        cache.assume(info, &decision.node);
    }
    let rate = pods as f64 / started.elapsed().as_secs_f64();
    (cache, rate)
}

fn assert_not_over_committed(cache: &Cache) {
    for n in cache.nodes() {
        let facts = n.facts.as_ref().unwrap();
        assert!(n.requested.milli_cpu <= facts.allocatable.milli_cpu, "{} over-committed", n.name);
        assert!(n.pods.len() as i64 <= facts.allowed_pods);
    }
}

#[test]
fn small_cluster_fills_without_over_commitment() {
    // 200 nodes × 4 CPUs = 8,000 pods of 100m at most; 2,000 pods leave room everywhere.
    let (cache, _) = schedule_all(200, 2000);
    assert_not_over_committed(&cache);
    assert_eq!(cache.pod_count(), 2000);
    let busiest = cache.nodes().iter().map(|n| n.pods.len()).max().unwrap();
    assert!(busiest <= 15, "spread evenly-ish, busiest node has {busiest}");
}

#[test]
#[ignore = "benchmark: run explicitly"]
fn bench_30000_pods_on_5000_nodes() {
    let (cache, rate) = schedule_all(5000, 30_000);
    assert_not_over_committed(&cache);
    println!("scheduled 30000 pods on 5000 nodes: {rate:.0} pods/s");
}
