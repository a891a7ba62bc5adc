//! Pods: upstream's defaults (pod and container fields, status on create), validation (the
//! spec's rules are [`pod_spec`]'s; a Pod adds its create-only rules and the narrow set of spec
//! fields an update may change), and graceful deletion (a scheduled, running pod is only
//! marked; its node's kubelet deletes it).

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::resources::{self, ResourceInfo};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::pod_spec::{self, Owner};
use crate::fields::SelectableField;
use crate::object::Object;
use crate::resources::checks;
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
    default_containers(spec, "ephemeralContainers");
}

/// A Pod on the host's network listens on the host: a port's `hostPort` defaults to its
/// `containerPort` (upstream does this for Pods, no longer for templates).
fn default_host_network_ports(spec: &mut serde_json::Map<String, Value>) {
    if spec.get("hostNetwork").and_then(Value::as_bool) != Some(true) {
        return;
    }
    for field in ["containers", "initContainers"] {
        let Some(Value::Array(containers)) = spec.get_mut(field) else { continue };
        for container in containers.iter_mut() {
            let Some(Value::Array(ports)) = container.get_mut("ports") else { continue };
            for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                if port.get("hostPort").and_then(Value::as_i64).unwrap_or(0) == 0
                    && let Some(container_port) = port.get("containerPort").cloned()
                {
                    port.insert("hostPort".into(), container_port);
                }
            }
        }
    }
}

/// The defaults a Pod gets on every write (upstream defaults every object it decodes).
fn default_pod(spec: &mut serde_json::Map<String, Value>) {
    default_pod_spec(spec);
    set_default(spec, "enableServiceLinks", json!(true));
    default_host_network_ports(spec);
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

/// The spec fields an update may change, as upstream lists them.
const UPDATABLE_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,\
     `spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be \
     set to 1 if it was previously negative)";

fn spec_of(obj: &Object) -> &Value {
    obj.get("spec").unwrap_or(&Value::Null)
}

fn items<'a>(spec: &'a Value, field: &str) -> &'a [Value] {
    spec.get(field).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

/// Upstream's `ValidatePodCreate` beyond the spec: ephemeral containers come only through
/// their subresource, and a pod with scheduling gates is not bound yet.
fn validate_create_only(spec: &Value, errors: &mut FieldErrors) {
    let path = Path::new("spec");
    if !items(spec, "ephemeralContainers").is_empty() {
        errors.push(FieldError::forbidden(path.child("ephemeralContainers"), "cannot be set on create"));
    }
    let node = spec.get("nodeName").and_then(Value::as_str).unwrap_or_default();
    if !node.is_empty() && !items(spec, "schedulingGates").is_empty() {
        errors.push(FieldError::forbidden(
            path.child("nodeName"),
            "cannot be set until all schedulingGates have been cleared",
        ));
    }
}

/// Upstream's `ValidatePodUpdate` beyond the spec: the same containers, a deadline that only
/// shortens, tolerations only added, scheduling gates only removed, and nothing else changed.
fn validate_update_only(new: &Value, old: &Value, errors: &mut FieldErrors) {
    let path = Path::new("spec");
    for field in ["containers", "initContainers"] {
        if items(new, field).len() != items(old, field).len() {
            errors.push(FieldError::forbidden(path.child(field), "pod updates may not add or remove containers"));
            return;
        }
    }
    if !validate_deadline_update(new, old, errors) {
        return;
    }
    validate_added_tolerations(new, old, errors);
    validate_removed_gates(new, old, errors);
    let munged = updatable_fields_as_old(new, old);
    if !checks::same(Some(&munged), Some(old)) {
        let diff = checks::diff(Some(old), Some(&munged));
        errors.push(FieldError::forbidden(
            path,
            format!("pod updates may not change fields other than {UPDATABLE_FIELDS}\n{diff}"),
        ));
    }
}

/// A deadline may be set, or shortened; `false` when the update stops here (upstream returns).
fn validate_deadline_update(new: &Value, old: &Value, errors: &mut FieldErrors) -> bool {
    let path = Path::new("spec").child("activeDeadlineSeconds");
    let (new_deadline, old_deadline) = (
        new.get("activeDeadlineSeconds").and_then(Value::as_i64),
        old.get("activeDeadlineSeconds").and_then(Value::as_i64),
    );
    match (new_deadline, old_deadline) {
        (Some(n), _) if !(0..=i64::from(i32::MAX)).contains(&n) => {
            errors.push(FieldError::invalid(path, n, format!("must be between 0 and {}, inclusive", i32::MAX)));
            false
        }
        (Some(n), Some(o)) if o < n => {
            errors.push(FieldError::invalid(path, n, "must be less than or equal to previous value"));
            false
        }
        (None, Some(_)) => {
            errors.push(FieldError::invalid(path, "null", "must not update from a positive integer to nil value"));
            true
        }
        _ => true,
    }
}

/// Upstream's `validateOnlyAddedTolerations`: each old toleration is still there (its
/// `tolerationSeconds` may change).
fn validate_added_tolerations(new: &Value, old: &Value, errors: &mut FieldErrors) {
    let without_seconds = |t: &Value| {
        let mut t = t.clone();
        if let Some(map) = t.as_object_mut() {
            map.remove("tolerationSeconds");
        }
        t
    };
    let kept: Vec<Value> = items(new, "tolerations").iter().map(without_seconds).collect();
    if items(old, "tolerations").iter().any(|t| !kept.contains(&without_seconds(t))) {
        errors.push(FieldError::forbidden(
            Path::new("spec").child("tolerations"),
            "existing toleration can not be modified except its tolerationSeconds",
        ));
    }
}

/// Upstream's `validateOnlyDeletedSchedulingGates`.
fn validate_removed_gates(new: &Value, old: &Value, errors: &mut FieldErrors) {
    let name = |g: &Value| g.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let before: Vec<String> = items(old, "schedulingGates").iter().map(name).collect();
    for (i, gate) in items(new, "schedulingGates").iter().enumerate() {
        let gate = name(gate);
        if !before.contains(&gate) {
            errors.push(FieldError::forbidden(
                Path::new("spec").child("schedulingGates").index(i).child("name"),
                format!("only deletion is allowed, but found new scheduling gate '{gate}'"),
            ));
        }
    }
}

/// The new spec with what an update may change taken from the old one (upstream's munging).
fn updatable_fields_as_old(new: &Value, old: &Value) -> Value {
    let mut munged = new.clone();
    let Some(map) = munged.as_object_mut() else { return munged };
    for field in ["containers", "initContainers"] {
        if let Some(Value::Array(containers)) = map.get_mut(field) {
            for (container, before) in containers.iter_mut().zip(items(old, field)) {
                if let (Some(container), Some(image)) = (container.as_object_mut(), before.get("image")) {
                    container.insert("image".into(), image.clone());
                }
            }
        }
    }
    for field in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        match old.get(field) {
            Some(value) => map.insert(field.into(), value.clone()),
            None => map.remove(field),
        };
    }
    let grace = |spec: &Value| spec.get("terminationGracePeriodSeconds").and_then(Value::as_i64);
    if grace(old).is_some_and(|g| g < 0) && grace(new) == Some(1) {
        map.insert("terminationGracePeriodSeconds".into(), old["terminationGracePeriodSeconds"].clone());
    }
    munged
}

impl Strategy for Pods {
    fn resource(&self) -> &'static ResourceInfo {
        resources::find("", "v1", "pods").expect("pods are in the table")
    }

    fn check_shape(&self, obj: &Value, unknown: Option<&mut Vec<String>>) -> Result<(), String> {
        check_shape::<Pod>(obj, unknown)
    }

    fn schema(&self, generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<Pod>()
    }

    fn prepare_for_create(&self, obj: &mut Object) {
        let spec = obj.entry("spec").or_insert_with(|| json!({}));
        if let Some(spec) = spec.as_object_mut() {
            default_pod(spec);
            set_default(spec, "priority", json!(0));
            default_toleration_seconds(spec);
        }
        let qos = qos_class(obj.get("spec").unwrap_or(&Value::Null));
        obj.insert("status".into(), json!({"phase": "Pending", "qosClass": qos}));
    }

    fn prepare_for_update(&self, new: &mut Object, _old: &Object) {
        if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
            default_pod(spec);
        }
    }

    fn validate(&self, obj: &Object) -> FieldErrors {
        let spec = spec_of(obj);
        let mut errors = pod_spec::validate_pod_spec(spec, &Path::new("spec"), Owner::Pod);
        validate_create_only(spec, &mut errors);
        errors
    }

    fn validate_update(&self, new: &Object, old: &Object) -> FieldErrors {
        let mut errors = pod_spec::validate_pod_spec(spec_of(new), &Path::new("spec"), Owner::Pod);
        validate_update_only(spec_of(new), spec_of(old), &mut errors);
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

    fn selectable_fields(&self) -> &'static [SelectableField] {
        const FIELDS: &[SelectableField] = &[
            SelectableField::path("spec.nodeName"),
            SelectableField::path("spec.restartPolicy"),
            SelectableField::path("spec.schedulerName"),
            SelectableField::path("spec.serviceAccountName"),
            SelectableField::boolean("spec.hostNetwork"),
            SelectableField::path("status.phase"),
            SelectableField::path("status.podIP"),
            SelectableField::path("status.nominatedNodeName"),
        ];
        FIELDS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::checks::testing::messages;

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

    fn pod(spec: Value) -> Object {
        let Value::Object(mut obj) = json!({"metadata": {"name": "web"}, "spec": spec}) else { unreachable!() };
        Pods.prepare_for_create(&mut obj);
        obj
    }

    fn nginx() -> Object {
        pod(json!({"containers": [{"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}],
                   "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}]}))
    }

    #[test]
    fn a_defaulted_pod_is_valid_and_create_only_rules_apply() {
        assert_eq!(messages(&Pods.validate(&nginx())), Vec::<String>::new());
        let mut gated = nginx();
        gated["spec"]["nodeName"] = json!("node-1");
        gated["spec"]["schedulingGates"] = json!([{"name": "example.com/wait"}]);
        gated["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}]);
        assert_eq!(
            messages(&Pods.validate(&gated)),
            [
                "spec.ephemeralContainers: Forbidden: cannot be set on create",
                "spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared",
            ]
        );
    }

    #[test]
    fn host_network_ports_are_host_ports() {
        let host = pod(
            json!({"hostNetwork": true, "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 53}]}]}),
        );
        assert_eq!(host["spec"]["containers"][0]["ports"][0]["hostPort"], 53);
        assert!(Pods.validate(&host).is_empty());
    }

    #[test]
    fn updates_change_images_deadlines_and_added_tolerations_only() {
        let old = nginx();
        let mut new = old.clone();
        new["spec"]["containers"][0]["image"] = json!("nginx:1.28");
        new["spec"]["activeDeadlineSeconds"] = json!(600);
        new["spec"]["tolerations"].as_array_mut().unwrap().push(json!({"operator": "Exists"}));
        assert_eq!(messages(&Pods.validate_update(&new, &old)), Vec::<String>::new());

        let mut longer = new.clone();
        longer["spec"]["activeDeadlineSeconds"] = json!(700);
        assert_eq!(
            messages(&Pods.validate_update(&longer, &new)),
            ["spec.activeDeadlineSeconds: Invalid value: 700: must be less than or equal to previous value"]
        );

        let mut changed = old.clone();
        changed["spec"]["tolerations"][0]["value"] = json!("db");
        changed["spec"]["restartPolicy"] = json!("Never");
        let errors = messages(&Pods.validate_update(&changed, &old));
        assert_eq!(
            errors[0],
            "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"
        );
        assert!(
            errors[1].starts_with(
                "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
            ) && errors[1].ends_with("\n- restartPolicy: \"Always\"\n+ restartPolicy: \"Never\""),
            "{errors:?}"
        );

        let mut more = old.clone();
        more["spec"]["containers"].as_array_mut().unwrap().push(json!({"name": "side", "image": "busybox",
            "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}));
        assert_eq!(
            messages(&Pods.validate_update(&more, &old)),
            ["spec.containers: Forbidden: pod updates may not add or remove containers"]
        );
    }

    #[test]
    fn scheduling_gates_are_only_removed() {
        let mut old = nginx();
        old["spec"]["schedulingGates"] = json!([{"name": "a.example.com/x"}, {"name": "b.example.com/y"}]);
        let mut fewer = old.clone();
        fewer["spec"]["schedulingGates"] = json!([{"name": "b.example.com/y"}]);
        assert!(Pods.validate_update(&fewer, &old).is_empty());
        let mut added = old.clone();
        added["spec"]["schedulingGates"] = json!([{"name": "c.example.com/z"}]);
        assert_eq!(
            messages(&Pods.validate_update(&added, &old)),
            [
                "spec.schedulingGates[0].name: Forbidden: only deletion is allowed, but found new scheduling gate 'c.example.com/z'"
            ]
        );
    }
}
