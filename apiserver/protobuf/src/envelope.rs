//! The envelope of a Kubernetes protobuf body: the magic `k8s\0`, then a `runtime.Unknown`
//! message: field 1 `typeMeta` (1 `apiVersion`, 2 `kind`), 2 `raw` (the object's own
//! protobuf), 3 `contentEncoding`, 4 `contentType`.

use serde_json::Value;

use crate::wire::{self, Value as Wire};
use crate::{CONTENT_TYPE, DecodeError, json, schema};

pub(crate) const MAGIC: &[u8; 4] = b"k8s\0";

const UNKNOWN: &str = "k8s.io.apimachinery.pkg.runtime.Unknown";
const TYPE_META: &str = "k8s.io.apimachinery.pkg.runtime.TypeMeta";

/// Decodes an enveloped object; `depth` is that of the envelope (0 for a request body).
pub(crate) fn decode(body: &[u8], depth: usize) -> Result<Value, DecodeError> {
    let unknown = body.strip_prefix(MAGIC).ok_or(DecodeError::MissingMagic)?;
    let mut type_meta = Vec::new();
    let (mut raw, mut encoding, mut content_type) = (&[][..], String::new(), String::new());
    for item in wire::fields(&[unknown]) {
        let (number, value) = item.map_err(|source| DecodeError::Wire { message: UNKNOWN, source })?;
        match (number, value) {
            (1, Wire::Bytes(b)) => type_meta.push(b),
            (2, Wire::Bytes(b)) => raw = b,
            (3, Wire::Bytes(b)) => encoding = String::from_utf8_lossy(b).into_owned(),
            (4, Wire::Bytes(b)) => content_type = String::from_utf8_lossy(b).into_owned(),
            (1..=4, other) => return Err(wrong_wire(UNKNOWN, number, other)),
            _ => {}
        }
    }
    let (mut api_version, mut kind) = (String::new(), String::new());
    for item in wire::fields(&type_meta) {
        let (number, value) = item.map_err(|source| DecodeError::Wire { message: TYPE_META, source })?;
        match (number, value) {
            (1, Wire::Bytes(b)) => api_version = String::from_utf8_lossy(b).into_owned(),
            (2, Wire::Bytes(b)) => kind = String::from_utf8_lossy(b).into_owned(),
            (1 | 2, other) => return Err(wrong_wire(TYPE_META, number, other)),
            _ => {}
        }
    }
    if !encoding.is_empty() {
        return Err(DecodeError::UnsupportedEncoding(encoding));
    }
    if !content_type.is_empty() && content_type != CONTENT_TYPE {
        return Err(DecodeError::UnsupportedContentType(content_type));
    }
    if api_version.is_empty() {
        return Err(DecodeError::MissingTypeMeta("apiVersion"));
    }
    if kind.is_empty() {
        return Err(DecodeError::MissingTypeMeta("kind"));
    }
    let ty = schema::for_kind(&api_version, &kind)?;
    let mut object = match json::message(ty, &[raw], depth + 1)? {
        Value::Object(object) => object,
        _ => return Err(DecodeError::UnknownKind { api_version, kind }),
    };
    object.insert("apiVersion".into(), Value::String(api_version));
    object.insert("kind".into(), Value::String(kind));
    Ok(Value::Object(object))
}

fn wrong_wire(message: &'static str, number: u32, found: Wire<'_>) -> DecodeError {
    DecodeError::WrongWireType {
        message,
        field: match (message, number) {
            (UNKNOWN, 1) => "typeMeta",
            (UNKNOWN, 2) => "raw",
            (UNKNOWN, 3) => "contentEncoding",
            (UNKNOWN, 4) => "contentType",
            (_, 1) => "apiVersion",
            _ => "kind",
        },
        expected: "length-delimited",
        found: found.wire_name(),
    }
}
