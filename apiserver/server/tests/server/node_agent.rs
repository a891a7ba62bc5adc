//! The node agent's simulated runtime against the real `apiserver`: nodes register Ready with
//! leases that are renewed, and pods bound to them (spec.nodeName set by the test, so no
//! scheduler is involved) go through the kubelet's lifecycle: ContainerCreating, Running with a
//! pod IP from the node's CIDR, readiness from the annotation or probe delay, exit codes and
//! restart policies, and deletion (graceful, then removed by the agent).

use std::net::Ipv4Addr;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use node_agent::simulated::{SimulatedOptions, SimulatedTimings};
use serde_json::{Value, json};

use crate::cluster::{Cluster, eventually};

const WAIT: Duration = Duration::from_secs(20);

/// A server without in-process controllers (nothing but the agent touches the pods) and
/// `nodes` simulated nodes `sim-{i}` with quick heartbeats.
async fn cluster_with_nodes(nodes: usize) -> (Cluster, tokio::task::JoinHandle<()>) {
    let cluster = Cluster::start_with(&["--controllers=false"]).await;
    let options = SimulatedOptions {
        nodes,
        name_prefix: "sim".into(),
        lease_renew_interval: Duration::from_millis(500),
        timings: SimulatedTimings {
            startup_delay: Duration::from_millis(700),
            default_run_time: Duration::from_millis(300),
            init_run_time: Duration::from_millis(100),
        },
        ..Default::default()
    };
    let agent = tokio::spawn({
        let client = cluster.client.clone();
        async move {
            if let Err(err) = node_agent::simulated::run(client, options).await {
                panic!("simulated nodes failed: {err}");
            }
        }
    });
    (cluster, agent)
}

fn pods(cluster: &Cluster) -> Api<Pod> {
    Api::namespaced(cluster.client.clone(), "default")
}

/// Creates pod `name` bound to `node`; `extra` is merged into the manifest (annotations, spec).
async fn create_pod(cluster: &Cluster, name: &str, node: &str, annotations: Value, spec: Value) -> Pod {
    let mut manifest = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]},
    });
    if let (Some(base), Some(extra)) = (manifest["spec"].as_object_mut(), spec.as_object()) {
        base.extend(extra.clone());
    }
    let pod: Pod = serde_json::from_value(manifest).unwrap();
    pods(cluster).create(&PostParams::default(), &pod).await.unwrap()
}

async fn pod_json(cluster: &Cluster, name: &str) -> Option<Value> {
    let pod = pods(cluster).get_opt(name).await.unwrap()?;
    Some(serde_json::to_value(pod).unwrap())
}

fn condition(pod: &Value, kind: &str) -> Option<String> {
    pod["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == kind)?["status"].as_str().map(String::from)
}

/// Waits until pod `name` satisfies `check`, returning it.
async fn pod_until(cluster: &Cluster, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    eventually(what, WAIT, || async { pod_json(cluster, name).await.filter(|p| check(p)) }).await
}

fn running_and_ready(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running" && condition(pod, "Ready").as_deref() == Some("True")
}

fn in_cidr(ip: &str, cidr: &str) -> bool {
    let (network, bits) = cidr.split_once('/').unwrap();
    let (ip, network): (Ipv4Addr, Ipv4Addr) = (ip.parse().unwrap(), network.parse().unwrap());
    let mask = u32::MAX << (32 - bits.parse::<u32>().unwrap());
    u32::from(ip) & mask == u32::from(network) & mask
}

#[tokio::test]
async fn node_agent_registers_ready_nodes_and_renews_their_leases() {
    let (cluster, _agent) = cluster_with_nodes(3).await;
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let listed = eventually("three Ready nodes", WAIT, || async {
        let list = nodes.list(&Default::default()).await.unwrap().items;
        let ready = |n: &Node| {
            n.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| {
                c.iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True" && c.reason.as_deref() == Some("KubeletReady"))
            })
        };
        (list.len() == 3 && list.iter().all(ready)).then_some(list)
    })
    .await;
    let mut cidrs: Vec<String> = listed.iter().map(|n| n.spec.as_ref().unwrap().pod_cidr.clone().unwrap()).collect();
    cidrs.sort();
    cidrs.dedup();
    assert_eq!(cidrs.len(), 3, "one pod CIDR per node: {cidrs:?}");
    let node = listed.iter().find(|n| n.metadata.name.as_deref() == Some("sim-1")).expect("sim-1 registered");
    let labels = node.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["kubernetes.io/hostname"], "sim-1");
    assert_eq!(labels["kubernetes.io/os"], "linux");
    let status = node.status.as_ref().unwrap();
    assert_eq!(status.allocatable.as_ref().unwrap()["pods"].0, "110");
    assert_eq!(status.node_info.as_ref().unwrap().kubelet_version, "v1.35.0");
    let addresses: Vec<&str> = status.addresses.iter().flatten().map(|a| a.type_.as_str()).collect();
    assert_eq!(addresses, ["InternalIP", "Hostname"]);

    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), "kube-node-lease");
    let lease = leases.get("sim-1").await.unwrap();
    let spec = lease.spec.clone().unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("sim-1"));
    assert_eq!(spec.lease_duration_seconds, Some(40));
    let owner = &lease.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!((owner.kind.as_str(), Some(&owner.uid)), ("Node", node.metadata.uid.as_ref()));
    let first = spec.renew_time.unwrap().0;
    eventually("the lease renewed", WAIT, || async {
        let renewed = leases.get("sim-1").await.unwrap().spec?.renew_time?.0;
        (renewed > first).then_some(())
    })
    .await;
}

#[tokio::test]
async fn node_agent_runs_a_bound_pod_with_an_ip_from_its_node_cidr() {
    let (cluster, _agent) = cluster_with_nodes(2).await;
    create_pod(&cluster, "web", "sim-1", json!({}), json!({})).await;
    let creating = pod_until(&cluster, "web", "ContainerCreating", |p| {
        p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"
    })
    .await;
    assert_eq!(creating["status"]["phase"], "Pending");
    assert_eq!(condition(&creating, "Ready").as_deref(), Some("False"));
    assert!(creating["status"]["startTime"].is_string());

    let running = pod_until(&cluster, "web", "web Running and Ready", running_and_ready).await;
    let node: Api<Node> = Api::all(cluster.client.clone());
    let node = serde_json::to_value(node.get("sim-1").await.unwrap()).unwrap();
    let pod_ip = running["status"]["podIP"].as_str().expect("a pod IP");
    let cidr = node["spec"]["podCIDR"].as_str().unwrap();
    assert!(in_cidr(pod_ip, cidr), "{pod_ip} in {cidr}");
    assert_eq!(running["status"]["podIPs"], json!([{"ip": pod_ip}]));
    assert_eq!(running["status"]["hostIP"], node["status"]["addresses"][0]["address"]);
    let container = &running["status"]["containerStatuses"][0];
    assert_eq!((&container["ready"], &container["started"]), (&json!(true), &json!(true)));
    assert!(container["state"]["running"]["startedAt"].is_string());
    for kind in ["PodScheduled", "Initialized", "PodReadyToStartContainers", "ContainersReady"] {
        assert_eq!(condition(&running, kind).as_deref(), Some("True"), "{kind}");
    }

    // A second pod on the same node gets another address of the same CIDR.
    create_pod(&cluster, "web-2", "sim-1", json!({}), json!({})).await;
    let second = pod_until(&cluster, "web-2", "web-2 Running", running_and_ready).await;
    let second_ip = second["status"]["podIP"].as_str().unwrap();
    assert!(in_cidr(second_ip, cidr) && second_ip != pod_ip, "{second_ip} vs {pod_ip}");
}

#[tokio::test]
async fn node_agent_readiness_follows_the_annotation_and_the_probe_delay() {
    let (cluster, _agent) = cluster_with_nodes(1).await;
    create_pod(&cluster, "gated", "sim-0", json!({"kybernetes.io/ready": "false"}), json!({})).await;
    let not_ready = pod_until(&cluster, "gated", "gated Running", |p| p["status"]["phase"] == "Running").await;
    assert_eq!(condition(&not_ready, "Ready").as_deref(), Some("False"));
    assert_eq!(not_ready["status"]["containerStatuses"][0]["ready"], false);

    let patch = |value: &str| json!({"metadata": {"annotations": {"kybernetes.io/ready": value}}});
    pods(&cluster).patch("gated", &PatchParams::default(), &Patch::Merge(patch("true"))).await.unwrap();
    pod_until(&cluster, "gated", "gated Ready after the flip", running_and_ready).await;
    pods(&cluster).patch("gated", &PatchParams::default(), &Patch::Merge(patch("false"))).await.unwrap();
    pod_until(&cluster, "gated", "gated not Ready again", |p| condition(p, "Ready").as_deref() == Some("False")).await;

    let probed = json!({"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10",
        "readinessProbe": {"initialDelaySeconds": 2, "tcpSocket": {"port": 80}}}]});
    create_pod(&cluster, "probed", "sim-0", json!({}), probed).await;
    let started = pod_until(&cluster, "probed", "probed Running", |p| p["status"]["phase"] == "Running").await;
    assert_eq!(condition(&started, "Ready").as_deref(), Some("False"), "not ready before initialDelaySeconds");
    let ready = pod_until(&cluster, "probed", "probed Ready", running_and_ready).await;
    let started_at: Timestamp =
        ready["status"]["containerStatuses"][0]["state"]["running"]["startedAt"].as_str().unwrap().parse().unwrap();
    let ready_at: Timestamp = ready["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()["lastTransitionTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(ready_at.duration_since(started_at) >= SignedDuration::from_secs(1), "{started_at} → {ready_at}");
}

#[tokio::test]
async fn node_agent_run_to_completion_pods_succeed_or_fail_by_exit_code() {
    let (cluster, _agent) = cluster_with_nodes(1).await;
    let never = json!({"restartPolicy": "Never"});
    create_pod(&cluster, "ok", "sim-0", json!({}), never.clone()).await;
    create_pod(&cluster, "bad", "sim-0", json!({"kybernetes.io/exit-code": "1"}), never).await;
    let init = json!({"restartPolicy": "Never", "initContainers": [{"name": "setup", "image": "busybox"}]});
    create_pod(&cluster, "with-init", "sim-0", json!({}), init).await;

    let ok = pod_until(&cluster, "ok", "ok Succeeded", |p| p["status"]["phase"] == "Succeeded").await;
    let terminated = &ok["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!((&terminated["exitCode"], &terminated["reason"]), (&json!(0), &json!("Completed")));
    assert_eq!(condition(&ok, "Ready").as_deref(), Some("False"));

    let bad = pod_until(&cluster, "bad", "bad Failed", |p| p["status"]["phase"] == "Failed").await;
    let terminated = &bad["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!((&terminated["exitCode"], &terminated["reason"]), (&json!(1), &json!("Error")));
    assert_eq!(bad["status"]["containerStatuses"][0]["restartCount"], 0, "Never does not restart");

    let with_init =
        pod_until(&cluster, "with-init", "with-init Succeeded", |p| p["status"]["phase"] == "Succeeded").await;
    assert_eq!(with_init["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
    assert_eq!(condition(&with_init, "Initialized").as_deref(), Some("True"));
}

#[tokio::test]
async fn node_agent_restarts_failing_containers_with_crash_backoff() {
    let (cluster, _agent) = cluster_with_nodes(1).await;
    let annotations = json!({"kybernetes.io/exit-code": "3", "kybernetes.io/run-seconds": "0.2"});
    create_pod(&cluster, "flaky", "sim-0", annotations.clone(), json!({"restartPolicy": "OnFailure"})).await;
    create_pod(&cluster, "crashy", "sim-0", annotations, json!({})).await;
    for name in ["flaky", "crashy"] {
        let backing_off = pod_until(&cluster, name, "CrashLoopBackOff after a restart", |p| {
            let c = &p["status"]["containerStatuses"][0];
            c["restartCount"].as_u64() >= Some(1) && c["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        })
        .await;
        let container = &backing_off["status"]["containerStatuses"][0];
        assert_eq!(container["lastState"]["terminated"]["exitCode"], 3, "{name}");
        assert!(container["state"]["waiting"]["message"].as_str().unwrap().contains("back-off 10s"), "{name}");
        assert_eq!(backing_off["status"]["phase"], "Running", "{name}: a restarting pod is Running");
    }
}

#[tokio::test]
async fn node_agent_deletes_pods_after_stopping_them() {
    let (cluster, _agent) = cluster_with_nodes(1).await;
    create_pod(&cluster, "quick", "sim-0", json!({}), json!({})).await;
    create_pod(&cluster, "slow", "sim-0", json!({"kybernetes.io/stop-seconds": "2"}), json!({})).await;
    create_pod(&cluster, "done", "sim-0", json!({}), json!({"restartPolicy": "Never"})).await;
    pod_until(&cluster, "quick", "quick Running", running_and_ready).await;
    pod_until(&cluster, "slow", "slow Running", running_and_ready).await;
    pod_until(&cluster, "done", "done Succeeded", |p| p["status"]["phase"] == "Succeeded").await;

    // Graceful deletes (30 s default grace): the agent stops the containers and removes the pod.
    for name in ["quick", "slow", "done"] {
        pods(&cluster).delete(name, &DeleteParams::default()).await.unwrap();
    }
    let terminating = pod_json(&cluster, "slow").await.expect("slow still stopping");
    assert!(terminating["metadata"]["deletionTimestamp"].is_string());
    for name in ["quick", "slow", "done"] {
        eventually(&format!("{name} removed"), Duration::from_secs(10), || async {
            pod_json(&cluster, name).await.is_none().then_some(())
        })
        .await;
    }
}
