//! Jobs, CronJobs and TTL-after-finished end to end against the binary: completions and
//! parallelism, the backoff limit, Indexed completion, deletion after the TTL, CronJob runs
//! and history cleanup, with real kubectl where it matters (`wait --for=condition=complete`,
//! `create job --from=cronjob/...`).
//!
//! No nodes run here: a stand-in kubelet in the test finishes each (unscheduled) pod shortly
//! after it appears, Succeeded or Failed with the exit code in its `test/exit-code` annotation,
//! through `pods/status`, so every outcome is decided by the test.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

use crate::cluster::{Cluster, eventually};

const WAIT: Duration = Duration::from_secs(60);

/// Finishes every live, unfinished pod of `default` once it is 300 ms old (as seen here).
fn stand_in_kubelet(client: Client) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let pods: Api<Pod> = Api::namespaced(client, "default");
        let mut first_seen: HashMap<String, Instant> = HashMap::new();
        loop {
            if let Ok(list) = pods.list(&ListParams::default()).await {
                for pod in list.items {
                    let seen = *first_seen.entry(pod.uid().unwrap_or_default()).or_insert_with(Instant::now);
                    let phase = pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
                    let finished = phase == "Succeeded" || phase == "Failed";
                    if pod.metadata.deletion_timestamp.is_some()
                        || finished
                        || seen.elapsed() < Duration::from_millis(300)
                    {
                        continue;
                    }
                    let code: i32 = pod.annotations().get("test/exit-code").and_then(|c| c.parse().ok()).unwrap_or(0);
                    let now = jiff::Timestamp::now().to_string();
                    let status = json!({"status": {
                        "phase": if code == 0 { "Succeeded" } else { "Failed" },
                        "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now}],
                        "containerStatuses": [{"name": "main", "image": "busybox", "imageID": "", "ready": false,
                            "restartCount": 0, "state": {"terminated": {"exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" },
                            "startedAt": now, "finishedAt": now}}}]}});
                    let _ = pods.patch_status(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&status)).await;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

fn job_manifest(name: &str, spec: Value, exit_code: i32) -> Job {
    let mut spec = spec;
    spec["template"] = json!({
        "metadata": {"annotations": {"test/exit-code": exit_code.to_string()}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}
    });
    serde_json::from_value(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec}))
        .unwrap()
}

fn condition(job: &Job, type_: &str) -> Option<(String, String)> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    let c = conditions.iter().find(|c| c.type_ == type_ && c.status == "True")?;
    Some((c.reason.clone().unwrap_or_default(), c.message.clone().unwrap_or_default()))
}

async fn pods_of(pods: &Api<Pod>, job: &str) -> Vec<Pod> {
    let params = ListParams::default().labels(&format!("batch.kubernetes.io/job-name={job}"));
    pods.list(&params).await.map(|l| l.items).unwrap_or_default()
}

async fn finished_with(jobs: &Api<Job>, name: &str, type_: &str) -> Job {
    eventually(&format!("job {name} {type_}"), WAIT, || async {
        jobs.get(name).await.ok().filter(|j| condition(j, type_).is_some())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_with_completions_runs_at_most_parallelism_pods_and_completes() {
    let cluster = Cluster::start().await;
    let _kubelet = stand_in_kubelet(cluster.client.clone());
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    jobs.create(&PostParams::default(), &job_manifest("three", json!({"completions": 3, "parallelism": 2}), 0))
        .await
        .unwrap();

    let watch_parallelism = async {
        loop {
            let live = pods_of(&pods, "three").await;
            let running = live
                .iter()
                .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()).is_none_or(|ph| ph == "Pending"))
                .count();
            assert!(running <= 2, "at most parallelism pods run at once, saw {running}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let job = tokio::select! {
        job = finished_with(&jobs, "three", "Complete") => job,
        () = watch_parallelism => unreachable!(),
    };
    let status = job.status.clone().unwrap();
    assert_eq!(status.succeeded, Some(3));
    assert_eq!(condition(&job, "Complete").unwrap().0, "CompletionsReached");
    assert!(condition(&job, "SuccessCriteriaMet").is_some(), "the interim condition stays");
    assert!(status.completion_time.is_some() && status.start_time.is_some());
    let all = pods_of(&pods, "three").await;
    assert_eq!(all.len(), 3, "exactly completions pods were created");
    for pod in &all {
        assert!(pod.name_any().starts_with("three-"));
        assert!(!pod.finalizers().iter().any(|f| f == "batch.kubernetes.io/job-tracking"), "counted pods are released");
        assert_eq!(pod.labels().get("batch.kubernetes.io/controller-uid"), job.uid().as_ref());
    }
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), "default");
    eventually("Completed and SuccessfulCreate events", WAIT, || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        let reasons: Vec<String> = list
            .items
            .iter()
            .filter(|e| e.involved_object.name.as_deref() == Some("three"))
            .filter_map(|e| e.reason.clone())
            .collect();
        (reasons.iter().any(|r| r == "Completed") && reasons.iter().any(|r| r == "SuccessfulCreate")).then_some(())
    })
    .await;
    if let Some(out) = cluster.kubectl(&["wait", "--for=condition=complete", "job/three", "--timeout=30s"]) {
        assert!(out.contains("condition met"), "{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_failing_pods_hit_the_backoff_limit() {
    let cluster = Cluster::start().await;
    let _kubelet = stand_in_kubelet(cluster.client.clone());
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    jobs.create(&PostParams::default(), &job_manifest("doomed", json!({"backoffLimit": 1}), 3)).await.unwrap();
    let job = finished_with(&jobs, "doomed", "Failed").await;
    let (reason, message) = condition(&job, "Failed").unwrap();
    assert_eq!(
        (reason.as_str(), message.as_str()),
        ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    );
    assert_eq!(job.status.as_ref().unwrap().failed, Some(2), "backoffLimit 1: the second failure ends it");
    assert!(job.status.as_ref().unwrap().completion_time.is_none());
    let all = pods_of(&pods, "doomed").await;
    assert_eq!(all.len(), 2);
    // The replacement waited out the 10 s backoff after the first failure.
    let mut created: Vec<_> = all.iter().filter_map(|p| p.metadata.creation_timestamp.clone()).map(|t| t.0).collect();
    created.sort();
    assert!(created[1].duration_since(created[0]) >= jiff::SignedDuration::from_secs(9), "{created:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_indexed_reports_completed_indexes() {
    let cluster = Cluster::start().await;
    let _kubelet = stand_in_kubelet(cluster.client.clone());
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "default");
    let spec = json!({"completions": 4, "parallelism": 2, "completionMode": "Indexed"});
    jobs.create(&PostParams::default(), &job_manifest("indexed", spec, 0)).await.unwrap();
    let job = finished_with(&jobs, "indexed", "Complete").await;
    let status = job.status.unwrap();
    assert_eq!(status.completed_indexes.as_deref(), Some("0-3"));
    assert_eq!(status.succeeded, Some(4));
    let mut indexes: Vec<String> = Vec::new();
    for pod in pods_of(&pods, "indexed").await {
        let index = pod.annotations()["batch.kubernetes.io/job-completion-index"].clone();
        assert_eq!(pod.labels().get("batch.kubernetes.io/job-completion-index"), Some(&index));
        assert_eq!(pod.spec.as_ref().unwrap().hostname, Some(format!("indexed-{index}")));
        assert!(pod.name_any().starts_with(&format!("indexed-{index}-")));
        indexes.push(index);
    }
    indexes.sort();
    assert_eq!(indexes, ["0", "1", "2", "3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_ttl_after_finished_zero_deletes_the_finished_job() {
    let cluster = Cluster::start().await;
    let _kubelet = stand_in_kubelet(cluster.client.clone());
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), "default");
    jobs.create(&PostParams::default(), &job_manifest("brief", json!({"ttlSecondsAfterFinished": 0}), 0))
        .await
        .unwrap();
    eventually("the job to complete and be deleted", WAIT, || async {
        match jobs.get_opt("brief").await {
            Ok(None) => Some(()),
            _ => None,
        }
    })
    .await;
}

fn cronjob_manifest(name: &str, schedule: &str, extra: Value) -> CronJob {
    let mut spec = json!({
        "schedule": schedule,
        "jobTemplate": {"metadata": {"labels": {"from": name}}, "spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}}}}
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        spec[k] = v.clone();
    }
    serde_json::from_value(
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name}, "spec": spec}),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cronjob_creates_a_job_when_its_schedule_comes() {
    let cluster = Cluster::start().await;
    let cronjobs: Api<CronJob> = Api::namespaced(cluster.client.clone(), "default");
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), "default");
    // `@every` (robfig's descriptor, accepted upstream) comes round in seconds, not minutes.
    let manifest =
        cronjob_manifest("ticker", "@every 2s", json!({"concurrencyPolicy": "Forbid", "timeZone": "Etc/UTC"}));
    cronjobs.create(&PostParams::default(), &manifest).await.unwrap();
    let job = eventually("a job from the cronjob", WAIT, || async {
        let list = jobs.list(&ListParams::default().labels("from=ticker")).await.ok()?;
        list.items.into_iter().next()
    })
    .await;
    let scheduled = job.annotations()["batch.kubernetes.io/cronjob-scheduled-timestamp"].clone();
    let at: jiff::Timestamp = scheduled.parse().unwrap();
    assert_eq!(job.name_any(), format!("ticker-{}", at.as_second() / 60), "named after the scheduled minute");
    assert!(scheduled.ends_with('Z'), "{scheduled}");
    let owner = job.owner_references().first().cloned().unwrap();
    assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.controller), ("CronJob", "ticker", Some(true)));
    let cronjob = eventually("the cronjob's status", WAIT, || async {
        let cj = cronjobs.get("ticker").await.ok()?;
        let status = cj.status.clone()?;
        (status.last_schedule_time.is_some() && status.active.as_ref().is_some_and(|a| !a.is_empty())).then_some(cj)
    })
    .await;
    assert_eq!(cronjob.status.unwrap().active.unwrap()[0].name.as_deref(), Some(job.name_any().as_str()));
    // Forbid: the job is still running (no nodes), so no second one starts.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let list = jobs.list(&ListParams::default().labels("from=ticker")).await.unwrap();
    assert_eq!(list.items.len(), 1, "concurrencyPolicy Forbid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cronjob_history_limits_delete_old_finished_jobs_and_kubectl_creates_from_it() {
    let cluster = Cluster::start().await;
    let cronjobs: Api<CronJob> = Api::namespaced(cluster.client.clone(), "default");
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), "default");
    let manifest =
        cronjob_manifest("yearly", "0 0 1 1 *", json!({"successfulJobsHistoryLimit": 1, "failedJobsHistoryLimit": 0}));
    let cronjob = cronjobs.create(&PostParams::default(), &manifest).await.unwrap();
    let owner = json!([{"apiVersion": "batch/v1", "kind": "CronJob", "name": "yearly", "uid": cronjob.uid().unwrap(),
        "controller": true, "blockOwnerDeletion": true}]);
    // Finished Jobs owned by the CronJob (suspended so no pods run), oldest first.
    for (i, outcome) in ["Complete", "Complete", "Failed", "Complete"].iter().enumerate() {
        let name = format!("yearly-old-{i}");
        let job: Job = serde_json::from_value(json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "ownerReferences": owner},
            "spec": {"suspend": true, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}}}}))
        .unwrap();
        jobs.create(&PostParams::default(), &job).await.unwrap();
        let start = format!("2025-01-01T0{i}:00:00Z");
        let interim = if *outcome == "Complete" { "SuccessCriteriaMet" } else { "FailureTarget" };
        let reason = if *outcome == "Complete" { "CompletionsReached" } else { "BackoffLimitExceeded" };
        let mut status = json!({"startTime": start, "conditions": [
            {"type": interim, "status": "True", "reason": reason, "message": "m", "lastTransitionTime": start},
            {"type": outcome, "status": "True", "reason": reason, "message": "m", "lastTransitionTime": start}]});
        if *outcome == "Complete" {
            status["completionTime"] = json!(start);
            status["succeeded"] = json!(1);
        } else {
            status["failed"] = json!(1);
        }
        eventually("the finished status to be written", WAIT, || async {
            jobs.patch_status(&name, &PatchParams::default(), &Patch::Merge(&json!({"status": status}))).await.ok()
        })
        .await;
    }
    eventually("only the newest successful job to remain", WAIT, || async {
        let mut names: Vec<String> = jobs
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .iter()
            .filter(|j| j.metadata.deletion_timestamp.is_none())
            .map(|j| j.name_any())
            .collect();
        names.sort();
        (names == ["yearly-old-3"]).then_some(())
    })
    .await;
    let cj = eventually("lastSuccessfulTime", WAIT, || async {
        cronjobs
            .get("yearly")
            .await
            .ok()
            .filter(|c| c.status.as_ref().is_some_and(|s| s.last_successful_time.is_some()))
    })
    .await;
    assert_eq!(cj.status.unwrap().last_successful_time.unwrap().0.to_string(), "2025-01-01T03:00:00Z");

    if let Some(out) = cluster.kubectl(&["create", "job", "manual", "--from=cronjob/yearly"]) {
        assert!(out.contains("job.batch/manual created"), "{out}");
        let manual = jobs.get("manual").await.unwrap();
        assert_eq!(manual.labels().get("from").map(String::as_str), Some("yearly"));
    }
}
