//! `autoscaling`: horizontal pod autoscalers, from either served version (`v2` metrics, or
//! `v1`'s single CPU target).

use serde_json::{Value, json};

use super::{AGE, Column, NAME, Printer, age, int, int_or, items, name, text};

pub(super) static HORIZONTAL_POD_AUTOSCALERS: Printer = Printer::new(
    &[
        NAME,
        Column::string("Reference", "The scale target: the resource whose scale this autoscaler manages."),
        Column::string("Targets", "The metrics the desired replica count is computed from, current/target."),
        Column::string("MinPods", "The lower limit for the number of replicas."),
        Column::string("MaxPods", "The upper limit for the number of replicas."),
        Column::string("Replicas", "Current number of replicas of pods managed by this autoscaler."),
        AGE,
    ],
    |obj, now| {
        vec![
            name(obj),
            json!(format!("{}/{}", text(obj, "/spec/scaleTargetRef/kind"), text(obj, "/spec/scaleTargetRef/name"))),
            json!(targets(obj)),
            json!(int_or(obj, "/spec/minReplicas", 1).to_string()),
            json!(int(obj, "/spec/maxReplicas")),
            json!(int(obj, "/status/currentReplicas")),
            age(obj, now),
        ]
    },
);

/// TARGETS: `current/target` per metric (two at most, then `+ N more...`). Without metrics,
/// upstream's default applies: CPU at 80% utilisation (or `v1`'s `targetCPUUtilizationPercentage`).
fn targets(obj: &Value) -> String {
    const MAX: usize = 2;
    let (specs, statuses) = match items(obj, "/spec/metrics") {
        [] => {
            let target = int_or(obj, "/spec/targetCPUUtilizationPercentage", 80);
            let spec = json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}});
            let status = match obj.pointer("/status/currentCPUUtilizationPercentage").and_then(Value::as_i64) {
                Some(current) => vec![
                    json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": current}}}),
                ],
                None => items(obj, "/status/currentMetrics").to_vec(),
            };
            (vec![spec], status)
        }
        metrics => (metrics.to_vec(), items(obj, "/status/currentMetrics").to_vec()),
    };
    let list: Vec<String> = specs.iter().enumerate().map(|(i, spec)| metric(spec, statuses.get(i))).collect();
    if list.len() > MAX {
        format!("{} + {} more...", list[..MAX].join(", "), list.len() - MAX)
    } else {
        list.join(", ")
    }
}

/// One metric as `current/target`, `current/target (avg)`, or `resource: current/target`.
fn metric(spec: &Value, status: Option<&Value>) -> String {
    let source = match text(spec, "/type") {
        "External" => "external",
        "Object" => "object",
        "Pods" => "pods",
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        _ => return "<unknown type>".to_string(),
    };
    let target = spec.get(source).and_then(|s| s.get("target")).cloned().unwrap_or(Value::Null);
    // The status entry at the same index, when it reports this kind of source.
    let current = status.and_then(|s| s.get(source)).filter(|s| s.is_object());
    let current_field = |field: &str| current.and_then(|c| c.pointer(&format!("/current/{field}")));
    let unknown = || "<unknown>".to_string();
    match source {
        "pods" => format!(
            "{}/{}",
            current.map_or_else(unknown, |_| quantity(current_field("averageValue"))),
            quantity(target.get("averageValue"))
        ),
        "external" | "object" if target.get("averageValue").is_some() => format!(
            "{}/{} (avg)",
            current_field("averageValue").map_or_else(unknown, |q| quantity(Some(q))),
            quantity(target.get("averageValue"))
        ),
        "external" | "object" => format!(
            "{}/{}",
            current.map_or_else(unknown, |_| quantity(current_field("value"))),
            quantity(target.get("value"))
        ),
        _ => {
            let resource = spec.pointer(&format!("/{source}/name")).and_then(Value::as_str).unwrap_or_default();
            if target.get("averageValue").is_some() {
                let now = current.map_or_else(unknown, |_| quantity(current_field("averageValue")));
                format!("{resource}: {now}/{}", quantity(target.get("averageValue")))
            } else {
                let percent = |v: Option<&Value>| v.and_then(Value::as_i64).map(|p| format!("{p}%"));
                let now = percent(current_field("averageUtilization")).unwrap_or_else(unknown);
                let goal = percent(target.get("averageUtilization")).unwrap_or_else(|| "<auto>".to_string());
                format!("{resource}: {now}/{goal}")
            }
        }
    }
}

/// A quantity as stored (upstream prints a missing one as `<nil>`).
fn quantity(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(q)) => q.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "<nil>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{cells, headers};

    const GROUP: &str = "autoscaling";

    #[test]
    fn horizontal_pod_autoscalers() {
        assert_eq!(
            headers(GROUP, "horizontalpodautoscalers"),
            ["Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"]
        );
        let defaulted = json!({"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5}});
        assert_eq!(
            cells(GROUP, "horizontalpodautoscalers", defaulted),
            json!(["web", "Deployment/web", "cpu: <unknown>/80%", "1", 5, 0, "<unknown>"])
        );
        let v1 = json!({"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2,
            "maxReplicas": 5, "targetCPUUtilizationPercentage": 50}, "status": {"currentReplicas": 3, "currentCPUUtilizationPercentage": 42}});
        assert_eq!(
            cells(GROUP, "horizontalpodautoscalers", v1),
            json!(["web", "Deployment/web", "cpu: 42%/50%", "2", 5, 3, "<unknown>"])
        );
        let v2 = json!({"metadata": {"name": "q"}, "spec": {"scaleTargetRef": {"kind": "StatefulSet", "name": "q"}, "maxReplicas": 9, "metrics": [
            {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
            {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
            {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "Value", "value": "30"}}},
        ]}, "status": {"currentMetrics": [
            {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "300Mi"}}},
            {"type": "Pods", "pods": {"metric": {"name": "qps"}, "current": {"averageValue": "12"}}},
        ]}});
        assert_eq!(cells(GROUP, "horizontalpodautoscalers", v2)[2], "memory: 300Mi/500Mi, 12/10 + 1 more...");
        let object = json!({"spec": {"metrics": [
            {"type": "Object", "object": {"target": {"type": "AverageValue", "averageValue": "2"}}},
            {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app", "target": {"type": "Utilization"}}},
        ]}});
        assert_eq!(cells(GROUP, "horizontalpodautoscalers", object)[2], "<unknown>/2 (avg), cpu: <unknown>/<auto>");
    }
}
