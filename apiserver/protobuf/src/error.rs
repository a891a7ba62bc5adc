//! Decode errors: what was wrong, and where (message and field) when that is known.

use thiserror::Error;

pub use crate::wire::WireError;

/// Why a protobuf request body could not be turned into JSON.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("protobuf body does not start with the magic bytes \"k8s\\0\"")]
    MissingMagic,
    #[error("malformed protobuf in {message}: {source}")]
    Wire {
        /// Full protobuf name of the message being read.
        message: &'static str,
        source: WireError,
    },
    #[error("protobuf envelope (runtime.Unknown) has no {0}")]
    MissingTypeMeta(&'static str),
    #[error("unsupported content encoding {0:?} in the protobuf envelope")]
    UnsupportedEncoding(String),
    #[error("unsupported content type {0:?} in the protobuf envelope")]
    UnsupportedContentType(String),
    #[error("no protobuf schema for apiVersion {0:?}")]
    UnknownApiVersion(String),
    #[error("no protobuf schema for kind {kind:?} in {api_version:?}")]
    UnknownKind { api_version: String, kind: String },
    #[error("protobuf messages nested deeper than {0} levels")]
    TooDeep(usize),
    #[error("field {field} of {message}: expected {expected}, found a {found} value")]
    WrongWireType { message: &'static str, field: &'static str, expected: &'static str, found: &'static str },
    #[error("field {field} of {message}: {problem}")]
    InvalidValue { message: &'static str, field: &'static str, problem: String },
}
