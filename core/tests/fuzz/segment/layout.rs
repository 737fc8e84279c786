//! A segment taken apart into its header, blocks (with their raw, uncompressed bytes) and
//! trailer flags, so a mutation can change one part and [`Layout::assemble`] puts the bytes
//! back with every checksum and offset recomputed: damage that checksums would catch at once
//! then reaches the checks behind them. The format is in `core/src/segment/mod.rs`.

use bytes::Bytes;
use silt_core::segment::{Footer, HEADER_BYTES, INDEX_ENTRY_BYTES, MAGIC, TRAILER_BYTES};

/// Header offsets of the fields mutations aim at.
pub(crate) const VERSION_AT: usize = 4;
pub(crate) const RECORD_COUNT_AT: usize = 52;

/// Record flag bits (`core/src/segment/encode.rs`).
const HAS_KEY: u8 = 1;
const HAS_VALUE: u8 = 2;
const HAS_GAP: u8 = 4;

/// One block: the positions it covers and its raw records.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub(crate) first_position: u32,
    pub(crate) records: u32,
    pub(crate) raw: Vec<u8>,
    /// Written as is rather than as a zstd frame.
    pub(crate) stored: bool,
}

/// A segment as parts.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) header: Vec<u8>,
    pub(crate) blocks: Vec<Block>,
    pub(crate) flags: u32,
}

impl Layout {
    /// Takes a valid segment apart (panics on an invalid one: seeds are valid).
    pub(crate) fn parse(bytes: &[u8]) -> Layout {
        let all = Bytes::copy_from_slice(bytes);
        let footer = Footer::parse(all.clone(), all.len() as u64, "seed")
            .expect("a valid seed")
            .expect("a whole object");
        let trailer = &bytes[bytes.len() - TRAILER_BYTES..];
        let flags = u32::from_le_bytes(trailer[12..16].try_into().expect("4 bytes"));
        let blocks = footer
            .blocks
            .iter()
            .map(|b| {
                let r = b.range();
                let stored_bytes = &bytes[r.start as usize..r.end as usize];
                let raw = if b.stored {
                    stored_bytes.to_vec()
                } else {
                    zstd::bulk::decompress(stored_bytes, b.raw_len as usize).expect("zstd")
                };
                Block {
                    first_position: b.first_position,
                    records: b.records,
                    raw,
                    stored: b.stored,
                }
            })
            .collect();
        Layout {
            header: bytes[..HEADER_BYTES].to_vec(),
            blocks,
            flags,
        }
    }

    /// The header's format version.
    pub(crate) fn version(&self) -> u16 {
        u16::from_le_bytes([self.header[VERSION_AT], self.header[VERSION_AT + 1]])
    }

    /// Positions covered according to the blocks.
    pub(crate) fn positions(&self) -> u32 {
        self.blocks
            .iter()
            .fold(0u32, |n, b| n.wrapping_add(b.records))
    }

    /// Makes the header's record count agree with the blocks.
    pub(crate) fn recount(&mut self) {
        let n = self.positions().to_le_bytes();
        self.header[RECORD_COUNT_AT..RECORD_COUNT_AT + 4].copy_from_slice(&n);
    }

    /// Gives the blocks consecutive positions from 0.
    pub(crate) fn renumber(&mut self) {
        let mut next = 0u32;
        for b in &mut self.blocks {
            b.first_position = next;
            next = next.wrapping_add(b.records);
        }
    }

    /// The segment bytes, with offsets, lengths and checksums computed from the parts.
    pub(crate) fn assemble(&self) -> Vec<u8> {
        let mut out = self.header.clone();
        let mut index = (self.blocks.len() as u32).to_le_bytes().to_vec();
        for b in &self.blocks {
            let written = if b.stored {
                b.raw.clone()
            } else {
                zstd::bulk::compress(&b.raw, 1).expect("zstd compresses anything")
            };
            for field in [b.first_position, b.records] {
                index.extend_from_slice(&field.to_le_bytes());
            }
            index.extend_from_slice(&(out.len() as u64).to_le_bytes());
            for field in [
                written.len() as u32,
                b.raw.len() as u32,
                crc32c::crc32c(&written),
            ] {
                index.extend_from_slice(&field.to_le_bytes());
            }
            out.extend_from_slice(&written);
        }
        let index_offset = out.len() as u64;
        out.extend_from_slice(&index);
        out.extend_from_slice(&index_offset.to_le_bytes());
        out.extend_from_slice(&(index.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&MAGIC);
        refresh_checksum(&mut out);
        out
    }
}

/// Byte offset of field `field` (0..6: position, records, offset, length, raw length, crc)
/// of index entry `entry` in assembled `bytes`, if the trailer says where the index is.
pub(crate) fn index_field_at(bytes: &[u8], entry: usize, field: usize) -> Option<usize> {
    let trailer = bytes.len().checked_sub(TRAILER_BYTES)?;
    let index = u64::from_le_bytes(bytes.get(trailer..trailer + 8)?.try_into().ok()?);
    let widths = [0, 4, 8, 16, 20, 24];
    Some(usize::try_from(index).ok()? + 4 + entry * INDEX_ENTRY_BYTES + widths[field % 6])
}

/// The little-endian `u32` at `at` (missing bytes read as zero).
pub(crate) fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut le = [0u8; 4];
    for (i, b) in le.iter_mut().enumerate() {
        *b = bytes.get(at + i).copied().unwrap_or(0);
    }
    u32::from_le_bytes(le)
}

/// The little-endian `u64` at `at` (missing bytes read as zero).
pub(crate) fn read_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from(read_u32(bytes, at)) | u64::from(read_u32(bytes, at + 4)) << 32
}

/// Recomputes the trailer's checksum over everything before it, as a writer would have.
pub(crate) fn refresh_checksum(bytes: &mut [u8]) {
    if let Some(at) = bytes.len().checked_sub(8) {
        let crc = crc32c::crc32c(&bytes[..at]);
        bytes[at..at + 4].copy_from_slice(&crc.to_le_bytes());
    }
}

/// Where a field of a block's raw records sits, and how wide it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) at: usize,
    pub(crate) width: usize,
}

/// Every record field of `raw` that a decoder trusts for a length, a count or a flag
/// (flags, gap, key, value and header lengths, header count), and where each record starts.
pub(crate) fn raw_fields(raw: &[u8]) -> (Vec<Field>, Vec<usize>) {
    let (mut fields, mut starts) = (Vec::new(), Vec::new());
    let mut pos = 0usize;
    let u32_at = |at: usize| -> Option<usize> {
        Some(u32::from_le_bytes(raw.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    while pos < raw.len() {
        starts.push(pos);
        let flags = raw[pos];
        fields.push(Field { at: pos, width: 1 });
        pos += 1;
        if flags & HAS_GAP != 0 {
            fields.push(Field { at: pos, width: 4 });
            pos += 4;
        }
        pos += 8; // timestamp
        for present in [flags & HAS_KEY != 0, flags & HAS_VALUE != 0] {
            if present {
                let Some(len) = u32_at(pos) else {
                    return (fields, starts);
                };
                fields.push(Field { at: pos, width: 4 });
                pos = pos.saturating_add(4 + len);
            }
        }
        let Some(count) = raw.get(pos..pos + 2) else {
            return (fields, starts);
        };
        let count = u16::from_le_bytes([count[0], count[1]]);
        fields.push(Field { at: pos, width: 2 });
        pos += 2;
        for _ in 0..count.min(64) * 2 {
            let Some(len) = u32_at(pos) else {
                return (fields, starts);
            };
            fields.push(Field { at: pos, width: 4 });
            pos = pos.saturating_add(4 + len);
        }
    }
    (fields, starts)
}

/// Splits the first block at record boundaries into up to `parts` blocks (dense blocks only:
/// each record is one position), so small seeds exercise multi-block indexes too.
pub(crate) fn split(layout: &mut Layout, parts: usize) {
    let Some(first) = layout.blocks.first() else {
        return;
    };
    let (_, starts) = raw_fields(&first.raw);
    let dense = layout.flags & silt_core::segment::FLAG_GAPS == 0;
    if !dense || starts.len() < 2 || first.records as usize != starts.len() {
        return;
    }
    let first = layout.blocks.remove(0);
    let step = starts.len().div_ceil(parts.max(1));
    let mut pieces = Vec::new();
    for (i, chunk) in starts.chunks(step).enumerate() {
        let start = chunk[0];
        let end = starts
            .get((i + 1) * step)
            .copied()
            .unwrap_or(first.raw.len());
        pieces.push(Block {
            first_position: first.first_position + (i * step) as u32,
            records: chunk.len() as u32,
            raw: first.raw[start..end].to_vec(),
            stored: first.stored,
        });
    }
    pieces.append(&mut layout.blocks);
    layout.blocks = pieces;
}
