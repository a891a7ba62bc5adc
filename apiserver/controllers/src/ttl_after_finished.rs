//! The TTL-after-finished controller (upstream's `ttl-after-finished-controller`): deletes a
//! finished Job `spec.ttlSecondsAfterFinished` seconds after it finished, with Background
//! propagation so the garbage collector removes its pods.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Preconditions, PropagationPolicy};
use kube::runtime::controller::{Action, Config, Controller};

use crate::job::conditions;
use crate::{Context, Error};

/// What to do with a Job now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No TTL, not finished, or already being deleted.
    Keep,
    /// Expires later: look again after this long.
    Wait(Duration),
    Delete,
}

/// When a finished Job expires (upstream's `timeLeft`): the finish time is the terminal
/// condition's transition time (else `completionTime`).
pub fn verdict(job: &Job, now: Timestamp) -> Verdict {
    let Some(ttl) = job.spec.as_ref().and_then(|s| s.ttl_seconds_after_finished) else { return Verdict::Keep };
    let Some(status) = job.status.as_ref() else { return Verdict::Keep };
    if job.metadata.deletion_timestamp.is_some() {
        return Verdict::Keep;
    }
    let terminal = [conditions::COMPLETE, conditions::FAILED]
        .into_iter()
        .filter_map(|t| conditions::find(status, t))
        .find(|c| c.status == "True");
    let Some(condition) = terminal else { return Verdict::Keep };
    let finished = condition.last_transition_time.as_ref().or(status.completion_time.as_ref()).map_or(now, |t| t.0);
    let expires = finished.checked_add(SignedDuration::from_secs(i64::from(ttl))).unwrap_or(finished);
    if expires <= now {
        Verdict::Delete
    } else {
        Verdict::Wait(Duration::try_from(expires.duration_since(now)).unwrap_or(Duration::ZERO))
    }
}

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let jobs = ctx.informers.get::<Job>();
    Controller::for_shared_stream(jobs.subscribe(), jobs.store())
        .with_config(Config::default().concurrency(ctx.options.concurrency))
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|_| async {})
        .await;
    Ok(())
}

fn error_policy(_job: Arc<Job>, err: &Error, _ctx: Arc<Context>) -> Action {
    tracing::debug!(%err, "ttl-after-finished failed; retrying");
    Action::requeue(Duration::from_secs(1))
}

async fn reconcile(job: Arc<Job>, ctx: Arc<Context>) -> Result<Action, Error> {
    match verdict(&job, Timestamp::now()) {
        Verdict::Keep => Ok(Action::await_change()),
        Verdict::Wait(left) => Ok(Action::requeue(left + Duration::from_millis(100))),
        Verdict::Delete => {
            let api: Api<Job> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
            let params = DeleteParams {
                propagation_policy: Some(PropagationPolicy::Background),
                // The Job we judged, not a newer one of the same name.
                preconditions: Some(Preconditions { uid: job.uid(), resource_version: None }),
                ..DeleteParams::default()
            };
            match api.delete(&job.name_any(), &params).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {}
                Err(err) => return Err(err.into()),
            }
            tracing::debug!(job = %job.name_any(), "deleted after its TTL");
            Ok(Action::await_change())
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::{JobCondition, JobSpec, JobStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    fn job(ttl: Option<i32>, finished_at: Option<&str>) -> Job {
        Job {
            spec: Some(JobSpec { ttl_seconds_after_finished: ttl, ..Default::default() }),
            status: Some(JobStatus {
                conditions: finished_at.map(|at| {
                    vec![JobCondition {
                        type_: "Complete".into(),
                        status: "True".into(),
                        last_transition_time: Some(Time(at.parse().unwrap())),
                        ..Default::default()
                    }]
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn finished_jobs_expire_ttl_seconds_after_finishing() {
        let now: Timestamp = "2025-01-01T00:01:00Z".parse().unwrap();
        assert_eq!(verdict(&job(Some(0), Some("2025-01-01T00:01:00Z")), now), Verdict::Delete);
        assert_eq!(verdict(&job(Some(100), Some("2025-01-01T00:00:00Z")), now), Verdict::Wait(Duration::from_secs(40)));
        assert_eq!(verdict(&job(Some(60), Some("2025-01-01T00:00:00Z")), now), Verdict::Delete);
        assert_eq!(verdict(&job(None, Some("2025-01-01T00:00:00Z")), now), Verdict::Keep);
        assert_eq!(verdict(&job(Some(0), None), now), Verdict::Keep, "a running job stays");
    }
}
