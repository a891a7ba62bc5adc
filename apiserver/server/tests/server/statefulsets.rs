//! The StatefulSet controller end to end, on simulated nodes: ordered creation with stable
//! identities and per-pod claims, ordered scale-down, a partitioned rolling update, and
//! `kubectl rollout status/history/undo` against the status and ControllerRevisions it writes.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::cluster::{Cluster, eventually};

const TIMEOUT: Duration = Duration::from_secs(90);

fn statefulset(name: &str, replicas: i32, image: &str, update_strategy: serde_json::Value) -> StatefulSet {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": { "name": name },
        "spec": {
            "replicas": replicas,
            "serviceName": "nginx",
            "selector": { "matchLabels": { "app": name } },
            "updateStrategy": update_strategy,
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": { "containers": [{ "name": "web", "image": image }] }
            },
            "volumeClaimTemplates": [{
                "metadata": { "name": "www" },
                "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "1Gi" } } }
            }]
        }
    }))
    .unwrap()
}

fn is_ready(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    status.and_then(|s| s.phase.as_deref()) == Some("Running")
        && status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn image_of(pod: &Pod) -> String {
    pod.spec.as_ref().and_then(|s| s.containers[0].image.clone()).unwrap_or_default()
}

async fn pods_of(client: &Client, app: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.list(&ListParams::default().labels(&format!("app={app}"))).await.unwrap().items
}

async fn wait_ready(client: &Client, name: &str, replicas: i32) -> StatefulSet {
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        if let Ok(set) = sets.get(name).await
            && let Some(status) = set.status.clone()
            && status.ready_replicas == Some(replicas)
            && status.replicas == replicas
            && status.observed_generation == set.metadata.generation
        {
            return set;
        }
        if tokio::time::Instant::now() > deadline {
            // Say where it stuck: the set's status, its pods and their claims.
            let set = sets.get(name).await.ok().and_then(|s| s.status);
            let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
            let pods: Vec<String> = pods
                .list(&ListParams::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default()
                .iter()
                .map(|p| {
                    serde_json::to_string(&(&p.metadata.name, &p.spec.as_ref().map(|s| &s.node_name), &p.status))
                        .unwrap()
                })
                .collect();
            let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
            let claims: Vec<String> = claims
                .list(&ListParams::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default()
                .iter()
                .map(|c| serde_json::to_string(&(&c.metadata.name, &c.metadata.annotations, &c.status)).unwrap())
                .collect();
            panic!(
                "timed out after {TIMEOUT:?} waiting for statefulset {name} to have {replicas} ready replicas\nstatus: {set:?}\npods: {pods:#?}\nclaims: {claims:#?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn statefulset_creates_pods_in_order_with_identity_and_claims() {
    let cluster = Cluster::start().await;
    let _nodes = cluster.simulated_nodes("node", 3);
    let sets: Api<StatefulSet> = Api::namespaced(cluster.client.clone(), "default");
    let rolling = json!({ "type": "RollingUpdate" });
    sets.create(&PostParams::default(), &statefulset("web", 3, "nginx:1", rolling)).await.unwrap();

    // Pod N+1 never exists before pod N is Running and Ready.
    eventually("three ready pods created in order", TIMEOUT, || async {
        let pods = pods_of(&cluster.client, "web").await;
        let by_name = |n: &str| pods.iter().find(|p| p.name_any() == n);
        for ordinal in 1..3 {
            if by_name(&format!("web-{ordinal}")).is_some() {
                let previous = by_name(&format!("web-{}", ordinal - 1));
                assert!(previous.is_some_and(is_ready), "web-{ordinal} exists while web-{} is not ready", ordinal - 1);
            }
        }
        (pods.len() == 3 && pods.iter().all(is_ready)).then_some(())
    })
    .await;
    let set = wait_ready(&cluster.client, "web", 3).await;
    let status = set.status.unwrap();
    let update_revision = status.update_revision.clone().unwrap();
    assert_eq!(status.current_revision.as_deref(), Some(update_revision.as_str()));
    assert_eq!(status.updated_replicas, Some(3));

    let claims: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), "default");
    for ordinal in 0..3 {
        let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
        let pod = pods.get(&format!("web-{ordinal}")).await.unwrap();
        let labels = pod.labels();
        assert_eq!(labels["statefulset.kubernetes.io/pod-name"], format!("web-{ordinal}"));
        assert_eq!(labels["apps.kubernetes.io/pod-index"], ordinal.to_string());
        assert_eq!(labels["controller-revision-hash"], update_revision);
        let spec = pod.spec.unwrap();
        assert_eq!(spec.hostname, Some(format!("web-{ordinal}")));
        assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
        let volume = spec.volumes.unwrap().into_iter().find(|v| v.name == "www").expect("the claim's volume");
        let claim_name = volume.persistent_volume_claim.unwrap().claim_name;
        assert_eq!(claim_name, format!("www-web-{ordinal}"));
        let claim = claims.get(&claim_name).await.expect("the claim exists");
        assert_eq!(claim.labels()["app"], "web");
        // The default class binds on first consumer: the scheduler names the pod's node on
        // the claim, the provisioner makes a volume there, and the claim is Bound.
        let node = spec.node_name.clone().expect("scheduled");
        let bound = eventually("the claim to be bound", Duration::from_secs(30), || async {
            let claim = claims.get(&claim_name).await.unwrap();
            (claim.status.as_ref()?.phase.as_deref() == Some("Bound")).then_some(claim)
        })
        .await;
        assert_eq!(bound.annotations().get("volume.kubernetes.io/selected-node"), Some(&node));
    }

    let revisions: Api<ControllerRevision> = Api::namespaced(cluster.client.clone(), "default");
    let revision = revisions.get(&update_revision).await.unwrap();
    assert_eq!(revision.revision, 1);
    assert_eq!(revision.data.unwrap().0["spec"]["template"]["$patch"], "replace");

    if let Some(out) = cluster.kubectl(&["rollout", "status", "statefulset/web", "--timeout=60s"]) {
        assert!(out.contains("complete"), "{out}");
    }
}

#[tokio::test]
async fn statefulset_scales_down_in_reverse_order() {
    let cluster = Cluster::start().await;
    let _nodes = cluster.simulated_nodes("node", 3);
    let sets: Api<StatefulSet> = Api::namespaced(cluster.client.clone(), "default");
    sets.create(&PostParams::default(), &statefulset("db", 3, "db:1", json!({ "type": "RollingUpdate" })))
        .await
        .unwrap();
    wait_ready(&cluster.client, "db", 3).await;

    sets.patch("db", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "replicas": 1 } }))).await.unwrap();
    // db-1 is not touched while db-2 still exists.
    eventually("scale-down to db-0", TIMEOUT, || async {
        let pods = pods_of(&cluster.client, "db").await;
        let state = |n: &str| pods.iter().find(|p| p.name_any() == n).map(|p| p.metadata.deletion_timestamp.is_some());
        if state("db-1") != Some(false) {
            assert_eq!(state("db-2"), None, "db-1 is deleted while db-2 still exists");
        }
        let names: BTreeSet<String> = pods.iter().map(|p| p.name_any()).collect();
        (names == BTreeSet::from(["db-0".to_string()])).then_some(())
    })
    .await;
    wait_ready(&cluster.client, "db", 1).await;
    // Claims are retained by default.
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), "default");
    assert!(claims.get("www-db-2").await.is_ok());
}

#[tokio::test]
async fn statefulset_partitioned_rolling_update_and_rollout_commands() {
    let cluster = Cluster::start().await;
    let _nodes = cluster.simulated_nodes("node", 3);
    let sets: Api<StatefulSet> = Api::namespaced(cluster.client.clone(), "default");
    let partitioned = json!({ "type": "RollingUpdate", "rollingUpdate": { "partition": 1 } });
    sets.create(&PostParams::default(), &statefulset("app", 3, "app:1", partitioned)).await.unwrap();
    let before = wait_ready(&cluster.client, "app", 3).await;
    let first_revision = before.status.unwrap().update_revision.unwrap();

    let image = json!({ "spec": { "template": { "spec": { "containers": [{ "name": "web", "image": "app:2" }] } } } });
    sets.patch("app", &PatchParams::default(), &Patch::Strategic(image)).await.unwrap();
    let set = eventually("ordinals >= 1 updated", TIMEOUT, || async {
        let set = sets.get("app").await.ok()?;
        let status = set.status.clone()?;
        let pods = pods_of(&cluster.client, "app").await;
        let images: Vec<(String, String)> = pods.iter().map(|p| (p.name_any(), image_of(p))).collect();
        let done = status.updated_replicas == Some(2)
            && status.ready_replicas == Some(3)
            && images.contains(&("app-0".to_string(), "app:1".to_string()))
            && images.contains(&("app-1".to_string(), "app:2".to_string()))
            && images.contains(&("app-2".to_string(), "app:2".to_string()));
        done.then_some(set)
    })
    .await;
    let status = set.status.unwrap();
    assert_eq!(
        status.current_revision.as_deref(),
        Some(first_revision.as_str()),
        "app-0 is still at the current revision"
    );
    assert_ne!(status.update_revision.as_deref(), Some(first_revision.as_str()));
    if let Some(out) = cluster.kubectl(&["rollout", "status", "statefulset/app", "--timeout=60s"]) {
        assert!(out.contains("partitioned roll out complete"), "{out}");
    }
    // app-0 kept its pod all along (it was never replaced).
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    assert_eq!(image_of(&pods.get("app-0").await.unwrap()), "app:1");

    // Lifting the partition finishes the rollout and moves the current revision.
    let lift = json!({ "spec": { "updateStrategy": { "rollingUpdate": { "partition": 0 } } } });
    sets.patch("app", &PatchParams::default(), &Patch::Merge(lift)).await.unwrap();
    eventually("every pod updated", TIMEOUT, || async {
        let status = sets.get("app").await.ok()?.status?;
        let pods = pods_of(&cluster.client, "app").await;
        (status.current_revision == status.update_revision
            && status.updated_replicas == Some(3)
            && status.ready_replicas == Some(3)
            && pods.iter().all(|p| image_of(p) == "app:2"))
        .then_some(())
    })
    .await;

    let Some(history) = cluster.kubectl(&["rollout", "history", "statefulset/app"]) else { return };
    assert!(history.contains('1') && history.contains('2'), "{history}");
    cluster.kubectl(&["rollout", "undo", "statefulset/app"]);
    eventually("the undo rolled back to app:1", TIMEOUT, || async {
        let set = sets.get("app").await.ok()?;
        let status = set.status.clone()?;
        let pods = pods_of(&cluster.client, "app").await;
        (image_of(&Pod { spec: set.spec.as_ref().and_then(|s| s.template.spec.clone()), ..Default::default() })
            == "app:1"
            && status.current_revision == status.update_revision
            && status.update_revision.as_deref() == Some(first_revision.as_str())
            && pods.len() == 3
            && pods.iter().all(|p| image_of(p) == "app:1" && is_ready(p)))
        .then_some(())
    })
    .await;
    let revisions: Api<ControllerRevision> = Api::namespaced(cluster.client.clone(), "default");
    assert_eq!(revisions.get(&first_revision).await.unwrap().revision, 3, "the rolled-back revision is renumbered");
}
