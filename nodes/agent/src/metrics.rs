//! The metrics reporter: pushes what the runtime says running pods use to the API server's
//! `metrics.k8s.io/v1beta1` (served from memory there), where `kubectl top` and the
//! HorizontalPodAutoscaler read it. Upstream's metrics-server scrapes kubelets; our agents push.
//!
//! ```text
//! pod worker ──report(uid, Some(report) | None)──► Shared { desired per pod, queue, node sums }
//!                                                      │ (coalesced: one entry per pod)
//!                          MetricsReporter::run ◄──────┘ PUT PodMetrics / DELETE it,
//!                                                        PUT NodeMetrics per node
//! ```
//!
//! * The worker calls [`MetricsHandle::report`] after every change of a pod (and on a periodic
//!   sample): `Some` while the pod's app containers run, `None` once it stops, is deleted or
//!   forgotten. The call never blocks on the network: it updates the pod's desired state under
//!   a short lock, queues the pod once however often it changes, and wakes the reporter.
//!   Reports equal to the last one are dropped there.
//! * The reporter sends at most `concurrency` requests at once and one at a time per pod; the
//!   queue holds each pod at most once, so 30,000 pods on 5,000 nodes make bounded work. A
//!   failed push is retried after [`RETRY_AFTER`]; the worker loop never waits for it.
//! * PodMetrics: `PUT` when a pod's containers run and whenever their usage changes (a level,
//!   not a sample: the server stamps each answer with the time of serving), `DELETE` when the
//!   pod stops or goes. Labels are the pod's.
//! * NodeMetrics: the sum of the node's reported pods, `PUT` at most once per `interval` when
//!   it changed and at least every `refresh` (60 s) so the server, which drops node entries
//!   after 5 minutes without one, knows the node is alive.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kube::api::{ApiResource, DeleteParams, DynamicObject, ObjectMeta, PostParams, TypeMeta};
use kube::{Api, Client};
use serde_json::json;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::time::Instant;

use crate::runtime::{ContainerUsage, PodUid};

pub const GROUP: &str = "metrics.k8s.io";
pub const VERSION: &str = "v1beta1";
const API_VERSION: &str = "metrics.k8s.io/v1beta1";
/// `window` of every pushed object (metrics-server's usual resolution).
pub const WINDOW: &str = "15s";
/// Pause before a failed push is tried again.
pub const RETRY_AFTER: Duration = Duration::from_secs(2);
/// How often the reporter looks at its nodes' push deadlines and due retries.
const TICK: Duration = Duration::from_millis(500);

/// How the reporter paces itself.
#[derive(Debug, Clone)]
pub struct MetricsOptions {
    /// Least time between two NodeMetrics pushes of one node that changed, and how often the
    /// worker samples running pods' usage again (default 10 s).
    pub interval: Duration,
    /// Longest time between two NodeMetrics pushes of one node, changed or not (default 60 s;
    /// the server drops a node's entry after 5 minutes without one).
    pub refresh: Duration,
    /// Requests in flight at once (default 16).
    pub concurrency: usize,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        Self { interval: Duration::from_secs(10), refresh: Duration::from_secs(60), concurrency: 16 }
    }
}

/// What one running pod uses, as pushed in its PodMetrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodReport {
    pub namespace: String,
    pub name: String,
    pub node: String,
    pub labels: Arc<BTreeMap<String, String>>,
    /// Running app containers and their usage.
    pub containers: Vec<(Arc<str>, ContainerUsage)>,
}

impl PodReport {
    fn total(&self) -> ContainerUsage {
        self.containers.iter().fold(ContainerUsage::default(), |sum, (_, usage)| add(sum, *usage))
    }
}

fn add(a: ContainerUsage, b: ContainerUsage) -> ContainerUsage {
    ContainerUsage {
        cpu_nanocores: a.cpu_nanocores.saturating_add(b.cpu_nanocores),
        memory_bytes: a.memory_bytes.saturating_add(b.memory_bytes),
    }
}

fn sub(a: ContainerUsage, b: ContainerUsage) -> ContainerUsage {
    ContainerUsage {
        cpu_nanocores: a.cpu_nanocores.saturating_sub(b.cpu_nanocores),
        memory_bytes: a.memory_bytes.saturating_sub(b.memory_bytes),
    }
}

/// What the server should hold for one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Desired {
    Running(PodReport),
    /// The pod stopped or went: its entry is to be deleted (then this is dropped).
    Gone {
        namespace: String,
        name: String,
    },
}

#[derive(Debug, Default)]
struct NodeState {
    labels: BTreeMap<String, String>,
    /// Sum of the node's running pods.
    usage: ContainerUsage,
    /// Changed since the last push started.
    changed: bool,
    last_push: Option<Instant>,
    in_flight: bool,
}

/// State shared by the worker (writes desired states) and the reporter (pushes them).
#[derive(Debug, Default)]
struct Shared {
    desired: HashMap<PodUid, Desired>,
    /// Pods whose desired state changed, each at most once.
    queue: VecDeque<PodUid>,
    queued: HashSet<PodUid>,
    nodes: HashMap<String, NodeState>,
}

impl Shared {
    /// Records a pod's desired state; `false` when nothing changed.
    fn set(&mut self, uid: &PodUid, report: Option<PodReport>) -> bool {
        let old = self.desired.get(uid);
        let next = match (old, report) {
            (Some(Desired::Running(old)), Some(new)) if *old == new => return false,
            (None | Some(Desired::Gone { .. }), None) => return false,
            (_, Some(new)) => Desired::Running(new),
            (Some(Desired::Running(old)), None) => {
                Desired::Gone { namespace: old.namespace.clone(), name: old.name.clone() }
            }
        };
        if let Some(Desired::Running(old)) = old {
            let (node, total) = (old.node.clone(), old.total());
            let state = self.nodes.entry(node).or_default();
            state.usage = sub(state.usage, total);
            state.changed = true;
        }
        if let Desired::Running(new) = &next {
            let state = self.nodes.entry(new.node.clone()).or_default();
            state.usage = add(state.usage, new.total());
            state.changed = true;
        }
        self.desired.insert(uid.clone(), next);
        self.enqueue(uid);
        true
    }

    fn enqueue(&mut self, uid: &PodUid) {
        if self.queued.insert(uid.clone()) {
            self.queue.push_back(uid.clone());
        }
    }

    /// Nodes whose NodeMetrics is due at `now`: changed and last pushed at least `interval`
    /// ago, or last pushed at least `refresh` ago, or never pushed.
    fn due_nodes(&self, now: Instant, options: &MetricsOptions) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, n)| {
                !n.in_flight
                    && n.last_push.is_none_or(|at| {
                        let since = now.saturating_duration_since(at);
                        (n.changed && since >= options.interval) || since >= options.refresh
                    })
            })
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// The worker's side of the reporter: cheap to clone, never blocks on the network.
#[derive(Debug, Clone)]
pub struct MetricsHandle {
    shared: Arc<Mutex<Shared>>,
    wake: Arc<Notify>,
    interval: Duration,
}

impl MetricsHandle {
    /// The pod's current usage (`Some` while its app containers run), or `None` once it does
    /// not run (its PodMetrics is then deleted). Repeats of the last report cost a comparison.
    pub fn report(&self, uid: &PodUid, report: Option<PodReport>) {
        let changed = self.shared.lock().unwrap_or_else(PoisonError::into_inner).set(uid, report);
        if changed {
            self.wake.notify_one();
        }
    }

    /// How often the worker should sample running pods' usage again.
    pub fn sample_interval(&self) -> Duration {
        self.interval
    }
}

/// The pushing side; run it with [`MetricsReporter::run`].
pub struct MetricsReporter {
    client: Client,
    shared: Arc<Mutex<Shared>>,
    wake: Arc<Notify>,
    options: MetricsOptions,
}

impl std::fmt::Debug for MetricsReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsReporter").field("options", &self.options).finish_non_exhaustive()
    }
}

/// A reporter for `nodes` (name and labels: NodeMetrics carry the node's labels) and the
/// handle the pod worker reports through.
pub fn reporter(
    client: Client,
    nodes: impl IntoIterator<Item = (String, BTreeMap<String, String>)>,
    options: MetricsOptions,
) -> (MetricsHandle, MetricsReporter) {
    let mut shared = Shared::default();
    for (name, labels) in nodes {
        shared.nodes.insert(name, NodeState { labels, ..NodeState::default() });
    }
    let shared = Arc::new(Mutex::new(shared));
    let wake = Arc::new(Notify::new());
    let handle = MetricsHandle { shared: shared.clone(), wake: wake.clone(), interval: options.interval };
    (handle, MetricsReporter { client, shared, wake, options })
}

#[derive(Debug)]
enum Done {
    Pod { uid: PodUid, ok: bool, deleted: bool },
    Node { name: String, ok: bool },
}

/// What a push was about, to report its completion.
#[derive(Debug)]
enum Key {
    /// A pod, and whether the push was its delete.
    Pod(PodUid, bool),
    Node(String),
}

impl Key {
    fn done(self, ok: bool) -> Done {
        match self {
            Key::Pod(uid, deleted) => Done::Pod { uid, ok, deleted },
            Key::Node(name) => Done::Node { name, ok },
        }
    }
}

#[derive(Debug)]
enum Push {
    Pod(PodReport),
    DeletePod { namespace: String, name: String },
    Node { name: String, labels: BTreeMap<String, String>, usage: ContainerUsage },
}

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: GROUP.into(),
        version: VERSION.into(),
        api_version: API_VERSION.into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

fn usage_json(usage: ContainerUsage) -> serde_json::Value {
    json!({"cpu": format!("{}n", usage.cpu_nanocores), "memory": usage.memory_bytes.to_string()})
}

fn object(kind: &str, name: &str, namespace: Option<&str>, labels: &BTreeMap<String, String>) -> DynamicObject {
    DynamicObject {
        types: Some(TypeMeta { api_version: API_VERSION.into(), kind: kind.into() }),
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: namespace.map(str::to_string),
            labels: Some(labels.clone()).filter(|l| !l.is_empty()),
            ..ObjectMeta::default()
        },
        data: json!({}),
    }
}

impl Push {
    /// Sends the request; `true` on success (a delete of what is already gone included).
    async fn send(self, client: Client) -> bool {
        let result = match &self {
            Push::Pod(report) => {
                let api: Api<DynamicObject> =
                    Api::namespaced_with(client, &report.namespace, &resource("PodMetrics", "pods"));
                let containers: Vec<_> = report
                    .containers
                    .iter()
                    .map(|(name, usage)| json!({"name": name.as_ref(), "usage": usage_json(*usage)}))
                    .collect();
                let mut obj = object("PodMetrics", &report.name, Some(&report.namespace), &report.labels);
                obj.data = json!({"window": WINDOW, "containers": containers});
                api.replace(&report.name, &PostParams::default(), &obj).await.map(drop)
            }
            Push::DeletePod { namespace, name } => {
                let api: Api<DynamicObject> = Api::namespaced_with(client, namespace, &resource("PodMetrics", "pods"));
                match api.delete(name, &DeleteParams::default()).await {
                    Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
                    other => other.map(drop),
                }
            }
            Push::Node { name, labels, usage } => {
                let api: Api<DynamicObject> = Api::all_with(client, &resource("NodeMetrics", "nodes"));
                let mut obj = object("NodeMetrics", name, None, labels);
                obj.data = json!({"window": WINDOW, "usage": usage_json(*usage)});
                api.replace(name, &PostParams::default(), &obj).await.map(drop)
            }
        };
        match result {
            Ok(()) => true,
            Err(err) => {
                tracing::debug!(?self, %err, "metrics push failed; will retry");
                false
            }
        }
    }
}

impl MetricsReporter {
    /// Pushes until the future is dropped.
    pub async fn run(self) {
        let concurrency = self.options.concurrency.max(1);
        let permits = Arc::new(Semaphore::new(concurrency));
        // Every in-flight push sends one completion: the channel never holds more than that.
        let (done_tx, mut done_rx) = mpsc::channel::<Done>(concurrency);
        let mut in_flight: HashSet<PodUid> = HashSet::new();
        // Pods changed while a push of theirs was in flight: queued again when it completes.
        let mut deferred: HashSet<PodUid> = HashSet::new();
        let mut retries: VecDeque<(Instant, PodUid)> = VecDeque::new();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = self.wake.notified() => {}
                _ = tick.tick() => {}
                Some(done) = done_rx.recv() => self.on_done(done, &mut in_flight, &mut deferred, &mut retries),
            }
            while let Ok(done) = done_rx.try_recv() {
                self.on_done(done, &mut in_flight, &mut deferred, &mut retries);
            }
            let now = Instant::now();
            let mut pushes = Vec::new();
            {
                let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
                while retries.front().is_some_and(|(at, _)| *at <= now) {
                    let (_, uid) = retries.pop_front().expect("checked");
                    shared.enqueue(&uid);
                }
                let mut free = permits.available_permits();
                while free > 0 {
                    let Some(uid) = shared.queue.pop_front() else { break };
                    shared.queued.remove(&uid);
                    if in_flight.contains(&uid) {
                        deferred.insert(uid);
                        continue;
                    }
                    let push = match shared.desired.get(&uid) {
                        Some(Desired::Running(report)) => Push::Pod(report.clone()),
                        Some(Desired::Gone { namespace, name }) => {
                            Push::DeletePod { namespace: namespace.clone(), name: name.clone() }
                        }
                        None => continue,
                    };
                    in_flight.insert(uid.clone());
                    let deleted = matches!(push, Push::DeletePod { .. });
                    pushes.push((Key::Pod(uid, deleted), push));
                    free -= 1;
                }
                for name in shared.due_nodes(now, &self.options).into_iter().take(free) {
                    let node = shared.nodes.get_mut(&name).expect("listed");
                    node.in_flight = true;
                    node.changed = false;
                    let (labels, usage) = (node.labels.clone(), node.usage);
                    pushes.push((Key::Node(name.clone()), Push::Node { name, labels, usage }));
                }
            }
            for (key, push) in pushes {
                let permit = permits.clone().try_acquire_owned().expect("counted under the lock");
                let (client, done) = (self.client.clone(), done_tx.clone());
                tokio::spawn(async move {
                    let ok = push.send(client).await;
                    drop(permit);
                    let _ = done.send(key.done(ok)).await;
                });
            }
        }
    }

    fn on_done(
        &self,
        done: Done,
        in_flight: &mut HashSet<PodUid>,
        deferred: &mut HashSet<PodUid>,
        retries: &mut VecDeque<(Instant, PodUid)>,
    ) {
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        match done {
            Done::Pod { uid, ok, deleted } => {
                in_flight.remove(&uid);
                if ok && deleted && matches!(shared.desired.get(&uid), Some(Desired::Gone { .. })) {
                    shared.desired.remove(&uid);
                }
                if deferred.remove(&uid) {
                    shared.enqueue(&uid);
                } else if !ok {
                    retries.push_back((Instant::now() + RETRY_AFTER, uid));
                }
            }
            Done::Node { name, ok } => {
                if let Some(node) = shared.nodes.get_mut(&name) {
                    node.in_flight = false;
                    node.last_push = Some(Instant::now());
                    // Failed: push again after `interval` (a retry), as if it had changed.
                    node.changed |= !ok;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, node: &str, cpu: u64) -> PodReport {
        PodReport {
            namespace: "ns".into(),
            name: name.into(),
            node: node.into(),
            labels: Arc::new(BTreeMap::from([("app".to_string(), "web".to_string())])),
            containers: vec![("c".into(), ContainerUsage { cpu_nanocores: cpu, memory_bytes: 1 << 20 })],
        }
    }

    fn node_usage(shared: &Shared, node: &str) -> (u64, u64) {
        let usage = shared.nodes[node].usage;
        (usage.cpu_nanocores, usage.memory_bytes)
    }

    #[test]
    fn repeated_reports_coalesce_and_node_sums_follow_pods() {
        let mut shared = Shared::default();
        let (a, b): (PodUid, PodUid) = ("a".into(), "b".into());
        assert!(!shared.set(&a, None), "a pod that never ran has nothing to delete");
        assert!(shared.set(&a, Some(report("a", "n-0", 100))));
        assert!(!shared.set(&a, Some(report("a", "n-0", 100))), "same report: no work");
        assert!(shared.set(&a, Some(report("a", "n-0", 300))));
        assert!(shared.set(&b, Some(report("b", "n-0", 50))));
        assert_eq!(shared.queue.len(), 2, "each pod queued once");
        assert_eq!(node_usage(&shared, "n-0"), (350, 2 << 20));

        shared.queue.clear();
        shared.queued.clear();
        assert!(shared.set(&a, None));
        assert_eq!(shared.desired[&a], Desired::Gone { namespace: "ns".into(), name: "a".into() });
        assert_eq!(node_usage(&shared, "n-0"), (50, 1 << 20));
        assert!(!shared.set(&a, None), "already gone");
        assert_eq!(shared.queue.iter().collect::<Vec<_>>(), [&a]);
        // Back to running (a restarted container): an update again.
        assert!(shared.set(&a, Some(report("a", "n-0", 10))));
        assert_eq!(node_usage(&shared, "n-0"), (60, 2 << 20));
    }

    #[test]
    fn nodes_are_due_when_changed_after_the_interval_or_at_the_refresh() {
        let options =
            MetricsOptions { interval: Duration::from_secs(10), refresh: Duration::from_secs(60), concurrency: 4 };
        let mut shared = Shared::default();
        shared.nodes.insert("n-0".into(), NodeState::default());
        let start = Instant::now();
        assert_eq!(shared.due_nodes(start, &options), ["n-0"], "never pushed");
        let node = shared.nodes.get_mut("n-0").unwrap();
        node.last_push = Some(start);
        assert!(shared.due_nodes(start + Duration::from_secs(30), &options).is_empty(), "unchanged");
        assert_eq!(shared.due_nodes(start + Duration::from_secs(60), &options), ["n-0"], "refresh");
        shared.set(&"p".into(), Some(report("p", "n-0", 1)));
        assert!(shared.due_nodes(start + Duration::from_secs(5), &options).is_empty(), "at most every 10 s");
        assert_eq!(shared.due_nodes(start + Duration::from_secs(10), &options), ["n-0"]);
        shared.nodes.get_mut("n-0").unwrap().in_flight = true;
        assert!(shared.due_nodes(start + Duration::from_secs(100), &options).is_empty(), "one push at a time");
    }
}
