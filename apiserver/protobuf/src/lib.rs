//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) decoded to the
//! JSON objects the rest of the server works on.
//!
//! kubectl's typed commands (`create configmap|secret|deployment|...`, `auth can-i`,
//! `auth whoami`, `drain`, `autoscale`) send built-in objects as protobuf: the magic `k8s\0`,
//! then a `runtime.Unknown` envelope naming apiVersion and kind around the object's own
//! protobuf. [`decode`] returns the object as the JSON request path would receive it
//! from a Go client, so no other code needs to know protobuf.
//!
//! # Layers
//! - `wire`: wire-format primitives (varints, keys, length-delimited values).
//! - `schema`: a static table of every message (field number → JSON name, type,
//!   cardinality), generated at build time by `build/` from the source of k8s-pb (field
//!   numbers, types) and k8s-openapi (exact JSON names, required fields, inlined structs), plus
//!   the apiVersion/kind → message lookup.
//! - `json`: the generic decoder, message → JSON object, driven by the table.
//! - `special`: types with their own JSON form (Time, MicroTime, Duration, Quantity,
//!   IntOrString, RawExtension/FieldsV1, ExtraValue-style string lists, apiextensions'
//!   schema-or-bool/array unions); `text`: their RFC 3339, Go duration and base64 text.
//! - `envelope`: the magic and `runtime.Unknown`.
//!
//! # Zero values
//! Go's protobuf encoder writes every non-pointer field even when zero, while its JSON encoder
//! drops zero `omitempty` (and `omitzero`) fields, so the two encodings of one object differ.
//! The decoder follows the JSON: empty strings are dropped unless the field is required or a
//! Go pointer; numbers and booleans are kept (pointer fields, where `replicas: 0` matters)
//! unless the field is a non-pointer `omitempty` one; a zero `creationTimestamp` is dropped
//! (`omitzero`), other zero times are `null`. `build/facts.rs` lists the Go pointer facts.
//! Checked against kubectl 1.35's own `--dry-run=client -o json` for its typed commands: the
//! only difference left is that a nil list Go writes as `null` (no `omitempty`, e.g. an HPA's
//! `status.currentMetrics`) is absent here.
//!
//! Never panics: every length is checked, nesting is capped at [`MAX_DEPTH`], unknown field
//! numbers are skipped.

mod envelope;
mod error;
mod json;
mod schema;
mod special;
mod text;
mod wire;

pub use error::{DecodeError, WireError};

/// The media type of Kubernetes protobuf bodies.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Deepest message nesting accepted. Built-in objects nest well under 20 levels; only
/// CRD schemas (JSONSchemaProps) can go deeper, and 100 leaves them room.
pub const MAX_DEPTH: usize = 100;

/// Decodes a protobuf request body (magic plus `runtime.Unknown`) into the JSON object, with
/// `apiVersion` and `kind` set from the envelope.
pub fn decode(body: &[u8]) -> Result<serde_json::Value, DecodeError> {
    envelope::decode(body, 0)
}
