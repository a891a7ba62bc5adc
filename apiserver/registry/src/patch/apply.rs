//! Server-side apply (`application/apply-patch+yaml`): merges an applier's configuration into
//! the live object and records it as the applier's `managedFields` entry (upstream's
//! structured-merge-diff `Updater.Apply` with Kubernetes' field-manager wrappers).
//!
//! ```text
//! merged  = live ⊕ config          maps key by key, lists by their list type (shape.rs),
//!                                  scalars and atomic values replaced
//! pruned  = merged − (what the applier applied last time and no longer applies,
//!                     unless some manager, the applier's new config included, owns it)
//! changes = compare(live, pruned)  a changed field another manager owns is a conflict:
//!                                  409 unless force, which moves the field to the applier
//! entry   = the config's fields (Apply), others lose what changed or went
//! ```
//!
//! Two upstream rules for kubectl, which switches users between client- and server-side apply:
//! conflicts with fields its client-side `last-applied-configuration` annotation holds (with
//! the live values) do not count for manager `kubectl`, and that annotation, when present, is
//! rewritten to the applied configuration.

use std::collections::BTreeSet;

use apiserver_machinery::ApiError;
use serde_json::{Map, Value};

use crate::managed::fieldset::{FieldSet, compare, display_path, item_element, remove};
use crate::managed::{self, Entry, Operation, Writer, without_managed_fields};
use crate::object::{Object, metadata, metadata_mut};
use crate::shape::{Field, ListType, PatchList, Shape};

/// kubectl's client-side apply annotation.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The manager kubectl's server-side apply uses by default, the one the last-applied rules
/// are for.
const KUBECTL: &str = "kubectl";

/// What went wrong with an apply.
#[derive(Debug, Clone, PartialEq)]
pub enum ApplyError {
    /// Fields the applier would change belong to other managers: (manager, field path) pairs.
    Conflicts(Vec<(Entry, Vec<String>)>),
    /// The configuration cannot be typed (a map-list item without its key, duplicates).
    Invalid(String),
}

impl ApplyError {
    /// The error as upstream reports it: 409 with one cause per conflict, or a 500 without a
    /// reason naming the object.
    pub fn into_api_error(self, object: &str) -> ApiError {
        match self {
            ApplyError::Invalid(why) => {
                ApiError::unknown(format!("failed to create typed patch object ({object}): {why}"))
            }
            ApplyError::Conflicts(conflicts) => {
                let causes: Vec<(String, String)> = conflicts
                    .iter()
                    .map(|(entry, path)| (display_path(path), format!("conflict with {}", entry.describe())))
                    .collect();
                let message = if let [(entry, path)] = conflicts.as_slice() {
                    format!("Apply failed with 1 conflict: conflict with {}: {}", entry.describe(), display_path(path))
                } else {
                    let mut managers: Vec<String> = conflicts.iter().map(|(e, _)| e.describe()).collect();
                    managers.dedup();
                    let mut lines = Vec::new();
                    for manager in managers {
                        lines.push(format!("conflicts with {manager}:"));
                        for (_, path) in conflicts.iter().filter(|(e, _)| e.describe() == manager) {
                            lines.push(format!("- {}", display_path(path)));
                        }
                    }
                    format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
                };
                ApiError::apply_conflict(message, causes)
            }
        }
    }
}

/// Applies `config` to `live` (`None`: the object does not exist yet) for `writer`: the object
/// to store, with its `managedFields` set.
pub fn apply(live: Option<&Object>, config: &Object, writer: &Writer<'_>, force: bool) -> Result<Object, ApplyError> {
    let entries = live.and_then(|live| managed::decode(live).ok()).unwrap_or_default();
    let live_value = live.map_or_else(|| Value::Object(Map::new()), without_managed_fields);
    let outcome = match apply_once(&live_value, config, &entries, writer, force) {
        Err(ApplyError::Conflicts(conflicts)) if writer.manager == KUBECTL && !force => {
            // Conflicts with what kubectl's client-side apply set, still as it set it, do not
            // count: the same user is moving to server-side apply.
            let allowed = live.map(|live| from_last_applied(live, writer)).unwrap_or_default();
            let remaining: Vec<_> = conflicts.into_iter().filter(|(_, path)| !allowed.has(path.as_slice())).collect();
            if remaining.is_empty() {
                apply_once(&live_value, config, &entries, writer, true)
            } else {
                Err(ApplyError::Conflicts(remaining))
            }
        }
        other => other,
    };
    let (mut merged, mut after, changed) = outcome?;
    if !changed {
        // The applier's time says when it last changed the object: a no-op keeps it.
        let mine = writer.entry(Operation::Apply, FieldSet::default());
        let time = entries.iter().find(|e| e.same_manager(&mine)).and_then(|e| e.time.clone());
        for entry in after.iter_mut().filter(|e| e.same_manager(&mine)) {
            entry.time = time.clone();
        }
    }
    if writer.manager == KUBECTL {
        update_last_applied(&mut merged, config);
    }
    let mut obj = match merged {
        Value::Object(obj) => obj,
        _ => Map::new(),
    };
    managed::cap_update_entries(&mut after);
    managed::encode(&mut obj, &after);
    Ok(obj)
}

/// One attempt: the merged object, the entries after it, and whether the object changed.
fn apply_once(
    live: &Value,
    config: &Object,
    entries: &[Entry],
    writer: &Writer<'_>,
    force: bool,
) -> Result<(Value, Vec<Entry>, bool), ApplyError> {
    let shape = writer.shape;
    let config_value = Value::Object(config.clone());
    let applied = writer.in_scope(&FieldSet::of_config(&config_value, shape).map_err(ApplyError::Invalid)?);
    let mut merged = merge(Some(live), Some(&config_value), &root(shape))?.unwrap_or_else(|| Value::Object(Map::new()));
    let mine = writer.entry(Operation::Apply, FieldSet::default());
    let last = entries.iter().find(|e| e.same_manager(&mine)).map(|e| e.fields.clone()).unwrap_or_default();
    if !last.is_empty() {
        // Remove what this applier applied before and not now, unless someone still owns it
        // (the applier's new configuration included).
        let mut owned = applied.clone();
        for entry in entries.iter().filter(|e| !e.same_manager(&mine)) {
            owned.union_with(&entry.fields);
        }
        let present = FieldSet::of_config(&merged, shape).unwrap_or_default().with_named_fields();
        let gone = present.intersection(&last.with_named_fields()).difference(&owned.with_named_fields());
        if let Value::Object(obj) = &mut merged {
            remove(obj, &gone, shape);
        }
    }
    let changes = compare(live, &merged, shape);
    let changed = writer.in_scope(&changes.modified.union(&changes.added));
    let removed = writer.in_scope(&changes.removed);
    let mut conflicts = Vec::new();
    let mut out = Vec::with_capacity(entries.len() + 1);
    for entry in entries.iter().filter(|e| !e.same_manager(&mine)) {
        let taken = entry.fields.intersection(&changed);
        conflicts.extend(taken.paths().into_iter().map(|path| (entry.clone(), path)));
        let mut entry = entry.clone();
        entry.fields = entry.fields.difference(&taken).difference(&removed);
        out.push(entry);
    }
    if !force && !conflicts.is_empty() {
        conflicts.sort_by(|(a, pa), (b, pb)| (a.describe(), pa).cmp(&(b.describe(), pb)));
        return Err(ApplyError::Conflicts(conflicts));
    }
    out.push(writer.entry(Operation::Apply, writer.ownable(&applied)));
    out.retain(|e| !e.fields.is_empty());
    let changed_at_all = merged != *live;
    Ok((merged, out, changed_at_all))
}

/// The fields kubectl's client-side apply set that still have the values it set: the
/// `last-applied-configuration`'s fields minus those the live object changed, added or lost.
fn from_last_applied(live: &Object, writer: &Writer<'_>) -> FieldSet {
    let annotation = metadata(live)
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Ok(last_applied @ Value::Object(_)) = serde_json::from_str::<Value>(annotation) else {
        return FieldSet::default();
    };
    if last_applied.get("apiVersion").and_then(Value::as_str) != Some(writer.api_version) {
        return FieldSet::default();
    }
    let Ok(fields) = FieldSet::of_config(&last_applied, writer.shape) else { return FieldSet::default() };
    let changes = compare(&last_applied, &without_managed_fields(live), writer.shape);
    fields.difference(&changes.modified).difference(&changes.added).difference(&changes.removed)
}

/// Rewrites an existing last-applied annotation to the applied configuration (without the
/// annotation itself), as compact JSON with a newline like kubectl writes it.
fn update_last_applied(merged: &mut Value, config: &Object) {
    let Some(annotations) = merged.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) else { return };
    if !annotations.contains_key(LAST_APPLIED) {
        return;
    }
    let mut config = config.clone();
    if let Some(Value::Object(own)) = config.get_mut("metadata").and_then(|m| m.get_mut("annotations")) {
        own.remove(LAST_APPLIED);
    }
    annotations.insert(LAST_APPLIED.into(), Value::String(format!("{}\n", Value::Object(config))));
}

/// The field describing a whole object of `shape`.
fn root(shape: Shape) -> Field {
    Field { shape, atomic: false, list: ListType::Atomic, patch: PatchList::Replace, present: true }
}

/// Merges `config` over `live` (upstream's typed `Merge`): `None` when the result is no value
/// (a null in the configuration unsets).
fn merge(live: Option<&Value>, config: Option<&Value>, field: &Field) -> Result<Option<Value>, ApplyError> {
    let live = live.filter(|v| !v.is_null());
    let Some(config) = config else { return Ok(live.cloned()) };
    match config {
        Value::Null => Ok(None),
        Value::Object(theirs) if !field.atomic => {
            let empty = Map::new();
            let mine = live.and_then(Value::as_object).unwrap_or(&empty);
            if mine.is_empty() && theirs.is_empty() {
                return Ok(Some(config.clone()));
            }
            let mut out = Map::new();
            let names: BTreeSet<&String> = mine.keys().chain(theirs.keys()).collect();
            for name in names {
                if let Some(value) = merge(mine.get(name), theirs.get(name), &field.shape.field(name))? {
                    out.insert(name.clone(), value);
                }
            }
            Ok(Some(Value::Object(out)))
        }
        Value::Array(theirs) if field.list != ListType::Atomic => {
            let mine = live.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            if mine.is_empty() && theirs.is_empty() {
                return Ok(Some(config.clone()));
            }
            merge_list(mine, theirs, field).map(|items| Some(Value::Array(items)))
        }
        _ => Ok(Some(config.clone())),
    }
}

/// Merges a set or map list: items match by element; the result keeps the live order, with
/// the configuration's items placed relative to the items both share (structured-merge-diff's
/// ordering).
fn merge_list(live: &[Value], config: &[Value], field: &Field) -> Result<Vec<Value>, ApplyError> {
    let element = |item: &Value| item_element(item, field.list).map_err(ApplyError::Invalid);
    let mut theirs: Vec<(String, &Value)> = Vec::with_capacity(config.len());
    for item in config {
        let key = element(item)?;
        if theirs.iter().any(|(k, _)| *k == key) {
            return Err(ApplyError::Invalid(format!(
                "duplicate entries for key {}",
                display_path(std::slice::from_ref(&key))
            )));
        }
        theirs.push((key, item));
    }
    // Live duplicates (allowed there) merge as one item without a live value.
    let mut mine: Vec<(String, Option<&Value>)> = Vec::with_capacity(live.len());
    for item in live {
        let Ok(key) = item_element(item, field.list) else { continue };
        match mine.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = None,
            None => mine.push((key, Some(item))),
        }
    }
    let their = |key: &str| theirs.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
    let my = |key: &str| mine.iter().find(|(k, _)| k == key).and_then(|(_, v)| *v);
    let item_field = Field { list: ListType::Atomic, present: false, ..*field };
    let merge_item = |key: &str| -> Result<Option<Value>, ApplyError> {
        if matches!(field.list, ListType::Map(_)) {
            merge(my(key), their(key), &item_field)
        } else {
            Ok(their(key).cloned())
        }
    };
    let mut shared: std::collections::VecDeque<&str> =
        theirs.iter().map(|(k, _)| k.as_str()).filter(|k| mine.iter().any(|(m, _)| m == k)).collect();
    let mut next_shared = shared.pop_front();
    let mut merged_theirs: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::with_capacity(live.len().max(config.len()));
    let (mut l, mut r) = (0, 0);
    while l < mine.len() || r < theirs.len() {
        if l < mine.len() && r < theirs.len() {
            let key = mine[l].0.as_str();
            if key == theirs[r].0 {
                merged_theirs.insert(key);
                out.extend(merge_item(key)?);
                l += 1;
                r += 1;
                next_shared = shared.pop_front();
                continue;
            }
            if their(key).is_some() && next_shared.is_some_and(|s| s != key) {
                l += 1;
                continue;
            }
        }
        if l < mine.len() {
            let (key, value) = (&mine[l].0, mine[l].1);
            if their(key).is_none() {
                // Only in the live list: kept as it is.
                out.extend(value.cloned());
                l += 1;
                continue;
            } else if merged_theirs.contains(key.as_str()) {
                l += 1;
            }
        }
        if r < theirs.len() {
            let key = theirs[r].0.as_str();
            merged_theirs.insert(key);
            out.extend(merge_item(key)?);
            r += 1;
            if next_shared == Some(key) {
                next_shared = shared.pop_front();
            }
        }
    }
    Ok(out)
}

/// Checks an applied configuration against the resource: an object of its apiVersion and kind
/// without `managedFields` (upstream's messages).
pub fn check_config(config: &Value, api_version: &str, kind: &str) -> Result<Object, ApiError> {
    let Value::Object(config) = config else {
        return Err(ApiError::bad_request("error decoding YAML: the applied configuration must be an object"));
    };
    let field = |name: &str| config.get(name).and_then(Value::as_str).unwrap_or_default();
    if field("apiVersion") != api_version || field("kind") != kind {
        let (group, version) = field("apiVersion").split_once('/').unwrap_or(("", field("apiVersion")));
        return Err(ApiError::bad_request(format!("invalid object type: {group}/{version}, Kind={}", field("kind"))));
    }
    if metadata(config).and_then(|m| m.get("managedFields")).is_some_and(|m| !m.is_null()) {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    Ok(config.clone())
}

/// Sets the object's `resourceVersion` (the precondition its update is checked against) unless
/// the configuration named one.
pub fn set_precondition(obj: &mut Object, config: &Object, live_resource_version: &str) {
    let named = metadata(config)
        .and_then(|m| m.get("resourceVersion"))
        .and_then(Value::as_str)
        .is_some_and(|rv| !rv.is_empty());
    if !named {
        metadata_mut(obj).insert("resourceVersion".into(), Value::String(live_resource_version.into()));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::managed::Scope;

    fn object(value: Value) -> Object {
        value.as_object().unwrap().clone()
    }

    fn writer(manager: &str) -> Writer<'_> {
        Writer {
            manager,
            api_version: "apps/v1",
            subresource: "",
            scope: Scope::AllButStatus,
            shape: Shape::of("apps/v1", "Deployment"),
            now: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn deployment(replicas: i64, containers: Value) -> Object {
        object(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}}}}))
    }

    fn fields(obj: &Object, manager: &str) -> Value {
        managed::decode(obj)
            .unwrap()
            .into_iter()
            .find(|e| e.manager == manager)
            .map_or(Value::Null, |e| e.fields.to_fields_v1())
    }

    fn names(obj: &Object, list: &str) -> Vec<String> {
        obj["spec"]["template"]["spec"]["containers"][0][list]
            .as_array()
            .map(|items| items.iter().map(|i| i["name"].as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn apply_creates_then_merges_and_removes_what_it_stopped_applying() {
        let config = deployment(
            2,
            json!([{"name": "web", "image": "nginx", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]),
        );
        let created = apply(None, &config, &writer("kubectl"), false).unwrap();
        assert_eq!(created["spec"]["replicas"], 2);
        let entry = &created["metadata"]["managedFields"][0];
        assert_eq!((entry["manager"].as_str(), entry["operation"].as_str()), (Some("kubectl"), Some("Apply")));
        let owned = fields(&created, "kubectl");
        assert_eq!(owned["f:spec"]["f:selector"], json!({}));
        assert!(owned["f:metadata"].get("f:name").is_none(), "metadata.name is nobody's");
        assert_eq!(
            owned["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["f:env"]["k:{\"name\":\"B\"}"],
            json!({".": {}, "f:name": {}, "f:value": {}})
        );
        // Someone else adds env C and a label; the applier drops B: B goes, C and the label stay.
        let mut live = created.clone();
        live["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "C", "value": "3"}));
        live["metadata"]["labels"] = json!({"team": "x"});
        managed::record_update(
            Some(&created),
            &mut live,
            &Writer { scope: Scope::AllButStatus, ..writer("editor") },
            true,
        );
        let config = deployment(2, json!([{"name": "web", "image": "nginx", "env": [{"name": "A", "value": "1"}]}]));
        let applied = apply(Some(&live), &config, &writer("kubectl"), false).unwrap();
        assert_eq!(names(&applied, "env"), ["A", "C"]);
        assert_eq!(applied["metadata"]["labels"], json!({"team": "x"}));
        assert!(fields(&applied, "kubectl")["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["f:env"]
            .get("k:{\"name\":\"B\"}")
            .is_none());
        // Dropping a field another applier also applies keeps it.
        let other = object(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2}}),
        );
        let shared = apply(Some(&applied), &other, &writer("helm"), false).unwrap();
        assert_eq!(fields(&shared, "helm"), json!({"f:spec": {"f:replicas": {}}}));
        let without_replicas =
            object(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": config["spec"]["template"]}}));
        let kept = apply(Some(&shared), &without_replicas, &writer("kubectl"), false).unwrap();
        assert_eq!(kept["spec"]["replicas"], 2, "helm still applies replicas");
        let gone = apply(Some(&applied), &without_replicas, &writer("kubectl"), false).unwrap();
        assert!(gone["spec"].get("replicas").is_none(), "nobody applies replicas any more");
    }

    #[test]
    fn conflicts_need_force_which_moves_ownership() {
        let config = deployment(2, json!([{"name": "web", "image": "nginx"}]));
        let created = apply(None, &config, &writer("helm"), false).unwrap();
        let mut scaled = deployment(2, json!([{"name": "web", "image": "nginx"}]));
        scaled["spec"]["replicas"] = json!(5);
        scaled["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
        let err = apply(Some(&created), &scaled, &writer("kubectl"), false).unwrap_err();
        let ApplyError::Conflicts(conflicts) = &err else { panic!("{err:?}") };
        assert_eq!(
            conflicts.iter().map(|(e, p)| format!("{} {}", e.manager, display_path(p))).collect::<Vec<_>>(),
            ["helm .spec.replicas", "helm .spec.template.spec.containers[name=\"web\"].image"]
        );
        let status = err.clone().into_api_error("default/web; apps/v1, Kind=Deployment");
        assert_eq!(status.code(), 409);
        assert_eq!(
            status.to_string(),
            "Apply failed with 2 conflicts: conflicts with \"helm\":\n- .spec.replicas\n- .spec.template.spec.containers[name=\"web\"].image"
        );
        let causes = status.status().details.as_ref().unwrap().causes.clone().unwrap();
        assert_eq!(causes[0].field.as_deref(), Some(".spec.replicas"));
        assert_eq!(causes[0].message.as_deref(), Some("conflict with \"helm\""));
        // The same values are no conflict: both own them.
        let same = apply(Some(&created), &config, &writer("kubectl"), false).unwrap();
        assert!(fields(&same, "helm")["f:spec"].get("f:replicas").is_some());
        assert!(fields(&same, "kubectl")["f:spec"].get("f:replicas").is_some());
        // Force takes them.
        let forced = apply(Some(&created), &scaled, &writer("kubectl"), true).unwrap();
        assert_eq!(forced["spec"]["replicas"], 5);
        assert!(fields(&forced, "helm")["f:spec"].get("f:replicas").is_none());
        assert!(fields(&forced, "kubectl")["f:spec"].get("f:replicas").is_some());
    }

    #[test]
    fn conflicts_with_an_updater_and_client_side_apply() {
        let mut created = deployment(2, json!([{"name": "web", "image": "nginx"}]));
        let last_applied = format!("{}\n", Value::Object(created.clone()));
        created["metadata"]["annotations"] = json!({LAST_APPLIED: last_applied});
        let csa = writer("kubectl-client-side-apply");
        managed::record_update(None, &mut created, &csa, true);
        // kubectl moving to server-side apply may take what its client-side apply set...
        let mut config = deployment(3, json!([{"name": "web", "image": "nginx"}]));
        let moved = apply(Some(&created), &config, &writer("kubectl"), false).unwrap();
        assert_eq!(moved["spec"]["replicas"], 3);
        let annotation: Value =
            serde_json::from_str(moved["metadata"]["annotations"][LAST_APPLIED].as_str().unwrap()).unwrap();
        assert_eq!(annotation["spec"]["replicas"], 3, "the annotation follows the applied config");
        // ...but not a field client-side apply did not set (a default here), nor may others.
        config["spec"]["progressDeadlineSeconds"] = json!(60);
        let mut defaulted = created.clone();
        defaulted["spec"]["progressDeadlineSeconds"] = json!(600);
        managed::record_update(Some(&created), &mut defaulted, &csa, true);
        let err = apply(Some(&defaulted), &config, &writer("kubectl"), false).unwrap_err();
        let message = err.into_api_error("x").to_string();
        assert_eq!(
            message,
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.progressDeadlineSeconds"
        );
        let err =
            apply(Some(&created), &deployment(3, json!([{"name": "web", "image": "nginx"}])), &writer("other"), false);
        assert!(matches!(err, Err(ApplyError::Conflicts(c)) if c.len() == 1));
    }

    #[test]
    fn lists_merge_by_type_and_keep_their_order() {
        let live = json!(["a", "b", "c"]);
        let finalizers = Shape::of("apps/v1", "Deployment").field("metadata").shape.field("finalizers");
        assert_eq!(
            merge_list(live.as_array().unwrap(), &[json!("d"), json!("b")], &finalizers).unwrap(),
            [json!("a"), json!("d"), json!("b"), json!("c")]
        );
        let containers = Shape::of("v1", "Pod").field("spec").shape.field("containers");
        let live = [json!({"name": "a", "image": "1"}), json!({"name": "b", "image": "2"})];
        let config = [json!({"name": "c", "image": "3"}), json!({"name": "a", "image": "4"})];
        let merged = merge_list(&live, &config, &containers).unwrap();
        assert_eq!(
            merged,
            [
                json!({"name": "c", "image": "3"}),
                json!({"name": "a", "image": "4"}),
                json!({"name": "b", "image": "2"})
            ]
        );
        let args = containers.shape.field("args");
        assert_eq!(merge(Some(&json!(["x", "y"])), Some(&json!(["z"])), &args).unwrap(), Some(json!(["z"])), "atomic");
        let err = merge_list(&[], &[json!({"image": "x"})], &containers).unwrap_err();
        assert!(matches!(err, ApplyError::Invalid(why) if why.contains("omits key field \"name\"")));
        assert!(matches!(
            merge_list(&[], &[json!({"name": "a"}), json!({"name": "a"})], &containers),
            Err(ApplyError::Invalid(_))
        ));
        // A null unsets; an atomic selector is replaced whole.
        let shape = Shape::of("apps/v1", "Deployment");
        let merged = merge(
            Some(&json!({"spec": {"replicas": 1, "selector": {"matchLabels": {"a": "1", "b": "2"}}}})),
            Some(&json!({"spec": {"replicas": null, "selector": {"matchLabels": {"c": "3"}}}})),
            &root(shape),
        )
        .unwrap();
        assert_eq!(merged, Some(json!({"spec": {"selector": {"matchLabels": {"c": "3"}}}})));
    }

    #[test]
    fn configs_must_match_the_resource() {
        let ok = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
        assert!(check_config(&ok, "apps/v1", "Deployment").is_ok());
        let err = check_config(&json!({"apiVersion": "v1", "kind": "Pod"}), "apps/v1", "Deployment").unwrap_err();
        assert_eq!((err.code(), err.to_string().as_str()), (400, "invalid object type: /v1, Kind=Pod"));
        let mut managed = ok.clone();
        managed["metadata"]["managedFields"] = json!([]);
        assert_eq!(
            check_config(&managed, "apps/v1", "Deployment").unwrap_err().to_string(),
            "metadata.managedFields must be nil"
        );
    }
}
