//! One CronJob sync as a pure function (upstream's `syncCronJob`): reconcile `status.active`
//! with the Jobs that exist, decide whether a Job is due now, what concurrencyPolicy makes of
//! it, which finished Jobs fall out of the history limits, and when to look again.

use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use super::schedule::{self, Schedule};
use crate::job::conditions;

/// Missed activations above which upstream warns (`TooManyMissedTimes`).
pub const TOO_MANY_MISSED: u64 = 100;

/// An event about the CronJob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronEvent {
    pub warning: bool,
    pub reason: &'static str,
    pub message: String,
}

/// What one sync does.
#[derive(Debug, Default)]
pub struct CronPlan {
    /// Status after reconciling the active list (a created Job is added by the caller).
    pub status: CronJobStatus,
    /// A Job to create: its name and scheduled time.
    pub create: Option<(String, Timestamp)>,
    /// Active Jobs to delete first (concurrencyPolicy Replace).
    pub replace: Vec<ObjectReference>,
    /// Finished Jobs beyond the history limits.
    pub cleanup: Vec<String>,
    pub events: Vec<CronEvent>,
    pub requeue_after: Option<Duration>,
}

/// `<cronjob>-<scheduled time in minutes since the epoch>`, as upstream names Jobs.
pub fn job_name(cronjob: &str, scheduled: Timestamp) -> String {
    format!("{cronjob}-{}", scheduled.as_second().div_euclid(60))
}

/// The CronJob's time zone: `spec.timeZone`, else the controller's local zone.
pub fn time_zone(cronjob: &CronJob) -> Result<TimeZone, String> {
    match cronjob.spec.as_ref().and_then(|s| s.time_zone.as_deref()) {
        Some(name) => TimeZone::get(name).map_err(|e| e.to_string()),
        None => Ok(TimeZone::system()),
    }
}

/// `jobs` are the Jobs this CronJob controls (from the cache, plus active ones confirmed by
/// a direct read).
pub fn decide(cronjob: &CronJob, jobs: &[&Job], now: Timestamp) -> CronPlan {
    let spec = cronjob.spec.clone().unwrap_or_default();
    let mut plan = CronPlan { status: cronjob.status.clone().unwrap_or_default(), ..Default::default() };
    reconcile_active(jobs, &mut plan);
    plan.cleanup = over_history_limits(jobs, spec.successful_jobs_history_limit, spec.failed_jobs_history_limit);

    let tz = match time_zone(cronjob) {
        Ok(tz) => tz,
        Err(err) => {
            let zone = spec.time_zone.unwrap_or_default();
            plan.events.push(warning("UnknownTimeZone", format!("invalid timeZone: {zone:?}: {err}")));
            return plan;
        }
    };
    let schedule = match Schedule::parse(&spec.schedule) {
        Ok(s) => s,
        Err(err) => {
            plan.events.push(warning("InvalidSchedule", format!("invalid schedule: {} : {err}", spec.schedule)));
            return plan;
        }
    };
    if spec.suspend == Some(true) {
        return plan;
    }
    if let Some(next) = schedule.next(now, &tz) {
        let wait = Duration::try_from(next.duration_since(now)).unwrap_or(Duration::ZERO);
        plan.requeue_after = Some(wait + Duration::from_millis(100));
    }
    let created = cronjob.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0);
    let mut earliest = plan.status.last_schedule_time.as_ref().map_or(created, |t| t.0);
    if let Some(deadline) = spec.starting_deadline_seconds {
        earliest = earliest.max(now.checked_sub(SignedDuration::from_secs(deadline)).unwrap_or(earliest));
    }
    let Some(missed) = schedule::missed(&schedule, earliest, now, &tz) else { return plan };
    if missed.count > TOO_MANY_MISSED {
        plan.events.push(warning(
            "TooManyMissedTimes",
            format!(
                "too many missed start times: {}. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
                missed.count
            ),
        ));
    }
    let scheduled = missed.most_recent;
    if let Some(deadline) = spec.starting_deadline_seconds
        && scheduled.checked_add(SignedDuration::from_secs(deadline)).is_ok_and(|latest| latest < now)
    {
        let when = scheduled.to_zoned(tz).strftime("%a, %d %b %Y %H:%M:%S %z").to_string();
        plan.events.push(warning("MissSchedule", format!("Missed scheduled time to start a job: {when}")));
        return plan;
    }
    let name = job_name(&cronjob.name_any(), scheduled);
    let active = plan.status.active.clone().unwrap_or_default();
    let done_already = active.iter().any(|r| r.name.as_deref() == Some(&name))
        || plan.status.last_schedule_time.as_ref().is_some_and(|t| t.0 == scheduled);
    if done_already {
        return plan;
    }
    match spec.concurrency_policy.as_deref() {
        Some("Forbid") if !active.is_empty() => {
            plan.events.push(CronEvent {
                warning: false,
                reason: "JobAlreadyActive",
                message: "Not starting job because prior execution is running and concurrency policy is Forbid".into(),
            });
            return plan;
        }
        Some("Replace") => plan.replace = active,
        _ => {}
    }
    plan.create = Some((name, scheduled));
    plan
}

/// Drops finished and vanished Jobs from `status.active` and tracks the last success.
fn reconcile_active(jobs: &[&Job], plan: &mut CronPlan) {
    let status = &mut plan.status;
    let mut active = status.active.take().unwrap_or_default();
    active.retain(|reference| {
        let job = jobs.iter().find(|j| j.uid().is_some() && j.uid() == reference.uid);
        match job {
            None => {
                let name = reference.name.clone().unwrap_or_default();
                plan.events.push(CronEvent {
                    warning: false,
                    reason: "MissingJob",
                    message: format!("Active job went missing: {name}"),
                });
                false
            }
            Some(job) => match finished_type(job) {
                Some(condition) => {
                    plan.events.push(CronEvent {
                        warning: false,
                        reason: "SawCompletedJob",
                        message: format!("Saw completed job: {}, condition: {condition}", job.name_any()),
                    });
                    false
                }
                None => true,
            },
        }
    });
    for job in jobs {
        let in_active = active.iter().any(|r| r.uid.is_some() && r.uid == job.uid());
        if !in_active && finished_type(job).is_none() {
            plan.events.push(warning(
                "UnexpectedJob",
                format!("Saw a job that the controller did not create or forgot: {}", job.name_any()),
            ));
        }
        if finished_type(job) == Some(conditions::COMPLETE)
            && let Some(done) = job.status.as_ref().and_then(|s| s.completion_time.as_ref())
            && status.last_successful_time.as_ref().is_none_or(|last| last.0 < done.0)
        {
            status.last_successful_time = Some(Time(done.0));
        }
    }
    status.active = (!active.is_empty()).then_some(active);
}

/// Finished Jobs to delete, oldest first, beyond `successful` and `failed` kept ones.
pub fn over_history_limits(jobs: &[&Job], successful: Option<i32>, failed: Option<i32>) -> Vec<String> {
    let mut doomed = Vec::new();
    for (kind, limit) in [(conditions::COMPLETE, successful), (conditions::FAILED, failed)] {
        let Some(limit) = limit else { continue };
        let mut finished: Vec<&&Job> = jobs.iter().filter(|j| finished_type(j) == Some(kind)).collect();
        finished.sort_by_key(|j| {
            let start = j.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0);
            (start.is_some(), start, j.metadata.creation_timestamp.as_ref().map(|t| t.0), j.name_any())
        });
        let excess = finished.len().saturating_sub(usize::try_from(limit).unwrap_or(0));
        doomed.extend(finished.iter().take(excess).map(|j| j.name_any()));
    }
    doomed
}

/// `Complete` or `Failed` when the Job has finished.
pub fn finished_type(job: &Job) -> Option<&'static str> {
    let status = job.status.as_ref()?;
    [conditions::COMPLETE, conditions::FAILED].into_iter().find(|t| conditions::is_true(status, t))
}

/// The reference `status.active` holds for a Job.
pub fn reference(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        field_path: None,
    }
}

fn warning(reason: &'static str, message: String) -> CronEvent {
    CronEvent { warning: true, reason, message }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::{CronJobSpec, JobCondition, JobStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn cronjob(schedule: &str, policy: &str) -> CronJob {
        CronJob {
            metadata: ObjectMeta {
                name: Some("cj".into()),
                namespace: Some("ns".into()),
                uid: Some("cju".into()),
                creation_timestamp: Some(Time(ts("2025-03-01T09:00:00Z"))),
                ..Default::default()
            },
            spec: Some(CronJobSpec {
                schedule: schedule.into(),
                time_zone: Some("UTC".into()),
                concurrency_policy: Some(policy.into()),
                successful_jobs_history_limit: Some(3),
                failed_jobs_history_limit: Some(1),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn finished_job(name: &str, condition: Option<&str>, started: &str) -> Job {
        Job {
            metadata: ObjectMeta { name: Some(name.into()), uid: Some(format!("u-{name}")), ..Default::default() },
            spec: None,
            status: Some(JobStatus {
                start_time: Some(Time(ts(started))),
                completion_time: (condition == Some("Complete")).then(|| Time(ts(started))),
                conditions: condition
                    .map(|c| vec![JobCondition { type_: c.into(), status: "True".into(), ..Default::default() }]),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn the_latest_missed_time_is_run_once_named_in_minutes() {
        let cj = cronjob("*/5 * * * *", "Allow");
        let plan = decide(&cj, &[], ts("2025-03-01T09:12:30Z"));
        let scheduled = ts("2025-03-01T09:10:00Z");
        assert_eq!(plan.create, Some((format!("cj-{}", scheduled.as_second() / 60), scheduled)));
        assert_eq!(plan.requeue_after, Some(Duration::from_millis(150_100)));
        // Already scheduled at that time: nothing more.
        let mut done = cj.clone();
        done.status = Some(CronJobStatus { last_schedule_time: Some(Time(scheduled)), ..Default::default() });
        assert_eq!(decide(&done, &[], ts("2025-03-01T09:12:30Z")).create, None);
    }

    #[test]
    fn concurrency_policies() {
        let running = finished_job("cj-1", None, "2025-03-01T09:05:00Z");
        let active = Some(CronJobStatus { active: Some(vec![reference(&running)]), ..Default::default() });
        let mut forbid = cronjob("*/5 * * * *", "Forbid");
        forbid.status = active.clone();
        let plan = decide(&forbid, &[&running], ts("2025-03-01T09:12:30Z"));
        assert_eq!(plan.create, None);
        assert_eq!(plan.events.last().unwrap().reason, "JobAlreadyActive");
        let mut replace = cronjob("*/5 * * * *", "Replace");
        replace.status = active;
        let plan = decide(&replace, &[&running], ts("2025-03-01T09:12:30Z"));
        assert!(plan.create.is_some());
        assert_eq!(plan.replace.len(), 1);
    }

    #[test]
    fn finished_and_missing_jobs_leave_the_active_list() {
        let done = finished_job("cj-1", Some("Complete"), "2025-03-01T09:05:00Z");
        let gone = finished_job("cj-2", None, "2025-03-01T09:06:00Z");
        let mut cj = cronjob("@hourly", "Allow");
        cj.spec.as_mut().unwrap().suspend = Some(true);
        cj.status =
            Some(CronJobStatus { active: Some(vec![reference(&done), reference(&gone)]), ..Default::default() });
        let plan = decide(&cj, &[&done], ts("2025-03-01T09:12:30Z"));
        assert_eq!(plan.status.active, None);
        assert_eq!(plan.status.last_successful_time, Some(Time(ts("2025-03-01T09:05:00Z"))));
        let reasons: Vec<&str> = plan.events.iter().map(|e| e.reason).collect();
        assert_eq!(reasons, vec!["SawCompletedJob", "MissingJob"]);
        assert_eq!(plan.create, None, "suspended");
    }

    #[test]
    fn history_limits_delete_the_oldest_finished_jobs() {
        let jobs = [
            finished_job("ok-1", Some("Complete"), "2025-03-01T01:00:00Z"),
            finished_job("ok-2", Some("Complete"), "2025-03-01T02:00:00Z"),
            finished_job("ok-3", Some("Complete"), "2025-03-01T03:00:00Z"),
            finished_job("bad-1", Some("Failed"), "2025-03-01T01:30:00Z"),
            finished_job("bad-2", Some("Failed"), "2025-03-01T02:30:00Z"),
            finished_job("running", None, "2025-03-01T00:00:00Z"),
        ];
        let refs: Vec<&Job> = jobs.iter().collect();
        assert_eq!(over_history_limits(&refs, Some(2), Some(1)), vec!["ok-1".to_string(), "bad-1".to_string()]);
        assert_eq!(over_history_limits(&refs, Some(0), None), vec!["ok-1", "ok-2", "ok-3"]);
    }

    #[test]
    fn too_many_missed_times_and_starting_deadline() {
        let cj = cronjob("* * * * *", "Allow");
        let plan = decide(&cj, &[], ts("2025-03-01T12:00:30Z"));
        assert_eq!(plan.events[0].reason, "TooManyMissedTimes");
        assert_eq!(plan.create.as_ref().map(|c| c.1), Some(ts("2025-03-01T12:00:00Z")));
        let mut bounded = cj.clone();
        bounded.spec.as_mut().unwrap().starting_deadline_seconds = Some(120);
        let plan = decide(&bounded, &[], ts("2025-03-01T12:00:30Z"));
        assert!(plan.events.is_empty(), "only the last two minutes are considered");
        assert!(plan.create.is_some());
    }

    #[test]
    fn bad_zones_and_schedules_are_reported() {
        let mut cj = cronjob("* * * * *", "Allow");
        cj.spec.as_mut().unwrap().time_zone = Some("Mars/Olympus".into());
        assert_eq!(decide(&cj, &[], ts("2025-03-01T12:00:30Z")).events[0].reason, "UnknownTimeZone");
        let cj = cronjob("61 * * * *", "Allow");
        assert_eq!(decide(&cj, &[], ts("2025-03-01T12:00:30Z")).events[0].reason, "InvalidSchedule");
    }

    #[test]
    fn jobs_carry_the_scheduled_time_in_the_cronjobs_zone() {
        let mut cj = cronjob("0 9 * * *", "Allow");
        cj.spec.as_mut().unwrap().time_zone = Some("Europe/Paris".into());
        let job = super::super::job_for(&cj, "cj-1", ts("2025-03-01T08:00:00Z"));
        let annotations = job.metadata.annotations.unwrap();
        assert_eq!(annotations[super::super::SCHEDULED_TIMESTAMP], "2025-03-01T09:00:00+01:00");
        assert_eq!(job.metadata.owner_references.unwrap()[0].kind, "CronJob");
    }
}
