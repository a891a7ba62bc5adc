//! Decodes real protobuf bodies, built from k8s-pb messages and encoded with prost the way
//! Go clients encode them, and compares with the JSON the same object has on the JSON path.

mod kinds;
mod malformed;
mod special;

use apiserver_protobuf::decode;
use k8s_openapi::serde::de::DeserializeOwned;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use prost::Message;
use serde_json::Value;

/// A request body: magic, then `runtime.Unknown` around the encoded object.
pub fn body(api_version: &str, kind: &str, object: &impl Message) -> Vec<u8> {
    body_raw(api_version, kind, object.encode_to_vec())
}

/// A request body around hand-made wire data.
pub fn body_raw(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta { api_version: s(api_version), kind: s(kind) }),
        raw: Some(raw),
        content_encoding: s(""),
        content_type: s(""),
    };
    let mut out = b"k8s\0".to_vec();
    out.extend(unknown.encode_to_vec());
    out
}

/// Decodes `object` and proves the JSON is a well-formed `T` too.
pub fn decode_as<T: DeserializeOwned>(api_version: &str, kind: &str, object: &impl Message) -> Value {
    let value = decode(&body(api_version, kind, object)).unwrap_or_else(|e| panic!("decoding {kind}: {e}"));
    if let Err(e) = serde_json::from_value::<T>(value.clone()) {
        panic!("{kind} JSON does not deserialize into the k8s-openapi type: {e}\n{value:#}");
    }
    value
}

pub fn s(value: &str) -> Option<String> {
    Some(value.to_string())
}

/// ObjectMeta as Go's protobuf encoder writes it: every non-pointer field present, zero or not.
pub fn go_meta(name: &str, namespace: &str) -> meta::ObjectMeta {
    meta::ObjectMeta {
        name: s(name),
        generate_name: s(""),
        namespace: s(namespace),
        self_link: s(""),
        uid: s(""),
        resource_version: s(""),
        generation: Some(0),
        creation_timestamp: Some(meta::Time::default()),
        ..Default::default()
    }
}

/// Asserts equality with a readable diff-friendly message.
#[track_caller]
pub fn assert_json(actual: &Value, expected: &Value) {
    assert!(actual == expected, "decoded JSON differs\nactual:   {actual:#}\nexpected: {expected:#}");
}
