//! Typed storage errors. The registry translates each one into a `metav1.Status` exactly once.

use crate::KeyValue;

/// Everything a store operation can fail with.
///
/// Errors are `Clone` so that one failure (say, a failed `fsync` shared by a group commit) can be
/// reported to every caller that waited on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The key does not exist (at the requested revision).
    #[error("key not found")]
    NotFound,
    /// A create found the key already present.
    #[error("key already exists")]
    AlreadyExists,
    /// A conditional write or delete expected another `mod_revision`; `current` is what is stored.
    #[error("revision conflict: key is at mod_revision {}", current.mod_revision)]
    Conflict {
        /// The key's latest value, so callers can report or retry without another read.
        current: Box<KeyValue>,
    },
    /// The requested revision is older than the compacted revision: history is gone.
    #[error("required revision has been compacted (compacted revision {compacted})")]
    Compacted {
        /// The store's compacted revision; every revision above it is still readable.
        compacted: u64,
    },
    /// The requested revision is newer than the store's current revision.
    #[error("required revision {requested} is a future revision (current revision {current})")]
    FutureRevision {
        /// The revision asked for.
        requested: u64,
        /// The newest committed revision.
        current: u64,
    },
    /// The value exceeds [`crate::MAX_VALUE_BYTES`].
    #[error("value of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size of the rejected value.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The key is empty or longer than [`crate::MAX_KEY_BYTES`].
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// The watcher fell too far behind and was ended so that it never slows writers; the client
    /// should list again and watch from the list's revision.
    #[error("watcher fell too far behind and was closed")]
    WatcherTooSlow,
    /// The store is shutting down (or was dropped) while the operation was pending.
    #[error("store is closed")]
    Closed,
    /// Disk or engine failure. After a failed sync the store refuses every further write (like
    /// etcd, it cannot know what reached the disk), so no revision is ever handed out twice.
    #[error("storage I/O error: {0}")]
    Io(String),
    /// Data on disk could not be decoded.
    #[error("corrupt record at revision {revision}: {reason}")]
    Corrupt {
        /// Revision of the undecodable record.
        revision: u64,
        /// What was wrong with it.
        reason: &'static str,
    },
}

/// Shorthand used throughout the crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<rocksdb::Error> for StoreError {
    fn from(err: rocksdb::Error) -> Self {
        StoreError::Io(err.into_string())
    }
}
