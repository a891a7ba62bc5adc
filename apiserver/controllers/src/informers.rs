//! Shared informers: one watch and one in-memory cache per resource type for every
//! controller in the process (30,000 pods are cached once, not once per controller), and a
//! change stream per subscriber that carries deletions too (kube-runtime's shared reflector
//! forwards only applied objects, and a controller must learn that a child is gone).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt, TryStreamExt};
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

/// Bound of each subscriber's queue: a slow controller slows the informer (backpressure)
/// instead of growing memory without limit.
const SUBSCRIBER_QUEUE: usize = 4096;

/// What a resource type needs to be informed about.
pub trait Informable: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static {}
impl<K> Informable for K where K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static {}

/// The informers of one process, created on first use.
#[derive(Clone)]
pub struct Informers {
    client: Client,
    by_type: Arc<Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>>,
}

impl Debug for Informers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Informers").finish_non_exhaustive()
    }
}

impl Informers {
    pub fn new(client: Client) -> Self {
        Self { client, by_type: Arc::default() }
    }

    /// The informer of `K` (all namespaces), started on first use.
    pub fn get<K: Informable>(&self) -> Arc<Informer<K>> {
        let mut by_type = self.by_type.lock().expect("informer map lock");
        if let Some(existing) = by_type.get(&TypeId::of::<K>()) {
            return existing.clone().downcast::<Informer<K>>().expect("informer map keyed by type");
        }
        let informer = Informer::<K>::start(Api::all(self.client.clone()));
        by_type.insert(TypeId::of::<K>(), informer.clone());
        informer
    }
}

/// One resource type's cache and its subscribers.
pub struct Informer<K: Informable> {
    store: Store<K>,
    subscribers: Mutex<Vec<mpsc::Sender<Arc<K>>>>,
}

impl<K: Informable> Debug for Informer<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Informer").field("kind", &K::kind(&())).field("cached", &self.store.state().len()).finish()
    }
}

impl<K: Informable> Informer<K>
where
    ObjectRef<K>: Hash + Eq,
{
    fn start(api: Api<K>) -> Arc<Self> {
        let (store, mut writer) = reflector::store();
        let informer = Arc::new(Self { store, subscribers: Mutex::new(Vec::new()) });
        let feeding = informer.clone();
        tokio::spawn(async move {
            let mut events = watcher::watcher(api, watcher::Config::default()).default_backoff().boxed();
            // Objects of a relist that replaces the cache; those missing from it were deleted
            // while the watch was down and are reported as deletions.
            let mut relisted: Vec<Arc<K>> = Vec::new();
            loop {
                let event = match events.try_next().await {
                    Ok(Some(event)) => event,
                    Ok(None) => break,
                    Err(err) => {
                        tracing::warn!(kind = K::kind(&()).as_ref(), %err, "informer watch failed; retrying");
                        continue;
                    }
                };
                let changed: Vec<Arc<K>> = match &event {
                    Event::Apply(obj) | Event::Delete(obj) => vec![Arc::new(obj.clone())],
                    Event::Init => {
                        relisted.clear();
                        Vec::new()
                    }
                    Event::InitApply(obj) => {
                        relisted.push(Arc::new(obj.clone()));
                        Vec::new()
                    }
                    Event::InitDone => {
                        let kept: std::collections::HashSet<ObjectRef<K>> =
                            relisted.iter().map(|o| ObjectRef::from_obj(o.as_ref())).collect();
                        let mut changed: Vec<Arc<K>> = feeding
                            .store
                            .state()
                            .into_iter()
                            .filter(|o| !kept.contains(&ObjectRef::from_obj(o.as_ref())))
                            .collect();
                        changed.append(&mut relisted);
                        changed
                    }
                };
                writer.apply_watcher_event(&event);
                feeding.dispatch(changed).await;
            }
        });
        informer
    }

    async fn dispatch(&self, changed: Vec<Arc<K>>) {
        if changed.is_empty() {
            return;
        }
        let subscribers = self.subscribers.lock().expect("subscriber lock").clone();
        let mut gone = false;
        for obj in changed {
            for subscriber in &subscribers {
                gone |= subscriber.send(obj.clone()).await.is_err();
            }
        }
        if gone {
            self.subscribers.lock().expect("subscriber lock").retain(|s| !s.is_closed());
        }
    }

    /// The cache (shared, read-only).
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// Every object that is created, changes or is deleted from now on, after the objects cached
    /// now (deleted objects come as their last state: their owners must hear of it).
    pub fn subscribe(&self) -> impl Stream<Item = Arc<K>> + Send + 'static {
        let (sender, receiver) = mpsc::channel(SUBSCRIBER_QUEUE);
        // Registered before the snapshot: a change between the two arrives twice, never zero times.
        self.subscribers.lock().expect("subscriber lock").push(sender);
        let current = self.store.state();
        futures::stream::iter(current).chain(tokio_stream_from(receiver))
    }

    /// Waits until the first list has filled the cache.
    pub async fn ready(&self) {
        let kind = K::kind(&());
        let mut waited = 0;
        while tokio::time::timeout(std::time::Duration::from_secs(10), self.store.wait_until_ready()).await.is_err() {
            waited += 10;
            tracing::warn!(
                kind = kind.as_ref(),
                waited_seconds = waited,
                "still waiting for the informer's first list"
            );
        }
    }
}

fn tokio_stream_from<T: Send + 'static>(mut receiver: mpsc::Receiver<T>) -> impl Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}
