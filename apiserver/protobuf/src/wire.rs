//! Protobuf wire format primitives: varints, keys and field values, read from byte slices
//! without copying. Every read is bounds-checked; malformed input is an error, never a panic.

use thiserror::Error;

/// What is wrong with the bytes themselves (independent of any schema).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    #[error("data ends in the middle of a field")]
    Truncated,
    #[error("varint longer than 10 bytes")]
    VarintTooLong,
    #[error("invalid field number {0}")]
    InvalidFieldNumber(u64),
    #[error("invalid wire type {0}")]
    InvalidWireType(u8),
    #[error("unbalanced group markers")]
    UnbalancedGroup,
    #[error("groups nested too deeply")]
    GroupTooDeep,
}

/// One field value as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    /// Length-delimited: a string, bytes, an embedded message or a packed repeated scalar.
    Bytes(&'a [u8]),
}

impl Value<'_> {
    /// The wire type's name, for error messages.
    pub fn wire_name(&self) -> &'static str {
        match self {
            Value::Varint(_) => "varint",
            Value::Fixed64(_) => "64-bit",
            Value::Fixed32(_) => "32-bit",
            Value::Bytes(_) => "length-delimited",
        }
    }
}

/// Deepest group nesting skipped in an unknown field (groups are obsolete; Kubernetes never
/// writes them, but they are valid protobuf).
const MAX_GROUP_DEPTH: usize = 32;

/// Reads one varint from the front of `input`.
pub(crate) fn varint(input: &mut &[u8]) -> Result<u64, WireError> {
    let mut value = 0u64;
    for i in 0..10 {
        let (&byte, rest) = input.split_first().ok_or(WireError::Truncated)?;
        *input = rest;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(WireError::VarintTooLong)
}

fn take<'a>(input: &mut &'a [u8], len: u64) -> Result<&'a [u8], WireError> {
    let len = usize::try_from(len).map_err(|_| WireError::Truncated)?;
    if len > input.len() {
        return Err(WireError::Truncated);
    }
    let (head, rest) = input.split_at(len);
    *input = rest;
    Ok(head)
}

/// Iterates over the fields of a message given as one or more byte segments: a singular
/// message field that occurs several times is the merge of all occurrences, which protobuf
/// defines as their concatenation. Groups (obsolete, never written by Kubernetes) are
/// skipped whole. Stops after the first error.
pub(crate) struct Fields<'a, 's> {
    segments: &'s [&'a [u8]],
    current: &'a [u8],
    failed: bool,
}

pub(crate) fn fields<'a, 's>(segments: &'s [&'a [u8]]) -> Fields<'a, 's> {
    Fields { segments, current: &[], failed: false }
}

impl<'a> Iterator for Fields<'a, '_> {
    type Item = Result<(u32, Value<'a>), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            while self.current.is_empty() {
                let (first, rest) = self.segments.split_first()?;
                self.current = first;
                self.segments = rest;
            }
            match read_field(&mut self.current) {
                Ok(Some(field)) => return Some(Ok(field)),
                Ok(None) => continue,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Reads one field; `None` for a group, which is skipped whole.
fn read_field<'a>(input: &mut &'a [u8]) -> Result<Option<(u32, Value<'a>)>, WireError> {
    let (number, wire_type) = key(input)?;
    let value = match wire_type {
        0 => Value::Varint(varint(input)?),
        1 => Value::Fixed64(u64::from_le_bytes(take(input, 8)?.try_into().map_err(|_| WireError::Truncated)?)),
        2 => {
            let len = varint(input)?;
            Value::Bytes(take(input, len)?)
        }
        3 => {
            skip_group(input, number)?;
            return Ok(None);
        }
        4 => return Err(WireError::UnbalancedGroup),
        5 => Value::Fixed32(u32::from_le_bytes(take(input, 4)?.try_into().map_err(|_| WireError::Truncated)?)),
        other => return Err(WireError::InvalidWireType(other)),
    };
    Ok(Some((number, value)))
}

fn key(input: &mut &[u8]) -> Result<(u32, u8), WireError> {
    let key = varint(input)?;
    let wire_type = (key & 7) as u8;
    match u32::try_from(key >> 3) {
        Ok(number) if number != 0 => Ok((number, wire_type)),
        _ => Err(WireError::InvalidFieldNumber(key >> 3)),
    }
}

/// Skips past the END_GROUP matching a START_GROUP of field `number`, iteratively.
fn skip_group(input: &mut &[u8], number: u32) -> Result<(), WireError> {
    let mut open = vec![number];
    while let Some(&innermost) = open.last() {
        let (n, wire_type) = key(input)?;
        match wire_type {
            0 => {
                varint(input)?;
            }
            1 => {
                take(input, 8)?;
            }
            2 => {
                let len = varint(input)?;
                take(input, len)?;
            }
            3 => {
                if open.len() >= MAX_GROUP_DEPTH {
                    return Err(WireError::GroupTooDeep);
                }
                open.push(n);
            }
            4 if n == innermost => {
                open.pop();
            }
            4 => return Err(WireError::UnbalancedGroup),
            5 => {
                take(input, 4)?;
            }
            other => return Err(WireError::InvalidWireType(other)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> Result<Vec<(u32, Value<'_>)>, WireError> {
        fields(&[bytes]).collect()
    }

    #[test]
    fn varints_of_every_width() {
        for value in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut encoded = Vec::new();
            let mut v = value;
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    encoded.push(byte);
                    break;
                }
                encoded.push(byte | 0x80);
            }
            let mut input = encoded.as_slice();
            assert_eq!(varint(&mut input), Ok(value));
            assert!(input.is_empty());
        }
        assert_eq!(varint(&mut &[0xff; 11][..]), Err(WireError::VarintTooLong));
        assert_eq!(varint(&mut &[0x80][..]), Err(WireError::Truncated));
    }

    #[test]
    fn reads_each_wire_type() {
        let bytes = [0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x19, 1, 0, 0, 0, 0, 0, 0, 0, 0x25, 2, 0, 0, 0];
        assert_eq!(
            all(&bytes),
            Ok(vec![(1, Value::Varint(150)), (2, Value::Bytes(b"hi")), (3, Value::Fixed64(1)), (4, Value::Fixed32(2))])
        );
    }

    #[test]
    fn segments_read_as_one_message() {
        let (a, b) = ([0x08, 0x01], [0x10, 0x02]);
        assert_eq!(all_segments(&[&a, &[], &b]), Ok(vec![(1, Value::Varint(1)), (2, Value::Varint(2))]));
    }

    fn all_segments<'a>(segments: &[&'a [u8]]) -> Result<Vec<(u32, Value<'a>)>, WireError> {
        fields(segments).collect()
    }

    #[test]
    fn skips_groups_and_rejects_bad_ones() {
        // field 5 group { field 1 varint 7; nested group 6 {} } then field 2 varint 1
        let bytes = [0x2b, 0x08, 0x07, 0x33, 0x34, 0x2c, 0x10, 0x01];
        assert_eq!(all(&bytes), Ok(vec![(2, Value::Varint(1))]));
        assert_eq!(all(&[0x2b, 0x08, 0x07]), Err(WireError::Truncated));
        assert_eq!(all(&[0x2c]), Err(WireError::UnbalancedGroup));
        assert_eq!(all(&[0x2b, 0x34]), Err(WireError::UnbalancedGroup));
        let deep: Vec<u8> = std::iter::repeat_n(0x0b, 1000).collect();
        assert_eq!(all(&deep), Err(WireError::GroupTooDeep));
    }

    #[test]
    fn rejects_malformed_keys_and_lengths() {
        assert_eq!(all(&[0x00]), Err(WireError::InvalidFieldNumber(0)));
        assert_eq!(all(&[0x0e]), Err(WireError::InvalidWireType(6)));
        assert_eq!(all(&[0x0a, 0x05, b'a']), Err(WireError::Truncated));
        // A length near u64::MAX must not overflow anything.
        assert_eq!(all(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), Err(WireError::Truncated));
        // A field number beyond u32.
        assert_eq!(all(&[0xf8, 0xff, 0xff, 0xff, 0xff, 0x7f]), Err(WireError::InvalidFieldNumber(0x7f_ffff_ffff)));
    }
}
