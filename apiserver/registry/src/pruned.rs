//! Decoding only what selectors read. A watch with a label or field selector must look at every
//! change of its resource; decoding each whole object (twice: the new and the previous state)
//! into a tree for a watcher that compares three fields dominated the server's profile under
//! load. This decodes the stored JSON into an object that holds just the wanted paths (the rest
//! is skimmed, not built), on which the usual selector matching runs unchanged.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::object::Object;

/// The paths a selector match reads, split into segments (`["metadata", "labels"]`).
#[derive(Debug, Clone, Default)]
pub struct Paths(Vec<Vec<String>>);

impl Paths {
    /// From dotted paths (`spec.nodeName`).
    pub fn new<'a>(dotted: impl IntoIterator<Item = &'a str>) -> Self {
        Self(dotted.into_iter().map(|p| p.split('.').map(str::to_string).collect()).collect())
    }

    /// `stored` (a JSON object) with only these paths kept; `None` if it is not a JSON object.
    pub fn decode(&self, stored: &[u8]) -> Option<Object> {
        let wanted: Vec<&[String]> = self.0.iter().map(Vec::as_slice).collect();
        let mut deserializer = serde_json::Deserializer::from_slice(stored);
        match Prune(&wanted).deserialize(&mut deserializer).ok()? {
            Value::Object(obj) => Some(obj),
            _ => None,
        }
    }
}

/// Deserialises a value keeping the remaining segments of the wanted paths: a key no path
/// continues through is skipped, a key where a path ends is kept whole.
struct Prune<'p, 's>(&'p [&'s [String]]);

impl<'de> DeserializeSeed<'de> for Prune<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Prune<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let rest: Vec<&[String]> = self.0.iter().filter(|p| p.first() == Some(&key)).map(|p| &p[1..]).collect();
            if rest.is_empty() {
                map.next_value::<IgnoredAny>()?;
            } else if rest.iter().any(|p| p.is_empty()) {
                out.insert(key, map.next_value::<Value>()?);
            } else {
                out.insert(key, map.next_value_seed(Prune(&rest))?);
            }
        }
        Ok(Value::Object(out))
    }

    // Selectors never reach into lists: a list on a wanted path is skimmed.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Null)
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keeps_only_the_wanted_paths() {
        let stored = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "d", "labels": {"app": "web"}, "annotations": {"a": "b"},
                         "managedFields": [{"manager": "kubectl"}]},
            "spec": {"nodeName": "n1", "hostNetwork": true, "containers": [{"name": "c", "image": "x"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready"}]},
        });
        let paths =
            Paths::new(["metadata.name", "metadata.namespace", "metadata.labels", "spec.nodeName", "spec.hostNetwork"]);
        let pruned = paths.decode(&serde_json::to_vec(&stored).unwrap()).unwrap();
        assert_eq!(
            Value::Object(pruned),
            json!({"metadata": {"name": "web", "namespace": "d", "labels": {"app": "web"}},
                   "spec": {"nodeName": "n1", "hostNetwork": true}})
        );
    }

    #[test]
    fn a_path_through_a_scalar_or_list_keeps_what_is_there_and_bad_json_is_none() {
        let paths = Paths::new(["spec.nodeName", "status.phase"]);
        let pruned = paths.decode(br#"{"spec": "odd", "status": [1, {"phase": "x"}], "n": 1.5}"#).unwrap();
        assert_eq!(Value::Object(pruned), json!({"spec": "odd", "status": null}));
        assert_eq!(paths.decode(b"[1, 2]"), None);
        assert_eq!(paths.decode(b"{\"spec\":"), None);
    }
}
