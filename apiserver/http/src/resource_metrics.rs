//! The resource metrics API, `metrics.k8s.io/v1beta1`: what metrics-server serves upstream and
//! what `kubectl top` and the HorizontalPodAutoscaler read.
//!
//! ```text
//! node agents ──PUT/DELETE──► MetricsTable (in memory) ◄──GET (get, list)── kubectl top, HPA
//! ```
//!
//! # Resources
//! * `pods` (kind `PodMetrics`, namespaced): `{metadata{name, namespace, labels,
//!   creationTimestamp}, timestamp, window, containers[{name, usage{cpu, memory}}]}`;
//! * `nodes` (kind `NodeMetrics`, cluster-scoped): `{metadata{name, labels, creationTimestamp},
//!   timestamp, window, usage{cpu, memory}}`.
//!
//! Lists are `PodMetricsList`/`NodeMetricsList` with `metadata: {}`, sorted by namespace and
//! name; `labelSelector` (the machinery's parser) and `fieldSelector` on `metadata.name` (and
//! `metadata.namespace` for pods) filter them. A missing entry is upstream's 404,
//! `podmetrics.metrics.k8s.io "ns/name" not found` / `nodemetrics.metrics.k8s.io "name" not
//! found`. There is no watch (upstream has none): `?watch=true` is a 405.
//!
//! # Writes (ours)
//! metrics-server scrapes kubelets; our node agents push instead. `PUT` of one object at its
//! URL creates or replaces it (201 / 200), `DELETE` removes it. A body must name the kind and
//! `metrics.k8s.io/v1beta1` (else 400), carry the URL's name and namespace (else 400, upstream's
//! wording), and valid labels, container names and quantities (else 422 with one cause per
//! field). `timestamp` and `creationTimestamp` in a body are ignored.
//!
//! # Storage and time
//! Like metrics-server, the table lives **in memory only** (never in the store): the data is
//! ephemeral and rebuilt by the agents' next pushes after a restart. Each entry is bounded
//! (at most [`MAX_CONTAINERS`] containers, a [`MAX_WRITE_BYTES`] body, validated names and
//! labels) and so is the table ([`MAX_POD_ENTRIES`], [`MAX_NODE_ENTRIES`]: a write beyond is a
//! 403, as a quota would answer).
//!
//! An agent pushes usage when it changes: an entry is a *level*, not a sample. So every answer
//! carries `timestamp` = the moment of serving (RFC 3339, whole seconds) and `window` as pushed
//! (default `15s`): consumers that compare sample times with pod transitions (the HPA does)
//! see a fresh sample of the current level. `creationTimestamp` is also the moment of serving,
//! as metrics-server sets it.
//!
//! Lifetimes: a NodeMetrics entry not refreshed for [`NODE_TTL`] (5 minutes) is dropped (its
//! agent is gone; agents refresh every minute). PodMetrics entries do not expire: the agent
//! deletes a pod's entry when the pod stops running or is gone.

use std::collections::{BTreeMap, HashMap};

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::quantity::parse as parse_quantity;
use apiserver_machinery::resources::{ResourceInfo, Verb as ResourceVerb};
use apiserver_machinery::selectors::{FieldSelector, LabelSelector};
use apiserver_machinery::{ApiError, GroupKind, GroupResource, names};
use http::header::CONTENT_TYPE;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use jiff::{SignedDuration, Timestamp};
use parking_lot::RwLock;
use serde_json::{Map, Value, json};

use crate::handlers::{Body, full, json_response};
use crate::request_info::{RequestInfo, Verb};
use crate::{body, partial_metadata, table};

/// The API group.
pub const GROUP: &str = "metrics.k8s.io";
/// Its one version.
pub const VERSION: &str = "v1beta1";
const API_VERSION: &str = "metrics.k8s.io/v1beta1";

/// get and list (upstream's), update and delete (the agents' pushes).
const VERBS: &[ResourceVerb] = &[ResourceVerb::Delete, ResourceVerb::Get, ResourceVerb::List, ResourceVerb::Update];

/// The two resources, as discovery lists them.
pub static RESOURCES: [ResourceInfo; 2] = [
    ResourceInfo {
        group: GROUP,
        version: VERSION,
        plural: "nodes",
        singular: "nodemetrics",
        kind: "NodeMetrics",
        namespaced: false,
        short_names: &[],
        categories: &[],
        verbs: VERBS,
        subresources: &[],
    },
    ResourceInfo {
        group: GROUP,
        version: VERSION,
        plural: "pods",
        singular: "podmetrics",
        kind: "PodMetrics",
        namespaced: true,
        short_names: &[],
        categories: &[],
        verbs: VERBS,
        subresources: &[],
    },
];

/// `window` when a write does not say.
pub const DEFAULT_WINDOW: &str = "15s";
/// A NodeMetrics entry not refreshed for this long is dropped.
pub const NODE_TTL: SignedDuration = SignedDuration::from_secs(5 * 60);
/// Containers one PodMetrics may list.
pub const MAX_CONTAINERS: usize = 64;
/// Largest write body.
pub const MAX_WRITE_BYTES: usize = 64 * 1024;
/// PodMetrics entries the table holds at most.
pub const MAX_POD_ENTRIES: usize = 500_000;
/// NodeMetrics entries the table holds at most.
pub const MAX_NODE_ENTRIES: usize = 50_000;
/// Expired nodes are swept at most this often by writes (reads filter them anyway).
const SWEEP_EVERY: SignedDuration = SignedDuration::from_secs(10);

const PODS: GroupResource<'static> = GroupResource { group: GROUP, resource: "podmetrics" };
const NODES: GroupResource<'static> = GroupResource { group: GROUP, resource: "nodemetrics" };

/// CPU in nanocores and memory in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub cpu_nanocores: u64,
    pub memory_bytes: u64,
}

impl Usage {
    /// `{"cpu": "250000000n", "memory": "65536Ki"}`, metrics-server's units.
    fn to_json(self) -> Value {
        let cpu = if self.cpu_nanocores == 0 { "0".to_string() } else { format!("{}n", self.cpu_nanocores) };
        let memory = match self.memory_bytes {
            0 => "0".to_string(),
            b if b % 1024 == 0 => format!("{}Ki", b / 1024),
            b => b.to_string(),
        };
        json!({"cpu": cpu, "memory": memory})
    }
}

#[derive(Debug, Clone, PartialEq)]
struct PodEntry {
    labels: BTreeMap<String, String>,
    window: String,
    containers: Vec<(String, Usage)>,
}

#[derive(Debug, Clone, PartialEq)]
struct NodeEntry {
    labels: BTreeMap<String, String>,
    window: String,
    usage: Usage,
    refreshed: Timestamp,
}

#[derive(Debug, Default)]
struct Entries {
    /// By (namespace, name): the order lists are served in.
    pods: BTreeMap<(String, String), PodEntry>,
    nodes: BTreeMap<String, NodeEntry>,
    swept: Option<Timestamp>,
}

impl Entries {
    fn sweep(&mut self, now: Timestamp) {
        self.nodes.retain(|_, node| !expired(node, now));
        self.swept = Some(now);
    }
}

fn expired(node: &NodeEntry, now: Timestamp) -> bool {
    now.duration_since(node.refreshed) > NODE_TTL
}

/// The in-memory table behind the API; every method takes `now` (tests pass their own clock).
#[derive(Debug, Default)]
pub struct MetricsTable {
    entries: RwLock<Entries>,
}

/// `2026-01-01T00:00:00Z`: whole seconds, as metav1.Time serialises.
fn rfc3339(now: Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"kind": kind, "apiVersion": API_VERSION, "metadata": {}, "items": items})
}

impl MetricsTable {
    fn pod_json(namespace: &str, name: &str, entry: &PodEntry, now: Timestamp) -> Value {
        let at = rfc3339(now);
        let containers: Vec<Value> =
            entry.containers.iter().map(|(name, usage)| json!({"name": name, "usage": usage.to_json()})).collect();
        json!({
            "kind": "PodMetrics",
            "apiVersion": API_VERSION,
            "metadata": {"name": name, "namespace": namespace, "labels": entry.labels, "creationTimestamp": at},
            "timestamp": at,
            "window": entry.window,
            "containers": containers,
        })
    }

    fn node_json(name: &str, entry: &NodeEntry, now: Timestamp) -> Value {
        let at = rfc3339(now);
        json!({
            "kind": "NodeMetrics",
            "apiVersion": API_VERSION,
            "metadata": {"name": name, "labels": entry.labels, "creationTimestamp": at},
            "timestamp": at,
            "window": entry.window,
            "usage": entry.usage.to_json(),
        })
    }

    /// One PodMetrics, or upstream's 404.
    pub fn get_pod(&self, namespace: &str, name: &str, now: Timestamp) -> Result<Value, ApiError> {
        let entries = self.entries.read();
        let key = (namespace.to_string(), name.to_string());
        let entry = entries.pods.get(&key).ok_or_else(|| ApiError::not_found(PODS, &format!("{namespace}/{name}")))?;
        Ok(Self::pod_json(namespace, name, entry, now))
    }

    /// One NodeMetrics (an expired one is gone), or upstream's 404.
    pub fn get_node(&self, name: &str, now: Timestamp) -> Result<Value, ApiError> {
        let entries = self.entries.read();
        let entry =
            entries.nodes.get(name).filter(|n| !expired(n, now)).ok_or_else(|| ApiError::not_found(NODES, name))?;
        Ok(Self::node_json(name, entry, now))
    }

    /// A PodMetricsList of one namespace (`None`: all), filtered by the selectors.
    pub fn list_pods(
        &self,
        namespace: Option<&str>,
        labels: Option<&str>,
        fields: Option<&str>,
        now: Timestamp,
    ) -> Result<Value, ApiError> {
        let (labels, fields) = selectors(labels, fields, true)?;
        let entries = self.entries.read();
        let range: Box<dyn Iterator<Item = (&(String, String), &PodEntry)>> = match namespace {
            Some(ns) => Box::new(
                entries
                    .pods
                    .range((ns.to_string(), String::new())..)
                    .take_while(move |((item_ns, _), _)| item_ns == ns),
            ),
            None => Box::new(entries.pods.iter()),
        };
        let items = range
            .filter(|((ns, name), entry)| {
                labels.matches(&entry.labels)
                    && fields.matches(|field| match field {
                        "metadata.name" => Some(name.as_str()),
                        "metadata.namespace" => Some(ns.as_str()),
                        _ => None,
                    })
            })
            .map(|((ns, name), entry)| Self::pod_json(ns, name, entry, now))
            .collect();
        Ok(list("PodMetricsList", items))
    }

    /// A NodeMetricsList, filtered by the selectors; expired entries are left out.
    pub fn list_nodes(&self, labels: Option<&str>, fields: Option<&str>, now: Timestamp) -> Result<Value, ApiError> {
        let (labels, fields) = selectors(labels, fields, false)?;
        let entries = self.entries.read();
        let items = entries
            .nodes
            .iter()
            .filter(|(name, entry)| {
                !expired(entry, now)
                    && labels.matches(&entry.labels)
                    && fields.matches(|field| (field == "metadata.name").then_some(name.as_str()))
            })
            .map(|(name, entry)| Self::node_json(name, entry, now))
            .collect();
        Ok(list("NodeMetricsList", items))
    }

    /// Creates or replaces a PodMetrics from a write body; `true` when it was created.
    pub fn put_pod(
        &self,
        namespace: &str,
        name: &str,
        body: &Value,
        now: Timestamp,
    ) -> Result<(Value, bool), ApiError> {
        let entry = validate_pod(namespace, name, body)?;
        let answer = Self::pod_json(namespace, name, &entry, now);
        let mut entries = self.entries.write();
        let key = (namespace.to_string(), name.to_string());
        if !entries.pods.contains_key(&key) && entries.pods.len() >= MAX_POD_ENTRIES {
            return Err(table_full(PODS, &format!("{namespace}/{name}"), MAX_POD_ENTRIES));
        }
        let created = entries.pods.insert(key, entry).is_none();
        Ok((answer, created))
    }

    /// Creates or replaces (refreshes) a NodeMetrics from a write body; `true` when created.
    pub fn put_node(&self, name: &str, body: &Value, now: Timestamp) -> Result<(Value, bool), ApiError> {
        let (labels, window, usage) = validate_node(name, body)?;
        let entry = NodeEntry { labels, window, usage, refreshed: now };
        let answer = Self::node_json(name, &entry, now);
        let mut entries = self.entries.write();
        if entries.swept.is_none_or(|at| now.duration_since(at) >= SWEEP_EVERY) {
            entries.sweep(now);
        }
        if !entries.nodes.contains_key(name) && entries.nodes.len() >= MAX_NODE_ENTRIES {
            return Err(table_full(NODES, name, MAX_NODE_ENTRIES));
        }
        let created = entries.nodes.insert(name.to_string(), entry).is_none();
        Ok((answer, created))
    }

    /// Removes a PodMetrics; 404 if there is none.
    pub fn delete_pod(&self, namespace: &str, name: &str) -> Result<Value, ApiError> {
        let removed = self.entries.write().pods.remove(&(namespace.to_string(), name.to_string()));
        removed
            .map(|_| deleted("podmetrics", name))
            .ok_or_else(|| ApiError::not_found(PODS, &format!("{namespace}/{name}")))
    }

    /// Removes a NodeMetrics; 404 if there is none.
    pub fn delete_node(&self, name: &str) -> Result<Value, ApiError> {
        let removed = self.entries.write().nodes.remove(name);
        removed.map(|_| deleted("nodemetrics", name)).ok_or_else(|| ApiError::not_found(NODES, name))
    }

    /// Serves one request under `/apis/metrics.k8s.io/`.
    pub async fn serve(
        &self,
        req: Request<Incoming>,
        info: RequestInfo,
        query: &HashMap<String, String>,
        accept: &str,
    ) -> Result<Response<Body>, ApiError> {
        let resource = RESOURCES
            .iter()
            .find(|r| r.version == info.version && r.plural == info.resource && info.subresource.is_none())
            .ok_or_else(ApiError::path_not_found)?;
        let pods = resource.plural == "pods";
        let group_resource = if pods { PODS } else { NODES };
        let namespace = info.namespace.as_deref();
        let named = info.name.is_some();
        // Pods need a namespace for one object; nodes never have one.
        if (pods && named && namespace.is_none()) || (!pods && namespace.is_some()) {
            return Err(ApiError::path_not_found());
        }
        let name = info.name.as_deref().unwrap_or_default();
        let labels = query.get("labelSelector").map(String::as_str);
        let fields = query.get("fieldSelector").map(String::as_str);
        let now = Timestamp::now();
        let (code, value) = match info.verb {
            Verb::Get if pods => (StatusCode::OK, self.get_pod(namespace.unwrap_or_default(), name, now)?),
            Verb::Get => (StatusCode::OK, self.get_node(name, now)?),
            Verb::List if pods => (StatusCode::OK, self.list_pods(namespace, labels, fields, now)?),
            Verb::List => (StatusCode::OK, self.list_nodes(labels, fields, now)?),
            Verb::Update => {
                let body = read_write_body(req).await?;
                let (value, created) = if pods {
                    self.put_pod(namespace.unwrap_or_default(), name, &body, now)?
                } else {
                    self.put_node(name, &body, now)?
                };
                (if created { StatusCode::CREATED } else { StatusCode::OK }, value)
            }
            Verb::Delete if pods => (StatusCode::OK, self.delete_pod(namespace.unwrap_or_default(), name)?),
            Verb::Delete => (StatusCode::OK, self.delete_node(name)?),
            Verb::Watch => return Err(ApiError::method_not_supported(group_resource, "watch")),
            Verb::Create => return Err(ApiError::method_not_supported(group_resource, "create")),
            Verb::Patch => return Err(ApiError::method_not_supported(group_resource, "patch")),
            Verb::DeleteCollection => return Err(ApiError::method_not_supported(group_resource, "deletecollection")),
            Verb::NotAllowed => return Err(ApiError::method_not_supported(group_resource, "this method")),
        };
        Ok(respond(code, value, accept))
    }
}

/// JSON (kubectl top asks for protobuf or `*/*`: JSON it is), YAML, a Table, or metadata.
fn respond(code: StatusCode, value: Value, accept: &str) -> Response<Body> {
    if value.get("kind").and_then(Value::as_str) == Some("Status") {
        return json_response(code, &value, "application/json");
    }
    if let Some(version) = partial_metadata::wanted_version(accept) {
        json_response(code, &partial_metadata::convert(&value, version), "application/json")
    } else if table::wants_table(accept) {
        json_response(code, &as_table(&value), "application/json")
    } else if body::wants_yaml(accept) {
        Response::builder()
            .status(code)
            .header(CONTENT_TYPE, "application/yaml")
            .body(full(body::to_yaml(&value)))
            .expect("static response parts are valid")
    } else {
        json_response(code, &value, "application/json")
    }
}

/// metrics-server's Table: NAME, cpu, memory (summed over containers), WINDOW.
fn as_table(value: &Value) -> Value {
    let objects: Vec<&Value> = match value.get("items").and_then(Value::as_array) {
        Some(items) => items.iter().collect(),
        None => vec![value],
    };
    let rows: Vec<Value> = objects
        .into_iter()
        .map(|obj| {
            let usage = match obj.get("containers").and_then(Value::as_array) {
                Some(containers) => containers.iter().fold(Usage::default(), |sum, c| {
                    let usage = usage_of(&c["usage"]).unwrap_or_default();
                    Usage {
                        cpu_nanocores: sum.cpu_nanocores.saturating_add(usage.cpu_nanocores),
                        memory_bytes: sum.memory_bytes.saturating_add(usage.memory_bytes),
                    }
                }),
                None => usage_of(&obj["usage"]).unwrap_or_default(),
            };
            let usage = usage.to_json();
            json!({
                "cells": [obj["metadata"]["name"], usage["cpu"], usage["memory"], obj["window"]],
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]},
            })
        })
        .collect();
    let column = |name: &str, format: &str, description: &str| json!({"name": name, "type": "string", "format": format, "description": description, "priority": 0});
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": [
            column("Name", "name", "Name of the resource"),
            column("cpu", "quantity", ""),
            column("memory", "quantity", ""),
            column("Window", "duration", ""),
        ],
        "rows": rows,
    })
}

fn deleted(kind: &str, name: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "group": GROUP, "kind": kind},
    })
}

fn table_full(resource: GroupResource<'_>, name: &str, max: usize) -> ApiError {
    ApiError::forbidden(resource, name, &format!("the metrics table holds its maximum of {max} entries"))
}

fn selectors(
    labels: Option<&str>,
    fields: Option<&str>,
    pods: bool,
) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(labels.unwrap_or("")).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let fields = FieldSelector::parse(fields.unwrap_or("")).map_err(|e| ApiError::bad_request(e.to_string()))?;
    for requirement in fields.requirements() {
        let field = requirement.field.as_str();
        if !(field == "metadata.name" || (pods && field == "metadata.namespace")) {
            return Err(ApiError::bad_request(format!(
                "\"{field}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
            )));
        }
    }
    Ok((labels, fields))
}

async fn read_write_body(req: Request<Incoming>) -> Result<Value, ApiError> {
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let bytes = Limited::new(req.into_body(), MAX_WRITE_BYTES)
        .collect()
        .await
        .map_err(|_| ApiError::too_large(&format!("limit is {MAX_WRITE_BYTES}")))?
        .to_bytes();
    body::decode(content_type.as_deref(), &bytes)
}

/// A write body that passed [`check_envelope`]: the object, its labels, the field errors so far.
type Envelope<'a> = (&'a Map<String, Value>, BTreeMap<String, String>, FieldErrors);

/// Checks what every write body shares: kind, apiVersion, the URL's name (and namespace).
/// Returns the object, its labels and the field errors found so far.
fn check_envelope<'a>(
    body: &'a Value,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> Result<Envelope<'a>, ApiError> {
    let object = body.as_object().ok_or_else(|| ApiError::bad_request(format!("a {kind} must be a JSON object")))?;
    let got_kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
    let got_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    if got_kind != kind || got_version != API_VERSION {
        return Err(ApiError::bad_request(format!(
            "the body must be a {kind} of {API_VERSION}, not kind {got_kind:?} of apiVersion {got_version:?}"
        )));
    }
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    let metadata = object.get("metadata").and_then(Value::as_object).unwrap_or(&EMPTY);
    let body_name = metadata.get("name").and_then(Value::as_str).unwrap_or_default();
    if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if let Some(body_ns) = metadata.get("namespace").and_then(Value::as_str).filter(|ns| !ns.is_empty())
        && Some(body_ns) != namespace
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let mut errors = FieldErrors::default();
    for problem in names::dns1123_subdomain(name) {
        errors.push(FieldError::invalid(Path::new("metadata").child("name"), name, problem));
    }
    let mut labels = BTreeMap::new();
    match metadata.get("labels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            let path = Path::new("metadata").child("labels");
            for (key, value) in map {
                for problem in names::qualified_name(key) {
                    errors.push(FieldError::invalid(path.clone(), key.as_str(), problem));
                }
                match value.as_str() {
                    Some(text) => {
                        for problem in names::label_value(text) {
                            errors.push(FieldError::invalid(path.key(key), text, problem));
                        }
                        labels.insert(key.clone(), text.to_string());
                    }
                    None => errors.push(FieldError::invalid(path.key(key), value.to_string(), "must be a string")),
                }
            }
        }
        Some(other) => errors.push(FieldError::invalid(
            Path::new("metadata").child("labels"),
            other.to_string(),
            "must be a map of strings",
        )),
    }
    Ok((object, labels, errors))
}

fn window_of(object: &Map<String, Value>, errors: &mut FieldErrors) -> String {
    match object.get("window") {
        None | Some(Value::Null) => DEFAULT_WINDOW.to_string(),
        Some(Value::String(text)) if go_duration_seconds(text).is_some_and(|s| s >= 0.0) => text.clone(),
        Some(other) => {
            let shown = other.as_str().map_or_else(|| other.to_string(), str::to_string);
            errors.push(FieldError::invalid("window", shown, "must be a non-negative duration such as \"15s\""));
            DEFAULT_WINDOW.to_string()
        }
    }
}

/// `usage{cpu, memory}`: both required, non-negative quantities.
fn usage_field(value: Option<&Value>, path: &Path, errors: &mut FieldErrors) -> Usage {
    let mut usage = Usage::default();
    let Some(map) = value.and_then(Value::as_object) else {
        errors.push(FieldError::required(path.clone(), "cpu and memory usage are required"));
        return usage;
    };
    for (resource, scale) in [("cpu", 9), ("memory", 0)] {
        let path = path.key(resource);
        match map.get(resource) {
            None | Some(Value::Null) => errors.push(FieldError::required(path, "")),
            Some(value) => {
                let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
                match value.as_str().and_then(|q| parse_quantity(q, scale)) {
                    Some(amount) if resource == "cpu" => usage.cpu_nanocores = amount,
                    Some(amount) => usage.memory_bytes = amount,
                    None => errors.push(FieldError::invalid(
                        path,
                        text,
                        "must be a non-negative quantity (e.g. \"250m\", \"64Mi\")",
                    )),
                }
            }
        }
    }
    usage
}

/// The usage of a served object's `usage` map (for the Table's sums).
fn usage_of(value: &Value) -> Option<Usage> {
    Some(Usage {
        cpu_nanocores: parse_quantity(value.get("cpu")?.as_str()?, 9)?,
        memory_bytes: parse_quantity(value.get("memory")?.as_str()?, 0)?,
    })
}

fn validate_pod(namespace: &str, name: &str, body: &Value) -> Result<PodEntry, ApiError> {
    let (object, labels, mut errors) = check_envelope(body, "PodMetrics", Some(namespace), name)?;
    let window = window_of(object, &mut errors);
    let mut containers: Vec<(String, Usage)> = Vec::new();
    match object.get("containers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.len() > MAX_CONTAINERS => {
            errors.push(FieldError::too_many("containers", items.len(), MAX_CONTAINERS));
        }
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = Path::new("containers").index(i);
                let container = item.get("name").and_then(Value::as_str).unwrap_or_default();
                if container.is_empty() {
                    errors.push(FieldError::required(path.child("name"), ""));
                } else if containers.iter().any(|(seen, _)| seen == container) {
                    errors.push(FieldError::duplicate(path.child("name"), container));
                } else {
                    for problem in names::dns1123_label(container) {
                        errors.push(FieldError::invalid(path.child("name"), container, problem));
                    }
                }
                let usage = usage_field(item.get("usage"), &path.child("usage"), &mut errors);
                containers.push((container.to_string(), usage));
            }
        }
        Some(other) => errors.push(FieldError::invalid("containers", other.to_string(), "must be a list")),
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(GroupKind { group: GROUP, kind: "PodMetrics" }, name, &errors));
    }
    Ok(PodEntry { labels, window, containers })
}

fn validate_node(name: &str, body: &Value) -> Result<(BTreeMap<String, String>, String, Usage), ApiError> {
    let (object, labels, mut errors) = check_envelope(body, "NodeMetrics", None, name)?;
    let window = window_of(object, &mut errors);
    let usage = usage_field(object.get("usage"), &Path::new("usage"), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid(GroupKind { group: GROUP, kind: "NodeMetrics" }, name, &errors));
    }
    Ok((labels, window, usage))
}

/// Seconds of a Go duration string (`"15s"`, `"1m30s"`, `"1.5h"`, `"0"`); `None` if malformed.
pub fn go_duration_seconds(text: &str) -> Option<f64> {
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, tail) = rest.split_at(end);
        if number.is_empty() || number == "." {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        let unit_end = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let seconds = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * seconds;
        rest = tail;
    }
    Some(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + seconds).unwrap()
    }

    fn pod(name: &str, labels: Value, cpu: &str, memory: &str) -> Value {
        json!({
            "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {"name": name, "labels": labels},
            "window": "30s",
            "containers": [{"name": "app", "usage": {"cpu": cpu, "memory": memory}}],
        })
    }

    fn node(name: &str, cpu: &str) -> Value {
        json!({
            "kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {"name": name, "labels": {"type": "simulated"}},
            "usage": {"cpu": cpu, "memory": "1Gi"},
        })
    }

    fn names(list: &Value) -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let meta = &i["metadata"];
                match meta["namespace"].as_str() {
                    Some(ns) => format!("{ns}/{}", meta["name"].as_str().unwrap()),
                    None => meta["name"].as_str().unwrap().to_string(),
                }
            })
            .collect()
    }

    #[test]
    fn quantities_in_nanocores_and_bytes() {
        assert_eq!(parse_quantity("250m", 9), Some(250_000_000));
        assert_eq!(parse_quantity("2", 9), Some(2_000_000_000));
        assert_eq!(parse_quantity("0.5", 9), Some(500_000_000));
        assert_eq!(parse_quantity("123456n", 9), Some(123_456));
        assert_eq!(parse_quantity("1u", 9), Some(1000));
        assert_eq!(parse_quantity("64Mi", 0), Some(64 << 20));
        assert_eq!(parse_quantity("1.5Ki", 0), Some(1536));
        assert_eq!(parse_quantity("1e3", 0), Some(1000));
        assert_eq!(parse_quantity("128974848", 0), Some(128_974_848));
        assert_eq!(parse_quantity("1n", 0), Some(1), "rounded up");
        for bad in ["", "abc", "-1", "1Xi", "1..2", ".", "99999999999999999999Ei", "1e99"] {
            assert_eq!(parse_quantity(bad, 0), None, "{bad:?}");
        }
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration_seconds("15s"), Some(15.0));
        assert_eq!(go_duration_seconds("1m30s"), Some(90.0));
        assert_eq!(go_duration_seconds("1.5h"), Some(5400.0));
        assert_eq!(go_duration_seconds("0"), Some(0.0));
        assert_eq!(go_duration_seconds("500ms"), Some(0.5));
        for bad in ["", "15", "s", "1x", "1.s.", "--1s"] {
            assert_eq!(go_duration_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn usage_in_metrics_server_units() {
        let usage = Usage { cpu_nanocores: 250_000_000, memory_bytes: 64 << 20 };
        assert_eq!(usage.to_json(), json!({"cpu": "250000000n", "memory": "65536Ki"}));
        assert_eq!(Usage::default().to_json(), json!({"cpu": "0", "memory": "0"}));
        assert_eq!(Usage { cpu_nanocores: 1, memory_bytes: 1000 }.to_json(), json!({"cpu": "1n", "memory": "1000"}));
    }

    #[test]
    fn pods_get_list_and_selectors() {
        let table = MetricsTable::default();
        let now = at(0);
        assert!(table.put_pod("a", "web-1", &pod("web-1", json!({"app": "web"}), "250m", "64Mi"), now).unwrap().1);
        table.put_pod("a", "db-1", &pod("db-1", json!({"app": "db"}), "1", "1Gi"), now).unwrap();
        table.put_pod("b", "web-2", &pod("web-2", json!({"app": "web"}), "100m", "1Mi"), now).unwrap();
        let (_, created) =
            table.put_pod("a", "web-1", &pod("web-1", json!({"app": "web"}), "500m", "64Mi"), now).unwrap();
        assert!(!created, "a second PUT replaces");

        let later = at(3600);
        let got = table.get_pod("a", "web-1", later).unwrap();
        assert_eq!(got["kind"], "PodMetrics");
        assert_eq!(got["apiVersion"], "metrics.k8s.io/v1beta1");
        assert_eq!(
            got["metadata"],
            json!({"name": "web-1", "namespace": "a", "labels": {"app": "web"}, "creationTimestamp": "2026-01-01T01:00:00Z"})
        );
        assert_eq!(got["timestamp"], "2026-01-01T01:00:00Z", "the moment of serving");
        assert_eq!(got["window"], "30s");
        assert_eq!(got["containers"], json!([{"name": "app", "usage": {"cpu": "500000000n", "memory": "65536Ki"}}]));

        let all = table.list_pods(None, None, None, now).unwrap();
        assert_eq!((all["kind"].as_str(), all["metadata"].clone()), (Some("PodMetricsList"), json!({})));
        assert_eq!(names(&all), ["a/db-1", "a/web-1", "b/web-2"]);
        assert_eq!(names(&table.list_pods(Some("a"), None, None, now).unwrap()), ["a/db-1", "a/web-1"]);
        assert_eq!(names(&table.list_pods(Some("b"), Some("app=web"), None, now).unwrap()), ["b/web-2"]);
        assert_eq!(names(&table.list_pods(None, Some("app in (web)"), None, now).unwrap()), ["a/web-1", "b/web-2"]);
        assert_eq!(names(&table.list_pods(None, Some("app!=web"), None, now).unwrap()), ["a/db-1"]);
        assert_eq!(names(&table.list_pods(None, None, Some("metadata.namespace=b"), now).unwrap()), ["b/web-2"]);
        assert_eq!(names(&table.list_pods(Some("a"), None, Some("metadata.name!=db-1"), now).unwrap()), ["a/web-1"]);
        assert!(table.list_pods(Some("aa"), None, None, now).unwrap()["items"].as_array().unwrap().is_empty());
        assert_eq!(table.list_pods(None, Some("app in (web"), None, now).unwrap_err().code(), 400);
        assert_eq!(table.list_pods(None, None, Some("spec.nodeName=x"), now).unwrap_err().code(), 400);

        let missing = table.get_pod("a", "nope", now).unwrap_err();
        assert_eq!(missing.code(), 404);
        assert_eq!(missing.to_string(), "podmetrics.metrics.k8s.io \"a/nope\" not found");
        table.delete_pod("a", "web-1").unwrap();
        assert_eq!(table.get_pod("a", "web-1", now).unwrap_err().code(), 404);
        assert_eq!(table.delete_pod("a", "web-1").unwrap_err().code(), 404);
    }

    #[test]
    fn nodes_expire_five_minutes_after_their_last_refresh() {
        let table = MetricsTable::default();
        table.put_node("n-0", &node("n-0", "2"), at(0)).unwrap();
        table.put_node("n-1", &node("n-1", "1"), at(0)).unwrap();
        table.put_node("n-1", &node("n-1", "1500m"), at(200)).unwrap();
        let got = table.get_node("n-1", at(250)).unwrap();
        assert_eq!(got["usage"], json!({"cpu": "1500000000n", "memory": "1048576Ki"}));
        assert_eq!((got["window"].as_str(), got["metadata"].get("namespace")), (Some("15s"), None));
        assert_eq!(names(&table.list_nodes(None, None, at(300)).unwrap()), ["n-0", "n-1"]);
        // n-0 was last refreshed at 0: gone after 5 minutes.
        assert_eq!(names(&table.list_nodes(None, None, at(301)).unwrap()), ["n-1"]);
        let gone = table.get_node("n-0", at(301)).unwrap_err();
        assert_eq!(gone.to_string(), "nodemetrics.metrics.k8s.io \"n-0\" not found");
        assert_eq!(names(&table.list_nodes(Some("type=simulated"), None, at(301)).unwrap()), ["n-1"]);
        assert_eq!(names(&table.list_nodes(None, Some("metadata.name=n-1"), at(0)).unwrap()), ["n-1"]);
        assert_eq!(table.list_nodes(None, Some("metadata.namespace=x"), at(0)).unwrap_err().code(), 400);
        // A write sweeps expired entries out of memory.
        table.put_node("n-2", &node("n-2", "0"), at(400)).unwrap();
        assert!(!table.entries.read().nodes.contains_key("n-0"));
    }

    #[test]
    fn bad_bodies_are_refused_with_upstreams_codes() {
        let table = MetricsTable::default();
        let now = at(0);
        let err = |body: Value| table.put_pod("a", "p", &body, now).unwrap_err();
        let wrong_kind = err(json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"}}));
        assert_eq!(wrong_kind.code(), 400);
        let wrong_name = err(pod("q", json!({}), "1", "1"));
        assert_eq!(
            (wrong_name.code(), wrong_name.to_string().as_str()),
            (400, "the name of the object (q) does not match the name on the URL (p)")
        );
        let mut other_ns = pod("p", json!({}), "1", "1");
        other_ns["metadata"]["namespace"] = json!("b");
        assert_eq!(err(other_ns).code(), 400);
        assert_eq!(err(json!([1, 2])).code(), 400);

        let bad_cpu = err(pod("p", json!({}), "lots", "1Mi"));
        assert_eq!((bad_cpu.code(), bad_cpu.reason()), (422, "Invalid"));
        let cause = &bad_cpu.status().details.as_ref().unwrap().causes.as_ref().unwrap()[0];
        assert_eq!(cause.field.as_deref(), Some("containers[0].usage[cpu]"));
        assert_eq!(err(pod("p", json!({}), "-1", "1Mi")).code(), 422);
        assert_eq!(err(pod("p", json!({"bad key!": "x"}), "1", "1")).code(), 422);
        let mut no_memory = pod("p", json!({}), "1", "1");
        no_memory["containers"][0]["usage"] = json!({"cpu": "1"});
        assert_eq!(err(no_memory).code(), 422);
        let mut twice = pod("p", json!({}), "1", "1");
        twice["containers"] = json!([{"name": "a", "usage": {"cpu": "1", "memory": "1"}}, {"name": "a", "usage": {"cpu": "1", "memory": "1"}}]);
        assert_eq!(err(twice).code(), 422);
        let mut many = pod("p", json!({}), "1", "1");
        many["containers"] = Value::Array(
            (0..=MAX_CONTAINERS)
                .map(|i| json!({"name": format!("c{i}"), "usage": {"cpu": "1", "memory": "1"}}))
                .collect(),
        );
        assert_eq!(err(many).code(), 422);
        let mut window = pod("p", json!({}), "1", "1");
        window["window"] = json!("soon");
        assert_eq!(err(window).code(), 422);
        let mut node_body = node("n", "1");
        node_body["usage"]["memory"] = json!(12);
        assert_eq!(table.put_node("n", &node_body, now).unwrap_err().code(), 422);
        assert_eq!(table.put_node("m", &node("n", "1"), now).unwrap_err().code(), 400);
        assert!(table.list_pods(None, None, None, now).unwrap()["items"].as_array().unwrap().is_empty());
    }

    #[test]
    fn table_output_sums_containers() {
        let table = MetricsTable::default();
        let mut body = pod("p", json!({}), "100m", "1Mi");
        body["containers"] = json!([
            {"name": "a", "usage": {"cpu": "100m", "memory": "1Mi"}},
            {"name": "b", "usage": {"cpu": "150m", "memory": "3Mi"}},
        ]);
        table.put_pod("a", "p", &body, at(0)).unwrap();
        let list = table.list_pods(Some("a"), None, None, at(0)).unwrap();
        let shown = as_table(&list);
        assert_eq!(shown["rows"][0]["cells"], json!(["p", "250000000n", "4096Ki", "30s"]));
        assert_eq!(shown["columnDefinitions"].as_array().unwrap().len(), 4);
    }
}
