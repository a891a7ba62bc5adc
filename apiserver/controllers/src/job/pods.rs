//! What the Job controller reads from its pods: phase, tracking finalizer, completion index,
//! readiness, when a pod finished, and whether a deleted pod counts as failed.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

/// The finalizer that keeps a pod until the Job controller has counted it.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// Annotation and label with an Indexed Job pod's completion index.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
/// Annotation with the failures of an index before this pod (backoffLimitPerIndex).
pub const INDEX_FAILURE_COUNT: &str = "batch.kubernetes.io/job-index-failure-count";
/// Annotation with the failures of an index that a pod failure policy ignored.
pub const INDEX_IGNORED_FAILURE_COUNT: &str = "batch.kubernetes.io/job-index-ignored-failure-count";

pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Pending")
}

pub fn succeeded(pod: &Pod) -> bool {
    phase(pod) == "Succeeded"
}

pub fn terminal(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

pub fn deleting(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Pending or running and not being deleted.
pub fn active(pod: &Pod) -> bool {
    !terminal(pod) && !deleting(pod)
}

/// Being deleted but not finished yet (`status.terminating`).
pub fn terminating(pod: &Pod) -> bool {
    !terminal(pod) && deleting(pod)
}

pub fn has_tracking_finalizer(pod: &Pod) -> bool {
    pod.metadata.finalizers.iter().flatten().any(|f| f == TRACKING_FINALIZER)
}

pub fn ready(pod: &Pod) -> bool {
    condition(pod, "Ready").is_some_and(|c| c.status == "True")
}

pub fn condition<'a>(pod: &'a Pod, type_: &str) -> Option<&'a k8s_openapi::api::core::v1::PodCondition> {
    pod.status.as_ref()?.conditions.iter().flatten().find(|c| c.type_ == type_)
}

/// Whether a pod counts as failed (upstream's `isPodFailed`): the Failed phase; and, unless a
/// pod failure policy or the `Failed` replacement policy wants the real phase, a pod deleted
/// before it succeeded (an orphan may never reach a phase).
pub fn counts_as_failed(pod: &Pod, job: &Job) -> bool {
    if phase(pod) == "Failed" {
        return true;
    }
    let spec = job.spec.as_ref();
    let waits_for_phase =
        spec.is_some_and(|s| s.pod_failure_policy.is_some() || s.pod_replacement_policy.as_deref() == Some("Failed"));
    !waits_for_phase && deleting(pod) && !succeeded(pod)
}

/// The completion index of an Indexed Job's pod (annotation, else label), if valid.
pub fn completion_index(pod: &Pod, completions: u32) -> Option<u32> {
    let from = |map: Option<&std::collections::BTreeMap<String, String>>| {
        map.and_then(|m| m.get(COMPLETION_INDEX)).and_then(|v| v.parse::<u32>().ok())
    };
    from(pod.metadata.annotations.as_ref()).or_else(|| from(pod.metadata.labels.as_ref())).filter(|i| *i < completions)
}

pub fn annotation_count(pod: &Pod, key: &str) -> u32 {
    pod.metadata.annotations.as_ref().and_then(|a| a.get(key)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// When a pod finished: the latest container termination, else when it stopped being ready,
/// else its deletion, else its creation (upstream's `getFinishedTime`).
pub fn finish_time(pod: &Pod) -> Option<Timestamp> {
    let status = pod.status.as_ref();
    let terminated = status
        .into_iter()
        .flat_map(|s| s.container_statuses.iter().flatten())
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref())
        .map(|t| t.0)
        .max();
    terminated
        .or_else(|| {
            condition(pod, "Ready")
                .filter(|c| c.status != "True")
                .and_then(|c| c.last_transition_time.as_ref())
                .map(|t| t.0)
        })
        .or_else(|| pod.metadata.deletion_timestamp.as_ref().map(|t| t.0))
        .or_else(|| pod.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// Container restarts of a pod (restartPolicy OnFailure counts them against backoffLimit).
pub fn restarts(pod: &Pod) -> i64 {
    let status = pod.status.as_ref();
    status
        .into_iter()
        .flat_map(|s| s.container_statuses.iter().flatten().chain(s.init_container_statuses.iter().flatten()))
        .map(|c| i64::from(c.restart_count))
        .sum()
}
