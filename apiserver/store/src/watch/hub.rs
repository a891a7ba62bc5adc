//! The watch hub: live watchers, and the dispatcher thread that fans committed events out.
//!
//! Every event is built once at commit (`Arc<Event>`), and a whole commit batch is one shared
//! allocation (`Arc<[Arc<Event>]>`): a watcher that cares about any event of a batch gets one
//! queue message pointing at it, and its stream picks out its own events. With many watchers
//! this costs one queue push and one wake-up per watcher per batch, not per event.
//!
//! Each watcher has a bounded queue; the dispatcher never waits on one: a watcher whose queue is
//! full is cut off (its stream ends with `WatcherTooSlow`, so its client lists again) and every
//! other watcher and every writer goes on at full speed.
//!
//! `published` is the newest revision handed to watchers. A new watcher registers under the hub
//! lock, reads history up to `published` itself (catch-up) and receives everything above it
//! live, so the change from history to live events has no gap and no duplicate.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::types::{Event, WatchTarget};

/// One commit batch's events, in revision order, shared by every watcher.
pub(crate) type Batch = Arc<[Arc<Event>]>;

/// A message in a watcher's queue.
#[derive(Debug, Clone)]
pub(crate) enum Delivery {
    /// A commit batch with at least one event for this watcher (the stream filters the rest).
    Events(Batch),
    /// Every event up to this revision has been queued before this message.
    Progress(u64),
}

/// Shared between a watcher's slot in the hub and its stream.
#[derive(Debug, Default)]
pub(crate) struct WatcherStatus {
    /// Set when the dispatcher cut the watcher off for falling behind.
    pub too_slow: AtomicBool,
}

#[derive(Debug)]
struct Slot {
    target: WatchTarget,
    /// First revision this watcher wants live.
    start: u64,
    tx: mpsc::Sender<Delivery>,
    status: Arc<WatcherStatus>,
}

/// Live watchers and the newest published revision. Lock order: hub before state.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    slots: Vec<Slot>,
    published: u64,
}

/// What a new watcher gets back from registration.
#[derive(Debug)]
pub(crate) struct Registration {
    pub rx: mpsc::Receiver<Delivery>,
    pub status: Arc<WatcherStatus>,
    /// Events up to this revision come from history (catch-up), later ones live.
    pub published: u64,
}

impl Hub {
    pub fn new(published: u64) -> Self {
        Self { slots: Vec::new(), published }
    }

    #[cfg(test)]
    pub fn published(&self) -> u64 {
        self.published
    }

    pub fn watchers(&self) -> usize {
        self.slots.len()
    }

    /// Adds a watcher that receives every matching event at or above `start` published from now.
    pub fn register(&mut self, target: WatchTarget, start: u64, buffer: usize) -> Registration {
        // One slot more than the buffer: room for the single progress message a queue may hold,
        // so bookmarks never push a watcher that keeps up over its limit.
        let (tx, rx) = mpsc::channel(buffer.max(1) + 1);
        let status = Arc::new(WatcherStatus::default());
        self.slots.push(Slot { target, start, tx, status: status.clone() });
        Registration { rx, status, published: self.published }
    }

    /// Hands one commit batch to every watcher that wants any of its events.
    fn publish(&mut self, events: Batch) {
        let Some(last) = events.last() else { return };
        for slot in &mut self.slots {
            let wanted = events.iter().any(|e| e.revision() >= slot.start && slot.target.matches(&e.kv.key));
            if !wanted {
                continue;
            }
            if let Err(TrySendError::Full(_)) = slot.tx.try_send(Delivery::Events(events.clone())) {
                slot.status.too_slow.store(true, Ordering::Release);
            }
        }
        self.published = last.revision();
        self.drop_ended();
    }

    /// Tells every caught-up watcher that everything up to `published` has been delivered.
    fn progress(&mut self) {
        let revision = self.published;
        for slot in &self.slots {
            // Only into an empty queue: a watcher with queued events learns more from them, and
            // at most one progress message ever waits in a queue. A watcher that starts in the
            // future has nothing to bookmark yet.
            let idle = slot.tx.capacity() == slot.tx.max_capacity();
            if idle && slot.start <= revision + 1 {
                let _ = slot.tx.try_send(Delivery::Progress(revision));
            }
        }
        self.drop_ended();
    }

    fn drop_ended(&mut self) {
        self.slots.retain(|slot| !slot.tx.is_closed() && !slot.status.too_slow.load(Ordering::Acquire));
    }
}

/// The dispatcher thread: publishes commit batches in order and sends progress notifications
/// every `progress_interval` (never more often). Returns when the committer is gone (the store
/// was dropped), ending every live watch with `Closed`.
pub(crate) fn run_dispatcher(
    hub: &Mutex<Hub>,
    batches: std::sync::mpsc::Receiver<Vec<Arc<Event>>>,
    progress_interval: Duration,
) {
    let mut next_progress = Instant::now() + progress_interval;
    loop {
        let wait = next_progress.saturating_duration_since(Instant::now());
        match batches.recv_timeout(wait) {
            Ok(events) => hub.lock().publish(events.into()),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                // Dropping the senders lets each stream see the end of its queue.
                hub.lock().slots.clear();
                return;
            }
        }
        if Instant::now() >= next_progress {
            hub.lock().progress();
            next_progress = Instant::now() + progress_interval;
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::types::{EventKind, KeyValue};

    fn event(key: &'static str, revision: u64) -> Arc<Event> {
        Arc::new(Event {
            kind: EventKind::Put,
            kv: KeyValue {
                key: Bytes::from_static(key.as_bytes()),
                value: Bytes::new(),
                create_revision: revision,
                mod_revision: revision,
                version: 1,
            },
            prev: None,
            committed_at: None,
        })
    }

    #[test]
    fn a_full_watcher_is_cut_off_and_the_others_keep_receiving() {
        let mut hub = Hub::new(0);
        let slow = hub.register(WatchTarget::Prefix(Bytes::from_static(b"/")), 1, 2);
        let mut fast = hub.register(WatchTarget::Prefix(Bytes::from_static(b"/")), 1, 100);
        for revision in 1..=5 {
            hub.publish(vec![event("/a", revision)].into());
            while let Ok(Delivery::Events(_)) = fast.rx.try_recv() {}
        }
        assert!(slow.status.too_slow.load(Ordering::Acquire));
        assert_eq!(hub.watchers(), 1);
        assert_eq!(hub.published(), 5);
    }

    #[test]
    fn a_batch_goes_only_to_watchers_that_want_one_of_its_events() {
        let mut hub = Hub::new(0);
        let mut a = hub.register(WatchTarget::Key(Bytes::from_static(b"/a")), 3, 10);
        let mut b = hub.register(WatchTarget::Prefix(Bytes::from_static(b"/b")), 1, 10);
        hub.publish(vec![event("/a", 1), event("/b", 2)].into());
        hub.publish(vec![event("/a", 3), event("/ab", 4)].into());
        let batches = |rx: &mut mpsc::Receiver<Delivery>| {
            std::iter::from_fn(|| match rx.try_recv() {
                Ok(Delivery::Events(batch)) => Some(batch.iter().map(|e| e.revision()).collect::<Vec<_>>()),
                _ => None,
            })
            .collect::<Vec<_>>()
        };
        assert_eq!(batches(&mut a.rx), vec![vec![3, 4]], "rev 1 is below its start");
        assert_eq!(batches(&mut b.rx), vec![vec![1, 2]]);
    }
}
