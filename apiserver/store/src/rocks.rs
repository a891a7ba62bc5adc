//! RocksDB backend: the revision log as RocksDB keys, every append one synced `WriteBatch`.
//!
//! Layout (one column family):
//! ```text
//! b'r' ++ revision (u64 big-endian)  ->  record (see `encode_record`)
//! b'm' ++ b"compact.scheduled"       ->  u64 big-endian
//! b'm' ++ b"compact.finished"        ->  u64 big-endian
//! b'm' ++ b"revision.floor"          ->  u64 big-endian
//! ```
//! Big-endian revisions make RocksDB's key order the revision order, so catch-up reads and
//! recovery are plain forward scans.

use std::path::Path;

use bytes::{BufMut, Bytes, BytesMut};
use rocksdb::{DB, DBCompressionType, Direction, IteratorMode, Options, WriteBatch, WriteOptions};

use crate::backend::{Backend, Markers, Record};
use crate::error::{Result, StoreError};

const RECORD_PREFIX: u8 = b'r';
const META_SCHEDULED: &[u8] = b"mcompact.scheduled";
const META_FINISHED: &[u8] = b"mcompact.finished";
const META_FLOOR: &[u8] = b"mrevision.floor";

/// Format version written as the first byte of every record.
const RECORD_FORMAT: u8 = 1;
const FLAG_TOMBSTONE: u8 = 1;
/// format, flags, create_revision, version, key length.
const RECORD_HEADER: usize = 1 + 1 + 8 + 8 + 4;

/// A [`Backend`] on RocksDB in one directory.
pub struct RocksBackend {
    db: DB,
    synced: WriteOptions,
    unsynced: WriteOptions,
}

impl std::fmt::Debug for RocksBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksBackend").field("path", &self.db.path()).finish()
    }
}

impl RocksBackend {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        // Built without codecs (see the workspace Cargo.toml); say so instead of relying on
        // RocksDB's fallback from its Snappy default.
        opts.set_compression_type(DBCompressionType::None);
        // Records are written once and read by revision: point lookups and forward scans.
        opts.set_max_background_jobs(2);
        opts.set_bytes_per_sync(1 << 20);
        let db = DB::open(&opts, dir)?;
        let mut synced = WriteOptions::default();
        synced.set_sync(true);
        Ok(Self { db, synced, unsynced: WriteOptions::default() })
    }

    fn read_meta(&self, key: &[u8]) -> Result<u64> {
        match self.db.get_pinned(key)? {
            Some(bytes) => decode_u64(&bytes).ok_or(StoreError::Corrupt { revision: 0, reason: "meta value" }),
            None => Ok(0),
        }
    }
}

fn record_key(revision: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = RECORD_PREFIX;
    key[1..].copy_from_slice(&revision.to_be_bytes());
    key
}

fn decode_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// `format | flags | create_revision | version | key_len | key | value`, integers big-endian.
fn encode_record(record: &Record) -> BytesMut {
    let mut buf = BytesMut::with_capacity(RECORD_HEADER + record.key.len() + record.value.len());
    buf.put_u8(RECORD_FORMAT);
    buf.put_u8(if record.tombstone { FLAG_TOMBSTONE } else { 0 });
    buf.put_u64(record.create_revision);
    buf.put_u64(record.version);
    // Keys are bounded by MAX_KEY_BYTES, far below u32::MAX.
    buf.put_u32(record.key.len() as u32);
    buf.put_slice(&record.key);
    buf.put_slice(&record.value);
    buf
}

fn decode_record(revision: u64, bytes: &[u8]) -> Result<Record> {
    let corrupt = |reason| StoreError::Corrupt { revision, reason };
    if bytes.len() < RECORD_HEADER {
        return Err(corrupt("short header"));
    }
    if bytes[0] != RECORD_FORMAT {
        return Err(corrupt("unknown record format"));
    }
    let flags = bytes[1];
    let create_revision = decode_u64(&bytes[2..10]).ok_or(corrupt("create revision"))?;
    let version = decode_u64(&bytes[10..18]).ok_or(corrupt("version"))?;
    let key_len = u32::from_be_bytes(bytes[18..22].try_into().map_err(|_| corrupt("key length"))?) as usize;
    let rest = &bytes[RECORD_HEADER..];
    if rest.len() < key_len {
        return Err(corrupt("key longer than record"));
    }
    Ok(Record {
        revision,
        key: Bytes::copy_from_slice(&rest[..key_len]),
        value: Bytes::copy_from_slice(&rest[key_len..]),
        create_revision,
        version,
        tombstone: flags & FLAG_TOMBSTONE != 0,
    })
}

fn revision_of(key: &[u8]) -> Option<u64> {
    match key.split_first() {
        Some((&RECORD_PREFIX, rest)) => decode_u64(rest),
        _ => None,
    }
}

impl Backend for RocksBackend {
    fn load(&self, visit: &mut dyn FnMut(Record)) -> Result<Markers> {
        let markers = Markers {
            scheduled: self.read_meta(META_SCHEDULED)?,
            finished: self.read_meta(META_FINISHED)?,
            floor: self.read_meta(META_FLOOR)?,
        };
        let start = record_key(0);
        for item in self.db.iterator(IteratorMode::From(&start, Direction::Forward)) {
            let (key, value) = item?;
            let Some(revision) = revision_of(&key) else { break };
            visit(decode_record(revision, &value)?);
        }
        Ok(markers)
    }

    fn append(&self, records: &[Record]) -> Result<()> {
        let mut batch = WriteBatch::default();
        for record in records {
            batch.put(record_key(record.revision), encode_record(record));
        }
        self.db.write_opt(batch, &self.synced)?;
        Ok(())
    }

    fn read(&self, revision: u64) -> Result<Option<Record>> {
        match self.db.get_pinned(record_key(revision))? {
            Some(bytes) => Ok(Some(decode_record(revision, &bytes)?)),
            None => Ok(None),
        }
    }

    fn read_range(&self, from: u64, to: u64, limit: usize) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        if from > to {
            return Ok(out);
        }
        let start = record_key(from);
        for item in self.db.iterator(IteratorMode::From(&start, Direction::Forward)) {
            let (key, value) = item?;
            let Some(revision) = revision_of(&key) else { break };
            if revision > to || out.len() >= limit {
                break;
            }
            out.push(decode_record(revision, &value)?);
        }
        Ok(out)
    }

    fn begin_compaction(&self, revision: u64, floor: u64) -> Result<()> {
        let floor = floor.max(self.read_meta(META_FLOOR)?);
        let mut batch = WriteBatch::default();
        batch.put(META_SCHEDULED, revision.to_be_bytes());
        batch.put(META_FLOOR, floor.to_be_bytes());
        self.db.write_opt(batch, &self.synced)?;
        Ok(())
    }

    fn remove(&self, revisions: &[u64]) -> Result<()> {
        let mut batch = WriteBatch::default();
        for &revision in revisions {
            batch.delete(record_key(revision));
        }
        self.db.write_opt(batch, &self.unsynced)?;
        Ok(())
    }

    fn finish_compaction(&self, revision: u64) -> Result<()> {
        // A synced write also syncs every earlier unsynced write in the WAL.
        self.db.put_opt(META_FINISHED, revision.to_be_bytes(), &self.synced)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips() {
        let record = Record {
            revision: 42,
            key: Bytes::from_static(b"/registry/pods/default/a"),
            value: Bytes::from_static(b"{\"kind\":\"Pod\"}"),
            create_revision: 7,
            version: 3,
            tombstone: false,
        };
        assert_eq!(decode_record(42, &encode_record(&record)).unwrap(), record);
    }

    #[test]
    fn truncated_record_is_corrupt_not_a_panic() {
        let record = Record {
            revision: 1,
            key: Bytes::from_static(b"key"),
            value: Bytes::new(),
            create_revision: 1,
            version: 1,
            tombstone: true,
        };
        let bytes = encode_record(&record);
        for len in 0..bytes.len() - 1 {
            let decoded = decode_record(1, &bytes[..len]);
            assert!(matches!(decoded, Err(StoreError::Corrupt { .. })), "len {len}: {decoded:?}");
        }
    }

    #[test]
    fn revision_keys_sort_in_revision_order() {
        assert!(record_key(255) < record_key(256));
        assert!(record_key(u64::MAX - 1) < record_key(u64::MAX));
        assert_eq!(revision_of(&record_key(99)), Some(99));
        assert_eq!(revision_of(META_FLOOR), None);
    }
}
