//! The EndpointSlice controller: for every Service with a selector, EndpointSlices labelled
//! `kubernetes.io/service-name` and owned by the Service, holding its pods (up to 100 per
//! slice, one group of slices per port set) with ready/serving/terminating conditions. The
//! slices are rewritten in place, so a change costs one write, not a delete and a create.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;

use crate::backends::{self, Backend, BackendPort};
use crate::owners::controller_ref;
use crate::replicaset::pods::is_ready;
use crate::{Context, Error};

pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
/// Upstream's `--max-endpoints-per-slice` default.
const MAX_PER_SLICE: usize = 100;

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let services = ctx.informers.get::<Service>();
    let pods = ctx.informers.get::<Pod>();
    let slices = ctx.informers.get::<EndpointSlice>();
    Controller::for_shared_stream(services.subscribe(), services.store())
        .watches_shared_stream(pods.subscribe(), backends::pod_to_services(services.store()))
        .owns_shared_stream(slices.subscribe())
        .with_config(Config::default().concurrency(ctx.options.concurrency))
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
    Ok(())
}

fn error_policy(_svc: Arc<Service>, err: &Error, _ctx: Arc<Context>) -> Action {
    tracing::debug!(%err, "endpointslice controller: retrying");
    Action::requeue(Duration::from_secs(1))
}

async fn reconcile(service: Arc<Service>, ctx: Arc<Context>) -> Result<Action, Error> {
    if backends::selector(&service).is_none() || service.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let namespace = service.namespace().unwrap_or_default();
    let name = service.name_any();
    let pods = ctx.informers.get::<Pod>().store().state();
    let in_namespace = pods.iter().filter(|p| p.metadata.namespace.as_deref() == Some(namespace.as_str()));
    let found = backends::backends(&service, in_namespace, true);
    let nodes = ctx.informers.get::<Node>().store();
    let zone_of = |node: &str| -> Option<String> {
        nodes.get(&ObjectRef::new(node))?.metadata.labels.as_ref()?.get("topology.kubernetes.io/zone").cloned()
    };
    let desired = desired_slices(&service, &found, zone_of);
    let mut current: Vec<Arc<EndpointSlice>> = ctx
        .informers
        .get::<EndpointSlice>()
        .store()
        .state()
        .into_iter()
        .filter(|s| {
            s.metadata.namespace.as_deref() == Some(namespace.as_str())
                && s.labels().get(SERVICE_NAME_LABEL) == Some(&name)
                && s.labels().get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY)
        })
        .collect();
    current.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), &namespace);
    let mut reused = current.iter();
    for slice in desired {
        match reused.next() {
            Some(existing) => {
                if same_content(existing, &slice) {
                    continue;
                }
                let mut updated = slice;
                updated.metadata.name = existing.metadata.name.clone();
                updated.metadata.resource_version = existing.resource_version();
                api.replace(&existing.name_any(), &PostParams::default(), &updated).await?;
            }
            None => {
                api.create(&PostParams::default(), &slice).await?;
            }
        }
    }
    for extra in reused {
        match api.delete(&extra.name_any(), &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(Action::await_change())
}

fn same_content(a: &EndpointSlice, b: &EndpointSlice) -> bool {
    a.endpoints == b.endpoints
        && a.ports == b.ports
        && a.address_type == b.address_type
        && a.metadata.labels == b.metadata.labels
        && a.metadata.owner_references == b.metadata.owner_references
}

/// The slices a service should have (names left to `generateName`).
fn desired_slices(
    service: &Service,
    found: &[Backend],
    zone_of: impl Fn(&str) -> Option<String>,
) -> Vec<EndpointSlice> {
    let mut labels = service.metadata.labels.clone().unwrap_or_default();
    labels.insert(SERVICE_NAME_LABEL.into(), service.name_any());
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    if service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None") {
        labels.insert("service.kubernetes.io/headless".into(), String::new());
    }
    let slice = |ports: &[BackendPort], endpoints: Vec<Endpoint>| EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", service.name_any())),
            namespace: service.metadata.namespace.clone(),
            labels: Some(labels.clone()),
            owner_references: Some(vec![controller_ref(service)]),
            ..Default::default()
        },
        address_type: "IPv4".into(),
        endpoints,
        ports: Some(
            ports
                .iter()
                .map(|p| EndpointPort {
                    name: Some(p.name.clone().unwrap_or_default()),
                    port: Some(p.port),
                    protocol: Some(p.protocol.clone()),
                    app_protocol: p.app_protocol.clone(),
                })
                .collect(),
        ),
    };
    let mut by_ports: BTreeMap<Vec<BackendPort>, Vec<Endpoint>> = BTreeMap::new();
    for backend in found.iter().filter(|b| !b.ports.is_empty() && !b.ip.contains(':')) {
        let mut ports = backend.ports.clone();
        ports.sort();
        let node = backend.pod.spec.as_ref().and_then(|s| s.node_name.clone());
        by_ports.entry(ports).or_default().push(Endpoint {
            addresses: vec![backend.ip.clone()],
            conditions: Some(EndpointConditions {
                ready: Some(backend.ready && !backend.terminating),
                serving: Some(backend.ready || (backend.terminating && is_ready(&backend.pod))),
                terminating: Some(backend.terminating),
            }),
            hostname: backend.hostname.clone(),
            zone: node.as_deref().and_then(&zone_of),
            node_name: node,
            target_ref: Some(ObjectReference {
                kind: Some("Pod".into()),
                namespace: backend.pod.metadata.namespace.clone(),
                name: backend.pod.metadata.name.clone(),
                uid: backend.pod.metadata.uid.clone(),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    if by_ports.is_empty() {
        // Upstream keeps one empty placeholder slice per service.
        return vec![slice(&[], Vec::new())];
    }
    let mut slices = Vec::new();
    for (ports, endpoints) in by_ports {
        for chunk in endpoints.chunks(MAX_PER_SLICE) {
            slices.push(slice(&ports, chunk.to_vec()));
        }
    }
    slices
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn slices_hold_at_most_a_hundred_endpoints_with_conditions() {
        let service: Service = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
        }))
        .unwrap();
        let pods: Vec<Arc<Pod>> = (0..150)
            .map(|i| {
                Arc::new(
                    serde_json::from_value(json!({
                        "metadata": {"name": format!("p{i}"), "namespace": "ns", "labels": {"app": "web"}},
                        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]},
                        "status": {"phase": "Running", "podIP": format!("10.0.{}.{}", i / 200, i % 200),
                            "conditions": [{"type": "Ready", "status": if i % 2 == 0 { "True" } else { "False" }}]},
                    }))
                    .unwrap(),
                )
            })
            .collect();
        let found = backends::backends(&service, pods.iter(), true);
        let slices = desired_slices(&service, &found, |_| Some("zone-a".into()));
        assert_eq!(slices.iter().map(|s| s.endpoints.len()).collect::<Vec<_>>(), [100, 50]);
        let first = &slices[0];
        assert_eq!(first.metadata.labels.as_ref().unwrap()[SERVICE_NAME_LABEL], "web");
        assert_eq!(first.metadata.owner_references.as_ref().unwrap()[0].uid, "u1");
        assert_eq!(first.ports.as_ref().unwrap()[0].port, Some(8080));
        let ready = first.endpoints.iter().filter(|e| e.conditions.as_ref().unwrap().ready == Some(true)).count();
        assert_eq!(ready, 50);
        assert_eq!(first.endpoints[0].zone.as_deref(), Some("zone-a"));
        let empty = desired_slices(&service, &[], |_| None);
        assert_eq!(empty.len(), 1);
        assert!(empty[0].endpoints.is_empty());
    }
}
