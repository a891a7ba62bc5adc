//! The cluster-wide controllers end to end against the binary: namespace lifecycle and
//! per-namespace defaults, the garbage collector's three propagation policies, Endpoints and
//! EndpointSlices following pods' readiness.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Namespace, Pod, Service, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy};
use serde_json::json;

use crate::cluster::{Cluster, eventually};

const WAIT: Duration = Duration::from_secs(30);

fn config_map(name: &str, owners: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "ownerReferences": owners}, "data": {"k": "v"}})).unwrap()
}

fn owner_ref(owner: &ConfigMap, block: bool) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name, "uid": owner.metadata.uid,
           "blockOwnerDeletion": block})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_namespaces_get_defaults_and_deletion_empties_them() {
    let cluster = Cluster::start().await;
    let namespaces: Api<Namespace> = Api::all(cluster.client.clone());
    namespaces
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap())
        .await
        .unwrap();
    let accounts: Api<ServiceAccount> = Api::namespaced(cluster.client.clone(), "team");
    eventually("the default service account", WAIT, || async { accounts.get_opt("default").await.unwrap() }).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "team");
    let ca =
        eventually("kube-root-ca.crt", WAIT, || async { config_maps.get_opt("kube-root-ca.crt").await.unwrap() }).await;
    assert!(ca.data.unwrap()["ca.crt"].starts_with("-----BEGIN CERTIFICATE-----"));
    // Deleted ones come back.
    accounts.delete("default", &DeleteParams::default()).await.unwrap();
    eventually("the default service account again", WAIT, || async { accounts.get_opt("default").await.unwrap() })
        .await;

    config_maps.create(&PostParams::default(), &config_map("data", json!([]))).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "team");
    let pod = json!({"metadata": {"name": "idle"}, "spec": {"containers": [{"name": "c", "image": "busybox"}],
                     "nodeSelector": {"nowhere": "true"}}});
    pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
    namespaces.delete("team", &DeleteParams::default()).await.unwrap();
    let terminating = namespaces.get("team").await.unwrap();
    assert_eq!(terminating.status.unwrap().phase.as_deref(), Some("Terminating"));
    eventually("the namespace to be gone", WAIT, || async {
        namespaces.get_opt("team").await.unwrap().is_none().then_some(())
    })
    .await;
    assert!(config_maps.list(&ListParams::default()).await.unwrap().items.is_empty());
    if let Some(out) = cluster.kubectl(&["get", "namespaces", "-o", "name"]) {
        assert!(!out.contains("namespace/team"), "{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_garbage_collector_background_foreground_orphan() {
    let cluster = Cluster::start().await;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "default");
    let create = |name: &'static str, owners: serde_json::Value| {
        let api = api.clone();
        async move { api.create(&PostParams::default(), &config_map(name, owners)).await.unwrap() }
    };
    let gone = |name: &'static str| {
        let api = api.clone();
        async move { api.get_opt(name).await.unwrap().is_none().then_some(()) }
    };

    // Background: the owner goes at once, its dependents after it.
    let owner = create("bg-owner", json!([])).await;
    create("bg-child", json!([owner_ref(&owner, true)])).await;
    let other = create("bg-other", json!([])).await;
    create("bg-shared", json!([owner_ref(&owner, false), owner_ref(&other, false)])).await;
    api.delete("bg-owner", &DeleteParams::background()).await.unwrap();
    eventually("the background dependent to go", WAIT, || gone("bg-child")).await;
    // A dependent with another live owner stays, without the dangling reference.
    let shared = eventually("the dangling reference to go", WAIT, || async {
        let shared = api.get("bg-shared").await.unwrap();
        (shared.metadata.owner_references.as_ref().map_or(0, Vec::len) == 1).then_some(shared)
    })
    .await;
    assert_eq!(shared.metadata.owner_references.unwrap()[0].name, "bg-other");

    // Foreground: the owner waits (finalizer) until its blocking dependents are gone.
    let owner = create("fg-owner", json!([])).await;
    let child = create("fg-child", json!([owner_ref(&owner, true)])).await;
    create(
        "fg-grandchild",
        json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "fg-child",
        "uid": child.metadata.uid, "blockOwnerDeletion": true}]),
    )
    .await;
    api.delete("fg-owner", &DeleteParams::foreground()).await.unwrap();
    eventually("the foreground owner to be gone last", WAIT, || gone("fg-owner")).await;
    assert!(gone("fg-child").await.is_some() && gone("fg-grandchild").await.is_some());

    // Orphan: dependents stay, without the reference.
    let owner = create("or-owner", json!([])).await;
    create("or-child", json!([owner_ref(&owner, true)])).await;
    api.delete("or-owner", &DeleteParams { propagation_policy: Some(PropagationPolicy::Orphan), ..Default::default() })
        .await
        .unwrap();
    eventually("the orphaning owner to be gone", WAIT, || gone("or-owner")).await;
    let orphan = api.get("or-child").await.unwrap();
    assert!(orphan.metadata.owner_references.unwrap_or_default().is_empty());

    // A dependent created with an owner that never existed is collected too.
    create("dangling", json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost", "uid": "0000-ghost"}])).await;
    eventually("the dependent of a missing owner to go", WAIT, || gone("dangling")).await;
}

async fn set_pod_status(pods: &Api<Pod>, name: &str, ip: &str, ready: bool) {
    let status = json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_endpoints_and_slices_follow_pod_readiness() {
    // No scheduler: the pods stay where the test puts them.
    let cluster = Cluster::start().await;
    let client = cluster.client.clone();
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let service = json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": "web"}]}});
    services.create(&PostParams::default(), &serde_json::from_value(service).unwrap()).await.unwrap();
    for name in ["web-a", "web-b"] {
        let pod = json!({"metadata": {"name": name, "labels": {"app": "web"}}, "spec": {
            "nodeSelector": {"nowhere": "true"},
            "containers": [{"name": "c", "image": "nginx", "ports": [{"name": "web", "containerPort": 8080}]}]}});
        pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
    }
    set_pod_status(&pods, "web-a", "10.128.0.5", true).await;
    set_pod_status(&pods, "web-b", "10.128.0.6", false).await;

    let endpoints: Api<Endpoints> = Api::namespaced(client.clone(), "default");
    // The API server's own endpoints: its address and port.
    let own = endpoints.get("kubernetes").await.unwrap();
    let port = own.subsets.unwrap()[0].ports.as_ref().unwrap()[0].port;
    assert_eq!(client.default_namespace(), "default");
    assert!(std::fs::read_to_string(cluster.kubeconfig()).unwrap().contains(&format!(":{port}")));
    let summary = |ep: &Endpoints| -> (Vec<String>, Vec<String>, Vec<i32>) {
        let subset = ep.subsets.as_ref().and_then(|s| s.first()).cloned().unwrap_or_default();
        let ips = |a: Option<Vec<k8s_openapi::api::core::v1::EndpointAddress>>| {
            a.unwrap_or_default().into_iter().map(|a| a.ip).collect()
        };
        (
            ips(subset.addresses),
            ips(subset.not_ready_addresses),
            subset.ports.unwrap_or_default().iter().map(|p| p.port).collect(),
        )
    };
    let want = (vec!["10.128.0.5".to_string()], vec!["10.128.0.6".to_string()], vec![8080]);
    eventually("endpoints with one ready and one not-ready address", WAIT, || async {
        endpoints.get_opt("web").await.unwrap().filter(|ep| summary(ep) == want)
    })
    .await;
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
    let by_service = ListParams::default().labels("kubernetes.io/service-name=web");
    let ready_in_slice = || async {
        let list = slices.list(&by_service).await.unwrap();
        let mut ready: Vec<(String, bool)> = list
            .items
            .iter()
            .flat_map(|s| s.endpoints.iter())
            .map(|e| (e.addresses[0].clone(), e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false)))
            .collect();
        ready.sort();
        ready
    };
    eventually("a slice with both pods", WAIT, || async {
        (ready_in_slice().await == [("10.128.0.5".to_string(), true), ("10.128.0.6".to_string(), false)]).then_some(())
    })
    .await;

    // Readiness flips, a pod leaves: both objects follow.
    set_pod_status(&pods, "web-b", "10.128.0.6", true).await;
    pods.delete("web-a", &DeleteParams::default().grace_period(0)).await.unwrap();
    let want = (vec!["10.128.0.6".to_string()], vec![], vec![8080]);
    eventually("endpoints after the changes", WAIT, || async {
        endpoints.get_opt("web").await.unwrap().filter(|ep| summary(ep) == want)
    })
    .await;
    eventually("the slice after the changes", WAIT, || async {
        (ready_in_slice().await == [("10.128.0.6".to_string(), true)]).then_some(())
    })
    .await;
    if let Some(out) = cluster.kubectl(&["get", "endpoints", "web", "-o", "jsonpath={.subsets[0].addresses[0].ip}"]) {
        assert_eq!(out, "10.128.0.6");
    }

    // The service goes: its Endpoints and (owned) slices go too.
    services.delete("web", &DeleteParams::default()).await.unwrap();
    eventually("endpoints gone with the service", WAIT, || async {
        endpoints.get_opt("web").await.unwrap().is_none().then_some(())
    })
    .await;
    eventually("slices collected with the service", WAIT, || async {
        slices.list(&by_service).await.unwrap().items.is_empty().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_node_loss_marks_it_unknown_evicts_and_replaces_its_pods() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Node;
    // A 3 s grace period and 1 s heartbeats so the test takes seconds, not minutes.
    let cluster = Cluster::start_with(&["--node-monitor-grace-period", "3"]).await;
    let fast = |o: &mut node_agent::simulated::SimulatedOptions| {
        o.lease_renew_interval = Duration::from_secs(1);
    };
    let doomed = cluster.simulated_nodes_with("doomed", 1, fast);
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    eventually("the first node", WAIT, || async { nodes.get_opt("doomed-0").await.unwrap() }).await;
    // Pods tolerate the node's loss for 1 s (the default is 300 s).
    let deployment = json!({"metadata": {"name": "web"}, "spec": {"replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 1}],
            "containers": [{"name": "c", "image": "nginx"}]}}}});
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), "default");
    deployments.create(&PostParams::default(), &serde_json::from_value(deployment).unwrap()).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    let running_on = |prefix: &'static str| {
        let pods = pods.clone();
        async move {
            let list = pods.list(&ListParams::default().labels("app=web")).await.unwrap();
            list.items
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()).is_some_and(|n| n.starts_with(prefix)))
                .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
                .count()
        }
    };
    eventually("both pods running on the doomed node", WAIT, || async {
        (running_on("doomed").await == 2).then_some(())
    })
    .await;
    let _healthy = cluster.simulated_nodes_with("healthy", 2, fast);
    eventually("the healthy nodes", WAIT, || async { nodes.get_opt("healthy-1").await.unwrap() }).await;

    // The machine dies: no more heartbeats.
    doomed.abort();
    let lost = eventually("the node to be Unknown and tainted", WAIT, || async {
        let node = nodes.get("doomed-0").await.unwrap();
        let ready = node.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready")?.clone();
        let tainted = node
            .spec
            .as_ref()?
            .taints
            .as_ref()?
            .iter()
            .any(|t| t.key == "node.kubernetes.io/unreachable" && t.effect == "NoExecute");
        (ready.status == "Unknown" && tainted).then_some(ready)
    })
    .await;
    assert_eq!(lost.reason.as_deref(), Some("NodeStatusUnknown"));
    // Evicted (they stay Terminating: no kubelet confirms) and replaced on the healthy nodes.
    eventually("replacements running on healthy nodes", WAIT, || async {
        (running_on("healthy").await == 2).then_some(())
    })
    .await;
    let evicted = pods.list(&ListParams::default().labels("app=web")).await.unwrap();
    let on_doomed: Vec<&Pod> = evicted
        .items
        .iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some("doomed-0"))
        .collect();
    assert!(on_doomed.iter().all(|p| p.metadata.deletion_timestamp.is_some()), "evicted pods are being deleted");
    assert!(on_doomed.iter().all(|p| {
        p.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| {
            c.iter().any(|c| c.type_ == "DisruptionTarget" && c.reason.as_deref() == Some("DeletionByTaintManager"))
        })
    }));
}

/// A sibling binary of this workspace (`target/<profile>/<name>`): tests live in `deps/`.
fn workspace_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(|deps| deps.parent()).unwrap().join(name);
    assert!(path.exists(), "{} not built (cargo build --workspace builds it)", path.display());
    path
}

/// Kills a child process when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_scheduler_runs_as_its_own_process() {
    let cluster = Cluster::start_with(&["--scheduler=false"]).await;
    let nodes = cluster.simulated_nodes("solo", 1);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    let pod = json!({"metadata": {"name": "waits"}, "spec": {"containers": [{"name": "c", "image": "pause"}]}});
    pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
    // The controllers run in the server, the scheduler does not: nobody binds the pod.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pending = pods.get("waits").await.unwrap();
    assert_eq!(pending.spec.unwrap().node_name, None, "bound without a scheduler");

    let _scheduler = Child(
        std::process::Command::new(workspace_binary("scheduler"))
            .arg("--kubeconfig")
            .arg(cluster.kubeconfig())
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("the scheduler binary starts"),
    );
    let node = eventually("the scheduler process to bind the pod", WAIT, || async {
        pods.get("waits").await.ok()?.spec?.node_name
    })
    .await;
    assert_eq!(node, "solo-0");
    nodes.abort();
}
