//! One pod's lifecycle as the kubelet drives it, as a plain state machine: inputs (the pod was
//! admitted, the sandbox is ready, a container started or exited, a timer fired, the pod was
//! updated or marked for deletion) change the state and return [`Effect`]s for the worker to
//! carry out. No I/O and no clock: the caller passes `now`.
//!
//! Stages: `Creating` (ContainerCreating) → `Initializing(i)` (init containers in order) →
//! `Running` (app containers, restarted per restartPolicy with crash backoff) → `Stopped`
//! (terminal: Succeeded or Failed). A deletion moves any stage to `Stopping` until the runtime
//! reports every container exited, then `Stopped`, and the pod is deleted.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use super::facts::{ContainerFacts, PodFacts};
use crate::time::after;

/// Upstream kubelet's crash-loop backoff: 10 s, doubled per crash, at most 5 min.
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(10);
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// A container that ran this long without crashing starts over at no backoff (2 × max).
const BACKOFF_RESET: Duration = Duration::from_secs(600);

/// How long to wait before restarting a container that has crashed `previous_crashes` times
/// before this crash: the first restart is immediate, then 10 s, 20 s, … up to 5 min.
pub fn crash_backoff(previous_crashes: u32) -> Duration {
    match previous_crashes {
        0 => Duration::ZERO,
        n => INITIAL_BACKOFF.saturating_mul(1 << (n - 1).min(16)).min(MAX_BACKOFF),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Creating,
    Initializing(usize),
    Running,
    Stopping,
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Termination {
    pub exit_code: i32,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerState {
    Waiting { reason: &'static str, message: Option<String> },
    Running { started_at: Timestamp },
    Terminated(Termination),
}

/// One container's record: its current state and its history.
#[derive(Debug, Clone)]
pub struct ContainerRecord {
    pub facts: ContainerFacts,
    pub state: ContainerState,
    pub last_termination: Option<Termination>,
    pub restart_count: u32,
    /// The attempt the current state belongs to (runtime events of older ones are stale).
    pub attempt: u32,
    /// Crashes in a row, for the backoff.
    crashes: u32,
}

impl ContainerRecord {
    fn new(facts: ContainerFacts, reason: &'static str) -> Self {
        Self {
            facts,
            state: ContainerState::Waiting { reason, message: None },
            last_termination: None,
            restart_count: 0,
            attempt: 0,
            crashes: 0,
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.state, ContainerState::Running { .. })
    }

    /// Ready: running, past its readiness probe's initial delay, and not forced off.
    pub fn is_ready(&self, forced_not_ready: bool, now: Timestamp) -> bool {
        match self.state {
            ContainerState::Running { started_at } if !forced_not_ready => {
                self.facts.readiness_delay.is_none_or(|delay| after(started_at, delay) <= now)
            }
            _ => false,
        }
    }

    fn succeeded(&self) -> bool {
        matches!(self.state, ContainerState::Terminated(t) if t.exit_code == 0)
    }
}

/// Timers the lifecycle asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodTimer {
    /// Restart app (or init) container `name` after its backoff, if still at `attempt`.
    Restart { name: Arc<str>, attempt: u32 },
    /// A readiness probe's initial delay ends: report the new readiness.
    Readiness,
}

/// What the worker must do after an input.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    CreateSandbox,
    Start { name: Arc<str>, attempt: u32, init: bool },
    Stop { grace: Duration },
    Wake { at: Timestamp, timer: PodTimer },
    WriteStatus,
    ReleaseIp,
    Delete,
}

/// One pod on one node.
#[derive(Debug, Clone)]
pub struct PodLifecycle {
    pub facts: PodFacts,
    pub stage: Stage,
    pub start_time: Timestamp,
    pub pod_ip: Option<Ipv4Addr>,
    pub init: Vec<ContainerRecord>,
    pub containers: Vec<ContainerRecord>,
}

impl PodLifecycle {
    /// A pod newly bound to this node: Pending with ContainerCreating, sandbox requested.
    pub fn admit(facts: PodFacts, now: Timestamp) -> (Self, Vec<Effect>) {
        let app_reason = if facts.init_containers.is_empty() { "ContainerCreating" } else { "PodInitializing" };
        let pod = Self {
            stage: Stage::Creating,
            start_time: now,
            pod_ip: None,
            init: facts.init_containers.iter().cloned().map(|c| ContainerRecord::new(c, "PodInitializing")).collect(),
            containers: facts.containers.iter().cloned().map(|c| ContainerRecord::new(c, app_reason)).collect(),
            facts,
        };
        if pod.facts.deleting {
            // Marked before we saw it: nothing was started, so there is nothing to stop.
            let mut pod = pod;
            let effects = pod.delete_requested();
            return (pod, effects);
        }
        (pod, vec![Effect::WriteStatus, Effect::CreateSandbox])
    }

    /// A pod found already finished (Succeeded/Failed in the API): nothing runs; it is only
    /// deleted when marked.
    pub fn finished(mut facts: PodFacts, now: Timestamp) -> (Self, Vec<Effect>) {
        let deleting = std::mem::replace(&mut facts.deleting, false);
        let (mut pod, _) = Self::admit(facts, now);
        pod.facts.deleting = deleting;
        pod.stage = Stage::Stopped;
        (pod, if deleting { vec![Effect::Delete] } else { Vec::new() })
    }

    pub fn is_terminal(&self) -> bool {
        self.stage == Stage::Stopped
    }

    /// The sandbox exists with address `ip`: start the first init container, or the app ones.
    pub fn sandbox_ready(&mut self, ip: Ipv4Addr, now: Timestamp) -> Vec<Effect> {
        if self.stage != Stage::Creating {
            return Vec::new();
        }
        self.pod_ip = Some(ip);
        let mut effects = vec![Effect::WriteStatus];
        self.start_next_stage(0, now, &mut effects);
        effects
    }

    /// Starts init container `from` (or the next stage when all init containers are done).
    fn start_next_stage(&mut self, from: usize, _now: Timestamp, effects: &mut Vec<Effect>) {
        if let Some(init) = self.init.get(from) {
            self.stage = Stage::Initializing(from);
            effects.push(Effect::Start { name: init.facts.name.clone(), attempt: init.attempt, init: true });
            return;
        }
        self.stage = Stage::Running;
        for container in &mut self.containers {
            container.state = ContainerState::Waiting { reason: "ContainerCreating", message: None };
            effects.push(Effect::Start { name: container.facts.name.clone(), attempt: container.attempt, init: false });
        }
    }

    fn record_mut(&mut self, name: &str) -> Option<(&mut ContainerRecord, bool)> {
        if let Some(r) = self.init.iter_mut().find(|r| r.facts.name.as_ref() == name) {
            return Some((r, true));
        }
        self.containers.iter_mut().find(|r| r.facts.name.as_ref() == name).map(|r| (r, false))
    }

    /// Container `name` (at `attempt`) is running since `at`.
    pub fn started(&mut self, name: &str, attempt: u32, at: Timestamp) -> Vec<Effect> {
        let Some((record, _)) = self.record_mut(name) else { return Vec::new() };
        if record.attempt != attempt || !matches!(record.state, ContainerState::Waiting { .. }) {
            return Vec::new();
        }
        record.state = ContainerState::Running { started_at: at };
        let mut effects = vec![Effect::WriteStatus];
        if let Some(delay) = record.facts.readiness_delay.filter(|d| !d.is_zero()) {
            effects.push(Effect::Wake { at: after(at, delay), timer: PodTimer::Readiness });
        }
        effects
    }

    /// Container `name` (at `attempt`) exited with `exit_code` at `at`.
    pub fn exited(&mut self, name: &str, attempt: u32, exit_code: i32, at: Timestamp) -> Vec<Effect> {
        let stage = self.stage;
        let policy = self.facts.restart_policy;
        let Some((record, init)) = self.record_mut(name) else { return Vec::new() };
        let ContainerState::Running { started_at } = record.state else { return Vec::new() };
        if record.attempt != attempt {
            return Vec::new();
        }
        let termination = Termination { exit_code, started_at, finished_at: at };
        record.state = ContainerState::Terminated(termination);
        let mut effects = vec![Effect::WriteStatus];
        if stage == Stage::Stopping {
            if !self.any_running() {
                self.stop(&mut effects);
            }
            return effects;
        }
        // Init containers must succeed; app containers are restarted per restartPolicy
        // (an init container that fails is retried unless the policy is Never).
        let done = if init { exit_code == 0 } else { !policy.restarts(exit_code) };
        if done {
            if init {
                let next = self.init.iter().position(|r| r.facts.name.as_ref() == name).map_or(0, |i| i + 1);
                self.start_next_stage(next, at, &mut effects);
            } else if self.containers.iter().all(|c| matches!(c.state, ContainerState::Terminated(_))) {
                self.stop(&mut effects);
            }
            return effects;
        }
        if init && !policy.restarts(exit_code) {
            self.stop(&mut effects);
            return effects;
        }
        let pod_ref = format!("{}_{}({})", self.facts.name, self.facts.namespace, self.facts.uid);
        let Some((record, _)) = self.record_mut(name) else { return effects };
        let ran = Duration::try_from(at.duration_since(started_at)).unwrap_or_default();
        if ran >= BACKOFF_RESET {
            record.crashes = 0;
        }
        let delay = crash_backoff(record.crashes);
        record.crashes += 1;
        if delay.is_zero() {
            effects.extend(restart(record));
        } else {
            record.state = ContainerState::Waiting {
                reason: "CrashLoopBackOff",
                message: Some(format!(
                    "back-off {}s restarting failed container={} pod={pod_ref}",
                    delay.as_secs(),
                    record.facts.name,
                )),
            };
            record.last_termination = Some(termination);
            effects.push(Effect::Wake {
                at: after(at, delay),
                timer: PodTimer::Restart { name: record.facts.name.clone(), attempt: record.attempt },
            });
        }
        effects
    }

    /// A timer asked for earlier has fired.
    pub fn timer(&mut self, timer: &PodTimer) -> Vec<Effect> {
        match timer {
            PodTimer::Readiness => vec![Effect::WriteStatus],
            PodTimer::Restart { name, attempt } => {
                if matches!(self.stage, Stage::Stopping | Stage::Stopped) {
                    return Vec::new();
                }
                let Some((record, _)) = self.record_mut(name) else { return Vec::new() };
                let backing_off = matches!(record.state, ContainerState::Waiting { reason: "CrashLoopBackOff", .. });
                if record.attempt != *attempt || !backing_off {
                    return Vec::new();
                }
                restart(record)
            }
        }
    }

    /// The pod changed in the API: readiness annotation, deletion.
    pub fn updated(&mut self, facts: PodFacts) -> Vec<Effect> {
        let readiness_changed = facts.forced_not_ready != self.facts.forced_not_ready;
        let deletion = facts.deleting && !self.facts.deleting;
        self.facts = facts;
        let mut effects = Vec::new();
        if readiness_changed && !self.is_terminal() {
            effects.push(Effect::WriteStatus);
        }
        if deletion {
            effects.extend(self.delete_requested());
        }
        effects
    }

    /// The pod was marked for deletion: stop its containers within the grace period, then
    /// report it stopped and delete it. A finished pod is deleted at once.
    fn delete_requested(&mut self) -> Vec<Effect> {
        match self.stage {
            Stage::Stopped => vec![Effect::Delete],
            Stage::Stopping => Vec::new(),
            _ => {
                let mut effects = vec![Effect::Stop { grace: self.facts.grace }];
                if self.any_running() {
                    self.stage = Stage::Stopping;
                } else {
                    self.stop(&mut effects);
                }
                effects
            }
        }
    }

    fn any_running(&self) -> bool {
        self.init.iter().chain(&self.containers).any(ContainerRecord::is_running)
    }

    /// Every container has ended: the pod is terminal; a deleted one is removed.
    fn stop(&mut self, effects: &mut Vec<Effect>) {
        self.stage = Stage::Stopped;
        effects.extend([Effect::WriteStatus, Effect::ReleaseIp]);
        if self.facts.deleting {
            effects.push(Effect::Delete);
        }
    }

    /// The pod's phase as the kubelet computes it.
    pub fn phase(&self) -> &'static str {
        match self.stage {
            Stage::Stopped => {
                let init_ok = self.init.iter().all(ContainerRecord::succeeded);
                if init_ok && self.containers.iter().all(ContainerRecord::succeeded) { "Succeeded" } else { "Failed" }
            }
            Stage::Creating | Stage::Initializing(_) => "Pending",
            Stage::Running | Stage::Stopping => {
                let never_ran = |c: &ContainerRecord| {
                    matches!(c.state, ContainerState::Waiting { .. }) && c.last_termination.is_none()
                };
                if self.containers.iter().any(never_ran) { "Pending" } else { "Running" }
            }
        }
    }

    /// Init containers that have not completed (for the Initialized condition).
    pub fn incomplete_init(&self) -> Vec<&str> {
        self.init.iter().filter(|r| !r.succeeded()).map(|r| r.facts.name.as_ref()).collect()
    }
}

/// Starts the next attempt of a container (a restart).
fn restart(record: &mut ContainerRecord) -> Vec<Effect> {
    if let ContainerState::Terminated(t) = record.state {
        record.last_termination = Some(t);
    }
    record.attempt += 1;
    record.restart_count += 1;
    record.state = ContainerState::Waiting { reason: "ContainerCreating", message: None };
    vec![Effect::WriteStatus, Effect::Start { name: record.facts.name.clone(), attempt: record.attempt, init: false }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::facts::RestartPolicy;

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn container(name: &str, readiness_delay: Option<u64>) -> ContainerFacts {
        ContainerFacts {
            name: name.into(),
            image: "img".into(),
            readiness_delay: readiness_delay.map(Duration::from_secs),
        }
    }

    fn facts(policy: RestartPolicy, init: &[&str], containers: &[&str]) -> PodFacts {
        PodFacts {
            uid: "uid".into(),
            namespace: "ns".into(),
            name: "p".into(),
            node: "n-0".into(),
            restart_policy: policy,
            init_containers: init.iter().map(|n| container(n, None)).collect(),
            containers: containers.iter().map(|n| container(n, None)).collect(),
            forced_not_ready: false,
            grace: Duration::from_secs(30),
            deleting: false,
            phase: None,
            pod_ip: None,
        }
    }

    fn ip() -> Ipv4Addr {
        Ipv4Addr::new(10, 128, 0, 2)
    }

    fn start(name: &str, attempt: u32, init: bool) -> Effect {
        Effect::Start { name: name.into(), attempt, init }
    }

    /// Admitted, sandbox ready and every app container started at `t(1)`.
    fn running(policy: RestartPolicy) -> PodLifecycle {
        let (mut pod, _) = PodLifecycle::admit(facts(policy, &[], &["c"]), t(0));
        pod.sandbox_ready(ip(), t(1));
        pod.started("c", 0, t(1));
        pod
    }

    #[test]
    fn backoff_is_immediate_then_doubles_from_ten_seconds_up_to_five_minutes() {
        let delays: Vec<u64> = (0..8).map(|n| crash_backoff(n).as_secs()).collect();
        assert_eq!(delays, [0, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(crash_backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn admitted_pod_is_pending_with_container_creating_then_runs() {
        let (mut pod, effects) = PodLifecycle::admit(facts(RestartPolicy::Always, &[], &["a", "b"]), t(0));
        assert_eq!(effects, [Effect::WriteStatus, Effect::CreateSandbox]);
        assert_eq!(pod.phase(), "Pending");
        assert_eq!(pod.containers[0].state, ContainerState::Waiting { reason: "ContainerCreating", message: None });
        let effects = pod.sandbox_ready(ip(), t(1));
        assert_eq!(effects, [Effect::WriteStatus, start("a", 0, false), start("b", 0, false)]);
        assert_eq!(pod.pod_ip, Some(ip()));
        pod.started("a", 0, t(1));
        assert_eq!(pod.phase(), "Pending", "b has not started yet");
        pod.started("b", 0, t(1));
        assert_eq!(pod.phase(), "Running");
        assert!(pod.containers.iter().all(|c| c.is_ready(false, t(1))));
    }

    #[test]
    fn readiness_waits_for_the_probe_delay_and_the_annotation() {
        let mut f = facts(RestartPolicy::Always, &[], &[]);
        f.containers = vec![container("c", Some(5))];
        let (mut pod, _) = PodLifecycle::admit(f.clone(), t(0));
        pod.sandbox_ready(ip(), t(0));
        let effects = pod.started("c", 0, t(1));
        assert_eq!(effects, [Effect::WriteStatus, Effect::Wake { at: t(6), timer: PodTimer::Readiness }]);
        assert!(!pod.containers[0].is_ready(false, t(5)));
        assert!(pod.containers[0].is_ready(false, t(6)));
        assert!(!pod.containers[0].is_ready(true, t(6)), "the annotation forces not-ready");
        f.forced_not_ready = true;
        assert_eq!(pod.updated(f.clone()), [Effect::WriteStatus]);
        assert_eq!(pod.updated(f), [], "no change, no write");
    }

    #[test]
    fn never_pod_succeeds_on_exit_zero_and_fails_otherwise() {
        let mut pod = running(RestartPolicy::Never);
        let effects = pod.exited("c", 0, 0, t(2));
        assert_eq!(effects, [Effect::WriteStatus, Effect::WriteStatus, Effect::ReleaseIp]);
        assert_eq!(pod.phase(), "Succeeded");

        let mut pod = running(RestartPolicy::Never);
        pod.exited("c", 0, 1, t(2));
        assert_eq!(pod.phase(), "Failed");
        assert_eq!(
            pod.containers[0].state,
            ContainerState::Terminated(Termination { exit_code: 1, started_at: t(1), finished_at: t(2) })
        );
    }

    #[test]
    fn on_failure_restarts_at_once_then_backs_off() {
        let mut pod = running(RestartPolicy::OnFailure);
        let effects = pod.exited("c", 0, 1, t(2));
        assert_eq!(effects, [Effect::WriteStatus, Effect::WriteStatus, start("c", 1, false)]);
        assert_eq!(pod.containers[0].restart_count, 1);
        assert_eq!(pod.phase(), "Running", "a restarting container keeps the pod Running");
        pod.started("c", 1, t(2));
        let effects = pod.exited("c", 1, 1, t(3));
        let wake = Effect::Wake { at: t(13), timer: PodTimer::Restart { name: "c".into(), attempt: 1 } };
        assert_eq!(effects, [Effect::WriteStatus, wake]);
        assert!(
            matches!(&pod.containers[0].state, ContainerState::Waiting { reason: "CrashLoopBackOff", message: Some(m) } if m.contains("back-off 10s"))
        );
        assert_eq!(pod.containers[0].last_termination.map(|t| t.exit_code), Some(1));
        assert_eq!(pod.phase(), "Running");
        assert_eq!(pod.timer(&PodTimer::Restart { name: "c".into(), attempt: 0 }), [], "stale timer");
        assert_eq!(
            pod.timer(&PodTimer::Restart { name: "c".into(), attempt: 1 }),
            [Effect::WriteStatus, start("c", 2, false)]
        );
        assert_eq!(pod.containers[0].restart_count, 2);
        pod.started("c", 2, t(13));
        pod.exited("c", 2, 1, t(14));
        assert!(
            matches!(&pod.containers[0].state, ContainerState::Waiting { message: Some(m), .. } if m.contains("back-off 20s"))
        );
    }

    #[test]
    fn on_failure_pod_that_exits_zero_succeeds() {
        let mut pod = running(RestartPolicy::OnFailure);
        pod.exited("c", 0, 0, t(2));
        assert_eq!(pod.phase(), "Succeeded");
    }

    #[test]
    fn always_pod_restarts_even_after_a_clean_exit() {
        let mut pod = running(RestartPolicy::Always);
        let effects = pod.exited("c", 0, 0, t(2));
        assert!(effects.contains(&start("c", 1, false)));
        assert!(!pod.is_terminal());
    }

    #[test]
    fn stale_events_are_ignored() {
        let mut pod = running(RestartPolicy::Always);
        assert_eq!(pod.exited("c", 7, 1, t(2)), []);
        assert_eq!(pod.started("c", 0, t(2)), [], "already running");
        assert_eq!(pod.exited("nope", 0, 1, t(2)), []);
    }

    #[test]
    fn init_containers_run_in_order_before_app_containers() {
        let (mut pod, _) = PodLifecycle::admit(facts(RestartPolicy::Always, &["i1", "i2"], &["c"]), t(0));
        assert_eq!(pod.containers[0].state, ContainerState::Waiting { reason: "PodInitializing", message: None });
        assert_eq!(pod.sandbox_ready(ip(), t(1)), [Effect::WriteStatus, start("i1", 0, true)]);
        assert_eq!(pod.incomplete_init(), ["i1", "i2"]);
        pod.started("i1", 0, t(1));
        assert_eq!(pod.exited("i1", 0, 0, t(2)), [Effect::WriteStatus, start("i2", 0, true)]);
        assert_eq!(pod.stage, Stage::Initializing(1));
        pod.started("i2", 0, t(2));
        assert_eq!(pod.exited("i2", 0, 0, t(3)), [Effect::WriteStatus, start("c", 0, false)]);
        assert!(pod.incomplete_init().is_empty());
        assert_eq!(pod.phase(), "Pending");
        pod.started("c", 0, t(3));
        assert_eq!(pod.phase(), "Running");
    }

    #[test]
    fn failed_init_container_fails_a_never_pod() {
        let (mut pod, _) = PodLifecycle::admit(facts(RestartPolicy::Never, &["i"], &["c"]), t(0));
        pod.sandbox_ready(ip(), t(1));
        pod.started("i", 0, t(1));
        pod.exited("i", 0, 2, t(2));
        assert_eq!(pod.phase(), "Failed");
    }

    #[test]
    fn deletion_stops_containers_then_deletes() {
        let mut pod = running(RestartPolicy::Always);
        let mut f = pod.facts.clone();
        f.deleting = true;
        f.grace = Duration::from_secs(7);
        assert_eq!(pod.updated(f.clone()), [Effect::Stop { grace: Duration::from_secs(7) }]);
        assert_eq!(pod.stage, Stage::Stopping);
        assert_eq!(pod.phase(), "Running");
        assert_eq!(pod.updated(f), [], "a second update does not stop twice");
        let effects = pod.exited("c", 0, 0, t(3));
        assert_eq!(effects, [Effect::WriteStatus, Effect::WriteStatus, Effect::ReleaseIp, Effect::Delete]);
        assert_eq!(pod.phase(), "Succeeded", "stopped cleanly");
    }

    #[test]
    fn killed_containers_fail_the_deleted_pod_and_backoff_does_not_restart_it() {
        let mut pod = running(RestartPolicy::Always);
        let mut f = pod.facts.clone();
        f.deleting = true;
        pod.updated(f);
        pod.exited("c", 0, 137, t(3));
        assert_eq!(pod.phase(), "Failed");
        assert_eq!(pod.timer(&PodTimer::Restart { name: "c".into(), attempt: 0 }), []);
    }

    #[test]
    fn deleting_a_pod_that_is_not_running_deletes_it_at_once() {
        let (mut pod, _) = PodLifecycle::admit(facts(RestartPolicy::Always, &[], &["c"]), t(0));
        let mut f = pod.facts.clone();
        f.deleting = true;
        let effects = pod.updated(f.clone());
        assert_eq!(
            effects,
            [Effect::Stop { grace: Duration::from_secs(30) }, Effect::WriteStatus, Effect::ReleaseIp, Effect::Delete]
        );
        assert_eq!(pod.sandbox_ready(ip(), t(1)), [], "a late sandbox starts nothing");

        let mut finished = running(RestartPolicy::Never);
        finished.exited("c", 0, 0, t(2));
        assert_eq!(finished.updated(f.clone()), [Effect::Delete]);

        let (_, effects) = PodLifecycle::finished(f, t(0));
        assert_eq!(effects, [Effect::Delete]);
    }
}
