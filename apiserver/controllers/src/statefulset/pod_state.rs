//! What a controller needs to know of a pod's state (upstream's `podutil` helpers): running
//! and ready, available for `minReadySeconds`, finished, being deleted. Shared by the
//! StatefulSet and DaemonSet controllers.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

/// The pod's phase (`""` when the API server has not set one).
pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

/// Failed or Succeeded: its containers will not run again.
pub fn is_finished(pod: &Pod) -> bool {
    matches!(phase(pod), "Failed" | "Succeeded")
}

pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// When the Ready condition became True, if it is True.
pub fn ready_since(pod: &Pod) -> Option<Option<Timestamp>> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    let ready = conditions.iter().find(|c| c.type_ == "Ready")?;
    (ready.status == "True").then(|| ready.last_transition_time.as_ref().map(|t| t.0))
}

/// Running with the Ready condition True.
pub fn is_running_and_ready(pod: &Pod) -> bool {
    phase(pod) == "Running" && ready_since(pod).is_some()
}

/// Ready for at least `min_ready_seconds` by `now` (a Ready condition without a transition time
/// counts as available, as upstream).
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(None) => true,
        Some(Some(since)) => since.as_second() + i64::from(min_ready_seconds) <= now.as_second(),
    }
}

/// How long until a ready pod becomes available (`None` when it is not ready or already is).
pub fn until_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> Option<std::time::Duration> {
    let since = ready_since(pod)??;
    let due = since.as_second() + i64::from(min_ready_seconds);
    let left = due - now.as_second();
    (min_ready_seconds > 0 && left > 0).then(|| std::time::Duration::from_secs(u64::try_from(left).unwrap_or(0)))
}

#[cfg(test)]
pub(crate) mod testing {
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    /// A pod in `phase`, Ready since `ready_at` when given.
    pub fn pod(phase: &str, ready_at: Option<Timestamp>) -> Pod {
        let conditions = ready_at.map(|at| {
            vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(Time(at)),
                ..Default::default()
            }]
        });
        Pod {
            status: Some(PodStatus { phase: Some(phase.into()), conditions, ..Default::default() }),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::pod;
    use super::*;

    #[test]
    fn availability_waits_for_min_ready_seconds() {
        let now = Timestamp::from_second(1_000).unwrap();
        let ready = pod("Running", Some(Timestamp::from_second(995).unwrap()));
        assert!(is_running_and_ready(&ready));
        assert!(is_available(&ready, 0, now));
        assert!(is_available(&ready, 5, now));
        assert!(!is_available(&ready, 10, now));
        assert_eq!(until_available(&ready, 10, now), Some(std::time::Duration::from_secs(5)));
        assert!(!is_running_and_ready(&pod("Pending", None)));
        assert!(!is_available(&pod("Running", None), 0, now));
        assert!(is_finished(&pod("Failed", None)));
    }
}
