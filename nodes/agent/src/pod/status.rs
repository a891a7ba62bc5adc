//! The pod status the kubelet would report for a lifecycle state: phase, IPs, start time, the
//! five conditions and per-container statuses. Pure; `ConditionClock` remembers when each
//! condition last changed so lastTransitionTime only moves on a change.

use std::net::Ipv4Addr;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::lifecycle::{ContainerRecord, ContainerState, PodLifecycle, Stage, Termination};
use crate::time::rfc3339;

const CONDITIONS: [&str; 5] = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"];

/// Last status and transition time of each pod condition (in `CONDITIONS` order).
#[derive(Debug, Clone, Default)]
pub struct ConditionClock {
    last: [Option<(bool, Timestamp)>; 5],
}

impl ConditionClock {
    /// The transition time of condition `index` now at `status`.
    fn transition(&mut self, index: usize, status: bool, now: Timestamp) -> Timestamp {
        match self.last[index] {
            Some((previous, since)) if previous == status => since,
            _ => {
                self.last[index] = Some((status, now));
                now
            }
        }
    }
}

/// The `status` of the pod, for a merge patch of `pods/status` (lists are replaced whole).
pub fn pod_status(pod: &PodLifecycle, clock: &mut ConditionClock, host_ip: Ipv4Addr, now: Timestamp) -> Value {
    let forced = pod.facts.forced_not_ready;
    let phase = pod.phase();
    let unready: Vec<&str> =
        pod.containers.iter().filter(|c| !c.is_ready(forced, now)).map(|c| c.facts.name.as_ref()).collect();
    let incomplete = pod.incomplete_init();
    let sandbox = pod.pod_ip.is_some() && pod.stage != Stage::Stopped;
    let list = |names: &[&str]| format!("[{}]", names.join(" "));

    let ready_reason = if phase == "Succeeded" {
        Some(("PodCompleted", String::new()))
    } else {
        (!unready.is_empty())
            .then(|| ("ContainersNotReady", format!("containers with unready status: {}", list(&unready))))
    };
    let init_reason = (!incomplete.is_empty())
        .then(|| ("ContainersNotInitialized", format!("containers with incomplete status: {}", list(&incomplete))));
    let states: [(bool, Option<(&str, String)>); 5] = [
        (sandbox, None),
        (incomplete.is_empty(), init_reason),
        (ready_reason.is_none(), ready_reason.clone()),
        (ready_reason.is_none(), ready_reason),
        (true, None),
    ];
    let conditions: Vec<Value> = CONDITIONS
        .iter()
        .zip(states)
        .enumerate()
        .map(|(i, (kind, (status, reason)))| {
            let mut condition = json!({
                "type": kind,
                "status": if status { "True" } else { "False" },
                "lastProbeTime": null,
                "lastTransitionTime": rfc3339(clock.transition(i, status, now)),
            });
            if let Some((reason, message)) = reason.filter(|_| !status) {
                condition["reason"] = json!(reason);
                if !message.is_empty() {
                    condition["message"] = json!(message);
                }
            }
            condition
        })
        .collect();

    let mut status = json!({
        "phase": phase,
        "conditions": conditions,
        "hostIP": host_ip.to_string(),
        "hostIPs": [{"ip": host_ip.to_string()}],
        "startTime": rfc3339(pod.start_time),
        "containerStatuses": pod.containers.iter().map(|c| container_status(pod, c, forced, now)).collect::<Vec<_>>(),
    });
    if !pod.init.is_empty() {
        status["initContainerStatuses"] =
            pod.init.iter().map(|c| container_status(pod, c, forced, now)).collect::<Vec<_>>().into();
    }
    if let Some(ip) = pod.pod_ip {
        status["podIP"] = json!(ip.to_string());
        status["podIPs"] = json!([{"ip": ip.to_string()}]);
    }
    status
}

fn container_status(pod: &PodLifecycle, record: &ContainerRecord, forced: bool, now: Timestamp) -> Value {
    let container_id = |attempt: u32| format!("simulated://{}-{}-{attempt}", pod.facts.uid, record.facts.name);
    let has_run = !matches!(record.state, ContainerState::Waiting { .. }) || record.last_termination.is_some();
    let state = match &record.state {
        ContainerState::Waiting { reason, message } => {
            let mut waiting = json!({"reason": reason});
            if let Some(message) = message {
                waiting["message"] = json!(message);
            }
            json!({"waiting": waiting})
        }
        ContainerState::Running { started_at } => json!({"running": {"startedAt": rfc3339(*started_at)}}),
        ContainerState::Terminated(t) => json!({"terminated": terminated(t, container_id(record.attempt))}),
    };
    let last_state = match record.last_termination {
        Some(t) => {
            // Backing off, the last run is the current attempt; once restarted, the previous one.
            let backing_off = matches!(record.state, ContainerState::Waiting { reason: "CrashLoopBackOff", .. });
            let attempt = if backing_off { record.attempt } else { record.attempt.saturating_sub(1) };
            json!({"terminated": terminated(&t, container_id(attempt))})
        }
        None => json!({}),
    };
    let mut status = json!({
        "name": record.facts.name.as_ref(),
        "image": record.facts.image,
        "imageID": if has_run { format!("simulated://{}", record.facts.image) } else { String::new() },
        "ready": record.is_ready(forced, now),
        "restartCount": record.restart_count,
        "started": record.is_running(),
        "state": state,
        "lastState": last_state,
    });
    if has_run {
        status["containerID"] = json!(container_id(record.attempt));
    }
    status
}

fn terminated(t: &Termination, container_id: String) -> Value {
    json!({
        "exitCode": t.exit_code,
        "reason": if t.exit_code == 0 { "Completed" } else { "Error" },
        "startedAt": rfc3339(t.started_at),
        "finishedAt": rfc3339(t.finished_at),
        "containerID": container_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::facts::{ContainerFacts, PodFacts, RestartPolicy};
    use std::time::Duration;

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn pod(policy: RestartPolicy, init: bool) -> PodLifecycle {
        let c = |name: &str| ContainerFacts { name: name.into(), image: "nginx".into(), readiness_delay: None };
        let facts = PodFacts {
            uid: "u".into(),
            namespace: "ns".into(),
            name: "p".into(),
            node: "n".into(),
            restart_policy: policy,
            init_containers: if init { vec![c("setup")] } else { vec![] },
            containers: vec![c("app")],
            forced_not_ready: false,
            grace: Duration::from_secs(30),
            deleting: false,
            phase: None,
            pod_ip: None,
        };
        PodLifecycle::admit(facts, t(0)).0
    }

    fn condition<'a>(status: &'a Value, kind: &str) -> &'a Value {
        status["conditions"].as_array().unwrap().iter().find(|c| c["type"] == kind).unwrap()
    }

    const HOST: Ipv4Addr = Ipv4Addr::new(10, 64, 0, 1);

    #[test]
    fn creating_pod_reports_pending_container_creating_without_pod_ip() {
        let pod = pod(RestartPolicy::Always, false);
        let status = pod_status(&pod, &mut ConditionClock::default(), HOST, t(0));
        assert_eq!(status["phase"], "Pending");
        assert_eq!(status["hostIP"], "10.64.0.1");
        assert_eq!(status["hostIPs"], json!([{"ip": "10.64.0.1"}]));
        assert!(status.get("podIP").is_none());
        let c = &status["containerStatuses"][0];
        assert_eq!(c["state"], json!({"waiting": {"reason": "ContainerCreating"}}));
        assert_eq!(
            (&c["ready"], &c["restartCount"], &c["started"], &c["imageID"]),
            (&json!(false), &json!(0), &json!(false), &json!(""))
        );
        assert_eq!(condition(&status, "PodScheduled")["status"], "True");
        assert_eq!(condition(&status, "PodReadyToStartContainers")["status"], "False");
        assert_eq!(condition(&status, "Initialized")["status"], "True");
        let ready = condition(&status, "Ready");
        assert_eq!((&ready["status"], &ready["reason"]), (&json!("False"), &json!("ContainersNotReady")));
        assert_eq!(ready["message"], "containers with unready status: [app]");
    }

    #[test]
    fn running_pod_reports_ip_ready_and_transition_times_that_move_only_on_change() {
        let mut pod = pod(RestartPolicy::Always, false);
        let mut clock = ConditionClock::default();
        pod_status(&pod, &mut clock, HOST, t(0));
        pod.sandbox_ready(Ipv4Addr::new(10, 128, 0, 2), t(1));
        pod.started("app", 0, t(2));
        let status = pod_status(&pod, &mut clock, HOST, t(2));
        assert_eq!(status["phase"], "Running");
        assert_eq!(status["podIP"], "10.128.0.2");
        assert_eq!(status["podIPs"], json!([{"ip": "10.128.0.2"}]));
        let c = &status["containerStatuses"][0];
        assert_eq!(c["state"]["running"]["startedAt"], rfc3339(t(2)));
        assert_eq!((&c["ready"], &c["started"]), (&json!(true), &json!(true)));
        assert_eq!(c["containerID"], "simulated://u-app-0");
        let ready = condition(&status, "Ready");
        assert_eq!((&ready["status"], &ready["lastTransitionTime"]), (&json!("True"), &json!(rfc3339(t(2)))));
        assert!(ready.get("reason").is_none());
        assert_eq!(condition(&status, "PodScheduled")["lastTransitionTime"], rfc3339(t(0)));
        let later = pod_status(&pod, &mut clock, HOST, t(9));
        assert_eq!(condition(&later, "Ready")["lastTransitionTime"], rfc3339(t(2)));
    }

    #[test]
    fn forced_not_ready_pod_is_running_but_not_ready() {
        let mut pod = pod(RestartPolicy::Always, false);
        pod.sandbox_ready(Ipv4Addr::new(10, 128, 0, 2), t(1));
        pod.started("app", 0, t(1));
        pod.facts.forced_not_ready = true;
        let status = pod_status(&pod, &mut ConditionClock::default(), HOST, t(2));
        assert_eq!(status["phase"], "Running");
        assert_eq!(condition(&status, "ContainersReady")["status"], "False");
        assert_eq!(status["containerStatuses"][0]["ready"], false);
    }

    #[test]
    fn finished_and_crashing_pods_report_terminations() {
        let mut pod = pod(RestartPolicy::Never, true);
        pod.sandbox_ready(Ipv4Addr::new(10, 128, 0, 2), t(1));
        let initializing = pod_status(&pod, &mut ConditionClock::default(), HOST, t(1));
        assert_eq!(condition(&initializing, "Initialized")["message"], "containers with incomplete status: [setup]");
        assert_eq!(initializing["containerStatuses"][0]["state"]["waiting"]["reason"], "PodInitializing");
        pod.started("setup", 0, t(1));
        pod.exited("setup", 0, 0, t(2));
        pod.started("app", 0, t(2));
        pod.exited("app", 0, 0, t(3));
        let status = pod_status(&pod, &mut ConditionClock::default(), HOST, t(3));
        assert_eq!(status["phase"], "Succeeded");
        assert_eq!(condition(&status, "Ready")["reason"], "PodCompleted");
        assert_eq!(condition(&status, "PodReadyToStartContainers")["status"], "False");
        assert_eq!(status["initContainerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
        let terminated = &status["containerStatuses"][0]["state"]["terminated"];
        assert_eq!((&terminated["exitCode"], &terminated["reason"]), (&json!(0), &json!("Completed")));

        let mut crashing = self::pod(RestartPolicy::OnFailure, false);
        crashing.sandbox_ready(Ipv4Addr::new(10, 128, 0, 3), t(1));
        crashing.started("app", 0, t(1));
        crashing.exited("app", 0, 1, t(2));
        crashing.started("app", 1, t(2));
        crashing.exited("app", 1, 3, t(3));
        let status = pod_status(&crashing, &mut ConditionClock::default(), HOST, t(3));
        let c = &status["containerStatuses"][0];
        assert_eq!(c["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(c["lastState"]["terminated"]["exitCode"], 3);
        assert_eq!(c["lastState"]["terminated"]["reason"], "Error");
        assert_eq!(c["restartCount"], 1);
        assert_eq!(status["phase"], "Running");
    }
}
