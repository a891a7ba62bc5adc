//! The DaemonSet status from the nodes and their daemon pods (upstream's
//! `updateDaemonSetStatus`): what `kubectl rollout status daemonset` waits on.

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};

/// A node's daemon pods as the status counts them (terminating pods left out).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeCount {
    pub should_run: bool,
    /// The oldest daemon pod on the node: (ready, available, updated).
    pub oldest: Option<(bool, bool, bool)>,
}

pub fn compute(ds: &DaemonSet, nodes: &[NodeCount], collision_count: i32) -> DaemonSetStatus {
    let mut status = DaemonSetStatus {
        observed_generation: ds.metadata.generation,
        collision_count: Some(collision_count),
        conditions: ds.status.as_ref().and_then(|s| s.conditions.clone()),
        ..Default::default()
    };
    let (mut available, mut updated) = (0, 0);
    for node in nodes {
        match (node.should_run, node.oldest) {
            (true, oldest) => {
                status.desired_number_scheduled += 1;
                if let Some((ready, is_available, is_updated)) = oldest {
                    status.current_number_scheduled += 1;
                    status.number_ready += i32::from(ready);
                    available += i32::from(ready && is_available);
                    updated += i32::from(is_updated);
                }
            }
            (false, Some(_)) => status.number_misscheduled += 1,
            (false, None) => {}
        }
    }
    status.number_available = Some(available);
    status.updated_number_scheduled = Some(updated);
    status.number_unavailable = Some(status.desired_number_scheduled - available);
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn counts_nodes_not_pods() {
        let ds = DaemonSet { metadata: ObjectMeta { generation: Some(2), ..Default::default() }, ..Default::default() };
        let nodes = [
            NodeCount { should_run: true, oldest: Some((true, true, true)) },
            NodeCount { should_run: true, oldest: Some((true, false, false)) },
            NodeCount { should_run: true, oldest: None },
            NodeCount { should_run: false, oldest: Some((true, true, true)) },
            NodeCount { should_run: false, oldest: None },
        ];
        let status = compute(&ds, &nodes, 0);
        assert_eq!(status.desired_number_scheduled, 3);
        assert_eq!(status.current_number_scheduled, 2);
        assert_eq!(status.number_misscheduled, 1);
        assert_eq!(status.number_ready, 2);
        assert_eq!(status.number_available, Some(1));
        assert_eq!(status.updated_number_scheduled, Some(1));
        assert_eq!(status.number_unavailable, Some(2));
        assert_eq!(status.observed_generation, Some(2));
    }
}
