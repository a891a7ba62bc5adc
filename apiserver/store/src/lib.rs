//! # apiserver-store: the MVCC key-value store under the API server
//!
//! etcd v3's data model, embedded: one global revision (`u64`) that every committed write
//! advances by exactly one, and that the API server hands out as `resourceVersion`. Each key
//! carries `create_revision`, `mod_revision` and `version`; deletes are revisions too
//! (tombstones), so history can be read and watched at any revision above the compacted one.
//!
//! ## Layers
//! ```text
//! Store (trait, lib.rs) ── the narrow surface the registry uses; one shared test suite (testing/)
//!   └─ MvccStore<B> (mvcc/)   key index in memory, preconditions, revisions, reads, compaction
//!        ├─ commit.rs         group commit thread: one fsync per batch of concurrent writes
//!        ├─ watch/            hub + dispatcher (fan-out of shared events), per-watcher stream
//!        └─ Backend (backend.rs) durable revision log + compaction markers
//!             ├─ RocksBackend (rocks.rs)    the only code in the project that links RocksDB
//!             └─ MemoryBackend (memory.rs)  same engine without a disk (tests, embedding)
//! ```
//!
//! ## Guarantees
//! - A write returns only after it is synced to disk; concurrent writers share one sync.
//! - Revisions never go backwards, also across crashes and compactions.
//! - A watch delivers every matching change from its start revision in order, exactly once,
//!   across the change from history to live events, with periodic progress notifications; a
//!   watcher that falls behind is ended with [`StoreError::WatcherTooSlow`] and slows nobody.
//! - Reads and watches below the compacted revision fail with [`StoreError::Compacted`].

mod backend;
mod error;
mod memory;
mod mvcc;
mod rocks;
mod types;
mod watch;

#[cfg(feature = "testing")]
pub mod testing;

use std::pin::Pin;

use bytes::Bytes;
use futures::Stream;

pub use backend::{Backend, Markers, Record};
pub use error::{Result, StoreError};
pub use memory::MemoryBackend;
pub use mvcc::{MvccStore, StoreOptions};
pub use rocks::RocksBackend;
pub use types::{Deleted, Event, EventKind, KeyValue, ListOptions, ListPage, Precondition, WatchItem, WatchTarget};

/// The largest value a write may carry: 1.5 MiB, etcd's default request limit.
pub const MAX_VALUE_BYTES: usize = 1536 * 1024;
/// The longest key accepted.
pub const MAX_KEY_BYTES: usize = 8 * 1024;

/// The store on RocksDB.
pub type RocksStore = MvccStore<RocksBackend>;
/// The store in memory.
pub type MemoryStore = MvccStore<MemoryBackend>;

/// A watch: [`WatchItem`]s in revision order; after an error item the stream ends.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchItem>> + Send>>;

/// The storage surface of the API server, shaped after etcd's `client/v3/kubernetes` interface.
///
/// Revisions: `0` means "current" wherever a revision is an input.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// The newest committed revision.
    fn current_revision(&self) -> u64;

    /// The compacted revision: reads and watches must ask for revisions above it (reads at it).
    fn compacted_revision(&self) -> u64;

    /// The value of `key` at `revision` (0 = current).
    async fn get(&self, key: &[u8], revision: u64) -> Result<KeyValue>;

    /// Keys under `prefix`, one page at a time, all pages from the same snapshot when each
    /// page passes the first page's revision.
    async fn list(&self, prefix: &[u8], options: ListOptions) -> Result<ListPage>;

    /// How many keys exist under `prefix` now.
    async fn count(&self, prefix: &[u8]) -> Result<u64>;

    /// Writes `value` under `key` if `precondition` holds; returns the stored key-value.
    async fn put(&self, key: Bytes, value: Bytes, precondition: Precondition) -> Result<KeyValue>;

    /// Deletes `key` if `precondition` holds (`Absent` is meaningless here and never holds).
    async fn delete(&self, key: Bytes, precondition: Precondition) -> Result<Deleted>;

    /// Follows `target` from `start_revision` (0 = only changes after the current revision).
    async fn watch(&self, target: WatchTarget, start_revision: u64) -> Result<WatchStream>;

    /// Drops history below `revision` (durably, crash-safe).
    async fn compact(&self, revision: u64) -> Result<()>;

    /// Creates `key`; fails with `AlreadyExists` if it exists.
    async fn create(&self, key: Bytes, value: Bytes) -> Result<KeyValue> {
        self.put(key, value, Precondition::Absent).await
    }

    /// Updates `key` only if it is still at `mod_revision`.
    async fn update(&self, key: Bytes, value: Bytes, mod_revision: u64) -> Result<KeyValue> {
        self.put(key, value, Precondition::ModRevision(mod_revision)).await
    }
}
