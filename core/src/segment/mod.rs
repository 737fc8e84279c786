//! Segment format v3 (docs/design.md §5): the immutable object that holds a run of one partition's
//! records. Pure code, no I/O: [`encode`] turns records into bytes, [`decode`] validates and
//! reads them back, and [`Footer`] lets a reader range-GET a single block.
//!
//! ```text
//! header   magic "SILT" | version u16 | flags u16 | topic id [16] | partition u32
//!          | writer id [16] | epoch u64 | record count u32 | min ts i64 | max ts i64
//! blocks   zstd frames, each a run of encoded records (about BLOCK_RAW_BYTES_TARGET raw);
//!          a block that does not compress is stored as is (its length equals its raw length):
//!          flags u8 | [gap u32] | timestamp i64 | [key len u32 | key] | [value len u32 | value]
//!          | header count u16 | per header: name len u32 | name | value len u32 | value
//! index    block count u32, then per block: first position u32 | positions u32
//!          | byte offset u64 | byte length u32 | raw length u32 | crc32c u32
//! trailer  index offset u64 | index length u32 | flags u32 | crc32c u32 | magic "SILT"
//!
//! Versions: 1 wrote every block with zstd and flags 0. 2 adds the trailer flag
//! `FLAG_STORED_BLOCKS`: a block whose length equals its raw length is stored as is (the
//! encoder only keeps a zstd frame that is strictly shorter). 3 adds the trailer flag
//! `FLAG_GAPS` for segments key compaction rewrote: a record whose flags have `HAS_GAP`
//! follows `gap` removed positions, a block covers `positions` positions of which some may be
//! removed (possibly all), and the header's record count is the positions covered. A segment
//! with nothing removed is still written as version 2, byte for byte. All three are read.
//! ```
//!
//! All integers are little-endian. The trailer's crc32c covers every byte before it (header,
//! blocks, index and the index offset/length); each block also carries its own crc32c so a
//! ranged read is verified too. Segments store positions relative to their first record only:
//! the manifest gives them their offsets, so a commit that loses a race can be re-applied at a
//! new base offset without rewriting the object.

mod decode;
mod encode;
mod mixed;
mod wire;

pub use decode::{Footer, decode, decode_block, decode_header};
pub use encode::{encode, encode_sparse};
pub use mixed::{MixedPart, MixedToc, encode_mixed};

use crate::ids::{Epoch, PartitionId, TopicId, WriterId};
use crate::record::Record;

/// First four bytes of every segment, and its last four.
pub const MAGIC: [u8; 4] = *b"SILT";
/// The newest format version this code writes (for segments with removed records) and reads.
pub const FORMAT_VERSION: u16 = 3;
/// The version of segments with every position present.
pub const DENSE_FORMAT_VERSION: u16 = 2;
/// Trailer flag: blocks with `byte_len == raw_len` are stored uncompressed.
pub const FLAG_STORED_BLOCKS: u32 = 1;
/// Trailer flag: records may follow gaps (positions key compaction removed).
pub const FLAG_GAPS: u32 = 2;
/// Uncompressed bytes after which the encoder starts a new block.
pub const BLOCK_RAW_BYTES_TARGET: usize = 256 * 1024;
/// Largest uncompressed block the decoder accepts (a block holds at least one record).
pub const BLOCK_RAW_BYTES_MAX: usize = 32 * 1024 * 1024;
/// Size of the fixed header.
pub const HEADER_BYTES: usize = 72;
/// Size of the fixed trailer.
pub const TRAILER_BYTES: usize = 24;
/// Size of one index entry.
pub const INDEX_ENTRY_BYTES: usize = 28;

/// What a segment says about itself in its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentHeader {
    /// The topic incarnation the segment belongs to.
    pub topic_id: TopicId,
    /// The partition it belongs to.
    pub partition: PartitionId,
    /// The writer that wrote it (forensics).
    pub writer_id: WriterId,
    /// That writer's epoch when it wrote it (0 in shared mode).
    pub epoch: Epoch,
    /// Positions covered: the records, plus any key compaction removed.
    pub record_count: u32,
    /// Smallest record timestamp.
    pub min_ts: i64,
    /// Largest record timestamp.
    pub max_ts: i64,
}

/// Where one block sits in a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockInfo {
    /// Relative position where the block starts.
    pub first_position: u32,
    /// Positions it covers: its records, plus any removed (only with `gaps`).
    pub records: u32,
    /// Byte offset of the compressed block in the object.
    pub byte_offset: u64,
    /// Compressed length.
    pub byte_len: u32,
    /// Uncompressed length.
    pub raw_len: u32,
    /// crc32c of the compressed bytes.
    pub crc32c: u32,
    /// Stored as is, not compressed.
    pub stored: bool,
    /// Its records may follow gaps (the segment has `FLAG_GAPS`).
    pub gaps: bool,
}

/// A record and its position in its segment (its offset is the segment's base plus it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Positioned {
    /// Position relative to the segment's first offset.
    pub position: u32,
    /// The record.
    pub record: Record,
}

impl BlockInfo {
    /// The byte range of the block in the object.
    pub fn range(&self) -> std::ops::Range<u64> {
        self.byte_offset..self.byte_offset + u64::from(self.byte_len)
    }

    /// True when the block holds relative position `position`.
    pub fn contains(&self, position: u32) -> bool {
        position >= self.first_position && position - self.first_position < self.records
    }
}
