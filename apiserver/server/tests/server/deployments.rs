//! ReplicaSets and Deployments end to end against the binary: replicas kept, replaced, scaled,
//! adopted and released; a rolling update watched step by step within maxSurge and
//! maxUnavailable; Recreate; `kubectl rollout status/history/undo/restart` and pause/resume.
//!
//! No nodes run here: a small stand-in kubelet in the test marks the (unscheduled) pods Running
//! and Ready through `pods/status` after a delay, so each test controls readiness; an
//! unscheduled pod is deleted at once, which keeps the pod counts exact.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod, ReplicationController};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

use crate::cluster::{Cluster, eventually};

const WAIT: Duration = Duration::from_secs(60);

/// Marks every live pod of `default` Running and Ready once it is `delay` old (as seen here).
fn stand_in_kubelet(client: Client, delay: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let pods: Api<Pod> = Api::namespaced(client, "default");
        let mut first_seen: HashMap<String, Instant> = HashMap::new();
        loop {
            if let Ok(list) = pods.list(&ListParams::default()).await {
                for pod in list.items {
                    let uid = pod.uid().unwrap_or_default();
                    let seen = *first_seen.entry(uid).or_insert_with(Instant::now);
                    if pod.metadata.deletion_timestamp.is_some() || ready(&pod) || seen.elapsed() < delay {
                        continue;
                    }
                    let now = Timestamp::now().to_string();
                    let status = json!({"status": {"phase": "Running", "conditions": [
                        {"type": "Ready", "status": "True", "lastTransitionTime": now}]}});
                    let _ = pods.patch_status(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&status)).await;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

fn ready(pod: &Pod) -> bool {
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn live(pods: &[Pod]) -> Vec<&Pod> {
    pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect()
}

fn image(pod: &Pod) -> String {
    pod.spec.as_ref().and_then(|s| s.containers.first()).and_then(|c| c.image.clone()).unwrap_or_default()
}

fn controller_uid(meta: &kube::api::ObjectMeta) -> Option<String> {
    meta.owner_references.iter().flatten().find(|r| r.controller == Some(true)).map(|r| r.uid.clone())
}

async fn all_pods(client: &Client) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.list(&ListParams::default()).await.unwrap().items
}

async fn events_of(client: &Client, name: &str) -> Vec<(String, String)> {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let list = events.list(&ListParams::default()).await.unwrap().items;
    list.into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(name))
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect()
}

fn replica_set(name: &str, app: &str, replicas: i32) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                 "template": {"metadata": {"labels": {"app": app}},
                              "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}}}
    }))
    .unwrap()
}

/// The live pods controlled by `uid`, once there are exactly `count`.
async fn owned_pods(client: &Client, uid: &str, count: usize) -> Vec<Pod> {
    eventually(&format!("{count} pods of {uid}"), WAIT, || async {
        let pods = all_pods(client).await;
        let owned: Vec<Pod> =
            live(&pods).into_iter().filter(|p| controller_uid(&p.metadata).as_deref() == Some(uid)).cloned().collect();
        (owned.len() == count).then_some(owned)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicaset_keeps_replaces_scales_adopts_and_releases_pods() {
    let cluster = Cluster::start().await;
    let client = cluster.client.clone();
    let _kubelet = stand_in_kubelet(client.clone(), Duration::ZERO);
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    let rs = sets.create(&PostParams::default(), &replica_set("web", "web", 3)).await.unwrap();
    let uid = rs.uid().unwrap();
    let created = owned_pods(&client, &uid, 3).await;
    assert!(created.iter().all(|p| p.name_any().starts_with("web-")), "generateName <rs>-");
    assert!(created.iter().all(|p| p.labels().get("app").map(String::as_str) == Some("web")));
    let status = eventually("status of 3 ready replicas", WAIT, || async {
        let status = sets.get("web").await.unwrap().status?;
        (status.ready_replicas == Some(3) && status.available_replicas == Some(3)).then_some(status)
    })
    .await;
    assert_eq!((status.replicas, status.fully_labeled_replicas, status.observed_generation), (3, Some(3), Some(1)));

    // A deleted pod is replaced.
    let victim = created[0].name_any();
    pods.delete(&victim, &DeleteParams::default()).await.unwrap();
    let replaced = eventually("a replacement pod", WAIT, || async {
        let now = owned_pods(&client, &uid, 3).await;
        now.iter().all(|p| p.name_any() != victim).then_some(now)
    })
    .await;
    assert_eq!(replaced.len(), 3);

    // Scale up and down.
    let scale = |n: i32| json!({"spec": {"replicas": n}});
    sets.patch("web", &PatchParams::default(), &Patch::Merge(&scale(5))).await.unwrap();
    owned_pods(&client, &uid, 5).await;
    sets.patch("web", &PatchParams::default(), &Patch::Merge(&scale(1))).await.unwrap();
    owned_pods(&client, &uid, 1).await;
    eventually("status of 1 replica, generation 3", WAIT, || async {
        let status = sets.get("web").await.unwrap().status?;
        (status.replicas == 1 && status.observed_generation == Some(3)).then_some(())
    })
    .await;
    let events = events_of(&client, "web").await;
    assert!(events.iter().any(|(r, m)| r == "SuccessfulCreate" && m.starts_with("Created pod: web-")), "{events:?}");
    assert!(events.iter().any(|(r, m)| r == "SuccessfulDelete" && m.starts_with("Deleted pod: web-")), "{events:?}");

    // A pod relabelled out of the selector is released and replaced.
    let kept = owned_pods(&client, &uid, 1).await.remove(0).name_any();
    pods.patch(&kept, &PatchParams::default(), &Patch::Merge(&json!({"metadata": {"labels": {"app": "moved"}}})))
        .await
        .unwrap();
    eventually("the relabelled pod to be released", WAIT, || async {
        let pod = pods.get(&kept).await.unwrap();
        controller_uid(&pod.metadata).is_none().then_some(())
    })
    .await;
    let after = owned_pods(&client, &uid, 1).await;
    assert_ne!(after[0].name_any(), kept);

    // An orphan matching a new ReplicaSet's selector is adopted and counts as a replica.
    let orphan = json!({"metadata": {"name": "orphan", "labels": {"app": "db"}},
                        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}});
    pods.create(&PostParams::default(), &serde_json::from_value(orphan).unwrap()).await.unwrap();
    let db = sets.create(&PostParams::default(), &replica_set("db", "db", 2)).await.unwrap();
    let db_pods = owned_pods(&client, &db.uid().unwrap(), 2).await;
    assert!(db_pods.iter().any(|p| p.name_any() == "orphan"), "the orphan was adopted");
    // Stays at two: the adopted pod is not replaced by an extra create.
    tokio::time::sleep(Duration::from_millis(500)).await;
    owned_pods(&client, &db.uid().unwrap(), 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicaset_replication_controllers_keep_their_replicas_too() {
    let cluster = Cluster::start().await;
    let client = cluster.client.clone();
    let _kubelet = stand_in_kubelet(client.clone(), Duration::ZERO);
    let controllers: Api<ReplicationController> = Api::namespaced(client.clone(), "default");
    let rc: ReplicationController = serde_json::from_value(json!({
        "metadata": {"name": "legacy"},
        "spec": {"replicas": 2, "selector": {"app": "legacy"},
                 "template": {"metadata": {"labels": {"app": "legacy"}},
                              "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}}}
    }))
    .unwrap();
    let rc = controllers.create(&PostParams::default(), &rc).await.unwrap();
    let pods = owned_pods(&client, &rc.uid().unwrap(), 2).await;
    let owner = &pods[0].metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!((owner.kind.as_str(), owner.api_version.as_str()), ("ReplicationController", "v1"));
    eventually("the RC's ready status", WAIT, || async {
        let status = controllers.get("legacy").await.unwrap().status?;
        (status.ready_replicas == Some(2)).then_some(())
    })
    .await;
}

fn deployment(name: &str, replicas: i32, strategy: Value, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "strategy": strategy,
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": image}]}}}
    }))
    .unwrap()
}

/// The Deployment once its rollout of `generation`'s template is complete.
async fn rolled_out(client: &Client, name: &str) -> Deployment {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    eventually(&format!("{name} rolled out"), WAIT, || async {
        let d = deployments.get(name).await.unwrap();
        let want = d.spec.as_ref()?.replicas?;
        let status = d.status.as_ref()?;
        let done = status.observed_generation >= d.metadata.generation
            && status.updated_replicas == Some(want)
            && status.replicas == Some(want)
            && status.available_replicas == Some(want);
        done.then_some(d.clone())
    })
    .await
}

async fn replica_sets(client: &Client) -> Vec<ReplicaSet> {
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    sets.list(&ListParams::default()).await.unwrap().items
}

fn revision(rs: &ReplicaSet) -> Option<String> {
    rs.annotations().get("deployment.kubernetes.io/revision").cloned()
}

fn condition_reason(d: &Deployment, type_: &str) -> Option<String> {
    let conditions = d.status.as_ref()?.conditions.as_ref()?;
    conditions.iter().find(|c| c.type_ == type_)?.reason.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_rolling_update_stays_within_surge_and_unavailability() {
    let cluster = Cluster::start().await;
    let client = cluster.client.clone();
    let _nodes = cluster.simulated_nodes("node", 2);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let strategy = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}});
    deployments.create(&PostParams::default(), &deployment("web", 4, strategy, "nginx:1")).await.unwrap();
    let first = rolled_out(&client, "web").await;
    assert_eq!(condition_reason(&first, "Available").as_deref(), Some("MinimumReplicasAvailable"));
    assert_eq!(condition_reason(&first, "Progressing").as_deref(), Some("NewReplicaSetAvailable"));
    assert_eq!(first.annotations().get("deployment.kubernetes.io/revision").map(String::as_str), Some("1"));
    let sets = replica_sets(&client).await;
    assert_eq!(sets.len(), 1);
    let old_rs = sets[0].clone();
    let hash = old_rs.labels().get("pod-template-hash").cloned().expect("pod-template-hash label");
    assert_eq!(old_rs.name_any(), format!("web-{hash}"));
    assert_eq!(old_rs.annotations().get("deployment.kubernetes.io/desired-replicas").map(String::as_str), Some("4"));
    assert_eq!(old_rs.annotations().get("deployment.kubernetes.io/max-replicas").map(String::as_str), Some("5"));

    // Watch the rollout: record the most pods and the fewest ready pods at any moment.
    let extremes = Arc::new(Mutex::new((0usize, usize::MAX, 0i32)));
    let watching = {
        let (client, extremes) = (client.clone(), extremes.clone());
        tokio::spawn(async move {
            loop {
                let pods = all_pods(&client).await;
                let live = live(&pods);
                let ready_count = live.iter().filter(|p| ready(p)).count();
                let rs_total: i32 = replica_sets(&client)
                    .await
                    .iter()
                    .map(|rs| rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0))
                    .sum();
                {
                    let mut e = extremes.lock().unwrap();
                    e.0 = e.0.max(live.len());
                    e.1 = e.1.min(ready_count);
                    e.2 = e.2.max(rs_total);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}}});
    deployments.patch("web", &PatchParams::default(), &Patch::Strategic(&patch)).await.unwrap();
    let done = rolled_out(&client, "web").await;
    let pods = eventually("only new pods", WAIT, || async {
        let pods = all_pods(&client).await;
        let live: Vec<Pod> = live(&pods).into_iter().cloned().collect();
        (live.len() == 4 && live.iter().all(|p| image(p) == "nginx:2")).then_some(live)
    })
    .await;
    watching.abort();
    let (most_pods, fewest_ready, most_rs_replicas) = *extremes.lock().unwrap();
    assert!(most_rs_replicas <= 5, "ReplicaSets sized beyond replicas + maxSurge: {most_rs_replicas}");
    assert!(most_pods <= 5, "more than replicas + maxSurge pods: {most_pods}");
    assert!(fewest_ready >= 3, "fewer than replicas - maxUnavailable ready pods: {fewest_ready}");

    let sets = replica_sets(&client).await;
    assert_eq!(sets.len(), 2);
    let old = sets.iter().find(|rs| rs.name_any() == old_rs.name_any()).unwrap();
    let new = sets.iter().find(|rs| rs.name_any() != old_rs.name_any()).unwrap();
    assert_eq!(old.spec.as_ref().unwrap().replicas, Some(0), "old ReplicaSet scaled to 0");
    assert_eq!((revision(old).as_deref(), revision(new).as_deref()), (Some("1"), Some("2")));
    assert!(pods.iter().all(|p| controller_uid(&p.metadata) == new.uid()));
    assert_eq!(done.annotations().get("deployment.kubernetes.io/revision").map(String::as_str), Some("2"));
    assert_eq!(condition_reason(&done, "Progressing").as_deref(), Some("NewReplicaSetAvailable"));
    let events = events_of(&client, "web").await;
    let scaled = format!("Scaled up replica set {} from 0 to 1", new.name_any());
    assert!(events.iter().any(|(r, m)| r == "ScalingReplicaSet" && *m == scaled), "{events:?}");
    assert!(
        events.iter().any(|(r, m)| r == "ScalingReplicaSet" && m.starts_with("Scaled down replica set")),
        "{events:?}"
    );

    // Resizing mid-way and back again keeps every ReplicaSet's share; at rest the new one holds all.
    deployments.patch("web", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"replicas": 6}}))).await.unwrap();
    rolled_out(&client, "web").await;
    owned_pods(&client, &new.uid().unwrap(), 6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_recreate_removes_old_pods_before_starting_new_ones() {
    let cluster = Cluster::start().await;
    let client = cluster.client.clone();
    let _kubelet = stand_in_kubelet(client.clone(), Duration::from_millis(100));
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deployments
        .create(&PostParams::default(), &deployment("db", 3, json!({"type": "Recreate"}), "postgres:16"))
        .await
        .unwrap();
    rolled_out(&client, "db").await;

    let mixed = Arc::new(Mutex::new(false));
    let watching = {
        let (client, mixed) = (client.clone(), mixed.clone());
        tokio::spawn(async move {
            loop {
                let pods = all_pods(&client).await;
                let images: std::collections::BTreeSet<String> = pods.iter().map(image).collect();
                if images.len() > 1 {
                    *mixed.lock().unwrap() = true;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "postgres:17"}]}}}});
    deployments.patch("db", &PatchParams::default(), &Patch::Strategic(&patch)).await.unwrap();
    rolled_out(&client, "db").await;
    eventually("three new pods", WAIT, || async {
        let pods = all_pods(&client).await;
        (pods.len() == 3 && pods.iter().all(|p| image(p) == "postgres:17")).then_some(())
    })
    .await;
    watching.abort();
    assert!(!*mixed.lock().unwrap(), "old and new pods existed at the same time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_kubectl_rollout_status_history_undo_restart_and_pause() {
    let cluster = Cluster::start().await;
    let client = cluster.client.clone();
    let _kubelet = stand_in_kubelet(client.clone(), Duration::from_millis(100));
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let strategy = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
    deployments.create(&PostParams::default(), &deployment("app", 2, strategy, "httpd:1")).await.unwrap();
    let Some(out) = cluster.kubectl(&["rollout", "status", "deployment/app", "--timeout=60s"]) else { return };
    assert!(out.contains("successfully rolled out"), "{out}");

    cluster.kubectl(&["set", "image", "deployment/app", "c=httpd:2"]);
    let out = cluster.kubectl(&["rollout", "status", "deployment/app", "--timeout=60s"]).unwrap();
    assert!(out.contains("successfully rolled out"), "{out}");
    let history = cluster.kubectl(&["rollout", "history", "deployment/app"]).unwrap();
    let revisions: Vec<&str> = history.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(revisions.contains(&"1") && revisions.contains(&"2"), "{history}");
    let detail = cluster.kubectl(&["rollout", "history", "deployment/app", "--revision=1"]).unwrap();
    assert!(detail.contains("httpd:1"), "{detail}");
    let first_rs = replica_sets(&client).await.into_iter().find(|rs| revision(rs).as_deref() == Some("1")).unwrap();

    // Undo: back to the first template, through the first ReplicaSet (now revision 3).
    cluster.kubectl(&["rollout", "undo", "deployment/app"]);
    let out = cluster.kubectl(&["rollout", "status", "deployment/app", "--timeout=60s"]).unwrap();
    assert!(out.contains("successfully rolled out"), "{out}");
    let d = rolled_out(&client, "app").await;
    assert_eq!(image_of(&d), "httpd:1");
    eventually("the first ReplicaSet back as revision 3", WAIT, || async {
        let rs = replica_sets(&client).await.into_iter().find(|rs| rs.uid() == first_rs.uid())?;
        let history = rs.annotations().get("deployment.kubernetes.io/revision-history").cloned();
        (revision(&rs).as_deref() == Some("3") && rs.spec.as_ref()?.replicas == Some(2)).then_some(history)
    })
    .await;
    eventually("pods of the first template only", WAIT, || async {
        let pods = all_pods(&client).await;
        let live = live(&pods);
        (live.len() == 2 && live.iter().all(|p| image(p) == "httpd:1")).then_some(())
    })
    .await;

    // Restart: a new template annotation, so a new ReplicaSet (revision 4).
    cluster.kubectl(&["rollout", "restart", "deployment/app"]);
    cluster.kubectl(&["rollout", "status", "deployment/app", "--timeout=60s"]).unwrap();
    let d = rolled_out(&client, "app").await;
    assert_eq!(d.annotations().get("deployment.kubernetes.io/revision").map(String::as_str), Some("4"));
    assert_eq!(replica_sets(&client).await.len(), 3);

    // Paused: a template change does not roll out until resumed.
    cluster.kubectl(&["rollout", "pause", "deployment/app"]);
    eventually("Progressing=DeploymentPaused", WAIT, || async {
        let d = deployments.get("app").await.unwrap();
        (condition_reason(&d, "Progressing").as_deref() == Some("DeploymentPaused")).then_some(())
    })
    .await;
    cluster.kubectl(&["set", "image", "deployment/app", "c=httpd:3"]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(replica_sets(&client).await.len(), 3, "no new ReplicaSet while paused");
    cluster.kubectl(&["rollout", "resume", "deployment/app"]);
    cluster.kubectl(&["rollout", "status", "deployment/app", "--timeout=60s"]).unwrap();
    eventually("pods of the resumed template", WAIT, || async {
        let pods = all_pods(&client).await;
        let live = live(&pods);
        (live.len() == 2 && live.iter().all(|p| image(p) == "httpd:3")).then_some(())
    })
    .await;
}

fn image_of(d: &Deployment) -> String {
    let containers = d.spec.as_ref().and_then(|s| s.template.spec.as_ref()).map(|s| s.containers.clone());
    containers.and_then(|c| c.first().and_then(|c| c.image.clone())).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_old_replica_sets_beyond_the_history_limit_are_deleted() {
    let cluster = Cluster::start().await;
    let client = cluster.client.clone();
    let _kubelet = stand_in_kubelet(client.clone(), Duration::ZERO);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let mut d = deployment("hist", 1, json!({"type": "RollingUpdate"}), "img:0");
    d.spec.as_mut().unwrap().revision_history_limit = Some(1);
    deployments.create(&PostParams::default(), &d).await.unwrap();
    rolled_out(&client, "hist").await;
    for version in 1..=3 {
        let patch =
            json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": format!("img:{version}")}]}}}});
        deployments.patch("hist", &PatchParams::default(), &Patch::Strategic(&patch)).await.unwrap();
        rolled_out(&client, "hist").await;
    }
    let revisions: BTreeMap<String, i32> = eventually("two ReplicaSets left", WAIT, || async {
        let sets = replica_sets(&client).await;
        (sets.len() == 2).then(|| {
            sets.iter()
                .map(|rs| (revision(rs).unwrap_or_default(), rs.spec.as_ref().unwrap().replicas.unwrap_or(0)))
                .collect()
        })
    })
    .await;
    assert_eq!(revisions, BTreeMap::from([("3".to_string(), 0), ("4".to_string(), 1)]));
}
