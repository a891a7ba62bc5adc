//! The Endpoints controller: for every Service with a selector, an Endpoints object of the
//! same name listing its pods' addresses (ready ones in `addresses`, others in
//! `notReadyAddresses`), grouped into subsets by port set, as upstream.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;

use crate::backends::{self, Backend};
use crate::{Context, Error};

/// Upstream's cap on addresses in one Endpoints object.
const MAX_ADDRESSES: usize = 1000;

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let services = ctx.informers.get::<Service>();
    let pods = ctx.informers.get::<Pod>();
    let endpoints = ctx.informers.get::<Endpoints>();
    let _cleanup = crate::AbortOnDrop(tokio::spawn(delete_orphans(ctx.clone())).abort_handle());
    Controller::for_shared_stream(services.subscribe(), services.store())
        .watches_shared_stream(pods.subscribe(), backends::pod_to_services(services.store()))
        .watches_shared_stream(endpoints.subscribe(), |ep| {
            Some(ObjectRef::<Service>::new(&ep.name_any()).within(&ep.namespace().unwrap_or_default()))
        })
        .with_config(Config::default().concurrency(ctx.options.concurrency))
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
    Ok(())
}

/// Endpoints outlive nothing: when a service is gone, so is its Endpoints object (they carry
/// no owner reference upstream, so the garbage collector would not see it).
async fn delete_orphans(ctx: Arc<Context>) {
    let services = ctx.informers.get::<Service>();
    let store = services.store();
    let mut changes = std::pin::pin!(services.subscribe());
    while let Some(service) = changes.next().await {
        let (namespace, name) = (service.namespace().unwrap_or_default(), service.name_any());
        if store.get(&ObjectRef::new(&name).within(&namespace)).is_some() || backends::selector(&service).is_none() {
            continue;
        }
        let api: Api<Endpoints> = Api::namespaced(ctx.client.clone(), &namespace);
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) | Err(kube::Error::Api(_)) => {}
            Err(err) => tracing::debug!(%err, "endpoints of a deleted service not removed"),
        }
    }
}

fn error_policy(_svc: Arc<Service>, err: &Error, _ctx: Arc<Context>) -> Action {
    tracing::debug!(%err, "endpoints controller: retrying");
    Action::requeue(Duration::from_secs(1))
}

async fn reconcile(service: Arc<Service>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = service.namespace().unwrap_or_default();
    let name = service.name_any();
    let api: Api<Endpoints> = Api::namespaced(ctx.client.clone(), &namespace);
    let current = ctx.informers.get::<Endpoints>().store().get(&ObjectRef::new(&name).within(&namespace));
    if backends::selector(&service).is_none() {
        return Ok(Action::await_change());
    }
    if service.metadata.deletion_timestamp.is_some() {
        if current.is_some() {
            let _ = api.delete(&name, &DeleteParams::default()).await;
        }
        return Ok(Action::await_change());
    }
    let pods = ctx.informers.get::<Pod>().store().state();
    let found = backends::backends(
        &service,
        pods.iter().filter(|p| p.metadata.namespace.as_deref() == Some(&namespace)),
        false,
    );
    let desired = desired(&service, &found);
    match current {
        None => match api.create(&PostParams::default(), &desired).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {
                return Ok(Action::requeue(Duration::from_millis(200)));
            }
            Err(err) => return Err(err.into()),
        },
        Some(current) if current.subsets != desired.subsets || current.metadata.labels != desired.metadata.labels => {
            let mut updated = desired;
            updated.metadata.resource_version = current.resource_version();
            api.replace(&name, &PostParams::default(), &updated).await?;
        }
        Some(_) => {}
    }
    Ok(Action::await_change())
}

/// The Endpoints object a service should have, given its backends.
fn desired(service: &Service, found: &[Backend]) -> Endpoints {
    let mut labels = service.metadata.labels.clone().unwrap_or_default();
    if service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None") {
        labels.insert("service.kubernetes.io/headless".into(), String::new());
    }
    Endpoints {
        metadata: ObjectMeta {
            name: service.metadata.name.clone(),
            namespace: service.metadata.namespace.clone(),
            labels: (!labels.is_empty()).then_some(labels),
            ..Default::default()
        },
        subsets: subsets(found),
    }
}

/// Backends grouped by identical port sets, ready and not-ready addresses apart.
fn subsets(found: &[Backend]) -> Option<Vec<EndpointSubset>> {
    let mut by_ports: BTreeMap<Vec<backends::BackendPort>, EndpointSubset> = BTreeMap::new();
    for backend in found.iter().filter(|b| !b.ports.is_empty()).take(MAX_ADDRESSES) {
        let mut ports = backend.ports.clone();
        ports.sort();
        let subset = by_ports.entry(ports.clone()).or_insert_with(|| EndpointSubset {
            ports: Some(
                ports
                    .iter()
                    .map(|p| EndpointPort {
                        name: p.name.clone(),
                        port: p.port,
                        protocol: Some(p.protocol.clone()),
                        app_protocol: p.app_protocol.clone(),
                    })
                    .collect(),
            ),
            ..Default::default()
        });
        let address = EndpointAddress {
            ip: backend.ip.clone(),
            hostname: backend.hostname.clone(),
            node_name: backend.pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            target_ref: Some(ObjectReference {
                kind: Some("Pod".into()),
                namespace: backend.pod.metadata.namespace.clone(),
                name: backend.pod.metadata.name.clone(),
                uid: backend.pod.metadata.uid.clone(),
                ..Default::default()
            }),
        };
        let list = if backend.ready { &mut subset.addresses } else { &mut subset.not_ready_addresses };
        list.get_or_insert_with(Vec::new).push(address);
    }
    let subsets: Vec<EndpointSubset> = by_ports.into_values().collect();
    (!subsets.is_empty()).then_some(subsets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ready_and_not_ready_addresses_share_a_subset_per_port_set() {
        let service: Service = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns", "labels": {"team": "a"}},
            "spec": {"selector": {"app": "web"}, "clusterIP": "None", "ports": [{"port": 80}]},
        }))
        .unwrap();
        let pod = |name: &str, ip: &str, ready: &str| -> Arc<Pod> {
            Arc::new(
                serde_json::from_value(json!({
                    "metadata": {"name": name, "namespace": "ns", "labels": {"app": "web"}},
                    "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]},
                    "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": ready}]},
                }))
                .unwrap(),
            )
        };
        let pods = [pod("a", "10.0.0.1", "True"), pod("b", "10.0.0.2", "False")];
        let found = backends::backends(&service, pods.iter(), false);
        let endpoints = desired(&service, &found);
        let subsets = endpoints.subsets.unwrap();
        assert_eq!(subsets.len(), 1);
        assert_eq!(subsets[0].addresses.as_ref().unwrap()[0].ip, "10.0.0.1");
        assert_eq!(subsets[0].not_ready_addresses.as_ref().unwrap()[0].ip, "10.0.0.2");
        assert_eq!(subsets[0].ports.as_ref().unwrap()[0].port, 80);
        let labels = endpoints.metadata.labels.unwrap();
        assert_eq!(labels["team"], "a");
        assert!(labels.contains_key("service.kubernetes.io/headless"));
        assert!(desired(&service, &[]).subsets.is_none());
    }
}
