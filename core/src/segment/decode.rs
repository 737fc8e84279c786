//! Segment bytes → records, validating every length and checksum. Damaged input is a
//! [`Corruption`] (or [`Error::FutureFormat`]), never a panic and never a short read that looks
//! like the end of the log.

use bytes::Bytes;

use super::encode::{HAS_GAP, HAS_KEY, HAS_VALUE};
use super::wire::Cursor;
use super::{BLOCK_RAW_BYTES_MAX, BlockInfo, FORMAT_VERSION, HEADER_BYTES, INDEX_ENTRY_BYTES};
use super::{MAGIC, Positioned, SegmentHeader, TRAILER_BYTES};
use crate::error::{Corruption, Error};
use crate::ids::{Epoch, PartitionId, TopicId, WriterId};
use crate::limits::SEGMENT_RECORDS_MAX;
use crate::record::{Header, Record};

fn corrupt(location: &str, reason: impl Into<String>) -> Error {
    Error::Corrupt(Corruption {
        what: "segment",
        location: location.to_string(),
        reason: reason.into(),
    })
}

/// The trailer and block index of a segment: enough to range-GET any one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footer {
    /// The blocks, in order.
    pub blocks: Vec<BlockInfo>,
}

impl Footer {
    /// Parses the footer from `tail`, the last `tail.len()` bytes of an object of `object_len`
    /// bytes. Returns `Ok(Err(needed))` when `tail` does not reach back to the start of the
    /// index: fetch the last `needed` bytes and call again.
    pub fn parse(
        tail: Bytes,
        object_len: u64,
        location: &str,
    ) -> Result<Result<Footer, u64>, Error> {
        if (tail.len() as u64) > object_len || tail.len() < TRAILER_BYTES {
            return Err(corrupt(
                location,
                format!("{} bytes cannot hold a trailer", tail.len()),
            ));
        }
        let mut c = Cursor::new(tail.slice(tail.len() - TRAILER_BYTES..));
        let trailer = read_trailer(&mut c).map_err(|e| corrupt(location, e))?;
        let known = super::FLAG_STORED_BLOCKS | super::FLAG_GAPS;
        if trailer.flags & !known != 0 {
            let flags = trailer.flags;
            return Err(corrupt(
                location,
                format!("unknown trailer flags {flags:#x}"),
            ));
        }
        let index_end = object_len - TRAILER_BYTES as u64;
        if trailer.index_offset > index_end
            || index_end - trailer.index_offset != u64::from(trailer.index_len)
            || trailer.index_offset < HEADER_BYTES as u64
        {
            return Err(corrupt(location, "index position is outside the object"));
        }
        let needed = object_len - trailer.index_offset;
        if needed > tail.len() as u64 {
            return Ok(Err(needed));
        }
        let start = tail.len() - needed as usize;
        let index = tail.slice(start..tail.len() - TRAILER_BYTES);
        let blocks = read_index(index, trailer.index_offset, trailer.flags)
            .map_err(|e| corrupt(location, e))?;
        Ok(Ok(Footer { blocks }))
    }

    /// Positions the segment covers according to the index (its records, plus any removed).
    pub fn record_count(&self) -> u64 {
        self.blocks.iter().map(|b| u64::from(b.records)).sum()
    }

    /// The block holding relative position `position`.
    pub fn block_for(&self, position: u32) -> Option<&BlockInfo> {
        let i = self
            .blocks
            .partition_point(|b| b.first_position + b.records <= position);
        self.blocks.get(i).filter(|b| b.contains(position))
    }
}

struct Trailer {
    index_offset: u64,
    flags: u32,
    index_len: u32,
    crc32c: u32,
}

fn read_trailer(c: &mut Cursor) -> Result<Trailer, String> {
    let index_offset = c.u64("index offset")?;
    let index_len = c.u32("index length")?;
    let flags = c.u32("flags")?;
    let crc32c = c.u32("checksum")?;
    if c.take(4, "magic")?.as_ref() != MAGIC {
        return Err("trailer magic is not SILT (truncated or not a segment)".into());
    }
    Ok(Trailer {
        index_offset,
        flags,
        index_len,
        crc32c,
    })
}

fn read_index(index: Bytes, index_offset: u64, flags: u32) -> Result<Vec<BlockInfo>, String> {
    let stored_blocks = flags & super::FLAG_STORED_BLOCKS != 0;
    let mut c = Cursor::new(index);
    let count = c.u32("block count")? as usize;
    if c.remaining() != count * INDEX_ENTRY_BYTES {
        return Err(format!(
            "index claims {count} blocks but holds {} bytes",
            c.remaining()
        ));
    }
    let mut blocks: Vec<BlockInfo> = Vec::with_capacity(count);
    let mut next_position = 0u32;
    let mut next_byte = HEADER_BYTES as u64;
    for _ in 0..count {
        let b = BlockInfo {
            first_position: c.u32("block position")?,
            records: c.u32("block records")?,
            byte_offset: c.u64("block offset")?,
            byte_len: c.u32("block length")?,
            raw_len: c.u32("block raw length")?,
            crc32c: c.u32("block checksum")?,
            stored: false,
            gaps: flags & super::FLAG_GAPS != 0,
        };
        let b = BlockInfo {
            stored: stored_blocks && b.byte_len == b.raw_len,
            ..b
        };
        let in_order = b.first_position == next_position && b.byte_offset == next_byte;
        if !in_order || b.records == 0 || b.raw_len as usize > BLOCK_RAW_BYTES_MAX {
            return Err(format!("index entry {} is inconsistent", blocks.len()));
        }
        next_position = next_position
            .checked_add(b.records)
            .filter(|n| *n <= SEGMENT_RECORDS_MAX)
            .ok_or("index holds too many records")?;
        next_byte = b.range().end;
        blocks.push(b);
    }
    if next_byte != index_offset {
        return Err("blocks do not end where the index starts".into());
    }
    Ok(blocks)
}

/// Decodes a whole segment object, checking the trailer checksum, the header, every block
/// checksum and every record length. Records come with their positions (dense unless key
/// compaction removed some).
pub fn decode(bytes: Bytes, location: &str) -> Result<(SegmentHeader, Vec<Positioned>), Error> {
    let len = bytes.len();
    if len < HEADER_BYTES + TRAILER_BYTES {
        return Err(corrupt(
            location,
            format!("{len} bytes is shorter than any segment"),
        ));
    }
    let mut head = Cursor::new(bytes.slice(..HEADER_BYTES));
    let header = read_header(&mut head, location)?;
    let mut tail = Cursor::new(bytes.slice(len - TRAILER_BYTES..));
    let trailer = read_trailer(&mut tail).map_err(|e| corrupt(location, e))?;
    let computed = crc32c::crc32c(&bytes[..len - 8]);
    if computed != trailer.crc32c {
        return Err(corrupt(location, "checksum mismatch"));
    }
    let footer = match Footer::parse(bytes.clone(), len as u64, location)? {
        Ok(footer) => footer,
        Err(_) => return Err(corrupt(location, "index does not fit in the object")),
    };
    if footer.record_count() != u64::from(header.record_count) {
        return Err(corrupt(
            location,
            "header record count differs from the index",
        ));
    }
    // Sized by the records found, never by the count claimed: a segment of a million removed
    // positions holds no record, and its count must not reserve room for a million.
    let mut records = Vec::new();
    for block in &footer.blocks {
        let range = block.range();
        let compressed = bytes.slice(range.start as usize..range.end as usize);
        records.extend(decode_block(block, compressed, location)?);
    }
    Ok((header, records))
}

/// Reads only the header of a segment (its identity, record count and timestamps).
pub fn decode_header(bytes: &Bytes, location: &str) -> Result<SegmentHeader, Error> {
    if bytes.len() < HEADER_BYTES {
        return Err(corrupt(location, "shorter than a segment header"));
    }
    read_header(&mut Cursor::new(bytes.slice(..HEADER_BYTES)), location)
}

fn read_header(c: &mut Cursor, location: &str) -> Result<SegmentHeader, Error> {
    let err = |e: String| corrupt(location, e);
    if c.take(4, "magic").map_err(err)?.as_ref() != MAGIC {
        return Err(corrupt(location, "header magic is not SILT"));
    }
    let version = c.u16("format version").map_err(err)?;
    if version > FORMAT_VERSION {
        return Err(Error::FutureFormat {
            what: "segment",
            location: location.to_string(),
            found: version.into(),
            supported: FORMAT_VERSION.into(),
        });
    }
    if version == 0 {
        return Err(corrupt(location, "format version 0"));
    }
    let _flags = c.u16("flags").map_err(err)?;
    let header = SegmentHeader {
        topic_id: TopicId(ulid::Ulid::from_bytes(c.bytes16("topic id").map_err(err)?)),
        partition: PartitionId(c.u32("partition").map_err(err)?),
        writer_id: WriterId(ulid::Ulid::from_bytes(c.bytes16("writer id").map_err(err)?)),
        epoch: Epoch(c.u64("epoch").map_err(err)?),
        record_count: c.u32("record count").map_err(err)?,
        min_ts: c.i64("min timestamp").map_err(err)?,
        max_ts: c.i64("max timestamp").map_err(err)?,
    };
    Ok(header)
}

/// Decodes one compressed block (as fetched by a ranged GET), checking its checksum, its
/// uncompressed length and every record in it, with their positions in the segment.
pub fn decode_block(
    block: &BlockInfo,
    compressed: Bytes,
    location: &str,
) -> Result<Vec<Positioned>, Error> {
    if compressed.len() != block.byte_len as usize || crc32c::crc32c(&compressed) != block.crc32c {
        return Err(corrupt(
            location,
            format!("block at byte {} fails its checksum", block.byte_offset),
        ));
    }
    // A stored (uncompressed) block has exactly its raw length; see the encoder.
    // A stored block is read in place: records are slices of the fetched bytes.
    let raw = if block.stored {
        compressed
    } else {
        let raw = zstd::bulk::decompress(&compressed, block.raw_len as usize).map_err(|e| {
            corrupt(
                location,
                format!("block at byte {}: {e}", block.byte_offset),
            )
        })?;
        Bytes::from(raw)
    };
    if raw.len() != block.raw_len as usize {
        return Err(corrupt(
            location,
            "block decompressed to an unexpected length",
        ));
    }
    read_records(block, raw).map_err(|e| corrupt(location, e))
}

/// The records of a block: exactly one per position, or (with gaps) any number within them.
fn read_records(block: &BlockInfo, raw: Bytes) -> Result<Vec<Positioned>, String> {
    let mut c = Cursor::new(raw);
    let end = u64::from(block.first_position) + u64::from(block.records);
    let mut position = u64::from(block.first_position);
    let mut records = Vec::new();
    while c.remaining() > 0 {
        let (gap, record) = read_record(&mut c, block.gaps)?;
        position += u64::from(gap);
        if position >= end {
            return Err(format!(
                "a record past the block's last position {}",
                end - 1
            ));
        }
        records.push(Positioned {
            position: position as u32,
            record,
        });
        position += 1;
    }
    if !block.gaps && position != end {
        return Err(format!(
            "block holds {} records, its index says {}",
            records.len(),
            block.records
        ));
    }
    Ok(records)
}

/// One record and the gap before it.
fn read_record(c: &mut Cursor, gaps: bool) -> Result<(u32, Record), String> {
    let flags = c.u8("record flags")?;
    let known = if gaps {
        HAS_KEY | HAS_VALUE | HAS_GAP
    } else {
        HAS_KEY | HAS_VALUE
    };
    if flags & !known != 0 {
        return Err(format!("unknown record flags {flags:#x}"));
    }
    let gap = if flags & HAS_GAP != 0 {
        c.u32("gap")?
    } else {
        0
    };
    let timestamp_ms = c.i64("timestamp")?;
    let mut part = |present: bool, what: &str| -> Result<Option<Bytes>, String> {
        if !present {
            return Ok(None);
        }
        let len = c.u32(what)? as usize;
        c.take(len, what).map(Some)
    };
    let key = part(flags & HAS_KEY != 0, "key")?;
    let value = part(flags & HAS_VALUE != 0, "value")?;
    let count = c.u16("header count")?;
    let mut headers = Vec::with_capacity(usize::from(count).min(64));
    for _ in 0..count {
        let key_len = c.u32("header name length")? as usize;
        let key = String::from_utf8(c.take(key_len, "header name")?.to_vec())
            .map_err(|_| "header name is not UTF-8".to_string())?;
        let value_len = c.u32("header value length")? as usize;
        headers.push(Header {
            key,
            value: c.take(value_len, "header value")?,
        });
    }
    let record = Record {
        key,
        value,
        timestamp_ms,
        headers,
    };
    Ok((gap, record))
}
