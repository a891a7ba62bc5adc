//! Server-side Table output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): the
//! columns `kubectl get` prints, per resource as upstream's printers define them
//! (`pkg/printers/internalversion/printers.go`, v1.35), with each row carrying the object's
//! metadata (kubectl reads NAMESPACE and LABELS from it).
//!
//! # Layout
//! * this file: the Table envelope ([`table`]), [`wants_table`], the column type, the columns
//!   and cell helpers several groups share, and [`printer`], the one lookup by (group, plural);
//! * one file per API group (`core.rs`, with the pod status rules in `pods.rs`; `apps.rs`,
//!   `batch.rs`, ...): that group's column sets, as `static` [`Printer`]s, and their cell
//!   functions.
//!
//! # Semantics shared by every printer
//! * Upstream's server always prints "wide": every row carries a cell for every column, and
//!   kubectl drops the columns whose `priority` is above 0 unless it is run with `-o wide`.
//! * Ages and durations are upstream's `duration.HumanDuration` ([`human_duration`]); a missing
//!   timestamp prints `<unknown>`.
//! * Upstream prints from objects its defaulting has filled in. Where a field that defaulting
//!   always sets is absent here (`spec.replicas`, a CronJob's `suspend`, a port's protocol, ...),
//!   the cell shows the default, so a table looks as upstream's would for the same manifest.
//! * Resources upstream serves with the generic convertor (roles, cluster roles, limit ranges,
//!   CRDs, and anything without a printer) get its two columns: NAME and CREATED AT (RFC 3339).

mod apps;
mod autoscaling;
mod batch;
mod coordination;
mod core;
mod discovery;
mod events;
mod networking;
mod pods;
mod policy;
mod rbac;
mod scheduling;
mod storage;

use apiserver_machinery::resources::ResourceInfo;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// Whether an `Accept` header asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        params.contains(&"as=Table") && params.contains(&"g=meta.k8s.io")
    })
}

/// A Table of `objects` (one for a get, the items for a list).
pub fn table(resource: &ResourceInfo, objects: &[Value], list_metadata: Value, now: Timestamp) -> Value {
    let printer = printer(resource.group, resource.plural);
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let cells = (printer.cells)(obj, now);
            debug_assert_eq!(cells.len(), printer.columns.len(), "{}: one cell per column", resource.plural);
            let metadata = obj.get("metadata").cloned().unwrap_or(json!({}));
            let mut row = json!({
                "cells": cells,
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata},
            });
            let conditions = (printer.conditions)(obj);
            if !conditions.is_empty() {
                row["conditions"] = Value::Array(conditions);
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata,
        "columnDefinitions": printer.columns.iter().map(Column::definition).collect::<Vec<_>>(),
        "rows": rows,
    })
}

/// The printer of a resource; every version of a group/resource prints alike (upstream prints
/// from the internal version).
fn printer(group: &str, plural: &str) -> &'static Printer {
    match (group, plural) {
        ("", "componentstatuses") => &core::COMPONENT_STATUSES,
        ("", "configmaps") => &core::CONFIG_MAPS,
        ("", "endpoints") => &core::ENDPOINTS,
        ("", "events") => &core::EVENTS,
        ("", "namespaces") => &core::NAMESPACES,
        ("", "nodes") => &core::NODES,
        ("", "persistentvolumeclaims") => &core::PERSISTENT_VOLUME_CLAIMS,
        ("", "persistentvolumes") => &core::PERSISTENT_VOLUMES,
        ("", "pods") => &pods::PODS,
        ("", "podtemplates") => &core::POD_TEMPLATES,
        ("", "replicationcontrollers") => &core::REPLICATION_CONTROLLERS,
        ("", "resourcequotas") => &core::RESOURCE_QUOTAS,
        ("", "secrets") => &core::SECRETS,
        ("", "serviceaccounts") => &core::SERVICE_ACCOUNTS,
        ("", "services") => &core::SERVICES,
        ("apps", "controllerrevisions") => &apps::CONTROLLER_REVISIONS,
        ("apps", "daemonsets") => &apps::DAEMON_SETS,
        ("apps", "deployments") => &apps::DEPLOYMENTS,
        ("apps", "replicasets") => &apps::REPLICA_SETS,
        ("apps", "statefulsets") => &apps::STATEFUL_SETS,
        ("autoscaling", "horizontalpodautoscalers") => &autoscaling::HORIZONTAL_POD_AUTOSCALERS,
        ("batch", "cronjobs") => &batch::CRON_JOBS,
        ("batch", "jobs") => &batch::JOBS,
        ("coordination.k8s.io", "leases") => &coordination::LEASES,
        ("discovery.k8s.io", "endpointslices") => &discovery::ENDPOINT_SLICES,
        ("events.k8s.io", "events") => &events::EVENTS,
        ("networking.k8s.io", "ingressclasses") => &networking::INGRESS_CLASSES,
        ("networking.k8s.io", "ingresses") => &networking::INGRESSES,
        ("networking.k8s.io", "networkpolicies") => &networking::NETWORK_POLICIES,
        ("policy", "poddisruptionbudgets") => &policy::POD_DISRUPTION_BUDGETS,
        ("rbac.authorization.k8s.io", "clusterrolebindings") => &rbac::CLUSTER_ROLE_BINDINGS,
        ("rbac.authorization.k8s.io", "rolebindings") => &rbac::ROLE_BINDINGS,
        ("scheduling.k8s.io", "priorityclasses") => &scheduling::PRIORITY_CLASSES,
        ("storage.k8s.io", "csidrivers") => &storage::CSI_DRIVERS,
        ("storage.k8s.io", "csinodes") => &storage::CSI_NODES,
        ("storage.k8s.io", "csistoragecapacities") => &storage::CSI_STORAGE_CAPACITIES,
        ("storage.k8s.io", "storageclasses") => &storage::STORAGE_CLASSES,
        ("storage.k8s.io", "volumeattachments") => &storage::VOLUME_ATTACHMENTS,
        // Upstream's registries give these the generic convertor, not a printer.
        ("", "limitranges")
        | ("rbac.authorization.k8s.io", "roles" | "clusterroles")
        | ("apiextensions.k8s.io", "customresourcedefinitions") => &DEFAULT,
        _ => &DEFAULT,
    }
}

/// How a resource prints: its columns, and how one object fills them (one cell per column, in
/// column order, wide columns included).
struct Printer {
    columns: &'static [Column],
    cells: fn(&Value, Timestamp) -> Vec<Value>,
    /// A row's `conditions` (only pods have any: `Completed` once they have finished).
    conditions: fn(&Value) -> Vec<Value>,
}

impl Printer {
    const fn new(columns: &'static [Column], cells: fn(&Value, Timestamp) -> Vec<Value>) -> Self {
        Self { columns, cells, conditions: |_| Vec::new() }
    }
}

/// A column definition: `name` (kubectl upper-cases it for the header), `type`, `format`,
/// `description`, and `priority` (0: always shown; 1: only with `-o wide`).
#[derive(Debug, Clone, Copy)]
struct Column {
    name: &'static str,
    kind: &'static str,
    format: &'static str,
    description: &'static str,
    priority: u8,
}

impl Column {
    const fn of(kind: &'static str, name: &'static str, description: &'static str) -> Self {
        Self { name, kind, format: "", description, priority: 0 }
    }

    const fn string(name: &'static str, description: &'static str) -> Self {
        Self::of("string", name, description)
    }

    const fn integer(name: &'static str, description: &'static str) -> Self {
        Self::of("integer", name, description)
    }

    const fn boolean(name: &'static str, description: &'static str) -> Self {
        Self::of("boolean", name, description)
    }

    /// Shown only with `-o wide`.
    const fn wide(self) -> Self {
        Self { priority: 1, ..self }
    }

    /// Formatted as an object name.
    const fn name_format(self) -> Self {
        Self { format: "name", ..self }
    }

    fn definition(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

const NAME: Column = Column::string("Name", "Name must be unique within a namespace.").name_format();
const AGE: Column = Column::string(
    "Age",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
);
const CONTAINERS: Column = Column::string("Containers", "Names of each container in the template.").wide();
const IMAGES: Column = Column::string("Images", "Images referenced by each container in the template.").wide();
const SELECTOR: Column = Column::string("Selector", "A label query over the pods the controller manages.").wide();

/// The generic convertor's columns: the name, and the creation time in RFC 3339 (UTC).
static DEFAULT: Printer = Printer::new(
    &[
        NAME,
        Column::of(
            "date",
            "Created At",
            "CreationTimestamp is a timestamp representing the server time when this object was created.",
        ),
    ],
    |obj, _| {
        let created = timestamp(obj.pointer("/metadata/creationTimestamp"))
            .map_or_else(|| "0001-01-01T00:00:00Z".to_string(), |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
        vec![name(obj), json!(created)]
    },
);

// ---- Cell helpers ----

/// The string at `pointer` ("" when absent or not a string).
fn text<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The integer at `pointer`, or `default` when absent.
fn int_or(obj: &Value, pointer: &str, default: i64) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(default)
}

/// The integer at `pointer` (0 when absent, like an unset Go integer).
fn int(obj: &Value, pointer: &str) -> i64 {
    int_or(obj, pointer, 0)
}

/// The boolean at `pointer`, or `default` when absent.
fn flag(obj: &Value, pointer: &str, default: bool) -> bool {
    obj.pointer(pointer).and_then(Value::as_bool).unwrap_or(default)
}

/// The array at `pointer` (empty when absent).
fn items<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// The object at `pointer`, when present (and not `null`).
fn object<'a>(obj: &'a Value, pointer: &str) -> Option<&'a Map<String, Value>> {
    obj.pointer(pointer).and_then(Value::as_object)
}

/// `s`, or `<none>` when empty.
fn or_none(s: &str) -> String {
    if s.is_empty() { "<none>".to_string() } else { s.to_string() }
}

/// The object's name cell.
fn name(obj: &Value) -> Value {
    json!(text(obj, "/metadata/name"))
}

/// The object's AGE cell.
fn age(obj: &Value, now: Timestamp) -> Value {
    json!(since(obj.pointer("/metadata/creationTimestamp"), now))
}

/// Whether the object is being deleted.
fn deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null())
}

fn timestamp(value: Option<&Value>) -> Option<Timestamp> {
    value.and_then(Value::as_str).and_then(|t| t.parse().ok())
}

/// How long ago `value` (an RFC 3339 timestamp) was, or `<unknown>` when it is absent.
fn since(value: Option<&Value>, now: Timestamp) -> String {
    timestamp(value).map_or_else(|| "<unknown>".to_string(), |t| human_duration(now.duration_since(t)))
}

/// An int-or-string value as upstream's `IntOrString.String()` prints it.
fn int_or_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A `map[string]string` as `labels.FormatLabels` prints it: `a=1,b=2` sorted by key, or
/// `<none>`.
fn format_labels(map: Option<&Map<String, Value>>) -> String {
    let mut pairs: Vec<String> =
        map.into_iter().flatten().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
    pairs.sort();
    or_none(&pairs.join(","))
}

/// A `metav1.LabelSelector` as its selector's `String()` prints it: requirements sorted by key,
/// `k=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`; "" for no selector or an empty one. `None`
/// when upstream would reject it (an unknown operator).
fn label_selector(selector: Option<&Value>) -> Option<String> {
    let Some(selector) = selector.filter(|s| s.is_object()) else { return Some(String::new()) };
    let mut requirements: Vec<(&str, String)> = Vec::new();
    for (key, value) in object(selector, "/matchLabels").into_iter().flatten() {
        requirements.push((key, format!("{key}={}", value.as_str().unwrap_or_default())));
    }
    for expression in items(selector, "/matchExpressions") {
        let key = text(expression, "/key");
        let mut values: Vec<&str> = items(expression, "/values").iter().filter_map(Value::as_str).collect();
        values.sort_unstable();
        let requirement = match text(expression, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return None,
        };
        requirements.push((key, requirement));
    }
    requirements.sort_by_key(|(key, _)| *key);
    Some(requirements.into_iter().map(|(_, r)| r).collect::<Vec<_>>().join(","))
}

/// A label selector as `metav1.FormatLabelSelector` prints it: [`label_selector`], `<none>`
/// when empty, `<error>` when invalid.
fn format_label_selector(selector: Option<&Value>) -> String {
    label_selector(selector).map_or_else(|| "<error>".to_string(), |s| or_none(&s))
}

/// The CONTAINERS and IMAGES cells of a pod spec: names and images, comma-separated.
fn containers(pod_spec: Option<&Value>) -> [Value; 2] {
    let containers = pod_spec.map_or(&[][..], |spec| items(spec, "/containers"));
    let names: Vec<&str> = containers.iter().map(|c| text(c, "/name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| text(c, "/image")).collect();
    [json!(names.join(",")), json!(images.join(","))]
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
mod testing {
    //! Shared by the per-group tests.

    use super::*;

    /// The fixed "now" of the tests.
    pub(super) fn now() -> Timestamp {
        "2026-11-23T12:00:00Z".parse().unwrap()
    }

    /// A timestamp `seconds` before [`now`].
    pub(super) fn ago(seconds: i64) -> String {
        now().checked_sub(jiff::SignedDuration::from_secs(seconds)).unwrap().to_string()
    }

    /// The column names of a resource, with `*` after the wide ones.
    pub(super) fn headers(group: &str, plural: &str) -> Vec<String> {
        printer(group, plural)
            .columns
            .iter()
            .map(|c| if c.priority > 0 { format!("{}*", c.name) } else { c.name.to_string() })
            .collect()
    }

    /// The cells of one object, as a JSON array.
    pub(super) fn cells(group: &str, plural: &str, obj: Value) -> Value {
        Value::Array((printer(group, plural).cells)(&obj, now()))
    }
}

#[cfg(test)]
mod tests {
    use apiserver_machinery::resources::{RESOURCES, Verb, find};
    use jiff::SignedDuration;

    use super::testing::{ago, cells, now};
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
        assert_eq!(human_duration(s(-1)), "0s");
        assert_eq!(human_duration(s(-5)), "<invalid>");
    }

    #[test]
    fn tables_have_upstream_columns_and_row_metadata() {
        let cm = json!({"metadata": {"name": "a", "namespace": "d", "creationTimestamp": ago(60)}, "data": {"x": "1", "y": "2"}});
        let t = table(find("", "v1", "configmaps").unwrap(), &[cm], json!({"resourceVersion": "7"}), now());
        let names: Vec<&str> =
            t["columnDefinitions"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Name", "Data", "Age"]);
        assert_eq!(t["columnDefinitions"][0]["format"], "name");
        assert_eq!(t["columnDefinitions"][0]["priority"], 0);
        assert_eq!(t["rows"][0]["cells"], json!(["a", 2, "60s"]));
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["rows"][0]["object"]["metadata"]["namespace"], "d");
        assert!(t["rows"][0].get("conditions").is_none());
        assert_eq!(t["metadata"]["resourceVersion"], "7");
        assert!(wants_table("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"));
        assert!(!wants_table("application/json"));
    }

    #[test]
    fn every_readable_resource_has_one_cell_per_column() {
        let bare = json!({"metadata": {"name": "x", "creationTimestamp": ago(5)}});
        for resource in RESOURCES.iter().filter(|r| r.serves(Verb::List)) {
            let printer = printer(resource.group, resource.plural);
            assert_eq!((printer.cells)(&bare, now()).len(), printer.columns.len(), "{}", resource.plural);
            // (Upstream also marks VolumeAttachment's ATTACHER as a name.)
            assert!(printer.columns.iter().any(|c| c.name == "Name" && c.format == "name"), "{}", resource.plural);
        }
    }

    #[test]
    fn resources_without_a_printer_get_the_generic_name_and_created_at() {
        for (group, plural) in [
            ("rbac.authorization.k8s.io", "roles"),
            ("rbac.authorization.k8s.io", "clusterroles"),
            ("", "limitranges"),
            ("apiextensions.k8s.io", "customresourcedefinitions"),
        ] {
            assert_eq!(testing::headers(group, plural), ["Name", "Created At"]);
        }
        let role = json!({"metadata": {"name": "reader", "creationTimestamp": "2026-11-23T10:00:00.5+01:00"}});
        assert_eq!(cells("rbac.authorization.k8s.io", "roles", role), json!(["reader", "2026-11-23T09:00:00Z"]));
        assert_eq!(cells("", "limitranges", json!({})), json!(["", "0001-01-01T00:00:00Z"]));
    }

    #[test]
    fn selectors_and_labels_print_like_upstream() {
        let selector = json!({
            "matchLabels": {"tier": "web", "app": "shop"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                {"key": "zone", "operator": "NotIn", "values": ["b"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "gpu", "operator": "Exists"},
            ],
        });
        assert_eq!(
            label_selector(Some(&selector)).unwrap(),
            "app=shop,!canary,env in (dev,prod),gpu,tier=web,zone notin (b)"
        );
        assert_eq!(format_label_selector(Some(&json!({}))), "<none>");
        assert_eq!(format_label_selector(None), "<none>");
        let invalid = json!({"matchExpressions": [{"key": "a", "operator": "Gt"}]});
        assert_eq!(format_label_selector(Some(&invalid)), "<error>");
        assert_eq!(format_labels(json!({"b": "2", "a": "1"}).as_object()), "a=1,b=2");
        assert_eq!(format_labels(None), "<none>");
    }
}
