//! Group commit: one thread turns queued writes into revisions, syncs them in one batch, then
//! applies them to the index and hands their events to the watch hub.
//!
//! ```text
//! writers ──(bounded queue)──► committer: drain ≤ MAX_BATCH ─► check preconditions, assign revisions
//!                                        ─► backend.append (one fsync for the whole batch)
//!                                        ─► index.apply + current revision (state write lock)
//!                                        ─► reply to each writer, events ─► dispatcher
//! ```
//! Revisions are assigned by this thread alone, so they are dense and in commit order. A failed
//! append poisons the store: every later write fails with `Io`, as nobody knows which of the
//! batch's revisions reached the disk.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::Shared;
use super::index::Index;
use crate::backend::{Backend, Record};
use crate::error::{Result, StoreError};
use crate::types::{Deleted, Event, EventKind, KeyValue, Precondition};

/// Most writes folded into one synced batch.
const MAX_BATCH: usize = 1024;
/// Most value bytes folded into one synced batch (a batch always takes at least one write).
const MAX_BATCH_BYTES: usize = 16 << 20;

/// A write as queued by a caller.
#[derive(Debug)]
pub(crate) enum Write {
    Put { key: Bytes, value: Bytes, precondition: Precondition },
    Delete { key: Bytes, precondition: Precondition },
}

impl Write {
    fn key(&self) -> &Bytes {
        match self {
            Write::Put { key, .. } | Write::Delete { key, .. } => key,
        }
    }

    fn size(&self) -> usize {
        match self {
            Write::Put { key, value, .. } => key.len() + value.len(),
            Write::Delete { key, .. } => key.len(),
        }
    }
}

/// What a committed write reports back.
#[derive(Debug)]
pub(crate) enum Outcome {
    Put(KeyValue),
    Deleted(Deleted),
}

#[derive(Debug)]
pub(crate) struct Pending {
    pub write: Write,
    pub reply: oneshot::Sender<Result<Outcome>>,
}

/// The committer thread's loop; returns when every store handle is gone.
pub(crate) fn run<B: Backend>(
    shared: Arc<Shared<B>>,
    mut queue: mpsc::Receiver<Pending>,
    events: std::sync::mpsc::SyncSender<Vec<Arc<Event>>>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        let mut bytes = first.write.size();
        batch.push(first);
        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match queue.try_recv() {
                Ok(next) => {
                    bytes += next.write.size();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        commit_batch(&shared, &mut batch, &events);
    }
}

fn commit_batch<B: Backend>(
    shared: &Shared<B>,
    batch: &mut Vec<Pending>,
    events: &std::sync::mpsc::SyncSender<Vec<Arc<Event>>>,
) {
    if shared.poisoned.load(Ordering::Acquire) {
        for pending in batch.drain(..) {
            let _ = pending.reply.send(Err(poisoned()));
        }
        return;
    }

    // Decide every write against the index plus the earlier writes of this batch.
    let mut planned = Vec::with_capacity(batch.len());
    {
        let state = shared.state.read();
        let mut plan = Plan { index: &state.index, overlay: HashMap::new(), revision: state.current };
        for pending in batch.iter() {
            planned.push(plan.decide(&pending.write));
        }
    }
    let records: Vec<Record> =
        planned.iter().filter_map(|p| p.as_ref().ok()).map(|(record, _)| record.clone()).collect();

    if !records.is_empty() {
        if let Err(err) = shared.backend.append(&records) {
            shared.poisoned.store(true, Ordering::Release);
            tracing::error!(error = %err, "append failed; store refuses further writes");
            for pending in batch.drain(..) {
                let _ = pending.reply.send(Err(err.clone()));
            }
            return;
        }
        let committed_at = Instant::now();
        for (_, event) in planned.iter_mut().flatten() {
            Arc::get_mut(event).expect("events are shared only after commit").committed_at = Some(committed_at);
        }
        let mut state = shared.state.write();
        for record in &records {
            state.index.apply(record);
        }
        state.current = records.last().map_or(state.current, |r| r.revision);
    }

    let mut published = Vec::with_capacity(records.len());
    for (pending, plan) in batch.drain(..).zip(planned) {
        let reply = plan.map(|(_, event)| {
            let outcome = match event.kind {
                EventKind::Put => Outcome::Put(event.kv.clone()),
                EventKind::Delete => Outcome::Deleted(Deleted {
                    revision: event.kv.mod_revision,
                    prev: event.prev.clone().expect("a delete always has a previous value"),
                }),
            };
            published.push(event);
            outcome
        });
        let _ = pending.reply.send(reply);
    }
    // Blocks only if the dispatcher is a whole queue of batches behind; a single slow watcher
    // never blocks the dispatcher (it is cut off instead).
    if !published.is_empty() && events.send(published).is_err() {
        tracing::error!("watch dispatcher is gone; live watches receive nothing more");
    }
}

fn poisoned() -> StoreError {
    StoreError::Io("an earlier write failed to sync; the store refuses writes until reopened".into())
}

/// Precondition checks and revision assignment for one batch.
struct Plan<'a> {
    index: &'a Index,
    /// Keys written earlier in this batch: their value now (`None` = deleted).
    overlay: HashMap<Bytes, Option<KeyValue>>,
    /// The last revision assigned.
    revision: u64,
}

impl Plan<'_> {
    fn current(&self, key: &Bytes) -> Option<KeyValue> {
        match self.overlay.get(key) {
            Some(in_batch) => in_batch.clone(),
            None => self.index.get(key).and_then(|(k, history)| history.latest(k)),
        }
    }

    fn decide(&mut self, write: &Write) -> Result<(Record, Arc<Event>)> {
        let key = write.key();
        let current = self.current(key);
        let precondition = match write {
            Write::Put { precondition, .. } | Write::Delete { precondition, .. } => *precondition,
        };
        check(precondition, current.as_ref())?;
        let revision = self.revision + 1;
        let record = match write {
            Write::Put { value, .. } => Record {
                revision,
                key: key.clone(),
                value: value.clone(),
                create_revision: current.as_ref().map_or(revision, |c| c.create_revision),
                version: current.as_ref().map_or(1, |c| c.version + 1),
                tombstone: false,
            },
            Write::Delete { .. } if current.is_none() => return Err(StoreError::NotFound),
            Write::Delete { .. } => Record {
                revision,
                key: key.clone(),
                value: Bytes::new(),
                create_revision: 0,
                version: 0,
                tombstone: true,
            },
        };
        let event = record.to_event(current);
        let now = (event.kind == EventKind::Put).then(|| event.kv.clone());
        self.overlay.insert(key.clone(), now);
        self.revision = revision;
        Ok((record, Arc::new(event)))
    }
}

/// Whether a write's precondition holds for the key's current value.
fn check(precondition: Precondition, current: Option<&KeyValue>) -> Result<()> {
    match (precondition, current) {
        (Precondition::None, _) => Ok(()),
        (Precondition::Absent, None) => Ok(()),
        (Precondition::Absent, Some(_)) => Err(StoreError::AlreadyExists),
        (Precondition::ModRevision(_), None) => Err(StoreError::NotFound),
        (Precondition::ModRevision(expected), Some(kv)) if kv.mod_revision == expected => Ok(()),
        (Precondition::ModRevision(_), Some(kv)) => Err(StoreError::Conflict { current: Box::new(kv.clone()) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(mod_revision: u64) -> KeyValue {
        KeyValue {
            key: Bytes::from_static(b"k"),
            value: Bytes::from_static(b"v"),
            create_revision: 1,
            mod_revision,
            version: 1,
        }
    }

    #[test]
    fn preconditions() {
        assert!(check(Precondition::None, None).is_ok());
        assert!(check(Precondition::None, Some(&kv(3))).is_ok());
        assert!(check(Precondition::Absent, None).is_ok());
        assert_eq!(check(Precondition::Absent, Some(&kv(3))), Err(StoreError::AlreadyExists));
        assert_eq!(check(Precondition::ModRevision(3), None), Err(StoreError::NotFound));
        assert!(check(Precondition::ModRevision(3), Some(&kv(3))).is_ok());
        assert!(matches!(
            check(Precondition::ModRevision(2), Some(&kv(3))),
            Err(StoreError::Conflict { current }) if current.mod_revision == 3
        ));
    }

    #[test]
    fn writes_in_one_batch_see_each_other() {
        let index = Index::default();
        let mut plan = Plan { index: &index, overlay: HashMap::new(), revision: 10 };
        let key = Bytes::from_static(b"k");
        let put = |precondition| Write::Put { key: key.clone(), value: Bytes::from_static(b"v"), precondition };
        let (first, _) = plan.decide(&put(Precondition::Absent)).unwrap();
        assert_eq!((first.revision, first.create_revision, first.version), (11, 11, 1));
        assert_eq!(plan.decide(&put(Precondition::Absent)).unwrap_err(), StoreError::AlreadyExists);
        let (second, event) = plan.decide(&put(Precondition::ModRevision(11))).unwrap();
        assert_eq!((second.revision, second.create_revision, second.version), (12, 11, 2));
        assert_eq!(event.prev.as_ref().unwrap().mod_revision, 11);
        let (_, deleted) = plan.decide(&Write::Delete { key: key.clone(), precondition: Precondition::None }).unwrap();
        assert_eq!(deleted.kv.mod_revision, 13);
        assert_eq!(
            plan.decide(&Write::Delete { key, precondition: Precondition::None }).unwrap_err(),
            StoreError::NotFound
        );
        // Failed writes consume no revision.
        assert_eq!(plan.revision, 13);
    }
}
