//! In-memory backend: the revision log in a `BTreeMap`.
//!
//! Cloning a `MemoryBackend` shares its log, so a test can drop a store and open a new one on the
//! same "disk" to exercise recovery without RocksDB.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::backend::{Backend, Markers, Record};
use crate::error::Result;

/// A [`Backend`] that keeps everything in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    log: BTreeMap<u64, Record>,
    markers: Markers,
}

impl MemoryBackend {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Backend for MemoryBackend {
    fn load(&self, visit: &mut dyn FnMut(Record)) -> Result<Markers> {
        let inner = self.inner.lock();
        for record in inner.log.values() {
            visit(record.clone());
        }
        Ok(inner.markers)
    }

    fn append(&self, records: &[Record]) -> Result<()> {
        let mut inner = self.inner.lock();
        for record in records {
            inner.log.insert(record.revision, record.clone());
        }
        Ok(())
    }

    fn read(&self, revision: u64) -> Result<Option<Record>> {
        Ok(self.inner.lock().log.get(&revision).cloned())
    }

    fn read_range(&self, from: u64, to: u64, limit: usize) -> Result<Vec<Record>> {
        if from > to {
            return Ok(Vec::new());
        }
        let inner = self.inner.lock();
        Ok(inner.log.range(from..=to).take(limit).map(|(_, r)| r.clone()).collect())
    }

    fn begin_compaction(&self, revision: u64, floor: u64) -> Result<()> {
        let mut inner = self.inner.lock();
        inner.markers.scheduled = revision;
        inner.markers.floor = inner.markers.floor.max(floor);
        Ok(())
    }

    fn remove(&self, revisions: &[u64]) -> Result<()> {
        let mut inner = self.inner.lock();
        for revision in revisions {
            inner.log.remove(revision);
        }
        Ok(())
    }

    fn finish_compaction(&self, revision: u64) -> Result<()> {
        self.inner.lock().markers.finished = revision;
        Ok(())
    }
}
