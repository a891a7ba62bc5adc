//! The scheduling loop: the async glue around the pure parts.
//!
//! One task owns the cache, the queue and the algorithm. It takes, in this order of urgency:
//! watch events (nodes, pods, namespaces), bind results, then the next ready pod — but only
//! when a bind slot is free, so at most `bind_concurrency` bindings are in flight and the
//! queue, not memory, absorbs a burst. Status patches, victim deletions and Events go to
//! bounded channels served by small worker pools; when full they are dropped (a later attempt
//! writes them again) so the API's latency never stalls scheduling.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use crate::algorithm::Algorithm;
use crate::api::{self, Effect};
use crate::cache::{Cache, NodeChange};
use crate::pod_info::{PodInfo, PodKey};
use crate::preemption::{self, Outcome};
use crate::queue::SchedulingQueue;
use crate::{Error, SchedulerOptions};

/// Watch events waiting for the loop (back-pressure on the watch streams beyond this).
const INPUT_QUEUE: usize = 4096;
/// How often unschedulable pods are checked against `unschedulable_retry`.
const FLUSH_INTERVAL: Duration = Duration::from_secs(5);
/// Inputs handled before the next scheduling attempt, so a flood of events cannot starve it.
const INPUTS_PER_ROUND: usize = 256;

/// Runs the scheduler until the returned future is dropped (or a watch ends for good).
pub async fn run(client: Client, options: SchedulerOptions) -> Result<(), Error> {
    Scheduler::start(client, options).run().await
}

#[derive(Debug)]
enum Input {
    // Boxed: events are large and the channel holds thousands.
    Node(Box<watcher::Event<Node>>),
    Pod(Box<watcher::Event<Pod>>),
    Namespace(Box<watcher::Event<Namespace>>),
}

#[derive(Debug)]
struct BindResult {
    pod: Arc<PodInfo>,
    node: String,
    result: Result<(), kube::Error>,
}

/// Aborts the background tasks when the scheduler is dropped.
#[derive(Debug, Default)]
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Re-lists in progress: what the new list has shown so far.
#[derive(Debug, Default)]
struct Relist {
    nodes: Option<HashSet<String>>,
    pods: Option<HashSet<PodKey>>,
}

struct Scheduler {
    client: Client,
    options: SchedulerOptions,
    cache: Cache,
    queue: SchedulingQueue,
    algorithm: Algorithm,
    inputs: mpsc::Receiver<Input>,
    bind_tx: mpsc::Sender<BindResult>,
    bind_rx: mpsc::Receiver<BindResult>,
    bind_slots: Arc<Semaphore>,
    effects: mpsc::Sender<Effect>,
    events: mpsc::Sender<Event>,
    nodes_synced: bool,
    pods_synced: bool,
    relist: Relist,
    next_flush: Instant,
    _tasks: Tasks,
}

fn watch<K>(api: Api<K>, tx: mpsc::Sender<Input>, wrap: fn(Box<watcher::Event<K>>) -> Input) -> JoinHandle<()>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher(api, watcher::Config::default()).default_backoff());
        while let Some(item) = stream.next().await {
            match item {
                Ok(event) => {
                    if tx.send(wrap(Box::new(event))).await.is_err() {
                        return;
                    }
                }
                Err(err) => tracing::warn!(%err, "scheduler watch error (retrying)"),
            }
        }
    })
}

/// Serves a bounded channel with at most `concurrency` calls in flight.
fn serve<T, F, Fut>(mut rx: mpsc::Receiver<T>, concurrency: usize, call: F) -> JoinHandle<()>
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(concurrency.max(1)));
        while let Some(item) = rx.recv().await {
            let Ok(slot) = slots.clone().acquire_owned().await else { return };
            let work = call(item);
            tokio::spawn(async move {
                work.await;
                drop(slot);
            });
        }
    })
}

impl Scheduler {
    fn start(client: Client, options: SchedulerOptions) -> Self {
        let (input_tx, inputs) = mpsc::channel(INPUT_QUEUE);
        let (bind_tx, bind_rx) = mpsc::channel(options.bind_concurrency.max(1));
        let (effects, effects_rx) = mpsc::channel(options.event_queue.max(1));
        let (events, events_rx) = mpsc::channel(options.event_queue.max(1));
        let effect_client = client.clone();
        let event_client = client.clone();
        let tasks = Tasks(vec![
            watch(Api::<Node>::all(client.clone()), input_tx.clone(), Input::Node),
            watch(Api::<Pod>::all(client.clone()), input_tx.clone(), Input::Pod),
            watch(Api::<Namespace>::all(client.clone()), input_tx, Input::Namespace),
            serve(effects_rx, options.status_concurrency, move |effect: Effect| {
                let client = effect_client.clone();
                async move {
                    if let Err(err) = api::apply(&client, effect).await {
                        tracing::debug!(%err, "scheduler status/eviction call failed");
                    }
                }
            }),
            serve(events_rx, options.event_concurrency, move |event: Event| {
                let client = event_client.clone();
                async move {
                    if let Err(err) = api::post_event(&client, event).await {
                        tracing::debug!(%err, "scheduler event dropped");
                    }
                }
            }),
        ]);
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        Self {
            queue: SchedulingQueue::new(options.initial_backoff, options.max_backoff),
            algorithm: Algorithm::new(options.percentage_of_nodes_to_score, seed),
            bind_slots: Arc::new(Semaphore::new(options.bind_concurrency.max(1))),
            client,
            options,
            cache: Cache::default(),
            inputs,
            bind_tx,
            bind_rx,
            effects,
            events,
            nodes_synced: false,
            pods_synced: false,
            relist: Relist::default(),
            next_flush: Instant::now() + FLUSH_INTERVAL,
            _tasks: tasks,
        }
    }

    async fn run(mut self) -> Result<(), Error> {
        loop {
            for _ in 0..INPUTS_PER_ROUND {
                match self.inputs.try_recv() {
                    Ok(input) => self.on_input(input),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return Err(Error::WatchEnded),
                }
            }
            while let Ok(result) = self.bind_rx.try_recv() {
                self.on_bound(result);
            }
            let now = Instant::now();
            if now >= self.next_flush {
                self.queue.flush_unschedulable(now, self.options.unschedulable_retry);
                self.next_flush = now + FLUSH_INTERVAL;
            }
            let synced = self.nodes_synced && self.pods_synced;
            if synced
                && self.queue.has_ready(now)
                && let Ok(slot) = self.bind_slots.clone().try_acquire_owned()
            {
                if let Some(pod) = self.queue.pop(now) {
                    self.schedule_one(pod, slot);
                }
                continue;
            }
            let wake = self.queue.next_ready_at().unwrap_or(self.next_flush).min(self.next_flush);
            let want_slot = synced && self.queue.has_ready(now);
            let slots = self.bind_slots.clone();
            tokio::select! {
                biased;
                input = self.inputs.recv() => match input {
                    Some(input) => self.on_input(input),
                    None => return Err(Error::WatchEnded),
                },
                Some(result) = self.bind_rx.recv() => self.on_bound(result),
                // A bind finished elsewhere freed a slot: go round again.
                slot = slots.acquire(), if want_slot => drop(slot),
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
            }
        }
    }

    fn on_input(&mut self, input: Input) {
        let now = Instant::now();
        match input {
            Input::Node(event) => match *event {
                watcher::Event::Init => self.relist.nodes = Some(HashSet::new()),
                watcher::Event::InitApply(node) => {
                    if let Some(seen) = &mut self.relist.nodes {
                        seen.insert(node.metadata.name.clone().unwrap_or_default());
                    }
                    self.on_node(&node, now);
                }
                watcher::Event::InitDone => {
                    if let Some(seen) = self.relist.nodes.take() {
                        for name in self.cache.node_names() {
                            if !seen.contains(&name) {
                                self.cache.remove_node(&name);
                            }
                        }
                    }
                    self.nodes_synced = true;
                }
                watcher::Event::Apply(node) => self.on_node(&node, now),
                watcher::Event::Delete(node) => {
                    self.cache.remove_node(node.metadata.name.as_deref().unwrap_or_default())
                }
            },
            Input::Pod(event) => match *event {
                watcher::Event::Init => self.relist.pods = Some(HashSet::new()),
                watcher::Event::InitApply(pod) => {
                    let info = PodInfo::new(&pod);
                    if let Some(seen) = &mut self.relist.pods {
                        seen.insert(info.key.clone());
                    }
                    self.on_pod(info, now);
                }
                watcher::Event::InitDone => {
                    if let Some(seen) = self.relist.pods.take() {
                        for key in self.cache.bound_pod_keys().into_iter().chain(self.queue.keys()) {
                            if !seen.contains(&key) {
                                self.on_pod_deleted(&key, now);
                            }
                        }
                    }
                    self.pods_synced = true;
                }
                watcher::Event::Apply(pod) => self.on_pod(PodInfo::new(&pod), now),
                watcher::Event::Delete(pod) => self.on_pod_deleted(&PodInfo::new(&pod).key, now),
            },
            Input::Namespace(event) => match *event {
                watcher::Event::Apply(ns) | watcher::Event::InitApply(ns) => {
                    let name = ns.metadata.name.clone().unwrap_or_default();
                    self.cache.namespace_labels.insert(name, ns.metadata.labels.clone().unwrap_or_default());
                }
                watcher::Event::Delete(ns) => {
                    self.cache.namespace_labels.remove(ns.metadata.name.as_deref().unwrap_or_default());
                }
                watcher::Event::Init | watcher::Event::InitDone => {}
            },
        }
    }

    fn on_node(&mut self, node: &Node, now: Instant) {
        if self.cache.upsert_node(node) != NodeChange::Unchanged {
            self.queue.move_all(now);
        }
    }

    fn on_pod(&mut self, info: PodInfo, now: Instant) {
        if info.terminal {
            self.on_pod_deleted(&info.key, now);
            return;
        }
        if let Some(node) = info.node_name.clone() {
            self.queue.delete(&info.key);
            self.cache.add_bound_pod(Arc::new(info), &node);
            return;
        }
        // Our own decision is being bound: the watch has not caught up yet.
        if self.cache.is_assumed(&info.key) {
            return;
        }
        if info.deleting || info.gated || info.scheduler_name != self.options.scheduler_name {
            self.queue.delete(&info.key);
            return;
        }
        self.queue.add(Arc::new(info), now);
    }

    fn on_pod_deleted(&mut self, key: &PodKey, now: Instant) {
        self.queue.delete(key);
        if self.cache.remove_pod(key) {
            // Freed resources, ports, anti-affinity: unschedulable pods may fit now.
            self.queue.move_all(now);
        }
    }

    fn schedule_one(&mut self, pod: Arc<PodInfo>, slot: tokio::sync::OwnedSemaphorePermit) {
        let now = Instant::now();
        match self.algorithm.schedule(&self.cache, &pod) {
            Ok(decision) => {
                tracing::debug!(pod = %pod.key, node = %decision.node, evaluated = decision.evaluated, "scheduled");
                self.queue.done(&pod.key);
                self.cache.assume(pod.clone(), &decision.node);
                let client = self.client.clone();
                let results = self.bind_tx.clone();
                tokio::spawn(async move {
                    let result = api::bind(&client, &pod, &decision.node).await;
                    let _ = results.send(BindResult { pod, node: decision.node, result }).await;
                    drop(slot);
                });
            }
            Err(fit) => {
                drop(slot);
                let outcome = preemption::preempt(&self.cache, &pod, &fit);
                let (message, nominated) = match &outcome {
                    Outcome::Preempt(preemption) => {
                        for victim in &preemption.victims {
                            self.effect(Effect::Evict {
                                namespace: victim.namespace.clone(),
                                name: victim.name.clone(),
                                uid: victim.uid.clone(),
                            });
                            let message = format!("Preempted by pod {} on node {}", pod.uid, preemption.node);
                            self.event(&victim.clone(), "Normal", "Preempted", "Preempting", message);
                        }
                        (fit.message(None), Some(preemption.node.clone()))
                    }
                    Outcome::NotHelpful(_) => (fit.message(Some(&outcome.message())), None),
                };
                tracing::debug!(pod = %pod.key, %message, "unschedulable");
                self.event(&pod, "Warning", "FailedScheduling", "Scheduling", message.clone());
                self.effect(Effect::Unschedulable {
                    namespace: pod.namespace.clone(),
                    name: pod.name.clone(),
                    message,
                    nominated,
                });
                self.queue.failed_unschedulable(&pod.key, now);
            }
        }
    }

    fn on_bound(&mut self, bound: BindResult) {
        let BindResult { pod, node, result } = bound;
        match result {
            Ok(()) => {
                let message = format!("Successfully assigned {}/{} to {node}", pod.namespace, pod.name);
                self.event(&pod, "Normal", "Scheduled", "Binding", message);
            }
            Err(err) => {
                let now = Instant::now();
                self.cache.forget(&pod.key);
                self.queue.move_all(now);
                let gone = matches!(&err, kube::Error::Api(status) if status.code == 404);
                let already_bound = matches!(&err, kube::Error::Api(status) if status.code == 409);
                tracing::debug!(pod = %pod.key, %node, %err, "binding failed");
                if !gone && !already_bound {
                    self.event(&pod, "Warning", "FailedScheduling", "Scheduling", format!("Binding rejected: {err}"));
                    self.queue.failed_error(pod, now);
                }
            }
        }
    }

    fn effect(&self, effect: Effect) {
        if self.effects.try_send(effect).is_err() {
            tracing::debug!("scheduler side-effect queue full: dropped");
        }
    }

    fn event(&self, pod: &PodInfo, type_: &str, reason: &str, action: &str, message: String) {
        let event = api::event(&self.options.scheduler_name, pod, type_, reason, action, message);
        if self.events.try_send(event).is_err() {
            tracing::debug!("scheduler event queue full: dropped");
        }
    }
}
