//! The scheduler's side effects on the API: bindings, pod status (PodScheduled=False,
//! nominatedNodeName), victim deletions and Events. Nothing here decides anything.

use k8s_openapi::api::core::v1::{Binding, Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::pod_info::PodInfo;

/// The annotation that tells the PV controller which node a WaitForFirstConsumer claim's
/// volume must be provisioned for.
pub const SELECTED_NODE_ANNOTATION: &str = "volume.kubernetes.io/selected-node";

/// POSTs `pods/{name}/binding`, after telling the pod's unbound claims the chosen node.
pub async fn bind(client: &kube::Client, pod: &PodInfo, node: &str) -> Result<(), kube::Error> {
    select_node_for_claims(client, pod, node).await?;
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace);
    let binding = Binding {
        metadata: ObjectMeta { name: Some(pod.name.clone()), uid: Some(pod.uid.clone()), ..Default::default() },
        target: ObjectReference { kind: Some("Node".into()), name: Some(node.to_string()), ..Default::default() },
    };
    // The answer is a Status, not a Binding.
    let _: serde_json::Value = api.create_subresource("binding", &pod.name, &PostParams::default(), &binding).await?;
    Ok(())
}

/// Upstream's VolumeBinding at bind time: each claim of the pod not yet bound to a volume and
/// without a chosen node gets `volume.kubernetes.io/selected-node` (the PV controller then
/// provisions a volume on that node; Immediate claims are bound already and left alone).
async fn select_node_for_claims(client: &kube::Client, pod: &PodInfo, node: &str) -> Result<(), kube::Error> {
    use k8s_openapi::api::core::v1::PersistentVolumeClaim;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &pod.namespace);
    for name in &pod.claims {
        let Some(claim) = claims.get_opt(name).await? else { continue };
        let bound = claim.spec.as_ref().and_then(|s| s.volume_name.as_deref()).is_some_and(|v| !v.is_empty());
        let selected = claim.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(SELECTED_NODE_ANNOTATION));
        if bound || selected {
            continue;
        }
        let patch = json!({"metadata": {"annotations": {SELECTED_NODE_ANNOTATION: node}}});
        claims.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    }
    Ok(())
}

/// A side effect queued behind the scheduling loop.
#[derive(Debug)]
pub enum Effect {
    /// PodScheduled=False/Unschedulable with `message`, and `nominatedNodeName` when given.
    Unschedulable { namespace: String, name: String, message: String, nominated: Option<String> },
    /// Graceful deletion of a preemption victim.
    Evict { namespace: String, name: String, uid: String },
}

pub async fn apply(client: &kube::Client, effect: Effect) -> Result<(), kube::Error> {
    match effect {
        Effect::Unschedulable { namespace, name, message, nominated } => {
            let api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
            let current = api.get_status(&name).await?;
            // Bound meanwhile (a later attempt succeeded): nothing to report.
            if current.spec.as_ref().is_some_and(|s| s.node_name.is_some()) {
                return Ok(());
            }
            let status = current.status.unwrap_or_default();
            let same = status.conditions.iter().flatten().any(|c| {
                c.type_ == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable")
                    && c.message.as_deref() == Some(message.as_str())
            });
            if same && (nominated.is_none() || status.nominated_node_name == nominated) {
                return Ok(());
            }
            let mut patch = json!({"status": {"conditions": [{
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastProbeTime": null,
                "lastTransitionTime": Timestamp::now().to_string(),
            }]}});
            if let Some(node) = nominated {
                patch["status"]["nominatedNodeName"] = json!(node);
            }
            api.patch_status(&name, &PatchParams::default(), &Patch::Strategic(patch)).await.map(drop)
        }
        Effect::Evict { namespace, name, uid } => {
            let api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
            let params = DeleteParams {
                preconditions: Some(kube::api::Preconditions { uid: Some(uid), resource_version: None }),
                ..Default::default()
            };
            api.delete(&name, &params).await.map(drop)
        }
    }
}

/// A core/v1 Event about a pod, from "default-scheduler".
pub fn event(component: &str, pod: &PodInfo, type_: &str, reason: &str, action: &str, message: String) -> Event {
    let now = Timestamp::now();
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{}.{:x}", pod.name, now.as_nanosecond())),
            namespace: Some(pod.namespace.clone()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            namespace: Some(pod.namespace.clone()),
            name: Some(pod.name.clone()),
            uid: Some(pod.uid.clone()),
            resource_version: Some(pod.resource_version.clone()).filter(|r| !r.is_empty()),
            ..Default::default()
        },
        type_: Some(type_.into()),
        reason: Some(reason.into()),
        action: Some(action.into()),
        message: Some(message),
        source: Some(EventSource { component: Some(component.into()), host: None }),
        reporting_component: Some(component.into()),
        reporting_instance: Some(component.into()),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: Some(MicroTime(now)),
        count: Some(1),
        ..Default::default()
    }
}

pub async fn post_event(client: &kube::Client, event: Event) -> Result<(), kube::Error> {
    let namespace = event.metadata.namespace.clone().unwrap_or_default();
    Api::<Event>::namespaced(client.clone(), &namespace).create(&PostParams::default(), &event).await.map(drop)
}
