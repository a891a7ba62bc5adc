//! What the pod worker needs from a Pod object, extracted once per update so 30,000 pods do not
//! keep 30,000 full Pod objects in memory.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod};

use crate::runtime::PodUid;

/// Forces readiness off while `"false"` (tests flip it to move endpoints and rollouts).
pub const READY_ANNOTATION: &str = "kybernetes.io/ready";

/// The kubelet's default when the pod does not say (`terminationGracePeriodSeconds`).
const DEFAULT_GRACE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

impl RestartPolicy {
    /// Whether a container that exited with `exit_code` is started again.
    pub fn restarts(self, exit_code: i32) -> bool {
        match self {
            Self::Always => true,
            Self::OnFailure => exit_code != 0,
            Self::Never => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerFacts {
    pub name: Arc<str>,
    pub image: String,
    /// Ready this long after it starts (readinessProbe initialDelaySeconds); `None`: no probe,
    /// ready at once.
    pub readiness_delay: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodFacts {
    pub uid: PodUid,
    pub namespace: String,
    pub name: String,
    pub node: String,
    pub restart_policy: RestartPolicy,
    pub init_containers: Vec<ContainerFacts>,
    pub containers: Vec<ContainerFacts>,
    pub forced_not_ready: bool,
    /// The grace period of a delete (deletionGracePeriodSeconds, else the spec's).
    pub grace: Duration,
    pub deleting: bool,
    /// Phase as the API has it (Succeeded/Failed pods are not run again).
    pub phase: Option<String>,
    /// podIP as the API has it (kept across an agent restart when still free).
    pub pod_ip: Option<std::net::Ipv4Addr>,
}

impl PodFacts {
    /// `None` for pods the worker cannot run: no uid, no node, no spec.
    pub fn from_pod(pod: &Pod) -> Option<Self> {
        let spec = pod.spec.as_ref()?;
        let node = spec.node_name.clone().filter(|n| !n.is_empty())?;
        let restart_policy = match spec.restart_policy.as_deref() {
            Some("Never") => RestartPolicy::Never,
            Some("OnFailure") => RestartPolicy::OnFailure,
            _ => RestartPolicy::Always,
        };
        let seconds = |s: i64| Duration::from_secs(u64::try_from(s).unwrap_or(0));
        let grace = pod
            .metadata
            .deletion_grace_period_seconds
            .or(spec.termination_grace_period_seconds)
            .map_or(DEFAULT_GRACE, seconds);
        let status = pod.status.as_ref();
        Some(Self {
            uid: pod.metadata.uid.as_deref()?.into(),
            namespace: pod.metadata.namespace.clone().unwrap_or_else(|| "default".into()),
            name: pod.metadata.name.clone()?,
            node,
            restart_policy,
            init_containers: spec.init_containers.iter().flatten().map(container_facts).collect(),
            containers: spec.containers.iter().map(container_facts).collect(),
            forced_not_ready: pod
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(READY_ANNOTATION))
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("false")),
            grace,
            deleting: pod.metadata.deletion_timestamp.is_some(),
            phase: status.and_then(|s| s.phase.clone()),
            pod_ip: status.and_then(|s| s.pod_ip.as_deref()).and_then(|ip| ip.parse().ok()),
        })
    }

    pub fn is_terminal_in_api(&self) -> bool {
        matches!(self.phase.as_deref(), Some("Succeeded" | "Failed"))
    }
}

fn container_facts(container: &Container) -> ContainerFacts {
    ContainerFacts {
        name: container.name.as_str().into(),
        image: container.image.clone().unwrap_or_default(),
        readiness_delay: container.readiness_probe.as_ref().map(|probe| {
            Duration::from_secs(probe.initial_delay_seconds.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn extracts_policy_grace_readiness_and_annotation() {
        let facts = PodFacts::from_pod(&pod(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u", "annotations": {"kybernetes.io/ready": "false"},
                          "deletionTimestamp": "2026-01-01T00:00:00Z", "deletionGracePeriodSeconds": 5},
            "spec": {"nodeName": "n-0", "restartPolicy": "OnFailure", "terminationGracePeriodSeconds": 60,
                     "initContainers": [{"name": "i", "image": "busybox"}],
                     "containers": [{"name": "c", "image": "nginx", "readinessProbe": {"initialDelaySeconds": 3, "exec": {"command": ["true"]}}},
                                    {"name": "d", "image": "nginx"}]},
            "status": {"phase": "Running", "podIP": "10.128.0.9"},
        })))
        .unwrap();
        assert_eq!(facts.restart_policy, RestartPolicy::OnFailure);
        assert_eq!(facts.grace, Duration::from_secs(5));
        assert!(facts.deleting && facts.forced_not_ready);
        assert_eq!(facts.containers[0].readiness_delay, Some(Duration::from_secs(3)));
        assert_eq!(facts.containers[1].readiness_delay, None);
        assert_eq!(facts.init_containers[0].name.as_ref(), "i");
        assert_eq!(facts.pod_ip, Some("10.128.0.9".parse().unwrap()));
    }

    #[test]
    fn defaults_and_unrunnable_pods() {
        let facts = PodFacts::from_pod(&pod(json!({
            "metadata": {"name": "p", "uid": "u"}, "spec": {"nodeName": "n", "containers": [{"name": "c"}]},
        })))
        .unwrap();
        assert_eq!((facts.restart_policy, facts.grace), (RestartPolicy::Always, Duration::from_secs(30)));
        assert!(!facts.forced_not_ready && !facts.deleting);
        let unbound = pod(json!({"metadata": {"name": "p", "uid": "u"}, "spec": {"containers": [{"name": "c"}]}}));
        assert_eq!(PodFacts::from_pod(&unbound), None);
    }

    #[test]
    fn restart_policy_decides_restarts() {
        assert!(RestartPolicy::Always.restarts(0) && RestartPolicy::Always.restarts(1));
        assert!(!RestartPolicy::OnFailure.restarts(0) && RestartPolicy::OnFailure.restarts(1));
        assert!(!RestartPolicy::Never.restarts(1));
    }
}
