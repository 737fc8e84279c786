//! Fetched records into one uncompressed batch (producer id -1, leader epoch -1, CreateTime).
//! A fetch that starts inside a stored segment simply starts the batch there: the batch is
//! ours to shape, so a client never gets records before the offset it asked for.

use bytes::{BufMut, Bytes, BytesMut};
use silt_core::record::Record;

use super::varint::{put_varlong, varlong_len};
use super::{CRC_START, HEADER_BYTES, LOG_OVERHEAD, MAGIC};

/// Encodes `records` (offset, record; ascending offsets) as one batch; empty for none.
pub(crate) fn encode_batch(records: &[(i64, &Record)]) -> Bytes {
    let (Some((base_offset, _)), Some((last_offset, _))) = (records.first(), records.last()) else {
        return Bytes::new();
    };
    let timestamps = records.iter().map(|(_, r)| r.timestamp_ms);
    let base_timestamp = timestamps.clone().min().unwrap_or(-1);
    let max_timestamp = timestamps.max().unwrap_or(-1);
    let mut out = BytesMut::with_capacity(HEADER_BYTES + encoded_len(records));
    out.put_i64(*base_offset);
    out.put_i32(0); // batch length, below
    out.put_i32(-1); // partition leader epoch: clients skip epoch validation
    out.put_i8(MAGIC);
    out.put_u32(0); // CRC, below
    out.put_i16(0); // attributes: no codec, CreateTime, not transactional
    out.put_i32(clamp_i32(last_offset - base_offset));
    out.put_i64(base_timestamp);
    out.put_i64(max_timestamp);
    out.put_i64(-1); // producer id
    out.put_i16(-1); // producer epoch
    out.put_i32(-1); // base sequence
    out.put_i32(clamp_i32(records.len() as i64));
    for (offset, record) in records {
        put_record(
            &mut out,
            offset - base_offset,
            record.timestamp_ms - base_timestamp,
            record,
        );
    }
    let length = clamp_i32((out.len() - LOG_OVERHEAD) as i64);
    out[8..12].copy_from_slice(&length.to_be_bytes());
    let crc = crc32c::crc32c(&out[CRC_START..]);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
    out.freeze()
}

fn put_record(out: &mut BytesMut, offset_delta: i64, timestamp_delta: i64, record: &Record) {
    put_varlong(out, body_len(offset_delta, timestamp_delta, record) as i64);
    out.put_i8(0); // attributes
    put_varlong(out, timestamp_delta);
    put_varlong(out, offset_delta);
    put_nullable(out, record.key.as_deref());
    put_nullable(out, record.value.as_deref());
    put_varlong(out, record.headers.len() as i64);
    for header in &record.headers {
        put_nullable(out, Some(header.key.as_bytes()));
        put_nullable(out, Some(&header.value));
    }
}

/// A record's bytes after its length prefix.
fn body_len(offset_delta: i64, timestamp_delta: i64, record: &Record) -> usize {
    let headers: usize = record
        .headers
        .iter()
        .map(|h| nullable_len(Some(h.key.as_bytes())) + nullable_len(Some(&h.value)))
        .sum();
    1 + varlong_len(timestamp_delta)
        + varlong_len(offset_delta)
        + nullable_len(record.key.as_deref())
        + nullable_len(record.value.as_deref())
        + varlong_len(record.headers.len() as i64)
        + headers
}

fn encoded_len(records: &[(i64, &Record)]) -> usize {
    records
        .iter()
        .map(|(_, r)| 10 + body_len(0, 0, r) + 20)
        .sum()
}

fn put_nullable(out: &mut BytesMut, bytes: Option<&[u8]>) {
    match bytes {
        None => put_varlong(out, -1),
        Some(b) => {
            put_varlong(out, b.len() as i64);
            out.put_slice(b);
        }
    }
}

fn nullable_len(bytes: Option<&[u8]>) -> usize {
    bytes.map_or(1, |b| varlong_len(b.len() as i64) + b.len())
}

fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}
