//! HorizontalPodAutoscalers end to end: simulated nodes report the pods' CPU usage (from the
//! `kybernetes.io/cpu-usage` annotation) to the resource metrics API, the autoscaler reads it
//! and scales the Deployment. `kubectl autoscale` creates the HPA and `kubectl get hpa` shows
//! its targets, as with upstream. The sync period is 1 s here (upstream's default is 15 s).

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::json;

use crate::cluster::{Cluster, eventually};

const WAIT: Duration = Duration::from_secs(90);

async fn start() -> Cluster {
    Cluster::start_with(&["--horizontal-pod-autoscaler-sync-period", "1"]).await
}

/// A Deployment whose pods each request `request` CPU and use `usage`.
fn deployment(name: &str, replicas: i32, request: Option<&str>, usage: &str) -> Deployment {
    let resources = request.map_or(json!({}), |r| json!({"requests": {"cpu": r}}));
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": {"kybernetes.io/cpu-usage": usage}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1", "resources": resources}]}
            }
        }
    }))
    .unwrap()
}

async fn replicas(client: &kube::Client, name: &str) -> i32 {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deployments.get(name).await.unwrap().spec.unwrap().replicas.unwrap_or(1)
}

async fn condition(hpas: &Api<HorizontalPodAutoscaler>, name: &str, type_: &str) -> Option<(String, String, String)> {
    let hpa = hpas.get(name).await.ok()?;
    let c = hpa.status?.conditions?.into_iter().find(|c| c.type_ == type_)?;
    Some((c.status, c.reason.unwrap_or_default(), c.message.unwrap_or_default()))
}

#[tokio::test]
async fn kubectl_autoscale_scales_a_deployment_up_to_max_on_cpu_usage() {
    let cluster = start().await;
    let _nodes = cluster.simulated_nodes("hpa-up", 2);
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), "default");
    // Each pod uses 200m of its 100m request: 200% against a 50% target.
    deployments.create(&PostParams::default(), &deployment("web", 1, Some("100m"), "200m")).await.unwrap();
    let Some(_) = cluster.kubectl(&["autoscale", "deployment", "web", "--cpu=50%", "--min=1", "--max=5"]) else {
        eprintln!("SKIPPED: kubectl v1.35 is not installed (ci/install-kubectl.sh)");
        return;
    };
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(cluster.client.clone(), "default");
    let hpa = hpas.get("web").await.unwrap();
    assert_eq!(hpa.spec.as_ref().unwrap().scale_target_ref.kind, "Deployment");

    // 1 pod at 200% asks for 4 (the legacy rate allows up to 4); once the new pods' samples
    // count, 4 pods at 200% ask for 16, held at maxReplicas.
    let client = cluster.client.clone();
    eventually("the deployment scaled to maxReplicas", WAIT, || async {
        (replicas(&client, "web").await == 5).then_some(())
    })
    .await;
    let (status, reason, _) =
        eventually("ScalingLimited", WAIT, || async { condition(&hpas, "web", "ScalingLimited").await }).await;
    assert_eq!((status.as_str(), reason.as_str()), ("True", "TooManyReplicas"));
    let hpa = hpas.get("web").await.unwrap();
    let status = hpa.status.unwrap();
    let cpu = status.current_metrics.unwrap()[0].resource.clone().unwrap();
    assert_eq!(cpu.name, "cpu");
    assert_eq!(cpu.current.average_utilization, Some(200));
    assert_eq!(cpu.current.average_value.map(|q| q.0), Some("200m".to_string()));
    assert!(status.last_scale_time.is_some());
    assert_eq!(status.desired_replicas, 5);

    let events: Api<Event> = Api::namespaced(cluster.client.clone(), "default");
    let rescaled = events
        .list(&ListParams::default().fields("involvedObject.kind=HorizontalPodAutoscaler,reason=SuccessfulRescale"))
        .await
        .unwrap();
    let messages: Vec<String> = rescaled.items.iter().filter_map(|e| e.message.clone()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m == "New size: 4; reason: cpu resource utilization (percentage of request) above target"),
        "{messages:?}"
    );
    let table = cluster.kubectl(&["get", "hpa", "web"]).unwrap();
    assert!(table.contains("Deployment/web") && table.contains("cpu: 200%/50%"), "{table}");
}

#[tokio::test]
async fn behavior_policies_limit_a_scale_down() {
    let cluster = start().await;
    let _nodes = cluster.simulated_nodes("hpa-down", 2);
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), "default");
    // 4 pods at 10% of their request against 50%: one pod would do.
    deployments.create(&PostParams::default(), &deployment("idle", 4, Some("100m"), "10m")).await.unwrap();
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(cluster.client.clone(), "default");
    let hpa: HorizontalPodAutoscaler = serde_json::from_value(json!({
        "metadata": {"name": "idle"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "idle"},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
            // At most half the pods per 10 minutes, no stabilization window.
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0, "policies": [{"type": "Percent", "value": 50, "periodSeconds": 600}]}}
        }
    }))
    .unwrap();
    hpas.create(&PostParams::default(), &hpa).await.unwrap();
    let client = cluster.client.clone();
    eventually("the deployment scaled down to 2", WAIT, || async {
        (replicas(&client, "idle").await == 2).then_some(())
    })
    .await;
    let (status, reason, message) =
        eventually("ScaleDownLimit", WAIT, || async { condition(&hpas, "idle", "ScalingLimited").await }).await;
    assert_eq!((status.as_str(), reason.as_str()), ("True", "ScaleDownLimit"), "{message}");
    // The policy's period has not passed: it stays at 2 over several syncs.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(replicas(&cluster.client, "idle").await, 2);
    let (status, reason, _) = condition(&hpas, "idle", "ScalingActive").await.unwrap();
    assert_eq!((status.as_str(), reason.as_str()), ("True", "ValidMetricFound"));
}

#[tokio::test]
async fn conditions_say_why_an_hpa_cannot_scale() {
    let cluster = start().await;
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(cluster.client.clone(), "default");
    let hpa = |name: &str, target: &str, metric: serde_json::Value| -> HorizontalPodAutoscaler {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                "maxReplicas": 3,
                "metrics": [metric]
            }
        }))
        .unwrap()
    };
    let cpu = json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}});
    // No such target.
    hpas.create(&PostParams::default(), &hpa("missing", "nothing-here", cpu.clone())).await.unwrap();
    // A target with pods but no samples (no nodes run them).
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), "default");
    deployments.create(&PostParams::default(), &deployment("quiet", 1, Some("100m"), "1")).await.unwrap();
    hpas.create(&PostParams::default(), &hpa("quiet", "quiet", cpu)).await.unwrap();
    // A Pods metric: no custom metrics API here.
    let pods_metric = json!({"type": "Pods", "pods": {"metric": {"name": "requests_per_second"}, "target": {"type": "AverageValue", "averageValue": "1k"}}});
    hpas.create(&PostParams::default(), &hpa("custom", "quiet", pods_metric)).await.unwrap();

    let (status, reason, message) = eventually("AbleToScale on a missing target", WAIT, || async {
        condition(&hpas, "missing", "AbleToScale").await
    })
    .await;
    assert_eq!((status.as_str(), reason.as_str()), ("False", "FailedGetScale"), "{message}");
    assert!(message.starts_with("the HPA controller was unable to get the target's current scale: "), "{message}");

    let (status, reason, message) = eventually("ScalingActive without samples", WAIT, || async {
        condition(&hpas, "quiet", "ScalingActive").await.filter(|(_, r, _)| r != "ValidMetricFound")
    })
    .await;
    assert_eq!((status.as_str(), reason.as_str()), ("False", "FailedGetResourceMetric"), "{message}");
    assert!(message.contains("unable to get metrics for resource cpu"), "{message}");
    assert_eq!(replicas(&cluster.client, "quiet").await, 1);

    let (status, reason, _) = eventually("ScalingActive for a Pods metric", WAIT, || async {
        condition(&hpas, "custom", "ScalingActive").await
    })
    .await;
    assert_eq!((status.as_str(), reason.as_str()), ("False", "FailedGetPodsMetric"));
}
