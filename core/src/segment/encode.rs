//! Records → segment bytes. See the format in the module above.

use bytes::{BufMut, Bytes, BytesMut};

use super::{
    BLOCK_RAW_BYTES_TARGET, BlockInfo, DENSE_FORMAT_VERSION, FLAG_GAPS, FLAG_STORED_BLOCKS,
    FORMAT_VERSION, INDEX_ENTRY_BYTES, MAGIC, Positioned,
};
use super::{HEADER_BYTES, SegmentHeader, TRAILER_BYTES};
use crate::limits::SEGMENT_RECORDS_MAX;
use crate::record::Record;

/// Encodes `records` as one segment, compressing blocks with zstd at `zstd_level`.
///
/// The header's record count and timestamps are computed from `records`; the caller supplies
/// the identity fields. Fails only if zstd itself fails (or `records` exceed the limit).
pub fn encode(
    identity: &SegmentHeader,
    records: &[Record],
    zstd_level: i32,
) -> std::io::Result<Bytes> {
    let positioned: Vec<(u32, &Record)> = (0u32..).zip(records).collect();
    let span = u32::try_from(records.len()).unwrap_or(u32::MAX);
    encode_at(identity, &positioned, span, zstd_level)
}

/// Encodes a segment covering `span` positions of which only `records` remain (key
/// compaction removed the others), in format version 3. When nothing was removed it writes
/// exactly what [`encode`] writes.
pub fn encode_sparse(
    identity: &SegmentHeader,
    records: &[Positioned],
    span: u32,
    zstd_level: i32,
) -> std::io::Result<Bytes> {
    let positioned: Vec<(u32, &Record)> = records.iter().map(|p| (p.position, &p.record)).collect();
    encode_at(identity, &positioned, span, zstd_level)
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

fn encode_at(
    identity: &SegmentHeader,
    records: &[(u32, &Record)],
    span: u32,
    zstd_level: i32,
) -> std::io::Result<Bytes> {
    if span > SEGMENT_RECORDS_MAX {
        return Err(invalid(format!(
            "{span} records exceed the segment limit of {SEGMENT_RECORDS_MAX}"
        )));
    }
    let increasing = records.windows(2).all(|w| w[0].0 < w[1].0);
    if !increasing || records.last().is_some_and(|(p, _)| *p >= span) {
        return Err(invalid(format!(
            "record positions must increase and stay below {span}"
        )));
    }
    let gaps = records.len() != span as usize;
    let header = SegmentHeader {
        record_count: span,
        min_ts: records
            .iter()
            .map(|(_, r)| r.timestamp_ms)
            .min()
            .unwrap_or(0),
        max_ts: records
            .iter()
            .map(|(_, r)| r.timestamp_ms)
            .max()
            .unwrap_or(0),
        ..identity.clone()
    };
    // Records are encoded straight into the object, sized for all of them stored as is, so
    // a block that does not compress is never copied and the buffer never grows.
    let records_bytes: usize = records.iter().map(|(_, r)| encoded_len(r)).sum();
    let gap_bytes = if gaps { GAP_BYTES * records.len() } else { 0 };
    let index_bytes = 4 + INDEX_ENTRY_BYTES * (records_bytes / BLOCK_RAW_BYTES_TARGET + 1);
    let mut out = BytesMut::with_capacity(
        HEADER_BYTES + records_bytes + gap_bytes + index_bytes + TRAILER_BYTES,
    );
    let version = if gaps {
        FORMAT_VERSION
    } else {
        DENSE_FORMAT_VERSION
    };
    put_header(&mut out, &header, version);
    let mut blocks = Blocks::new(&out, zstd_level)?;
    let (mut first_position, mut next_position) = (0u32, 0u32);
    for (position, record) in records {
        put_record(&mut out, record, position - next_position);
        next_position = position + 1;
        if blocks.unsealed(&out) >= BLOCK_RAW_BYTES_TARGET {
            blocks.seal(&mut out, first_position, next_position)?;
            first_position = next_position;
        }
    }
    // The last block also covers the positions removed after the last record kept.
    if first_position < span {
        blocks.seal(&mut out, first_position, span)?;
    }
    blocks.put_footer(&mut out, gaps);
    Ok(shrunk(out))
}

/// The object's bytes; copied into a buffer of their size when compression left most of
/// the one they were encoded in empty (an upload in flight should not hold it).
fn shrunk(out: BytesMut) -> Bytes {
    if out.capacity() > 2 * out.len() {
        Bytes::copy_from_slice(&out)
    } else {
        out.freeze()
    }
}

/// The blocks of a segment being encoded: where the unsealed one starts, and one zstd
/// context for all of them.
struct Blocks {
    infos: Vec<BlockInfo>,
    start: usize,
    zstd: zstd::bulk::Compressor<'static>,
    compressed: Vec<u8>,
}

impl Blocks {
    /// Blocks that follow the bytes already in `out` (the header).
    fn new(out: &[u8], zstd_level: i32) -> std::io::Result<Blocks> {
        Ok(Blocks {
            infos: Vec::new(),
            start: out.len(),
            zstd: zstd::bulk::Compressor::new(zstd_level)?,
            compressed: Vec::new(),
        })
    }

    /// Raw bytes encoded since the last block was sealed.
    fn unsealed(&self, out: &[u8]) -> usize {
        out.len() - self.start
    }

    /// Seals the raw bytes at the end of `out` as a block covering positions
    /// `first_position..end_position`: replaced by their zstd frame when it is shorter,
    /// left in place otherwise.
    fn seal(
        &mut self,
        out: &mut BytesMut,
        first_position: u32,
        end_position: u32,
    ) -> std::io::Result<()> {
        let raw_len = out.len() - self.start;
        if !self.looks_incompressible(&out[self.start..])? {
            self.compressed.clear();
            self.compressed
                .reserve(zstd::zstd_safe::compress_bound(raw_len));
            self.zstd
                .compress_to_buffer(&out[self.start..], &mut self.compressed)?;
            if self.compressed.len() < raw_len {
                out.truncate(self.start);
                out.extend_from_slice(&self.compressed);
            }
        }
        let stored = &out[self.start..];
        let crc = crc32c::crc32c(stored);
        self.infos.push(BlockInfo {
            first_position,
            records: end_position - first_position,
            byte_offset: self.start as u64,
            byte_len: stored.len() as u32,
            raw_len: raw_len as u32,
            crc32c: crc,
            stored: stored.len() == raw_len,
            gaps: false,
        });
        self.start = out.len();
        Ok(())
    }

    /// True when a sample of `raw` barely compresses (random or already compressed
    /// payloads): compressing the whole block would cost CPU for nothing, so it is stored as
    /// is. A stored block is recognised by `byte_len == raw_len`, which a zstd frame (always
    /// longer than its input when the input does not shrink) can never have.
    fn looks_incompressible(&mut self, raw: &[u8]) -> std::io::Result<bool> {
        if raw.len() < 4 * SAMPLE_BYTES {
            return Ok(false);
        }
        let sample = self.zstd.compress(&raw[..SAMPLE_BYTES])?;
        Ok(sample.len() * 100 > SAMPLE_BYTES * 95)
    }

    /// The block index, then the trailer with its checksum over everything before it.
    fn put_footer(self, out: &mut BytesMut, gaps: bool) {
        let index_offset = out.len();
        out.put_u32_le(self.infos.len() as u32);
        for b in &self.infos {
            out.put_u32_le(b.first_position);
            out.put_u32_le(b.records);
            out.put_u64_le(b.byte_offset);
            out.put_u32_le(b.byte_len);
            out.put_u32_le(b.raw_len);
            out.put_u32_le(b.crc32c);
        }
        let index_len = 4 + self.infos.len() * INDEX_ENTRY_BYTES;
        out.put_u64_le(index_offset as u64);
        out.put_u32_le(index_len as u32);
        out.put_u32_le(FLAG_STORED_BLOCKS | if gaps { FLAG_GAPS } else { 0 });
        let crc = crc32c::crc32c(out);
        out.put_u32_le(crc);
        out.put_slice(&MAGIC);
    }
}

fn put_header(out: &mut BytesMut, h: &SegmentHeader, version: u16) {
    out.put_slice(&MAGIC);
    out.put_u16_le(version);
    out.put_u16_le(0); // flags
    out.put_slice(&h.topic_id.0.to_bytes());
    out.put_u32_le(h.partition.0);
    out.put_slice(&h.writer_id.0.to_bytes());
    out.put_u64_le(h.epoch.0);
    out.put_u32_le(h.record_count);
    out.put_i64_le(h.min_ts);
    out.put_i64_le(h.max_ts);
    debug_assert_eq!(out.len(), HEADER_BYTES);
}

/// Bytes of a block's start compressed to guess whether the whole block would shrink.
const SAMPLE_BYTES: usize = 4096;

/// Flag bits of an encoded record.
pub(super) const HAS_KEY: u8 = 1;
pub(super) const HAS_VALUE: u8 = 2;
/// The record follows `gap` removed positions (format 3).
pub(super) const HAS_GAP: u8 = 4;

/// Bytes a record's gap takes.
const GAP_BYTES: usize = 4;

fn put_record(raw: &mut BytesMut, r: &Record, gap: u32) {
    let flags = if r.key.is_some() { HAS_KEY } else { 0 }
        | if r.value.is_some() { HAS_VALUE } else { 0 }
        | if gap > 0 { HAS_GAP } else { 0 };
    raw.put_u8(flags);
    if gap > 0 {
        raw.put_u32_le(gap);
    }
    raw.put_i64_le(r.timestamp_ms);
    for part in [&r.key, &r.value].into_iter().flatten() {
        raw.put_u32_le(part.len() as u32);
        raw.put_slice(part);
    }
    raw.put_u16_le(r.headers.len() as u16);
    for h in &r.headers {
        raw.put_u32_le(h.key.len() as u32);
        raw.put_slice(h.key.as_bytes());
        raw.put_u32_le(h.value.len() as u32);
        raw.put_slice(&h.value);
    }
}

/// Bytes [`put_record`] writes for `r`, without its gap ([`GAP_BYTES`] more when it has one).
fn encoded_len(r: &Record) -> usize {
    let parts: usize = [&r.key, &r.value]
        .into_iter()
        .flatten()
        .map(|p| 4 + p.len())
        .sum();
    let headers: usize = r
        .headers
        .iter()
        .map(|h| 8 + h.key.len() + h.value.len())
        .sum();
    1 + 8 + parts + 2 + headers
}
