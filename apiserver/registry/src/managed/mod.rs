//! `metadata.managedFields`: which field manager set which fields, and how (upstream's
//! `k8s.io/apimachinery/pkg/util/managedfields` over structured-merge-diff). Every write records
//! its changes here; server-side apply ([`crate::patch::apply`]) also reads it to find
//! conflicts and the fields an applier stopped applying.
//!
//! ```text
//! managedFields:
//! - manager: kubectl            operation: Apply    the fields of kubectl's last applied config
//!   apiVersion: apps/v1         time: ...           fieldsType: FieldsV1   fieldsV1: {f:spec: ...}
//! - manager: kube-controller-manager   operation: Update   subresource: status
//!   ...                                                     the fields its writes last changed
//! ```
//!
//! A write by manager M (an Update, [`record_update`]): the fields it changed leave every entry
//! and join M's Update entry (one per manager, apiVersion and subresource), whose time is now.
//! Entries left empty go; at most [`MAX_UPDATE_ENTRIES`] Update entries stay (the oldest merge
//! into `ancient-changes`). Server-set metadata (name, uid, resourceVersion, generation, ...) is
//! never anyone's, and a write owns only the part of the object it may change ([`Scope`]).

pub mod fieldset;

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use self::fieldset::{FieldSet, compare_objects};
use crate::object::{Object, metadata, metadata_mut};
use crate::shape::Shape;

/// Update entries kept; older ones merge into one `ancient-changes` entry per apiVersion.
pub const MAX_UPDATE_ENTRIES: usize = 10;

/// The manager recorded when a write names none (no `fieldManager`, no User-Agent).
pub const UNKNOWN_MANAGER: &str = "unknown";

/// Paths nobody owns (upstream's `stripMetaManager`).
const STRIPPED: &[&[&str]] = &[
    &["f:apiVersion"],
    &["f:kind"],
    &["f:metadata"],
    &["f:metadata", "f:name"],
    &["f:metadata", "f:namespace"],
    &["f:metadata", "f:creationTimestamp"],
    &["f:metadata", "f:selfLink"],
    &["f:metadata", "f:uid"],
    &["f:metadata", "f:clusterName"],
    &["f:metadata", "f:generation"],
    &["f:metadata", "f:managedFields"],
    &["f:metadata", "f:resourceVersion"],
];

/// How a manager wrote its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// Server-side apply: the entry is the applier's whole configuration.
    Apply,
    /// Any other write: the entry is what the manager's writes changed.
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The manager's name.
    pub manager: String,
    /// How it wrote.
    pub operation: Operation,
    /// The apiVersion it wrote with.
    pub api_version: String,
    /// The subresource written ("" for the main resource).
    pub subresource: String,
    /// When it last changed something (metav1.Time), if known.
    pub time: Option<String>,
    /// The fields it owns.
    pub fields: FieldSet,
}

impl Entry {
    /// Whether two entries are the same manager (upstream's manager identifier): an applier is
    /// one manager whatever apiVersion it applies with, an updater is one per apiVersion.
    pub fn same_manager(&self, other: &Entry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == Operation::Apply || self.api_version == other.api_version)
    }

    /// The manager as conflicts name it: `"kubectl"`, `"helm" using apps/v1`,
    /// `"kubelet" with subresource "status" using v1`.
    pub fn describe(&self) -> String {
        let mut out = json!(self.manager).to_string();
        if !self.subresource.is_empty() {
            out.push_str(&format!(" with subresource {}", json!(self.subresource)));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

    fn to_json(&self) -> Value {
        let mut entry = Map::new();
        entry.insert("manager".into(), Value::String(self.manager.clone()));
        entry.insert("operation".into(), Value::String(self.operation.as_str().into()));
        entry.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        if let Some(time) = &self.time {
            entry.insert("time".into(), Value::String(time.clone()));
        }
        entry.insert("fieldsType".into(), Value::String("FieldsV1".into()));
        entry.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if !self.subresource.is_empty() {
            entry.insert("subresource".into(), Value::String(self.subresource.clone()));
        }
        Value::Object(entry)
    }

    fn from_json(value: &Value, index: usize) -> Result<Entry, String> {
        let field = |name: &str| value.get(name).and_then(Value::as_str).unwrap_or_default();
        let operation = match field("operation") {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            _ => return Err("operation must be `Apply` or `Update`".into()),
        };
        if field("apiVersion").is_empty() {
            return Err("apiVersion must not be empty".into());
        }
        match field("fieldsType") {
            "FieldsV1" => {}
            "" => return Err(format!("missing fieldsType in managed fields entry {index}")),
            other => return Err(format!("invalid fieldsType {other:?} in managed fields entry {index}")),
        }
        let fields = match value.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::default(),
            Some(fields) => FieldSet::from_fields_v1(fields)?,
        };
        Ok(Entry {
            manager: field("manager").to_string(),
            operation,
            api_version: field("apiVersion").to_string(),
            subresource: field("subresource").to_string(),
            time: value.get("time").and_then(Value::as_str).map(str::to_string),
            fields,
        })
    }
}

/// The entries of `metadata.managedFields` (none when absent), or why they are not valid.
pub fn decode(obj: &Object) -> Result<Vec<Entry>, String> {
    let Some(list) = metadata(obj).and_then(|m| m.get("managedFields")) else { return Ok(Vec::new()) };
    match list {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => {
            let mut entries: Vec<Entry> = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let entry = Entry::from_json(item, i)?;
                // Two entries of one manager: the later wins, as in upstream's map.
                entries.retain(|e| !e.same_manager(&entry));
                entries.push(entry);
            }
            Ok(entries)
        }
        _ => Err("managedFields must be a list".into()),
    }
}

/// Sets `metadata.managedFields` (removes it when there is no entry), sorted as upstream sorts
/// them: Apply before Update, then oldest first, then by manager, apiVersion, subresource.
pub fn encode(obj: &mut Object, entries: &[Entry]) {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| {
        (a.operation, seconds(a), &a.manager, &a.api_version, &a.subresource).cmp(&(
            b.operation,
            seconds(b),
            &b.manager,
            &b.api_version,
            &b.subresource,
        ))
    });
    let meta = metadata_mut(obj);
    if sorted.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(sorted.into_iter().map(Entry::to_json).collect()));
    }
}

/// Which part of an object a write may change, so which fields it can own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything (resources without a status subresource).
    Whole,
    /// Everything but `status` (the main resource when a status subresource exists).
    AllButStatus,
    /// Only `status` (the status subresource).
    StatusOnly,
}

/// Who writes, with what, and to which part of the object.
#[derive(Debug, Clone)]
pub struct Writer<'a> {
    /// The field manager ([`UNKNOWN_MANAGER`] when none was given).
    pub manager: &'a str,
    /// The apiVersion of the write (the resource's).
    pub api_version: &'a str,
    /// The subresource written ("" for the main resource).
    pub subresource: &'a str,
    /// The part of the object the write may change.
    pub scope: Scope,
    /// The type of the object.
    pub shape: Shape,
    /// Now, as a metav1.Time.
    pub now: String,
}

impl Writer<'_> {
    /// The part of `set` this writer can own: neither server-set metadata nor fields outside
    /// its scope.
    pub fn ownable(&self, set: &FieldSet) -> FieldSet {
        static STRIPPED_SET: LazyLock<FieldSet> = LazyLock::new(|| FieldSet::from_paths(STRIPPED.iter().copied()));
        let set = set.difference(&STRIPPED_SET);
        self.in_scope(&set)
    }

    /// The part of `set` inside this writer's scope.
    pub fn in_scope(&self, set: &FieldSet) -> FieldSet {
        self.restrict(set.clone())
    }

    /// [`Writer::in_scope`] in place.
    fn restrict(&self, mut set: FieldSet) -> FieldSet {
        match self.scope {
            Scope::Whole => {}
            Scope::AllButStatus => set.retain_below(|element| element != "f:status"),
            Scope::StatusOnly => set.retain_below(|element| element == "f:status"),
        }
        set
    }

    /// A fresh entry of this writer.
    pub fn entry(&self, operation: Operation, fields: FieldSet) -> Entry {
        Entry {
            manager: self.manager.to_string(),
            operation,
            api_version: self.api_version.to_string(),
            subresource: self.subresource.to_string(),
            time: Some(self.now.clone()),
            fields,
        }
    }
}

/// The object without `metadata.managedFields`, for comparing contents.
pub fn without_managed_fields(obj: &Object) -> Value {
    let mut copy = obj.clone();
    if let Some(Value::Object(meta)) = copy.get_mut("metadata") {
        meta.remove("managedFields");
    }
    Value::Object(copy)
}

/// Whether a request's `managedFields` asks to clear them: `[]` or `[{}]`.
fn is_reset(list: &Value) -> bool {
    match list {
        Value::Array(items) => items.is_empty() || (items.len() == 1 && items[0] == json!({})),
        _ => false,
    }
}

/// The entries a write starts from (upstream's `decodeLiveOrNew`): the request's own when it
/// sends valid ones (`[]` or `[{}]` clears them), else the stored object's. Subresource writes
/// always start from the stored object's.
fn starting_entries(stored: impl FnOnce() -> Vec<Entry>, new: &Object, from_request: bool) -> Vec<Entry> {
    if !from_request {
        return stored();
    }
    match metadata(new).and_then(|m| m.get("managedFields")) {
        Some(list) if is_reset(list) => Vec::new(),
        Some(_) => match decode(new) {
            Ok(entries) if !entries.is_empty() => entries,
            _ => stored(),
        },
        None => stored(),
    }
}

/// Records a write that is not an apply (upstream's Update operation) in `new`'s
/// `managedFields`. `old` is the stored object (`None` on create); `from_request` says whether
/// `managedFields` in `new` came from the client (main-resource writes) and may be honoured.
///
/// Cost: one walk over both objects that stops at equal subtrees (no copies), one decode of
/// the stored entries and one encode of the result.
pub fn record_update(old: Option<&Object>, new: &mut Object, writer: &Writer<'_>, from_request: bool) {
    // Only a write that changes nothing needs the stored entries again at the end.
    let unchanged = old.is_some_and(|old| same_but_bookkeeping(old, new));
    let mut stored = old.map(decode);
    let from_stored = || match &mut stored {
        Some(Ok(entries)) if unchanged => entries.clone(),
        Some(Ok(entries)) => std::mem::take(entries),
        _ => Vec::new(),
    };
    let mut entries = starting_entries(from_stored, new, from_request);
    let changes = compare_objects(old, new, writer.shape);
    let mut changed = changes.added;
    changed.union_with(&changes.modified);
    let changed = writer.restrict(changed);
    let mut gone = writer.restrict(changes.removed);
    gone.union_with(&changed);
    if !gone.is_empty() {
        for entry in &mut entries {
            entry.fields = entry.fields.difference(&gone);
        }
    }
    let mine = writer.ownable(&changed);
    if !mine.is_empty() {
        let update = writer.entry(Operation::Update, mine);
        match entries.iter_mut().find(|e| e.same_manager(&update)) {
            Some(entry) => {
                entry.fields.union_with(&update.fields);
                entry.time = update.time;
            }
            None => entries.push(update),
        }
    }
    entries.retain(|e| !e.fields.is_empty());
    cap_update_entries(&mut entries);
    // A write that changes nothing but entry times keeps the stored entries, so it writes
    // nothing (upstream's IgnoreManagedFieldsTimestampsTransformer): clients send back stale
    // managedFields with every object they read.
    if let Some(old) = old
        && unchanged
        && let Some(Ok(stored)) = &stored
        && same_but_times(stored, &entries)
    {
        let stored = metadata(old).and_then(|m| m.get("managedFields")).cloned();
        match stored {
            Some(list) => metadata_mut(new).insert("managedFields".into(), list),
            None => metadata_mut(new).remove("managedFields"),
        };
        return;
    }
    encode(new, &entries);
}

/// Whether two objects are equal but for `metadata.managedFields` and
/// `metadata.resourceVersion`.
fn same_but_bookkeeping(old: &Object, new: &Object) -> bool {
    let same_metadata = || match (old.get("metadata"), new.get("metadata")) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let kept = |m: &'_ Object| m.keys().filter(|k| *k != "managedFields" && *k != "resourceVersion").count();
            kept(a) == kept(b)
                && a.iter()
                    .filter(|(k, _)| *k != "managedFields" && *k != "resourceVersion")
                    .all(|(k, v)| b.get(k) == Some(v))
        }
        (a, b) => a == b,
    };
    old.len() == new.len() && old.iter().all(|(k, v)| k == "metadata" || new.get(k) == Some(v)) && same_metadata()
}

/// Whether two lists of entries differ at most in their times.
fn same_but_times(a: &[Entry], b: &[Entry]) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|x| b.iter().any(|y| x.same_manager(y) && x.api_version == y.api_version && x.fields == y.fields))
}

/// Merges the oldest Update entries into `ancient-changes` (one per apiVersion) until at most
/// [`MAX_UPDATE_ENTRIES`] remain (upstream's `capManagersManager`).
pub fn cap_update_entries(entries: &mut Vec<Entry>) {
    let updates = entries.iter().filter(|e| e.operation == Operation::Update).count();
    if updates <= MAX_UPDATE_ENTRIES {
        return;
    }
    let mut oldest: Vec<usize> = (0..entries.len()).filter(|&i| entries[i].operation == Operation::Update).collect();
    oldest.sort_by(|&a, &b| {
        (seconds(&entries[a]), &entries[a].manager).cmp(&(seconds(&entries[b]), &entries[b].manager))
    });
    let mut remaining = updates;
    let mut bucket_of_version: HashMap<String, usize> = HashMap::new();
    let mut merged = vec![false; entries.len()];
    for i in oldest {
        if remaining <= MAX_UPDATE_ENTRIES {
            break;
        }
        // The oldest entry of a version becomes its bucket; the next ones merge into it.
        let Some(&bucket) = bucket_of_version.get(&entries[i].api_version) else {
            bucket_of_version.insert(entries[i].api_version.clone(), i);
            continue;
        };
        let (fields, time) = (entries[i].fields.clone(), entries[i].time.clone());
        let bucket = &mut entries[bucket];
        bucket.manager = "ancient-changes".into();
        bucket.subresource = String::new();
        bucket.fields.union_with(&fields);
        bucket.time = time;
        merged[i] = true;
        remaining -= 1;
    }
    let mut index = 0;
    entries.retain(|_| {
        index += 1;
        !merged[index - 1]
    });
}

/// An entry's time in seconds (0 when unknown), for ordering.
fn seconds(entry: &Entry) -> i64 {
    entry.time.as_deref().and_then(|t| t.parse::<jiff::Timestamp>().ok()).map_or(0, |t| t.as_second())
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    fn object(value: Value) -> Object {
        value.as_object().unwrap().clone()
    }

    fn writer(manager: &str) -> Writer<'_> {
        Writer {
            manager,
            api_version: "v1",
            subresource: "",
            scope: Scope::Whole,
            shape: Shape::of("v1", "ConfigMap"),
            now: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn fields(obj: &Object, manager: &str) -> Value {
        decode(obj).unwrap().into_iter().find(|e| e.manager == manager).map_or(Value::Null, |e| e.fields.to_fields_v1())
    }

    #[test]
    fn create_then_updates_move_ownership() {
        let mut created = object(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm", "uid": "u", "labels": {"app": "a"}}, "data": {"a": "1", "b": "2"}}));
        record_update(None, &mut created, &writer("kubectl-create"), true);
        assert_eq!(
            fields(&created, "kubectl-create"),
            json!({"f:data": {".": {}, "f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}})
        );
        let entry = &created["metadata"]["managedFields"][0];
        assert_eq!((entry["operation"].as_str(), entry["apiVersion"].as_str()), (Some("Update"), Some("v1")));
        assert_eq!(entry["time"], "2026-01-01T00:00:00Z");
        assert!(entry.get("subresource").is_none());

        // Another manager changes a and adds c: a leaves kubectl-create.
        let mut updated = created.clone();
        updated["data"] = json!({"a": "9", "b": "2", "c": "3"});
        record_update(Some(&created), &mut updated, &writer("editor"), true);
        assert_eq!(fields(&updated, "editor"), json!({"f:data": {"f:a": {}, "f:c": {}}}));
        assert_eq!(
            fields(&updated, "kubectl-create"),
            json!({"f:data": {".": {}, "f:b": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}})
        );
        // Removing b takes it from its owner; a write that changes nothing records nothing.
        let mut removed = updated.clone();
        removed["data"].as_object_mut().unwrap().remove("b");
        record_update(Some(&updated), &mut removed, &writer("editor"), true);
        assert_eq!(
            fields(&removed, "kubectl-create"),
            json!({"f:data": {}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}})
        );
        let mut same = removed.clone();
        record_update(Some(&removed), &mut same, &writer("third"), true);
        assert_eq!(same, removed);
    }

    #[test]
    fn requests_may_set_or_clear_managed_fields() {
        let mut stored = object(json!({"metadata": {"name": "cm"}, "data": {"a": "1"}}));
        record_update(None, &mut stored, &writer("creator"), true);
        // A client-set list is honoured, a reset clears, an invalid one is ignored.
        let mut set = stored.clone();
        set["metadata"]["managedFields"] = json!([{"manager": "mine", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}}]);
        record_update(Some(&stored), &mut set, &writer("x"), true);
        assert_eq!(decode(&set).unwrap().iter().map(|e| e.manager.as_str()).collect::<Vec<_>>(), ["mine"]);
        let mut reset = stored.clone();
        reset["metadata"]["managedFields"] = json!([{}]);
        record_update(Some(&stored), &mut reset, &writer("x"), true);
        assert!(reset["metadata"].get("managedFields").is_none());
        let mut invalid = stored.clone();
        invalid["metadata"]["managedFields"] = json!([{"manager": "bad", "operation": "Delete"}]);
        record_update(Some(&stored), &mut invalid, &writer("x"), true);
        assert_eq!(invalid, stored);
        // Entries sent back with other times only change nothing.
        let mut stale = stored.clone();
        stale["metadata"]["managedFields"][0]["time"] = json!("2020-01-01T00:00:00Z");
        record_update(Some(&stored), &mut stale, &writer("x"), true);
        assert_eq!(stale, stored);
        // Subresource writes never take the request's.
        let mut status = stored.clone();
        status["metadata"]["managedFields"] = json!([]);
        record_update(Some(&stored), &mut status, &writer("x"), false);
        assert_eq!(status, stored);
    }

    #[test]
    fn scope_and_server_fields_are_not_owned() {
        let old = object(json!({"metadata": {"name": "p"}, "spec": {"a": 1}, "status": {"phase": "Pending"}}));
        let mut new = object(json!({"metadata": {"name": "p", "uid": "u", "generation": 2, "resourceVersion": "5"},
            "spec": {"a": 2}, "status": {"phase": "Running"}}));
        let mut main = writer("m");
        main.scope = Scope::AllButStatus;
        main.shape = Shape::default();
        record_update(Some(&old), &mut new, &main, true);
        assert_eq!(fields(&new, "m"), json!({"f:spec": {"f:a": {}}}));
        let mut status = object(json!({"metadata": {"name": "p"}, "spec": {"a": 3}, "status": {"phase": "Done"}}));
        let mut kubelet = writer("kubelet");
        kubelet.scope = Scope::StatusOnly;
        kubelet.subresource = "status";
        kubelet.shape = Shape::default();
        record_update(Some(&old), &mut status, &kubelet, false);
        assert_eq!(fields(&status, "kubelet"), json!({"f:status": {"f:phase": {}}}));
        assert_eq!(status["metadata"]["managedFields"][0]["subresource"], "status");
        let entry = Entry::from_json(&status["metadata"]["managedFields"][0], 0).unwrap();
        assert_eq!(entry.describe(), r#""kubelet" with subresource "status" using v1"#);
    }

    /// A defaulted pod as a client's create leaves it (status is the server's).
    fn typical_pod() -> Object {
        let container = |name: &str| {
            json!({"name": name, "image": "registry.example.com/app:1.2.3", "args": ["--port=8080", "--verbose"],
                "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 9090, "name": "metrics"}],
                "env": [{"name": "MODE", "value": "prod"}, {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
                "imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File"})
        };
        object(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-0", "namespace": "default", "uid": "0b3c", "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"app": "web", "tier": "frontend", "pod-template-hash": "abc123"},
                "annotations": {"example.com/owner": "team-a"}},
            "spec": {"containers": [container("app"), container("sidecar")],
                "volumes": [{"name": "config", "configMap": {"name": "app-config"}}],
                "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                "schedulerName": "default-scheduler", "securityContext": {}, "enableServiceLinks": true,
                "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]},
            "status": {"phase": "Pending", "qosClass": "Burstable"}}))
    }

    fn typical_config_map() -> Object {
        let data: Map<String, Value> = (0..8).map(|i| (format!("key-{i}"), json!("x".repeat(120)))).collect();
        object(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm-1", "namespace": "default", "uid": "0b3c", "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"app": "bench"}},
            "data": data}))
    }

    /// Microseconds per call of `f`, best of a few rounds.
    fn micros(mut f: impl FnMut()) -> f64 {
        let rounds = 5;
        let per_round = 2000;
        let mut best = f64::MAX;
        for _ in 0..rounds {
            let start = std::time::Instant::now();
            for _ in 0..per_round {
                f();
            }
            best = best.min(start.elapsed().as_secs_f64() * 1e6 / per_round as f64);
        }
        best
    }

    /// `cargo nextest run --workspace -E 'test(record_update_timing)' --run-ignored only
    /// --no-capture` (with `--cargo-profile release` for production numbers).
    #[test]
    #[ignore = "timing, run by hand"]
    fn record_update_timing() {
        let mut pod_writer = writer("kubectl-create");
        pod_writer.shape = Shape::of("v1", "Pod");
        pod_writer.scope = Scope::AllButStatus;
        let cm_writer = writer("kubectl-create");
        for (name, obj, w) in [("Pod", typical_pod(), &pod_writer), ("ConfigMap", typical_config_map(), &cm_writer)] {
            let create = micros(|| {
                let mut new = obj.clone();
                record_update(None, &mut new, w, true);
                std::hint::black_box(new);
            });
            let clone = micros(|| {
                std::hint::black_box(obj.clone());
            });
            let mut created = obj.clone();
            record_update(None, &mut created, w, true);
            let mut changed = created.clone();
            metadata_mut(&mut changed).insert("resourceVersion".into(), json!("7"));
            metadata_mut(&mut changed).get_mut("labels").unwrap()["app"] = json!("other");
            let editor = Writer { manager: "editor", ..w.clone() };
            let update = micros(|| {
                let mut new = changed.clone();
                record_update(Some(&created), &mut new, &editor, true);
                std::hint::black_box(new);
            });
            let noop = micros(|| {
                let mut new = created.clone();
                record_update(Some(&created), &mut new, &editor, true);
                std::hint::black_box(new);
            });
            let size = serde_json::to_vec(&created["metadata"]["managedFields"]).unwrap().len();
            println!(
                "{name}: create {:.1} µs, update of one label {:.1} µs, no-op update {:.1} µs (each includes a clone of {:.1} µs); managedFields {size} bytes",
                create - clone,
                update - clone,
                noop - clone,
                clone
            );
        }
    }

    #[test]
    fn update_entries_are_capped_into_ancient_changes() {
        let mut entries: Vec<Entry> = (0..12)
            .map(|i| Entry {
                manager: format!("m{i:02}"),
                operation: Operation::Update,
                api_version: "v1".into(),
                subresource: String::new(),
                time: Some(format!("2026-01-01T00:00:{i:02}Z")),
                fields: FieldSet::from_paths([&[format!("f:f{i}").as_str()][..]]),
            })
            .collect();
        cap_update_entries(&mut entries);
        assert_eq!(entries.len(), MAX_UPDATE_ENTRIES);
        let ancient = entries.iter().find(|e| e.manager == "ancient-changes").unwrap();
        assert_eq!(ancient.fields.paths().len(), 3, "m00, m01 and m02 merged");
        assert_eq!(ancient.time.as_deref(), Some("2026-01-01T00:00:02Z"));
    }
}
