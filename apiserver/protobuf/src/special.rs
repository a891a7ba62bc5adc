//! Messages whose JSON form is not an object of their fields: the custom JSON marshallers
//! of Kubernetes' Go types (Time, Quantity, IntOrString, RawExtension, ...), reproduced from
//! the protobuf fields they are built from. Field numbers here are those of the upstream
//! `generated.proto` files and never change.

use serde_json::Value;

use crate::json::{self, bytes_of, invalid, wrong_wire};
use crate::schema::{Field, Message, Special, Type};
use crate::wire::{self, Value as Wire};
use crate::{DecodeError, envelope, text};

pub(crate) fn decode(msg: &'static Message, segments: &[&[u8]], depth: usize) -> Result<Value, DecodeError> {
    let fields = Fields::read(msg, segments)?;
    match msg.special {
        // Not special after all (never reached: `json::message` only sends special messages).
        Special::None => Ok(Value::Object(json::object(msg, segments, depth)?)),
        Special::Time => {
            // Go: an empty message is the zero time, which JSON writes as null; nanoseconds
            // are not part of Time's JSON (whole seconds only).
            if segments.iter().all(|s| s.is_empty()) {
                return Ok(Value::Null);
            }
            timestamp(msg, fields.int(1)?.unwrap_or(0), None)
        }
        Special::MicroTime => {
            if segments.iter().all(|s| s.is_empty()) {
                return Ok(Value::Null);
            }
            // Go truncates the nanoseconds to microseconds (toward zero), then normalises.
            let seconds = i128::from(fields.int(1)?.unwrap_or(0));
            let nanos = i128::from(fields.int(2)?.unwrap_or(0) as i32);
            let total = seconds * 1_000_000_000 + (nanos - nanos % 1_000);
            let seconds = i64::try_from(total.div_euclid(1_000_000_000)).map_err(|_| fields.bad(1, "out of range"))?;
            let micros = (total.rem_euclid(1_000_000_000) / 1_000) as u32;
            timestamp(msg, seconds, Some(micros))
        }
        Special::Duration => Ok(Value::String(text::go_duration(fields.int(1)?.unwrap_or(0)))),
        // Go writes the canonical text; an absent string is the zero quantity.
        Special::Quantity => Ok(Value::String(fields.string(1)?.unwrap_or_else(|| "0".into()))),
        Special::IntOrString => match fields.int(1)?.unwrap_or(0) {
            0 => Ok(Value::from(fields.int(2)?.unwrap_or(0) as i32)),
            1 => Ok(Value::String(fields.string(3)?.unwrap_or_default())),
            other => Err(fields.bad(1, format!("unknown IntOrString type {other}"))),
        },
        Special::RawJson => match fields.last_bytes(1)? {
            None | Some([]) => Ok(Value::Null),
            Some(raw) => raw_json(msg, &fields, raw, depth),
        },
        Special::StringList => {
            let items = fields
                .all(1)
                .map(|v| json::scalar(msg, fields.field(1)?, Type::String, v))
                .collect::<Result<_, _>>()?;
            Ok(Value::Array(items))
        }
        Special::SchemaOrBool => match fields.message(2, depth)? {
            Some(schema) => Ok(schema),
            None => Ok(Value::Bool(fields.int(1)?.unwrap_or(0) != 0)),
        },
        Special::SchemaOrArray => {
            let field = fields.field(2)?;
            let Type::Message(t) = field.ty else { return Err(fields.bad(2, "not a message")) };
            let schemas = bytes_of(msg, field, fields.all(2))?;
            if schemas.is_empty() {
                return Ok(fields.message(1, depth)?.unwrap_or(Value::Null));
            }
            let items = schemas.iter().map(|s| json::message(t, &[s], depth + 1)).collect::<Result<_, _>>()?;
            Ok(Value::Array(items))
        }
        Special::SchemaOrStringArray => {
            let field = fields.field(2)?;
            let items: Vec<Value> =
                fields.all(2).map(|v| json::scalar(msg, field, Type::String, v)).collect::<Result<_, _>>()?;
            if items.is_empty() {
                return Ok(fields.message(1, depth)?.unwrap_or(Value::Null));
            }
            Ok(Value::Array(items))
        }
    }
}

/// Go's zero `time.Time` in Unix seconds (0001-01-01T00:00:00Z), which JSON writes as null.
const GO_ZERO_TIME: i64 = -62_135_596_800;

fn timestamp(msg: &'static Message, seconds: i64, micros: Option<u32>) -> Result<Value, DecodeError> {
    if seconds == GO_ZERO_TIME && micros.unwrap_or(0) == 0 {
        return Ok(Value::Null);
    }
    text::rfc3339(seconds, micros).map(Value::String).ok_or_else(|| DecodeError::InvalidValue {
        message: msg.name,
        field: "seconds",
        problem: format!("{seconds} is outside years 0-9999"),
    })
}

/// RawExtension, FieldsV1 and apiextensions JSON hold raw JSON, which Go embeds verbatim.
/// A nested protobuf object (with its own magic, as in a protobuf WatchEvent) is decoded.
fn raw_json(msg: &'static Message, fields: &Fields<'_>, raw: &[u8], depth: usize) -> Result<Value, DecodeError> {
    if raw.starts_with(envelope::MAGIC) {
        return envelope::decode(raw, depth + 1);
    }
    serde_json::from_slice(raw).map_err(|e| fields.bad(1, format!("raw {} is not JSON: {e}", msg.name)))
}

/// A special message's wire fields, read once.
struct Fields<'a> {
    msg: &'static Message,
    values: Vec<(u32, Wire<'a>)>,
}

impl<'a> Fields<'a> {
    fn read(msg: &'static Message, segments: &[&'a [u8]]) -> Result<Self, DecodeError> {
        let values = wire::fields(segments)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| DecodeError::Wire { message: msg.name, source })?;
        Ok(Fields { msg, values })
    }

    fn field(&self, number: u32) -> Result<&'static Field, DecodeError> {
        self.msg.field(number).ok_or_else(|| DecodeError::InvalidValue {
            message: self.msg.name,
            field: "?",
            problem: format!("the schema table lacks field {number}"),
        })
    }

    fn all(&self, number: u32) -> impl Iterator<Item = Wire<'a>> + '_ {
        self.values.iter().filter(move |(n, _)| *n == number).map(|(_, v)| *v)
    }

    fn last(&self, number: u32) -> Option<Wire<'a>> {
        self.all(number).last()
    }

    /// The last varint of `number`, as the 64-bit value Go reads (callers narrow to int32).
    fn int(&self, number: u32) -> Result<Option<i64>, DecodeError> {
        match self.last(number) {
            None => Ok(None),
            Some(Wire::Varint(v)) => Ok(Some(v as i64)),
            Some(other) => Err(wrong_wire(self.msg, self.field(number)?, "varint", other)),
        }
    }

    fn last_bytes(&self, number: u32) -> Result<Option<&'a [u8]>, DecodeError> {
        match self.last(number) {
            None => Ok(None),
            Some(Wire::Bytes(bytes)) => Ok(Some(bytes)),
            Some(other) => Err(wrong_wire(self.msg, self.field(number)?, "length-delimited", other)),
        }
    }

    fn string(&self, number: u32) -> Result<Option<String>, DecodeError> {
        Ok(self.last_bytes(number)?.map(|b| String::from_utf8_lossy(b).into_owned()))
    }

    /// A singular message field (all occurrences merged), if present.
    fn message(&self, number: u32, depth: usize) -> Result<Option<Value>, DecodeError> {
        let field = self.field(number)?;
        let Type::Message(t) = field.ty else { return Err(self.bad(number, "not a message")) };
        let segments = bytes_of(self.msg, field, self.all(number))?;
        if segments.is_empty() {
            return Ok(None);
        }
        json::message(t, &segments, depth + 1).map(Some)
    }

    fn bad(&self, number: u32, problem: impl Into<String>) -> DecodeError {
        match self.msg.field(number) {
            Some(field) => invalid(self.msg, field, problem),
            None => DecodeError::InvalidValue { message: self.msg.name, field: "?", problem: problem.into() },
        }
    }
}
