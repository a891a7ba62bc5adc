//! The StatefulSet decisions as one pure function: given the set's shape and its pods by
//! ordinal, which pods to create and delete now (upstream's `updateStatefulSet`).
//!
//! Order of work, as upstream: (1) replicas in range `[start, start+replicas)` — replace
//! finished pods, create missing ones; with `OrderedReady` stop at the first pod that is not
//! yet Running, Ready and available (so pod N+1 never exists before N is ready). (2) Condemned
//! pods (ordinals out of range), highest first; `OrderedReady` deletes one at a time and waits
//! until it is gone. (3) `RollingUpdate`: delete outdated pods from the highest ordinal down to
//! the partition, at most `maxUnavailable` unavailable at once; they come back at the update
//! revision through step (1). `OnDelete` never deletes for an update.

/// `spec.podManagementPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Management {
    OrderedReady,
    Parallel,
}

/// `spec.updateStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Replace pods with index `>= partition`, at most `max_unavailable` unavailable at once.
    RollingUpdate {
        partition: i32,
        max_unavailable: i32,
    },
    OnDelete,
}

/// The set as the planner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub replicas: i32,
    /// `spec.ordinals.start`.
    pub start: i32,
    pub management: Management,
    pub strategy: Strategy,
}

/// One existing pod of the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Replica {
    pub ordinal: i32,
    /// Labelled with the update revision.
    pub updated: bool,
    pub terminating: bool,
    /// Failed or Succeeded.
    pub finished: bool,
    /// Running and Ready for `minReadySeconds`.
    pub available: bool,
}

impl Replica {
    fn healthy(&self) -> bool {
        self.available && !self.terminating
    }
}

/// Which template a new pod gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision {
    Current,
    Update,
}

/// Why a pod is deleted (for the log and events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Finished,
    ScaleDown,
    Update,
}

/// One thing to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create { ordinal: i32, revision: Revision },
    Delete { ordinal: i32, reason: Reason },
}

impl Shape {
    fn in_range(&self, ordinal: i32) -> bool {
        ordinal >= self.start && ordinal < self.start + self.replicas
    }

    /// The revision a pod created at `ordinal` gets: below the partition pods stay at the
    /// current revision (upstream's `newVersionedStatefulSetPod`).
    fn revision_for(&self, ordinal: i32) -> Revision {
        match self.strategy {
            Strategy::RollingUpdate { partition, .. } if ordinal - self.start < partition => Revision::Current,
            _ => Revision::Update,
        }
    }
}

/// The steps to take now (see the module comment); an empty plan means wait or done.
pub fn plan(shape: &Shape, pods: &[Replica]) -> Vec<Step> {
    let ordered = shape.management == Management::OrderedReady;
    let mut steps = Vec::new();
    let at = |ordinal: i32| pods.iter().find(|p| p.ordinal == ordinal);

    for index in 0..shape.replicas.max(0) {
        let ordinal = shape.start + index;
        match at(ordinal) {
            None => {
                steps.push(Step::Create { ordinal, revision: shape.revision_for(ordinal) });
                if ordered {
                    return steps;
                }
            }
            Some(pod) if pod.finished && !pod.terminating => {
                // Deleted now, created again once it is gone (its name is reused).
                steps.push(Step::Delete { ordinal, reason: Reason::Finished });
                if ordered {
                    return steps;
                }
            }
            Some(pod) if ordered && !pod.healthy() => return steps,
            Some(_) => {}
        }
    }

    let mut condemned: Vec<&Replica> = pods.iter().filter(|p| !shape.in_range(p.ordinal)).collect();
    condemned.sort_by_key(|p| std::cmp::Reverse(p.ordinal));
    // Upstream lets OrderedReady delete an unhealthy condemned pod only if it is the lowest
    // unhealthy one: the others may still become ready and be deleted in order.
    let first_unhealthy = condemned.iter().rev().find(|p| !p.healthy()).map(|p| p.ordinal);
    for pod in condemned {
        if pod.terminating {
            if ordered {
                return steps;
            }
            continue;
        }
        if ordered && !pod.healthy() && Some(pod.ordinal) != first_unhealthy {
            return steps;
        }
        steps.push(Step::Delete { ordinal: pod.ordinal, reason: Reason::ScaleDown });
        if ordered {
            return steps;
        }
    }

    let Strategy::RollingUpdate { partition, max_unavailable } = shape.strategy else {
        return steps;
    };
    let update_min = partition.clamp(0, shape.replicas.max(0));
    let updatable = (update_min..shape.replicas.max(0)).map(|index| shape.start + index);
    let unavailable = updatable.clone().filter(|ordinal| !at(*ordinal).is_some_and(Replica::healthy)).count();
    let budget = usize::try_from(max_unavailable.max(1)).unwrap_or(1).saturating_sub(unavailable);
    let already_deleted =
        |ordinal: i32| steps.iter().any(|s| matches!(s, Step::Delete { ordinal: o, .. } if *o == ordinal));
    let outdated: Vec<Step> = updatable
        .rev()
        .filter_map(at)
        .filter(|p| !p.updated && !p.terminating && !already_deleted(p.ordinal))
        .take(budget)
        .map(|p| Step::Delete { ordinal: p.ordinal, reason: Reason::Update })
        .collect();
    steps.extend(outdated);
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(replicas: i32, management: Management, strategy: Strategy) -> Shape {
        Shape { replicas, start: 0, management, strategy }
    }

    const ROLLING: Strategy = Strategy::RollingUpdate { partition: 0, max_unavailable: 1 };

    fn healthy(ordinal: i32) -> Replica {
        Replica { ordinal, updated: true, available: true, ..Default::default() }
    }

    fn pending(ordinal: i32) -> Replica {
        Replica { ordinal, updated: true, ..Default::default() }
    }

    fn outdated(ordinal: i32) -> Replica {
        Replica { updated: false, ..healthy(ordinal) }
    }

    fn create(ordinal: i32) -> Step {
        Step::Create { ordinal, revision: Revision::Update }
    }

    #[test]
    fn ordered_ready_creates_the_next_ordinal_only_after_the_previous_is_ready() {
        let set = shape(3, Management::OrderedReady, ROLLING);
        assert_eq!(plan(&set, &[]), vec![create(0)]);
        assert_eq!(plan(&set, &[pending(0)]), vec![]);
        assert_eq!(plan(&set, &[healthy(0)]), vec![create(1)]);
        assert_eq!(plan(&set, &[healthy(0), healthy(1)]), vec![create(2)]);
        assert_eq!(plan(&set, &[healthy(0), healthy(1), healthy(2)]), vec![]);
    }

    #[test]
    fn parallel_creates_every_missing_ordinal_at_once() {
        let set = shape(3, Management::Parallel, ROLLING);
        assert_eq!(plan(&set, &[pending(1)]), vec![create(0), create(2)]);
    }

    #[test]
    fn ordinals_start_at_spec_ordinals_start() {
        let set = Shape { start: 5, ..shape(2, Management::OrderedReady, ROLLING) };
        assert_eq!(plan(&set, &[]), vec![create(5)]);
        assert_eq!(plan(&set, &[healthy(5)]), vec![create(6)]);
        // Pods of the old range are condemned once the new range is healthy.
        assert_eq!(
            plan(&set, &[healthy(0), healthy(5), healthy(6)]),
            vec![Step::Delete { ordinal: 0, reason: Reason::ScaleDown }]
        );
    }

    #[test]
    fn ordered_scale_down_removes_the_highest_ordinal_first_and_waits_for_it() {
        let set = shape(1, Management::OrderedReady, ROLLING);
        let pods = [healthy(0), healthy(1), healthy(2)];
        assert_eq!(plan(&set, &pods), vec![Step::Delete { ordinal: 2, reason: Reason::ScaleDown }]);
        let deleting = [healthy(0), healthy(1), Replica { terminating: true, ..healthy(2) }];
        assert_eq!(plan(&set, &deleting), vec![]);
        assert_eq!(plan(&set, &[healthy(0), healthy(1)]), vec![Step::Delete { ordinal: 1, reason: Reason::ScaleDown }]);
    }

    #[test]
    fn ordered_scale_down_waits_while_a_remaining_pod_is_unhealthy() {
        let set = shape(1, Management::OrderedReady, ROLLING);
        assert_eq!(plan(&set, &[pending(0), healthy(1)]), vec![]);
        // An unhealthy condemned pod above a healthy one waits; the lowest unhealthy may go.
        assert_eq!(plan(&set, &[healthy(0), pending(1), pending(2)]), vec![]);
        assert_eq!(plan(&set, &[healthy(0), pending(1)]), vec![Step::Delete { ordinal: 1, reason: Reason::ScaleDown }]);
    }

    #[test]
    fn parallel_scale_down_deletes_all_condemned_at_once() {
        let set = shape(1, Management::Parallel, ROLLING);
        let steps = plan(&set, &[healthy(0), pending(1), healthy(2)]);
        assert_eq!(
            steps,
            vec![
                Step::Delete { ordinal: 2, reason: Reason::ScaleDown },
                Step::Delete { ordinal: 1, reason: Reason::ScaleDown }
            ]
        );
    }

    #[test]
    fn finished_pods_are_deleted_to_be_recreated() {
        let set = shape(2, Management::OrderedReady, ROLLING);
        let failed = Replica { finished: true, ..pending(0) };
        assert_eq!(plan(&set, &[failed, healthy(1)]), vec![Step::Delete { ordinal: 0, reason: Reason::Finished }]);
        assert_eq!(plan(&set, &[healthy(1)]), vec![create(0)]);
    }

    #[test]
    fn rolling_update_replaces_the_highest_outdated_pod_one_at_a_time() {
        let set = shape(3, Management::OrderedReady, ROLLING);
        let pods = [outdated(0), outdated(1), outdated(2)];
        assert_eq!(plan(&set, &pods), vec![Step::Delete { ordinal: 2, reason: Reason::Update }]);
        // Pod 2 is being replaced: nothing else until it is back and available.
        assert_eq!(plan(&set, &[outdated(0), outdated(1)]), vec![create(2)]);
        assert_eq!(plan(&set, &[outdated(0), outdated(1), pending(2)]), vec![]);
        assert_eq!(
            plan(&set, &[outdated(0), outdated(1), healthy(2)]),
            vec![Step::Delete { ordinal: 1, reason: Reason::Update }]
        );
    }

    #[test]
    fn partition_keeps_lower_ordinals_at_the_current_revision() {
        let set = shape(4, Management::Parallel, Strategy::RollingUpdate { partition: 2, max_unavailable: 1 });
        let pods = [outdated(0), outdated(1), outdated(2), healthy(3)];
        assert_eq!(plan(&set, &pods), vec![Step::Delete { ordinal: 2, reason: Reason::Update }]);
        assert_eq!(plan(&set, &[outdated(0), outdated(1), healthy(2), healthy(3)]), vec![]);
        // A lost pod below the partition comes back at the current revision.
        assert_eq!(
            plan(&set, &[outdated(1), healthy(2), healthy(3)]),
            vec![Step::Create { ordinal: 0, revision: Revision::Current }]
        );
        // A partition above the replica count updates nothing.
        let above = shape(2, Management::Parallel, Strategy::RollingUpdate { partition: 5, max_unavailable: 1 });
        assert_eq!(plan(&above, &[outdated(0), outdated(1)]), vec![]);
    }

    #[test]
    fn max_unavailable_bounds_parallel_replacement() {
        let set = shape(4, Management::Parallel, Strategy::RollingUpdate { partition: 0, max_unavailable: 2 });
        let pods = [outdated(0), outdated(1), outdated(2), outdated(3)];
        assert_eq!(
            plan(&set, &pods),
            vec![
                Step::Delete { ordinal: 3, reason: Reason::Update },
                Step::Delete { ordinal: 2, reason: Reason::Update }
            ]
        );
        // One already unavailable leaves room for one more.
        let pods = [outdated(0), outdated(1), outdated(2), pending(3)];
        assert_eq!(plan(&set, &pods), vec![Step::Delete { ordinal: 2, reason: Reason::Update }]);
    }

    #[test]
    fn on_delete_never_replaces_outdated_pods() {
        let set = shape(2, Management::OrderedReady, Strategy::OnDelete);
        assert_eq!(plan(&set, &[outdated(0), outdated(1)]), vec![]);
        assert_eq!(plan(&set, &[outdated(0)]), vec![create(1)]);
    }
}
