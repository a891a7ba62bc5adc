//! The Job controller (upstream's `job-controller`): runs pods to completion.
//!
//! - [`decide`] is one sync as a pure function (counts, conditions, pods to create/delete);
//! - [`pods`], [`indexes`], [`failure_policy`], [`backoff`], [`conditions`] are its vocabulary;
//! - [`expectations`] holds back a Job while our own writes are not yet in the cache;
//! - this file is the thin kube-runtime glue: read the caches, write through the API.

pub mod backoff;
pub mod conditions;
pub mod decide;
pub mod expectations;
pub mod failure_policy;
pub mod indexes;
pub mod pods;
mod template;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::Store;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::events::Recorder;
use crate::{Context, Error, owners};
use expectations::{Expectations, Seen};

/// Writes to the API in flight at once within one sync.
const WRITES_IN_FLIGHT: usize = 16;
/// Who manages Jobs unless `spec.managedBy` names someone else.
const MANAGER: &str = "kubernetes.io/job-controller";

struct State {
    ctx: Arc<Context>,
    pods: Store<Pod>,
    expectations: Expectations,
    recorder: Recorder,
}

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let jobs = ctx.informers.get::<Job>();
    let pods = ctx.informers.get::<Pod>();
    let state = Arc::new(State {
        pods: pods.store(),
        expectations: Expectations::default(),
        recorder: ctx.events.recorder("job-controller"),
        ctx: ctx.clone(),
    });
    Controller::for_shared_stream(jobs.subscribe(), jobs.store())
        .owns_shared_stream(pods.subscribe())
        .with_config(Config::default().concurrency(ctx.options.concurrency))
        .run(reconcile, error_policy, state)
        .for_each(|_| async {})
        .await;
    Ok(())
}

fn error_policy(_job: Arc<Job>, err: &Error, _state: Arc<State>) -> Action {
    tracing::debug!(%err, "job sync failed; retrying");
    Action::requeue(Duration::from_secs(1))
}

async fn reconcile(job: Arc<Job>, state: Arc<State>) -> Result<Action, Error> {
    let uid = job.uid().unwrap_or_default();
    let namespace = job.namespace().unwrap_or_default();
    if job.meta().deletion_timestamp.is_some()
        || job.spec.as_ref().and_then(|s| s.managed_by.as_deref()).is_some_and(|m| m != MANAGER)
    {
        state.expectations.forget(&uid);
        return Ok(Action::await_change());
    }
    let cached: Vec<Arc<Pod>> = state
        .pods
        .state()
        .into_iter()
        .filter(|p| p.metadata.namespace.as_deref() == Some(&namespace) && owners::is_controlled_by(&p.metadata, &uid))
        .collect();
    let seen = |name: &str| match cached.iter().find(|p| p.metadata.name.as_deref() == Some(name)) {
        None => Seen::Absent,
        Some(p) if pods::deleting(p) => Seen::Deleting,
        Some(_) => Seen::Present,
    };
    let may_manage = state.expectations.satisfied(&uid, seen, Instant::now());
    let plan = {
        let owned: Vec<&Pod> = cached.iter().map(Arc::as_ref).collect();
        decide::decide(&job, &owned, Timestamp::now(), may_manage)
    };

    let jobs: Api<Job> = Api::namespaced(state.ctx.client.clone(), &namespace);
    let pod_api: Api<Pod> = Api::namespaced(state.ctx.client.clone(), &namespace);
    // The status first: recorded counts must reach the server before finalizers go.
    if job.status.as_ref() != Some(&plan.status) {
        let mut updated = (*job).clone();
        updated.status = Some(plan.status.clone());
        jobs.replace_status(&job.name_any(), &PostParams::default(), &updated).await?;
    }
    for event in &plan.events {
        if event.warning {
            state.recorder.warning(job.as_ref(), &event.reason, event.message.clone());
        } else {
            state.recorder.normal(job.as_ref(), &event.reason, event.message.clone());
        }
    }
    let pick = |names: &[String]| -> Vec<Arc<Pod>> {
        cached.iter().filter(|p| p.metadata.name.as_ref().is_some_and(|n| names.contains(n))).cloned().collect()
    };
    let released: Vec<Result<(), kube::Error>> = futures::stream::iter(pick(&plan.release))
        .map(|pod| {
            let api = pod_api.clone();
            async move { release(&api, &pod).await }
        })
        .buffer_unordered(WRITES_IN_FLIGHT)
        .collect()
        .await;
    released.into_iter().collect::<Result<Vec<()>, _>>()?;

    state.expectations.expect(&uid, [], plan.delete.iter().cloned());
    let deleted: Vec<(String, Result<(), kube::Error>)> = futures::stream::iter(pick(&plan.delete))
        .map(|pod| {
            let api = pod_api.clone();
            async move { delete_pod(&api, &pod).await }
        })
        .buffer_unordered(WRITES_IN_FLIGHT)
        .collect()
        .await;
    for (name, result) in deleted {
        match result {
            Ok(()) => state.recorder.normal(job.as_ref(), "SuccessfulDelete", format!("Deleted pod: {name}")),
            Err(err) => state.recorder.warning(job.as_ref(), "FailedDelete", format!("Error deleting: {err}")),
        }
    }

    let new_pods: Vec<Pod> = plan.create.iter().map(|new| template::pod_for(&job, new)).collect();
    let created: Vec<Result<Pod, kube::Error>> = futures::stream::iter(new_pods)
        .map(|pod| {
            let api = pod_api.clone();
            async move { api.create(&PostParams::default(), &pod).await }
        })
        .buffer_unordered(WRITES_IN_FLIGHT)
        .collect()
        .await;
    let mut failed_create = None;
    let mut names = Vec::new();
    for result in created {
        match result {
            Ok(pod) => {
                let name = pod.name_any();
                state.recorder.normal(job.as_ref(), "SuccessfulCreate", format!("Created pod: {name}"));
                names.push(name);
            }
            Err(err) => {
                state.recorder.warning(job.as_ref(), "FailedCreate", format!("Error creating: {err}"));
                failed_create = Some(err);
            }
        }
    }
    state.expectations.expect(&uid, names, []);
    if let Some(err) = failed_create {
        return Err(err.into());
    }
    Ok(plan.requeue_after.map_or_else(Action::await_change, Action::requeue))
}

/// Removes the tracking finalizer: a merge patch of the remaining finalizers, guarded by the
/// cached resourceVersion so a finalizer added meanwhile is never dropped (a conflict retries).
async fn release(api: &Api<Pod>, pod: &Pod) -> Result<(), kube::Error> {
    if !pods::has_tracking_finalizer(pod) {
        return Ok(());
    }
    let kept: Vec<&String> =
        pod.metadata.finalizers.iter().flatten().filter(|f| *f != pods::TRACKING_FINALIZER).collect();
    let patch = json!({"metadata": {"finalizers": kept, "resourceVersion": pod.resource_version()}});
    match api.patch(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(err) => Err(err),
    }
}

async fn delete_pod(api: &Api<Pod>, pod: &Pod) -> (String, Result<(), kube::Error>) {
    let name = pod.name_any();
    let params = DeleteParams {
        preconditions: Some(Preconditions { uid: pod.uid(), resource_version: None }),
        ..DeleteParams::default()
    };
    let result = match api.delete(&name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(err) => Err(err),
    };
    (name, result)
}
