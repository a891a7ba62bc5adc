//! Bookkeeping of API writes per pod: at most one in flight per pod, so a status patch never
//! overtakes a newer one, and requests made meanwhile coalesce (only the latest status is sent;
//! the delete goes after the final status, as the kubelet orders them).

use std::collections::HashMap;

use crate::runtime::PodUid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// Patch `pods/status` with the status computed when the write starts.
    Status,
    /// Delete with grace 0 and the pod's uid as precondition.
    Delete,
}

/// How a write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Failed for a reason that may pass (server busy, connection lost): try again later.
    Retry,
}

#[derive(Debug, Default)]
struct Pending {
    status: bool,
    delete: bool,
    in_flight: bool,
}

#[derive(Debug, Default)]
pub struct WriteBook {
    pods: HashMap<PodUid, Pending>,
}

impl WriteBook {
    pub fn want(&mut self, pod: &PodUid, kind: WriteKind) {
        let pending = self.pods.entry(pod.clone()).or_default();
        match kind {
            WriteKind::Status => pending.status = true,
            WriteKind::Delete => pending.delete = true,
        }
    }

    /// The write to start now for `pod` (marked in flight), if none is in flight.
    pub fn next(&mut self, pod: &PodUid) -> Option<WriteKind> {
        let pending = self.pods.get_mut(pod)?;
        if pending.in_flight {
            return None;
        }
        let kind = if pending.status {
            pending.status = false;
            WriteKind::Status
        } else if pending.delete {
            pending.delete = false;
            WriteKind::Delete
        } else {
            self.pods.remove(pod);
            return None;
        };
        pending.in_flight = true;
        Some(kind)
    }

    /// The write in flight for `pod` ended; a retry is queued again (behind newer requests).
    pub fn done(&mut self, pod: &PodUid, kind: WriteKind, outcome: Outcome) {
        let Some(pending) = self.pods.get_mut(pod) else { return };
        pending.in_flight = false;
        if outcome == Outcome::Retry {
            match kind {
                WriteKind::Status => pending.status = true,
                WriteKind::Delete => pending.delete = true,
            }
        }
    }

    pub fn forget(&mut self, pod: &PodUid) {
        self.pods.remove(pod);
    }

    /// Pods with a write in flight or pending.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.pods.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_write_in_flight_per_pod_and_requests_coalesce() {
        let mut book = WriteBook::default();
        let pod: PodUid = "u".into();
        book.want(&pod, WriteKind::Status);
        assert_eq!(book.next(&pod), Some(WriteKind::Status));
        book.want(&pod, WriteKind::Status);
        book.want(&pod, WriteKind::Status);
        book.want(&pod, WriteKind::Delete);
        assert_eq!(book.next(&pod), None, "one in flight");
        book.done(&pod, WriteKind::Status, Outcome::Done);
        assert_eq!(book.next(&pod), Some(WriteKind::Status), "the three requests made one write");
        book.done(&pod, WriteKind::Status, Outcome::Done);
        assert_eq!(book.next(&pod), Some(WriteKind::Delete), "delete after the final status");
        book.done(&pod, WriteKind::Delete, Outcome::Done);
        assert_eq!(book.next(&pod), None);
        assert_eq!(book.len(), 0, "nothing left behind");
    }

    #[test]
    fn failed_writes_are_queued_again() {
        let mut book = WriteBook::default();
        let pod: PodUid = "u".into();
        book.want(&pod, WriteKind::Delete);
        assert_eq!(book.next(&pod), Some(WriteKind::Delete));
        book.done(&pod, WriteKind::Delete, Outcome::Retry);
        assert_eq!(book.next(&pod), Some(WriteKind::Delete));
        book.forget(&pod);
        assert_eq!(book.next(&pod), None);
    }
}
