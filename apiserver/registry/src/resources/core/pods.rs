//! Pods: upstream's defaults (pod and container fields, status on create), the container rules
//! of validation, the narrow set of spec fields an update may change, and graceful deletion
//! (a scheduled, running pod is only marked; its node's kubelet deletes it).

use std::collections::HashSet;

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use apiserver_machinery::resources::{self, ResourceInfo};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use crate::object::Object;
use crate::strategy::{Strategy, check_shape};
use k8s_openapi::schemars::{Schema, SchemaGenerator};

/// Strategy of `pods`.
#[derive(Debug, Clone, Copy)]
pub struct Pods;

/// Upstream's default `terminationGracePeriodSeconds`.
pub const DEFAULT_GRACE_SECONDS: i64 = 30;

fn set_default(map: &mut serde_json::Map<String, Value>, key: &str, value: Value) {
    map.entry(key.to_string()).or_insert(value);
}

/// `Always` for `:latest` or untagged images, `IfNotPresent` otherwise (upstream).
fn default_pull_policy(image: &str) -> &'static str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    match last.split_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent",
        _ => "Always",
    }
}

fn default_containers(spec: &mut serde_json::Map<String, Value>, field: &str) {
    let Some(Value::Array(containers)) = spec.get_mut(field) else { return };
    for container in containers.iter_mut().filter_map(Value::as_object_mut) {
        let image = container.get("image").and_then(Value::as_str).unwrap_or_default().to_string();
        set_default(container, "imagePullPolicy", json!(default_pull_policy(&image)));
        set_default(container, "terminationMessagePath", json!("/dev/termination-log"));
        set_default(container, "terminationMessagePolicy", json!("File"));
        set_default(container, "resources", json!({}));
        if let Some(Value::Array(ports)) = container.get_mut("ports") {
            for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                set_default(port, "protocol", json!("TCP"));
            }
        }
    }
}

/// Upstream's defaults of a pod spec, in pods and in the templates of workloads.
pub fn default_pod_spec(spec: &mut serde_json::Map<String, Value>) {
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(DEFAULT_GRACE_SECONDS));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "securityContext", json!({}));
    default_containers(spec, "containers");
    default_containers(spec, "initContainers");
}

/// Upstream's DefaultTolerationSeconds admission: a pod that does not tolerate its node
/// becoming not-ready or unreachable (NoExecute) tolerates it for 300 s, so a short outage
/// does not evict everything at once.
fn default_toleration_seconds(spec: &mut serde_json::Map<String, Value>) {
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    let Some(list) = tolerations.as_array_mut() else { return };
    for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
        let tolerated = list.iter().any(|t| {
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or_default();
            let t_key = t.get("key").and_then(Value::as_str).unwrap_or_default();
            let exists = t.get("operator").and_then(Value::as_str) == Some("Exists");
            (effect.is_empty() || effect == "NoExecute") && (t_key == key || (t_key.is_empty() && exists))
        });
        if !tolerated {
            list.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
}

/// `Guaranteed` when every container has equal, non-empty CPU and memory requests and limits,
/// `BestEffort` when none has any, `Burstable` otherwise.
fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> =
        spec.get("containers").and_then(Value::as_array).map(|c| c.iter().collect()).unwrap_or_default();
    let resources = |c: &Value, kind: &str| {
        c.pointer(&format!("/resources/{kind}")).and_then(Value::as_object).cloned().unwrap_or_default()
    };
    if containers.iter().all(|c| resources(c, "requests").is_empty() && resources(c, "limits").is_empty()) {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        let limits = resources(c, "limits");
        let requests = resources(c, "requests");
        ["cpu", "memory"].iter().all(|r| limits.contains_key(*r))
            && requests.iter().all(|(k, v)| limits.get(k) == Some(v))
    });
    if guaranteed { "Guaranteed" } else { "Burstable" }
}

fn validate_containers(
    spec: &Value,
    field: &str,
    required: bool,
    seen: &mut HashSet<String>,
    errors: &mut FieldErrors,
) {
    let path = Path::new("spec").child(field);
    let containers = spec.get(field).and_then(Value::as_array);
    if required && containers.is_none_or(|c| c.is_empty()) {
        errors.push(FieldError::required(&path, ""));
        return;
    }
    for (i, container) in containers.into_iter().flatten().enumerate() {
        let at = path.index(i);
        let name = container.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() {
            errors.push(FieldError::required(at.child("name"), ""));
        } else {
            for problem in names::dns1123_label(name) {
                errors.push(FieldError::invalid(at.child("name"), name, problem));
            }
            if !seen.insert(name.to_string()) {
                errors.push(FieldError::duplicate(at.child("name"), name));
            }
        }
        if container.get("image").and_then(Value::as_str).is_none_or(|i| i.trim().is_empty()) {
            errors.push(FieldError::required(at.child("image"), ""));
        }
        for (j, port) in container.get("ports").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let number = port.get("containerPort").and_then(Value::as_i64).unwrap_or(0);
            if !(1..=65535).contains(&number) {
                errors.push(FieldError::invalid(
                    at.child("ports").index(j).child("containerPort"),
                    number,
                    "must be between 1 and 65535, inclusive",
                ));
            }
        }
    }
}

/// The spec with the fields an update may change blanked (image, activeDeadlineSeconds,
/// tolerations, terminationGracePeriodSeconds, schedulingGates), to compare old and new.
fn frozen_spec(spec: Option<&Value>) -> Value {
    let mut spec = spec.cloned().unwrap_or(json!({}));
    if let Some(map) = spec.as_object_mut() {
        for field in ["activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds", "schedulingGates"] {
            map.remove(field);
        }
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            if let Some(Value::Array(containers)) = map.get_mut(list) {
                for container in containers.iter_mut().filter_map(Value::as_object_mut) {
                    container.remove("image");
                }
            }
        }
    }
    spec
}

impl Strategy for Pods {
    fn resource(&self) -> &'static ResourceInfo {
        resources::find("", "v1", "pods").expect("pods are in the table")
    }

    fn check_shape(&self, obj: &Value) -> Result<Vec<String>, String> {
        check_shape::<Pod>(obj)
    }

    fn schema(&self, generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<Pod>()
    }

    fn prepare_for_create(&self, obj: &mut Object) {
        let spec = obj.entry("spec").or_insert_with(|| json!({}));
        if let Some(spec) = spec.as_object_mut() {
            default_pod_spec(spec);
            set_default(spec, "enableServiceLinks", json!(true));
            set_default(spec, "priority", json!(0));
            default_toleration_seconds(spec);
        }
        let qos = qos_class(obj.get("spec").unwrap_or(&Value::Null));
        obj.insert("status".into(), json!({"phase": "Pending", "qosClass": qos}));
    }

    fn validate(&self, obj: &Object) -> FieldErrors {
        let mut errors = FieldErrors::default();
        let spec = obj.get("spec").cloned().unwrap_or(json!({}));
        let mut seen = HashSet::new();
        validate_containers(&spec, "containers", true, &mut seen, &mut errors);
        validate_containers(&spec, "initContainers", false, &mut seen, &mut errors);
        if let Some(policy) = spec.get("restartPolicy").and_then(Value::as_str)
            && !["Always", "OnFailure", "Never"].contains(&policy)
        {
            errors.push(FieldError::not_supported("spec.restartPolicy", policy, &["Always", "OnFailure", "Never"]));
        }
        errors
    }

    fn validate_update(&self, new: &Object, old: &Object) -> FieldErrors {
        let mut errors = self.validate(new);
        if frozen_spec(new.get("spec")) != frozen_spec(old.get("spec")) {
            errors.push(FieldError::forbidden(
                "spec",
                "pod updates may not change fields other than `spec.containers[*].image`, \
                 `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to \
                 existing tolerations), `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was \
                 previously negative)",
            ));
        }
        errors
    }

    /// A pod on no node, or finished, goes at once; a running one waits for its kubelet for the
    /// requested grace period (default: its own `terminationGracePeriodSeconds`).
    fn grace_period(&self, obj: &Object, requested: Option<i64>) -> i64 {
        let field = |section: &str, name: &str| obj.get(section).and_then(|s| s.get(name));
        let scheduled = field("spec", "nodeName").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
        let finished = matches!(field("status", "phase").and_then(Value::as_str), Some("Succeeded" | "Failed"));
        if !scheduled || finished {
            return 0;
        }
        let own =
            field("spec", "terminationGracePeriodSeconds").and_then(Value::as_i64).unwrap_or(DEFAULT_GRACE_SECONDS);
        requested.unwrap_or(own).max(0)
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_defaults() {
        assert_eq!(default_pull_policy("nginx"), "Always");
        assert_eq!(default_pull_policy("nginx:latest"), "Always");
        assert_eq!(default_pull_policy("nginx:1.27"), "IfNotPresent");
        assert_eq!(default_pull_policy("registry:5000/app"), "Always");
        assert_eq!(default_pull_policy("registry:5000/app:v2"), "IfNotPresent");
    }

    #[test]
    fn qos_classes() {
        let spec = |resources: Value| json!({"containers": [{"name": "c", "image": "i", "resources": resources}]});
        assert_eq!(qos_class(&spec(json!({}))), "BestEffort");
        assert_eq!(qos_class(&spec(json!({"requests": {"cpu": "1"}}))), "Burstable");
        assert_eq!(qos_class(&spec(json!({"limits": {"cpu": "1", "memory": "1Gi"}}))), "Guaranteed");
        assert_eq!(
            qos_class(&spec(json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}))),
            "Burstable"
        );
    }
}
