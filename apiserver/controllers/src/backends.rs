//! Which pods back a Service and on which ports: the one computation behind both the
//! Endpoints and the EndpointSlice controllers (upstream's `ShouldPodBeInEndpoints` and
//! `FindPort`).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::replicaset::pods::is_ready;

/// One resolved service port of one pod.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BackendPort {
    pub name: Option<String>,
    pub port: i32,
    pub protocol: String,
    pub app_protocol: Option<String>,
}

/// One pod behind a service.
#[derive(Debug, Clone)]
pub struct Backend {
    pub pod: Arc<Pod>,
    pub ip: String,
    /// The pod's Ready condition is True (or the service publishes not-ready addresses).
    pub ready: bool,
    /// The pod is being deleted.
    pub terminating: bool,
    pub ports: Vec<BackendPort>,
    /// `spec.hostname` when the pod's `spec.subdomain` names this service.
    pub hostname: Option<String>,
}

/// The selector of a service that has one (services without one are managed by hand).
pub fn selector(service: &Service) -> Option<&BTreeMap<String, String>> {
    service.spec.as_ref()?.selector.as_ref().filter(|s| !s.is_empty())
}

/// Whether `pod` is selected by `service` (same namespace, labels match).
pub fn selects(service: &Service, pod: &Pod) -> bool {
    let Some(selector) = selector(service) else { return false };
    if service.metadata.namespace != pod.metadata.namespace {
        return false;
    }
    let labels = pod.metadata.labels.as_ref();
    selector.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// The container port a service's `targetPort` names on this pod (a number as is).
fn target_port(pod: &Pod, target: Option<&IntOrString>, port: i32, protocol: &str) -> Option<i32> {
    match target {
        None => Some(port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => pod.spec.as_ref()?.containers.iter().find_map(|c| {
            c.ports.iter().flatten().find_map(|p| {
                (p.name.as_deref() == Some(name) && p.protocol.as_deref().unwrap_or("TCP") == protocol)
                    .then_some(p.container_port)
            })
        }),
    }
}

/// The pods backing `service`, from the pods of its namespace; `include_terminating` keeps
/// pods being deleted (EndpointSlices report them with `terminating`, Endpoints drop them).
pub fn backends<'a>(
    service: &Service,
    pods: impl Iterator<Item = &'a Arc<Pod>>,
    include_terminating: bool,
) -> Vec<Backend> {
    let publish_not_ready = service.spec.as_ref().and_then(|s| s.publish_not_ready_addresses).unwrap_or(false);
    let service_name = service.metadata.name.as_deref();
    let mut found = Vec::new();
    for pod in pods.filter(|p| selects(service, p)) {
        let Some(status) = pod.status.as_ref() else { continue };
        let Some(ip) = status.pod_ip.clone().filter(|ip| !ip.is_empty()) else { continue };
        if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
            continue;
        }
        let terminating = pod.metadata.deletion_timestamp.is_some();
        if terminating && !include_terminating && !publish_not_ready {
            continue;
        }
        let mut ports = Vec::new();
        for service_port in service.spec.as_ref().and_then(|s| s.ports.as_ref()).into_iter().flatten() {
            let protocol = service_port.protocol.clone().unwrap_or_else(|| "TCP".into());
            if let Some(port) = target_port(pod, service_port.target_port.as_ref(), service_port.port, &protocol) {
                ports.push(BackendPort {
                    name: service_port.name.clone(),
                    port,
                    protocol,
                    app_protocol: service_port.app_protocol.clone(),
                });
            }
        }
        let spec = pod.spec.as_ref();
        let hostname = spec
            .filter(|s| s.subdomain.as_deref().is_some() && s.subdomain.as_deref() == service_name)
            .and_then(|s| s.hostname.clone());
        found.push(Backend {
            pod: pod.clone(),
            ip,
            ready: publish_not_ready || (is_ready(pod) && !terminating),
            terminating,
            ports,
            hostname,
        });
    }
    // Stable order: the same pods give the same objects (no needless writes).
    found.sort_by(|a, b| a.ip.cmp(&b.ip).then_with(|| a.pod.metadata.name.cmp(&b.pod.metadata.name)));
    found
}

/// Maps a changed pod to the services to look at again: those selecting it now and those
/// that selected it before (a pod whose labels changed leaves its old services).
pub fn pod_to_services(
    services: kube::runtime::reflector::Store<Service>,
) -> impl Fn(Arc<Pod>) -> Vec<kube::runtime::reflector::ObjectRef<Service>> + Send + Sync + 'static {
    use kube::runtime::reflector::ObjectRef;
    use std::collections::HashMap;
    use std::sync::Mutex;
    type ServicesByPod = HashMap<(String, String), Vec<ObjectRef<Service>>>;
    let before: Mutex<ServicesByPod> = Mutex::default();
    move |pod: Arc<Pod>| {
        let key = (pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default());
        let now: Vec<ObjectRef<Service>> = if pod.metadata.deletion_timestamp.is_some() && pod.status.is_none() {
            Vec::new()
        } else {
            services.state().iter().filter(|s| selects(s, &pod)).map(|s| ObjectRef::from_obj(s.as_ref())).collect()
        };
        let mut before = before.lock().expect("pod-to-service memory lock");
        let mut all = before.remove(&key).unwrap_or_default();
        if !now.is_empty() {
            before.insert(key, now.clone());
        }
        all.extend(now);
        all.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        all.dedup();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(target: serde_json::Value) -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": target}]},
        }))
        .unwrap()
    }

    fn pod(name: &str, ip: Option<&str>, ready: bool, labels: serde_json::Value) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "ns", "labels": labels},
                "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"name": "web", "containerPort": 8080}]}]},
                "status": {"phase": "Running", "podIP": ip,
                    "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
            }))
            .unwrap(),
        )
    }

    #[test]
    fn selected_pods_with_ips_back_the_service_on_resolved_ports() {
        let pods = [
            pod("a", Some("10.0.0.2"), true, json!({"app": "web"})),
            pod("b", Some("10.0.0.1"), false, json!({"app": "web"})),
            pod("c", None, true, json!({"app": "web"})),
            pod("d", Some("10.0.0.3"), true, json!({"app": "db"})),
        ];
        let found = backends(&service(json!("web")), pods.iter(), false);
        let summary: Vec<(&str, bool, i32)> = found.iter().map(|b| (b.ip.as_str(), b.ready, b.ports[0].port)).collect();
        assert_eq!(summary, [("10.0.0.1", false, 8080), ("10.0.0.2", true, 8080)]);
        let numeric = backends(&service(json!(9000)), pods.iter(), false);
        assert_eq!(numeric[0].ports[0].port, 9000);
        let missing = backends(&service(json!("nope")), pods.iter(), false);
        assert!(missing.iter().all(|b| b.ports.is_empty()));
    }

    #[test]
    fn terminating_pods_only_where_asked() {
        let mut deleting = (*pod("a", Some("10.0.0.2"), true, json!({"app": "web"}))).clone();
        let now = jiff::Timestamp::now();
        deleting.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now));
        let pods = [Arc::new(deleting)];
        assert!(backends(&service(json!(80)), pods.iter(), false).is_empty());
        let kept = backends(&service(json!(80)), pods.iter(), true);
        assert!(kept[0].terminating && !kept[0].ready);
    }
}
