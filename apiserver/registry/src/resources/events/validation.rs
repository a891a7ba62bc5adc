//! Upstream's validation of Events (`pkg/apis/core/validation/events.go`), which depends on the
//! API the write came through: every write passes the legacy rules; writes through
//! `events.k8s.io/v1` also pass the strict ones (`eventTime`, a Normal or Warning `type`, no
//! deprecated fields on create; what an event says never changes on update).
//!
//! The rules read the core `v1` form (what is stored; `events.k8s.io` objects are converted
//! first) and report upstream's field paths, which are those of its internal type in both
//! groups: `message`, `involvedObject.namespace`, `reportingController`, `firstTimestamp`.

use apiserver_machinery::field::{FieldError, FieldErrors, FieldValue};
use apiserver_machinery::names;
use jiff::Timestamp;
use serde_json::Value;

use crate::object::{Object, meta_str};

const REPORTING_INSTANCE_LIMIT: usize = 128;
const ACTION_LIMIT: usize = 128;
const REASON_LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

/// Namespaces a new-style event about a cluster-scoped object may live in.
const CLUSTER_EVENT_NAMESPACES: [&str; 2] = ["default", "kube-system"];

/// What an event says, which an `events.k8s.io` update may not change: (core field, reported
/// path). Upstream checks `reason` twice, so a changed reason is reported twice.
const IMMUTABLE: &[(&str, &str)] = &[
    ("involvedObject", "involvedObject"),
    ("reason", "reason"),
    ("message", "message"),
    ("source", "source"),
    ("firstTimestamp", "firstTimestamp"),
    ("lastTimestamp", "lastTimestamp"),
    ("count", "count"),
    ("reason", "reason"),
    ("type", "type"),
    ("eventTime", "eventTime"),
    ("action", "action"),
    ("related", "related"),
    ("reportingComponent", "reportingController"),
    ("reportingInstance", "reportingInstance"),
];

/// The rules of every Event write through core `v1` (upstream's `legacyValidateEvent`); the
/// update rules are the same, on the new object.
pub fn legacy(event: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let namespace = meta_str(event, "namespace");
    let involved_namespace =
        event.get("involvedObject").and_then(|o| o.get("namespace")).and_then(Value::as_str).unwrap_or_default();
    let namespace_mismatch =
        || FieldError::invalid("involvedObject.namespace", involved_namespace, "does not match event.namespace");
    if !is_set(event.get("eventTime")) {
        // Old-style events live with their object; those about cluster-scoped objects in
        // "default" (or nowhere, for old clients).
        let matches = if involved_namespace.is_empty() {
            namespace.is_empty() || namespace == "default"
        } else {
            namespace == involved_namespace
        };
        if !matches {
            errors.push(namespace_mismatch());
        }
    } else {
        if involved_namespace.is_empty() && !CLUSTER_EVENT_NAMESPACES.contains(&namespace) {
            errors.push(namespace_mismatch());
        }
        let controller = text(event, "reportingComponent");
        if controller.is_empty() {
            errors.push(FieldError::required("reportingController", ""));
        }
        for problem in names::qualified_name(controller) {
            errors.push(FieldError::invalid("reportingController", controller, problem));
        }
        required_with_limit(event, "reportingInstance", REPORTING_INSTANCE_LIMIT, &mut errors);
        required_with_limit(event, "action", ACTION_LIMIT, &mut errors);
        required_with_limit(event, "reason", REASON_LIMIT, &mut errors);
        if text(event, "message").len() > NOTE_LIMIT {
            errors.push(at_most("message", NOTE_LIMIT));
        }
    }
    for problem in names::dns1123_subdomain(namespace) {
        errors.push(FieldError::invalid("namespace", namespace, problem));
    }
    errors
}

/// [`legacy`] as an update rule (the old object does not matter).
pub fn legacy_update(new: &Object, _old: &Object) -> FieldErrors {
    legacy(new)
}

/// The rules of a create through `events.k8s.io/v1`: the legacy ones and the strict ones.
pub fn strict_create(event: &Object) -> FieldErrors {
    let mut errors = legacy(event);
    errors.extend(series(event));
    if !is_set(event.get("eventTime")) {
        errors.push(FieldError::required("eventTime", ""));
    }
    let event_type = text(event, "type");
    if event_type != "Normal" && event_type != "Warning" {
        errors.push(FieldError::invalid("type", "", format!("has invalid value: {event_type}")));
    }
    for deprecated in ["firstTimestamp", "lastTimestamp", "count"] {
        if is_set(event.get(deprecated)) {
            errors.push(needs_to_be_unset(deprecated));
        }
    }
    let source = event.get("source");
    if ["component", "host"].iter().any(|f| source.and_then(|s| s.get(f)).is_some_and(|v| is_set(Some(v)))) {
        errors.push(needs_to_be_unset("source"));
    }
    errors
}

/// The rules of an update through `events.k8s.io/v1`: the legacy ones, a changed series valid
/// again, and nothing else the event says changed.
pub fn strict_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = legacy(new);
    if !same(new.get("series"), old.get("series")) {
        errors.extend(series(new));
    }
    for &(field, path) in IMMUTABLE {
        if !same(new.get(field), old.get(field)) {
            errors.push(FieldError::invalid(path, shown(new.get(field)), "field is immutable"));
        }
    }
    errors
}

/// A series counts at least two occurrences and says when the last one was.
fn series(event: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    if let Some(series) = event.get("series").filter(|s| !s.is_null()) {
        if series.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
            errors.push(FieldError::invalid("series.count", "", "should be at least 2"));
        }
        if !is_set(series.get("lastObservedTime")) {
            errors.push(FieldError::required("series.lastObservedTime", ""));
        }
    }
    errors
}

fn required_with_limit(event: &Object, field: &str, limit: usize, errors: &mut FieldErrors) {
    let value = text(event, field);
    if value.is_empty() {
        errors.push(FieldError::required(field, ""));
    }
    if value.len() > limit {
        errors.push(at_most(field, limit));
    }
}

fn at_most(field: &str, limit: usize) -> FieldError {
    FieldError::invalid(field, "", format!("can have at most {limit} characters"))
}

fn needs_to_be_unset(field: &str) -> FieldError {
    FieldError::invalid(field, "", "needs to be unset")
}

/// A string field ("" when unset).
fn text<'a>(event: &'a Object, field: &str) -> &'a str {
    event.get(field).and_then(Value::as_str).unwrap_or_default()
}

/// Whether a value is its type's zero (what Go leaves out or sends as null): unset, "", 0,
/// false, Go's zero time, or an object of zeros.
fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty() || s.parse::<Timestamp>().is_ok_and(|t| t == zero_time()),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Bool(b) => !b,
        Value::Object(fields) => fields.values().all(is_zero),
        Value::Array(items) => items.is_empty(),
    }
}

fn is_set(value: Option<&Value>) -> bool {
    value.is_some_and(|v| !is_zero(v))
}

/// `0001-01-01T00:00:00Z`: Go's zero `time.Time`, which upstream reads as "unset".
fn zero_time() -> Timestamp {
    "0001-01-01T00:00:00Z".parse().expect("a valid timestamp")
}

/// Upstream's semantic equality: zero values equal absent ones, times equal at the same instant
/// however written.
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a.filter(|v| !is_zero(v)), b.filter(|v| !is_zero(v))) {
        (None, None) => true,
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            a.keys().chain(b.keys()).all(|key| same(a.get(key), b.get(key)))
        }
        (Some(Value::String(a)), Some(Value::String(b))) => {
            a == b || matches!((a.parse::<Timestamp>(), b.parse::<Timestamp>()), (Ok(a), Ok(b)) if a == b)
        }
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// A value as a field error shows it.
fn shown(value: Option<&Value>) -> FieldValue {
    match value {
        None | Some(Value::Null) => FieldValue::from(""),
        Some(Value::String(s)) => FieldValue::from(s),
        Some(Value::Bool(b)) => FieldValue::from(*b),
        Some(Value::Number(n)) => n.as_i64().map_or_else(|| FieldValue::from(n.to_string()), FieldValue::from),
        Some(other) => FieldValue::from(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Object {
        let Value::Object(obj) = value else { panic!("an object") };
        obj
    }

    fn fields(errors: &FieldErrors) -> Vec<String> {
        errors.iter().map(|e| e.field.to_string()).collect()
    }

    /// A valid new-style event (core form), as kube-rs's Recorder writes it.
    fn new_style() -> Object {
        object(json!({
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
            "eventTime": "2026-01-01T10:00:00.000001Z", "reportingComponent": "example.com/ctl",
            "reportingInstance": "ctl-1", "action": "Reconcile", "reason": "Ready", "type": "Normal",
            "message": "all good",
        }))
    }

    #[test]
    fn old_style_events_live_with_their_object() {
        let event = |namespace: &str, involved: Value| {
            object(json!({"metadata": {"name": "e", "namespace": namespace}, "involvedObject": involved}))
        };
        assert!(legacy(&event("team", json!({"namespace": "team"}))).is_empty());
        // About a cluster-scoped object: in "default" only.
        assert!(legacy(&event("default", json!({"kind": "Node"}))).is_empty());
        assert_eq!(fields(&legacy(&event("team", json!({"kind": "Node"})))), ["involvedObject.namespace"]);
        let err = legacy(&event("team", json!({"namespace": "other"})));
        assert_eq!(
            err.to_string(),
            "involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"
        );
    }

    #[test]
    fn new_style_events_need_their_reporter_action_and_reason() {
        assert!(legacy(&new_style()).is_empty());
        assert!(strict_create(&new_style()).is_empty());
        let mut event = new_style();
        for field in ["reportingComponent", "reportingInstance", "action", "reason"] {
            event.remove(field);
        }
        event.insert("message".into(), json!("x".repeat(1025)));
        event.insert("involvedObject".into(), json!({"kind": "Node", "name": "n1"}));
        event["metadata"]["namespace"] = json!("team");
        let errors = legacy(&event);
        assert_eq!(
            fields(&errors),
            [
                "involvedObject.namespace",
                "reportingController",
                "reportingController",
                "reportingInstance",
                "action",
                "reason",
                "message"
            ]
        );
        assert!(errors.to_string().contains("message: Invalid value: \"\": can have at most 1024 characters"));
        // A cluster-scoped object's new-style events may also live in kube-system.
        let mut node_event = new_style();
        node_event.insert("involvedObject".into(), json!({"kind": "Node", "name": "n1"}));
        node_event["metadata"]["namespace"] = json!("kube-system");
        assert!(legacy(&node_event).is_empty());
        let mut long = new_style();
        long.insert("action".into(), json!("a".repeat(129)));
        long.insert("reportingComponent".into(), json!("Not Qualified"));
        assert_eq!(fields(&legacy(&long)), ["reportingController", "action"]);
    }

    #[test]
    fn strict_creates_need_event_time_a_known_type_and_no_deprecated_fields() {
        let mut event = new_style();
        event.remove("eventTime");
        event.insert("type".into(), json!("Info"));
        event.insert("firstTimestamp".into(), json!("2026-01-01T10:00:00Z"));
        event.insert("count".into(), json!(1));
        event.insert("source".into(), json!({"component": "ctl"}));
        event.insert("series".into(), json!({"count": 1}));
        let errors = strict_create(&event);
        assert_eq!(
            fields(&errors),
            ["series.count", "series.lastObservedTime", "eventTime", "type", "firstTimestamp", "count", "source"]
        );
        assert!(errors.to_string().contains("type: Invalid value: \"\": has invalid value: Info"), "{errors}");
        // Zero values are unset, as Go reads them.
        let mut zeros = new_style();
        zeros.insert("count".into(), json!(0));
        zeros.insert("source".into(), json!({"component": ""}));
        zeros.insert("lastTimestamp".into(), Value::Null);
        assert!(strict_create(&zeros).is_empty(), "{}", strict_create(&zeros));
    }

    #[test]
    fn strict_updates_may_only_move_the_series() {
        let old = new_style();
        let mut repeated = old.clone();
        repeated.insert("series".into(), json!({"count": 2, "lastObservedTime": "2026-01-01T10:01:00.000000Z"}));
        // The same instant written differently is no change.
        repeated.insert("eventTime".into(), json!("2026-01-01T10:00:00.000001+00:00"));
        assert!(strict_update(&repeated, &old).is_empty(), "{}", strict_update(&repeated, &old));
        repeated.insert("series".into(), json!({"count": 1, "lastObservedTime": "2026-01-01T10:01:00.000000Z"}));
        assert_eq!(fields(&strict_update(&repeated, &old)), ["series.count"]);
        let mut changed = old.clone();
        changed.insert("message".into(), json!("other"));
        changed.insert("reason".into(), json!("Other"));
        changed.insert("involvedObject".into(), json!({"kind": "Pod", "name": "db", "namespace": "default"}));
        let errors = strict_update(&changed, &old);
        assert_eq!(fields(&errors), ["involvedObject", "reason", "message", "reason"]);
        assert!(errors.to_string().contains("message: Invalid value: \"other\": field is immutable"), "{errors}");
        // Core updates only re-check the legacy rules.
        assert!(legacy_update(&changed, &old).is_empty());
    }
}
