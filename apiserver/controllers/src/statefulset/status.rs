//! The StatefulSet status computed from its pods (upstream's `computeReplicaStatus` and
//! `completeRollingUpdate`): what `kubectl rollout status statefulset` waits on.

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use super::pod_state;
use crate::history::CONTROLLER_REVISION_HASH_LABEL;

/// Whether two statuses say the same once unset and zero values are dropped (the server may
/// omit `0` and `[]`; comparing them as different would rewrite the status in a loop).
pub fn equivalent<T: serde::Serialize>(a: Option<&T>, b: &T) -> bool {
    fn trimmed(value: serde_json::Value) -> Option<serde_json::Value> {
        use serde_json::Value;
        match value {
            Value::Null => None,
            Value::Number(n) if n.as_f64() == Some(0.0) => None,
            Value::String(s) if s.is_empty() => None,
            Value::Array(items) if items.is_empty() => None,
            Value::Object(map) => {
                let map: serde_json::Map<String, Value> =
                    map.into_iter().filter_map(|(k, v)| trimmed(v).map(|v| (k, v))).collect();
                (!map.is_empty()).then_some(Value::Object(map))
            }
            other => Some(other),
        }
    }
    let json = |v: Option<&T>| v.and_then(|v| serde_json::to_value(v).ok()).and_then(trimmed);
    json(a) == json(Some(b))
}

/// The revisions the status reports.
#[derive(Debug, Clone)]
pub struct Revisions<'a> {
    pub current: &'a str,
    pub update: &'a str,
    pub collision_count: i32,
}

/// The status of `set` whose pods are `pods` (every pod it owns, in range or not).
pub fn compute(set: &StatefulSet, pods: &[&Pod], revisions: &Revisions<'_>, now: Timestamp) -> StatefulSetStatus {
    let min_ready = set.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let mut status = StatefulSetStatus {
        observed_generation: set.metadata.generation,
        collision_count: Some(revisions.collision_count),
        current_revision: Some(revisions.current.to_string()),
        update_revision: Some(revisions.update.to_string()),
        // Conditions are not computed by this controller; keep what is there.
        conditions: set.status.as_ref().and_then(|s| s.conditions.clone()),
        ..Default::default()
    };
    let (mut ready, mut available, mut current, mut updated) = (0, 0, 0, 0);
    for pod in pods {
        let created = !pod_state::phase(pod).is_empty();
        if created {
            status.replicas += 1;
        }
        if pod_state::is_running_and_ready(pod) {
            ready += 1;
            if pod_state::is_available(pod, min_ready, now) {
                available += 1;
            }
        }
        if created && !pod_state::is_terminating(pod) {
            let revision = pod.metadata.labels.as_ref().and_then(|l| l.get(CONTROLLER_REVISION_HASH_LABEL));
            if revision.is_some_and(|r| r == revisions.current) {
                current += 1;
            }
            if revision.is_some_and(|r| r == revisions.update) {
                updated += 1;
            }
        }
    }
    status.ready_replicas = Some(ready);
    status.available_replicas = Some(available);
    status.current_replicas = Some(current);
    status.updated_replicas = Some(updated);
    let rolling = set
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate");
    // A finished rolling update makes the update revision the current one.
    let wanted = set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    if rolling && updated == wanted && ready == wanted && status.replicas == wanted {
        status.current_replicas = Some(updated);
        status.current_revision = Some(revisions.update.to_string());
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statefulset::pod_state::testing::pod;
    use k8s_openapi::api::apps::v1::StatefulSetSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn labelled(revision: &str, ready: bool) -> Pod {
        let mut p = pod("Running", ready.then(|| Timestamp::from_second(0).unwrap()));
        p.metadata.labels = Some([(CONTROLLER_REVISION_HASH_LABEL.to_string(), revision.to_string())].into());
        p
    }

    fn set() -> StatefulSet {
        StatefulSet {
            metadata: ObjectMeta { generation: Some(4), ..Default::default() },
            spec: Some(StatefulSetSpec { replicas: Some(2), ..Default::default() }),
            status: None,
        }
    }

    #[test]
    fn counts_pods_by_revision_and_readiness() {
        let pods = [labelled("old", true), labelled("new", true), labelled("new", false)];
        let refs: Vec<&Pod> = pods.iter().collect();
        let revisions = Revisions { current: "old", update: "new", collision_count: 0 };
        let status = compute(&set(), &refs, &revisions, Timestamp::from_second(100).unwrap());
        assert_eq!(status.replicas, 3);
        assert_eq!(status.ready_replicas, Some(2));
        assert_eq!(status.available_replicas, Some(2));
        assert_eq!(status.current_replicas, Some(1));
        assert_eq!(status.updated_replicas, Some(2));
        assert_eq!(status.current_revision.as_deref(), Some("old"));
        assert_eq!(status.observed_generation, Some(4));
    }

    #[test]
    fn statuses_equal_up_to_omitted_zeros() {
        let ours = StatefulSetStatus {
            replicas: 0,
            ready_replicas: Some(0),
            observed_generation: Some(1),
            ..Default::default()
        };
        let stored = StatefulSetStatus { observed_generation: Some(1), ..Default::default() };
        assert!(equivalent(Some(&stored), &ours));
        assert!(!equivalent(None, &ours));
        let other = StatefulSetStatus { observed_generation: Some(2), ..Default::default() };
        assert!(!equivalent(Some(&other), &ours));
    }

    #[test]
    fn a_complete_rolling_update_moves_the_current_revision() {
        let pods = [labelled("new", true), labelled("new", true)];
        let refs: Vec<&Pod> = pods.iter().collect();
        let revisions = Revisions { current: "old", update: "new", collision_count: 0 };
        let status = compute(&set(), &refs, &revisions, Timestamp::from_second(100).unwrap());
        assert_eq!(status.current_revision.as_deref(), Some("new"));
        assert_eq!(status.current_replicas, Some(2));
    }
}
