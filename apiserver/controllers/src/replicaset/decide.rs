//! The pure decisions of a replica controller: how many pods to create or delete, in which
//! batches, and the status that describes what it found (upstream `manageReplicas`,
//! `slowStartBatch`, `calculateStatus`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::pods;
use crate::selectors;

/// At most this many creates or deletes per sync (upstream `BurstReplicas`).
pub const BURST_REPLICAS: usize = 500;

/// What a sync does about the number of pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Create(usize),
    Delete(usize),
    Nothing,
}

/// Compares the active pods with the desired count, capped at [`BURST_REPLICAS`].
pub fn scale(active: usize, desired: i32) -> Scale {
    let desired = usize::try_from(desired).unwrap_or(0);
    match active.cmp(&desired) {
        std::cmp::Ordering::Less => Scale::Create((desired - active).min(BURST_REPLICAS)),
        std::cmp::Ordering::Greater => Scale::Delete((active - desired).min(BURST_REPLICAS)),
        std::cmp::Ordering::Equal => Scale::Nothing,
    }
}

/// Slow start: batches of 1, 2, 4, ... creates adding up to `count` (a batch with an error
/// stops the rest, so a failing template costs one call, not hundreds).
pub fn slow_start_batches(count: usize) -> Vec<usize> {
    let mut batches = Vec::new();
    let (mut size, mut left) = (1usize, count);
    while left > 0 {
        let batch = size.min(left);
        batches.push(batch);
        left -= batch;
        size *= 2;
    }
    batches
}

/// A ReplicaSet/ReplicationController condition (both kinds have the same fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The status both kinds report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaStatus {
    #[serde(default)]
    pub replicas: i32,
    #[serde(default)]
    pub fully_labeled_replicas: i32,
    #[serde(default)]
    pub ready_replicas: i32,
    #[serde(default)]
    pub available_replicas: i32,
    #[serde(default)]
    pub observed_generation: i64,
    /// `None` is written as `null` so that a merge patch removes the last condition.
    #[serde(default)]
    pub conditions: Option<Vec<Condition>>,
}

pub const REPLICA_FAILURE: &str = "ReplicaFailure";

/// Counts of the owner's active pods.
pub fn count(
    active: &[&Pod],
    template_labels: Option<&BTreeMap<String, String>>,
    min_ready_seconds: i32,
    now: Timestamp,
) -> ReplicaStatus {
    let template = LabelSelector { match_labels: template_labels.cloned(), match_expressions: None };
    let mut status = ReplicaStatus { replicas: len_i32(active.len()), ..Default::default() };
    for pod in active {
        if selectors::matches(Some(&template), pod.metadata.labels.as_ref()) {
            status.fully_labeled_replicas += 1;
        }
        if pods::is_ready(pod) {
            status.ready_replicas += 1;
            if pods::is_available(pod, min_ready_seconds, now) {
                status.available_replicas += 1;
            }
        }
    }
    status
}

/// Why pods could not be created or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: &'static str,
    pub message: String,
}

/// The next status: fresh counts, the generation seen, and the ReplicaFailure condition added
/// on a failure (kept as first reported while it lasts) and removed once a sync succeeds.
pub fn next_status(
    current: &ReplicaStatus,
    counts: ReplicaStatus,
    generation: i64,
    failure: Option<Failure>,
    now: Timestamp,
) -> ReplicaStatus {
    let mut conditions = current.conditions.clone().unwrap_or_default();
    let existing = conditions.iter().position(|c| c.type_ == REPLICA_FAILURE);
    match (failure, existing) {
        (Some(failure), None) => conditions.push(Condition {
            type_: REPLICA_FAILURE.into(),
            status: "True".into(),
            last_transition_time: Some(now.to_string()),
            reason: Some(failure.reason.into()),
            message: Some(failure.message),
        }),
        (None, Some(at)) => {
            conditions.remove(at);
        }
        _ => {}
    }
    ReplicaStatus {
        observed_generation: generation,
        conditions: (!conditions.is_empty()).then_some(conditions),
        ..counts
    }
}

pub fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replicaset::pods::tests::pod;

    #[test]
    fn scale_compares_active_with_desired_within_the_burst() {
        assert_eq!(scale(1, 3), Scale::Create(2));
        assert_eq!(scale(5, 3), Scale::Delete(2));
        assert_eq!(scale(3, 3), Scale::Nothing);
        assert_eq!(scale(0, 2000), Scale::Create(BURST_REPLICAS));
        assert_eq!(scale(2, -1), Scale::Delete(2));
    }

    #[test]
    fn slow_start_doubles_each_batch() {
        assert_eq!(slow_start_batches(0), Vec::<usize>::new());
        assert_eq!(slow_start_batches(1), [1]);
        assert_eq!(slow_start_batches(10), [1, 2, 4, 3]);
        assert_eq!(slow_start_batches(15), [1, 2, 4, 8]);
    }

    #[test]
    fn counts_labeled_ready_and_available_pods() {
        let labels: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into();
        let mut labeled = pod("a", "n1", "Running", Some(100));
        labeled.metadata.labels = Some(labels.clone());
        let fresh = pod("b", "n1", "Running", Some(195));
        let unready = pod("c", "n1", "Pending", None);
        let now = Timestamp::from_second(200).unwrap();
        let status = count(&[&labeled, &fresh, &unready], Some(&labels), 10, now);
        assert_eq!(
            (status.replicas, status.fully_labeled_replicas, status.ready_replicas, status.available_replicas),
            (3, 1, 2, 1)
        );
    }

    #[test]
    fn replica_failure_condition_is_set_then_cleared() {
        let now = Timestamp::from_second(200).unwrap();
        let failure = Failure { reason: "FailedCreate", message: "quota".into() };
        let failed = next_status(&ReplicaStatus::default(), ReplicaStatus::default(), 3, Some(failure.clone()), now);
        let conditions = failed.conditions.clone().unwrap();
        assert_eq!(
            (conditions[0].type_.as_str(), conditions[0].reason.as_deref()),
            ("ReplicaFailure", Some("FailedCreate"))
        );
        assert_eq!(failed.observed_generation, 3);
        let again =
            next_status(&failed, ReplicaStatus::default(), 3, Some(failure), Timestamp::from_second(300).unwrap());
        assert_eq!(again.conditions, failed.conditions, "first report kept");
        let healed = next_status(&failed, ReplicaStatus::default(), 3, None, now);
        assert_eq!(healed.conditions, None);
        assert_eq!(serde_json::to_value(&healed).unwrap()["conditions"], serde_json::Value::Null);
    }
}
