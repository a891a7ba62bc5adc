//! Compaction: drop history below a revision, crash-safe, and the background compactor.
//!
//! Steps (a crash anywhere is repaired on open, see `MvccStore::open`):
//! 1. `begin_compaction(rev, floor = current)` is synced: the intent, and a revision floor so
//!    the clock never goes backwards even if the newest record (a tombstone) is removed.
//! 2. Under the state lock: `compacted = rev` and the index forgets the old entries; from here
//!    on no reader asks the backend for them.
//! 3. The backend deletes them in batches (unsynced), then `finish_compaction(rev)` is synced.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::Shared;
use crate::backend::Backend;
use crate::error::{Result, StoreError};

/// Revisions deleted per backend batch.
const REMOVE_BATCH: usize = 10_000;

/// Compacts history below `revision`.
pub(crate) fn compact<B: Backend>(shared: &Shared<B>, revision: u64) -> Result<()> {
    let _one_at_a_time = shared.compaction.lock();
    let current = {
        let state = shared.state.read();
        if revision > state.current {
            return Err(StoreError::FutureRevision { requested: revision, current: state.current });
        }
        if revision <= state.compacted {
            return Err(StoreError::Compacted { compacted: state.compacted });
        }
        state.current
    };
    shared.backend.begin_compaction(revision, current)?;
    let removed = {
        let mut state = shared.state.write();
        state.compacted = revision;
        state.index.compact(revision)
    };
    remove_in_batches(&shared.backend, &removed)?;
    shared.backend.finish_compaction(revision)?;
    tracing::debug!(revision, removed = removed.len(), "compacted");
    Ok(())
}

pub(crate) fn remove_in_batches<B: Backend>(backend: &B, revisions: &[u64]) -> Result<()> {
    for chunk in revisions.chunks(REMOVE_BATCH) {
        backend.remove(chunk)?;
    }
    Ok(())
}

/// Remembers which revision was current when, to find the revision at the edge of the window.
#[derive(Debug, Default)]
pub(crate) struct WindowClock {
    samples: VecDeque<(Instant, u64)>,
}

impl WindowClock {
    /// Records `current` at `now` and returns the newest revision sampled at least `window`
    /// ago, if any: everything below it has been history for longer than the window.
    pub fn observe(&mut self, now: Instant, current: u64, window: Duration) -> Option<u64> {
        self.samples.push_back((now, current));
        let mut target = None;
        while let Some(&(at, revision)) = self.samples.front() {
            if now.saturating_duration_since(at) < window {
                break;
            }
            target = Some(revision);
            self.samples.pop_front();
        }
        target
    }
}

/// The compactor thread: every `check`, compacts to the revision that was current `window` ago.
pub(crate) fn run_compactor<B: Backend>(shared: &Shared<B>, window: Duration, check: Duration, stop: Receiver<()>) {
    let mut clock = WindowClock::default();
    loop {
        match stop.recv_timeout(check) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let (current, compacted) = {
            let state = shared.state.read();
            (state.current, state.compacted)
        };
        let Some(target) = clock.observe(Instant::now(), current, window) else { continue };
        if target > compacted
            && let Err(err) = compact(shared, target)
        {
            tracing::warn!(error = %err, target, "background compaction failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_clock_returns_the_newest_revision_older_than_the_window() {
        let mut clock = WindowClock::default();
        let t0 = Instant::now();
        let window = Duration::from_secs(300);
        assert_eq!(clock.observe(t0, 10, window), None);
        assert_eq!(clock.observe(t0 + Duration::from_secs(100), 20, window), None);
        assert_eq!(clock.observe(t0 + Duration::from_secs(200), 30, window), None);
        assert_eq!(clock.observe(t0 + Duration::from_secs(310), 40, window), Some(10));
        assert_eq!(clock.observe(t0 + Duration::from_secs(520), 50, window), Some(30));
        assert_eq!(clock.observe(t0 + Duration::from_secs(521), 51, window), None);
    }

    #[test]
    fn zero_window_compacts_to_the_current_revision() {
        let mut clock = WindowClock::default();
        assert_eq!(clock.observe(Instant::now(), 7, Duration::ZERO), Some(7));
    }
}
