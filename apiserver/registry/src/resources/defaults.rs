//! Upstream's defaulting of workload objects (`SetDefaults_Deployment` and friends): what the
//! API fills in when a client leaves it out, so controllers, `kubectl describe` and `apply`
//! see the same objects as on kube-apiserver. Templates get the pod spec defaults.

use serde_json::{Map, Value, json};

use super::core::default_pod_spec;
use crate::object::{Object, meta_str};

fn object_at<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    let value = map.entry(key.to_string()).or_insert_with(|| json!({}));
    if value.is_null() {
        *value = json!({});
    }
    value.as_object_mut()
}

fn set_default(map: &mut Map<String, Value>, key: &str, value: Value) {
    let slot = map.entry(key.to_string()).or_insert(Value::Null);
    if slot.is_null() {
        *slot = value;
    }
}

/// The pod spec inside `spec.template` (creating empty maps where needed).
fn default_template(spec: &mut Map<String, Value>) {
    if let Some(template) = object_at(spec, "template")
        && let Some(pod_spec) = object_at(template, "spec")
    {
        default_pod_spec(pod_spec);
    }
}

/// apps/v1 Deployment.
pub fn deployment(obj: &mut Object) {
    let Some(spec) = object_at(obj, "spec") else { return };
    set_default(spec, "replicas", json!(1));
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    if let Some(strategy) = object_at(spec, "strategy") {
        set_default(strategy, "type", json!("RollingUpdate"));
        if strategy["type"] == "RollingUpdate"
            && let Some(rolling) = object_at(strategy, "rollingUpdate")
        {
            set_default(rolling, "maxUnavailable", json!("25%"));
            set_default(rolling, "maxSurge", json!("25%"));
        }
    }
    default_template(spec);
}

/// apps/v1 ReplicaSet.
pub fn replica_set(obj: &mut Object) {
    let Some(spec) = object_at(obj, "spec") else { return };
    set_default(spec, "replicas", json!(1));
    default_template(spec);
}

/// apps/v1 StatefulSet.
pub fn stateful_set(obj: &mut Object) {
    let Some(spec) = object_at(obj, "spec") else { return };
    set_default(spec, "replicas", json!(1));
    set_default(spec, "podManagementPolicy", json!("OrderedReady"));
    set_default(spec, "revisionHistoryLimit", json!(10));
    if let Some(strategy) = object_at(spec, "updateStrategy") {
        set_default(strategy, "type", json!("RollingUpdate"));
        if strategy["type"] == "RollingUpdate"
            && let Some(rolling) = object_at(strategy, "rollingUpdate")
        {
            set_default(rolling, "partition", json!(0));
        }
    }
    if let Some(retention) = object_at(spec, "persistentVolumeClaimRetentionPolicy") {
        set_default(retention, "whenDeleted", json!("Retain"));
        set_default(retention, "whenScaled", json!("Retain"));
    }
    default_template(spec);
}

/// apps/v1 DaemonSet.
pub fn daemon_set(obj: &mut Object) {
    let Some(spec) = object_at(obj, "spec") else { return };
    set_default(spec, "revisionHistoryLimit", json!(10));
    if let Some(strategy) = object_at(spec, "updateStrategy") {
        set_default(strategy, "type", json!("RollingUpdate"));
        if strategy["type"] == "RollingUpdate"
            && let Some(rolling) = object_at(strategy, "rollingUpdate")
        {
            set_default(rolling, "maxUnavailable", json!(1));
            set_default(rolling, "maxSurge", json!(0));
        }
    }
    default_template(spec);
}

/// core/v1 PodTemplate: its `template` gets the pod spec defaults.
pub fn pod_template(obj: &mut Object) {
    default_template(obj);
}

/// core/v1 ReplicationController: the selector and labels default to the template's labels.
pub fn replication_controller(obj: &mut Object) {
    let template_labels = obj.get("spec").and_then(|s| s.pointer("/template/metadata/labels")).cloned();
    if let Some(labels) = template_labels.clone()
        && let Some(meta) = object_at(obj, "metadata")
    {
        set_default(meta, "labels", labels);
    }
    let Some(spec) = object_at(obj, "spec") else { return };
    set_default(spec, "replicas", json!(1));
    if let Some(labels) = template_labels {
        set_default(spec, "selector", labels);
    }
    default_template(spec);
}

/// batch/v1 Job: counts, backoff, completion mode, and (unless `manualSelector`) the selector
/// on the job's own uid with the matching template labels, as upstream generates them.
pub fn job(obj: &mut Object) {
    let (uid, name) = (meta_str(obj, "uid").to_string(), meta_str(obj, "name").to_string());
    let Some(spec) = object_at(obj, "spec") else { return };
    job_spec(spec, &uid, &name);
}

fn job_spec(spec: &mut Map<String, Value>, uid: &str, name: &str) {
    if spec.get("completions").is_none_or(Value::is_null) && spec.get("parallelism").is_none_or(Value::is_null) {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    set_default(spec, "backoffLimit", json!(6));
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    let manual = spec.get("manualSelector").and_then(Value::as_bool).unwrap_or(false);
    if !manual && !uid.is_empty() && spec.get("selector").is_none_or(Value::is_null) {
        spec.insert("selector".into(), json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}));
        if let Some(template) = object_at(spec, "template")
            && let Some(meta) = object_at(template, "metadata")
            && let Some(labels) = object_at(meta, "labels")
        {
            for (key, value) in [
                ("batch.kubernetes.io/controller-uid", uid),
                ("batch.kubernetes.io/job-name", name),
                ("controller-uid", uid),
                ("job-name", name),
            ] {
                set_default(labels, key, json!(value));
            }
        }
    }
    default_template(spec);
}

/// batch/v1 CronJob.
pub fn cron_job(obj: &mut Object) {
    let Some(spec) = object_at(obj, "spec") else { return };
    set_default(spec, "concurrencyPolicy", json!("Allow"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "successfulJobsHistoryLimit", json!(3));
    set_default(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(job_template) = object_at(spec, "jobTemplate")
        && let Some(job_spec) = object_at(job_template, "spec")
    {
        default_template(job_spec);
    }
}

/// core/v1 PersistentVolumeClaim: Pending until the binder says otherwise, a filesystem volume.
pub fn persistent_volume_claim(obj: &mut Object) {
    if let Some(spec) = object_at(obj, "spec") {
        set_default(spec, "volumeMode", json!("Filesystem"));
    }
    if let Some(status) = object_at(obj, "status") {
        set_default(status, "phase", json!("Pending"));
    }
}

/// core/v1 PersistentVolume: Pending until it is Available, kept after its claim goes.
pub fn persistent_volume(obj: &mut Object) {
    if let Some(spec) = object_at(obj, "spec") {
        set_default(spec, "volumeMode", json!("Filesystem"));
        set_default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
    }
    if let Some(status) = object_at(obj, "status") {
        set_default(status, "phase", json!("Pending"));
    }
}

/// autoscaling/v2 HorizontalPodAutoscaler: at least one replica, CPU at 80% when no metric is
/// given, and a behavior's missing rules filled with the rates the autoscaler uses without one.
pub fn horizontal_pod_autoscaler(obj: &mut Object) {
    let Some(spec) = object_at(obj, "spec") else { return };
    set_default(spec, "minReplicas", json!(1));
    if spec.get("metrics").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]),
        );
    }
    let Some(behavior) = spec.get_mut("behavior").and_then(Value::as_object_mut) else { return };
    for (direction, window, policies) in [
        (
            "scaleUp",
            0,
            json!([{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]),
        ),
        ("scaleDown", 300, json!([{"type": "Percent", "value": 100, "periodSeconds": 15}])),
    ] {
        if let Some(rules) = object_at(behavior, direction) {
            set_default(rules, "stabilizationWindowSeconds", json!(window));
            set_default(rules, "selectPolicy", json!("Max"));
            set_default(rules, "policies", policies);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Object {
        let Value::Object(obj) = value else { panic!("an object") };
        obj
    }

    #[test]
    fn deployments_get_upstreams_defaults_and_keep_what_is_set() {
        let mut d = object(
            json!({"metadata": {"name": "web"}, "spec": {"replicas": 0, "template": {"spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}}),
        );
        deployment(&mut d);
        assert_eq!(d["spec"]["replicas"], 0, "an explicit 0 stays");
        assert_eq!(
            d["spec"]["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Always");
        assert_eq!(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
        let mut recreate = object(json!({"spec": {"strategy": {"type": "Recreate"}}}));
        deployment(&mut recreate);
        assert_eq!(recreate["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn volumes_and_claims_start_pending() {
        let mut claim = object(json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}}}));
        persistent_volume_claim(&mut claim);
        assert_eq!(claim["status"]["phase"], "Pending");
        assert_eq!(claim["spec"]["volumeMode"], "Filesystem");
        let mut volume =
            object(json!({"spec": {"persistentVolumeReclaimPolicy": "Delete"}, "status": {"phase": "Bound"}}));
        persistent_volume(&mut volume);
        assert_eq!(volume["status"]["phase"], "Bound");
        assert_eq!(volume["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    }

    #[test]
    fn autoscalers_get_a_cpu_target_and_complete_behaviors() {
        let mut bare = object(json!({"spec": {"maxReplicas": 3}}));
        horizontal_pod_autoscaler(&mut bare);
        assert_eq!(bare["spec"]["minReplicas"], 1);
        assert_eq!(bare["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 80);
        assert!(bare["spec"].get("behavior").is_none(), "no behavior stays none");
        let mut tuned = object(json!({"spec": {"minReplicas": 2, "maxReplicas": 3,
            "metrics": [{"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 10}}}}));
        horizontal_pod_autoscaler(&mut tuned);
        assert_eq!(tuned["spec"]["minReplicas"], 2);
        assert_eq!(tuned["spec"]["metrics"][0]["resource"]["name"], "memory");
        let behavior = &tuned["spec"]["behavior"];
        assert_eq!(behavior["scaleDown"]["stabilizationWindowSeconds"], 10);
        assert_eq!(behavior["scaleDown"]["selectPolicy"], "Max");
        assert_eq!(behavior["scaleUp"]["stabilizationWindowSeconds"], 0);
        assert_eq!(behavior["scaleUp"]["policies"][0], json!({"type": "Pods", "value": 4, "periodSeconds": 15}));
    }

    #[test]
    fn jobs_select_their_own_pods_by_uid() {
        let mut j = object(
            json!({"metadata": {"name": "once", "uid": "u-1"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": []}}}}),
        );
        job(&mut j);
        assert_eq!(j["spec"]["selector"], json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}));
        assert_eq!(j["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"], "once");
        assert_eq!(
            (j["spec"]["completions"].clone(), j["spec"]["parallelism"].clone(), j["spec"]["backoffLimit"].clone()),
            (json!(1), json!(1), json!(6))
        );
        assert_eq!(j["spec"]["template"]["spec"]["restartPolicy"], "Never");
        let mut parallel = object(json!({"spec": {"parallelism": 3}}));
        job(&mut parallel);
        assert!(parallel["spec"].get("completions").is_none(), "work-queue jobs keep completions unset");
    }

    #[test]
    fn replication_controllers_select_their_template_labels() {
        let mut rc = object(json!({"spec": {"template": {"metadata": {"labels": {"app": "x"}}}}}));
        replication_controller(&mut rc);
        assert_eq!(rc["spec"]["selector"], json!({"app": "x"}));
        assert_eq!(rc["metadata"]["labels"], json!({"app": "x"}));
    }
}
