//! Job conditions (upstream's types, reasons and messages) and the helpers that read and set
//! them. A Job first gets an interim condition (`SuccessCriteriaMet` or `FailureTarget`) and
//! the terminal one (`Complete` or `Failed`, same reason) only once its pods are all gone.

use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

pub const COMPLETE: &str = "Complete";
pub const FAILED: &str = "Failed";
pub const SUSPENDED: &str = "Suspended";
pub const FAILURE_TARGET: &str = "FailureTarget";
pub const SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";

/// Why a Job ends, with upstream's reason and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    pub success: bool,
    pub reason: String,
    pub message: String,
}

impl Ending {
    pub fn failure(reason: &str, message: impl Into<String>) -> Self {
        Self { success: false, reason: reason.into(), message: message.into() }
    }

    pub fn success(reason: &str, message: impl Into<String>) -> Self {
        Self { success: true, reason: reason.into(), message: message.into() }
    }

    pub fn backoff_limit_exceeded() -> Self {
        Self::failure("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    }

    pub fn deadline_exceeded() -> Self {
        Self::failure("DeadlineExceeded", "Job was active longer than specified deadline")
    }

    pub fn max_failed_indexes_exceeded() -> Self {
        Self::failure("MaxFailedIndexesExceeded", "Job has exceeded the specified maximal number of failed indexes")
    }

    pub fn failed_indexes() -> Self {
        Self::failure("FailedIndexes", "Job has failed indexes")
    }

    pub fn completions_reached() -> Self {
        Self::success("CompletionsReached", "Reached expected number of succeeded pods")
    }

    pub fn interim_type(&self) -> &'static str {
        if self.success { SUCCESS_CRITERIA_MET } else { FAILURE_TARGET }
    }

    pub fn terminal_type(&self) -> &'static str {
        if self.success { COMPLETE } else { FAILED }
    }
}

pub fn is_true(status: &JobStatus, type_: &str) -> bool {
    find(status, type_).is_some_and(|c| c.status == "True")
}

pub fn find<'a>(status: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    status.conditions.iter().flatten().find(|c| c.type_ == type_)
}

/// Whether the Job has finished (`Complete` or `Failed` is true).
pub fn finished(status: &JobStatus) -> bool {
    is_true(status, COMPLETE) || is_true(status, FAILED)
}

/// The interim ending already recorded, if any.
pub fn recorded_ending(status: &JobStatus) -> Option<Ending> {
    [(SUCCESS_CRITERIA_MET, true), (FAILURE_TARGET, false)].into_iter().find_map(|(type_, success)| {
        let c = find(status, type_).filter(|c| c.status == "True")?;
        Some(Ending {
            success,
            reason: c.reason.clone().unwrap_or_default(),
            message: c.message.clone().unwrap_or_default(),
        })
    })
}

/// Sets a condition; the transition time changes only when the status does.
pub fn set(status: &mut JobStatus, type_: &str, value: bool, reason: &str, message: &str, now: Timestamp) {
    let value = if value { "True" } else { "False" };
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let fresh = JobCondition {
        type_: type_.into(),
        status: value.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    };
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) if existing.status == value => {
            existing.reason = fresh.reason;
            existing.message = fresh.message;
        }
        Some(existing) => *existing = fresh,
        None => conditions.push(fresh),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_moves_only_when_the_status_changes() {
        let mut status = JobStatus::default();
        let t0: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let t1: Timestamp = "2025-01-01T00:01:00Z".parse().unwrap();
        set(&mut status, SUSPENDED, true, "JobSuspended", "Job suspended", t0);
        set(&mut status, SUSPENDED, true, "JobSuspended", "Job suspended", t1);
        assert_eq!(find(&status, SUSPENDED).unwrap().last_transition_time, Some(Time(t0)));
        set(&mut status, SUSPENDED, false, "JobResumed", "Job resumed", t1);
        let c = find(&status, SUSPENDED).unwrap();
        assert_eq!((c.status.as_str(), c.last_transition_time.clone()), ("False", Some(Time(t1))));
        assert!(!finished(&status));
        set(&mut status, FAILURE_TARGET, true, "DeadlineExceeded", "m", t1);
        assert_eq!(recorded_ending(&status), Some(Ending::failure("DeadlineExceeded", "m")));
    }
}
