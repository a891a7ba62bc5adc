//! The resource metrics API (`metrics.k8s.io/v1beta1`) end to end: simulated nodes push the
//! usage their pods declare (`kybernetes.io/cpu-usage`, `kybernetes.io/memory-usage`) and real
//! kubectl's `top pod` / `top node` print it; kube-rs lists PodMetrics by label as the HPA
//! does; a changed annotation shows up, a deleted pod's metrics go, bad writes are refused.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams, PostParams, TypeMeta,
};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use crate::cluster::{Cluster, eventually};

const WAIT: Duration = Duration::from_secs(60);

fn metrics_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "metrics.k8s.io".into(),
        version: "v1beta1".into(),
        api_version: "metrics.k8s.io/v1beta1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

fn pod_metrics(cluster: &Cluster) -> Api<DynamicObject> {
    Api::namespaced_with(cluster.client.clone(), "default", &metrics_resource("PodMetrics", "pods"))
}

/// kubectl's output, or `None` if it failed (for polling) or is not installed.
fn try_kubectl(cluster: &Cluster, args: &[&str]) -> Option<String> {
    let kubectl = apiserver_http::testing::kubectl_binary()?;
    let out = Command::new(kubectl).arg("--kubeconfig").arg(cluster.kubeconfig()).args(args).output().unwrap();
    out.status.success().then(|| String::from_utf8(out.stdout).unwrap())
}

/// `kubectl top ... --no-headers` rows as name → the other columns.
fn rows(out: &str) -> BTreeMap<String, Vec<String>> {
    out.lines()
        .filter_map(|line| {
            let mut cells = line.split_whitespace().map(str::to_string);
            Some((cells.next()?, cells.collect()))
        })
        .collect()
}

/// The millicores of the pod's `kybernetes.io/cpu-usage` annotation.
fn declared_millicores(pod: &Pod) -> u64 {
    let value = pod.annotations().get("kybernetes.io/cpu-usage").cloned().unwrap_or_default();
    match value.strip_suffix('m') {
        Some(milli) => milli.parse().unwrap(),
        None => value.parse::<u64>().map_or(0, |cores| cores * 1000),
    }
}

fn container_cpu(metrics: &DynamicObject) -> Vec<String> {
    metrics.data["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["usage"]["cpu"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_api_serves_simulated_usage_to_kubectl_top_and_label_selectors() {
    let cluster = Cluster::start().await;
    let _nodes = cluster.simulated_nodes_with("metrics", 2, |options| {
        options.metrics_interval = Duration::from_millis(500);
    });

    // Discovery lists the group, so `kubectl top` finds the API.
    if let Some(out) = cluster.kubectl(&["api-resources", "--api-group=metrics.k8s.io", "--no-headers"]) {
        let kinds: Vec<&str> = out.lines().filter_map(|l| l.split_whitespace().last()).collect();
        assert_eq!(kinds, ["NodeMetrics", "PodMetrics"], "{out}");
    }

    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), "default");
    let deployment = json!({
        "metadata": {"name": "busy"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "busy"}},
            "template": {
                "metadata": {"labels": {"app": "busy"},
                             "annotations": {"kybernetes.io/cpu-usage": "250m", "kybernetes.io/memory-usage": "64Mi"}},
                "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]},
            },
        },
    });
    deployments.create(&PostParams::default(), &serde_json::from_value(deployment).unwrap()).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    // Two containers share the pod's usage.
    let idle = json!({
        "metadata": {"name": "idle", "labels": {"app": "idle"},
                     "annotations": {"kybernetes.io/cpu-usage": "100m", "kybernetes.io/memory-usage": "32Mi"}},
        "spec": {"containers": [{"name": "a", "image": "registry.k8s.io/pause:3.10"},
                                {"name": "b", "image": "registry.k8s.io/pause:3.10"}]},
    });
    pods.create(&PostParams::default(), &serde_json::from_value(idle).unwrap()).await.unwrap();

    // PodMetrics by label, as the HPA lists them.
    let metrics = pod_metrics(&cluster);
    let busy = eventually("PodMetrics of both busy pods", WAIT, || async {
        let list = metrics.list(&ListParams::default().labels("app=busy")).await.unwrap().items;
        (list.len() == 2).then_some(list)
    })
    .await;
    for item in &busy {
        assert_eq!(item.labels().get("app").map(String::as_str), Some("busy"));
        assert_eq!(container_cpu(item), ["250000000n"]);
        assert_eq!(item.data["containers"][0]["usage"]["memory"], "65536Ki");
        assert_eq!(item.data["window"], "15s");
        let stamped: Timestamp = item.data["timestamp"].as_str().unwrap().parse().unwrap();
        let age = Timestamp::now().duration_since(stamped);
        assert!(age.as_secs() <= 2, "timestamp is the moment of serving: {age:?}");
    }
    let idle_metrics =
        eventually("PodMetrics of idle", WAIT, || async { metrics.get_opt("idle").await.unwrap() }).await;
    assert_eq!(container_cpu(&idle_metrics), ["50000000n", "50000000n"]);
    let not_busy = metrics.list(&ListParams::default().labels("app!=busy")).await.unwrap().items;
    assert_eq!(not_busy.iter().map(|m| m.name_any()).collect::<Vec<_>>(), ["idle"]);
    let by_name = metrics.list(&ListParams::default().fields("metadata.name=idle")).await.unwrap().items;
    assert_eq!(by_name.len(), 1);
    // Raw JSON even when asked for protobuf first, as kubectl top asks.
    if let Some(raw) = cluster.kubectl(&[
        "get",
        "--raw",
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dbusy",
    ]) {
        let list: Value = serde_json::from_str(&raw).unwrap();
        assert_eq!((list["kind"].as_str(), list["items"].as_array().map(Vec::len)), (Some("PodMetricsList"), Some(2)));
    }

    // kubectl top pod / top node print the declared figures.
    let all = pods.list(&ListParams::default()).await.unwrap().items;
    if try_kubectl(&cluster, &["version", "--client"]).is_some() {
        let top = eventually("kubectl top pod with every pod", WAIT, || async {
            let out = try_kubectl(&cluster, &["top", "pod", "--no-headers"])?;
            let rows = rows(&out);
            (rows.len() == 3).then_some(rows)
        })
        .await;
        for pod in &all {
            let row = &top[&pod.name_any()];
            let expected = if pod.labels()["app"] == "busy" { ["250m", "64Mi"] } else { ["100m", "32Mi"] };
            assert_eq!(row[..2], expected, "{}: {row:?}", pod.name_any());
        }
        let containers = try_kubectl(&cluster, &["top", "pod", "idle", "--containers", "--no-headers"]).unwrap();
        assert_eq!(containers.lines().count(), 2, "{containers}");
        assert!(containers.lines().all(|l| l.contains(" 50m ") && l.contains(" 16Mi")), "{containers}");

        // Nodes: the sum of their pods.
        let mut expected: BTreeMap<String, u64> = BTreeMap::from([("metrics-0".into(), 0), ("metrics-1".into(), 0)]);
        for pod in &all {
            let node = pod.spec.as_ref().and_then(|s| s.node_name.clone()).expect("scheduled");
            *expected.get_mut(&node).unwrap() += declared_millicores(pod);
        }
        eventually("kubectl top node with the pods' sums", WAIT, || async {
            let out = try_kubectl(&cluster, &["top", "node", "--no-headers"])?;
            let rows = rows(&out);
            let shown: BTreeMap<String, u64> = rows
                .iter()
                .filter_map(|(name, cells)| Some((name.clone(), cells.first()?.strip_suffix('m')?.parse().ok()?)))
                .collect();
            (shown == expected).then_some(())
        })
        .await;
    }

    // A changed annotation is reported.
    let patch = json!({"metadata": {"annotations": {"kybernetes.io/cpu-usage": "300m"}}});
    pods.patch("idle", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    eventually("idle's new usage", WAIT, || async {
        let m = metrics.get_opt("idle").await.unwrap()?;
        (container_cpu(&m) == ["150000000n", "150000000n"]).then_some(())
    })
    .await;

    // A deleted pod's metrics go.
    pods.delete("idle", &DeleteParams::default()).await.unwrap();
    eventually("idle's metrics to go", WAIT, || async {
        metrics.get_opt("idle").await.unwrap().is_none().then_some(())
    })
    .await;
    match metrics.get("idle").await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 404);
            assert_eq!(status.message, "podmetrics.metrics.k8s.io \"default/idle\" not found");
        }
        other => panic!("expected a 404, got {other:?}"),
    }

    // NodeMetrics through kube-rs too.
    let nodes: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &metrics_resource("NodeMetrics", "nodes"));
    let node = nodes.get("metrics-0").await.unwrap();
    assert_eq!(node.labels().get("kubernetes.io/hostname").map(String::as_str), Some("metrics-0"));
    assert!(node.data["usage"]["memory"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_api_refuses_bad_writes_and_answers_upstreams_errors() {
    let cluster = Cluster::start_with(&["--controllers=false"]).await;
    let metrics = pod_metrics(&cluster);
    let object = |name: &str, cpu: &str| DynamicObject {
        types: Some(TypeMeta { api_version: "metrics.k8s.io/v1beta1".into(), kind: "PodMetrics".into() }),
        metadata: ObjectMeta { name: Some(name.into()), namespace: Some("default".into()), ..Default::default() },
        data: json!({"containers": [{"name": "c", "usage": {"cpu": cpu, "memory": "1Mi"}}]}),
    };
    let code = |result: Result<DynamicObject, kube::Error>| match result {
        Err(kube::Error::Api(status)) => (status.code, status.reason),
        other => panic!("expected an API error, got {other:?}"),
    };
    assert_eq!(code(metrics.replace("p", &PostParams::default(), &object("p", "lots")).await), (422, "Invalid".into()));
    assert_eq!(code(metrics.replace("p", &PostParams::default(), &object("q", "1")).await), (400, "BadRequest".into()));
    let mut wrong_kind = object("p", "1");
    wrong_kind.types.as_mut().unwrap().kind = "Pod".into();
    assert_eq!(code(metrics.replace("p", &PostParams::default(), &wrong_kind).await).0, 400);
    assert_eq!(code(metrics.get("p").await).0, 404, "nothing was stored");
    assert_eq!(code(metrics.create(&PostParams::default(), &object("p", "1")).await).0, 405);

    // A good write is served back, with the default window; a delete removes it.
    let stored = metrics.replace("p", &PostParams::default(), &object("p", "1")).await.unwrap();
    assert_eq!((stored.data["window"].as_str(), container_cpu(&stored)), (Some("15s"), vec!["1000000000n".into()]));
    metrics.delete("p", &DeleteParams::default()).await.unwrap();
    assert_eq!(code(metrics.get("p").await).0, 404);

    if let Some(out) = cluster.kubectl(&["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"]) {
        let list: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            list,
            json!({"kind": "NodeMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": []})
        );
    }
}
