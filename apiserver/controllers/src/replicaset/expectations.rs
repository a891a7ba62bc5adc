//! Expectations (upstream `ControllerExpectations`): the cache lags behind our own writes, so
//! after creating or deleting pods an owner must not act again until the informer has shown
//! those changes, or it would create or delete too many. We remember the names of the pods we
//! created and deleted per owner; a pod leaves the set when the informer delivers it (created),
//! or delivers it deleting or gone (deleted). After [`TIMEOUT`] an owner acts anyway, as upstream
//! does, so a lost event cannot block it forever.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Upstream's `ExpectationsTimeout`.
pub const TIMEOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Default)]
struct Pending {
    creates: HashSet<String>,
    deletes: HashSet<String>,
    since: Option<Instant>,
}

/// What the informer currently says about a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Cached and not being deleted.
    Present,
    /// Cached with a deletionTimestamp, or gone from the cache.
    DeletingOrGone,
    /// Not cached yet.
    Absent,
}

/// Expected pod changes per owner (keyed by the owner's uid).
#[derive(Debug, Default)]
pub struct Expectations {
    owners: Mutex<HashMap<String, Pending>>,
}

impl Expectations {
    /// Whether the owner may act: nothing it did is still unobserved (or it waited too long).
    pub fn satisfied(&self, owner: &str, now: Instant) -> bool {
        let owners = self.owners.lock().expect("expectations lock");
        match owners.get(owner) {
            None => true,
            Some(p) if p.creates.is_empty() && p.deletes.is_empty() => true,
            Some(p) => p.since.is_some_and(|since| now.duration_since(since) >= TIMEOUT),
        }
    }

    /// Starts a new round of changes (drops what a timed-out round still expected).
    pub fn reset(&self, owner: &str, now: Instant) {
        let mut owners = self.owners.lock().expect("expectations lock");
        owners.insert(owner.to_string(), Pending { since: Some(now), ..Default::default() });
    }

    /// Records a pod we created; `seen` is the cache's view checked under the same lock as the
    /// informer's observations, so an observation that raced ahead of this call is not missed.
    pub fn created(&self, owner: &str, pod: &str, seen: impl FnOnce() -> Seen) {
        let mut owners = self.owners.lock().expect("expectations lock");
        if seen() == Seen::Absent {
            let pending = owners.entry(owner.to_string()).or_default();
            pending.since.get_or_insert_with(Instant::now);
            pending.creates.insert(pod.to_string());
        }
    }

    /// Records a pod we deleted (see [`Expectations::created`] for `seen`).
    pub fn deleted(&self, owner: &str, pod: &str, seen: impl FnOnce() -> Seen) {
        let mut owners = self.owners.lock().expect("expectations lock");
        if seen() == Seen::Present {
            let pending = owners.entry(owner.to_string()).or_default();
            pending.since.get_or_insert_with(Instant::now);
            pending.deletes.insert(pod.to_string());
        }
    }

    /// The informer delivered `pod` (controlled by `owner`) in state `seen`.
    pub fn observe(&self, owner: &str, pod: &str, seen: Seen) {
        let mut owners = self.owners.lock().expect("expectations lock");
        if let Some(pending) = owners.get_mut(owner) {
            pending.creates.remove(pod);
            if seen == Seen::DeletingOrGone {
                pending.deletes.remove(pod);
            }
        }
    }

    /// The owner is gone.
    pub fn forget(&self, owner: &str) {
        self.owners.lock().expect("expectations lock").remove(owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_every_created_pod_to_be_seen() {
        let e = Expectations::default();
        let now = Instant::now();
        e.reset("rs", now);
        e.created("rs", "p1", || Seen::Absent);
        e.created("rs", "p2", || Seen::Absent);
        assert!(!e.satisfied("rs", now));
        e.observe("rs", "p1", Seen::Present);
        assert!(!e.satisfied("rs", now));
        e.observe("other", "p2", Seen::Present);
        assert!(!e.satisfied("rs", now), "another owner's pod does not count");
        e.observe("rs", "p2", Seen::Present);
        assert!(e.satisfied("rs", now));
    }

    #[test]
    fn a_pod_already_cached_when_recorded_is_not_expected() {
        let e = Expectations::default();
        e.created("rs", "p1", || Seen::Present);
        e.deleted("rs", "p2", || Seen::DeletingOrGone);
        assert!(e.satisfied("rs", Instant::now()));
    }

    #[test]
    fn deletions_wait_for_a_deleting_or_gone_pod_and_time_out() {
        let e = Expectations::default();
        let now = Instant::now();
        e.reset("rs", now);
        e.deleted("rs", "p1", || Seen::Present);
        e.observe("rs", "p1", Seen::Present);
        assert!(!e.satisfied("rs", now), "an update that is not the deletion does not count");
        assert!(e.satisfied("rs", now + TIMEOUT));
        e.observe("rs", "p1", Seen::DeletingOrGone);
        assert!(e.satisfied("rs", now));
        e.forget("rs");
        assert!(e.satisfied("rs", now));
    }
}
