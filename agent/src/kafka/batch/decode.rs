//! Produced batches into silt records: the header checked (magic, length, CRC-32C), the
//! records part decompressed within a bound, every record read without trusting a count.

use bytes::{Buf, Bytes};
use kafka_protocol::ResponseError;
use silt_core::ids::{ProducerEpoch, ProducerId};
use silt_core::manifest::producers::ProducerBatch;
use silt_core::record::{Header, Record};
use thiserror::Error;

use super::decompress::decompress;
use super::varint::{BadVarint, get_varint, get_varlong};
use super::{
    CODEC_MASK, CONTROL, CRC_START, HEADER_BYTES, LOG_OVERHEAD, MAGIC, RECORD_BYTES_MIN,
    TRANSACTIONAL,
};

/// Why a partition's produced records are refused (nothing of them is written).
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum BatchError {
    /// Bytes that are not a well-formed batch, or whose CRC does not match.
    #[error("corrupt record batch: {0}")]
    Corrupt(String),
    /// A batch format other than v2.
    #[error("record batch format (magic) {0} is not supported: only 2")]
    Magic(i8),
    /// Records that decompress to more than the limit.
    #[error("record batch decompresses to more than {max} bytes")]
    TooLarge { max: usize },
    /// A transactional or control batch: transactions are not supported.
    #[error("transactional batches are not supported")]
    Transactional,
}

impl BatchError {
    /// The Kafka error code a client gets for it.
    pub(crate) fn code(&self) -> ResponseError {
        match self {
            BatchError::Corrupt(_) => ResponseError::CorruptMessage,
            // As Kafka: the old formats are invalid in a v3+ produce; others are corrupt.
            BatchError::Magic(0 | 1) => ResponseError::InvalidRecord,
            BatchError::Magic(_) => ResponseError::CorruptMessage,
            BatchError::TooLarge { .. } => ResponseError::MessageTooLarge,
            BatchError::Transactional => ResponseError::TransactionalIdAuthorizationFailed,
        }
    }
}

impl From<BadVarint> for BatchError {
    fn from(_: BadVarint) -> BatchError {
        BatchError::Corrupt("a varint runs past its record".into())
    }
}

/// One produced batch as silt records.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProducedBatch {
    /// The idempotent producer's id, epoch and first sequence (`None`: producer id -1).
    pub(crate) producer: Option<ProducerBatch>,
    /// The records, in order.
    pub(crate) records: Vec<Record>,
}

/// Decodes every batch in a partition's `records` bytes; each batch's records decompress to
/// at most `max_bytes`.
pub(crate) fn decode_batches(
    mut data: Bytes,
    max_bytes: usize,
) -> Result<Vec<ProducedBatch>, BatchError> {
    let mut batches = Vec::new();
    while data.has_remaining() {
        if data.len() < HEADER_BYTES {
            return Err(corrupt("shorter than a batch header"));
        }
        let length = i32::from_be_bytes([data[8], data[9], data[10], data[11]]);
        let total = usize::try_from(length)
            .ok()
            .and_then(|l| l.checked_add(LOG_OVERHEAD))
            .filter(|total| *total >= HEADER_BYTES && *total <= data.len())
            .ok_or_else(|| corrupt(&format!("batch length {length} does not fit the request")))?;
        batches.push(decode_batch(data.split_to(total), max_bytes)?);
    }
    Ok(batches)
}

fn decode_batch(mut batch: Bytes, max_bytes: usize) -> Result<ProducedBatch, BatchError> {
    let magic = batch[16] as i8;
    if magic != MAGIC {
        return Err(BatchError::Magic(magic));
    }
    let crc = u32::from_be_bytes([batch[17], batch[18], batch[19], batch[20]]);
    if crc32c::crc32c(&batch[CRC_START..]) != crc {
        return Err(corrupt("CRC-32C mismatch"));
    }
    batch.advance(CRC_START);
    let attributes = batch.get_i16();
    if attributes & (TRANSACTIONAL | CONTROL) != 0 {
        return Err(BatchError::Transactional);
    }
    let _last_offset_delta = batch.get_i32();
    let base_timestamp = batch.get_i64();
    let _max_timestamp = batch.get_i64();
    let producer_id = batch.get_i64();
    let producer_epoch = batch.get_i16();
    let base_sequence = batch.get_i32();
    let count = batch.get_i32();
    let codec = (attributes & CODEC_MASK) as u8;
    let mut raw = decompress(codec, batch, max_bytes)?;
    let count = usize::try_from(count)
        .ok()
        .filter(|c| *c > 0 && *c <= raw.len() / RECORD_BYTES_MIN)
        .ok_or_else(|| corrupt(&format!("record count {count} does not fit the batch")))?;
    let mut records = Vec::with_capacity(count);
    for _ in 0..count {
        records.push(decode_record(&mut raw, base_timestamp)?);
    }
    if raw.has_remaining() {
        return Err(corrupt("bytes after the last record"));
    }
    let producer = (producer_id >= 0).then_some(ProducerBatch {
        producer_id: ProducerId(producer_id),
        epoch: ProducerEpoch(producer_epoch),
        first_seq: base_sequence,
    });
    Ok(ProducedBatch { producer, records })
}

fn decode_record(raw: &mut Bytes, base_timestamp: i64) -> Result<Record, BatchError> {
    let length = usize::try_from(get_varint(raw)?)
        .ok()
        .filter(|l| *l <= raw.len())
        .ok_or_else(|| corrupt("a record's length runs past its batch"))?;
    let mut body = raw.split_to(length);
    let _attributes = take(&mut body, 1)?;
    let timestamp_delta = get_varlong(&mut body)?;
    let _offset_delta = get_varint(&mut body)?;
    let key = nullable(&mut body)?;
    let value = nullable(&mut body)?;
    let header_count = get_varint(&mut body)?;
    let header_count = usize::try_from(header_count)
        .ok()
        .filter(|n| *n <= body.len() / 2)
        .ok_or_else(|| corrupt(&format!("header count {header_count} does not fit")))?;
    let mut headers = Vec::with_capacity(header_count);
    for _ in 0..header_count {
        let key = nullable(&mut body)?.ok_or_else(|| corrupt("a header without a key"))?;
        let key = String::from_utf8(key.to_vec())
            .map_err(|_| corrupt("a header key that is not UTF-8"))?;
        // silt headers have no null value: a null reads back as empty.
        let value = nullable(&mut body)?.unwrap_or_default();
        headers.push(Header { key, value });
    }
    if body.has_remaining() {
        return Err(corrupt("bytes after a record's headers"));
    }
    Ok(Record {
        key,
        value,
        timestamp_ms: base_timestamp.saturating_add(timestamp_delta),
        headers,
    })
}

/// A varint length (-1: null) and that many bytes.
fn nullable(body: &mut Bytes) -> Result<Option<Bytes>, BatchError> {
    match get_varint(body)? {
        -1 => Ok(None),
        len => Ok(Some(take(
            body,
            usize::try_from(len).unwrap_or(usize::MAX),
        )?)),
    }
}

fn take(body: &mut Bytes, len: usize) -> Result<Bytes, BatchError> {
    match len <= body.len() {
        true => Ok(body.split_to(len)),
        false => Err(corrupt("a field runs past its record")),
    }
}

fn corrupt(what: &str) -> BatchError {
    BatchError::Corrupt(what.to_string())
}
