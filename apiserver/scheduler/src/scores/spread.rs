//! PodTopologySpread scoring: `ScheduleAnyway` constraints, or — for a pod without any
//! constraints — upstream's default spreading (hostname maxSkew 3, zone maxSkew 5) of the pods
//! of the same ReplicaSet/StatefulSet/ReplicationController. Fewer matching pods in a node's
//! domains scores higher.
//!
//! Default spreading groups pods by their controller owner, whose per-node and per-zone counts
//! the cache keeps up to date, so it costs O(1) per node instead of a scan of every pod.

use std::collections::HashSet;

use crate::cache::{Cache, ZONE_LABEL};
use crate::filters::topology_spread::count;
use crate::pod_info::PodInfo;
use crate::scores::MAX_NODE_SCORE;

const DEFAULT_HOSTNAME_SKEW: f64 = 3.0;
const DEFAULT_ZONE_SKEW: f64 = 5.0;

pub fn applies(cache: &Cache, pod: &PodInfo) -> bool {
    if pod.spread.is_empty() {
        pod.spread_owner.as_deref().is_some_and(|o| cache.owner_spread(o).is_some())
    } else {
        pod.spread.iter().any(|c| !c.hard)
    }
}

/// Upstream weighs a constraint by ln(number of domains + 2): spreading over many domains
/// matters more than over two.
fn weight(domains: usize) -> f64 {
    ((domains + 2) as f64).ln()
}

pub fn score(cache: &Cache, pod: &PodInfo, nodes: &[usize], out: &mut Vec<i64>) {
    let all = cache.nodes();
    let raw: Vec<Option<f64>> = if pod.spread.is_empty() {
        let Some(spread) = pod.spread_owner.as_deref().and_then(|o| cache.owner_spread(o)) else {
            out.clear();
            out.resize(nodes.len(), MAX_NODE_SCORE);
            return;
        };
        let zones: HashSet<&str> =
            nodes.iter().filter_map(|i| all[*i].labels().and_then(|l| l.get(ZONE_LABEL)).map(String::as_str)).collect();
        let (host_weight, zone_weight) = (weight(nodes.len()), weight(zones.len()));
        nodes
            .iter()
            .map(|i| {
                let node = &all[*i];
                let here = spread.by_node.get(&node.name).copied().unwrap_or(0);
                let mut raw = f64::from(here) * host_weight + DEFAULT_HOSTNAME_SKEW - 1.0;
                if let Some(zone) = node.labels().and_then(|l| l.get(ZONE_LABEL)) {
                    let in_zone = spread.by_zone.get(zone).copied().unwrap_or(0);
                    raw += f64::from(in_zone) * zone_weight + DEFAULT_ZONE_SKEW - 1.0;
                }
                Some(raw)
            })
            .collect()
    } else {
        let soft: Vec<_> = pod.spread.iter().filter(|c| !c.hard).collect();
        let counts: Vec<_> = soft.iter().map(|c| count(cache, pod, c)).collect();
        nodes
            .iter()
            .map(|i| {
                let labels = all[*i].labels()?;
                let mut raw = 0.0;
                for (c, counts) in soft.iter().zip(&counts) {
                    // A node without the key is not part of any domain: ignored (score 0).
                    let value = labels.get(&c.topology_key)?;
                    let here = counts.by_domain.get(value).copied().unwrap_or(0);
                    raw += f64::from(here) * weight(counts.by_domain.len()) + f64::from(c.max_skew) - 1.0;
                }
                Some(raw)
            })
            .collect()
    };
    let present = || raw.iter().flatten().copied();
    let max = present().fold(f64::MIN, f64::max);
    let min = present().fold(f64::MAX, f64::min);
    out.clear();
    out.extend(raw.iter().map(|r| match r {
        None => 0,
        Some(_) if max <= 0.0 => MAX_NODE_SCORE,
        Some(r) => (MAX_NODE_SCORE as f64 * (max + min - r) / max) as i64,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::{node, pod};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
    use std::sync::Arc;

    fn owned(name: &str) -> PodInfo {
        let mut p = pod(name, "0");
        p.metadata.owner_references = Some(vec![OwnerReference {
            kind: "ReplicaSet".into(),
            uid: "rs".into(),
            controller: Some(true),
            ..Default::default()
        }]);
        PodInfo::new(&p)
    }

    #[test]
    fn default_spreading_prefers_nodes_without_siblings() {
        let mut cache = Cache::default();
        cache.upsert_node(&node("n1", "4", "4Gi", &[]));
        cache.upsert_node(&node("n2", "4", "4Gi", &[]));
        cache.add_bound_pod(Arc::new(owned("a")), "n1");
        let p = owned("b");
        assert!(applies(&cache, &p));
        let nodes = [
            cache.nodes().iter().position(|n| n.name == "n1").unwrap(),
            cache.nodes().iter().position(|n| n.name == "n2").unwrap(),
        ];
        let mut out = Vec::new();
        score(&cache, &p, &nodes, &mut out);
        assert!(out[1] > out[0], "{out:?}");
        assert_eq!(out[1], MAX_NODE_SCORE);
    }
}
