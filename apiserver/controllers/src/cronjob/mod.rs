//! The CronJob controller (upstream's `cronjob-controller`, v2): creates Jobs on a cron
//! schedule in the CronJob's time zone.
//!
//! - [`schedule`] parses schedules and finds next and missed times (pure);
//! - [`decide`] is one sync as a pure function;
//! - this file reads the caches, writes through the API and requeues at the next activation.

pub mod decide;
pub mod schedule;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams, PropagationPolicy};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::Store;

use crate::events::Recorder;
use crate::{Context, Error, owners};

/// Annotation with the time a Job was scheduled for (RFC 3339, in the CronJob's zone).
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

struct State {
    ctx: Arc<Context>,
    jobs: Store<Job>,
    recorder: Recorder,
}

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let cronjobs = ctx.informers.get::<CronJob>();
    let jobs = ctx.informers.get::<Job>();
    let state =
        Arc::new(State { jobs: jobs.store(), recorder: ctx.events.recorder("cronjob-controller"), ctx: ctx.clone() });
    Controller::for_shared_stream(cronjobs.subscribe(), cronjobs.store())
        .owns_shared_stream(jobs.subscribe())
        .with_config(Config::default().concurrency(ctx.options.concurrency))
        .run(reconcile, error_policy, state)
        .for_each(|_| async {})
        .await;
    Ok(())
}

fn error_policy(_cronjob: Arc<CronJob>, err: &Error, _state: Arc<State>) -> Action {
    tracing::debug!(%err, "cronjob sync failed; retrying");
    Action::requeue(Duration::from_secs(1))
}

async fn reconcile(cronjob: Arc<CronJob>, state: Arc<State>) -> Result<Action, Error> {
    if cronjob.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let uid = cronjob.uid().unwrap_or_default();
    let namespace = cronjob.namespace().unwrap_or_default();
    let api: Api<Job> = Api::namespaced(state.ctx.client.clone(), &namespace);
    let mut jobs: Vec<Arc<Job>> = state
        .jobs
        .state()
        .into_iter()
        .filter(|j| j.metadata.namespace.as_deref() == Some(&namespace) && owners::is_controlled_by(&j.metadata, &uid))
        .collect();
    // An active Job missing from the cache may only be newer than it: ask the server.
    for reference in cronjob.status.iter().flat_map(|s| s.active.iter().flatten()) {
        if jobs.iter().any(|j| j.uid() == reference.uid) {
            continue;
        }
        if let Some(name) = &reference.name
            && let Some(job) = api.get_opt(name).await?
            && job.uid() == reference.uid
        {
            jobs.push(Arc::new(job));
        }
    }
    let owned: Vec<&Job> = jobs.iter().map(Arc::as_ref).collect();
    let plan = decide::decide(&cronjob, &owned, Timestamp::now());
    for event in &plan.events {
        record(&state.recorder, &cronjob, event.warning, event.reason, event.message.clone());
    }
    let mut status = plan.status.clone();
    for reference in &plan.replace {
        let Some(name) = &reference.name else { continue };
        delete_job(&api, name).await?;
        record(&state.recorder, &cronjob, false, "SuccessfulDelete", format!("Deleted job {name}"));
        if let Some(active) = status.active.as_mut() {
            active.retain(|r| r.uid != reference.uid);
        }
    }
    if let Some((name, scheduled)) = &plan.create {
        let job = job_for(&cronjob, name, *scheduled);
        let created = match api.create(&PostParams::default(), &job).await {
            Ok(job) => {
                record(&state.recorder, &cronjob, false, "SuccessfulCreate", format!("Created job {name}"));
                Some(job)
            }
            // Created by an earlier sync whose status write was lost: adopt it if it is ours.
            Err(kube::Error::Api(status)) if status.code == 409 => {
                api.get_opt(name).await?.filter(|j| owners::is_controlled_by(&j.metadata, &uid))
            }
            Err(err) => {
                record(&state.recorder, &cronjob, true, "FailedCreate", format!("Error creating job: {err}"));
                return Err(err.into());
            }
        };
        if let Some(job) = created {
            if decide::finished_type(&job).is_none() {
                status.active.get_or_insert_with(Vec::new).push(decide::reference(&job));
            }
            status.last_schedule_time = Some(Time(*scheduled));
        }
    }
    if cronjob.status.as_ref() != Some(&status) {
        let mut updated = (*cronjob).clone();
        updated.status = Some(status);
        let cronjobs: Api<CronJob> = Api::namespaced(state.ctx.client.clone(), &namespace);
        cronjobs.replace_status(&cronjob.name_any(), &PostParams::default(), &updated).await?;
    }
    for name in &plan.cleanup {
        delete_job(&api, name).await?;
        record(&state.recorder, &cronjob, false, "SuccessfulDelete", format!("Deleted job {name}"));
    }
    Ok(plan.requeue_after.map_or_else(Action::await_change, Action::requeue))
}

fn record(recorder: &Recorder, cronjob: &CronJob, warning: bool, reason: &str, message: String) {
    if warning {
        recorder.warning(cronjob, reason, message);
    } else {
        recorder.normal(cronjob, reason, message);
    }
}

async fn delete_job(api: &Api<Job>, name: &str) -> Result<(), Error> {
    let params = DeleteParams { propagation_policy: Some(PropagationPolicy::Background), ..DeleteParams::default() };
    match api.delete(name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// The Job for one activation: the template's labels, annotations and spec, the scheduled
/// time annotation, and the controller reference (upstream's `getJobFromTemplate2`).
pub fn job_for(cronjob: &CronJob, name: &str, scheduled: Timestamp) -> Job {
    let template = cronjob.spec.as_ref().map(|s| s.job_template.clone()).unwrap_or_default();
    let template_meta = template.metadata.unwrap_or_default();
    let mut annotations = template_meta.annotations.unwrap_or_default();
    let zone = decide::time_zone(cronjob).unwrap_or(jiff::tz::TimeZone::UTC);
    annotations.insert(SCHEDULED_TIMESTAMP.into(), rfc3339(scheduled, &zone));
    Job {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: cronjob.namespace(),
            labels: template_meta.labels,
            annotations: Some(annotations),
            owner_references: Some(vec![owners::controller_ref(cronjob)]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    }
}

/// Go's RFC 3339 layout: `Z` for a zero offset, `+hh:mm` otherwise.
fn rfc3339(at: Timestamp, zone: &jiff::tz::TimeZone) -> String {
    let zoned = at.to_zoned(zone.clone());
    if zoned.offset().seconds() == 0 {
        zoned.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}
