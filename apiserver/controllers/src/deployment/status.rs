//! A Deployment's status and conditions (upstream `sync.go` calculateStatus, `progress.go`
//! syncRolloutStatus, `deployment/util` conditions), pure: the counts from its ReplicaSets,
//! Available (MinimumReplicasAvailable/Unavailable), Progressing with upstream's reasons and the
//! progress deadline, ReplicaFailure mirrored from the ReplicaSets.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::rollout::{self, desired, rs_available, rs_replicas};

pub const AVAILABLE: &str = "Available";
pub const PROGRESSING: &str = "Progressing";
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";
pub const FAILED_RS_CREATE: &str = "ReplicaSetCreateError";
pub const MIN_AVAILABLE: &str = "MinimumReplicasAvailable";
pub const MIN_UNAVAILABLE: &str = "MinimumReplicasUnavailable";

/// A condition with both times at `now` (whole seconds, as the API stores them).
pub fn condition(type_: &str, status: &str, reason: &str, message: String, now: Timestamp) -> DeploymentCondition {
    let now = Timestamp::from_second(now.as_second()).unwrap_or(now);
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

pub fn get<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    status.conditions.as_ref()?.iter().find(|c| c.type_ == type_)
}

pub fn remove(status: &mut DeploymentStatus, type_: &str) {
    if let Some(conditions) = status.conditions.as_mut() {
        conditions.retain(|c| c.type_ != type_);
        if conditions.is_empty() {
            status.conditions = None;
        }
    }
}

/// Sets a condition unless one with the same status and reason is there; keeps the transition
/// time while the status stays the same (upstream `SetDeploymentCondition`).
pub fn set(status: &mut DeploymentStatus, mut condition: DeploymentCondition) {
    if let Some(current) = get(status, &condition.type_) {
        if current.status == condition.status && current.reason == condition.reason {
            return;
        }
        if current.status == condition.status {
            condition.last_transition_time = current.last_transition_time.clone();
        }
    }
    remove(status, &condition.type_);
    status.conditions.get_or_insert_with(Vec::new).push(condition);
}

pub fn has_progress_deadline(d: &Deployment) -> Option<i32> {
    d.spec.as_ref().and_then(|s| s.progress_deadline_seconds).filter(|s| *s != i32::MAX)
}

/// The counts from the ReplicaSets and the Available condition (upstream `calculateStatus`).
pub fn calculate(d: &Deployment, all: &[&ReplicaSet], new_rs: Option<&ReplicaSet>, now: Timestamp) -> DeploymentStatus {
    let sum = |f: &dyn Fn(&ReplicaSet) -> i32, rss: &[&ReplicaSet]| -> i32 { rss.iter().map(|rs| f(rs)).sum() };
    let status_replicas = |rs: &ReplicaSet| rs.status.as_ref().map_or(0, |s| s.replicas);
    let ready = |rs: &ReplicaSet| rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0);
    let available = sum(&rs_available, all);
    let total = sum(&rs_replicas, all);
    let current = d.status.clone().unwrap_or_default();
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: Some(sum(&status_replicas, all)),
        updated_replicas: Some(new_rs.map_or(0, status_replicas)),
        ready_replicas: Some(sum(&ready, all)),
        available_replicas: Some(available),
        unavailable_replicas: Some((total - available).max(0)),
        collision_count: current.collision_count,
        conditions: current.conditions.clone(),
        terminating_replicas: current.terminating_replicas,
    };
    if available >= desired(d) - rollout::max_unavailable(d) {
        set(
            &mut status,
            condition(AVAILABLE, "True", MIN_AVAILABLE, "Deployment has minimum availability.".into(), now),
        );
    } else {
        let message = "Deployment does not have minimum availability.".to_string();
        set(&mut status, condition(AVAILABLE, "False", MIN_UNAVAILABLE, message, now));
    }
    status
}

fn count(v: Option<i32>) -> i32 {
    v.unwrap_or(0)
}

/// All replicas updated and available, and the latest spec observed.
pub fn complete(d: &Deployment, status: &DeploymentStatus) -> bool {
    let want = desired(d);
    count(status.updated_replicas) == want
        && count(status.replicas) == want
        && count(status.available_replicas) == want
        && status.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// Whether the new status shows progress over the stored one.
pub fn progressing(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let old_olds = count(old.replicas) - count(old.updated_replicas);
    let new_olds = count(new.replicas) - count(new.updated_replicas);
    count(new.updated_replicas) > count(old.updated_replicas)
        || new_olds < old_olds
        || count(new.ready_replicas) > count(old.ready_replicas)
        || count(new.available_replicas) > count(old.available_replicas)
}

/// Whether the rollout has gone without progress for longer than its deadline.
pub fn timed_out(d: &Deployment, status: &DeploymentStatus, now: Timestamp) -> bool {
    let Some(deadline) = has_progress_deadline(d) else { return false };
    let Some(condition) = get(status, PROGRESSING) else { return false };
    match condition.reason.as_deref() {
        Some(NEW_RS_AVAILABLE) => false,
        Some(TIMED_OUT) => true,
        _ => {
            condition.last_update_time.as_ref().is_some_and(|t| t.0.as_second() + i64::from(deadline) < now.as_second())
        }
    }
}

/// The status after a rollout step (upstream `syncRolloutStatus`): counts, then Progressing as
/// complete / progressing / timed out, then ReplicaFailure from the ReplicaSets.
pub fn rollout(d: &Deployment, all: &[&ReplicaSet], new_rs: Option<&ReplicaSet>, now: Timestamp) -> DeploymentStatus {
    let mut status = calculate(d, all, new_rs, now);
    if has_progress_deadline(d).is_none() {
        remove(&mut status, PROGRESSING);
    }
    let stored = d.status.clone().unwrap_or_default();
    let current = get(&stored, PROGRESSING).cloned();
    let finished = count(status.replicas) == count(status.updated_replicas)
        && current.as_ref().is_some_and(|c| c.reason.as_deref() == Some(NEW_RS_AVAILABLE));
    if has_progress_deadline(d).is_some() && !finished {
        let subject = match new_rs {
            Some(rs) => format!("ReplicaSet {:?}", rs.metadata.name.as_deref().unwrap_or_default()),
            None => format!("Deployment {:?}", d.metadata.name.as_deref().unwrap_or_default()),
        };
        if complete(d, &status) {
            let message = format!("{subject} has successfully progressed.");
            set(&mut status, condition(PROGRESSING, "True", NEW_RS_AVAILABLE, message, now));
        } else if progressing(d, &status) {
            // Progress refreshes lastUpdateTime even with the same reason (the deadline counts
            // from the last progress), keeping the transition time while it stays True.
            let mut fresh = condition(PROGRESSING, "True", RS_UPDATED, format!("{subject} is progressing."), now);
            if let Some(current) = &current
                && current.status == "True"
            {
                fresh.last_transition_time = current.last_transition_time.clone();
            }
            remove(&mut status, PROGRESSING);
            set(&mut status, fresh);
        } else if timed_out(d, &status, now) {
            let message = format!("{subject} has timed out progressing.");
            set(&mut status, condition(PROGRESSING, "False", TIMED_OUT, message, now));
        }
    }
    let failure = all
        .iter()
        .chain(new_rs.iter())
        .find_map(|rs| rs.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == REPLICA_FAILURE).cloned());
    match failure {
        Some(c) => set(
            &mut status,
            DeploymentCondition {
                type_: REPLICA_FAILURE.into(),
                status: c.status,
                reason: c.reason,
                message: c.message,
                last_update_time: c.last_transition_time.clone(),
                last_transition_time: c.last_transition_time,
            },
        ),
        None => remove(&mut status, REPLICA_FAILURE),
    }
    status
}

/// When to look again for the progress deadline (upstream `requeueStuckDeployment`).
pub fn recheck_after(d: &Deployment, status: &DeploymentStatus, now: Timestamp) -> Option<i64> {
    let deadline = has_progress_deadline(d)?;
    let current = get(status, PROGRESSING)?;
    if complete(d, status) || current.reason.as_deref() == Some(TIMED_OUT) {
        return None;
    }
    let since = current.last_update_time.as_ref()?.0.as_second();
    Some((since + i64::from(deadline) - now.as_second() + 1).max(1))
}

/// The Progressing condition for pausing and resuming (upstream `checkPausedConditions`);
/// `None` when nothing changes.
pub fn paused_conditions(d: &Deployment, now: Timestamp) -> Option<DeploymentStatus> {
    has_progress_deadline(d)?;
    let mut status = d.status.clone().unwrap_or_default();
    let current = get(&status, PROGRESSING);
    if current.is_some_and(|c| c.reason.as_deref() == Some(TIMED_OUT)) {
        return None;
    }
    let paused_now = current.is_some_and(|c| c.reason.as_deref() == Some(PAUSED));
    let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    if paused && !paused_now {
        set(&mut status, condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused".into(), now));
    } else if !paused && paused_now {
        set(&mut status, condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed".into(), now));
    } else {
        return None;
    }
    Some(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployment::rollout::tests::{deployment, rs};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn rolling(replicas: i32) -> Deployment {
        let mut d = deployment(replicas, IntOrString::Int(1), IntOrString::Int(0));
        d.metadata.name = Some("web".into());
        d.metadata.generation = Some(2);
        d.spec.as_mut().unwrap().progress_deadline_seconds = Some(600);
        d
    }

    fn reason<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a str> {
        get(status, type_).and_then(|c| c.reason.as_deref())
    }

    #[test]
    fn counts_come_from_the_replica_sets() {
        let d = rolling(3);
        let old = rs("old", 1, 2, 2);
        let new = rs("new", 2, 2, 1);
        let status = calculate(&d, &[&old, &new], Some(&new), at(100));
        assert_eq!(
            (status.replicas, status.updated_replicas, status.available_replicas, status.unavailable_replicas),
            (Some(4), Some(2), Some(3), Some(1))
        );
        assert_eq!(status.observed_generation, Some(2));
        assert_eq!(reason(&status, AVAILABLE), Some(MIN_AVAILABLE));
        let starving = calculate(&d, &[&rs("old", 1, 3, 1)], None, at(100));
        assert_eq!(reason(&starving, AVAILABLE), Some(MIN_UNAVAILABLE));
    }

    #[test]
    fn progressing_then_complete_then_stays_complete() {
        let mut d = rolling(2);
        let old = rs("old", 1, 2, 2);
        let new = rs("new", 2, 1, 0);
        let status = rollout(&d, &[&old, &new], Some(&new), at(100));
        assert_eq!(reason(&status, PROGRESSING), Some(RS_UPDATED), "one more updated replica is progress");
        d.status = Some(status);
        let done = rs("new", 2, 2, 2);
        let status = rollout(&d, &[&rs("old", 1, 0, 0), &done], Some(&done), at(200));
        assert_eq!(reason(&status, PROGRESSING), Some(NEW_RS_AVAILABLE));
        assert_eq!(
            get(&status, PROGRESSING).unwrap().message.as_deref(),
            Some("ReplicaSet \"new\" has successfully progressed.")
        );
        d.status = Some(status.clone());
        assert_eq!(rollout(&d, &[&done], Some(&done), at(300)), status, "a finished rollout is left alone");
    }

    #[test]
    fn no_progress_past_the_deadline_times_out() {
        let mut d = rolling(2);
        let new = rs("new", 2, 1, 0);
        let mut status = rollout(&d, &[&new], Some(&new), at(100));
        d.status = Some(status.clone());
        status = rollout(&d, &[&new], Some(&new), at(650));
        assert_eq!(reason(&status, PROGRESSING), Some(RS_UPDATED), "within the deadline");
        assert_eq!(recheck_after(&d, &status, at(650)), Some(51));
        status = rollout(&d, &[&new], Some(&new), at(701));
        assert_eq!(reason(&status, PROGRESSING), Some(TIMED_OUT));
        assert_eq!(get(&status, PROGRESSING).unwrap().status, "False");
    }

    #[test]
    fn pausing_and_resuming_set_progressing_unknown() {
        let mut d = rolling(2);
        d.spec.as_mut().unwrap().paused = Some(true);
        let paused = paused_conditions(&d, at(100)).unwrap();
        assert_eq!(
            (reason(&paused, PROGRESSING), get(&paused, PROGRESSING).unwrap().status.as_str()),
            (Some(PAUSED), "Unknown")
        );
        d.status = Some(paused);
        assert!(paused_conditions(&d, at(101)).is_none());
        d.spec.as_mut().unwrap().paused = Some(false);
        assert_eq!(reason(&paused_conditions(&d, at(102)).unwrap(), PROGRESSING), Some(RESUMED));
    }

    #[test]
    fn set_keeps_the_transition_time_while_the_status_holds() {
        let mut status = DeploymentStatus::default();
        set(&mut status, condition(PROGRESSING, "True", NEW_RS_CREATED, "a".into(), at(100)));
        set(&mut status, condition(PROGRESSING, "True", FOUND_NEW_RS, "b".into(), at(200)));
        let c = get(&status, PROGRESSING).unwrap();
        assert_eq!(
            (c.last_transition_time.as_ref().unwrap().0, c.last_update_time.as_ref().unwrap().0),
            (at(100), at(200))
        );
        set(&mut status, condition(PROGRESSING, "True", FOUND_NEW_RS, "c".into(), at(300)));
        assert_eq!(get(&status, PROGRESSING).unwrap().message.as_deref(), Some("b"), "same reason: unchanged");
    }
}
