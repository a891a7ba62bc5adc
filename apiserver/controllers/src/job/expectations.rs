//! Creations and deletions in flight per Job: the cache lags behind our own writes, so a Job is
//! not managed again until the informer has seen every pod we created and every deletion we
//! made (or a timeout passed: a lost watch event must not stall a Job forever).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an unobserved write is waited for (upstream's `ExpectationsTimeout`, 5 minutes).
pub const TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
struct InFlight {
    created: HashSet<String>,
    deleted: HashSet<String>,
    since: Option<Instant>,
}

/// Expectations of every Job, keyed by the Job's uid.
#[derive(Debug, Default)]
pub struct Expectations {
    by_job: Mutex<HashMap<String, InFlight>>,
}

/// What the cache shows of one pod name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Absent,
    Present,
    Deleting,
}

impl Expectations {
    /// Remembers pod names just created and deleted for `job`.
    pub fn expect(
        &self,
        job: &str,
        created: impl IntoIterator<Item = String>,
        deleted: impl IntoIterator<Item = String>,
    ) {
        let mut by_job = self.by_job.lock().expect("expectations lock");
        let entry = by_job.entry(job.to_string()).or_default();
        entry.created.extend(created);
        entry.deleted.extend(deleted);
        if !entry.created.is_empty() || !entry.deleted.is_empty() {
            entry.since.get_or_insert_with(Instant::now);
        }
    }

    /// Whether everything in flight for `job` has been observed (`seen` answers for a pod
    /// name); observed entries are dropped.
    pub fn satisfied(&self, job: &str, seen: impl Fn(&str) -> Seen, now: Instant) -> bool {
        let mut by_job = self.by_job.lock().expect("expectations lock");
        let Some(entry) = by_job.get_mut(job) else { return true };
        entry.created.retain(|name| seen(name) == Seen::Absent);
        entry.deleted.retain(|name| seen(name) == Seen::Present);
        let expired = entry.since.is_some_and(|since| now.duration_since(since) >= TIMEOUT);
        if expired || (entry.created.is_empty() && entry.deleted.is_empty()) {
            by_job.remove(job);
            return true;
        }
        false
    }

    /// Forgets a deleted Job.
    pub fn forget(&self, job: &str) {
        self.by_job.lock().expect("expectations lock").remove(job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_until_creations_and_deletions_are_observed() {
        let expectations = Expectations::default();
        let now = Instant::now();
        assert!(expectations.satisfied("j", |_| Seen::Absent, now));
        expectations.expect("j", ["a".to_string()], ["b".to_string()]);
        assert!(
            !expectations.satisfied("j", |n| if n == "a" { Seen::Absent } else { Seen::Present }, now),
            "a not yet seen"
        );
        assert!(!expectations.satisfied("j", |_| Seen::Present, now), "a seen, b not yet deleting");
        assert!(expectations.satisfied("j", |_| Seen::Deleting, now), "b deleting; a was seen before");
        assert!(expectations.satisfied("j", |_| Seen::Absent, now), "nothing left in flight");
    }

    #[test]
    fn gives_up_waiting_after_the_timeout() {
        let expectations = Expectations::default();
        let now = Instant::now();
        expectations.expect("j", ["a".to_string()], []);
        assert!(!expectations.satisfied("j", |_| Seen::Absent, now));
        assert!(expectations.satisfied("j", |_| Seen::Absent, Instant::now() + TIMEOUT));
    }
}
