//! The values that cross the [`crate::Store`] trait: key-values, list pages, watch events.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

/// A key at one revision, with etcd's three counters.
///
/// ```text
/// create  k -> rev 5   KeyValue { create_revision: 5, mod_revision: 5, version: 1 }
/// update  k -> rev 9   KeyValue { create_revision: 5, mod_revision: 9, version: 2 }
/// delete  k -> rev 12  (tombstone; a later create starts over at version 1)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key, as given by the caller.
    pub key: Bytes,
    /// The value (empty in the `kv` of a delete event).
    pub value: Bytes,
    /// Revision of the create that started this key's current life (0 for a delete event).
    pub create_revision: u64,
    /// Revision of the last write to this key (for a delete event: the delete's revision).
    pub mod_revision: u64,
    /// Number of writes since the key was created, 1 after the create (0 for a delete event).
    pub version: u64,
}

/// What a conditional write expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// No condition: put creates or overwrites; delete removes whatever is there.
    None,
    /// The key must not exist (create). Fails with `AlreadyExists`.
    Absent,
    /// The key must exist at exactly this `mod_revision`. Fails with `NotFound` or `Conflict`.
    ModRevision(u64),
}

/// The outcome of a delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// The revision the delete was committed at.
    pub revision: u64,
    /// The value that was removed.
    pub prev: KeyValue,
}

/// Options of a list (range) read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Read at this revision; 0 reads at the current revision. Pass the first page's
    /// [`ListPage::revision`] for every following page to get one consistent snapshot.
    pub revision: u64,
    /// At most this many items; 0 means no limit.
    pub limit: usize,
    /// Start after this key (exclusive): the last key of the previous page.
    pub start_after: Option<Bytes>,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// Live keys under the prefix at `revision`, in key order.
    pub items: Vec<KeyValue>,
    /// The snapshot revision this page was read at.
    pub revision: u64,
    /// How many live keys after this page remain at `revision` (0 when this is the last page).
    pub remaining: u64,
}

impl ListPage {
    /// Whether another page follows.
    pub fn more(&self) -> bool {
        self.remaining > 0
    }
}

/// Which keys a watch follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchTarget {
    /// Every key that starts with these bytes.
    Prefix(Bytes),
    /// Exactly this key.
    Key(Bytes),
}

impl WatchTarget {
    /// Whether `key` is followed by this target.
    pub fn matches(&self, key: &[u8]) -> bool {
        match self {
            WatchTarget::Prefix(prefix) => key.starts_with(prefix),
            WatchTarget::Key(exact) => key == exact.as_ref(),
        }
    }
}

/// Kind of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A create or an update.
    Put,
    /// A delete.
    Delete,
}

/// One committed change, built once at commit and shared by every watcher (`Arc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Put or delete.
    pub kind: EventKind,
    /// The key after the change; for a delete, the key with an empty value and the delete's
    /// revision as `mod_revision`.
    pub kv: KeyValue,
    /// The key's value just before this change, if it existed.
    pub prev: Option<KeyValue>,
    /// When the change became durable, for live events (watch latency metrics); `None` for
    /// events replayed from history.
    pub committed_at: Option<Instant>,
}

impl Event {
    /// The revision this change was committed at.
    pub fn revision(&self) -> u64 {
        self.kv.mod_revision
    }
}

/// What a watch stream yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchItem {
    /// A change, in revision order, never twice.
    Event(Arc<Event>),
    /// Nothing under the watch changed up to and including `revision`: a client may bookmark it.
    Progress {
        /// Every event at or below this revision has been delivered.
        revision: u64,
    },
}
