//! A watcher's stream: history first (read in chunks from the backend), then its live queue.
//!
//! ```text
//! CatchingUp { next ..= published }  ──history exhausted──►  Live (queue)  ──► Ended
//!        │ history compacted meanwhile                          │ cut off / store gone
//!        └──────────────► Err(Compacted) ──► Ended ◄────────────┘ Err(WatcherTooSlow | Closed)
//! ```

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;

use super::hub::{Batch, Delivery, WatcherStatus};
use crate::backend::Backend;
use crate::error::{Result, StoreError};
use crate::mvcc::Shared;
use crate::mvcc::index::key_value;
use crate::types::{Event, WatchItem, WatchTarget};

/// History events read per backend scan.
const CATCH_UP_CHUNK: usize = 512;
/// Backend scans one poll may make before yielding to the executor.
const CHUNKS_PER_POLL: usize = 8;

pub(crate) struct MvccWatch<B: Backend> {
    /// Released when the stream ends, so an ended watch does not keep the database open.
    shared: Option<Arc<Shared<B>>>,
    target: WatchTarget,
    /// Next history revision to read; history is done once `next > catch_up_end`.
    next: u64,
    catch_up_end: u64,
    /// First revision wanted (live batches may hold earlier events for other watchers).
    start: u64,
    ready: VecDeque<WatchItem>,
    /// The live batch being read, and the position in it.
    batch: Option<(Batch, usize)>,
    rx: mpsc::Receiver<Delivery>,
    status: Arc<WatcherStatus>,
    ended: bool,
}

impl<B: Backend> MvccWatch<B> {
    pub fn new(
        shared: Arc<Shared<B>>,
        target: WatchTarget,
        start: u64,
        catch_up_end: u64,
        rx: mpsc::Receiver<Delivery>,
        status: Arc<WatcherStatus>,
    ) -> Self {
        Self {
            shared: Some(shared),
            target,
            next: start,
            catch_up_end,
            start,
            ready: VecDeque::new(),
            batch: None,
            rx,
            status,
            ended: false,
        }
    }

    /// The next event of the current live batch that this watcher wants.
    fn next_in_batch(&mut self) -> Option<Arc<Event>> {
        let (batch, position) = self.batch.as_mut()?;
        while let Some(event) = batch.get(*position) {
            *position += 1;
            if event.revision() >= self.start && self.target.matches(&event.kv.key) {
                return Some(event.clone());
            }
        }
        self.batch = None;
        None
    }

    /// Reads the next chunk of history into `ready`.
    fn catch_up(&mut self) -> Result<()> {
        let from = self.next;
        let shared = self.shared.as_ref().ok_or(StoreError::Closed)?;
        let records = shared.backend.read_range(from, self.catch_up_end, CATCH_UP_CHUNK)?;
        let state = shared.state.read();
        // Compaction raises `compacted` before it deletes anything, so a chunk read while
        // `compacted < from` holds is complete.
        if from <= state.compacted {
            return Err(StoreError::Compacted { compacted: state.compacted });
        }
        for (offset, record) in records.iter().enumerate() {
            if record.revision != from + offset as u64 {
                return Err(StoreError::Corrupt { revision: from + offset as u64, reason: "gap in revision log" });
            }
            if !self.target.matches(&record.key) {
                continue;
            }
            // The value this change replaced: compaction keeps it (the newest live entry at or
            // below the compacted revision survives), so it is readable for every event above.
            let prev = match state.index.get(&record.key) {
                Some((key, history)) => match history.before(record.revision) {
                    Some(entry) if !entry.tombstone => {
                        let value = match history.cached_value(entry) {
                            Some(value) => value.clone(),
                            None => match shared.backend.read(entry.mod_revision)? {
                                Some(prev) => prev.value,
                                None => return Err(StoreError::Compacted { compacted: state.compacted }),
                            },
                        };
                        Some(key_value(key, entry, value))
                    }
                    _ => None,
                },
                None => None,
            };
            let event = record.to_event(prev);
            self.ready.push_back(WatchItem::Event(Arc::new(event)));
        }
        self.next = match records.last() {
            Some(last) => last.revision + 1,
            // Nothing stored in range: history up to `catch_up_end` was compacted away.
            None => return Err(StoreError::Compacted { compacted: state.compacted }),
        };
        Ok(())
    }

    fn end(&mut self, err: StoreError) -> Poll<Option<Result<WatchItem>>> {
        self.ended = true;
        self.ready.clear();
        self.batch = None;
        self.shared = None;
        Poll::Ready(Some(Err(err)))
    }
}

impl<B: Backend> Stream for MvccWatch<B> {
    type Item = Result<WatchItem>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let mut chunks_this_poll = 0;
        loop {
            if this.ended {
                return Poll::Ready(None);
            }
            if let Some(item) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            if let Some(event) = this.next_in_batch() {
                return Poll::Ready(Some(Ok(WatchItem::Event(event))));
            }
            if this.next <= this.catch_up_end {
                if let Err(err) = this.catch_up() {
                    return this.end(err);
                }
                // A long replay with few matches must not hold a runtime worker for the whole
                // scan: give the executor back every few chunks.
                chunks_this_poll += 1;
                if chunks_this_poll >= CHUNKS_PER_POLL && this.ready.is_empty() {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                continue;
            }
            return match this.rx.poll_recv(cx) {
                Poll::Ready(Some(Delivery::Events(batch))) => {
                    this.batch = Some((batch, 0));
                    continue;
                }
                Poll::Ready(Some(Delivery::Progress(revision))) => {
                    Poll::Ready(Some(Ok(WatchItem::Progress { revision })))
                }
                Poll::Ready(None) if this.status.too_slow.load(Ordering::Acquire) => {
                    this.end(StoreError::WatcherTooSlow)
                }
                Poll::Ready(None) => this.end(StoreError::Closed),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}
