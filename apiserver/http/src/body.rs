//! Request bodies in the encodings clients send (JSON, YAML, and the protobuf typed clients
//! such as `kubectl create configmap` use), all turned into one JSON value; and YAML answers
//! for clients that ask for them.

use apiserver_machinery::ApiError;
use serde_json::Value;

/// Media types an object body may have.
pub const OBJECT_TYPES: &[&str] = &["application/json", "application/yaml", apiserver_protobuf::CONTENT_TYPE];

/// The media type of a `Content-Type` header, without parameters (JSON when absent).
pub fn media_type(content_type: Option<&str>) -> &str {
    match content_type.map(|c| c.split(';').next().unwrap_or("").trim()) {
        None | Some("") => "application/json",
        Some(media) => media,
    }
}

/// Decodes an object body of `content_type`.
pub fn decode(content_type: Option<&str>, body: &[u8]) -> Result<Value, ApiError> {
    match media_type(content_type) {
        "application/json" => parse_json(body),
        "application/yaml" => parse_yaml(body),
        apiserver_protobuf::CONTENT_TYPE => apiserver_protobuf::decode(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding protobuf body: {e}"))),
        _ => Err(ApiError::unsupported_media_type(OBJECT_TYPES)),
    }
}

/// JSON (serde_json refuses nesting deeper than 128 levels: a 400, never a stack overflow).
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("json parse error: {e}")))
}

/// Decodes an object body like [`decode`] and also returns the paths of fields a JSON body
/// repeats (`fieldValidation` reports them; the last value wins, as upstream decodes).
pub fn decode_tracking_duplicates(content_type: Option<&str>, body: &[u8]) -> Result<(Value, Vec<String>), ApiError> {
    if media_type(content_type) != "application/json" {
        return decode(content_type, body).map(|value| (value, Vec::new()));
    }
    let duplicates = std::cell::RefCell::new(Vec::new());
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value =
        serde::de::DeserializeSeed::deserialize(Tracked { at: &At::ROOT, duplicates: &duplicates }, &mut deserializer)
            .and_then(|value| deserializer.end().map(|()| value))
            .map_err(|e| ApiError::bad_request(format!("json parse error: {e}")))?;
    Ok((value, duplicates.into_inner()))
}

/// Where a value sits in the document: a chain of keys and indexes up to the root, turned into
/// a path string (`spec.containers[0].name`) only when a duplicate is found.
struct At<'p> {
    parent: Option<&'p At<'p>>,
    key: Option<&'p str>,
    index: usize,
}

impl At<'_> {
    const ROOT: At<'static> = At { parent: None, key: None, index: 0 };

    fn path(&self) -> String {
        let mut chain = vec![self];
        while let Some(parent) = chain.last().and_then(|at| at.parent) {
            chain.push(parent);
        }
        let mut path = String::new();
        for at in chain.iter().rev().filter(|at| at.parent.is_some()) {
            match at.key {
                Some(key) if path.is_empty() => path.push_str(key),
                Some(key) => {
                    path.push('.');
                    path.push_str(key);
                }
                None => path.push_str(&format!("[{}]", at.index)),
            }
        }
        path
    }
}

/// A JSON value being decoded at `at`, noting repeated keys in `duplicates`.
struct Tracked<'a, 'p> {
    at: &'p At<'p>,
    duplicates: &'a std::cell::RefCell<Vec<String>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Tracked<'_, '_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Tracked<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
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
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let at = At { parent: Some(self.at), key: None, index: items.len() };
            match seq.next_element_seed(Tracked { at: &at, duplicates: self.duplicates })? {
                Some(item) => items.push(item),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let at = At { parent: Some(self.at), key: Some(&key), index: 0 };
            let value = map.next_value_seed(Tracked { at: &at, duplicates: self.duplicates })?;
            if object.contains_key(&key) {
                self.duplicates.borrow_mut().push(at.path());
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// YAML, which includes JSON (server-side apply bodies are YAML). One document only.
pub fn parse_yaml(body: &[u8]) -> Result<Value, ApiError> {
    let value: Value =
        serde_yaml::from_slice(body).map_err(|e| ApiError::bad_request(format!("yaml parse error: {e}")))?;
    Ok(value)
}

/// Whether an `Accept` header prefers YAML (listed before any JSON, or alone).
pub fn wants_yaml(accept: &str) -> bool {
    for media in accept.split(',').map(|a| a.split(';').next().unwrap_or("").trim()) {
        match media {
            "application/yaml" => return true,
            "application/json" | "*/*" | "application/*" => return false,
            _ => {}
        }
    }
    false
}

/// A value as YAML text.
pub fn to_yaml(value: &Value) -> Vec<u8> {
    serde_yaml::to_string(value).expect("JSON values serialise as YAML").into_bytes()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_yaml_and_unknown_media_types() {
        let expected = json!({"kind": "ConfigMap", "data": {"a": "1"}});
        assert_eq!(decode(None, br#"{"kind":"ConfigMap","data":{"a":"1"}}"#).unwrap(), expected);
        assert_eq!(decode(Some("application/yaml"), b"kind: ConfigMap\ndata:\n  a: \"1\"\n").unwrap(), expected);
        assert_eq!(
            decode(Some("application/json; charset=utf-8"), br#"{"kind":"ConfigMap","data":{"a":"1"}}"#).unwrap(),
            expected
        );
        assert_eq!(decode(Some("text/plain"), b"x").unwrap_err().code(), 415);
        assert_eq!(decode(Some("application/yaml"), b"a: [").unwrap_err().code(), 400);
        assert_eq!(decode(Some(apiserver_protobuf::CONTENT_TYPE), b"nope").unwrap_err().code(), 400);
    }

    #[test]
    fn repeated_fields_are_reported_with_their_paths() {
        let body = br#"{"metadata":{"name":"a","name":"b"},"data":{"k":"1","k":"2"},"items":[{"x":1,"x":2}]}"#;
        let (value, duplicates) = decode_tracking_duplicates(None, body).unwrap();
        assert_eq!(value, json!({"metadata": {"name": "b"}, "data": {"k": "2"}, "items": [{"x": 2}]}));
        assert_eq!(duplicates, ["metadata.name", "data.k", "items[0].x"]);
        let (_, none) = decode_tracking_duplicates(None, br#"{"a":1.5,"b":[true,null,"s",-3]}"#).unwrap();
        assert!(none.is_empty());
        assert_eq!(decode_tracking_duplicates(None, b"{} x").unwrap_err().code(), 400);
        let deep = "[".repeat(100_000);
        assert_eq!(decode_tracking_duplicates(None, deep.as_bytes()).unwrap_err().code(), 400);
    }

    #[test]
    fn deep_nesting_is_a_bad_request() {
        let deep = "[".repeat(100_000);
        assert_eq!(decode(None, deep.as_bytes()).unwrap_err().code(), 400);
        let deep_yaml = "- ".repeat(10_000) + "x";
        assert_eq!(decode(Some("application/yaml"), deep_yaml.as_bytes()).unwrap_err().code(), 400);
    }

    #[test]
    fn yaml_answers_only_when_preferred() {
        assert!(wants_yaml("application/yaml"));
        assert!(wants_yaml("application/yaml, application/json"));
        assert!(!wants_yaml("application/json, application/yaml"));
        assert!(!wants_yaml(""));
    }
}
