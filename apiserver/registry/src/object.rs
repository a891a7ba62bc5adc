//! Objects as the registry handles them: JSON objects (`serde_json::Map`), with typed access to
//! the `metadata` fields the generic code reads and writes.
//!
//! The store holds each object's JSON without `metadata.resourceVersion`: the resourceVersion
//! is the key's `mod_revision`, filled in on every read (as upstream does with etcd).

use serde_json::{Map, Value};

/// A JSON object.
pub type Object = Map<String, Value>;

/// `metadata`, created empty if missing or not an object.
pub fn metadata_mut(obj: &mut Object) -> &mut Object {
    let meta = obj.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut().expect("just made an object")
}

/// `metadata`, if present.
pub fn metadata(obj: &Object) -> Option<&Object> {
    obj.get("metadata").and_then(Value::as_object)
}

/// A string field of `metadata` ("" when absent).
pub fn meta_str<'a>(obj: &'a Object, field: &str) -> &'a str {
    metadata(obj).and_then(|m| m.get(field)).and_then(Value::as_str).unwrap_or("")
}

/// Sets (or, with `None`, removes) a `metadata` field.
pub fn set_meta(obj: &mut Object, field: &str, value: Option<Value>) {
    let meta = metadata_mut(obj);
    match value {
        Some(value) => {
            meta.insert(field.to_string(), value);
        }
        None => {
            meta.remove(field);
        }
    }
}

/// A `metadata` map of strings (`labels`, `annotations`); non-string values are left out.
pub fn meta_string_map(obj: &Object, field: &str) -> std::collections::BTreeMap<String, String> {
    metadata(obj)
        .and_then(|m| m.get(field))
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
        .unwrap_or_default()
}

/// `metadata.finalizers` (strings only).
pub fn finalizers(obj: &Object) -> Vec<String> {
    metadata(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_deleting(obj: &Object) -> bool {
    metadata(obj).and_then(|m| m.get("deletionTimestamp")).is_some_and(|v| !v.is_null())
}

/// The current time as a metav1.Time string (whole seconds, UTC, RFC 3339).
pub fn now() -> String {
    now_plus(0)
}

/// The time `seconds` from now, as a metav1.Time string.
pub fn now_plus(seconds: i64) -> String {
    let now = jiff::Timestamp::now().as_second().saturating_add(seconds);
    let seconds = jiff::Timestamp::from_second(now).unwrap_or(jiff::Timestamp::MAX);
    serde_json::to_value(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(seconds))
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .expect("a Time serialises as a string")
}

/// A value at a dotted path (`spec.nodeName`), for field selectors.
pub fn path<'a>(obj: &'a Object, dotted: &str) -> Option<&'a Value> {
    let mut parts = dotted.split('.');
    let mut value = obj.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn metadata_access() {
        let mut obj = json!({"metadata": {"name": "a", "labels": {"x": "1", "bad": 2}, "finalizers": ["f"]}})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(meta_str(&obj, "name"), "a");
        assert_eq!(meta_str(&obj, "namespace"), "");
        assert_eq!(meta_string_map(&obj, "labels").len(), 1);
        assert_eq!(finalizers(&obj), vec!["f"]);
        assert!(!is_deleting(&obj));
        set_meta(&mut obj, "deletionTimestamp", Some(json!(now())));
        assert!(is_deleting(&obj));
        set_meta(&mut obj, "name", None);
        assert_eq!(meta_str(&obj, "name"), "");
    }

    #[test]
    fn time_is_rfc3339_in_whole_seconds() {
        let t = now();
        assert_eq!(t.len(), "2026-11-23T14:30:00Z".len(), "{t}");
        assert!(t.ends_with('Z'));
    }

    #[test]
    fn dotted_paths() {
        let obj = json!({"spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}).as_object().unwrap().clone();
        assert_eq!(path(&obj, "spec.nodeName"), Some(&json!("n1")));
        assert_eq!(path(&obj, "status.podIP"), None);
    }
}
