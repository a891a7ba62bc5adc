//! The DaemonSet decisions as one pure function over the nodes and the daemon pods on each
//! (upstream's `manage` + `rollingUpdate`):
//!
//! - a node that should run the daemon and has no pod gets one; failed pods are deleted (the
//!   next pass replaces them); extra pods are deleted, the oldest kept (with surge, the
//!   oldest updated and the oldest outdated are kept);
//! - a node that may no longer run it (an untolerated NoExecute taint, a changed selector)
//!   loses its pods;
//! - `RollingUpdate` without surge deletes outdated pods while at most `maxUnavailable` nodes
//!   lack an available pod (unavailable outdated pods go first, for free); with `maxSurge` it
//!   starts the new pod beside the old one and deletes the old one once the new is available.

use std::collections::BTreeSet;

/// One daemon pod on a node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DaemonPod {
    pub name: String,
    /// Made from the update revision.
    pub updated: bool,
    pub terminating: bool,
    pub failed: bool,
    /// Running and Ready for `minReadySeconds`.
    pub available: bool,
    /// Creation time in seconds (older first when trimming extras).
    pub created: i64,
}

/// A node with what the daemon should do there and the pods it has.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodePods {
    pub node: String,
    pub should_run: bool,
    pub should_continue_running: bool,
    pub pods: Vec<DaemonPod>,
}

/// `spec.updateStrategy`, budgets resolved against the desired number of nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollout {
    OnDelete,
    RollingUpdate { max_surge: i32, max_unavailable: i32 },
}

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Nodes to create an (updated) pod on.
    pub create_on: Vec<String>,
    /// Pods to delete, by name.
    pub delete: Vec<String>,
    /// Failed pods among `delete` (upstream warns about them).
    pub failed: Vec<String>,
}

impl NodePods {
    fn running(&self) -> impl Iterator<Item = &DaemonPod> {
        self.pods.iter().filter(|p| !p.terminating && !p.failed)
    }

    fn has_available(&self) -> bool {
        self.running().any(|p| p.available)
    }

    /// The one outdated and the one updated running pod, if there is at most one of each.
    fn old_and_new(&self) -> Option<(Option<&DaemonPod>, Option<&DaemonPod>)> {
        let (new, old): (Vec<&DaemonPod>, Vec<&DaemonPod>) = self.running().partition(|p| p.updated);
        (old.len() <= 1 && new.len() <= 1).then(|| (old.first().copied(), new.first().copied()))
    }
}

/// The plan for these nodes (see the module comment).
pub fn plan(nodes: &[NodePods], rollout: Rollout) -> Plan {
    let surge = matches!(rollout, Rollout::RollingUpdate { max_surge, .. } if max_surge > 0);
    let mut plan = Plan::default();
    let mut deleted = BTreeSet::new();
    let mut delete = |plan: &mut Plan, name: &str| {
        if deleted.insert(name.to_string()) {
            plan.delete.push(name.to_string());
        }
    };
    for node in nodes {
        if node.should_run {
            if node.pods.is_empty() {
                plan.create_on.push(node.node.clone());
                continue;
            }
            for pod in node.pods.iter().filter(|p| p.failed && !p.terminating) {
                plan.failed.push(pod.name.clone());
                delete(&mut plan, &pod.name);
            }
            let mut running: Vec<&DaemonPod> = node.running().collect();
            running.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name)));
            let keep_new = running.iter().find(|p| p.updated).map(|p| p.name.clone());
            let keep_old = running.iter().find(|p| !p.updated).map(|p| p.name.clone());
            for (index, pod) in running.iter().enumerate() {
                let kept = if surge {
                    Some(&pod.name) == keep_new.as_ref() || Some(&pod.name) == keep_old.as_ref()
                } else {
                    index == 0
                };
                if !kept {
                    delete(&mut plan, &pod.name);
                }
            }
        } else if !node.should_continue_running {
            for pod in node.pods.iter().filter(|p| !p.terminating) {
                delete(&mut plan, &pod.name);
            }
        }
    }

    let Rollout::RollingUpdate { max_surge, max_unavailable } = rollout else { return plan };
    let desired: Vec<&NodePods> = nodes.iter().filter(|n| n.should_run).collect();
    let mut unavailable = desired.iter().filter(|n| !n.has_available()).count();
    let max_unavailable = usize::try_from(max_unavailable.max(0)).unwrap_or(0);
    if !surge {
        let mut candidates = Vec::new();
        for node in &desired {
            let Some((Some(old), _)) = node.old_and_new() else { continue };
            if old.available {
                candidates.push(old.name.as_str());
            } else {
                // Not serving anyway: replacing it costs no availability.
                delete(&mut plan, &old.name);
            }
        }
        for name in candidates {
            if unavailable >= max_unavailable {
                break;
            }
            unavailable += 1;
            delete(&mut plan, name);
        }
        return plan;
    }
    let max_surge = usize::try_from(max_surge).unwrap_or(0);
    let mut surging =
        desired.iter().filter(|n| matches!(n.old_and_new(), Some((Some(_), Some(new))) if !new.available)).count();
    for node in &desired {
        match node.old_and_new() {
            // Not serving anyway: replaced without a surge pod.
            Some((Some(old), None)) if !old.available && (unavailable < max_unavailable || max_unavailable == 0) => {
                delete(&mut plan, &old.name);
            }
            Some((Some(old), None)) if old.available && surging < max_surge => {
                surging += 1;
                plan.create_on.push(node.node.clone());
            }
            Some((Some(old), Some(new))) if new.available => delete(&mut plan, &old.name),
            _ => {}
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, updated: bool, available: bool) -> DaemonPod {
        DaemonPod { name: name.into(), updated, available, ..Default::default() }
    }

    fn node(name: &str, pods: Vec<DaemonPod>) -> NodePods {
        NodePods { node: name.into(), should_run: true, should_continue_running: true, pods }
    }

    const ROLLING: Rollout = Rollout::RollingUpdate { max_surge: 0, max_unavailable: 1 };

    #[test]
    fn every_eligible_node_without_a_pod_gets_one() {
        let nodes = vec![
            node("a", vec![]),
            node("b", vec![pod("p", true, true)]),
            NodePods { should_run: false, should_continue_running: false, ..node("c", vec![]) },
        ];
        assert_eq!(plan(&nodes, ROLLING), Plan { create_on: vec!["a".into()], ..Default::default() });
    }

    #[test]
    fn a_terminating_pod_is_awaited_before_a_new_one() {
        let nodes = vec![node("a", vec![DaemonPod { terminating: true, ..pod("p", true, false) }])];
        assert_eq!(plan(&nodes, ROLLING), Plan::default());
    }

    #[test]
    fn failed_and_extra_pods_are_deleted_keeping_the_oldest() {
        let failed = DaemonPod { failed: true, ..pod("failed", true, false) };
        let older = DaemonPod { created: 1, ..pod("older", true, true) };
        let newer = DaemonPod { created: 2, ..pod("newer", true, true) };
        let result = plan(&[node("a", vec![failed, newer, older])], Rollout::OnDelete);
        assert_eq!(result.delete, vec!["failed".to_string(), "newer".to_string()]);
        assert_eq!(result.failed, vec!["failed".to_string()]);
        assert!(result.create_on.is_empty());
    }

    #[test]
    fn pods_leave_nodes_they_may_no_longer_run_on() {
        let evicted =
            NodePods { should_run: false, should_continue_running: false, ..node("a", vec![pod("p", true, true)]) };
        let tolerated =
            NodePods { should_run: false, should_continue_running: true, ..node("b", vec![pod("q", true, true)]) };
        assert_eq!(plan(&[evicted, tolerated], ROLLING).delete, vec!["p".to_string()]);
    }

    #[test]
    fn rolling_update_replaces_at_most_max_unavailable_at_once() {
        let nodes: Vec<NodePods> =
            ["a", "b", "c"].iter().map(|n| node(n, vec![pod(&format!("old-{n}"), false, true)])).collect();
        assert_eq!(plan(&nodes, ROLLING).delete, vec!["old-a".to_string()]);
        let two = Rollout::RollingUpdate { max_surge: 0, max_unavailable: 2 };
        assert_eq!(plan(&nodes, two).delete.len(), 2);
        // While one node has no available pod, nothing more is taken down.
        let mut busy = nodes.clone();
        busy[0].pods = vec![pod("new-a", true, false)];
        assert!(plan(&busy, ROLLING).delete.is_empty());
        // An outdated pod that is not available anyway is replaced at once.
        let mut broken = nodes.clone();
        broken[1].pods = vec![pod("old-b", false, false)];
        assert_eq!(plan(&broken, ROLLING).delete, vec!["old-b".to_string()]);
    }

    #[test]
    fn on_delete_leaves_outdated_pods() {
        let nodes = vec![node("a", vec![pod("old", false, true)])];
        assert_eq!(plan(&nodes, Rollout::OnDelete), Plan::default());
    }

    #[test]
    fn surge_starts_the_new_pod_first_and_removes_the_old_once_available() {
        let surge = Rollout::RollingUpdate { max_surge: 1, max_unavailable: 0 };
        let nodes = vec![node("a", vec![pod("old-a", false, true)]), node("b", vec![pod("old-b", false, true)])];
        assert_eq!(plan(&nodes, surge), Plan { create_on: vec!["a".into()], ..Default::default() });
        let starting = vec![node("a", vec![pod("old-a", false, true), pod("new-a", true, false)]), nodes[1].clone()];
        assert_eq!(plan(&starting, surge), Plan::default(), "the surge budget is in use");
        let ready = vec![node("a", vec![pod("old-a", false, true), pod("new-a", true, true)]), nodes[1].clone()];
        assert_eq!(
            plan(&ready, surge),
            Plan { create_on: vec!["b".into()], delete: vec!["old-a".into()], ..Default::default() }
        );
    }
}
