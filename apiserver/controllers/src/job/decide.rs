//! One Job sync as a pure function of the Job, its pods (from the cache) and the time: the
//! status to write, pods to create, delete and release, events, and when to look again.
//!
//! Counting is exactly-once through the tracking finalizer, as upstream: a finished pod that
//! still has the finalizer is first recorded in `status.uncountedTerminatedPods` (written
//! before anything else), then its finalizer is removed, and only when the cache shows the pod
//! without the finalizer (or gone) does it move into `succeeded`/`failed`. A stale cache can
//! therefore delay a count but never double it; status writes carry the cached
//! resourceVersion, so a decision taken on a stale Job is rejected by the server.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobSpec, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::conditions::{self, Ending};
use super::failure_policy::{self, Action};
use super::indexes::{self, IndexSet};
use super::{backoff, pods};

/// Pods created or deleted in one sync at most (upstream's `MaxPodCreateDeletePerSync`).
pub const MAX_CHANGES_PER_SYNC: usize = 500;

/// A pod to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPod {
    /// Completion index (Indexed Jobs).
    pub index: Option<u32>,
    /// Failures of this index so far (backoffLimitPerIndex), and those a policy ignored.
    pub index_failures: Option<(u32, u32)>,
}

/// An event about the Job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEvent {
    pub warning: bool,
    pub reason: String,
    pub message: String,
}

/// What one sync does.
#[derive(Debug, Default)]
pub struct Plan {
    /// The status to write (when it differs from the current one).
    pub status: JobStatus,
    pub create: Vec<NewPod>,
    /// Names of pods to delete (their tracking finalizer is released first: not counted).
    pub delete: Vec<String>,
    /// Names of pods whose tracking finalizer to remove.
    pub release: Vec<String>,
    pub events: Vec<JobEvent>,
    pub requeue_after: Option<Duration>,
}

impl Plan {
    fn requeue(&mut self, after: Duration) {
        self.requeue_after = Some(self.requeue_after.map_or(after, |d| d.min(after)));
    }
}

/// The sync of `job` given its `owned` pods at `now`; `may_manage` is false while earlier
/// creations or deletions are not yet in the cache (then no pods are created or deleted).
pub fn decide(job: &Job, owned: &[&Pod], now: Timestamp, may_manage: bool) -> Plan {
    let spec = job.spec.clone().unwrap_or_default();
    let old = job.status.clone().unwrap_or_default();
    let mut plan = Plan { status: old.clone(), ..Default::default() };
    if conditions::finished(&old) {
        // Nothing left but letting go of the pods.
        plan.release = owned.iter().filter(|p| pods::has_tracking_finalizer(p)).map(|p| name(p)).collect();
        plan.delete = owned.iter().filter(|p| pods::active(p)).map(|p| name(p)).collect();
        return plan;
    }
    let shape = Shape::of(&spec);
    let mut counts = Counts::flush(&old, owned, &shape);
    let mut ending = conditions::recorded_ending(&old);
    let policy_failure = counts.record_newly_finished(job, &spec, owned, &shape, ending.is_some(), &mut plan);
    let active: Vec<&Pod> = owned.iter().copied().filter(|p| pods::active(p)).collect();
    let terminating = owned.iter().filter(|p| pods::terminating(p)).count();
    let suspended = spec.suspend == Some(true);

    if ending.is_none() {
        ending = policy_failure.or_else(|| judge(&spec, &old, &counts, &active, &shape, now, suspended));
        if let Some(e) = &ending {
            conditions::set(&mut plan.status, e.interim_type(), true, &e.reason, &e.message, now);
        }
    }

    let mut created_or_deleted = (0usize, 0usize);
    if let Some(ending) = &ending {
        // Lingering pods are stopped and, as upstream, count as failed.
        for pod in owned.iter().filter(|p| !pods::terminal(p) && pods::has_tracking_finalizer(p)) {
            let uid = uid(pod);
            if !counts.uncounted_succeeded.contains(&uid) {
                counts.uncounted_failed.insert(uid);
            }
        }
        for pod in &active {
            plan.delete.push(name(pod));
        }
        created_or_deleted.1 = active.len();
        let all_counted = counts.uncounted_succeeded.is_empty() && counts.uncounted_failed.is_empty();
        if all_counted && active.is_empty() && terminating == 0 {
            conditions::set(&mut plan.status, ending.terminal_type(), true, &ending.reason, &ending.message, now);
            if ending.success {
                plan.status.completion_time = Some(Time(now));
                plan.events.push(JobEvent {
                    warning: false,
                    reason: "Completed".into(),
                    message: "Job completed".into(),
                });
            } else {
                plan.events.push(JobEvent {
                    warning: true,
                    reason: ending.reason.clone(),
                    message: ending.message.clone(),
                });
            }
        }
    } else if suspended {
        for pod in &active {
            plan.delete.push(name(pod));
        }
        created_or_deleted.1 = active.len();
        if !conditions::is_true(&old, conditions::SUSPENDED) {
            conditions::set(&mut plan.status, conditions::SUSPENDED, true, "JobSuspended", "Job suspended", now);
            plan.events.push(JobEvent { warning: false, reason: "Suspended".into(), message: "Job suspended".into() });
        }
    } else {
        if conditions::is_true(&old, conditions::SUSPENDED) {
            conditions::set(&mut plan.status, conditions::SUSPENDED, false, "JobResumed", "Job resumed", now);
            plan.events.push(JobEvent { warning: false, reason: "Resumed".into(), message: "Job resumed".into() });
            plan.status.start_time = Some(Time(now));
        }
        if plan.status.start_time.is_none() {
            plan.status.start_time = Some(Time(now));
        }
        if let (Some(seconds), Some(start)) = (spec.active_deadline_seconds, &plan.status.start_time) {
            let deadline = start.0.checked_add(SignedDuration::from_secs(seconds)).unwrap_or(start.0);
            let left = Duration::try_from(deadline.duration_since(now)).unwrap_or(Duration::ZERO);
            plan.requeue(left + Duration::from_millis(100));
        }
        if may_manage {
            created_or_deleted = manage(&spec, owned, &active, &counts, &shape, now, &mut plan);
        }
    }

    let (created, deleted) = created_or_deleted;
    let status = &mut plan.status;
    status.active = Some(to_i32(active.len() + created - deleted.min(active.len())));
    status.ready = Some(to_i32(active.iter().filter(|p| pods::ready(p)).count()));
    status.terminating = Some(to_i32(terminating));
    status.succeeded = Some(counts.succeeded);
    status.failed = Some(counts.failed);
    status.uncounted_terminated_pods = Some(UncountedTerminatedPods {
        succeeded: non_empty(&counts.uncounted_succeeded),
        failed: non_empty(&counts.uncounted_failed),
    });
    if shape.indexed {
        status.completed_indexes = Some(indexes::format(&counts.completed_indexes)).filter(|s| !s.is_empty());
        if shape.per_index.is_some() {
            status.failed_indexes = Some(indexes::format(&counts.failed_indexes));
        }
    }
    // Pods whose count is recorded (or that are stopping) let go of the finalizer.
    for pod in owned.iter().filter(|p| pods::has_tracking_finalizer(p)) {
        let uid = uid(pod);
        let counted = counts.uncounted_succeeded.contains(&uid) || counts.uncounted_failed.contains(&uid);
        let name = name(pod);
        if (counted || plan.delete.contains(&name)) && !plan.release.contains(&name) {
            plan.release.push(name);
        }
    }
    plan
}

/// The parts of the spec every step needs.
#[derive(Debug)]
struct Shape {
    indexed: bool,
    completions: Option<u32>,
    parallelism: u32,
    per_index: Option<u32>,
}

impl Shape {
    fn of(spec: &JobSpec) -> Self {
        let indexed = spec.completion_mode.as_deref() == Some("Indexed");
        Self {
            indexed,
            completions: spec.completions.map(to_u32),
            parallelism: to_u32(spec.parallelism.unwrap_or(1)),
            per_index: spec.backoff_limit_per_index.filter(|_| indexed).map(to_u32),
        }
    }

    fn index_limit(&self) -> u32 {
        if self.indexed { self.completions.unwrap_or(0) } else { 0 }
    }
}

/// Counted and not-yet-counted outcomes.
#[derive(Debug)]
struct Counts {
    succeeded: i32,
    failed: i32,
    uncounted_succeeded: BTreeSet<String>,
    uncounted_failed: BTreeSet<String>,
    completed_indexes: IndexSet,
    failed_indexes: IndexSet,
}

impl Counts {
    /// Recorded counts, with the uncounted pods whose finalizer is gone moved into them.
    fn flush(status: &JobStatus, owned: &[&Pod], shape: &Shape) -> Self {
        let by_uid: HashMap<String, &Pod> = owned.iter().map(|p| (uid(p), *p)).collect();
        let released = |uid: &String| by_uid.get(uid).is_none_or(|p| !pods::has_tracking_finalizer(p));
        let uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
        let (done_s, left_s): (Vec<String>, Vec<String>) =
            uncounted.succeeded.unwrap_or_default().into_iter().partition(released);
        let (done_f, left_f): (Vec<String>, Vec<String>) =
            uncounted.failed.unwrap_or_default().into_iter().partition(released);
        let limit = shape.index_limit();
        Self {
            succeeded: status.succeeded.unwrap_or(0) + to_i32(done_s.len()),
            failed: status.failed.unwrap_or(0) + to_i32(done_f.len()),
            uncounted_succeeded: left_s.into_iter().collect(),
            uncounted_failed: left_f.into_iter().collect(),
            completed_indexes: indexes::parse(status.completed_indexes.as_deref(), limit),
            failed_indexes: indexes::parse(status.failed_indexes.as_deref(), limit),
        }
    }

    /// Records pods that finished since the last sync; returns a FailJob policy ending.
    fn record_newly_finished(
        &mut self,
        job: &Job,
        spec: &JobSpec,
        owned: &[&Pod],
        shape: &Shape,
        ending_recorded: bool,
        plan: &mut Plan,
    ) -> Option<Ending> {
        let mut newly: Vec<&Pod> = owned
            .iter()
            .copied()
            .filter(|p| pods::has_tracking_finalizer(p))
            .filter(|p| !self.uncounted_succeeded.contains(&uid(p)) && !self.uncounted_failed.contains(&uid(p)))
            .filter(|p| pods::succeeded(p) || pods::counts_as_failed(p, job))
            .collect();
        newly.sort_by_key(|p| pods::finish_time(p));
        let mut policy_failure = None;
        let limit = shape.index_limit();
        for pod in newly {
            let index = pods::completion_index(pod, limit);
            if pods::succeeded(pod) {
                if shape.indexed {
                    // One success per index counts; a duplicate is only released.
                    match index {
                        Some(i) if !self.completed_indexes.contains(&i) && !self.failed_indexes.contains(&i) => {
                            self.completed_indexes.insert(i);
                        }
                        _ => {
                            plan.release.push(name(pod));
                            continue;
                        }
                    }
                }
                self.uncounted_succeeded.insert(uid(pod));
                continue;
            }
            let action = match (&spec.pod_failure_policy, pods::phase(pod)) {
                (Some(policy), "Failed") => failure_policy::evaluate(policy, pod),
                _ => None,
            };
            match action {
                Some(Action::Ignore) => {
                    plan.release.push(name(pod));
                    continue;
                }
                Some(Action::FailJob(message)) => {
                    if !ending_recorded && policy_failure.is_none() {
                        policy_failure = Some(Ending::failure("PodFailurePolicy", message));
                    }
                }
                Some(Action::FailIndex) => {
                    if let Some(i) = index.filter(|_| shape.per_index.is_some()) {
                        self.failed_indexes.insert(i);
                    }
                }
                Some(Action::Count) | None => {
                    if let (Some(limit), Some(i)) = (shape.per_index, index)
                        && pods::annotation_count(pod, pods::INDEX_FAILURE_COUNT) + 1 > limit
                    {
                        self.failed_indexes.insert(i);
                    }
                }
            }
            self.uncounted_failed.insert(uid(pod));
        }
        policy_failure
    }

    fn total_succeeded(&self, shape: &Shape) -> u32 {
        if shape.indexed {
            u32::try_from(self.completed_indexes.len()).unwrap_or(u32::MAX)
        } else {
            to_u32(self.succeeded) + u32::try_from(self.uncounted_succeeded.len()).unwrap_or(u32::MAX)
        }
    }

    fn total_failed(&self) -> i64 {
        i64::from(self.failed) + i64::try_from(self.uncounted_failed.len()).unwrap_or(i64::MAX)
    }
}

/// Whether the Job has now failed or succeeded, in upstream's order of checks.
fn judge(
    spec: &JobSpec,
    old: &JobStatus,
    counts: &Counts,
    active: &[&Pod],
    shape: &Shape,
    now: Timestamp,
    suspended: bool,
) -> Option<Ending> {
    let backoff_limit = i64::from(spec.backoff_limit.unwrap_or(6));
    if shape.per_index.is_none() {
        if counts.total_failed() > backoff_limit {
            return Some(Ending::backoff_limit_exceeded());
        }
        let on_failure = spec.template.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) == Some("OnFailure");
        if on_failure {
            let restarts: i64 = active.iter().map(|p| pods::restarts(p)).sum::<i64>() + counts.total_failed();
            if (backoff_limit == 0 && restarts > 0) || (backoff_limit > 0 && restarts >= backoff_limit) {
                return Some(Ending::backoff_limit_exceeded());
            }
        }
    }
    if let Some(max) = spec.max_failed_indexes.filter(|_| shape.per_index.is_some())
        && counts.failed_indexes.len() > usize::try_from(max).unwrap_or(0)
    {
        return Some(Ending::max_failed_indexes_exceeded());
    }
    if !suspended
        && let (Some(seconds), Some(start)) = (spec.active_deadline_seconds, &old.start_time)
        && now >= start.0.checked_add(SignedDuration::from_secs(seconds)).unwrap_or(start.0)
    {
        return Some(Ending::deadline_exceeded());
    }
    if shape.indexed {
        for (i, rule) in spec.success_policy.iter().flat_map(|p| p.rules.iter()).enumerate() {
            let limit = shape.index_limit();
            let matched = match (&rule.succeeded_indexes, rule.succeeded_count) {
                (Some(text), count) => {
                    let wanted = indexes::parse(Some(text), limit);
                    let done = wanted.intersection(&counts.completed_indexes).count();
                    match count {
                        Some(count) => done >= usize::try_from(count).unwrap_or(usize::MAX),
                        None => done == wanted.len(),
                    }
                }
                (None, Some(count)) => counts.completed_indexes.len() >= usize::try_from(count).unwrap_or(usize::MAX),
                (None, None) => false,
            };
            if matched {
                return Some(Ending::success("SuccessPolicy", format!("Matched rules at index {i}")));
            }
        }
        let completions = shape.completions.unwrap_or(0) as usize;
        let completed = counts.completed_indexes.len();
        if completed >= completions {
            return Some(Ending::completions_reached());
        }
        if shape.per_index.is_some()
            && !counts.failed_indexes.is_empty()
            && completed + counts.failed_indexes.len() >= completions
        {
            return Some(Ending::failed_indexes());
        }
        return None;
    }
    let succeeded = counts.total_succeeded(shape);
    match shape.completions {
        Some(completions) if succeeded >= completions => Some(Ending::completions_reached()),
        None if succeeded > 0 && active.is_empty() => Some(Ending::completions_reached()),
        _ => None,
    }
}

/// Creates or deletes pods towards the wanted number; returns (created, deleted).
fn manage(
    spec: &JobSpec,
    owned: &[&Pod],
    active: &[&Pod],
    counts: &Counts,
    shape: &Shape,
    now: Timestamp,
    plan: &mut Plan,
) -> (usize, usize) {
    let failures = FailureHistory::of(spec, owned, shape);
    if shape.indexed {
        return manage_indexed(active, counts, shape, &failures, now, plan);
    }
    let succeeded = counts.total_succeeded(shape);
    let want = match shape.completions {
        Some(completions) => completions.saturating_sub(succeeded).min(shape.parallelism),
        // A work queue: once one pod succeeded, no new pods.
        None if succeeded > 0 => u32::try_from(active.len()).unwrap_or(u32::MAX),
        None => shape.parallelism,
    } as usize;
    if active.len() > want {
        let mut victims = active.to_vec();
        victims.sort_by_key(|p| deletion_rank(p));
        let deleted = (active.len() - want).min(MAX_CHANGES_PER_SYNC);
        plan.delete.extend(victims.iter().take(deleted).map(|p| name(p)));
        return (0, deleted);
    }
    if active.len() < want {
        if let Some(wait) = backoff::remaining(failures.since_success, failures.last, now) {
            plan.requeue(wait);
            return (0, 0);
        }
        let count = (want - active.len()).min(MAX_CHANGES_PER_SYNC);
        plan.create.extend((0..count).map(|_| NewPod { index: None, index_failures: None }));
        return (count, 0);
    }
    (0, 0)
}

fn manage_indexed(
    active: &[&Pod],
    counts: &Counts,
    shape: &Shape,
    failures: &FailureHistory,
    now: Timestamp,
    plan: &mut Plan,
) -> (usize, usize) {
    let limit = shape.index_limit();
    let mut by_index: BTreeMap<u32, Vec<&Pod>> = BTreeMap::new();
    let mut deleted = 0;
    for pod in active {
        match pods::completion_index(pod, limit) {
            Some(i) if !counts.completed_indexes.contains(&i) && !counts.failed_indexes.contains(&i) => {
                by_index.entry(i).or_default().push(pod);
            }
            _ => {
                plan.delete.push(name(pod));
                deleted += 1;
            }
        }
    }
    for same in by_index.values_mut() {
        // One pod per index: keep the most advanced one.
        same.sort_by_key(|p| deletion_rank(p));
        while same.len() > 1 {
            plan.delete.push(name(same.remove(0)));
            deleted += 1;
        }
    }
    let running: IndexSet = by_index.keys().copied().collect();
    let slots = (shape.parallelism as usize).saturating_sub(running.len()).min(MAX_CHANGES_PER_SYNC);
    if slots == 0 {
        return (0, deleted);
    }
    if shape.per_index.is_none()
        && let Some(wait) = backoff::remaining(failures.since_success, failures.last, now)
    {
        plan.requeue(wait);
        return (0, deleted);
    }
    let mut created = 0;
    for i in indexes::first_free(limit, &[&counts.completed_indexes, &counts.failed_indexes, &running], usize::MAX) {
        if created == slots {
            break;
        }
        let of_index = failures.per_index.get(&i).copied().unwrap_or_default();
        if shape.per_index.is_some()
            && let Some(wait) = backoff::remaining(of_index.failures, of_index.last, now)
        {
            plan.requeue(wait);
            continue;
        }
        let index_failures = shape.per_index.map(|_| (of_index.failures, of_index.ignored));
        plan.create.push(NewPod { index: Some(i), index_failures });
        created += 1;
    }
    (created, deleted)
}

/// Past failures, for the backoff before recreating pods.
#[derive(Debug, Default)]
struct FailureHistory {
    /// Failed pods that finished after the last succeeded one, and when the latest did.
    since_success: u32,
    last: Option<Timestamp>,
    per_index: HashMap<u32, IndexFailures>,
}

#[derive(Debug, Default, Clone, Copy)]
struct IndexFailures {
    failures: u32,
    ignored: u32,
    last: Option<Timestamp>,
}

impl FailureHistory {
    fn of(spec: &JobSpec, owned: &[&Pod], shape: &Shape) -> Self {
        let last_success = owned.iter().filter(|p| pods::succeeded(p)).filter_map(|p| pods::finish_time(p)).max();
        let mut history = Self::default();
        for pod in owned.iter().filter(|p| pods::phase(p) == "Failed") {
            let ignored = spec
                .pod_failure_policy
                .as_ref()
                .is_some_and(|policy| failure_policy::evaluate(policy, pod) == Some(Action::Ignore));
            let finished = pods::finish_time(pod);
            if !ignored && finished.is_some() && (last_success.is_none() || finished > last_success) {
                history.since_success += 1;
                history.last = history.last.max(finished);
            }
            if let Some(i) = pods::completion_index(pod, shape.index_limit()) {
                let entry = history.per_index.entry(i).or_default();
                let before = pods::annotation_count(pod, pods::INDEX_FAILURE_COUNT);
                let ignored_before = pods::annotation_count(pod, pods::INDEX_IGNORED_FAILURE_COUNT);
                entry.failures = entry.failures.max(before + u32::from(!ignored));
                entry.ignored = entry.ignored.max(ignored_before + u32::from(ignored));
                if !ignored {
                    entry.last = entry.last.max(finished);
                }
            }
        }
        history
    }
}

/// Deletion order: pending before running, not ready before ready, newest first.
fn deletion_rank(pod: &Pod) -> (bool, bool, std::cmp::Reverse<Option<Timestamp>>) {
    let running = pods::phase(pod) == "Running" || pod.spec.as_ref().is_some_and(|s| s.node_name.is_some());
    (running, pods::ready(pod), std::cmp::Reverse(pod.metadata.creation_timestamp.as_ref().map(|t| t.0)))
}

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

fn non_empty(set: &BTreeSet<String>) -> Option<Vec<String>> {
    (!set.is_empty()).then(|| set.iter().cloned().collect())
}

fn to_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn to_u32(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::{
        JobCondition, PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyRule, SuccessPolicy,
        SuccessPolicyRule,
    };
    use k8s_openapi::api::core::v1::{ContainerState, ContainerStateTerminated, ContainerStatus, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn now() -> Timestamp {
        "2025-01-01T00:10:00Z".parse().unwrap()
    }

    fn at(text: &str) -> Time {
        Time(text.parse().unwrap())
    }

    fn job(completions: Option<i32>, parallelism: i32, indexed: bool) -> Job {
        Job {
            metadata: ObjectMeta {
                name: Some("j".into()),
                namespace: Some("ns".into()),
                uid: Some("ju".into()),
                ..Default::default()
            },
            spec: Some(JobSpec {
                completions,
                parallelism: Some(parallelism),
                backoff_limit: Some(6),
                completion_mode: Some(if indexed { "Indexed" } else { "NonIndexed" }.into()),
                ..Default::default()
            }),
            status: Some(JobStatus { start_time: Some(at("2025-01-01T00:00:00Z")), ..Default::default() }),
        }
    }

    /// A pod `name` in `phase` (finished at `finished` when terminal), tracked unless `counted`.
    fn pod(name: &str, phase: &str, index: Option<u32>, counted: bool) -> Pod {
        let terminated = matches!(phase, "Succeeded" | "Failed").then(|| ContainerStatus {
            name: "c".into(),
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: if phase == "Failed" { 1 } else { 0 },
                    finished_at: Some(at("2025-01-01T00:09:55Z")),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                uid: Some(format!("uid-{name}")),
                namespace: Some("ns".into()),
                finalizers: (!counted).then(|| vec![pods::TRACKING_FINALIZER.to_string()]),
                annotations: index.map(|i| [(pods::COMPLETION_INDEX.to_string(), i.to_string())].into()),
                creation_timestamp: Some(at("2025-01-01T00:01:00Z")),
                ..Default::default()
            },
            spec: None,
            status: Some(PodStatus {
                phase: Some(phase.into()),
                container_statuses: terminated.map(|t| vec![t]),
                ..Default::default()
            }),
        }
    }

    fn refs(pods: &[Pod]) -> Vec<&Pod> {
        pods.iter().collect()
    }

    fn with_status(mut job: Job, edit: impl FnOnce(&mut JobStatus)) -> Job {
        edit(job.status.get_or_insert_with(Default::default));
        job
    }

    #[test]
    fn creates_up_to_parallelism_and_never_more_than_remaining_completions() {
        let plan = decide(&job(Some(3), 2, false), &[], now(), true);
        assert_eq!(plan.create.len(), 2);
        assert_eq!(plan.status.active, Some(2));
        let running = [pod("a", "Running", None, false)];
        let done = with_status(job(Some(3), 2, false), |s| s.succeeded = Some(2));
        let plan = decide(&done, &refs(&running), now(), true);
        assert!(plan.create.is_empty(), "one active pod covers the last completion");
        let plan = decide(&job(Some(3), 2, false), &[], now(), false);
        assert!(plan.create.is_empty(), "expectations not met: no creations");
    }

    #[test]
    fn finished_pods_are_recorded_uncounted_then_counted_once_released() {
        let j = job(Some(2), 2, false);
        let pods = [pod("a", "Succeeded", None, false), pod("b", "Running", None, false)];
        let plan = decide(&j, &refs(&pods), now(), true);
        let uncounted = plan.status.uncounted_terminated_pods.clone().unwrap();
        assert_eq!(uncounted.succeeded, Some(vec!["uid-a".to_string()]));
        assert_eq!(plan.status.succeeded, Some(0));
        assert_eq!(plan.release, vec!["a".to_string()]);
        assert!(plan.create.is_empty(), "1 succeeded + 1 active = 2 completions");

        // The cache still shows the finalizer: nothing moves, nothing is counted twice.
        let recorded =
            with_status(j.clone(), |s| s.uncounted_terminated_pods = plan.status.uncounted_terminated_pods.clone());
        let again = decide(&recorded, &refs(&pods), now(), true);
        assert_eq!(again.status.succeeded, Some(0));
        assert_eq!(again.status.uncounted_terminated_pods, plan.status.uncounted_terminated_pods);

        // Released: counted.
        let released = [pod("a", "Succeeded", None, true), pod("b", "Running", None, false)];
        let counted = decide(&recorded, &refs(&released), now(), true);
        assert_eq!(counted.status.succeeded, Some(1));
        assert_eq!(counted.status.uncounted_terminated_pods.unwrap().succeeded, None);
    }

    #[test]
    fn completes_through_success_criteria_met_then_complete() {
        let j = with_status(job(Some(2), 2, false), |s| s.succeeded = Some(1));
        let pods = [pod("a", "Succeeded", None, true), pod("b", "Succeeded", None, false)];
        let plan = decide(&j, &refs(&pods), now(), true);
        assert!(conditions::is_true(&plan.status, conditions::SUCCESS_CRITERIA_MET));
        assert!(!conditions::finished(&plan.status), "uncounted pods first");
        let recorded = with_status(j, |s| *s = plan.status.clone());
        let pods = [pod("a", "Succeeded", None, true), pod("b", "Succeeded", None, true)];
        let plan = decide(&recorded, &refs(&pods), now(), true);
        assert!(conditions::is_true(&plan.status, conditions::COMPLETE));
        assert_eq!(
            conditions::find(&plan.status, conditions::COMPLETE).unwrap().reason.as_deref(),
            Some("CompletionsReached")
        );
        assert_eq!(plan.status.succeeded, Some(2));
        assert!(plan.status.completion_time.is_some());
        assert_eq!(plan.events[0].reason, "Completed");
    }

    #[test]
    fn failures_past_the_backoff_limit_fail_the_job() {
        let mut j = job(Some(1), 1, false);
        j.spec.as_mut().unwrap().backoff_limit = Some(1);
        let j = with_status(j, |s| s.failed = Some(1));
        let pods = [pod("a", "Failed", None, true), pod("b", "Failed", None, false)];
        let plan = decide(&j, &refs(&pods), now(), true);
        let target = conditions::find(&plan.status, conditions::FAILURE_TARGET).unwrap();
        assert_eq!(target.reason.as_deref(), Some("BackoffLimitExceeded"));
        assert!(plan.create.is_empty());
        let recorded = with_status(j, |s| *s = plan.status.clone());
        let pods = [pod("a", "Failed", None, true), pod("b", "Failed", None, true)];
        let plan = decide(&recorded, &refs(&pods), now(), true);
        assert!(conditions::is_true(&plan.status, conditions::FAILED));
        assert_eq!(plan.status.failed, Some(2));
        assert!(plan.status.completion_time.is_none());
        assert_eq!((plan.events[0].warning, plan.events[0].reason.as_str()), (true, "BackoffLimitExceeded"));
    }

    #[test]
    fn a_failure_waits_out_the_backoff_before_a_new_pod() {
        // The failed pod finished 5 s ago: 10 s backoff, 5 s left.
        let j = with_status(job(Some(1), 1, false), |s| s.failed = Some(1));
        let pods = [pod("a", "Failed", None, true)];
        let plan = decide(&j, &refs(&pods), now(), true);
        assert!(plan.create.is_empty());
        assert_eq!(plan.requeue_after, Some(Duration::from_secs(5)));
        let later = now().checked_add(SignedDuration::from_secs(6)).unwrap();
        assert_eq!(decide(&j, &refs(&pods), later, true).create.len(), 1);
    }

    #[test]
    fn indexed_jobs_fill_the_lowest_free_indexes_and_report_completed_ones() {
        let j = with_status(job(Some(5), 2, true), |s| s.completed_indexes = Some("0".into()));
        let pods = [pod("a", "Running", Some(1), false), pod("b", "Succeeded", Some(2), false)];
        let plan = decide(&j, &refs(&pods), now(), true);
        assert_eq!(plan.status.completed_indexes.as_deref(), Some("0,2"));
        assert_eq!(plan.create, vec![NewPod { index: Some(3), index_failures: None }]);
        // Duplicates of an index: one is deleted.
        let dup = [pod("a", "Running", Some(1), false), pod("c", "Running", Some(1), false)];
        let plan = decide(&job(Some(5), 2, true), &refs(&dup), now(), true);
        assert_eq!(plan.delete.len(), 1);
        assert_eq!(plan.create, vec![NewPod { index: Some(0), index_failures: None }]);
    }

    #[test]
    fn backoff_limit_per_index_fails_indexes_and_then_the_job() {
        let mut j = job(Some(3), 3, true);
        let spec = j.spec.as_mut().unwrap();
        spec.backoff_limit_per_index = Some(0);
        spec.max_failed_indexes = Some(0);
        let pods = [pod("a", "Failed", Some(1), false)];
        let plan = decide(&j, &refs(&pods), now(), true);
        assert_eq!(plan.status.failed_indexes.as_deref(), Some("1"));
        let target = conditions::find(&plan.status, conditions::FAILURE_TARGET).unwrap();
        assert_eq!(target.reason.as_deref(), Some("MaxFailedIndexesExceeded"));
    }

    #[test]
    fn pod_failure_policy_fail_job_and_ignore() {
        let mut j = job(Some(1), 1, false);
        j.spec.as_mut().unwrap().pod_failure_policy = Some(PodFailurePolicy {
            rules: vec![PodFailurePolicyRule {
                action: "FailJob".into(),
                on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                    container_name: None,
                    operator: "In".into(),
                    values: vec![1],
                }),
                on_pod_conditions: None,
            }],
        });
        let pods = [pod("a", "Failed", None, false)];
        let plan = decide(&j, &refs(&pods), now(), true);
        let target = conditions::find(&plan.status, conditions::FAILURE_TARGET).unwrap();
        assert_eq!(target.reason.as_deref(), Some("PodFailurePolicy"));
        assert!(target.message.as_deref().unwrap().contains("exit code 1 matching FailJob rule at index 0"));

        j.spec.as_mut().unwrap().pod_failure_policy.as_mut().unwrap().rules[0].action = "Ignore".into();
        let plan = decide(&j, &refs(&pods), now(), true);
        assert_eq!(plan.status.uncounted_terminated_pods.unwrap().failed, None, "ignored failures are not counted");
        assert_eq!(plan.release, vec!["a".to_string()]);
        assert_eq!(plan.create.len(), 1, "replaced without backoff");
    }

    #[test]
    fn success_policy_ends_an_indexed_job_early_and_stops_the_rest() {
        let mut j = job(Some(4), 4, true);
        j.spec.as_mut().unwrap().success_policy = Some(SuccessPolicy {
            rules: vec![SuccessPolicyRule { succeeded_indexes: Some("0".into()), succeeded_count: None }],
        });
        let pods = [pod("a", "Succeeded", Some(0), false), pod("b", "Running", Some(1), false)];
        let plan = decide(&j, &refs(&pods), now(), true);
        let met = conditions::find(&plan.status, conditions::SUCCESS_CRITERIA_MET).unwrap();
        assert_eq!(met.reason.as_deref(), Some("SuccessPolicy"));
        assert_eq!(plan.delete, vec!["b".to_string()]);
        assert!(plan.create.is_empty());
    }

    #[test]
    fn active_deadline_fails_the_job_and_deletes_its_pods() {
        let mut j = job(Some(1), 1, false);
        j.spec.as_mut().unwrap().active_deadline_seconds = Some(60);
        let pods = [pod("a", "Running", None, false)];
        let plan = decide(&j, &refs(&pods), now(), true);
        let target = conditions::find(&plan.status, conditions::FAILURE_TARGET).unwrap();
        assert_eq!(target.reason.as_deref(), Some("DeadlineExceeded"));
        assert_eq!(plan.delete, vec!["a".to_string()]);
        assert!(!conditions::finished(&plan.status), "pods still running");
    }

    #[test]
    fn suspending_deletes_active_pods_without_counting_them_and_resuming_restarts() {
        let mut j = job(Some(2), 2, false);
        j.spec.as_mut().unwrap().suspend = Some(true);
        let pods = [pod("a", "Running", None, false)];
        let plan = decide(&j, &refs(&pods), now(), true);
        assert_eq!(plan.delete, vec!["a".to_string()]);
        assert_eq!(plan.release, vec!["a".to_string()]);
        let suspended = conditions::find(&plan.status, conditions::SUSPENDED).unwrap();
        assert_eq!((suspended.status.as_str(), suspended.reason.as_deref()), ("True", Some("JobSuspended")));
        assert_eq!(plan.status.uncounted_terminated_pods.clone().unwrap().failed, None);

        let mut resumed = with_status(j, |s| *s = plan.status.clone());
        resumed.spec.as_mut().unwrap().suspend = Some(false);
        let plan = decide(&resumed, &[], now(), true);
        assert_eq!(
            conditions::find(&plan.status, conditions::SUSPENDED).unwrap().reason.as_deref(),
            Some("JobResumed")
        );
        assert_eq!(plan.status.start_time, Some(Time(now())));
        assert_eq!(plan.create.len(), 2);
    }

    #[test]
    fn finished_jobs_only_release_their_pods() {
        let j = with_status(job(Some(1), 1, false), |s| {
            s.conditions =
                Some(vec![JobCondition { type_: "Complete".into(), status: "True".into(), ..Default::default() }]);
        });
        let pods = [pod("a", "Succeeded", None, false)];
        let plan = decide(&j, &refs(&pods), now(), true);
        assert_eq!(plan.release, vec!["a".to_string()]);
        assert_eq!(plan.status, j.status.clone().unwrap());
        assert!(plan.create.is_empty());
    }

    #[test]
    fn work_queue_jobs_complete_when_one_succeeded_and_none_run() {
        let j = with_status(job(None, 2, false), |s| s.succeeded = Some(1));
        let pods = [pod("a", "Succeeded", None, true), pod("b", "Running", None, false)];
        let plan = decide(&j, &refs(&pods), now(), true);
        assert!(plan.create.is_empty(), "no new pods after a success");
        assert!(!conditions::is_true(&plan.status, conditions::SUCCESS_CRITERIA_MET), "b still running");
        let pods = [pod("a", "Succeeded", None, true), pod("b", "Succeeded", None, true)];
        let plan = decide(&with_status(j, |s| s.succeeded = Some(2)), &refs(&pods), now(), true);
        assert!(conditions::is_true(&plan.status, conditions::COMPLETE));
    }
}
