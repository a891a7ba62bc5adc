//! One timer queue instead of one sleeping task per timer: tens of thousands of pods each have a
//! pending deadline (startup, run time, backoff, readiness), and a heap popped by a single loop
//! costs a few bytes per timer. Cancelled timers are not removed; their owner ignores stale ones.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use jiff::Timestamp;

/// Timers of payload `T`, popped in deadline order (insertion order among equal deadlines).
#[derive(Debug)]
pub struct TimerQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    sequence: u64,
}

impl<T> Default for TimerQueue<T> {
    fn default() -> Self {
        Self { heap: BinaryHeap::new(), sequence: 0 }
    }
}

impl<T> TimerQueue<T> {
    pub fn schedule(&mut self, at: Timestamp, payload: T) {
        self.sequence += 1;
        self.heap.push(Entry { at, sequence: self.sequence, payload });
    }

    /// The earliest deadline, if any.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.heap.peek().map(|e| e.at)
    }

    /// Removes and returns one timer due at `now`.
    pub fn pop_due(&mut self, now: Timestamp) -> Option<T> {
        if self.heap.peek()?.at <= now { self.heap.pop().map(|e| e.payload) } else { None }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[derive(Debug)]
struct Entry<T> {
    at: Timestamp,
    sequence: u64,
    payload: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.sequence) == (other.at, other.sequence)
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    /// Reversed: the heap is a max-heap and the earliest deadline must come out first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.sequence).cmp(&(self.at, self.sequence))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_deadline_then_insertion_order_and_only_when_due() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let t1: Timestamp = "2026-01-01T00:00:01Z".parse().unwrap();
        let t2: Timestamp = "2026-01-01T00:00:02Z".parse().unwrap();
        let mut q = TimerQueue::default();
        q.schedule(t2, "late");
        q.schedule(t1, "first");
        q.schedule(t1, "second");
        assert_eq!(q.next_deadline(), Some(t1));
        assert_eq!(q.pop_due(t0), None);
        assert_eq!(q.pop_due(t1), Some("first"));
        assert_eq!(q.pop_due(t1), Some("second"));
        assert_eq!(q.pop_due(t1), None);
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop_due(t2), Some("late"));
        assert!(q.is_empty());
    }
}
