//! Generic message decoding: wire fields to a JSON object, driven by the schema table.
//!
//! Each message is read in two steps: its fields are collected per field number (so that a
//! repeated occurrence of a singular message merges, as protobuf requires), then turned into
//! JSON values in field-number order. Messages with a special JSON form go to [`special`].

use serde_json::{Map, Number, Value};

use crate::schema::{self, Card, Field, Message, Special, Type};
use crate::special;
use crate::text;
use crate::wire::{self, Value as Wire};
use crate::{DecodeError, MAX_DEPTH};

/// Decodes message `ty` from its wire segments; `depth` counts enclosing messages.
pub(crate) fn message(ty: u16, segments: &[&[u8]], depth: usize) -> Result<Value, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep(MAX_DEPTH));
    }
    let msg = schema::message(ty);
    match msg.special {
        Special::None => Ok(Value::Object(object(msg, segments, depth)?)),
        _ => special::decode(msg, segments, depth),
    }
}

/// A plain message's fields as a JSON object.
pub(crate) fn object(
    msg: &'static Message,
    segments: &[&[u8]],
    depth: usize,
) -> Result<Map<String, Value>, DecodeError> {
    let mut collected: Vec<(&'static Field, Wire<'_>)> = Vec::new();
    for item in wire::fields(segments) {
        let (number, value) = item.map_err(|source| DecodeError::Wire { message: msg.name, source })?;
        if let Some(field) = msg.field(number) {
            collected.push((field, value));
        }
    }
    collected.sort_by_key(|(field, _)| field.number);

    let mut out = Map::new();
    for group in collected.chunk_by(|a, b| a.0.number == b.0.number) {
        let field = group[0].0;
        let values = group.iter().map(|(_, v)| *v);
        match (field.card, field.ty) {
            (Card::One | Card::Inline, Type::Message(t)) => {
                let segments = bytes_of(msg, field, values)?;
                let value = message(t, &segments, depth + 1)?;
                match (field.card, value) {
                    (Card::Inline, Value::Object(inner)) => out.extend(inner),
                    // A zero `omitzero` time (Time's zero is `null`).
                    (_, Value::Null) if field.omit_zero => {}
                    (_, value) => {
                        out.insert(field.json.into(), value);
                    }
                }
            }
            (Card::One | Card::Inline, ty) => {
                let last = group[group.len() - 1].1;
                let value = scalar(msg, field, ty, last)?;
                if !(field.omit_zero && is_zero(&value)) {
                    out.insert(field.json.into(), value);
                }
            }
            (Card::Repeated, ty) => {
                let mut items = Vec::with_capacity(group.len());
                for value in values {
                    repeated_item(msg, field, ty, value, depth, &mut items)?;
                }
                if !items.is_empty() {
                    out.insert(field.json.into(), Value::Array(items));
                }
            }
            (Card::Map, ty) => {
                let mut map = Map::new();
                for entry in bytes_of(msg, field, values)? {
                    let (key, value) = map_entry(msg, field, ty, entry, depth)?;
                    map.insert(key, value);
                }
                out.insert(field.json.into(), Value::Object(map));
            }
        }
    }
    Ok(out)
}

/// The byte segments of length-delimited values; any other wire type is an error.
pub(crate) fn bytes_of<'a>(
    msg: &Message,
    field: &Field,
    values: impl Iterator<Item = Wire<'a>>,
) -> Result<Vec<&'a [u8]>, DecodeError> {
    values
        .map(|value| match value {
            Wire::Bytes(bytes) => Ok(bytes),
            other => Err(wrong_wire(msg, field, "length-delimited", other)),
        })
        .collect()
}

fn repeated_item(
    msg: &Message,
    field: &Field,
    ty: Type,
    value: Wire<'_>,
    depth: usize,
    items: &mut Vec<Value>,
) -> Result<(), DecodeError> {
    match (ty, value) {
        (Type::Message(t), Wire::Bytes(bytes)) => items.push(message(t, &[bytes], depth + 1)?),
        // A packed run of varints (proto3 style; Kubernetes writes them unpacked, both are valid).
        (Type::Bool | Type::Int32 | Type::Int64, Wire::Bytes(mut packed)) => {
            while !packed.is_empty() {
                let v = wire::varint(&mut packed).map_err(|source| DecodeError::Wire { message: msg.name, source })?;
                items.push(scalar(msg, field, ty, Wire::Varint(v))?);
            }
        }
        (Type::Double, Wire::Bytes(packed)) => {
            if packed.len() % 8 != 0 {
                return Err(invalid(msg, field, "packed doubles are not a multiple of 8 bytes"));
            }
            for chunk in packed.chunks_exact(8) {
                let bits = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
                items.push(scalar(msg, field, ty, Wire::Fixed64(bits))?);
            }
        }
        (ty, value) => items.push(scalar(msg, field, ty, value)?),
    }
    Ok(())
}

/// One `map<string, V>` entry: a message with the key as field 1 and the value as field 2.
fn map_entry(
    msg: &Message,
    field: &Field,
    ty: Type,
    entry: &[u8],
    depth: usize,
) -> Result<(String, Value), DecodeError> {
    let mut key = String::new();
    let mut scalar_value = None;
    let mut message_value = Vec::new();
    for item in wire::fields(&[entry]) {
        let (number, value) = item.map_err(|source| DecodeError::Wire { message: msg.name, source })?;
        match (number, value) {
            (1, Wire::Bytes(bytes)) => key = String::from_utf8_lossy(bytes).into_owned(),
            (1, other) => return Err(wrong_wire(msg, field, "a string map key", other)),
            (2, Wire::Bytes(bytes)) if matches!(ty, Type::Message(_)) => message_value.push(bytes),
            (2, other) => scalar_value = Some(scalar(msg, field, ty, other)?),
            _ => {}
        }
    }
    let value = match ty {
        Type::Message(t) => message(t, &message_value, depth + 1)?,
        _ => match scalar_value {
            Some(value) => value,
            None => zero(ty),
        },
    };
    Ok((key, value))
}

/// A scalar value as Go's JSON encoder writes it.
pub(crate) fn scalar(msg: &Message, field: &Field, ty: Type, value: Wire<'_>) -> Result<Value, DecodeError> {
    Ok(match (ty, value) {
        (Type::String, Wire::Bytes(bytes)) => Value::String(String::from_utf8_lossy(bytes).into_owned()),
        (Type::Bytes, Wire::Bytes(bytes)) => Value::String(text::base64(bytes)),
        (Type::Bool, Wire::Varint(v)) => Value::Bool(v != 0),
        // Truncation is the protobuf rule for int32 (negative values are sign-extended to 64 bits).
        (Type::Int32, Wire::Varint(v)) => Value::from(v as i32),
        (Type::Int64, Wire::Varint(v)) => Value::from(v as i64),
        (Type::Double, Wire::Fixed64(bits)) => {
            let f = f64::from_bits(bits);
            // Go writes integral floats without a fraction (`2`, not `2.0`).
            if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                Value::from(f as i64)
            } else {
                Number::from_f64(f).map(Value::Number).ok_or_else(|| invalid(msg, field, "not a finite number"))?
            }
        }
        (Type::Message(_), _) => return Err(invalid(msg, field, "a message where a scalar was expected")),
        (ty, other) => return Err(wrong_wire(msg, field, expected(ty), other)),
    })
}

fn expected(ty: Type) -> &'static str {
    match ty {
        Type::String | Type::Bytes | Type::Message(_) => "length-delimited",
        Type::Bool | Type::Int32 | Type::Int64 => "varint",
        Type::Double => "64-bit",
    }
}

fn zero(ty: Type) -> Value {
    match ty {
        Type::String | Type::Bytes => Value::String(String::new()),
        Type::Bool => Value::Bool(false),
        Type::Int32 | Type::Int64 | Type::Double => Value::from(0),
        Type::Message(_) => Value::Object(Map::new()),
    }
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

pub(crate) fn wrong_wire(msg: &Message, field: &Field, expected: &'static str, found: Wire<'_>) -> DecodeError {
    DecodeError::WrongWireType { message: msg.name, field: field.json, expected, found: found.wire_name() }
}

pub(crate) fn invalid(msg: &Message, field: &Field, problem: impl Into<String>) -> DecodeError {
    DecodeError::InvalidValue { message: msg.name, field: field.json, problem: problem.into() }
}
