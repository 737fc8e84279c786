//! Mixed objects (docs/design.md §19): one flush of one writer holding a segment of each of
//! several partitions of a topic, so many partitions cost one PUT. Pure code, no I/O.
//!
//! ```text
//! parts    complete segments (§5), one per partition, back to back from byte 0
//! toc      magic "SILX" | version u16 | topic id [16] | part count u32
//!          | per part: partition u32 | at u64 | bytes u64
//! trailer  toc length u32 | crc32c u32 (of the toc) | magic "SILX"
//! ```
//!
//! Each part is a segment as a partition of its own would have written it, with its own
//! header, checksums and trailer, so a reader GETs its range and decodes it as today; each
//! partition's manifest entry names the object and the part's range (`at`, `bytes`). The table
//! of contents (toc) at the end lists which partitions the object holds: GC reads it (one
//! suffix GET) to know whose manifests to ask before it deletes the object.

use bytes::{Bytes, BytesMut};

use super::wire::Cursor;
use crate::error::{Corruption, Error};
use crate::ids::{PartitionId, TopicId};

const MAGIC: &[u8; 4] = b"SILX";
const VERSION: u16 = 1;
const TRAILER_BYTES: usize = 12;
const TOC_HEAD_BYTES: usize = 4 + 2 + 16 + 4;
const PART_BYTES: usize = 4 + 8 + 8;

/// One partition's segment inside a mixed object: bytes `at..at + bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixedPart {
    /// The partition the segment belongs to.
    pub partition: PartitionId,
    /// Where the segment starts in the object.
    pub at: u64,
    /// Its length.
    pub bytes: u64,
}

/// The table of contents of a mixed object: its topic and its parts, in object order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixedToc {
    /// The topic incarnation every part belongs to.
    pub topic_id: TopicId,
    /// The parts, in the order they are stored.
    pub parts: Vec<MixedPart>,
}

/// Lays encoded segments out as one mixed object: the chunks to upload, in order (the
/// segments are not copied), and where each part landed.
pub fn encode_mixed(
    topic_id: TopicId,
    segments: Vec<(PartitionId, Bytes)>,
) -> (Vec<Bytes>, MixedToc) {
    let mut at = 0u64;
    let mut parts = Vec::with_capacity(segments.len());
    let mut chunks = Vec::with_capacity(segments.len() + 1);
    for (partition, bytes) in segments {
        let len = bytes.len() as u64;
        parts.push(MixedPart {
            partition,
            at,
            bytes: len,
        });
        at += len;
        chunks.push(bytes);
    }
    let toc = MixedToc { topic_id, parts };
    chunks.push(toc.encode());
    (chunks, toc)
}

impl MixedToc {
    /// The toc and trailer, as stored at the end of the object.
    fn encode(&self) -> Bytes {
        let toc_len = TOC_HEAD_BYTES + PART_BYTES * self.parts.len();
        let mut out = BytesMut::with_capacity(toc_len + TRAILER_BYTES);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.topic_id.0.to_bytes());
        out.extend_from_slice(&(self.parts.len() as u32).to_le_bytes());
        for p in &self.parts {
            out.extend_from_slice(&p.partition.0.to_le_bytes());
            out.extend_from_slice(&p.at.to_le_bytes());
            out.extend_from_slice(&p.bytes.to_le_bytes());
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&(toc_len as u32).to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(MAGIC);
        out.freeze()
    }

    /// Parses the toc from the last `tail.len()` bytes of an object of `object_len` bytes.
    /// `Ok(Err(n))`: the toc needs the last `n` bytes; fetch them and parse again. Damage is
    /// `Corrupt` naming `location`.
    pub fn parse(
        tail: Bytes,
        object_len: u64,
        location: &str,
    ) -> Result<Result<MixedToc, u64>, Error> {
        let corrupt = |reason: String| corrupt(location, reason);
        if tail.len() as u64 > object_len || tail.len() < TRAILER_BYTES {
            return Err(corrupt(format!(
                "{} bytes cannot hold a trailer",
                tail.len()
            )));
        }
        let mut trailer = Cursor::new(tail.slice(tail.len() - TRAILER_BYTES..));
        let toc_len = u64::from(trailer.u32("toc length").map_err(corrupt)?);
        let crc = trailer.u32("toc crc32c").map_err(corrupt)?;
        if trailer.take(4, "magic").map_err(corrupt)?.as_ref() != MAGIC {
            return Err(corrupt("not a mixed object (bad magic)".into()));
        }
        let needed = toc_len + TRAILER_BYTES as u64;
        if needed > object_len || toc_len < TOC_HEAD_BYTES as u64 {
            return Err(corrupt(format!(
                "toc length {toc_len} does not fit the object"
            )));
        }
        if needed > tail.len() as u64 {
            return Ok(Err(needed));
        }
        let start = tail.len() - needed as usize;
        let toc = tail.slice(start..tail.len() - TRAILER_BYTES);
        if crc32c::crc32c(&toc) != crc {
            return Err(corrupt("toc checksum mismatch".into()));
        }
        let parts_end = object_len - needed;
        read_toc(toc, parts_end).map(Ok).map_err(corrupt)
    }

    /// The partitions the object holds, each once, in object order.
    pub fn partitions(&self) -> impl Iterator<Item = PartitionId> + '_ {
        self.parts.iter().map(|p| p.partition)
    }
}

/// The toc's fields; the parts must tile `0..parts_end` in order, one per partition.
fn read_toc(toc: Bytes, parts_end: u64) -> Result<MixedToc, String> {
    let mut c = Cursor::new(toc);
    if c.take(4, "toc magic")?.as_ref() != MAGIC {
        return Err("bad toc magic".into());
    }
    let version = c.u16("toc version")?;
    if version != VERSION {
        return Err(format!("toc version {version}, this silt reads {VERSION}"));
    }
    let topic_id = TopicId(ulid::Ulid::from_bytes(c.bytes16("topic id")?));
    let count = c.u32("part count")? as usize;
    if c.remaining() != count.saturating_mul(PART_BYTES) {
        return Err(format!("{count} parts do not fill the toc"));
    }
    let mut parts: Vec<MixedPart> = Vec::with_capacity(count);
    let mut next = 0u64;
    for _ in 0..count {
        let part = MixedPart {
            partition: PartitionId(c.u32("partition")?),
            at: c.u64("part position")?,
            bytes: c.u64("part length")?,
        };
        if part.at != next || part.bytes == 0 {
            return Err(format!(
                "part of {} does not follow the one before",
                part.partition
            ));
        }
        if parts.iter().any(|p| p.partition == part.partition) {
            return Err(format!("{} holds two parts", part.partition));
        }
        next = part.at.saturating_add(part.bytes);
        parts.push(part);
    }
    if next != parts_end {
        return Err(format!(
            "parts end at {next}, the toc starts at {parts_end}"
        ));
    }
    Ok(MixedToc { topic_id, parts })
}

fn corrupt(location: &str, reason: String) -> Error {
    Error::Corrupt(Corruption {
        what: "mixed object",
        location: location.to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ulid::Ulid;

    fn sample() -> (Bytes, MixedToc) {
        let topic = TopicId(Ulid::from_parts(1, 2));
        let segments = vec![
            (PartitionId(3), Bytes::from_static(b"three")),
            (PartitionId(0), Bytes::from_static(b"zero!!")),
        ];
        let (chunks, toc) = encode_mixed(topic, segments);
        (chunks.concat().into(), toc)
    }

    #[test]
    fn parts_are_laid_out_in_order_and_the_toc_reads_back() {
        let (object, toc) = sample();
        let len = object.len() as u64;
        assert_eq!(&object[..5], b"three");
        assert_eq!(&object[5..11], b"zero!!");
        assert_eq!(
            toc.parts[1],
            MixedPart {
                partition: PartitionId(0),
                at: 5,
                bytes: 6
            }
        );
        assert_eq!(
            MixedToc::parse(object.clone(), len, "o").unwrap(),
            Ok(toc.clone())
        );
        // A short suffix asks for exactly what the toc needs.
        let short = object.slice(object.len() - TRAILER_BYTES..);
        let needed = MixedToc::parse(short, len, "o").unwrap().unwrap_err();
        let tail = object.slice(object.len() - needed as usize..);
        assert_eq!(MixedToc::parse(tail, len, "o").unwrap(), Ok(toc));
    }

    #[test]
    fn every_flipped_bit_in_the_toc_is_refused_or_reads_the_same() {
        let (object, toc) = sample();
        let len = object.len() as u64;
        for byte in 11..object.len() {
            for bit in 0..8 {
                let mut damaged = object.to_vec();
                damaged[byte] ^= 1 << bit;
                match MixedToc::parse(damaged.into(), len, "o") {
                    Err(Error::Corrupt(_)) => {}
                    other => panic!("byte {byte} bit {bit}: {other:?} (toc {toc:?})"),
                }
            }
        }
        assert!(MixedToc::parse(Bytes::from_static(b"short"), 5, "o").is_err());
    }
}
