//! The persistence seam under the MVCC engine: a log of revision records plus compaction markers.
//!
//! The engine ([`crate::mvcc`]) keeps its key index in memory (like etcd's `treeIndex`) and
//! asks the backend only to append records durably, read a record by revision, scan a revision
//! range, and drop compacted revisions. Two implementations: [`crate::rocks::RocksBackend`]
//! (on disk) and [`crate::memory::MemoryBackend`] (in memory; shared between "restarts" so the
//! recovery code runs in the memory-backed test suite too).

use bytes::Bytes;

use crate::error::Result;
use crate::types::{Event, EventKind, KeyValue};

/// One revision of the log: the write committed at `revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The revision this write was committed at (unique, one per write).
    pub revision: u64,
    /// The key written.
    pub key: Bytes,
    /// The value (empty for a tombstone).
    pub value: Bytes,
    /// Create revision of the key's current life (0 for a tombstone).
    pub create_revision: u64,
    /// Version of the key after this write (0 for a tombstone).
    pub version: u64,
    /// Whether this write deleted the key.
    pub tombstone: bool,
}

impl Record {
    /// The watch event of this write, given the value it replaced. The one place events are
    /// built, for live delivery at commit and for history replay alike.
    pub fn to_event(&self, prev: Option<KeyValue>) -> Event {
        let kind = if self.tombstone { EventKind::Delete } else { EventKind::Put };
        let kv = KeyValue {
            key: self.key.clone(),
            value: self.value.clone(),
            create_revision: self.create_revision,
            mod_revision: self.revision,
            version: self.version,
        };
        Event { kind, kv, prev, committed_at: None }
    }
}

/// Compaction markers and the revision floor, persisted next to the log.
///
/// `scheduled > finished` after a restart means a compaction was interrupted: the engine redoes
/// it (removing revisions is idempotent). `floor` is the newest revision ever handed out at the
/// time of the last compaction, so the revision never goes backwards even when compaction removed
/// the newest record (a tombstone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Markers {
    /// Revision of the last compaction that was started.
    pub scheduled: u64,
    /// Revision of the last compaction that completed.
    pub finished: u64,
    /// Lower bound for the current revision after recovery.
    pub floor: u64,
}

/// Durable storage of the revision log. Implementations are internally synchronised.
pub trait Backend: Send + Sync + 'static {
    /// Feeds every stored record to `visit` in revision order and returns the markers.
    fn load(&self, visit: &mut dyn FnMut(Record)) -> Result<Markers>;
    /// Appends `records` atomically and durably (on disk before returning).
    fn append(&self, records: &[Record]) -> Result<()>;
    /// The record at `revision`, if stored.
    fn read(&self, revision: u64) -> Result<Option<Record>>;
    /// Records with `from <= revision <= to`, in order, at most `limit` of them.
    fn read_range(&self, from: u64, to: u64, limit: usize) -> Result<Vec<Record>>;
    /// Durably records that a compaction to `revision` has begun, with the current revision.
    fn begin_compaction(&self, revision: u64, floor: u64) -> Result<()>;
    /// Removes the given revisions (need not be durable: a crash redoes the compaction).
    fn remove(&self, revisions: &[u64]) -> Result<()>;
    /// Durably records that the compaction to `revision` is complete.
    fn finish_compaction(&self, revision: u64) -> Result<()>;
}
