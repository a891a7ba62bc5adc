//! NodeAffinity: `spec.nodeSelector` (every pair) and required node affinity (any term).

use crate::pod_info::PodInfo;
use crate::selector::Labels;

pub fn matches(pod: &PodInfo, node_name: &str, labels: &Labels) -> bool {
    pod.node_selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        && pod.required_node_terms.as_ref().is_none_or(|terms| terms.iter().any(|t| t.matches(node_name, labels)))
}

/// Sum of the weights of the preferred terms the node matches (NodeAffinity's raw score).
pub fn preferred_weight(pod: &PodInfo, node_name: &str, labels: &Labels) -> i64 {
    pod.preferred_node_terms.iter().filter(|(_, t)| t.matches(node_name, labels)).map(|(w, _)| i64::from(*w)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm};

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn node_selector_and_required_affinity_both_apply() {
        let mut pod = crate::cache::tests::pod("p", "1");
        let spec = pod.spec.as_mut().unwrap();
        spec.node_selector = Some([("disk".to_string(), "ssd".to_string())].into());
        spec.affinity = Some(Affinity {
            node_affinity: Some(NodeAffinity {
                required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                    node_selector_terms: vec![NodeSelectorTerm {
                        match_expressions: Some(vec![NodeSelectorRequirement {
                            key: "zone".into(),
                            operator: "In".into(),
                            values: Some(vec!["a".into()]),
                        }]),
                        match_fields: None,
                    }],
                }),
                preferred_during_scheduling_ignored_during_execution: None,
            }),
            ..Default::default()
        });
        let info = PodInfo::new(&pod);
        assert!(matches(&info, "n", &labels(&[("disk", "ssd"), ("zone", "a")])));
        assert!(!matches(&info, "n", &labels(&[("disk", "ssd"), ("zone", "b")])));
        assert!(!matches(&info, "n", &labels(&[("zone", "a")])));
    }
}
