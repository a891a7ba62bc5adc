//! The annotations a Deployment keeps on its ReplicaSets (upstream `deployment/util`):
//! revisions (which `kubectl rollout history/undo` read), the revision history of a ReplicaSet
//! that came back through a rollback, and the sizes proportional scaling works from.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const ROLLBACK_TO: &str = "deprecated.deployment.rollback.to";
/// Upstream's cap on the revision-history annotation.
const MAX_HISTORY_CHARS: usize = 2000;

fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata.annotations.as_ref()?.get(key).map(String::as_str)
}

/// The ReplicaSet's revision (0 when missing or unreadable).
pub fn revision(rs: &ReplicaSet) -> i64 {
    annotation(rs, REVISION).and_then(|v| v.parse().ok()).unwrap_or(0)
}

pub fn max_revision(rss: &[&ReplicaSet]) -> i64 {
    rss.iter().map(|rs| revision(rs)).max().unwrap_or(0)
}

pub fn max_replicas(rs: &ReplicaSet) -> Option<i32> {
    annotation(rs, MAX_REPLICAS)?.parse().ok()
}

pub fn desired_replicas(rs: &ReplicaSet) -> Option<i32> {
    annotation(rs, DESIRED_REPLICAS)?.parse().ok()
}

/// Deployment annotations that are the Deployment's own and are not copied to ReplicaSets.
fn skip_copy(key: &str) -> bool {
    matches!(key, LAST_APPLIED | REVISION | REVISION_HISTORY | DESIRED_REPLICAS | MAX_REPLICAS | ROLLBACK_TO)
}

/// Sets desired-replicas and max-replicas; whether anything changed.
pub fn set_replicas(annotations: &mut BTreeMap<String, String>, desired: i32, max: i32) -> bool {
    let mut changed = false;
    for (key, value) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        let value = value.to_string();
        if annotations.get(key) != Some(&value) {
            annotations.insert(key.to_string(), value);
            changed = true;
        }
    }
    changed
}

pub fn replicas_need_update(rs: &ReplicaSet, desired: i32, max: i32) -> bool {
    desired_replicas(rs) != Some(desired) || max_replicas(rs) != Some(max)
}

/// The new ReplicaSet's annotations (upstream `SetNewReplicaSetAnnotations`): the Deployment's
/// own annotations copied, the revision raised to `new_revision` (keeping the one it replaces in
/// the revision history when a rollback brings an old ReplicaSet back), and for a ReplicaSet
/// about to be created, the replica annotations. Returns whether anything changed.
pub fn set_new_rs_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
    desired: i32,
    max: i32,
) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (key, value) in d.metadata.annotations.iter().flatten() {
        if skip_copy(key) || annotations.get(key) == Some(value) {
            continue;
        }
        annotations.insert(key.clone(), value.clone());
        changed = true;
    }
    let old = annotations.get(REVISION).cloned().unwrap_or_default();
    let old_number: i64 = if old.is_empty() {
        0
    } else {
        match old.parse() {
            Ok(n) => n,
            Err(_) => return changed,
        }
    };
    if old_number < new_revision {
        annotations.insert(REVISION.to_string(), new_revision.to_string());
        changed = true;
        if !old.is_empty() {
            let history = annotations.get(REVISION_HISTORY).cloned().unwrap_or_default();
            let mut revisions: Vec<&str> = history.split(',').filter(|r| !r.is_empty()).collect();
            revisions.push(&old);
            while revisions.join(",").len() > MAX_HISTORY_CHARS && revisions.len() > 1 {
                revisions.remove(0);
            }
            annotations.insert(REVISION_HISTORY.to_string(), revisions.join(","));
        }
    }
    if !exists && set_replicas(annotations, desired, max) {
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(rs_annotations: &[(&str, &str)]) -> ReplicaSet {
        let mut rs = ReplicaSet::default();
        rs.metadata.annotations = Some(rs_annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        rs
    }

    #[test]
    fn a_new_replica_set_gets_the_revision_copied_annotations_and_sizes() {
        let mut d = Deployment::default();
        d.metadata.annotations = Some(
            [("kubernetes.io/change-cause", "v2"), (REVISION, "7"), (LAST_APPLIED, "{}")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        let mut rs = ReplicaSet::default();
        assert!(set_new_rs_annotations(&d, &mut rs, 3, false, 4, 5));
        let a = rs.metadata.annotations.clone().unwrap();
        assert_eq!(a.get(REVISION).map(String::as_str), Some("3"));
        assert_eq!(a.get("kubernetes.io/change-cause").map(String::as_str), Some("v2"));
        assert_eq!((a.get(DESIRED_REPLICAS).unwrap().as_str(), a.get(MAX_REPLICAS).unwrap().as_str()), ("4", "5"));
        assert!(!a.contains_key(LAST_APPLIED));
        assert!(!set_new_rs_annotations(&d, &mut rs, 3, true, 4, 5), "nothing left to change");
    }

    #[test]
    fn a_rolled_back_replica_set_remembers_its_old_revisions() {
        let d = Deployment::default();
        let mut rs = with(&[(REVISION, "1")]);
        assert!(set_new_rs_annotations(&d, &mut rs, 3, true, 1, 1));
        assert_eq!(revision(&rs), 3);
        assert_eq!(annotation(&rs, REVISION_HISTORY), Some("1"));
        assert!(set_new_rs_annotations(&d, &mut rs, 5, true, 1, 1));
        assert_eq!(annotation(&rs, REVISION_HISTORY), Some("1,3"));
        assert_eq!(max_revision(&[&rs, &with(&[(REVISION, "4")])]), 5);
    }
}
