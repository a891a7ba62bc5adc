//! The scheduling queue (upstream's PriorityQueue), pure: time is passed in.
//!
//! - **active**: pods to try now, highest priority first, then the longest waiting;
//! - **backoff**: pods that failed recently, waiting `initial × 2^(attempts−1)` (capped);
//! - **unschedulable**: pods that fit nowhere; they wait for a cluster change (node added or
//!   updated, pod deleted: `move_all`) or, at the latest, `flush_unschedulable`'s age limit.
//!
//! A pod is "in flight" between `pop` and `done`/`failed_*`. If the cluster changed while it
//! was in flight, a no-fit sends it to backoff instead of unschedulable: the change it missed
//! may have made room (upstream's move-request cycle).
//!
//! Heaps use lazy deletion: an entry records its generation, heap items of older generations
//! are skipped when popped.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::pod_info::{PodInfo, PodKey};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Active,
    Backoff,
    Unschedulable,
    InFlight,
}

#[derive(Debug)]
struct Entry {
    pod: Arc<PodInfo>,
    place: Place,
    attempts: u32,
    last_failure: Option<Instant>,
    unschedulable_since: Option<Instant>,
    /// The move cycle when the pod was popped.
    popped_in_cycle: u64,
    generation: u64,
    /// When the pod first entered the queue (orders equal priorities).
    arrival: u64,
}

#[derive(Debug, PartialEq, Eq)]
struct ActiveItem {
    priority: i32,
    arrival: u64,
    generation: u64,
    key: PodKey,
}

impl Ord for ActiveItem {
    fn cmp(&self, other: &Self) -> Ordering {
        // Max-heap: higher priority first, then earlier arrival.
        self.priority.cmp(&other.priority).then_with(|| other.arrival.cmp(&self.arrival))
    }
}

impl PartialOrd for ActiveItem {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// `initial × 2^(attempts−1)`, capped at `max`.
fn backoff(initial: Duration, max: Duration, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(30);
    initial.saturating_mul(1u32 << doublings).min(max)
}

#[derive(Debug)]
pub struct SchedulingQueue {
    entries: HashMap<PodKey, Entry>,
    active: BinaryHeap<ActiveItem>,
    backoff: BinaryHeap<Reverse<(Instant, u64, PodKey)>>,
    initial_backoff: Duration,
    max_backoff: Duration,
    counter: u64,
    move_cycle: u64,
}

impl SchedulingQueue {
    pub fn new(initial_backoff: Duration, max_backoff: Duration) -> Self {
        Self {
            entries: HashMap::new(),
            active: BinaryHeap::new(),
            backoff: BinaryHeap::new(),
            initial_backoff,
            max_backoff,
            counter: 0,
            move_cycle: 0,
        }
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keys of every queued pod (for reconciling after a re-list).
    pub fn keys(&self) -> Vec<PodKey> {
        self.entries.keys().cloned().collect()
    }

    fn backoff_of(&self, attempts: u32) -> Duration {
        backoff(self.initial_backoff, self.max_backoff, attempts)
    }

    fn backoff_expiry(&self, entry: &Entry) -> Option<Instant> {
        entry.last_failure.map(|t| t + self.backoff_of(entry.attempts))
    }

    fn place(&mut self, key: &PodKey, place: Place, now: Instant) {
        let generation = self.next();
        let (initial, max) = (self.initial_backoff, self.max_backoff);
        let Some(entry) = self.entries.get_mut(key) else { return };
        entry.generation = generation;
        entry.place = place;
        entry.unschedulable_since = (place == Place::Unschedulable).then_some(now);
        match place {
            Place::Active => self.active.push(ActiveItem {
                priority: entry.pod.priority,
                arrival: entry.arrival,
                generation,
                key: key.clone(),
            }),
            Place::Backoff => {
                let expiry = entry.last_failure.map_or(now, |t| t + backoff(initial, max, entry.attempts));
                self.backoff.push(Reverse((expiry, generation, key.clone())));
            }
            Place::Unschedulable | Place::InFlight => {}
        }
    }

    /// A pending pod was added or changed.
    pub fn add(&mut self, pod: Arc<PodInfo>, now: Instant) {
        let key = pod.key.clone();
        if let Some(entry) = self.entries.get_mut(&key) {
            let changed = entry.pod.fingerprint != pod.fingerprint;
            entry.pod = pod;
            // A spec or label change may have made it schedulable (tolerations, selectors...):
            // retry it. Status-only updates (ours included) are not a reason.
            if changed && entry.place == Place::Unschedulable {
                self.requeue(&key, now);
            }
            return;
        }
        let arrival = self.next();
        self.entries.insert(
            key.clone(),
            Entry {
                pod,
                place: Place::Active,
                attempts: 0,
                last_failure: None,
                unschedulable_since: None,
                popped_in_cycle: 0,
                generation: 0,
                arrival,
            },
        );
        self.place(&key, Place::Active, now);
    }

    pub fn delete(&mut self, key: &PodKey) {
        self.entries.remove(key);
    }

    /// Back to active, or to backoff when its backoff has not expired yet.
    fn requeue(&mut self, key: &PodKey, now: Instant) {
        let Some(entry) = self.entries.get(key) else { return };
        let waiting = self.backoff_expiry(entry).is_some_and(|t| t > now);
        self.place(key, if waiting { Place::Backoff } else { Place::Active }, now);
    }

    /// The next pod to schedule, if one is ready at `now`.
    pub fn pop(&mut self, now: Instant) -> Option<Arc<PodInfo>> {
        while let Some(Reverse((expiry, generation, _))) = self.backoff.peek() {
            if *expiry > now {
                break;
            }
            let generation = *generation;
            let Some(Reverse((_, _, key))) = self.backoff.pop() else { break };
            if self.entries.get(&key).is_some_and(|e| e.generation == generation && e.place == Place::Backoff) {
                self.place(&key, Place::Active, now);
            }
        }
        while let Some(item) = self.active.pop() {
            let cycle = self.move_cycle;
            let Some(entry) = self.entries.get_mut(&item.key) else { continue };
            if entry.generation != item.generation || entry.place != Place::Active {
                continue;
            }
            entry.place = Place::InFlight;
            entry.attempts += 1;
            entry.popped_in_cycle = cycle;
            return Some(entry.pod.clone());
        }
        None
    }

    /// When the earliest backing-off pod becomes ready (possibly a stale entry: then the
    /// caller wakes up early and finds nothing, which is harmless).
    pub fn next_ready_at(&self) -> Option<Instant> {
        self.backoff.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Whether a pod can be popped at `now` without waiting.
    pub fn has_ready(&self, now: Instant) -> bool {
        !self.active.is_empty() || self.next_ready_at().is_some_and(|t| t <= now)
    }

    /// The pod was assumed on a node: it leaves the queue.
    pub fn done(&mut self, key: &PodKey) {
        self.entries.remove(key);
    }

    /// No node fits the pod.
    pub fn failed_unschedulable(&mut self, key: &PodKey, now: Instant) {
        let cycle = self.move_cycle;
        let Some(entry) = self.entries.get_mut(key) else { return };
        entry.last_failure = Some(now);
        let missed_a_change = entry.popped_in_cycle < cycle;
        self.place(key, if missed_a_change { Place::Backoff } else { Place::Unschedulable }, now);
    }

    /// Scheduling or binding failed for another reason (API error, conflict): back off.
    pub fn failed_error(&mut self, pod: Arc<PodInfo>, now: Instant) {
        let key = pod.key.clone();
        if !self.entries.contains_key(&key) {
            // A failed bind: the pod left the queue when it was assumed.
            let arrival = self.next();
            self.entries.insert(
                key.clone(),
                Entry {
                    pod,
                    place: Place::InFlight,
                    attempts: 1,
                    last_failure: None,
                    unschedulable_since: None,
                    popped_in_cycle: 0,
                    generation: 0,
                    arrival,
                },
            );
        }
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.last_failure = Some(now);
        }
        self.place(&key, Place::Backoff, now);
    }

    /// The cluster changed in a way that may let unschedulable pods fit.
    pub fn move_all(&mut self, now: Instant) {
        self.move_cycle += 1;
        let stuck: Vec<PodKey> =
            self.entries.iter().filter(|(_, e)| e.place == Place::Unschedulable).map(|(k, _)| k.clone()).collect();
        for key in stuck {
            self.requeue(&key, now);
        }
    }

    /// Retries pods that have been unschedulable for longer than `max_age`.
    pub fn flush_unschedulable(&mut self, now: Instant, max_age: Duration) {
        let stale: Vec<PodKey> = self
            .entries
            .iter()
            .filter(|(_, e)| {
                e.place == Place::Unschedulable && e.unschedulable_since.is_some_and(|t| t + max_age <= now)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            self.requeue(&key, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::pod;

    fn info(name: &str, priority: i32) -> Arc<PodInfo> {
        let mut p = pod(name, "1");
        p.spec.as_mut().unwrap().priority = Some(priority);
        Arc::new(PodInfo::new(&p))
    }

    fn queue() -> SchedulingQueue {
        SchedulingQueue::new(Duration::from_secs(1), Duration::from_secs(10))
    }

    #[test]
    fn higher_priority_first_then_arrival_order() {
        let now = Instant::now();
        let mut q = queue();
        q.add(info("a", 0), now);
        q.add(info("b", 10), now);
        q.add(info("c", 0), now);
        let order: Vec<_> = std::iter::from_fn(|| q.pop(now)).map(|p| p.name.clone()).collect();
        assert_eq!(order, ["b", "a", "c"]);
    }

    #[test]
    fn errors_back_off_exponentially_up_to_the_max() {
        let t0 = Instant::now();
        let mut q = queue();
        q.add(info("a", 0), t0);
        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..6 {
            let p = q.pop(now).expect("ready");
            q.failed_error(p, now);
            assert!(q.pop(now).is_none(), "backing off");
            let ready = q.next_ready_at().unwrap();
            waits.push((ready - now).as_secs());
            now = ready;
        }
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn unschedulable_pods_wait_for_a_cluster_change() {
        let t0 = Instant::now();
        let mut q = queue();
        q.add(info("a", 0), t0);
        let p = q.pop(t0).unwrap();
        q.failed_unschedulable(&p.key, t0);
        let later = t0 + Duration::from_secs(30);
        assert!(q.pop(later).is_none(), "no change, no retry");
        q.move_all(later);
        assert_eq!(q.pop(later).map(|p| p.name.clone()).as_deref(), Some("a"));
    }

    #[test]
    fn a_change_during_the_attempt_means_backoff_not_unschedulable() {
        let t0 = Instant::now();
        let mut q = queue();
        q.add(info("a", 0), t0);
        let p = q.pop(t0).unwrap();
        q.move_all(t0); // e.g. a node was added while we were deciding
        q.failed_unschedulable(&p.key, t0);
        assert!(q.pop(t0).is_none());
        assert!(q.pop(t0 + Duration::from_secs(1)).is_some(), "retried after the backoff alone");
    }

    #[test]
    fn moved_pods_still_honour_their_backoff_and_flush_retries_old_ones() {
        let t0 = Instant::now();
        let mut q = queue();
        q.add(info("a", 0), t0);
        let p = q.pop(t0).unwrap();
        q.failed_unschedulable(&p.key, t0);
        q.move_all(t0 + Duration::from_millis(100));
        assert!(q.pop(t0 + Duration::from_millis(100)).is_none(), "still within its 1 s backoff");
        assert!(q.pop(t0 + Duration::from_secs(1)).is_some());
        q.failed_unschedulable(&p.key, t0 + Duration::from_secs(1));
        q.flush_unschedulable(t0 + Duration::from_secs(30), Duration::from_secs(60));
        assert!(q.pop(t0 + Duration::from_secs(30)).is_none());
        q.flush_unschedulable(t0 + Duration::from_secs(62), Duration::from_secs(60));
        assert!(q.pop(t0 + Duration::from_secs(62)).is_some());
    }

    #[test]
    fn deleted_pods_are_never_popped() {
        let now = Instant::now();
        let mut q = queue();
        q.add(info("a", 0), now);
        q.delete(&PodKey::new("default", "a"));
        assert!(q.pop(now).is_none());
        assert!(q.is_empty());
    }
}
