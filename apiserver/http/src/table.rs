//! Server-side Table output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): the
//! columns `kubectl get` prints, per resource as upstream's printers define them, with each row
//! carrying the object's metadata (kubectl reads NAMESPACE and LABELS from it).

use apiserver_machinery::resources::ResourceInfo;
use serde_json::{Value, json};

/// Whether an `Accept` header asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        params.contains(&"as=Table") && params.contains(&"g=meta.k8s.io")
    })
}

struct Column {
    name: &'static str,
    kind: &'static str,
    format: &'static str,
    description: &'static str,
}

const NAME: Column =
    Column { name: "Name", kind: "string", format: "name", description: "Name must be unique within a namespace." };
const AGE: Column = Column {
    name: "Age",
    kind: "string",
    format: "",
    description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
};

/// Fills a resource's extra cells from an object.
type Cells = fn(&Value) -> Vec<Value>;

/// The columns of a resource, and how to fill them from an object (after NAME, before AGE).
fn extra_columns(resource: &ResourceInfo) -> (Vec<Column>, Cells) {
    match (resource.group, resource.plural) {
        ("", "namespaces") => (
            vec![Column { name: "Status", kind: "string", format: "", description: "The status of the namespace" }],
            |obj| vec![obj.pointer("/status/phase").cloned().unwrap_or(json!(""))],
        ),
        ("", "pods") => (
            vec![
                Column {
                    name: "Ready",
                    kind: "string",
                    format: "",
                    description: "The aggregate readiness state of this pod for accepting traffic.",
                },
                Column {
                    name: "Status",
                    kind: "string",
                    format: "",
                    description: "The aggregate status of the containers in this pod.",
                },
                Column {
                    name: "Restarts",
                    kind: "string",
                    format: "",
                    description: "The number of times the containers in this pod have been restarted.",
                },
            ],
            pod_cells,
        ),
        ("", "services") => (
            vec![
                Column { name: "Type", kind: "string", format: "", description: "The type of the service." },
                Column {
                    name: "Cluster-IP",
                    kind: "string",
                    format: "",
                    description: "The cluster IP of the service.",
                },
                Column {
                    name: "External-IP",
                    kind: "string",
                    format: "",
                    description: "The external IPs of the service.",
                },
                Column { name: "Port(s)", kind: "string", format: "", description: "The ports of the service." },
            ],
            service_cells,
        ),
        ("", "configmaps") => {
            (vec![Column { name: "Data", kind: "string", format: "", description: "Number of data entries" }], |obj| {
                vec![json!(entries(obj.get("data")) + entries(obj.get("binaryData")))]
            })
        }
        ("", "secrets") => (
            vec![
                Column { name: "Type", kind: "string", format: "", description: "The type of the secret" },
                Column { name: "Data", kind: "string", format: "", description: "Number of data entries" },
            ],
            |obj| vec![obj.get("type").cloned().unwrap_or(json!("")), json!(entries(obj.get("data")))],
        ),
        _ => (Vec::new(), |_| Vec::new()),
    }
}

/// How many entries a data map has (0 when absent).
fn entries(map: Option<&Value>) -> usize {
    map.and_then(Value::as_object).map_or(0, |m| m.len())
}

/// READY (ready/total containers), STATUS (Terminating, the reason, or the phase), RESTARTS.
fn pod_cells(obj: &Value) -> Vec<Value> {
    let total = obj.pointer("/spec/containers").and_then(Value::as_array).map_or(0, Vec::len);
    let statuses = obj.pointer("/status/containerStatuses").and_then(Value::as_array).cloned().unwrap_or_default();
    let ready = statuses.iter().filter(|s| s.get("ready").and_then(Value::as_bool) == Some(true)).count();
    let restarts: i64 = statuses.iter().filter_map(|s| s.get("restartCount").and_then(Value::as_i64)).sum();
    let status = if obj.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null()) {
        json!("Terminating")
    } else {
        obj.pointer("/status/reason").or(obj.pointer("/status/phase")).cloned().unwrap_or(json!(""))
    };
    vec![json!(format!("{ready}/{total}")), status, json!(restarts)]
}

/// TYPE, CLUSTER-IP, EXTERNAL-IP (`<none>` until load balancers exist), PORT(S) (`80/TCP`,
/// `80:30080/TCP`).
fn service_cells(obj: &Value) -> Vec<Value> {
    let spec = obj.get("spec").cloned().unwrap_or(json!({}));
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let ports: Vec<String> = spec
        .get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(node_port) => format!("{port}:{node_port}/{protocol}"),
                None => format!("{port}/{protocol}"),
            }
        })
        .collect();
    let external = match text(spec.get("type")).as_str() {
        "ExternalName" => text(spec.get("externalName")),
        _ => "<none>".to_string(),
    };
    vec![
        json!(text(spec.get("type"))),
        json!(text(spec.get("clusterIP"))),
        json!(external),
        json!(if ports.is_empty() { "<none>".to_string() } else { ports.join(",") }),
    ]
}

fn definition(column: &Column) -> Value {
    json!({
        "name": column.name,
        "type": column.kind,
        "format": column.format,
        "description": column.description,
        "priority": 0,
    })
}

/// A Table of `objects` (one for a get, the items for a list).
pub fn table(resource: &ResourceInfo, objects: &[Value], list_metadata: Value, now: jiff::Timestamp) -> Value {
    let (extra, cells) = extra_columns(resource);
    let mut columns = vec![definition(&NAME)];
    columns.extend(extra.iter().map(definition));
    columns.push(definition(&AGE));
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let metadata = obj.get("metadata").cloned().unwrap_or(json!({}));
            let mut row = vec![metadata.get("name").cloned().unwrap_or(json!(""))];
            row.extend(cells(obj));
            let age = metadata
                .get("creationTimestamp")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map_or_else(|| "<unknown>".to_string(), |created| human_duration(now.duration_since(created)));
            row.push(json!(age));
            json!({
                "cells": row,
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata},
            })
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_metadata, "columnDefinitions": columns, "rows": rows})
}

/// Upstream's `HumanDuration`: `45s`, `5m30s`, `40m`, `4h12m`, `20h`, `3d5h`, `30d`, `2y30d`.
pub fn human_duration(d: jiff::SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".into();
    }
    let seconds = seconds.max(0);
    let (minutes, hours, days) = (seconds / 60, seconds / 3600, seconds / 86_400);
    let years = days / 365;
    match () {
        _ if seconds < 120 => format!("{seconds}s"),
        _ if minutes < 10 => match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        },
        _ if minutes < 180 => format!("{minutes}m"),
        _ if hours < 8 => match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        },
        _ if hours < 48 => format!("{hours}h"),
        _ if hours < 24 * 8 => match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        },
        _ if years < 2 => format!("{days}d"),
        _ if years < 8 => match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        },
        _ => format!("{years}y"),
    }
}

#[cfg(test)]
mod tests {
    use apiserver_machinery::resources::find;
    use jiff::SignedDuration;

    use super::*;

    #[test]
    fn human_durations_match_upstream() {
        let s = SignedDuration::from_secs;
        for (secs, text) in [
            (0, "0s"),
            (45, "45s"),
            (119, "119s"),
            (330, "5m30s"),
            (600, "10m"),
            (2400, "40m"),
            (4 * 3600 + 12 * 60, "4h12m"),
            (20 * 3600, "20h"),
            (3 * 86_400 + 5 * 3600, "3d5h"),
            (30 * 86_400, "30d"),
            (2 * 365 * 86_400 + 30 * 86_400, "2y30d"),
            (9 * 365 * 86_400, "9y"),
        ] {
            assert_eq!(human_duration(s(secs)), text, "{secs}s");
        }
        assert_eq!(human_duration(s(-5)), "<invalid>");
    }

    #[test]
    fn tables_have_upstream_columns_and_row_metadata() {
        let now: jiff::Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        let cm = json!({"metadata": {"name": "a", "namespace": "d", "creationTimestamp": "2026-11-23T11:59:00Z"}, "data": {"x": "1", "y": "2"}});
        let t = table(find("", "v1", "configmaps").unwrap(), &[cm], json!({"resourceVersion": "7"}), now);
        let names: Vec<&str> =
            t["columnDefinitions"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Name", "Data", "Age"]);
        assert_eq!(t["rows"][0]["cells"], json!(["a", 2, "60s"]));
        assert_eq!(t["rows"][0]["object"]["metadata"]["namespace"], "d");
        assert_eq!(t["metadata"]["resourceVersion"], "7");
        assert!(wants_table("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"));
        assert!(!wants_table("application/json"));
    }
}
