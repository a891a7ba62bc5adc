//! The in-memory key index: for every key, the revisions still in history, plus its latest value.
//!
//! Like etcd's `treeIndex`, it is rebuilt from the revision log on open. Latest values live here
//! too, so gets and lists at the current revision never touch the disk; older values are read
//! from the backend by revision.

use std::collections::BTreeMap;
use std::ops::Bound;

use bytes::Bytes;

use crate::backend::Record;
use crate::types::KeyValue;

/// One write to a key, without its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub mod_revision: u64,
    pub create_revision: u64,
    pub version: u64,
    pub tombstone: bool,
}

/// A key's retained history, oldest first, and its value when the newest entry is live.
#[derive(Debug, Default)]
pub(crate) struct History {
    entries: Vec<Entry>,
    latest_value: Option<Bytes>,
}

impl History {
    /// The newest entry at or below `revision`, if any (may be a tombstone).
    pub fn at(&self, revision: u64) -> Option<&Entry> {
        let end = self.entries.partition_point(|e| e.mod_revision <= revision);
        end.checked_sub(1).map(|i| &self.entries[i])
    }

    /// The newest entry strictly below `revision` (the value a change at `revision` replaced).
    pub fn before(&self, revision: u64) -> Option<&Entry> {
        self.at(revision.saturating_sub(1))
    }

    /// The live value held in memory for `entry`, when `entry` is the newest one.
    pub fn cached_value(&self, entry: &Entry) -> Option<&Bytes> {
        match self.entries.last() {
            Some(last) if last.mod_revision == entry.mod_revision => self.latest_value.as_ref(),
            _ => None,
        }
    }

    /// The key's current value, if it exists now.
    pub fn latest(&self, key: &Bytes) -> Option<KeyValue> {
        let last = self.entries.last()?;
        let value = self.latest_value.as_ref()?;
        Some(key_value(key, last, value.clone()))
    }
}

/// Builds the `KeyValue` of a live entry.
pub(crate) fn key_value(key: &Bytes, entry: &Entry, value: Bytes) -> KeyValue {
    KeyValue {
        key: key.clone(),
        value,
        create_revision: entry.create_revision,
        mod_revision: entry.mod_revision,
        version: entry.version,
    }
}

/// Every key with history, in key order.
#[derive(Debug, Default)]
pub(crate) struct Index {
    keys: BTreeMap<Bytes, History>,
}

impl Index {
    /// Records a committed write (at commit, and for each record on recovery).
    pub fn apply(&mut self, record: &Record) {
        let history = self.keys.entry(record.key.clone()).or_default();
        history.entries.push(Entry {
            mod_revision: record.revision,
            create_revision: record.create_revision,
            version: record.version,
            tombstone: record.tombstone,
        });
        history.latest_value = (!record.tombstone).then(|| record.value.clone());
    }

    pub fn get(&self, key: &[u8]) -> Option<(&Bytes, &History)> {
        self.keys.get_key_value(key)
    }

    /// Keys starting with `prefix`, after `start_after` (exclusive) when given.
    pub fn range<'a>(
        &'a self,
        prefix: &'a [u8],
        start_after: Option<&'a [u8]>,
    ) -> impl Iterator<Item = (&'a Bytes, &'a History)> + 'a {
        let lower = match start_after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        self.keys.range::<[u8], _>((lower, Bound::Unbounded)).take_while(move |(key, _)| key.starts_with(prefix))
    }

    /// Drops history below `revision`: each key keeps its newest entry at or below `revision`
    /// unless that entry is a tombstone (then the key's older life is gone entirely), and every
    /// entry above it. Returns the revisions removed, for the backend to delete.
    pub fn compact(&mut self, revision: u64) -> Vec<u64> {
        let mut removed = Vec::new();
        self.keys.retain(|_, history| {
            let at_or_below = history.entries.partition_point(|e| e.mod_revision <= revision);
            let keep_from = match at_or_below.checked_sub(1) {
                None => 0,
                Some(newest) if history.entries[newest].tombstone => newest + 1,
                Some(newest) => newest,
            };
            removed.extend(history.entries.drain(..keep_from).map(|e| e.mod_revision));
            !history.entries.is_empty()
        });
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(index: &mut Index, key: &'static str, revision: u64) {
        let previous = index.get(key.as_bytes()).and_then(|(k, h)| h.latest(k));
        index.apply(&Record {
            revision,
            key: Bytes::from_static(key.as_bytes()),
            value: Bytes::from(format!("{key}@{revision}")),
            create_revision: previous.as_ref().map_or(revision, |p| p.create_revision),
            version: previous.map_or(1, |p| p.version + 1),
            tombstone: false,
        });
    }

    fn delete(index: &mut Index, key: &'static str, revision: u64) {
        index.apply(&Record {
            revision,
            key: Bytes::from_static(key.as_bytes()),
            value: Bytes::new(),
            create_revision: 0,
            version: 0,
            tombstone: true,
        });
    }

    #[test]
    fn compaction_keeps_the_newest_live_entry_at_or_below_the_revision() {
        let mut index = Index::default();
        put(&mut index, "a", 1);
        put(&mut index, "a", 2);
        put(&mut index, "a", 5);
        assert_eq!(index.compact(3), vec![1]);
        let (_, history) = index.get(b"a").unwrap();
        assert_eq!(history.at(3).unwrap().mod_revision, 2);
        assert_eq!(history.at(9).unwrap().mod_revision, 5);
    }

    #[test]
    fn compaction_forgets_a_key_whose_newest_entry_below_is_a_tombstone() {
        let mut index = Index::default();
        put(&mut index, "gone", 1);
        delete(&mut index, "gone", 2);
        put(&mut index, "back", 3);
        delete(&mut index, "back", 4);
        put(&mut index, "back", 6);
        let mut removed = index.compact(5);
        removed.sort();
        assert_eq!(removed, vec![1, 2, 3, 4]);
        assert!(index.get(b"gone").is_none());
        let (key, history) = index.get(b"back").unwrap();
        let latest = history.latest(key).unwrap();
        assert_eq!((latest.create_revision, latest.version), (6, 1));
    }

    #[test]
    fn range_respects_prefix_and_start_after() {
        let mut index = Index::default();
        for (i, key) in ["/a/1", "/a/2", "/a/3", "/b/1"].into_iter().enumerate() {
            put(&mut index, key, i as u64 + 1);
        }
        let keys =
            |after: Option<&'static [u8]>| index.range(b"/a/", after).map(|(k, _)| k.clone()).collect::<Vec<_>>();
        assert_eq!(keys(None), vec!["/a/1", "/a/2", "/a/3"]);
        assert_eq!(keys(Some(b"/a/1")), vec!["/a/2", "/a/3"]);
        // A start key before the prefix does not widen the range.
        assert_eq!(keys(Some(b"/0")), vec!["/a/1", "/a/2", "/a/3"]);
        assert!(keys(Some(b"/a/3")).is_empty());
    }
}
