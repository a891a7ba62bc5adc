//! Creates and deletes in flight (upstream's `ControllerExpectations`, per pod rather than as
//! counts): the shared cache lags behind this controller's own writes, and without this a
//! second pass would start a second pod on a node whose first pod it has not seen yet.
//! A pod created is pending until the cache holds it; a pod deleted until the cache shows it
//! terminating or gone; both are forgotten after [`TIMEOUT`] (a lost watch event must not
//! block a node for ever).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long an unobserved write is waited for.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// One DaemonSet's writes in flight.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Pod name → (node, when created).
    creates: HashMap<String, (String, Instant)>,
    /// Pod UID → when deleted.
    deletes: HashMap<String, Instant>,
}

impl Pending {
    pub fn created(&mut self, pod: String, node: String, now: Instant) {
        self.creates.insert(pod, (node, now));
    }

    pub fn deleted(&mut self, uid: String, now: Instant) {
        self.deletes.insert(uid, now);
    }

    /// Forgets what the cache now shows: `cached(name)` is the cached pod's UID and whether it
    /// is terminating, for a pod name; `live_uid(uid)` whether a non-terminating pod has it.
    pub fn observe(&mut self, cached: impl Fn(&str) -> bool, live_uid: impl Fn(&str) -> bool, now: Instant) {
        self.creates.retain(|name, (_, at)| !cached(name) && now.duration_since(*at) < TIMEOUT);
        self.deletes.retain(|uid, at| live_uid(uid) && now.duration_since(*at) < TIMEOUT);
    }

    /// Nodes with a created pod the cache has not shown yet.
    pub fn creating_on(&self) -> impl Iterator<Item = (&str, &str)> {
        self.creates.iter().map(|(pod, (node, _))| (node.as_str(), pod.as_str()))
    }

    /// Whether a delete of the pod with `uid` is in flight.
    pub fn deleting(&self, uid: &str) -> bool {
        self.deletes.contains_key(uid)
    }

    pub fn is_empty(&self) -> bool {
        self.creates.is_empty() && self.deletes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_wait_for_the_cache_or_the_timeout() {
        let start = Instant::now();
        let mut pending = Pending::default();
        pending.created("ds-abc".into(), "node-1".into(), start);
        pending.observe(|_| false, |_| true, start + Duration::from_secs(1));
        assert_eq!(pending.creating_on().collect::<Vec<_>>(), vec![("node-1", "ds-abc")]);
        pending.observe(|name| name == "ds-abc", |_| true, start + Duration::from_secs(2));
        assert!(pending.is_empty());

        pending.created("ds-lost".into(), "node-2".into(), start);
        pending.observe(|_| false, |_| true, start + TIMEOUT);
        assert!(pending.is_empty(), "an unobserved create is forgotten after the timeout");
    }

    #[test]
    fn deletes_wait_until_the_pod_is_terminating_or_gone() {
        let start = Instant::now();
        let mut pending = Pending::default();
        pending.deleted("uid-1".into(), start);
        pending.observe(|_| false, |uid| uid == "uid-1", start);
        assert!(pending.deleting("uid-1"));
        pending.observe(|_| false, |_| false, start);
        assert!(!pending.deleting("uid-1"));
    }
}
