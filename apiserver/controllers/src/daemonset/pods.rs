//! Daemon pods as upstream makes them: the template with the daemon tolerations added
//! (`AddOrUpdateDaemonPodTolerations`), the revision labels, and a required node affinity
//! `matchFields metadata.name In [node]` that pins the pod to its node while the scheduler
//! still binds it (`ReplaceDaemonSetPodNodeNameNodeAffinity`).

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, PodSpec, PodTemplateSpec,
    Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;

use crate::history::CONTROLLER_REVISION_HASH_LABEL;
use crate::owners;

/// The deprecated label upstream still puts on daemon pods.
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";

/// Taints every daemon pod tolerates (key, effect): it must run on nodes that are unhealthy,
/// under pressure or cordoned.
const DAEMON_TOLERATIONS: [(&str, &str); 6] = [
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
];
/// Tolerated too by host-network daemons (they do not need the pod network).
const HOST_NETWORK_TOLERATION: (&str, &str) = ("node.kubernetes.io/network-unavailable", "NoSchedule");

/// Adds the daemon tolerations a spec does not already have.
pub fn add_daemon_tolerations(spec: &mut PodSpec) {
    let host_network = spec.host_network == Some(true);
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    let wanted = DAEMON_TOLERATIONS.iter().chain(host_network.then_some(&HOST_NETWORK_TOLERATION));
    for (key, effect) in wanted {
        let present =
            tolerations.iter().any(|t| t.key.as_deref() == Some(*key) && t.effect.as_deref() == Some(*effect));
        if !present {
            tolerations.push(Toleration {
                key: Some(key.to_string()),
                operator: Some("Exists".into()),
                effect: Some(effect.to_string()),
                ..Default::default()
            });
        }
    }
}

/// The template of this DaemonSet's pods at revision `hash`: tolerations and labels added.
pub fn daemon_template(ds: &DaemonSet, template: &PodTemplateSpec, hash: &str) -> PodTemplateSpec {
    let mut template = template.clone();
    let meta = template.metadata.get_or_insert_with(ObjectMeta::default);
    let labels = meta.labels.get_or_insert_with(Default::default);
    labels.insert(CONTROLLER_REVISION_HASH_LABEL.to_string(), hash.to_string());
    if let Some(generation) = ds.metadata.generation {
        labels.insert(TEMPLATE_GENERATION_LABEL.to_string(), generation.to_string());
    }
    add_daemon_tolerations(template.spec.get_or_insert_with(PodSpec::default));
    template
}

/// Sets the required node affinity to select exactly `node` (by name), keeping the other
/// requirements of every term.
pub fn pin_to_node(spec: &mut PodSpec, node: &str) {
    let pin = NodeSelectorRequirement {
        key: "metadata.name".into(),
        operator: "In".into(),
        values: Some(vec![node.to_string()]),
    };
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    let node_affinity = affinity.node_affinity.get_or_insert_with(NodeAffinity::default);
    let required = node_affinity
        .required_during_scheduling_ignored_during_execution
        .get_or_insert_with(|| NodeSelector { node_selector_terms: Vec::new() });
    if required.node_selector_terms.is_empty() {
        required.node_selector_terms.push(NodeSelectorTerm::default());
    }
    for term in &mut required.node_selector_terms {
        term.match_fields = Some(vec![pin.clone()]);
    }
}

/// The daemon pod for `node` from a [`daemon_template`].
pub fn new_pod(ds: &DaemonSet, template: &PodTemplateSpec, node: &str) -> Pod {
    let meta = template.metadata.clone().unwrap_or_default();
    let mut spec = template.spec.clone().unwrap_or_default();
    pin_to_node(&mut spec, node);
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", ds.name_any())),
            namespace: ds.namespace(),
            labels: meta.labels,
            annotations: meta.annotations,
            owner_references: Some(vec![owners::controller_ref(ds)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// The node a daemon pod is for: where it is bound, or else the node its affinity pins.
pub fn target_node(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(name) = spec.node_name.as_ref().filter(|n| !n.is_empty()) {
        return Some(name.clone());
    }
    let terms = &spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    terms.iter().flat_map(|t| t.match_fields.iter().flatten()).find_map(|r| {
        let values = r.values.as_deref().unwrap_or_default();
        (r.key == "metadata.name" && r.operator == "In" && values.len() == 1).then(|| values[0].clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Container;

    fn ds() -> DaemonSet {
        DaemonSet {
            metadata: ObjectMeta {
                name: Some("agent".into()),
                namespace: Some("kube-system".into()),
                uid: Some("u".into()),
                generation: Some(3),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn template() -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some([("app".to_string(), "agent".to_string())].into()),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container { name: "c".into(), ..Default::default() }],
                ..Default::default()
            }),
        }
    }

    #[test]
    fn daemon_pods_tolerate_node_conditions_once() {
        let mut spec = PodSpec {
            tolerations: Some(vec![Toleration {
                key: Some("node.kubernetes.io/not-ready".into()),
                operator: Some("Exists".into()),
                effect: Some("NoExecute".into()),
                toleration_seconds: Some(5),
                ..Default::default()
            }]),
            ..Default::default()
        };
        add_daemon_tolerations(&mut spec);
        let tolerations = spec.tolerations.unwrap();
        assert_eq!(tolerations.len(), 6);
        assert_eq!(tolerations[0].toleration_seconds, Some(5), "an existing toleration is kept");
        assert!(tolerations.iter().any(|t| t.key.as_deref() == Some("node.kubernetes.io/unschedulable")
            && t.effect.as_deref() == Some("NoSchedule")));
        let mut host = PodSpec { host_network: Some(true), ..Default::default() };
        add_daemon_tolerations(&mut host);
        assert_eq!(host.tolerations.unwrap().len(), 7);
    }

    #[test]
    fn pods_are_pinned_by_node_affinity_and_labelled_with_the_revision() {
        let template = daemon_template(&ds(), &template(), "abc");
        let pod = new_pod(&ds(), &template, "node-1");
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("agent-"));
        assert_eq!(pod.labels()[CONTROLLER_REVISION_HASH_LABEL], "abc");
        assert_eq!(pod.labels()[TEMPLATE_GENERATION_LABEL], "3");
        assert_eq!(pod.labels()["app"], "agent");
        assert_eq!(pod.spec.as_ref().unwrap().node_name, None, "the scheduler binds it");
        assert_eq!(target_node(&pod).as_deref(), Some("node-1"));
        assert_eq!(owners::controller_of(&pod.metadata).unwrap().kind, "DaemonSet");
    }

    #[test]
    fn pinning_replaces_match_fields_in_every_term_and_keeps_expressions() {
        let mut spec = PodSpec::default();
        pin_to_node(&mut spec, "a");
        let expression = NodeSelectorRequirement { key: "zone".into(), operator: "Exists".into(), values: None };
        spec.affinity
            .as_mut()
            .unwrap()
            .node_affinity
            .as_mut()
            .unwrap()
            .required_during_scheduling_ignored_during_execution
            .as_mut()
            .unwrap()
            .node_selector_terms = vec![
            NodeSelectorTerm { match_expressions: Some(vec![expression.clone()]), match_fields: None },
            NodeSelectorTerm::default(),
        ];
        pin_to_node(&mut spec, "b");
        let terms = &spec
            .affinity
            .as_ref()
            .unwrap()
            .node_affinity
            .as_ref()
            .unwrap()
            .required_during_scheduling_ignored_during_execution
            .as_ref()
            .unwrap()
            .node_selector_terms;
        assert_eq!(terms.len(), 2);
        assert_eq!(terms[0].match_expressions, Some(vec![expression]));
        assert!(terms.iter().all(|t| t.match_fields.as_ref().unwrap()[0].values == Some(vec!["b".to_string()])));
    }
}
