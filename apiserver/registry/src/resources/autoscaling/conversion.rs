//! HorizontalPodAutoscaler between `autoscaling/v2` (what is stored) and `autoscaling/v1`
//! (still served). v1 only has a CPU utilization target; like upstream, what v1 cannot hold
//! (other metrics, behavior, conditions, current metrics) travels in annotations so that a
//! v1 read-modify-write keeps it. Our annotations hold the v2 JSON of those fields.

use serde_json::{Map, Value, json};

use crate::object::Object;

const METRICS: &str = "autoscaling.alpha.kubernetes.io/metrics";
const CURRENT_METRICS: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
const CONDITIONS: &str = "autoscaling.alpha.kubernetes.io/conditions";
const BEHAVIOR: &str = "autoscaling.alpha.kubernetes.io/behavior";

/// Whether a v2 metric is the CPU utilization target v1 expresses as a percentage.
fn cpu_utilization(metric: &Value, field: &str) -> Option<i64> {
    let resource = metric.get("resource").filter(|_| metric["type"] == "Resource")?;
    if resource["name"] != "cpu" {
        return None;
    }
    let target = resource.get(field)?;
    if field == "target" && target["type"] != "Utilization" {
        return None;
    }
    target.get("averageUtilization")?.as_i64()
}

fn annotations_mut(obj: &mut Object) -> &mut Map<String, Value> {
    let metadata = obj.entry("metadata").or_insert_with(|| json!({}));
    if !metadata.is_object() {
        *metadata = json!({});
    }
    let annotations = metadata.as_object_mut().expect("an object").entry("annotations").or_insert_with(|| json!({}));
    if !annotations.is_object() {
        *annotations = json!({});
    }
    annotations.as_object_mut().expect("an object")
}

fn drop_empty_annotations(obj: &mut Object) {
    if let Some(Value::Object(metadata)) = obj.get_mut("metadata")
        && metadata.get("annotations").and_then(Value::as_object).is_some_and(Map::is_empty)
    {
        metadata.remove("annotations");
    }
}

/// A stored v2 object as v1.
pub fn v2_to_v1(mut obj: Object) -> Object {
    obj.insert("apiVersion".into(), json!("autoscaling/v1"));
    let spec = obj.remove("spec").unwrap_or(json!({}));
    let status = obj.remove("status");
    let mut v1_spec = Map::new();
    for field in ["scaleTargetRef", "minReplicas", "maxReplicas"] {
        if let Some(value) = spec.get(field) {
            v1_spec.insert(field.into(), value.clone());
        }
    }
    let metrics = spec.get("metrics").and_then(Value::as_array).cloned().unwrap_or_default();
    let (cpu, others): (Vec<Value>, Vec<Value>) =
        metrics.into_iter().partition(|m| cpu_utilization(m, "target").is_some());
    if let Some(percent) = cpu.first().and_then(|m| cpu_utilization(m, "target")) {
        v1_spec.insert("targetCPUUtilizationPercentage".into(), json!(percent));
    }
    obj.insert("spec".into(), Value::Object(v1_spec));
    let annotations = annotations_mut(&mut obj);
    if !others.is_empty() {
        annotations.insert(METRICS.into(), json!(Value::Array(others).to_string()));
    }
    if let Some(behavior) = spec.get("behavior") {
        annotations.insert(BEHAVIOR.into(), json!(behavior.to_string()));
    }
    if let Some(status) = status {
        let mut v1_status = Map::new();
        for field in ["observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas"] {
            if let Some(value) = status.get(field) {
                v1_status.insert(field.into(), value.clone());
            }
        }
        v1_status.entry("currentReplicas").or_insert(json!(0));
        v1_status.entry("desiredReplicas").or_insert(json!(0));
        let current = status.get("currentMetrics").and_then(Value::as_array).cloned().unwrap_or_default();
        let (cpu, others): (Vec<Value>, Vec<Value>) =
            current.into_iter().partition(|m| cpu_utilization(m, "current").is_some());
        if let Some(percent) = cpu.first().and_then(|m| cpu_utilization(m, "current")) {
            v1_status.insert("currentCPUUtilizationPercentage".into(), json!(percent));
        }
        let annotations = annotations_mut(&mut obj);
        if !others.is_empty() {
            annotations.insert(CURRENT_METRICS.into(), json!(Value::Array(others).to_string()));
        }
        if let Some(conditions) = status.get("conditions").filter(|c| c.as_array().is_some_and(|c| !c.is_empty())) {
            annotations.insert(CONDITIONS.into(), json!(conditions.to_string()));
        }
        obj.insert("status".into(), Value::Object(v1_status));
    }
    drop_empty_annotations(&mut obj);
    obj
}

/// Takes one of our annotations back out as JSON (a malformed one is dropped).
fn take_annotation(obj: &mut Object, key: &str) -> Option<Value> {
    let text = annotations_mut(obj).remove(key)?;
    serde_json::from_str(text.as_str()?).ok()
}

/// A v1 object as the v2 form that is stored.
pub fn v1_to_v2(mut obj: Object) -> Object {
    obj.insert("apiVersion".into(), json!("autoscaling/v2"));
    let spec = obj.remove("spec").unwrap_or(json!({}));
    let status = obj.remove("status");
    let mut v2_spec = Map::new();
    for field in ["scaleTargetRef", "minReplicas", "maxReplicas"] {
        if let Some(value) = spec.get(field) {
            v2_spec.insert(field.into(), value.clone());
        }
    }
    let mut metrics = Vec::new();
    if let Some(percent) = spec.get("targetCPUUtilizationPercentage") {
        metrics.push(json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": percent}}}));
    }
    if let Some(Value::Array(others)) = take_annotation(&mut obj, METRICS) {
        metrics.extend(others);
    }
    if !metrics.is_empty() {
        v2_spec.insert("metrics".into(), Value::Array(metrics));
    }
    if let Some(behavior) = take_annotation(&mut obj, BEHAVIOR) {
        v2_spec.insert("behavior".into(), behavior);
    }
    obj.insert("spec".into(), Value::Object(v2_spec));
    let current_others = take_annotation(&mut obj, CURRENT_METRICS);
    let conditions = take_annotation(&mut obj, CONDITIONS);
    if let Some(status) = status {
        let mut v2_status = Map::new();
        for field in ["observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas"] {
            if let Some(value) = status.get(field) {
                v2_status.insert(field.into(), value.clone());
            }
        }
        let mut current = Vec::new();
        if let Some(percent) = status.get("currentCPUUtilizationPercentage") {
            current.push(
                json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": percent}}}),
            );
        }
        if let Some(Value::Array(others)) = current_others {
            current.extend(others);
        }
        if !current.is_empty() {
            v2_status.insert("currentMetrics".into(), Value::Array(current));
        }
        if let Some(conditions) = conditions {
            v2_status.insert("conditions".into(), conditions);
        }
        obj.insert("status".into(), Value::Object(v2_status));
    }
    drop_empty_annotations(&mut obj);
    obj
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Object {
        let Value::Object(obj) = value else { panic!("an object") };
        obj
    }

    #[test]
    fn cpu_target_maps_to_the_v1_percentage_and_back() {
        let v1 = object(json!({
            "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                     "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 80},
        }));
        let v2 = v1_to_v2(v1.clone());
        assert_eq!(
            v2["spec"]["metrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
        );
        assert!(v2["metadata"].get("annotations").is_none());
        let mut back = v2_to_v1(v2);
        back.insert("apiVersion".into(), json!("autoscaling/v1"));
        assert_eq!(back, v1);
    }

    /// What v1 cannot express survives a v1 read-modify-write through annotations.
    #[test]
    fn other_metrics_behavior_and_status_round_trip() {
        let v2 = object(json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "annotations": {"team": "a"}},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5,
                     "metrics": [
                        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
                        {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
                     ],
                     "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}},
            "status": {"currentReplicas": 2, "desiredReplicas": 3,
                       "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 70}}}],
                       "conditions": [{"type": "AbleToScale", "status": "True"}]},
        }));
        let v1 = v2_to_v1(v2.clone());
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 50);
        assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 70);
        assert_eq!(v1["metadata"]["annotations"]["team"], "a");
        assert!(v1["metadata"]["annotations"][METRICS].as_str().unwrap().contains("qps"));
        assert_eq!(v1_to_v2(v1), v2);
    }
}
