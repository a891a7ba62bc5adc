//! The scheduler (apiserver-scheduler, run in this test process) against the real binary with
//! its in-process control plane off: Node objects are created directly through the API (no
//! node agent), pods without `spec.nodeName`, and we watch where the bindings put them.
//!
//! Pods get their priority from their PriorityClass through the server's Priority admission.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::cluster::{Cluster, eventually};

const WAIT: Duration = Duration::from_secs(30);

async fn start() -> (Cluster, tokio::task::JoinHandle<()>) {
    let cluster = Cluster::start_with(&["--controllers=false"]).await;
    let scheduler = tokio::spawn({
        let client = cluster.client.clone();
        async move {
            if let Err(err) = apiserver_scheduler::run(client, Default::default()).await {
                panic!("scheduler stopped: {err}");
            }
        }
    });
    (cluster, scheduler)
}

/// A Ready node with `cpu` allocatable, labels and taints.
async fn create_node(cluster: &Cluster, name: &str, cpu: &str, labels: Value, taints: Value) {
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let mut all_labels = json!({"kubernetes.io/hostname": name});
    for (k, v) in labels.as_object().cloned().unwrap_or_default() {
        all_labels[k] = v;
    }
    let status = json!({
        "capacity": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
        "allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ready"}],
    });
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": all_labels},
        "spec": {"taints": taints},
        "status": status,
    }))
    .unwrap();
    nodes.create(&PostParams::default(), &node).await.unwrap();
    // Whether or not create kept the status, make sure it is there.
    nodes.patch_status(name, &PatchParams::default(), &Patch::Merge(json!({"status": status}))).await.unwrap();
}

fn pod(name: &str, cpu: &str, extra_spec: Value) -> Pod {
    let mut spec = json!({
        "containers": [{"name": "c", "image": "pause", "resources": {"requests": {"cpu": cpu}}}],
        "terminationGracePeriodSeconds": 0,
    });
    for (k, v) in extra_spec.as_object().cloned().unwrap_or_default() {
        spec[k] = v;
    }
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": name}}, "spec": spec})).unwrap()
}

async fn create_pods(cluster: &Cluster, pods: Vec<Pod>) {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    for p in pods {
        api.create(&PostParams::default(), &p).await.unwrap();
    }
}

async fn node_of(cluster: &Cluster, name: &str) -> String {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    eventually(&format!("{name} to be bound"), WAIT, || {
        let api = api.clone();
        async move { api.get(name).await.ok()?.spec?.node_name }
    })
    .await
}

/// The pod's PodScheduled=False message, once there is one.
async fn unschedulable_message(cluster: &Cluster, name: &str) -> String {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    eventually(&format!("{name} to be reported unschedulable"), WAIT, || {
        let api = api.clone();
        async move {
            let pod = api.get(name).await.ok()?;
            let condition = pod.status?.conditions?.into_iter().find(|c| c.type_ == "PodScheduled")?;
            (condition.status == "False" && condition.reason.as_deref() == Some("Unschedulable"))
                .then(|| condition.message.unwrap_or_default())
        }
    })
    .await
}

async fn events_for(cluster: &Cluster, pod: &str, reason: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(cluster.client.clone(), "default");
    let reason = reason.to_string();
    let pod = pod.to_string();
    eventually(&format!("a {reason} event for {pod}"), WAIT, || {
        let (api, reason, pod) = (api.clone(), reason.clone(), pod.clone());
        async move {
            let events = api.list(&ListParams::default()).await.ok()?;
            let found: Vec<Event> = events
                .items
                .into_iter()
                .filter(|e| {
                    e.reason.as_deref() == Some(reason.as_str())
                        && e.involved_object.name.as_deref() == Some(pod.as_str())
                })
                .collect();
            (!found.is_empty()).then_some(found)
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_binds_pods_within_resources_selectors_and_taints() {
    let (cluster, _scheduler) = start().await;
    create_node(&cluster, "small", "1", json!({}), json!([])).await;
    create_node(&cluster, "big", "4", json!({"disk": "ssd"}), json!([])).await;
    create_node(
        &cluster,
        "dedicated",
        "8",
        json!({}),
        json!([{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]),
    )
    .await;

    // Five 1-CPU pods fill small (1) and big (4) exactly; none may go to the tainted node.
    let fillers: Vec<Pod> = (0..5).map(|i| pod(&format!("filler-{i}"), "1", json!({}))).collect();
    create_pods(&cluster, fillers).await;
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..5 {
        *per_node.entry(node_of(&cluster, &format!("filler-{i}")).await).or_default() += 1;
    }
    assert_eq!(per_node, BTreeMap::from([("big".to_string(), 4), ("small".to_string(), 1)]));

    create_pods(
        &cluster,
        vec![
            // Tolerates the taint and asks for the node by name (node affinity matchFields).
            pod(
                "tolerant",
                "2",
                json!({
                    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "x", "effect": "NoSchedule"}],
                    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["dedicated"]}]}
                    ]}}},
                }),
            ),
            // Selects ssd: only big has it, and big is full.
            pod("wants-ssd", "500m", json!({"nodeSelector": {"disk": "ssd"}})),
        ],
    )
    .await;
    assert_eq!(node_of(&cluster, "tolerant").await, "dedicated");
    let message = unschedulable_message(&cluster, "wants-ssd").await;
    assert!(
        message.starts_with(
            "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector, \
             1 node(s) had untolerated taint {dedicated: x}."
        ),
        "{message}"
    );
    assert!(message.contains("preemption: "), "{message}");

    let scheduled = events_for(&cluster, "tolerant", "Scheduled").await;
    assert_eq!(scheduled[0].message.as_deref(), Some("Successfully assigned default/tolerant to dedicated"));
    assert_eq!(scheduled[0].type_.as_deref(), Some("Normal"));
    assert_eq!(scheduled[0].reporting_component.as_deref(), Some("default-scheduler"));
    assert_eq!(scheduled[0].source.as_ref().and_then(|s| s.component.as_deref()), Some("default-scheduler"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_reports_unschedulable_and_places_the_pod_when_a_node_fits() {
    let (cluster, _scheduler) = start().await;
    create_node(&cluster, "tiny", "1", json!({}), json!([])).await;
    create_pods(&cluster, vec![pod("hungry", "2", json!({}))]).await;

    let message = unschedulable_message(&cluster, "hungry").await;
    assert!(message.starts_with("0/1 nodes are available: 1 Insufficient cpu. preemption: "), "{message}");
    let failed = events_for(&cluster, "hungry", "FailedScheduling").await;
    assert_eq!(failed[0].type_.as_deref(), Some("Warning"));
    assert!(failed[0].message.as_deref().unwrap_or_default().contains("Insufficient cpu"));

    // A node that fits arrives: the pod is retried without waiting for the periodic flush.
    create_node(&cluster, "roomy", "4", json!({}), json!([])).await;
    let started = std::time::Instant::now();
    assert_eq!(node_of(&cluster, "hungry").await, "roomy");
    assert!(started.elapsed() < Duration::from_secs(15), "retried on the node event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_spreads_pods_with_required_anti_affinity() {
    let (cluster, _scheduler) = start().await;
    for name in ["a", "b", "c"] {
        create_node(&cluster, name, "4", json!({}), json!([])).await;
    }
    let anti = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"tier": "web"}}, "topologyKey": "kubernetes.io/hostname"}
    ]}});
    let web = |name: &str| {
        let mut p = pod(name, "100m", json!({"affinity": anti.clone()}));
        p.metadata.labels = Some([("tier".to_string(), "web".to_string())].into());
        p
    };
    create_pods(&cluster, vec![web("web-0"), web("web-1"), web("web-2")]).await;
    let mut nodes = Vec::new();
    for name in ["web-0", "web-1", "web-2"] {
        nodes.push(node_of(&cluster, name).await);
    }
    nodes.sort();
    assert_eq!(nodes, ["a", "b", "c"], "one web pod per node");

    create_pods(&cluster, vec![web("web-3")]).await;
    let message = unschedulable_message(&cluster, "web-3").await;
    assert!(
        message.starts_with("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_preempts_a_lower_priority_pod() {
    let (cluster, _scheduler) = start().await;
    let classes: Api<PriorityClass> = Api::all(cluster.client.clone());
    for (name, value, policy) in [("low", 10, None), ("high", 1000, None), ("polite", 1000, Some("Never"))] {
        let class = json!({"metadata": {"name": name}, "value": value, "preemptionPolicy": policy});
        classes.create(&PostParams::default(), &serde_json::from_value(class).unwrap()).await.unwrap();
    }
    create_node(&cluster, "only", "2", json!({}), json!([])).await;

    create_pods(&cluster, vec![pod("victim", "2", json!({"priorityClassName": "low"}))]).await;
    assert_eq!(node_of(&cluster, "victim").await, "only");

    // Same priority: no preemption, the pod stays pending.
    create_pods(&cluster, vec![pod("peer", "2", json!({"priorityClassName": "low"}))]).await;
    let message = unschedulable_message(&cluster, "peer").await;
    assert!(message.contains("preemption: 0/1 nodes are available: 1 No preemption victims found"), "{message}");
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    pods.delete("peer", &Default::default()).await.unwrap();

    // preemptionPolicy Never: no preemption either.
    create_pods(&cluster, vec![pod("polite", "2", json!({"priorityClassName": "polite"}))]).await;
    let message = unschedulable_message(&cluster, "polite").await;
    assert!(message.contains("preemption: not eligible due to preemptionPolicy=Never."), "{message}");
    pods.delete("polite", &Default::default()).await.unwrap();

    create_pods(&cluster, vec![pod("important", "2", json!({"priorityClassName": "high"}))]).await;
    assert_eq!(node_of(&cluster, "important").await, "only");
    eventually("the victim to be deleted", WAIT, || {
        let pods = pods.clone();
        async move { pods.get_opt("victim").await.ok()?.is_none().then_some(()) }
    })
    .await;
    let preempted = events_for(&cluster, "victim", "Preempted").await;
    assert!(preempted[0].message.as_deref().unwrap_or_default().contains("on node only"));
}
