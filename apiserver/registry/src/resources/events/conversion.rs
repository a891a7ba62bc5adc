//! Events between `events.k8s.io/v1` (served) and core `v1` (stored), as upstream converts them
//! (`pkg/apis/events/v1/conversion.go`): the same fields under newer names. Both types hold
//! the same fields, so the conversion loses nothing either way; what neither type knows is
//! dropped, as upstream's decoding drops it.

use serde_json::{Map, json};

use crate::object::Object;

/// `events.k8s.io/v1` name → core `v1` name, for the fields that were renamed.
const RENAMED: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("reportingController", "reportingComponent"),
];

/// Fields both types carry under one name.
const SHARED: &[&str] =
    &["kind", "metadata", "eventTime", "series", "action", "reason", "related", "reportingInstance", "type"];

/// Copies the shared fields and the renamed ones (`(from, to)` pairs) into a new object of
/// `api_version`.
fn convert(mut obj: Object, api_version: &str, renames: impl Iterator<Item = (&'static str, &'static str)>) -> Object {
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!(api_version));
    for field in SHARED {
        if let Some(value) = obj.remove(*field) {
            out.insert((*field).into(), value);
        }
    }
    for (from, to) in renames {
        if let Some(value) = obj.remove(from) {
            out.insert(to.into(), value);
        }
    }
    out
}

/// An `events.k8s.io/v1` Event as the core `v1` Event that is stored. `involvedObject` is
/// always there (a struct, not a pointer, upstream; required by core clients' types).
pub fn to_core(obj: Object) -> Object {
    let mut core = convert(obj, "v1", RENAMED.iter().copied());
    core.entry("involvedObject").or_insert_with(|| json!({}));
    core
}

/// A stored core `v1` Event as `events.k8s.io/v1`.
pub fn from_core(obj: Object) -> Object {
    convert(obj, "events.k8s.io/v1", RENAMED.iter().map(|&(new, old)| (old, new)))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn object(value: Value) -> Object {
        let Value::Object(obj) = value else { panic!("an object") };
        obj
    }

    fn full_v1() -> Object {
        object(json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "default", "labels": {"a": "b"}},
            "eventTime": "2026-01-01T10:00:00.123456Z",
            "series": {"count": 3, "lastObservedTime": "2026-01-01T10:05:00.000001Z"},
            "reportingController": "example.com/ctl", "reportingInstance": "ctl-1",
            "action": "Scale", "reason": "Scaled", "type": "Normal", "note": "scaled to 3",
            "regarding": {"kind": "Deployment", "name": "web", "namespace": "default", "uid": "u1"},
            "related": {"kind": "ReplicaSet", "name": "web-1", "namespace": "default"},
            "deprecatedSource": {"component": "ctl", "host": "n1"},
            "deprecatedFirstTimestamp": "2026-01-01T10:00:00Z",
            "deprecatedLastTimestamp": "2026-01-01T10:05:00Z",
            "deprecatedCount": 3,
        }))
    }

    #[test]
    fn events_k8s_io_fields_land_on_their_core_names_and_back() {
        let core = to_core(full_v1());
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["kind"], "Event");
        assert_eq!(core["involvedObject"]["name"], "web");
        assert_eq!(core["message"], "scaled to 3");
        assert_eq!(core["source"], json!({"component": "ctl", "host": "n1"}));
        assert_eq!(core["firstTimestamp"], "2026-01-01T10:00:00Z");
        assert_eq!(core["lastTimestamp"], "2026-01-01T10:05:00Z");
        assert_eq!(core["count"], 3);
        assert_eq!(core["reportingComponent"], "example.com/ctl");
        for same in ["eventTime", "series", "action", "reason", "related", "reportingInstance", "type", "metadata"] {
            assert_eq!(core[same], full_v1()[same], "{same}");
        }
        for gone in ["regarding", "note", "deprecatedSource", "deprecatedCount", "reportingController"] {
            assert!(!core.contains_key(gone), "{gone}");
        }
        assert_eq!(from_core(core), full_v1());
    }

    #[test]
    fn core_events_round_trip_through_events_k8s_io() {
        let core = object(json!({
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": "x.1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "x", "namespace": "default", "fieldPath": "spec.containers{app}"},
            "reason": "BackOff", "message": "Back-off", "type": "Warning", "count": 7,
            "source": {"component": "kubelet", "host": "n1"},
            "firstTimestamp": "2026-01-01T10:00:00Z", "lastTimestamp": "2026-01-01T10:11:00Z",
            "reportingComponent": "kubelet", "reportingInstance": "n1",
        }));
        let v1 = from_core(core.clone());
        assert_eq!(v1["apiVersion"], "events.k8s.io/v1");
        assert_eq!(v1["regarding"]["fieldPath"], "spec.containers{app}");
        assert_eq!(v1["note"], "Back-off");
        assert_eq!(v1["deprecatedCount"], 7);
        assert_eq!(v1["deprecatedSource"]["host"], "n1");
        assert_eq!(v1["reportingController"], "kubelet");
        assert!(!v1.contains_key("eventTime"), "an unset eventTime stays unset");
        assert_eq!(to_core(v1), core);
    }

    /// Core clients' types require `involvedObject`; fields neither version has are dropped.
    #[test]
    fn missing_regarding_becomes_an_empty_reference_and_unknown_fields_go() {
        let core = to_core(object(json!({"metadata": {"name": "a"}, "message": "core name", "bogus": 1})));
        assert_eq!(core["involvedObject"], json!({}));
        assert!(!core.contains_key("message") && !core.contains_key("bogus"), "{core:?}");
    }
}
