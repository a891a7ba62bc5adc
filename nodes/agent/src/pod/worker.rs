//! The pod worker: one watch of every bound pod, one loop owning every pod's lifecycle. It feeds
//! the lifecycle with API changes, runtime events and timers, and carries out the effects: runtime
//! calls, timers, and API writes (status patches and the final delete) with bounded concurrency.
//! With a metrics handle ([`PodWorker::with_metrics`]) it also reports each running pod's usage
//! (from the runtime) after every change of the pod and every sample interval; the reporter
//! (`crate::metrics`) pushes it without ever making this loop wait.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};

use super::facts::PodFacts;
use super::lifecycle::{Effect, PodLifecycle, PodTimer, Stage};
use super::status::{ConditionClock, pod_status};
use super::writes::{Outcome, WriteBook, WriteKind};
use crate::Error;
use crate::addresses::PodIpPool;
use crate::metrics::{MetricsHandle, PodReport};
use crate::runtime::{ContainerRun, PodUid, Runtime, RuntimeEvent};
use crate::time::{after, until};
use crate::timers::TimerQueue;

/// Field manager of the agent's writes.
const FIELD_MANAGER: &str = "kubelet";
/// Pause before retrying a failed write.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// One node of this process, as the worker needs it.
#[derive(Debug)]
pub struct NodeSlot {
    pub host_ip: Ipv4Addr,
    pub pool: PodIpPool,
}

#[derive(Debug)]
struct Tracked {
    lifecycle: PodLifecycle,
    clock: ConditionClock,
    /// The pod IP is taken from the node's pool (until the pod ends or goes).
    ip_held: bool,
    /// The pod's labels (its PodMetrics carry them).
    labels: Arc<BTreeMap<String, String>>,
}

#[derive(Debug)]
enum WorkerTimer {
    Pod(PodUid, PodTimer),
    RetryWrites(PodUid),
    /// Report every running pod's usage again (runtimes whose usage moves by itself).
    SampleUsage,
}

#[derive(Debug)]
struct WriteDone {
    pod: PodUid,
    kind: WriteKind,
    outcome: Outcome,
}

/// The worker of every pod bound to `nodes`.
pub struct PodWorker<R> {
    client: Client,
    runtime: Arc<R>,
    nodes: HashMap<String, NodeSlot>,
    pods: HashMap<PodUid, Tracked>,
    timers: TimerQueue<WorkerTimer>,
    book: WriteBook,
    permits: Arc<Semaphore>,
    done_tx: mpsc::Sender<WriteDone>,
    done_rx: mpsc::Receiver<WriteDone>,
    /// Uids listed since the watch (re)started; pods not in it are gone.
    relisted: Option<HashSet<PodUid>>,
    /// Where running pods' usage goes, if reported.
    metrics: Option<MetricsHandle>,
}

impl<R> std::fmt::Debug for PodWorker<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodWorker")
            .field("nodes", &self.nodes.len())
            .field("pods", &self.pods.len())
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> PodWorker<R> {
    /// `write_concurrency` bounds the API writes in flight.
    pub fn new(client: Client, runtime: Arc<R>, nodes: HashMap<String, NodeSlot>, write_concurrency: usize) -> Self {
        // Each pod has at most one write in flight, so completions never outnumber pods; the
        // channel only needs to absorb a burst.
        let (done_tx, done_rx) = mpsc::channel(1024);
        Self {
            client,
            runtime,
            nodes,
            pods: HashMap::new(),
            timers: TimerQueue::default(),
            book: WriteBook::default(),
            permits: Arc::new(Semaphore::new(write_concurrency.max(1))),
            done_tx,
            done_rx,
            relisted: None,
            metrics: None,
        }
    }

    /// Reports running pods' usage through `metrics`.
    pub fn with_metrics(mut self, metrics: MetricsHandle) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Runs until the runtime's event channel closes.
    pub async fn run(mut self, mut runtime_events: mpsc::Receiver<RuntimeEvent>) -> Result<(), Error> {
        let config = watcher::Config::default().fields("spec.nodeName!=");
        let mut pods = std::pin::pin!(watcher(Api::<Pod>::all(self.client.clone()), config).default_backoff());
        if let Some(metrics) = &self.metrics {
            self.timers.schedule(after(Timestamp::now(), metrics.sample_interval()), WorkerTimer::SampleUsage);
        }
        loop {
            let wait = self.timers.next_deadline().map(|at| until(Timestamp::now(), at));
            let sleep = async {
                match wait {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                event = pods.next() => match event {
                    Some(Ok(event)) => self.on_watch(event),
                    Some(Err(err)) => tracing::warn!(%err, "pod watch failed; retrying"),
                    None => return Ok(()),
                },
                event = runtime_events.recv() => match event {
                    Some(event) => self.on_runtime(event),
                    None => return Err(Error::RuntimeStopped),
                },
                Some(done) = self.done_rx.recv() => self.on_write_done(done),
                () = sleep => self.on_timers(),
            }
        }
    }

    fn on_watch(&mut self, event: watcher::Event<Pod>) {
        match event {
            watcher::Event::Init => self.relisted = Some(HashSet::new()),
            watcher::Event::InitApply(pod) => {
                if let (Some(seen), Some(uid)) = (self.relisted.as_mut(), pod.metadata.uid.as_deref()) {
                    seen.insert(uid.into());
                }
                self.on_pod(&pod);
            }
            watcher::Event::InitDone => {
                if let Some(seen) = self.relisted.take() {
                    let gone: Vec<PodUid> = self.pods.keys().filter(|uid| !seen.contains(*uid)).cloned().collect();
                    gone.iter().for_each(|uid| self.forget(uid));
                }
            }
            watcher::Event::Apply(pod) => self.on_pod(&pod),
            watcher::Event::Delete(pod) => {
                if let Some(uid) = pod.metadata.uid.as_deref() {
                    self.forget(&uid.into());
                }
            }
        }
    }

    /// A pod was added or changed.
    fn on_pod(&mut self, pod: &Pod) {
        let Some(facts) = PodFacts::from_pod(pod) else { return };
        if !self.nodes.contains_key(&facts.node) {
            return;
        }
        let uid = facts.uid.clone();
        let labels = pod.metadata.labels.as_ref();
        if let Some(tracked) = self.pods.get_mut(&uid) {
            if labels.map_or(!tracked.labels.is_empty(), |l| *l != *tracked.labels) {
                tracked.labels = Arc::new(labels.cloned().unwrap_or_default());
            }
            self.runtime.update_pod(pod);
            let effects = tracked.lifecycle.updated(facts);
            self.apply(&uid, effects, None);
            return;
        }
        let now = Timestamp::now();
        let (lifecycle, effects) = if facts.is_terminal_in_api() {
            PodLifecycle::finished(facts, now)
        } else {
            PodLifecycle::admit(facts, now)
        };
        tracing::debug!(pod = %uid, "admitted");
        let labels = Arc::new(labels.cloned().unwrap_or_default());
        self.pods.insert(uid.clone(), Tracked { lifecycle, clock: ConditionClock::default(), ip_held: false, labels });
        self.apply(&uid, effects, Some(pod));
    }

    fn on_runtime(&mut self, event: RuntimeEvent) {
        let now = Timestamp::now();
        let (uid, effects) = match event {
            RuntimeEvent::SandboxReady { pod } => {
                let Some(ip) = self.allocate_ip(&pod) else { return };
                let Some(tracked) = self.pods.get_mut(&pod) else { return };
                (pod, tracked.lifecycle.sandbox_ready(ip, now))
            }
            RuntimeEvent::Started { run, at } => {
                let Some(tracked) = self.pods.get_mut(&run.pod) else { return };
                let effects = tracked.lifecycle.started(&run.container, run.attempt, at);
                (run.pod, effects)
            }
            RuntimeEvent::Exited { run, exit_code, at } => {
                let Some(tracked) = self.pods.get_mut(&run.pod) else { return };
                let effects = tracked.lifecycle.exited(&run.container, run.attempt, exit_code, at);
                (run.pod, effects)
            }
        };
        self.apply(&uid, effects, None);
    }

    /// The pod's IP: the one it had (agent restart) when still free, else the next free one.
    fn allocate_ip(&mut self, uid: &PodUid) -> Option<Ipv4Addr> {
        let tracked = self.pods.get_mut(uid)?;
        let slot = self.nodes.get_mut(&tracked.lifecycle.facts.node)?;
        let previous = tracked.lifecycle.facts.pod_ip.filter(|ip| slot.pool.reserve(*ip));
        let ip = previous.or_else(|| slot.pool.allocate());
        match ip {
            Some(_) => tracked.ip_held = true,
            None => {
                tracing::warn!(pod = %uid, node = %tracked.lifecycle.facts.node, "no free pod IP; the pod stays in ContainerCreating")
            }
        }
        ip
    }

    fn release_ip(&mut self, uid: &PodUid) {
        let Some(tracked) = self.pods.get_mut(uid) else { return };
        if let (true, Some(ip)) = (tracked.ip_held, tracked.lifecycle.pod_ip)
            && let Some(slot) = self.nodes.get_mut(&tracked.lifecycle.facts.node)
        {
            slot.pool.release(ip);
        }
        tracked.ip_held = false;
    }

    fn on_timers(&mut self) {
        let now = Timestamp::now();
        while let Some(timer) = self.timers.pop_due(now) {
            match timer {
                WorkerTimer::Pod(uid, timer) => {
                    let Some(tracked) = self.pods.get_mut(&uid) else { continue };
                    let effects = tracked.lifecycle.timer(&timer);
                    self.apply(&uid, effects, None);
                }
                WorkerTimer::RetryWrites(uid) => self.dispatch(&uid),
                WorkerTimer::SampleUsage => {
                    let running: Vec<PodUid> = self
                        .pods
                        .iter()
                        .filter(|(_, t)| t.lifecycle.stage == Stage::Running)
                        .map(|(uid, _)| uid.clone())
                        .collect();
                    running.iter().for_each(|uid| self.report_usage(uid));
                    if let Some(metrics) = &self.metrics {
                        self.timers.schedule(after(now, metrics.sample_interval()), WorkerTimer::SampleUsage);
                    }
                }
            }
        }
    }

    fn on_write_done(&mut self, done: WriteDone) {
        self.book.done(&done.pod, done.kind, done.outcome);
        if done.outcome == Outcome::Retry {
            self.timers.schedule(after(Timestamp::now(), RETRY_AFTER), WorkerTimer::RetryWrites(done.pod));
        } else {
            self.dispatch(&done.pod);
        }
    }

    /// The pod is gone from the API: drop everything about it.
    fn forget(&mut self, uid: &PodUid) {
        self.release_ip(uid);
        if self.pods.remove(uid).is_some() {
            self.runtime.remove_pod(uid);
            tracing::debug!(pod = %uid, "forgotten");
        }
        self.book.forget(uid);
        self.report_usage(uid);
    }

    /// Reports the pod's usage: its running app containers while it runs and is not being
    /// deleted, else nothing (its PodMetrics goes).
    fn report_usage(&self, uid: &PodUid) {
        let Some(metrics) = &self.metrics else { return };
        let report = self.pods.get(uid).and_then(|tracked| {
            let lifecycle = &tracked.lifecycle;
            if lifecycle.stage != Stage::Running || lifecycle.facts.deleting {
                return None;
            }
            let running = |name: &str| lifecycle.containers.iter().any(|c| &*c.facts.name == name && c.is_running());
            let containers: Vec<_> = self.runtime.usage(uid).into_iter().filter(|(name, _)| running(name)).collect();
            if containers.is_empty() {
                return None;
            }
            let facts = &lifecycle.facts;
            Some(PodReport {
                namespace: facts.namespace.clone(),
                name: facts.name.clone(),
                node: facts.node.clone(),
                labels: tracked.labels.clone(),
                containers,
            })
        });
        metrics.report(uid, report);
    }

    fn apply(&mut self, uid: &PodUid, effects: Vec<Effect>, pod: Option<&Pod>) {
        for effect in effects {
            match effect {
                Effect::CreateSandbox => {
                    if let Some(pod) = pod {
                        self.runtime.create_sandbox(pod);
                    }
                }
                Effect::Start { name, attempt, init } => {
                    self.runtime.start_container(ContainerRun { pod: uid.clone(), container: name, attempt, init });
                }
                Effect::Stop { grace } => self.runtime.stop_pod(uid, grace),
                Effect::Wake { at, timer } => self.timers.schedule(at, WorkerTimer::Pod(uid.clone(), timer)),
                Effect::WriteStatus => self.book.want(uid, WriteKind::Status),
                Effect::Delete => self.book.want(uid, WriteKind::Delete),
                Effect::ReleaseIp => self.release_ip(uid),
            }
        }
        self.dispatch(uid);
        self.report_usage(uid);
    }

    /// Starts the pod's next write unless one is in flight.
    fn dispatch(&mut self, uid: &PodUid) {
        let Some(tracked) = self.pods.get_mut(uid) else {
            self.book.forget(uid);
            return;
        };
        let Some(kind) = self.book.next(uid) else { return };
        let facts = &tracked.lifecycle.facts;
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &facts.namespace);
        let name = facts.name.clone();
        let request = match kind {
            WriteKind::Status => {
                let host_ip = self.nodes.get(&facts.node).map_or(Ipv4Addr::UNSPECIFIED, |slot| slot.host_ip);
                let status = pod_status(&tracked.lifecycle, &mut tracked.clock, host_ip, Timestamp::now());
                Request::Status(json!({"status": status}))
            }
            WriteKind::Delete => Request::Delete,
        };
        let (permits, done, pod) = (self.permits.clone(), self.done_tx.clone(), uid.clone());
        tokio::spawn(async move {
            let outcome = match permits.acquire_owned().await {
                Ok(_permit) => request.send(&api, &name, &pod).await,
                Err(_) => Outcome::Retry,
            };
            let _ = done.send(WriteDone { pod, kind, outcome }).await;
        });
    }
}

#[derive(Debug)]
enum Request {
    Status(serde_json::Value),
    Delete,
}

impl Request {
    async fn send(self, api: &Api<Pod>, name: &str, uid: &PodUid) -> Outcome {
        let result = match self {
            Request::Status(patch) => {
                let params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() };
                api.patch_status(name, &params, &Patch::Merge(&patch)).await.map(drop)
            }
            Request::Delete => {
                // As the kubelet: grace 0 (the containers are already stopped) and only this pod,
                // not a new one that took its name.
                let params = DeleteParams {
                    grace_period_seconds: Some(0),
                    preconditions: Some(Preconditions { uid: Some(uid.to_string()), resource_version: None }),
                    ..Default::default()
                };
                api.delete(name, &params).await.map(drop)
            }
        };
        match result {
            Ok(()) => Outcome::Done,
            // Gone, or replaced by another pod of that name: nothing left to write.
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Outcome::Done,
            Err(err) => {
                tracing::warn!(pod = %name, %err, "pod write failed; will retry");
                Outcome::Retry
            }
        }
    }
}
