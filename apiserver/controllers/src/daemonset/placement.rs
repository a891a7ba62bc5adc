//! Which nodes a daemon pod belongs on (upstream's `NodeShouldRunDaemonPod`): the template's
//! `nodeName`, `nodeSelector`, required node affinity, and the node's NoSchedule/NoExecute
//! taints against the pod's tolerations (the daemon tolerations included). A node whose
//! NoSchedule taint is not tolerated gets no new pod but keeps a running one; an untolerated
//! NoExecute taint evicts it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Taint, Toleration,
};
use kube::ResourceExt;

/// Where a daemon pod stands with a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// A daemon pod should run there (create one if missing).
    pub should_run: bool,
    /// A daemon pod already there may stay.
    pub should_continue_running: bool,
}

/// The placement of a pod with `spec` on `node`.
pub fn placement(node: &Node, spec: &PodSpec) -> Placement {
    const NOWHERE: Placement = Placement { should_run: false, should_continue_running: false };
    let name = node.name_any();
    if spec.node_name.as_deref().is_some_and(|n| !n.is_empty() && n != name) {
        return NOWHERE;
    }
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    let selector_fits = spec.node_selector.iter().flatten().all(|(k, v)| labels.get(k) == Some(v));
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref());
    if !selector_fits || !required.is_none_or(|r| node_selector_matches(r, &name, labels)) {
        return NOWHERE;
    }
    let tolerations = spec.tolerations.as_deref().unwrap_or_default();
    let taints = node.spec.as_ref().and_then(|s| s.taints.as_deref()).unwrap_or_default();
    let untolerated =
        |effect: &str| taints.iter().any(|t| t.effect == effect && !tolerations.iter().any(|tol| tolerates(tol, t)));
    let evicted = untolerated("NoExecute");
    Placement { should_run: !evicted && !untolerated("NoSchedule"), should_continue_running: !evicted }
}

/// Whether the terms (ORed) select the node with `name` and `labels`.
pub fn node_selector_matches(selector: &NodeSelector, name: &str, labels: &BTreeMap<String, String>) -> bool {
    selector.node_selector_terms.iter().any(|term| term_matches(term, name, labels))
}

fn term_matches(term: &NodeSelectorTerm, name: &str, labels: &BTreeMap<String, String>) -> bool {
    let expressions = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    // An empty term selects nothing, as upstream.
    if expressions.is_empty() && fields.is_empty() {
        return false;
    }
    expressions.iter().all(|r| requirement_holds(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| r.key == "metadata.name" && requirement_holds(r, Some(name)))
}

fn requirement_holds(requirement: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = requirement.values.as_deref().unwrap_or_default();
    let number = |v: &str| v.parse::<i64>().ok();
    match requirement.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(actual), Some(bound)) = (value.and_then(number), values.first().and_then(|b| number(b))) else {
                return false;
            };
            if requirement.operator == "Gt" { actual > bound } else { actual < bound }
        }
        _ => false,
    }
}

/// Whether `toleration` tolerates `taint` (upstream's `Toleration.ToleratesTaint`).
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect_ok = toleration.effect.as_deref().is_none_or(|e| e.is_empty() || e == taint.effect);
    let key = toleration.key.as_deref().unwrap_or("");
    let key_ok = key.is_empty() || key == taint.key;
    let value_ok = match toleration.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => {
            // An empty key must go with Exists; `Equal` compares values.
            !key.is_empty() && toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
        _ => false,
    };
    effect_ok && key_ok && value_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Affinity, NodeAffinity, NodeSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn node(name: &str, labels: &[(&str, &str)], taints: &[(&str, &str)]) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
                ..Default::default()
            },
            spec: Some(NodeSpec {
                taints: Some(
                    taints
                        .iter()
                        .map(|(k, e)| Taint { key: k.to_string(), effect: e.to_string(), ..Default::default() })
                        .collect(),
                ),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn requirement(key: &str, operator: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    fn with_affinity(terms: Vec<NodeSelectorTerm>) -> PodSpec {
        PodSpec {
            affinity: Some(Affinity {
                node_affinity: Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                        node_selector_terms: terms,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    const RUN: Placement = Placement { should_run: true, should_continue_running: true };
    const NOWHERE: Placement = Placement { should_run: false, should_continue_running: false };

    #[test]
    fn node_selector_restricts_nodes() {
        let spec =
            PodSpec { node_selector: Some([("disk".to_string(), "ssd".to_string())].into()), ..Default::default() };
        assert_eq!(placement(&node("a", &[("disk", "ssd")], &[]), &spec), RUN);
        assert_eq!(placement(&node("b", &[("disk", "hdd")], &[]), &spec), NOWHERE);
        assert_eq!(placement(&node("c", &[], &[]), &PodSpec::default()), RUN);
    }

    #[test]
    fn required_node_affinity_terms_are_ored_and_fields_match_the_name() {
        let spec = with_affinity(vec![
            NodeSelectorTerm { match_expressions: Some(vec![requirement("zone", "In", &["a"])]), match_fields: None },
            NodeSelectorTerm {
                match_expressions: None,
                match_fields: Some(vec![requirement("metadata.name", "In", &["n9"])]),
            },
        ]);
        assert_eq!(placement(&node("n1", &[("zone", "a")], &[]), &spec), RUN);
        assert_eq!(placement(&node("n9", &[("zone", "b")], &[]), &spec), RUN);
        assert_eq!(placement(&node("n2", &[("zone", "b")], &[]), &spec), NOWHERE);
        let gt = with_affinity(vec![NodeSelectorTerm {
            match_expressions: Some(vec![requirement("cpus", "Gt", &["4"])]),
            match_fields: None,
        }]);
        assert_eq!(placement(&node("n", &[("cpus", "8")], &[]), &gt), RUN);
        assert_eq!(placement(&node("n", &[("cpus", "2")], &[]), &gt), NOWHERE);
        assert_eq!(placement(&node("n", &[], &[]), &with_affinity(vec![])), NOWHERE);
    }

    #[test]
    fn taints_block_new_pods_and_no_execute_evicts() {
        let spec = PodSpec::default();
        let no_schedule = node("a", &[], &[("dedicated", "NoSchedule")]);
        assert_eq!(placement(&no_schedule, &spec), Placement { should_run: false, should_continue_running: true });
        assert_eq!(placement(&node("b", &[], &[("gone", "NoExecute")]), &spec), NOWHERE);
        assert_eq!(placement(&node("c", &[], &[("soft", "PreferNoSchedule")]), &spec), RUN);
        let tolerant = PodSpec {
            tolerations: Some(vec![Toleration {
                key: Some("dedicated".into()),
                operator: Some("Exists".into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert_eq!(placement(&no_schedule, &tolerant), RUN);
    }

    #[test]
    fn toleration_matching_follows_upstream() {
        let taint = Taint { key: "k".into(), value: Some("v".into()), effect: "NoSchedule".into(), time_added: None };
        let tol = |key: Option<&str>, op: &str, value: Option<&str>, effect: Option<&str>| Toleration {
            key: key.map(Into::into),
            operator: Some(op.into()),
            value: value.map(Into::into),
            effect: effect.map(Into::into),
            toleration_seconds: None,
        };
        assert!(tolerates(&tol(Some("k"), "Equal", Some("v"), None), &taint));
        assert!(!tolerates(&tol(Some("k"), "Equal", Some("w"), None), &taint));
        assert!(tolerates(&tol(Some("k"), "Exists", None, Some("NoSchedule")), &taint));
        assert!(!tolerates(&tol(Some("k"), "Exists", None, Some("NoExecute")), &taint));
        assert!(tolerates(&tol(None, "Exists", None, None), &taint), "an empty key with Exists tolerates everything");
    }

    #[test]
    fn a_template_node_name_pins_the_pod() {
        let spec = PodSpec { node_name: Some("b".into()), ..Default::default() };
        assert_eq!(placement(&node("a", &[], &[]), &spec), NOWHERE);
        assert_eq!(placement(&node("b", &[], &[]), &spec), RUN);
    }
}
