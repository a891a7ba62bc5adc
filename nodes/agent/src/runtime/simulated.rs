//! The simulated runtime: no containers, only timings. A sandbox is ready after the startup
//! delay; a container runs until its run time (if it has one) and exits with the pod's chosen
//! exit code; a stop takes the pod's stop time, cut short at the grace period (then it is a
//! kill: exit 137). One timer loop serves every pod of the process.
//!
//! Pods steer it with annotations (so tests can make failures and slow stops):
//! - `kybernetes.io/exit-code`: exit code of app containers (default 0). On a pod with
//!   restartPolicy Always it makes the containers exit (after the run time) and crash-loop.
//! - `kybernetes.io/run-seconds`: how long app containers run (decimal seconds; default: the
//!   configured run time for restartPolicy Never/OnFailure pods, forever for Always).
//! - `kybernetes.io/stop-seconds`: how long a stop takes (default 0; capped by the grace period).
//! - `kybernetes.io/cpu-usage`, `kybernetes.io/memory-usage`: the pod's total resource usage
//!   as Kubernetes quantities (`"250m"`, `"64Mi"`), split evenly over its running app
//!   containers (init containers use nothing); what `kubectl top` and the HPA see through the
//!   metrics API. Default (absent or unparsable): 0 CPU and 0 memory, so a pod that does not
//!   say is idle. Unlike the others these are read again whenever the pod changes: annotate a
//!   running pod and its reported usage follows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apiserver_machinery::quantity;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use tokio::sync::{Notify, mpsc};

use super::{ContainerRun, ContainerUsage, PodUid, Runtime, RuntimeEvent};
use crate::time::{after, until};
use crate::timers::TimerQueue;

pub const EXIT_CODE_ANNOTATION: &str = "kybernetes.io/exit-code";
pub const RUN_SECONDS_ANNOTATION: &str = "kybernetes.io/run-seconds";
pub const STOP_SECONDS_ANNOTATION: &str = "kybernetes.io/stop-seconds";
pub const CPU_USAGE_ANNOTATION: &str = "kybernetes.io/cpu-usage";
pub const MEMORY_USAGE_ANNOTATION: &str = "kybernetes.io/memory-usage";

/// `containerRuntimeVersion` of simulated nodes.
pub const VERSION: &str = "simulated://0.1";

/// Exit code of a container killed after its grace period (SIGKILL).
pub const KILLED_EXIT_CODE: i32 = 137;

/// Timings of the simulated runtime.
#[derive(Debug, Clone)]
pub struct SimulatedTimings {
    /// From bind to a ready sandbox (the pod shows ContainerCreating meanwhile).
    pub startup_delay: Duration,
    /// Run time of app containers of restartPolicy Never/OnFailure pods without annotation.
    pub default_run_time: Duration,
    /// Run time of each init container.
    pub init_run_time: Duration,
}

impl Default for SimulatedTimings {
    fn default() -> Self {
        Self {
            startup_delay: Duration::from_millis(300),
            default_run_time: Duration::from_secs(1),
            init_run_time: Duration::from_millis(100),
        }
    }
}

/// How one pod's containers behave, decided once from its spec and annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    /// App containers exit after this long; `None`: they run until stopped.
    pub run_time: Option<Duration>,
    pub exit_code: i32,
    pub stop_time: Duration,
}

/// The behaviour of `pod`'s app containers (pure: annotations and restartPolicy).
pub fn behaviour(pod: &Pod, timings: &SimulatedTimings) -> Behaviour {
    let annotations = pod.metadata.annotations.as_ref();
    let annotation = |key: &str| annotations.and_then(|a| a.get(key)).map(|v| v.trim());
    let seconds = |key: &str| {
        annotation(key).and_then(|v| v.parse::<f64>().ok()).and_then(|s| Duration::try_from_secs_f64(s).ok())
    };
    let exit_code = annotation(EXIT_CODE_ANNOTATION).and_then(|v| v.parse::<i32>().ok());
    let restart_always =
        pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()).is_none_or(|policy| policy == "Always");
    let run_time = match seconds(RUN_SECONDS_ANNOTATION) {
        Some(run) => Some(run),
        None if !restart_always || exit_code.is_some() => Some(timings.default_run_time),
        None => None,
    };
    Behaviour {
        run_time,
        exit_code: exit_code.unwrap_or(0),
        stop_time: seconds(STOP_SECONDS_ANNOTATION).unwrap_or_default(),
    }
}

/// The pod's total usage from its annotations (0 for what is absent or does not parse).
pub fn pod_usage(pod: &Pod) -> ContainerUsage {
    let annotation = |key: &str| pod.metadata.annotations.as_ref().and_then(|a| a.get(key));
    ContainerUsage {
        cpu_nanocores: annotation(CPU_USAGE_ANNOTATION).and_then(|v| quantity::nanocores(v)).unwrap_or(0),
        memory_bytes: annotation(MEMORY_USAGE_ANNOTATION).and_then(|v| quantity::bytes(v)).unwrap_or(0),
    }
}

/// `total` split evenly over `containers` (sorted by name); the first ones get the remainder,
/// so the parts add up to the total exactly.
pub fn split_usage(total: ContainerUsage, mut containers: Vec<Arc<str>>) -> Vec<(Arc<str>, ContainerUsage)> {
    containers.sort();
    let n = containers.len() as u64;
    if n == 0 {
        return Vec::new();
    }
    let share = |total: u64, i: u64| total / n + u64::from(i < total % n);
    containers
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let i = i as u64;
            (
                name,
                ContainerUsage {
                    cpu_nanocores: share(total.cpu_nanocores, i),
                    memory_bytes: share(total.memory_bytes, i),
                },
            )
        })
        .collect()
}

/// When a stop requested at `now` ends and with which exit code: the container's own stop time
/// if it fits in the grace period (a clean exit), else a kill at the end of the grace period.
pub fn stop_outcome(behaviour: &Behaviour, grace: Duration, now: Timestamp) -> (Timestamp, i32) {
    if behaviour.stop_time <= grace {
        (after(now, behaviour.stop_time), 0)
    } else {
        (after(now, grace), KILLED_EXIT_CODE)
    }
}

#[derive(Debug)]
struct SimulatedPod {
    behaviour: Behaviour,
    /// The pod's total usage (annotations), split over its running app containers.
    usage: ContainerUsage,
    /// Running containers by name, with their attempt and whether it is an init container.
    running: HashMap<Arc<str>, (u32, bool)>,
    stopping: bool,
}

#[derive(Debug)]
enum Due {
    SandboxReady(PodUid),
    Started(ContainerRun),
    Exit(ContainerRun, i32),
    StopAll(PodUid, i32),
}

#[derive(Debug, Default)]
struct State {
    pods: HashMap<PodUid, SimulatedPod>,
    timers: TimerQueue<Due>,
}

impl State {
    /// Turns a due timer into the event it reports, updating what is running.
    fn fire(&mut self, due: Due, now: Timestamp, out: &mut Vec<RuntimeEvent>) {
        match due {
            Due::SandboxReady(pod) => {
                if self.pods.get(&pod).is_some_and(|p| !p.stopping) {
                    out.push(RuntimeEvent::SandboxReady { pod });
                }
            }
            Due::Started(run) => {
                let current = self.pods.get(&run.pod).and_then(|p| p.running.get(&run.container));
                if current.map(|(attempt, _)| *attempt) == Some(run.attempt) {
                    out.push(RuntimeEvent::Started { run, at: now });
                }
            }
            Due::Exit(run, exit_code) => {
                let Some(pod) = self.pods.get_mut(&run.pod) else { return };
                if pod.running.get(&run.container).map(|(attempt, _)| *attempt) == Some(run.attempt) {
                    pod.running.remove(&run.container);
                    out.push(RuntimeEvent::Exited { run, exit_code, at: now });
                }
            }
            Due::StopAll(uid, exit_code) => {
                let Some(pod) = self.pods.get_mut(&uid) else { return };
                for (container, (attempt, _)) in pod.running.drain() {
                    // The worker matches exits by name and attempt; `init` is not needed here.
                    let run = ContainerRun { pod: uid.clone(), container, attempt, init: false };
                    out.push(RuntimeEvent::Exited { run, exit_code, at: now });
                }
            }
        }
    }
}

/// The simulated runtime; build it with [`SimulatedRuntime::start`].
#[derive(Debug)]
pub struct SimulatedRuntime {
    timings: SimulatedTimings,
    state: Arc<Mutex<State>>,
    wake: Arc<Notify>,
}

impl SimulatedRuntime {
    /// The runtime and the timer loop that drives it: poll the loop (it ends when the receiver
    /// of `events` is dropped) for anything to happen.
    pub fn new(
        timings: SimulatedTimings,
        events: mpsc::Sender<RuntimeEvent>,
    ) -> (Arc<Self>, impl Future<Output = ()> + Send + 'static) {
        let state = Arc::new(Mutex::new(State::default()));
        let wake = Arc::new(Notify::new());
        let driver = timer_loop(state.clone(), wake.clone(), events);
        (Arc::new(Self { timings, state, wake }), driver)
    }

    fn with_state(&self, change: impl FnOnce(&mut State, Timestamp)) {
        let now = Timestamp::now();
        change(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner), now);
        self.wake.notify_one();
    }
}

impl Runtime for SimulatedRuntime {
    fn version(&self) -> String {
        VERSION.into()
    }

    fn create_sandbox(&self, pod: &Pod) {
        let Some(uid) = pod.metadata.uid.as_deref() else { return };
        let uid: PodUid = uid.into();
        let behaviour = behaviour(pod, &self.timings);
        let usage = pod_usage(pod);
        let delay = self.timings.startup_delay;
        self.with_state(|state, now| {
            state.pods.insert(uid.clone(), SimulatedPod { behaviour, usage, running: HashMap::new(), stopping: false });
            state.timers.schedule(after(now, delay), Due::SandboxReady(uid));
        });
    }

    fn start_container(&self, run: ContainerRun) {
        let init_run_time = self.timings.init_run_time;
        self.with_state(|state, now| {
            let Some(pod) = state.pods.get_mut(&run.pod) else { return };
            if pod.stopping {
                return;
            }
            pod.running.insert(run.container.clone(), (run.attempt, run.init));
            let (run_time, exit_code) =
                if run.init { (Some(init_run_time), 0) } else { (pod.behaviour.run_time, pod.behaviour.exit_code) };
            state.timers.schedule(now, Due::Started(run.clone()));
            if let Some(run_time) = run_time {
                state.timers.schedule(after(now, run_time), Due::Exit(run, exit_code));
            }
        });
    }

    fn stop_pod(&self, pod: &PodUid, grace: Duration) {
        self.with_state(|state, now| {
            let Some(simulated) = state.pods.get_mut(pod) else { return };
            if simulated.stopping {
                return;
            }
            simulated.stopping = true;
            let (at, exit_code) = stop_outcome(&simulated.behaviour, grace, now);
            state.timers.schedule(at, Due::StopAll(pod.clone(), exit_code));
        });
    }

    fn remove_pod(&self, pod: &PodUid) {
        self.with_state(|state, _| {
            state.pods.remove(pod);
        });
    }

    fn update_pod(&self, pod: &Pod) {
        let Some(uid) = pod.metadata.uid.as_deref() else { return };
        let usage = pod_usage(pod);
        // No timer changes: no need to wake the timer loop.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(simulated) = state.pods.get_mut(uid) {
            simulated.usage = usage;
        }
    }

    fn usage(&self, pod: &PodUid) -> Vec<(Arc<str>, ContainerUsage)> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(simulated) = state.pods.get(pod) else { return Vec::new() };
        let apps = simulated.running.iter().filter(|(_, (_, init))| !init).map(|(name, _)| name.clone()).collect();
        split_usage(simulated.usage, apps)
    }
}

/// Pops due timers and sends their events; sleeps until the next deadline or a new timer.
async fn timer_loop(state: Arc<Mutex<State>>, wake: Arc<Notify>, events: mpsc::Sender<RuntimeEvent>) {
    let mut out = Vec::new();
    loop {
        let next = {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Timestamp::now();
            // Bounded batches keep the lock short when many timers fall due together.
            while out.len() < 1024 {
                let Some(due) = state.timers.pop_due(now) else { break };
                state.fire(due, now, &mut out);
            }
            if out.is_empty() { state.timers.next_deadline() } else { Some(now) }
        };
        for event in out.drain(..) {
            if events.send(event).await.is_err() {
                return; // the worker is gone
            }
        }
        match next {
            Some(at) => {
                let wait = until(Timestamp::now(), at);
                if !wait.is_zero() {
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = wake.notified() => {}
                    }
                }
            }
            None => wake.notified().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodSpec;

    fn pod(restart_policy: &str, annotations: &[(&str, &str)]) -> Pod {
        let mut pod = Pod::default();
        pod.metadata.annotations = Some(annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        pod.spec = Some(PodSpec { restart_policy: Some(restart_policy.into()), ..Default::default() });
        pod
    }

    #[test]
    fn always_pods_run_forever_unless_told_to_exit() {
        let timings = SimulatedTimings::default();
        assert_eq!(behaviour(&pod("Always", &[]), &timings).run_time, None);
        let crashing = behaviour(&pod("Always", &[(EXIT_CODE_ANNOTATION, "2")]), &timings);
        assert_eq!((crashing.run_time, crashing.exit_code), (Some(timings.default_run_time), 2));
    }

    #[test]
    fn run_to_completion_pods_exit_zero_after_the_default_or_annotated_time() {
        let timings = SimulatedTimings::default();
        let never = behaviour(&pod("Never", &[]), &timings);
        assert_eq!((never.run_time, never.exit_code), (Some(Duration::from_secs(1)), 0));
        let annotated =
            behaviour(&pod("OnFailure", &[(RUN_SECONDS_ANNOTATION, "2.5"), (EXIT_CODE_ANNOTATION, "1")]), &timings);
        assert_eq!((annotated.run_time, annotated.exit_code), (Some(Duration::from_millis(2500)), 1));
        let garbage =
            behaviour(&pod("Never", &[(RUN_SECONDS_ANNOTATION, "soon"), (EXIT_CODE_ANNOTATION, "x")]), &timings);
        assert_eq!((garbage.run_time, garbage.exit_code), (Some(Duration::from_secs(1)), 0));
    }

    #[test]
    fn usage_comes_from_annotations_and_splits_evenly() {
        let annotated = pod("Always", &[(CPU_USAGE_ANNOTATION, "1"), (MEMORY_USAGE_ANNOTATION, "64Mi")]);
        let total = pod_usage(&annotated);
        assert_eq!(total, ContainerUsage { cpu_nanocores: 1_000_000_000, memory_bytes: 64 << 20 });
        assert_eq!(pod_usage(&pod("Always", &[])), ContainerUsage::default(), "idle by default");
        assert_eq!(pod_usage(&pod("Always", &[(CPU_USAGE_ANNOTATION, "lots")])), ContainerUsage::default());
        let parts = split_usage(total, vec!["b".into(), "a".into(), "c".into()]);
        let names: Vec<&str> = parts.iter().map(|(n, _)| n.as_ref()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(parts[0].1.cpu_nanocores, 333_333_334);
        assert_eq!(parts[2].1.cpu_nanocores, 333_333_333);
        assert_eq!(parts.iter().map(|(_, u)| u.cpu_nanocores).sum::<u64>(), 1_000_000_000);
        assert_eq!(parts.iter().map(|(_, u)| u.memory_bytes).sum::<u64>(), 64 << 20);
        assert!(split_usage(total, Vec::new()).is_empty());
    }

    #[tokio::test]
    async fn usage_covers_running_app_containers_and_follows_annotation_changes() {
        let (tx, mut rx) = mpsc::channel(16);
        let timings = SimulatedTimings { startup_delay: Duration::from_millis(1), ..Default::default() };
        let (runtime, driver) = SimulatedRuntime::new(timings, tx);
        tokio::spawn(driver);
        let mut p = pod("Always", &[(CPU_USAGE_ANNOTATION, "500m"), (MEMORY_USAGE_ANNOTATION, "10Mi")]);
        p.metadata.uid = Some("u".into());
        let uid: PodUid = "u".into();
        assert!(runtime.usage(&uid).is_empty(), "unknown pod");
        runtime.create_sandbox(&p);
        assert_eq!(rx.recv().await, Some(RuntimeEvent::SandboxReady { pod: uid.clone() }));
        let run = |name: &str, init: bool| ContainerRun { pod: uid.clone(), container: name.into(), attempt: 0, init };
        runtime.start_container(run("setup", true));
        assert!(runtime.usage(&uid).is_empty(), "init containers use nothing");
        runtime.start_container(run("a", false));
        runtime.start_container(run("b", false));
        let usage = runtime.usage(&uid);
        assert_eq!(usage.len(), 2);
        assert!(usage.iter().all(|(_, u)| u.cpu_nanocores == 250_000_000 && u.memory_bytes == 5 << 20));
        p.metadata.annotations.as_mut().unwrap().insert(CPU_USAGE_ANNOTATION.into(), "2".into());
        runtime.update_pod(&p);
        assert!(runtime.usage(&uid).iter().all(|(_, u)| u.cpu_nanocores == 1_000_000_000));
        runtime.remove_pod(&uid);
        assert!(runtime.usage(&uid).is_empty());
    }

    #[test]
    fn stop_is_clean_within_grace_and_a_kill_beyond_it() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let slow = Behaviour { run_time: None, exit_code: 0, stop_time: Duration::from_secs(5) };
        assert_eq!(stop_outcome(&slow, Duration::from_secs(30), now), (after(now, Duration::from_secs(5)), 0));
        assert_eq!(stop_outcome(&slow, Duration::from_secs(2), now), (after(now, Duration::from_secs(2)), 137));
    }

    #[tokio::test]
    async fn reports_sandbox_start_exit_and_stop_in_order() {
        let (tx, mut rx) = mpsc::channel(16);
        let timings = SimulatedTimings {
            startup_delay: Duration::from_millis(10),
            default_run_time: Duration::from_millis(20),
            init_run_time: Duration::from_millis(5),
        };
        let (runtime, driver) = SimulatedRuntime::new(timings, tx);
        tokio::spawn(driver);
        let mut p = pod("Never", &[]);
        p.metadata.uid = Some("u1".into());
        runtime.create_sandbox(&p);
        let uid: PodUid = "u1".into();
        assert_eq!(rx.recv().await, Some(RuntimeEvent::SandboxReady { pod: uid.clone() }));
        let run = ContainerRun { pod: uid.clone(), container: "c".into(), attempt: 0, init: false };
        runtime.start_container(run.clone());
        assert!(matches!(rx.recv().await, Some(RuntimeEvent::Started { run: r, .. }) if r == run));
        assert!(matches!(rx.recv().await, Some(RuntimeEvent::Exited { run: r, exit_code: 0, .. }) if r == run));

        let again = ContainerRun { attempt: 1, ..run };
        let mut forever = pod("Always", &[]);
        forever.metadata.uid = Some("u1".into());
        runtime.remove_pod(&uid);
        runtime.create_sandbox(&forever);
        assert_eq!(rx.recv().await, Some(RuntimeEvent::SandboxReady { pod: uid.clone() }));
        runtime.start_container(again.clone());
        assert!(matches!(rx.recv().await, Some(RuntimeEvent::Started { .. })));
        runtime.stop_pod(&uid, Duration::from_secs(30));
        assert!(
            matches!(rx.recv().await, Some(RuntimeEvent::Exited { run: r, exit_code: 0, .. }) if r.attempt == 1 && r.container == again.container)
        );
    }
}
