//! Storage, quota and disruption-budget controllers end to end against the binary: dynamic
//! provisioning (Immediate and WaitForFirstConsumer classes), binding of pre-created volumes,
//! reclaiming on claim deletion, ResourceQuota usage and PodDisruptionBudget status.

use std::time::Duration;

use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, PersistentVolume, PersistentVolumeClaim, Pod, ResourceQuota,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::cluster::{Cluster, eventually};

const WAIT: Duration = Duration::from_secs(30);

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

fn claim(name: &str, class: Option<&str>, size: &str) -> PersistentVolumeClaim {
    let mut spec = json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}});
    if let Some(class) = class {
        spec["storageClassName"] = json!(class);
    }
    from_json(json!({"metadata": {"name": name}, "spec": spec}))
}

fn claim_phase(claim: &PersistentVolumeClaim) -> Option<&str> {
    claim.status.as_ref().and_then(|s| s.phase.as_deref())
}

fn volume_phase(volume: &PersistentVolume) -> Option<&str> {
    volume.status.as_ref().and_then(|s| s.phase.as_deref())
}

/// Waits until the claim is Bound and returns it.
async fn bound_claim(claims: &Api<PersistentVolumeClaim>, name: &str) -> PersistentVolumeClaim {
    eventually(&format!("claim {name} Bound"), WAIT, || async {
        claims.get(name).await.ok().filter(|c| claim_phase(c) == Some("Bound"))
    })
    .await
}

async fn events_of(cluster: &Cluster, namespace: &str, name: &str) -> Vec<(String, String)> {
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), namespace);
    let list = events.list(&ListParams::default()).await.unwrap();
    list.items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(name))
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_immediate_class_provisions_binds_and_deletes_with_the_claim() {
    let cluster = Cluster::start().await;
    let classes: Api<StorageClass> = Api::all(cluster.client.clone());
    let standard = eventually("the default class", WAIT, || async { classes.get_opt("standard").await.unwrap() }).await;
    assert_eq!(standard.provisioner, "kybernetes.io/local-path");
    assert_eq!(standard.volume_binding_mode.as_deref(), Some("WaitForFirstConsumer"));
    assert_eq!(standard.metadata.annotations.unwrap()["storageclass.kubernetes.io/is-default-class"], "true");

    let fast: StorageClass = from_json(json!({
        "metadata": {"name": "fast"}, "provisioner": "kybernetes.io/local-path",
        "volumeBindingMode": "Immediate", "reclaimPolicy": "Delete",
    }));
    classes.create(&PostParams::default(), &fast).await.unwrap();
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), "default");
    let created = claims.create(&PostParams::default(), &claim("data", Some("fast"), "1Gi")).await.unwrap();
    let uid = created.metadata.uid.unwrap();

    let bound = bound_claim(&claims, "data").await;
    let volume_name = format!("pvc-{uid}");
    assert_eq!(bound.spec.as_ref().unwrap().volume_name.as_deref(), Some(volume_name.as_str()));
    let status = bound.status.unwrap();
    assert_eq!(status.capacity.unwrap()["storage"].0, "1Gi");
    let annotations = bound.metadata.annotations.unwrap();
    assert_eq!(annotations["pv.kubernetes.io/bind-completed"], "yes");
    assert_eq!(annotations["volume.kubernetes.io/storage-provisioner"], "kybernetes.io/local-path");

    let volumes: Api<PersistentVolume> = Api::all(cluster.client.clone());
    let volume = eventually("the volume Bound", WAIT, || async {
        volumes.get_opt(&volume_name).await.unwrap().filter(|v| volume_phase(v) == Some("Bound"))
    })
    .await;
    assert_eq!(
        volume.metadata.annotations.as_ref().unwrap()["pv.kubernetes.io/provisioned-by"],
        "kybernetes.io/local-path"
    );
    let spec = volume.spec.unwrap();
    assert_eq!(spec.claim_ref.unwrap().uid.as_deref(), Some(uid.as_str()));
    assert_eq!(spec.persistent_volume_reclaim_policy.as_deref(), Some("Delete"));
    assert_eq!(spec.storage_class_name.as_deref(), Some("fast"));
    assert_eq!(spec.host_path.unwrap().path, format!("/var/lib/kybernetes/volumes/{volume_name}"));
    let events = events_of(&cluster, "default", "data").await;
    assert!(events.iter().any(|(reason, _)| reason == "ProvisioningSucceeded"), "{events:?}");

    claims.delete("data", &DeleteParams::default()).await.unwrap();
    eventually("the provisioned volume deleted", WAIT, || async {
        volumes.get_opt(&volume_name).await.unwrap().is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_pre_created_volume_binds_to_a_matching_claim_and_is_retained() {
    let cluster = Cluster::start().await;
    let volumes: Api<PersistentVolume> = Api::all(cluster.client.clone());
    for (name, size) in [("manual-small", "1Gi"), ("manual-big", "5Gi")] {
        let volume: PersistentVolume = from_json(json!({
            "metadata": {"name": name},
            "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], "storageClassName": "",
                     "persistentVolumeReclaimPolicy": "Retain", "hostPath": {"path": format!("/tmp/{name}")}},
        }));
        volumes.create(&PostParams::default(), &volume).await.unwrap();
    }
    eventually("volumes Available", WAIT, || async {
        let list = volumes.list(&ListParams::default()).await.unwrap();
        list.items.iter().all(|v| volume_phase(v) == Some("Available")).then_some(())
    })
    .await;

    let claims: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), "default");
    claims.create(&PostParams::default(), &claim("small", Some(""), "512Mi")).await.unwrap();
    let bound = bound_claim(&claims, "small").await;
    assert_eq!(bound.spec.unwrap().volume_name.as_deref(), Some("manual-small"), "the smallest volume that fits");
    let annotations = bound.metadata.annotations.unwrap();
    assert_eq!(annotations["pv.kubernetes.io/bound-by-controller"], "yes");
    assert_eq!(bound.status.unwrap().capacity.unwrap()["storage"].0, "1Gi");
    let volume = eventually("manual-small Bound", WAIT, || async {
        volumes.get("manual-small").await.ok().filter(|v| volume_phase(v) == Some("Bound"))
    })
    .await;
    assert_eq!(volume.metadata.annotations.unwrap()["pv.kubernetes.io/bound-by-controller"], "yes");
    assert_eq!(volume.spec.unwrap().claim_ref.unwrap().name.as_deref(), Some("small"));

    // A claim pre-bound by volumeName gets that volume even though it is larger than needed.
    let mut pre_bound = claim("chosen", Some(""), "1Gi");
    pre_bound.spec.as_mut().unwrap().volume_name = Some("manual-big".into());
    claims.create(&PostParams::default(), &pre_bound).await.unwrap();
    bound_claim(&claims, "chosen").await;

    // Deleting the claim releases the volume; Retain keeps it.
    claims.delete("small", &DeleteParams::default()).await.unwrap();
    eventually("manual-small Released", WAIT, || async {
        volumes.get("manual-small").await.ok().filter(|v| volume_phase(v) == Some("Released"))
    })
    .await;

    // A claim without any class or fitting volume stays Pending and says why.
    claims.create(&PostParams::default(), &claim("huge", Some(""), "100Gi")).await.unwrap();
    eventually("FailedBinding", WAIT, || async {
        let events = events_of(&cluster, "default", "huge").await;
        events
            .iter()
            .any(|(r, m)| {
                r == "FailedBinding"
                    && m == "no persistent volumes available for this claim and no storage class is set"
            })
            .then_some(())
    })
    .await;
    assert_eq!(claim_phase(&claims.get("huge").await.unwrap()), Some("Pending"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_default_class_waits_for_the_selected_node() {
    let cluster = Cluster::start().await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), "default");
    let created = claims.create(&PostParams::default(), &claim("later", None, "2Gi")).await.unwrap();
    let uid = created.metadata.uid.unwrap();
    let defaulted = eventually("the default class on the claim", WAIT, || async {
        claims
            .get("later")
            .await
            .ok()
            .filter(|c| c.spec.as_ref().and_then(|s| s.storage_class_name.as_deref()) == Some("standard"))
    })
    .await;
    assert_ne!(claim_phase(&defaulted), Some("Bound"));
    eventually("WaitForFirstConsumer", WAIT, || async {
        let events = events_of(&cluster, "default", "later").await;
        events
            .iter()
            .any(|(r, m)| r == "WaitForFirstConsumer" && m == "waiting for first consumer to be created before binding")
            .then_some(())
    })
    .await;
    assert_eq!(claim_phase(&claims.get("later").await.unwrap()), Some("Pending"));

    // The scheduler's part: it picks a node for the claim's first pod.
    let patch = json!({"metadata": {"annotations": {"volume.kubernetes.io/selected-node": "node-7"}}});
    claims.patch("later", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    bound_claim(&claims, "later").await;
    let volumes: Api<PersistentVolume> = Api::all(cluster.client.clone());
    let volume = volumes.get(&format!("pvc-{uid}")).await.unwrap();
    let affinity = serde_json::to_value(volume.spec.unwrap().node_affinity).unwrap();
    assert_eq!(
        affinity["required"]["nodeSelectorTerms"][0]["matchExpressions"][0],
        json!({"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-7"]})
    );
}

fn idle_pod(name: &str, labels: Value, cpu: &str, memory: &str) -> Pod {
    // Selects no node, so nothing but this test changes its status.
    from_json(json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {"nodeSelector": {"nowhere": "true"}, "containers": [{"name": "c", "image": "busybox",
                 "resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_status_counts_pods_requests_and_configmaps() {
    let cluster = Cluster::start().await;
    let namespaces: Api<Namespace> = Api::all(cluster.client.clone());
    namespaces.create(&PostParams::default(), &from_json(json!({"metadata": {"name": "limited"}}))).await.unwrap();
    let quotas: Api<ResourceQuota> = Api::namespaced(cluster.client.clone(), "limited");
    let quota: ResourceQuota = from_json(json!({
        "metadata": {"name": "compute"},
        "spec": {"hard": {"pods": "10", "configmaps": "5", "requests.cpu": "2000m", "requests.memory": "1Gi",
                          "services.loadbalancers": "0"}},
    }));
    quotas.create(&PostParams::default(), &quota).await.unwrap();

    let config_maps: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "limited");
    for name in ["one", "two"] {
        config_maps.create(&PostParams::default(), &from_json(json!({"metadata": {"name": name}}))).await.unwrap();
    }
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "limited");
    for name in ["a", "b"] {
        pods.create(&PostParams::default(), &idle_pod(name, json!({}), "250m", "256Mi")).await.unwrap();
    }

    let used = |quota: &ResourceQuota, name: &str| -> Option<String> {
        quota.status.as_ref()?.used.as_ref()?.get(name).map(|q| q.0.clone())
    };
    let expected = |config_map_count: usize| {
        move |quota: &ResourceQuota| -> bool {
            let config_maps = config_map_count.to_string();
            used(quota, "pods").as_deref() == Some("2")
                && used(quota, "requests.cpu").as_deref() == Some("500m")
                && used(quota, "requests.memory").as_deref() == Some("512Mi")
                && used(quota, "configmaps").as_deref() == Some(config_maps.as_str())
                && used(quota, "services.loadbalancers").as_deref() == Some("0")
        }
    };
    let current = eventually("quota usage", WAIT, || async {
        // The namespace controller adds kube-root-ca.crt: count what is there.
        let count = config_maps.list(&ListParams::default()).await.unwrap().items.len();
        quotas.get("compute").await.ok().filter(|q| count >= 2 && expected(count)(q))
    })
    .await;
    let hard = current.status.unwrap().hard.unwrap();
    assert_eq!(hard["requests.cpu"].0, "2", "status.hard is spec.hard, canonical");
    assert_eq!(hard["pods"].0, "10");

    // A pod that finished no longer counts.
    let failed = json!({"status": {"phase": "Failed"}});
    pods.patch_status("a", &PatchParams::default(), &Patch::Merge(&failed)).await.unwrap();
    eventually("usage without the finished pod", WAIT, || async {
        quotas
            .get("compute")
            .await
            .ok()
            .filter(|q| used(q, "pods").as_deref() == Some("1") && used(q, "requests.cpu").as_deref() == Some("250m"))
    })
    .await;
    if let Some(out) = cluster.kubectl(&["describe", "resourcequota", "compute", "-n", "limited"]) {
        assert!(out.contains("requests.memory") && out.contains("256Mi"), "{out}");
    }
}

fn ready_status(ready: bool) -> Value {
    let status = if ready { "True" } else { "False" };
    json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": status}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdb_status_reflects_ready_pods() {
    let cluster = Cluster::start().await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    for name in ["web-0", "web-1", "web-2"] {
        pods.create(&PostParams::default(), &idle_pod(name, json!({"app": "web"}), "10m", "16Mi")).await.unwrap();
    }
    pods.create(&PostParams::default(), &idle_pod("other", json!({"app": "db"}), "10m", "16Mi")).await.unwrap();
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(cluster.client.clone(), "default");
    let budget: PodDisruptionBudget = from_json(json!({
        "metadata": {"name": "web"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}},
    }));
    budgets.create(&PostParams::default(), &budget).await.unwrap();

    let status_of = |b: &PodDisruptionBudget| {
        let s = b.status.clone().unwrap_or_default();
        let condition = s.conditions.unwrap_or_default().into_iter().find(|c| c.type_ == "DisruptionAllowed");
        (
            s.expected_pods,
            s.desired_healthy,
            s.current_healthy,
            s.disruptions_allowed,
            condition.map(|c| (c.status, c.reason)),
        )
    };
    let insufficient = (3, 2, 0, 0, Some(("False".to_string(), "InsufficientPods".to_string())));
    eventually("the budget with no ready pods", WAIT, || async {
        budgets.get("web").await.ok().filter(|b| status_of(b) == insufficient)
    })
    .await;

    for name in ["web-0", "web-1", "web-2", "other"] {
        pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&ready_status(true))).await.unwrap();
    }
    let sufficient = (3, 2, 3, 1, Some(("True".to_string(), "SufficientPods".to_string())));
    let ready = eventually("the budget with three ready pods", WAIT, || async {
        budgets.get("web").await.ok().filter(|b| status_of(b) == sufficient)
    })
    .await;
    assert_eq!(ready.status.unwrap().observed_generation, ready.metadata.generation);

    // One pod turning unready leaves no room for disruption.
    pods.patch_status("web-1", &PatchParams::default(), &Patch::Merge(&ready_status(false))).await.unwrap();
    let two_ready = (3, 2, 2, 0, Some(("False".to_string(), "InsufficientPods".to_string())));
    eventually("the budget with two ready pods", WAIT, || async {
        budgets.get("web").await.ok().filter(|b| status_of(b) == two_ready)
    })
    .await;

    // maxUnavailable is relative to the pods' controllers; pods without one are not counted
    // and the budget says so (upstream's UnmanagedPods warning).
    let patch = json!({"spec": {"minAvailable": null, "maxUnavailable": "50%"}});
    budgets.patch("web", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    eventually("the budget after the spec change", WAIT, || async {
        budgets.get("web").await.ok().filter(|b| {
            let s = b.status.clone().unwrap_or_default();
            s.observed_generation == b.metadata.generation && s.expected_pods == 0 && s.disruptions_allowed == 0
        })
    })
    .await;
    eventually("the UnmanagedPods event", WAIT, || async {
        events_of(&cluster, "default", "web").await.iter().any(|(reason, _)| reason == "UnmanagedPods").then_some(())
    })
    .await;
}
