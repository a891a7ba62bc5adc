//! Pods: READY, STATUS, RESTARTS, AGE; wide IP, NODE, NOMINATED NODE, READINESS GATES.
//!
//! STATUS is upstream's summary, decided in this order:
//! 1. the phase, or `status.reason` when set (`Evicted`, ...); `SchedulingGated` while the
//!    PodScheduled condition says so;
//! 2. the first init container that has not succeeded: `Init:<reason>`, `Init:ExitCode:<n>`,
//!    `Init:Signal:<n>`, `Init:<waiting reason>`, or `Init:<i>/<n>` (a started sidecar, one with
//!    `restartPolicy: Always`, counts as done);
//! 3. once initialised, the containers from last to first: a waiting reason (`ContainerCreating`,
//!    `CrashLoopBackOff`, ...), a terminated reason (`Completed`, `Error`, ...), or
//!    `ExitCode:<n>` / `Signal:<n>`; `Completed` with a container still running reads `Running`
//!    (pod Ready) or `NotReady`;
//! 4. a pod being deleted reads `Terminating` (`Unknown` if its node was lost) unless it has
//!    already succeeded or failed.
//!
//! RESTARTS is the restart count, with `(<age> ago)` of the latest container termination once
//! there has been one; until the pod is initialised it counts init containers, afterwards the
//! containers and the sidecars.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{AGE, Column, NAME, Printer, human_duration, int, items, name, or_none, text, timestamp};

pub(super) static PODS: Printer = Printer {
    columns: &[
        NAME,
        Column::string("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        Column::string("Status", "The aggregate status of the containers in this pod."),
        Column::string(
            "Restarts",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        ),
        AGE,
        Column::string("IP", "IP address allocated to the pod. Routable at least within the cluster.").wide(),
        Column::string("Node", "NodeName indicates in which node this pod is scheduled.").wide(),
        Column::string("Nominated Node", "The node the scheduler nominated for this pod after preemption.").wide(),
        Column::string("Readiness Gates", "How many of the pod's readiness gates are true.").wide(),
    ],
    cells,
    conditions,
};

fn cells(pod: &Value, now: Timestamp) -> Vec<Value> {
    let summary = Summary::of(pod);
    let restarts = match summary.last_restart {
        Some(last) if summary.restarts != 0 => {
            format!("{} ({} ago)", summary.restarts, human_duration(now.duration_since(last)))
        }
        _ => summary.restarts.to_string(),
    };
    // Upstream reads `podIPs`; its conversion fills that from `podIP` when only the latter is set.
    let ip = items(pod, "/status/podIPs").first().map_or_else(|| text(pod, "/status/podIP"), |ip| text(ip, "/ip"));
    vec![
        name(pod),
        json!(format!("{}/{}", summary.ready, summary.total)),
        json!(summary.status),
        json!(restarts),
        super::age(pod, now),
        json!(or_none(ip)),
        json!(or_none(text(pod, "/spec/nodeName"))),
        json!(or_none(text(pod, "/status/nominatedNodeName"))),
        json!(readiness_gates(pod)),
    ]
}

/// A finished pod's row says so: `Completed`, with the reason `Succeeded` or `Failed`.
fn conditions(pod: &Value) -> Vec<Value> {
    let (reason, message) = match text(pod, "/status/phase") {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return Vec::new(),
    };
    vec![json!({"type": "Completed", "status": "True", "reason": reason, "message": message})]
}

/// `<true gates>/<gates>`, or `<none>` without readiness gates.
fn readiness_gates(pod: &Value) -> String {
    let gates = items(pod, "/spec/readinessGates");
    if gates.is_empty() {
        return "<none>".to_string();
    }
    let conditions = items(pod, "/status/conditions");
    let true_gates = gates
        .iter()
        .filter(|gate| {
            let kind = text(gate, "/conditionType");
            conditions.iter().find(|c| text(c, "/type") == kind).is_some_and(|c| text(c, "/status") == "True")
        })
        .count();
    format!("{true_gates}/{}", gates.len())
}

/// What READY, STATUS and RESTARTS summarise.
struct Summary {
    ready: usize,
    total: usize,
    status: String,
    restarts: i64,
    last_restart: Option<Timestamp>,
}

/// Restarts counted over some containers, and the latest of their last terminations.
#[derive(Clone, Copy, Default)]
struct Restarts {
    count: i64,
    last: Option<Timestamp>,
}

impl Restarts {
    fn add(&mut self, status: &Value) {
        self.count += int(status, "/restartCount");
        if let Some(finished) = timestamp(status.pointer("/lastState/terminated/finishedAt")) {
            self.last = self.last.max(Some(finished));
        }
    }
}

/// A terminated state's reason, or `<prefix>Signal:<n>` / `<prefix>ExitCode:<n>` without one.
fn terminated_reason(terminated: &Value, prefix: &str) -> String {
    match text(terminated, "/reason") {
        "" => match int(terminated, "/signal") {
            0 => format!("{prefix}ExitCode:{}", int(terminated, "/exitCode")),
            signal => format!("{prefix}Signal:{signal}"),
        },
        reason => format!("{prefix}{reason}"),
    }
}

/// A container's state of this kind (`waiting`, `running`, `terminated`), when it is in it.
fn state<'a>(container: &'a Value, kind: &str) -> Option<&'a Value> {
    container.get("state").and_then(|s| s.get(kind)).filter(|s| s.is_object())
}

/// Whether the pod has a condition of this type, and the first one is true.
fn condition_true(pod: &Value, kind: &str) -> bool {
    items(pod, "/status/conditions")
        .iter()
        .find(|c| text(c, "/type") == kind)
        .is_some_and(|c| text(c, "/status") == "True")
}

impl Summary {
    fn of(pod: &Value) -> Self {
        let init_specs = items(pod, "/spec/initContainers");
        let sidecars: Vec<&str> =
            init_specs.iter().filter(|c| text(c, "/restartPolicy") == "Always").map(|c| text(c, "/name")).collect();
        let total = items(pod, "/spec/containers").len() + sidecars.len();
        let phase = text(pod, "/status/phase");
        let mut status = match text(pod, "/status/reason") {
            "" => phase.to_string(),
            reason => reason.to_string(),
        };
        let gated = items(pod, "/status/conditions")
            .iter()
            .any(|c| text(c, "/type") == "PodScheduled" && text(c, "/reason") == "SchedulingGated");
        if gated {
            status = "SchedulingGated".to_string();
        }

        let mut ready = 0;
        let mut restarts = Restarts::default();
        let mut sidecar_restarts = Restarts::default();
        let mut initializing = false;
        for (i, container) in items(pod, "/status/initContainerStatuses").iter().enumerate() {
            restarts.add(container);
            let sidecar = sidecars.contains(&text(container, "/name"));
            if sidecar {
                sidecar_restarts.add(container);
            }
            let terminated = state(container, "terminated");
            if terminated.is_some_and(|t| int(t, "/exitCode") == 0) {
                continue;
            }
            if sidecar && container.get("started").and_then(Value::as_bool) == Some(true) {
                if container.get("ready").and_then(Value::as_bool) == Some(true) {
                    ready += 1;
                }
                continue;
            }
            let waiting = text(container, "/state/waiting/reason");
            status = match terminated {
                Some(terminated) => terminated_reason(terminated, "Init:"),
                None if !waiting.is_empty() && waiting != "PodInitializing" => format!("Init:{waiting}"),
                None => format!("Init:{i}/{}", init_specs.len()),
            };
            initializing = true;
            break;
        }

        if !initializing || condition_true(pod, "Initialized") {
            restarts = sidecar_restarts;
            let mut running = false;
            for container in items(pod, "/status/containerStatuses").iter().rev() {
                restarts.add(container);
                let waiting = state(container, "waiting").map(|w| text(w, "/reason"));
                match (waiting, state(container, "terminated")) {
                    (Some(reason), _) if !reason.is_empty() => status = reason.to_string(),
                    (_, Some(terminated)) => status = terminated_reason(terminated, ""),
                    _ => {
                        let is_ready = container.get("ready").and_then(Value::as_bool) == Some(true);
                        if is_ready && state(container, "running").is_some() {
                            running = true;
                            ready += 1;
                        }
                    }
                }
            }
            if status == "Completed" && running {
                status = if condition_true(pod, "Ready") { "Running" } else { "NotReady" }.to_string();
            }
        }

        if super::deleting(pod) {
            if text(pod, "/status/reason") == "NodeLost" {
                status = "Unknown".to_string();
            } else if !matches!(phase, "Succeeded" | "Failed") {
                status = "Terminating".to_string();
            }
        }
        Self { ready, total, status, restarts: restarts.count, last_restart: restarts.last }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::testing::{ago, cells, headers};

    fn pod(spec: Value, status: Value) -> Value {
        json!({"metadata": {"name": "web", "creationTimestamp": ago(300)}, "spec": spec, "status": status})
    }

    /// READY, STATUS, RESTARTS of a pod.
    fn summary(pod: Value) -> Value {
        let cells = cells("", "pods", pod);
        json!([cells[1], cells[2], cells[3]])
    }

    fn one_container() -> Value {
        json!({"containers": [{"name": "app", "image": "nginx"}]})
    }

    #[test]
    fn columns_are_upstreams() {
        assert_eq!(
            headers("", "pods"),
            ["Name", "Ready", "Status", "Restarts", "Age", "IP*", "Node*", "Nominated Node*", "Readiness Gates*"]
        );
    }

    #[test]
    fn pending_running_and_wide_cells() {
        let pending = pod(one_container(), json!({"phase": "Pending"}));
        assert_eq!(
            cells("", "pods", pending),
            json!(["web", "0/1", "Pending", "0", "5m", "<none>", "<none>", "<none>", "<none>"])
        );

        let running = pod(
            json!({"containers": [{"name": "app"}, {"name": "log"}], "nodeName": "n1", "readinessGates": [{"conditionType": "lb"}, {"conditionType": "dns"}]}),
            json!({
                "phase": "Running",
                "podIP": "10.0.0.9",
                "podIPs": [{"ip": "10.0.0.7"}, {"ip": "fd00::7"}],
                "nominatedNodeName": "n2",
                "conditions": [{"type": "lb", "status": "True"}, {"type": "dns", "status": "False"}],
                "containerStatuses": [
                    {"name": "app", "ready": true, "restartCount": 2, "state": {"running": {}},
                     "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(90)}}},
                    {"name": "log", "ready": false, "restartCount": 1, "state": {"running": {}},
                     "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(200)}}},
                ],
            }),
        );
        assert_eq!(
            cells("", "pods", running),
            json!(["web", "1/2", "Running", "3 (90s ago)", "5m", "10.0.0.7", "n1", "n2", "1/2"])
        );
        let only_pod_ip = pod(one_container(), json!({"phase": "Running", "podIP": "10.0.0.9"}));
        assert_eq!(cells("", "pods", only_pod_ip)[5], "10.0.0.9");
    }

    #[test]
    fn container_waiting_and_terminated_reasons() {
        let waiting = pod(
            one_container(),
            json!({"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
        );
        assert_eq!(summary(waiting), json!(["0/1", "CrashLoopBackOff", "4"]));
        let creating = pod(
            one_container(),
            json!({"phase": "Pending", "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
        );
        assert_eq!(summary(creating), json!(["0/1", "ContainerCreating", "0"]));
        let completed = pod(
            one_container(),
            json!({"phase": "Succeeded", "containerStatuses": [{"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
        );
        assert_eq!(summary(completed.clone()), json!(["0/1", "Completed", "0"]));
        let row = &super::super::table(
            apiserver_machinery::resources::find("", "v1", "pods").unwrap(),
            &[completed],
            json!({}),
            super::super::testing::now(),
        )["rows"][0];
        assert_eq!(
            row["conditions"],
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}])
        );
        let error = pod(
            one_container(),
            json!({"phase": "Failed", "containerStatuses": [{"name": "app", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}),
        );
        assert_eq!(summary(error), json!(["0/1", "Error", "0"]));
        let exit_code = pod(
            one_container(),
            json!({"phase": "Failed", "containerStatuses": [{"name": "app", "state": {"terminated": {"exitCode": 3}}}]}),
        );
        assert_eq!(summary(exit_code), json!(["0/1", "ExitCode:3", "0"]));
        let signal = pod(
            one_container(),
            json!({"phase": "Failed", "containerStatuses": [{"name": "app", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}),
        );
        assert_eq!(summary(signal), json!(["0/1", "Signal:9", "0"]));
        let evicted = pod(one_container(), json!({"phase": "Failed", "reason": "Evicted"}));
        assert_eq!(summary(evicted), json!(["0/1", "Evicted", "0"]));
        let gated = pod(
            one_container(),
            json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
        );
        assert_eq!(summary(gated), json!(["0/1", "SchedulingGated", "0"]));
    }

    #[test]
    fn completed_with_a_container_still_running_is_running_or_not_ready() {
        let status = |ready: &str| {
            json!({
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": ready}],
                "containerStatuses": [
                    {"name": "a", "ready": true, "state": {"running": {}}},
                    {"name": "b", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                ],
            })
        };
        let spec = json!({"containers": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(summary(pod(spec.clone(), status("True"))), json!(["1/2", "Running", "0"]));
        assert_eq!(summary(pod(spec, status("False"))), json!(["1/2", "NotReady", "0"]));
    }

    #[test]
    fn init_containers() {
        let spec = json!({"initContainers": [{"name": "setup"}, {"name": "migrate"}], "containers": [{"name": "app"}]});
        let init = |statuses: Value| {
            pod(
                spec.clone(),
                json!({"phase": "Pending", "initContainerStatuses": statuses, "containerStatuses": [
                {"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}]}),
            )
        };
        let done = json!({"name": "setup", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}});
        assert_eq!(
            summary(init(
                json!([{"name": "setup", "state": {"running": {}}}, {"name": "migrate", "state": {"waiting": {"reason": "PodInitializing"}}}])
            )),
            json!(["0/1", "Init:0/2", "0"])
        );
        assert_eq!(
            summary(init(json!([done, {"name": "migrate", "state": {"waiting": {"reason": "PodInitializing"}}}]))),
            json!(["0/1", "Init:1/2", "0"])
        );
        assert_eq!(
            summary(init(
                json!([done, {"name": "migrate", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}])
            )),
            json!(["0/1", "Init:CrashLoopBackOff", "3"])
        );
        assert_eq!(
            summary(init(json!([{"name": "setup", "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]))),
            json!(["0/1", "Init:Error", "0"])
        );
        assert_eq!(
            summary(init(json!([{"name": "setup", "state": {"terminated": {"exitCode": 2}}}]))),
            json!(["0/1", "Init:ExitCode:2", "0"])
        );
        assert_eq!(
            summary(init(json!([{"name": "setup", "state": {"terminated": {"exitCode": 130, "signal": 2}}}]))),
            json!(["0/1", "Init:Signal:2", "0"])
        );
    }

    #[test]
    fn started_sidecars_count_as_ready_containers() {
        let spec =
            json!({"initContainers": [{"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "app"}]});
        let status = json!({
            "phase": "Running",
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
            "initContainerStatuses": [{"name": "proxy", "started": true, "ready": true, "restartCount": 1, "state": {"running": {}}}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 2, "state": {"running": {}}}],
        });
        assert_eq!(summary(pod(spec, status)), json!(["2/2", "Running", "3"]));
    }

    #[test]
    fn deleted_pods_are_terminating_unless_finished() {
        let mut running = pod(one_container(), json!({"phase": "Running"}));
        running["metadata"]["deletionTimestamp"] = json!(ago(1));
        assert_eq!(summary(running.clone()), json!(["0/1", "Terminating", "0"]));
        running["status"]["reason"] = json!("NodeLost");
        assert_eq!(summary(running), json!(["0/1", "Unknown", "0"]));
        let mut succeeded = pod(one_container(), json!({"phase": "Succeeded"}));
        succeeded["metadata"]["deletionTimestamp"] = json!(ago(1));
        assert_eq!(summary(succeeded), json!(["0/1", "Succeeded", "0"]));
    }
}
