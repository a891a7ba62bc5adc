//! The MVCC engine over any [`Backend`]: recovery, reads, the write queue, watches, compaction.
//!
//! Threads (all joined when the last store handle is dropped):
//! - committer (`commit.rs`): the only writer of revisions;
//! - dispatcher (`watch/hub.rs`): fan-out of committed events and progress notifications;
//! - compactor (`compact.rs`): compacts history older than the window.
//!
//! Locks: `hub` before `state`; nobody takes `hub` while holding `state`.

mod commit;
mod compact;
pub(crate) mod index;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, oneshot};

use self::commit::{Outcome, Pending, Write};
use self::index::{Index, key_value};
use crate::backend::Backend;
use crate::error::{Result, StoreError};
use crate::memory::MemoryBackend;
use crate::rocks::RocksBackend;
use crate::types::{Deleted, KeyValue, ListOptions, ListPage, Precondition, WatchTarget};
use crate::watch::hub::{self, Hub};
use crate::watch::stream::MvccWatch;
use crate::{MAX_KEY_BYTES, MAX_VALUE_BYTES, Store, WatchStream};

/// Tunables of a store; every field has the default stated on it.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long history stays readable and watchable before background compaction removes it.
    /// Default: 5 minutes (kube-apiserver's default compaction interval).
    pub history_window: Duration,
    /// How often the background compactor looks for history older than the window. Default 30 s.
    pub compaction_check: Duration,
    /// How often watchers get a progress notification. Default 5 s.
    pub progress_interval: Duration,
    /// Commit batches (each one or more events) a watcher may have queued before it counts as
    /// too slow and is ended. Default 10,000.
    pub watch_buffer: usize,
    /// Writes that may wait for the committer before writers wait to enqueue. Default 8,192.
    pub write_queue: usize,
}

impl StoreOptions {
    /// The options with every value brought into a range the engine can run with: no zero
    /// intervals (a busy loop) or queue sizes, no durations so long that deadlines overflow.
    pub fn normalized(mut self) -> Self {
        const DAY: Duration = Duration::from_secs(86_400);
        const MAX_QUEUE: usize = 1 << 20;
        self.history_window = self.history_window.min(365 * DAY);
        self.compaction_check = self.compaction_check.clamp(Duration::from_millis(1), DAY);
        self.progress_interval = self.progress_interval.clamp(Duration::from_millis(1), DAY);
        self.watch_buffer = self.watch_buffer.clamp(1, MAX_QUEUE);
        self.write_queue = self.write_queue.clamp(1, MAX_QUEUE);
        self
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            history_window: Duration::from_secs(300),
            compaction_check: Duration::from_secs(30),
            progress_interval: Duration::from_secs(5),
            watch_buffer: 10_000,
            write_queue: 8_192,
        }
    }
}

/// Everything the engine's threads and the watch streams share.
pub(crate) struct Shared<B> {
    pub backend: B,
    pub state: RwLock<State>,
    pub hub: Mutex<Hub>,
    /// Set after a failed sync: all further writes fail.
    pub poisoned: AtomicBool,
    /// Serialises compactions (background and explicit).
    pub compaction: Mutex<()>,
}

/// The index and the two clocks, read together under one lock.
#[derive(Debug)]
pub(crate) struct State {
    pub index: Index,
    /// The newest committed revision.
    pub current: u64,
    /// History at or below this revision is gone (reads at exactly it still work).
    pub compacted: u64,
}

impl State {
    /// Resolves a requested read revision (0 = current) or says why it cannot be read.
    fn readable(&self, revision: u64) -> Result<u64> {
        match revision {
            0 => Ok(self.current),
            r if r > self.current => Err(StoreError::FutureRevision { requested: r, current: self.current }),
            r if r < self.compacted => Err(StoreError::Compacted { compacted: self.compacted }),
            r => Ok(r),
        }
    }
}

/// The MVCC store over backend `B`. Cheap to clone; all clones share one engine.
pub struct MvccStore<B: Backend> {
    handle: Arc<Handle<B>>,
}

impl<B: Backend> Clone for MvccStore<B> {
    fn clone(&self) -> Self {
        Self { handle: self.handle.clone() }
    }
}

impl<B: Backend> std::fmt::Debug for MvccStore<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.handle.shared.state.read();
        f.debug_struct("MvccStore")
            .field("current", &state.current)
            .field("compacted", &state.compacted)
            .finish_non_exhaustive()
    }
}

struct Handle<B: Backend> {
    shared: Arc<Shared<B>>,
    options: StoreOptions,
    /// `None` once dropping: closing the queue stops the committer, which stops the dispatcher.
    writes: Option<mpsc::Sender<Pending>>,
    /// Dropping it wakes and stops the compactor.
    stop_compactor: Option<std::sync::mpsc::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl<B: Backend> Drop for Handle<B> {
    fn drop(&mut self) {
        self.writes.take();
        self.stop_compactor.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl MvccStore<RocksBackend> {
    /// Opens (or creates) a RocksDB-backed store in `dir`.
    pub fn open_rocks(dir: &Path, options: StoreOptions) -> Result<Self> {
        Self::open(RocksBackend::open(dir)?, options)
    }
}

impl MvccStore<MemoryBackend> {
    /// A new, empty in-memory store.
    pub fn in_memory(options: StoreOptions) -> Self {
        Self::open(MemoryBackend::new(), options).expect("an empty memory backend always opens")
    }
}

impl<B: Backend> MvccStore<B> {
    /// Recovers the index from `backend` (finishing an interrupted compaction) and starts the
    /// engine's threads.
    pub fn open(backend: B, options: StoreOptions) -> Result<Self> {
        let options = options.normalized();
        let mut index = Index::default();
        let mut last = 0;
        let markers = backend.load(&mut |record| {
            last = record.revision;
            index.apply(&record);
        })?;
        let current = last.max(markers.floor).max(markers.scheduled);
        let mut state = State { index, current, compacted: markers.finished };
        if markers.scheduled > markers.finished {
            tracing::info!(revision = markers.scheduled, "finishing an interrupted compaction");
            let removed = state.index.compact(markers.scheduled);
            compact::remove_in_batches(&backend, &removed)?;
            backend.finish_compaction(markers.scheduled)?;
            state.compacted = markers.scheduled;
        }
        tracing::debug!(current, compacted = state.compacted, "store opened");

        let shared = Arc::new(Shared {
            backend,
            state: RwLock::new(state),
            hub: Mutex::new(Hub::new(current)),
            poisoned: AtomicBool::new(false),
            compaction: Mutex::new(()),
        });
        let (writes, queue) = mpsc::channel(options.write_queue);
        let (events_tx, events_rx) = std::sync::mpsc::sync_channel(1024);
        let (stop_compactor, stopped) = std::sync::mpsc::channel();
        let spawn = |name: &str, body: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new().name(name.into()).spawn(body).map_err(|e| StoreError::Io(e.to_string()))
        };
        let committer = {
            let shared = shared.clone();
            spawn("store-commit", Box::new(move || commit::run(shared, queue, events_tx)))?
        };
        let dispatcher = {
            let shared = shared.clone();
            let interval = options.progress_interval;
            spawn("store-watch", Box::new(move || hub::run_dispatcher(&shared.hub, events_rx, interval)))?
        };
        let compactor = {
            let shared = shared.clone();
            let (window, check) = (options.history_window, options.compaction_check);
            spawn("store-compact", Box::new(move || compact::run_compactor(&shared, window, check, stopped)))?
        };
        Ok(Self {
            handle: Arc::new(Handle {
                shared,
                options,
                writes: Some(writes),
                stop_compactor: Some(stop_compactor),
                threads: vec![committer, dispatcher, compactor],
            }),
        })
    }

    fn shared(&self) -> &Arc<Shared<B>> {
        &self.handle.shared
    }

    /// Number of live watchers (for metrics and tests).
    pub fn watcher_count(&self) -> usize {
        self.shared().hub.lock().watchers()
    }

    async fn write(&self, write: Write) -> Result<Outcome> {
        let (reply, outcome) = oneshot::channel();
        let queue = self.handle.writes.as_ref().ok_or(StoreError::Closed)?;
        queue.send(Pending { write, reply }).await.map_err(|_| StoreError::Closed)?;
        outcome.await.map_err(|_| StoreError::Closed)?
    }

    /// The value of `entry` for `key`: from memory when it is the newest, else from the backend.
    fn value_of(&self, history: &index::History, entry: &index::Entry) -> Result<Bytes> {
        if let Some(value) = history.cached_value(entry) {
            return Ok(value.clone());
        }
        match self.shared().backend.read(entry.mod_revision)? {
            Some(record) => Ok(record.value),
            None => Err(StoreError::Corrupt { revision: entry.mod_revision, reason: "indexed revision missing" }),
        }
    }
}

fn check_key(key: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(StoreError::InvalidKey("key is empty"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(StoreError::InvalidKey("key is longer than 8 KiB"));
    }
    Ok(())
}

#[async_trait::async_trait]
impl<B: Backend> Store for MvccStore<B> {
    fn current_revision(&self) -> u64 {
        self.shared().state.read().current
    }

    fn compacted_revision(&self) -> u64 {
        self.shared().state.read().compacted
    }

    async fn get(&self, key: &[u8], revision: u64) -> Result<KeyValue> {
        check_key(key)?;
        let state = self.shared().state.read();
        let revision = state.readable(revision)?;
        let (key, history) = state.index.get(key).ok_or(StoreError::NotFound)?;
        match history.at(revision) {
            Some(entry) if !entry.tombstone => Ok(key_value(key, entry, self.value_of(history, entry)?)),
            _ => Err(StoreError::NotFound),
        }
    }

    async fn list(&self, prefix: &[u8], options: ListOptions) -> Result<ListPage> {
        let state = self.shared().state.read();
        let revision = state.readable(options.revision)?;
        let limit = if options.limit == 0 { usize::MAX } else { options.limit };
        let mut items = Vec::new();
        let mut remaining = 0;
        for (key, history) in state.index.range(prefix, options.start_after.as_deref()) {
            match history.at(revision) {
                Some(entry) if !entry.tombstone => {
                    if items.len() < limit {
                        items.push(key_value(key, entry, self.value_of(history, entry)?));
                    } else {
                        remaining += 1;
                    }
                }
                _ => {}
            }
        }
        Ok(ListPage { items, revision, remaining })
    }

    async fn count(&self, prefix: &[u8]) -> Result<u64> {
        let state = self.shared().state.read();
        Ok(state.index.range(prefix, None).filter(|(key, history)| history.latest(key).is_some()).count() as u64)
    }

    async fn put(&self, key: Bytes, value: Bytes, precondition: Precondition) -> Result<KeyValue> {
        check_key(&key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(StoreError::TooLarge { size: value.len(), limit: MAX_VALUE_BYTES });
        }
        match self.write(Write::Put { key, value, precondition }).await? {
            Outcome::Put(kv) => Ok(kv),
            Outcome::Deleted(_) => unreachable!("a put commits a put"),
        }
    }

    async fn delete(&self, key: Bytes, precondition: Precondition) -> Result<Deleted> {
        check_key(&key)?;
        match self.write(Write::Delete { key, precondition }).await? {
            Outcome::Deleted(deleted) => Ok(deleted),
            Outcome::Put(_) => unreachable!("a delete commits a delete"),
        }
    }

    async fn watch(&self, target: WatchTarget, start_revision: u64) -> Result<WatchStream> {
        match &target {
            WatchTarget::Key(key) => check_key(key)?,
            WatchTarget::Prefix(_) => {}
        }
        let shared = self.shared().clone();
        let registration = {
            let mut hub = shared.hub.lock();
            let (current, compacted) = {
                let state = shared.state.read();
                (state.current, state.compacted)
            };
            // "Now" is the committed revision a read would see; the hub may not have published
            // it yet, and the start filter keeps such events out of the live queue.
            let start = if start_revision == 0 { current + 1 } else { start_revision };
            // Strictly above: the compacted revision itself may have lost a tombstone.
            if start <= compacted {
                return Err(StoreError::Compacted { compacted });
            }
            (start, hub.register(target.clone(), start, self.handle.options.watch_buffer))
        };
        let (start, registration) = registration;
        Ok(Box::pin(MvccWatch::new(
            shared,
            target,
            start,
            registration.published,
            registration.rx,
            registration.status,
        )))
    }

    async fn compact(&self, revision: u64) -> Result<()> {
        compact::compact(self.shared(), revision)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::backend::{Markers, Record};

    /// A memory backend whose appends fail on demand, like a disk whose fsync fails.
    #[derive(Debug, Default)]
    struct FailingDisk {
        inner: MemoryBackend,
        fail: AtomicBool,
    }

    impl Backend for FailingDisk {
        fn load(&self, visit: &mut dyn FnMut(Record)) -> Result<Markers> {
            self.inner.load(visit)
        }
        fn append(&self, records: &[Record]) -> Result<()> {
            if self.fail.load(Ordering::Acquire) {
                return Err(StoreError::Io("fsync: input/output error".into()));
            }
            self.inner.append(records)
        }
        fn read(&self, revision: u64) -> Result<Option<Record>> {
            self.inner.read(revision)
        }
        fn read_range(&self, from: u64, to: u64, limit: usize) -> Result<Vec<Record>> {
            self.inner.read_range(from, to, limit)
        }
        fn begin_compaction(&self, revision: u64, floor: u64) -> Result<()> {
            self.inner.begin_compaction(revision, floor)
        }
        fn remove(&self, revisions: &[u64]) -> Result<()> {
            self.inner.remove(revisions)
        }
        fn finish_compaction(&self, revision: u64) -> Result<()> {
            self.inner.finish_compaction(revision)
        }
    }

    #[tokio::test]
    async fn a_failed_sync_poisons_the_store_and_hands_out_no_revision() {
        let store = MvccStore::open(FailingDisk::default(), StoreOptions::default()).unwrap();
        let key = Bytes::from_static(b"/k");
        store.create(key.clone(), Bytes::from_static(b"1")).await.unwrap();
        store.shared().backend.fail.store(true, Ordering::Release);
        assert!(matches!(store.put(key.clone(), Bytes::new(), Precondition::None).await, Err(StoreError::Io(_))));
        // Even once the disk works again, nothing more is written until the store is reopened.
        store.shared().backend.fail.store(false, Ordering::Release);
        assert!(matches!(store.put(key.clone(), Bytes::new(), Precondition::None).await, Err(StoreError::Io(_))));
        assert_eq!(store.current_revision(), 1);
        assert_eq!(store.get(&key, 0).await.unwrap().value, Bytes::from_static(b"1"));
    }
}
