//! What a namespace uses of each quota'd resource (upstream's quota evaluators): pods and their
//! compute requests/limits, services and their node ports/load balancers, claims and their
//! storage, and object counts (`configmaps`, `count/deployments.apps`, ...).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PersistentVolumeClaim, Pod, ResourceQuotaSpec, Service};

use super::quantity::Quantity;

/// Resource names the pod evaluator answers for (upstream `podResources`), with the plain
/// names `cpu`/`memory`/`ephemeral-storage` meaning their requests.
const POD_COMPUTE: [&str; 9] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
];

/// Kinds of object a quota may need to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Pods,
    Services,
    PersistentVolumeClaims,
    ConfigMaps,
    Secrets,
    ReplicationControllers,
    ResourceQuotas,
    Deployments,
    ReplicaSets,
    StatefulSets,
    DaemonSets,
    Jobs,
    CronJobs,
}

impl Kind {
    /// The kind whose objects `count/<resource>` counts (`count/deployments.apps`).
    fn from_count_name(resource: &str) -> Option<Self> {
        Some(match resource {
            "pods" => Kind::Pods,
            "services" => Kind::Services,
            "persistentvolumeclaims" => Kind::PersistentVolumeClaims,
            "configmaps" => Kind::ConfigMaps,
            "secrets" => Kind::Secrets,
            "replicationcontrollers" => Kind::ReplicationControllers,
            "resourcequotas" => Kind::ResourceQuotas,
            "deployments.apps" => Kind::Deployments,
            "replicasets.apps" => Kind::ReplicaSets,
            "statefulsets.apps" => Kind::StatefulSets,
            "daemonsets.apps" => Kind::DaemonSets,
            "jobs.batch" => Kind::Jobs,
            "cronjobs.batch" => Kind::CronJobs,
            _ => return None,
        })
    }
}

/// The kind whose objects decide the usage of quota resource `name`; `None` for names this
/// controller does not track (their usage is not reported).
pub fn kind_of(name: &str) -> Option<Kind> {
    if let Some(resource) = name.strip_prefix("count/") {
        return Kind::from_count_name(resource);
    }
    if name.ends_with(".storageclass.storage.k8s.io/requests.storage")
        || name.ends_with(".storageclass.storage.k8s.io/persistentvolumeclaims")
    {
        return Some(Kind::PersistentVolumeClaims);
    }
    Some(match name {
        "pods" => Kind::Pods,
        n if POD_COMPUTE.contains(&n) => Kind::Pods,
        "services" | "services.nodeports" | "services.loadbalancers" => Kind::Services,
        "persistentvolumeclaims" | "requests.storage" => Kind::PersistentVolumeClaims,
        "configmaps" => Kind::ConfigMaps,
        "secrets" => Kind::Secrets,
        "replicationcontrollers" => Kind::ReplicationControllers,
        "resourcequotas" => Kind::ResourceQuotas,
        _ => return None,
    })
}

/// Usage by resource name.
pub type Usage = BTreeMap<String, Quantity>;

fn add(usage: &mut Usage, name: &str, amount: Quantity) {
    let total = usage.remove(name).unwrap_or_default().plus(amount);
    usage.insert(name.to_string(), total);
}

/// Whether a pod still holds its resources: not Succeeded/Failed (upstream `QuotaV1Pod`; a
/// pod being deleted counts until it is gone, as its containers may still run).
pub fn pod_counts(pod: &Pod) -> bool {
    !matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

/// A container's request or limit of `resource`.
fn container_amount(container: &Container, limits: bool, resource: &str) -> Quantity {
    let resources = container.resources.as_ref();
    let amounts =
        if limits { resources.and_then(|r| r.limits.as_ref()) } else { resources.and_then(|r| r.requests.as_ref()) };
    amounts.and_then(|a| a.get(resource)).map(|q| Quantity::parse_or_zero(&q.0)).unwrap_or_default()
}

/// The pod's effective request or limit of `resource` (upstream `PodRequests`/`PodLimits`):
/// pod-level resources when set; otherwise the app containers and sidecars (restartable init
/// containers) together, or the largest other init container if that is more; plus overhead.
pub fn pod_amount(pod: &Pod, limits: bool, resource: &str) -> Quantity {
    let Some(spec) = pod.spec.as_ref() else { return Quantity::default() };
    let pod_level = spec.resources.as_ref().and_then(|r| if limits { r.limits.as_ref() } else { r.requests.as_ref() });
    if let Some(amount) = pod_level.and_then(|a| a.get(resource)) {
        return Quantity::parse_or_zero(&amount.0);
    }
    let init = spec.init_containers.as_deref().unwrap_or_default();
    let is_sidecar = |c: &Container| c.restart_policy.as_deref() == Some("Always");
    let running = spec
        .containers
        .iter()
        .chain(init.iter().filter(|c| is_sidecar(c)))
        .fold(Quantity::default(), |sum, c| sum.plus(container_amount(c, limits, resource)));
    let largest_init = init
        .iter()
        .filter(|c| !is_sidecar(c))
        .fold(Quantity::default(), |max, c| max.max(container_amount(c, limits, resource)));
    let overhead = spec.overhead.as_ref().and_then(|o| o.get(resource)).map(|q| Quantity::parse_or_zero(&q.0));
    running.max(largest_init).plus(overhead.unwrap_or_default())
}

/// Quota scopes that select pods (upstream `ResourceQuotaScope`).
fn pod_in_scope(pod: &Pod, scope: &str, values: &[String], operator: &str) -> bool {
    let spec = pod.spec.as_ref();
    let terminating = spec.and_then(|s| s.active_deadline_seconds).is_some_and(|d| d >= 0);
    let best_effort =
        ["cpu", "memory"].iter().all(|r| pod_amount(pod, false, r).is_zero() && pod_amount(pod, true, r).is_zero());
    match scope {
        "Terminating" => terminating,
        "NotTerminating" => !terminating,
        "BestEffort" => best_effort,
        "NotBestEffort" => !best_effort,
        "PriorityClass" => {
            let class = spec.and_then(|s| s.priority_class_name.as_deref()).unwrap_or_default();
            match operator {
                "In" => values.iter().any(|v| v == class),
                "NotIn" => !class.is_empty() && values.iter().all(|v| v != class),
                "Exists" => !class.is_empty(),
                "DoesNotExist" => class.is_empty(),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether the quota has scopes (then only pods that are in every scope count, and other
/// kinds not at all, as upstream's evaluators match scoped quotas to pods only).
pub fn is_scoped(spec: &ResourceQuotaSpec) -> bool {
    spec.scopes.as_ref().is_some_and(|s| !s.is_empty())
        || spec.scope_selector.as_ref().and_then(|s| s.match_expressions.as_ref()).is_some_and(|e| !e.is_empty())
}

/// Whether `pod` is in every scope of the quota.
pub fn pod_matches_scopes(pod: &Pod, spec: &ResourceQuotaSpec) -> bool {
    let by_name = spec.scopes.iter().flatten().all(|scope| pod_in_scope(pod, scope, &[], "Exists"));
    let by_selector =
        spec.scope_selector.as_ref().and_then(|s| s.match_expressions.as_ref()).into_iter().flatten().all(|r| {
            let values = r.values.clone().unwrap_or_default();
            match (r.scope_name.as_str(), r.operator.as_str()) {
                ("PriorityClass", operator) => pod_in_scope(pod, "PriorityClass", &values, operator),
                (scope, "Exists") => pod_in_scope(pod, scope, &values, "Exists"),
                (scope, "DoesNotExist") => !pod_in_scope(pod, scope, &values, "Exists"),
                _ => false,
            }
        });
    by_name && by_selector
}

/// What one pod adds (nothing when terminal).
pub fn pod_usage(pod: &Pod, usage: &mut Usage) {
    if !pod_counts(pod) {
        return;
    }
    add(usage, "pods", Quantity::count(1));
    add(usage, "count/pods", Quantity::count(1));
    for resource in ["cpu", "memory", "ephemeral-storage"] {
        let requests = pod_amount(pod, false, resource);
        add(usage, resource, requests);
        add(usage, &format!("requests.{resource}"), requests);
        add(usage, &format!("limits.{resource}"), pod_amount(pod, true, resource));
    }
}

/// What one service adds: itself, its node ports (NodePort and LoadBalancer services that
/// allocate them), a load balancer.
pub fn service_usage(service: &Service, usage: &mut Usage) {
    add(usage, "services", Quantity::count(1));
    add(usage, "count/services", Quantity::count(1));
    let spec = service.spec.as_ref();
    let service_type = spec.and_then(|s| s.type_.as_deref()).unwrap_or("ClusterIP");
    let allocates_node_ports = match service_type {
        "NodePort" => true,
        "LoadBalancer" => spec.and_then(|s| s.allocate_load_balancer_node_ports).unwrap_or(true),
        _ => false,
    };
    let node_ports = if allocates_node_ports { spec.and_then(|s| s.ports.as_ref()).map_or(0, Vec::len) } else { 0 };
    add(usage, "services.nodeports", Quantity::count(i64::try_from(node_ports).unwrap_or(i64::MAX)));
    add(usage, "services.loadbalancers", Quantity::count(i64::from(service_type == "LoadBalancer")));
}

/// What one claim adds: itself and its storage request, also under its class.
pub fn claim_usage(claim: &PersistentVolumeClaim, usage: &mut Usage) {
    let spec = claim.spec.as_ref();
    let request = spec
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| Quantity::parse_or_zero(&q.0))
        .unwrap_or_default();
    add(usage, "persistentvolumeclaims", Quantity::count(1));
    add(usage, "count/persistentvolumeclaims", Quantity::count(1));
    add(usage, "requests.storage", request);
    if let Some(class) = spec.and_then(|s| s.storage_class_name.as_deref()).filter(|c| !c.is_empty()) {
        add(usage, &format!("{class}.storageclass.storage.k8s.io/persistentvolumeclaims"), Quantity::count(1));
        add(usage, &format!("{class}.storageclass.storage.k8s.io/requests.storage"), request);
    }
}

/// The count of plain objects of `kind` (everything but pods, services and claims).
pub fn object_count(kind: Kind, count: usize, usage: &mut Usage) {
    let count = Quantity::count(i64::try_from(count).unwrap_or(i64::MAX));
    let names: &[&str] = match kind {
        Kind::ConfigMaps => &["configmaps", "count/configmaps"],
        Kind::Secrets => &["secrets", "count/secrets"],
        Kind::ReplicationControllers => &["replicationcontrollers", "count/replicationcontrollers"],
        Kind::ResourceQuotas => &["resourcequotas", "count/resourcequotas"],
        Kind::Deployments => &["count/deployments.apps"],
        Kind::ReplicaSets => &["count/replicasets.apps"],
        Kind::StatefulSets => &["count/statefulsets.apps"],
        Kind::DaemonSets => &["count/daemonsets.apps"],
        Kind::Jobs => &["count/jobs.batch"],
        Kind::CronJobs => &["count/cronjobs.batch"],
        Kind::Pods | Kind::Services | Kind::PersistentVolumeClaims => &[],
    };
    for name in names {
        add(usage, name, count);
    }
}

/// `status.used`: the usage of exactly the resources in `hard` (zero when nothing uses them),
/// canonically printed; resources this controller does not know are left out.
pub fn used_for(hard: &BTreeMap<String, String>, usage: &Usage) -> BTreeMap<String, String> {
    hard.keys()
        .filter(|name| kind_of(name).is_some())
        .map(|name| (name.clone(), usage.get(name).copied().unwrap_or_default().to_string()))
        .collect()
}

/// `status.hard`: `spec.hard` canonically printed (as upstream re-serialises quantities).
pub fn canonical_hard(hard: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    hard.iter()
        .map(|(name, value)| (name.clone(), Quantity::parse(value).map_or_else(|| value.clone(), |q| q.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: serde_json::Value, phase: &str) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": spec, "status": {"phase": phase}})).unwrap()
    }

    fn container(requests: serde_json::Value, limits: serde_json::Value) -> serde_json::Value {
        json!({"name": "c", "image": "i", "resources": {"requests": requests, "limits": limits}})
    }

    fn hard(names: &[&str]) -> BTreeMap<String, String> {
        names.iter().map(|n| (n.to_string(), "100".to_string())).collect()
    }

    #[test]
    fn pods_sum_requests_and_limits_and_skip_terminal_ones() {
        let mut usage = Usage::new();
        let web = pod(
            json!({"containers": [
                container(json!({"cpu": "250m", "memory": "512Mi"}), json!({"cpu": "1", "memory": "1Gi"})),
                container(json!({"cpu": "250m", "memory": "512Mi"}), json!({})),
            ]}),
            "Running",
        );
        pod_usage(&web, &mut usage);
        pod_usage(&pod(json!({"containers": [container(json!({"cpu": "2"}), json!({}))]}), "Pending"), &mut usage);
        pod_usage(&pod(json!({"containers": [container(json!({"cpu": "8"}), json!({}))]}), "Succeeded"), &mut usage);
        pod_usage(&pod(json!({"containers": [container(json!({"cpu": "8"}), json!({}))]}), "Failed"), &mut usage);
        let used = used_for(
            &hard(&["pods", "requests.cpu", "cpu", "requests.memory", "limits.cpu", "limits.memory", "secrets"]),
            &usage,
        );
        let expected: BTreeMap<String, String> = [
            ("pods", "2"),
            ("requests.cpu", "2500m"),
            ("cpu", "2500m"),
            ("requests.memory", "1Gi"),
            ("limits.cpu", "1"),
            ("limits.memory", "1Gi"),
            ("secrets", "0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(used, expected);
    }

    #[test]
    fn init_containers_count_when_larger_and_sidecars_add_up() {
        let spec = json!({
            "initContainers": [
                container(json!({"cpu": "3"}), json!({})),
                {"name": "side", "image": "i", "restartPolicy": "Always", "resources": {"requests": {"cpu": "500m"}}},
            ],
            "containers": [container(json!({"cpu": "1"}), json!({}))],
            "overhead": {"cpu": "100m"},
        });
        assert_eq!(pod_amount(&pod(spec, "Running"), false, "cpu").to_string(), "3100m");
        let spec = json!({"initContainers": [container(json!({"cpu": "1"}), json!({}))], "containers": [container(json!({"cpu": "2"}), json!({}))]});
        assert_eq!(pod_amount(&pod(spec, "Running"), false, "cpu").to_string(), "2");
    }

    #[test]
    fn services_count_node_ports_and_load_balancers() {
        let mut usage = Usage::new();
        for svc in [
            json!({"type": "ClusterIP", "ports": [{"port": 80}]}),
            json!({"type": "NodePort", "ports": [{"port": 80}, {"port": 443}]}),
            json!({"type": "LoadBalancer", "ports": [{"port": 80}]}),
            json!({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false, "ports": [{"port": 80}]}),
        ] {
            let service: Service = serde_json::from_value(json!({"metadata": {"name": "s"}, "spec": svc})).unwrap();
            service_usage(&service, &mut usage);
        }
        let used =
            used_for(&hard(&["services", "services.nodeports", "services.loadbalancers", "count/services"]), &usage);
        assert_eq!(used["services"], "4");
        assert_eq!(used["count/services"], "4");
        assert_eq!(used["services.nodeports"], "3");
        assert_eq!(used["services.loadbalancers"], "2");
    }

    #[test]
    fn claims_count_storage_also_per_class() {
        let mut usage = Usage::new();
        for (class, size) in [(Some("fast"), "1Gi"), (None, "512Mi"), (Some("fast"), "1Gi")] {
            let claim: PersistentVolumeClaim = serde_json::from_value(json!({
                "metadata": {"name": "c"},
                "spec": {"storageClassName": class, "resources": {"requests": {"storage": size}}},
            }))
            .unwrap();
            claim_usage(&claim, &mut usage);
        }
        let used = used_for(
            &hard(&[
                "persistentvolumeclaims",
                "requests.storage",
                "fast.storageclass.storage.k8s.io/requests.storage",
                "fast.storageclass.storage.k8s.io/persistentvolumeclaims",
                "slow.storageclass.storage.k8s.io/requests.storage",
            ]),
            &usage,
        );
        assert_eq!(used["persistentvolumeclaims"], "3");
        assert_eq!(used["requests.storage"], "2560Mi");
        assert_eq!(used["fast.storageclass.storage.k8s.io/requests.storage"], "2Gi");
        assert_eq!(used["fast.storageclass.storage.k8s.io/persistentvolumeclaims"], "2");
        assert_eq!(used["slow.storageclass.storage.k8s.io/requests.storage"], "0");
    }

    #[test]
    fn counts_and_unknown_names() {
        let mut usage = Usage::new();
        object_count(Kind::ConfigMaps, 3, &mut usage);
        object_count(Kind::Deployments, 2, &mut usage);
        let used = used_for(
            &hard(&["configmaps", "count/configmaps", "count/deployments.apps", "example.com/widgets"]),
            &usage,
        );
        assert_eq!(used.len(), 3, "unknown resources are not reported: {used:?}");
        assert_eq!((used["configmaps"].as_str(), used["count/configmaps"].as_str()), ("3", "3"));
        assert_eq!(used["count/deployments.apps"], "2");
        assert_eq!(kind_of("count/jobs.batch"), Some(Kind::Jobs));
        assert_eq!(kind_of("limits.memory"), Some(Kind::Pods));
        assert_eq!(kind_of("count/widgets.example.com"), None);
        let canonical = canonical_hard(&[("cpu".to_string(), "1000m".to_string())].into_iter().collect());
        assert_eq!(canonical["cpu"], "1");
    }

    #[test]
    fn scopes_select_pods() {
        let best_effort = pod(json!({"containers": [{"name": "c", "image": "i"}]}), "Running");
        let burstable = pod(
            json!({"activeDeadlineSeconds": 30, "containers": [container(json!({"cpu": "1"}), json!({}))]}),
            "Running",
        );
        let spec = |scopes: &[&str]| ResourceQuotaSpec {
            scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        assert!(pod_matches_scopes(&best_effort, &spec(&["BestEffort", "NotTerminating"])));
        assert!(!pod_matches_scopes(&burstable, &spec(&["BestEffort"])));
        assert!(pod_matches_scopes(&burstable, &spec(&["NotBestEffort", "Terminating"])));
        assert!(is_scoped(&spec(&["BestEffort"])));
        assert!(!is_scoped(&ResourceQuotaSpec::default()));
    }
}
