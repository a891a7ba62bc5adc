//! Events, as upstream controllers record them (core/v1 Events, which `kubectl describe`
//! shows): written in the background through a bounded queue so a busy API server never
//! stalls a controller (events are dropped when the queue is full, as client-go does), and
//! repeated events of one object aggregated into one Event with a growing `count`.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use tokio::sync::mpsc;

/// Events waiting to be written.
const QUEUE: usize = 1024;
/// Aggregation memory (distinct recent events); cleared when full.
const RECENT: usize = 4096;

/// `Normal` or `Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

#[derive(Debug)]
struct Pending {
    component: &'static str,
    regarding: ObjectReference,
    event_type: EventType,
    reason: String,
    message: String,
}

/// Records events for one component (`replicaset-controller`, `default-scheduler`, ...).
#[derive(Debug, Clone)]
pub struct Recorder {
    component: &'static str,
    queue: mpsc::Sender<Pending>,
}

/// The object reference an Event points at.
pub fn object_reference<K: Resource<DynamicType = ()>>(obj: &K) -> ObjectReference {
    ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: Some(obj.name_any()),
        namespace: obj.namespace(),
        uid: obj.uid(),
        resource_version: obj.resource_version(),
        field_path: None,
    }
}

/// The writer shared by every recorder of a process.
#[derive(Debug, Clone)]
pub struct EventSink {
    queue: mpsc::Sender<Pending>,
}

impl EventSink {
    /// Starts the background writer.
    pub fn start(client: Client) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_events(client, receiver));
        Self { queue }
    }

    pub fn recorder(&self, component: &'static str) -> Recorder {
        Recorder { component, queue: self.queue.clone() }
    }
}

impl Recorder {
    pub fn normal<K: Resource<DynamicType = ()>>(&self, obj: &K, reason: &str, message: impl Into<String>) {
        self.record(object_reference(obj), EventType::Normal, reason, message.into());
    }

    pub fn warning<K: Resource<DynamicType = ()>>(&self, obj: &K, reason: &str, message: impl Into<String>) {
        self.record(object_reference(obj), EventType::Warning, reason, message.into());
    }

    pub fn record(&self, regarding: ObjectReference, event_type: EventType, reason: &str, message: String) {
        let pending = Pending { component: self.component, regarding, event_type, reason: reason.to_string(), message };
        if self.queue.try_send(pending).is_err() {
            tracing::debug!(component = self.component, "event queue full; event dropped");
        }
    }
}

/// Identity of an event for aggregation: same object, type, reason and message.
type EventKey = (String, String, &'static str, String, String);

async fn write_events(client: Client, mut receiver: mpsc::Receiver<Pending>) {
    let mut recent: HashMap<EventKey, (String, i32)> = HashMap::new();
    while let Some(pending) = receiver.recv().await {
        let namespace = pending.regarding.namespace.clone().unwrap_or_else(|| "default".to_string());
        let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
        let key: EventKey = (
            pending.regarding.uid.clone().unwrap_or_default(),
            pending.regarding.name.clone().unwrap_or_default(),
            pending.event_type.as_str(),
            pending.reason.clone(),
            pending.message.clone(),
        );
        let now = Time(Timestamp::now());
        if let Some((name, count)) = recent.get_mut(&key) {
            *count += 1;
            let patch = json!({"count": *count, "lastTimestamp": now});
            if api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.is_ok() {
                continue;
            }
        }
        let name =
            format!("{}.{:x}", pending.regarding.name.as_deref().unwrap_or("object"), Timestamp::now().as_nanosecond());
        let event = Event {
            metadata: ObjectMeta { name: Some(name.clone()), namespace: Some(namespace), ..Default::default() },
            involved_object: pending.regarding,
            reason: Some(pending.reason),
            message: Some(pending.message),
            type_: Some(pending.event_type.as_str().to_string()),
            source: Some(EventSource { component: Some(pending.component.to_string()), host: None }),
            reporting_component: Some(pending.component.to_string()),
            reporting_instance: Some(pending.component.to_string()),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            count: Some(1),
            ..Default::default()
        };
        match api.create(&PostParams::default(), &event).await {
            Ok(_) => {
                if recent.len() >= RECENT {
                    recent.clear();
                }
                recent.insert(key, (name, 1));
            }
            Err(err) => tracing::debug!(%err, "event not written"),
        }
    }
}
