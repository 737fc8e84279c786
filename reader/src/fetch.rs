//! Segment entry → records. A read from a segment's start, or of a small segment, GETs the whole
//! object and verifies all of it; a read from the middle of a large segment GETs the footer
//! (one suffix range) and then only the block that holds the offset. A segment this process
//! just uploaded may be in the storage's tail cache: then nothing is fetched, and the whole
//! segment is decoded and checked as if it had been. A cold (Parquet) segment is read a page
//! run at a time: its footer and page index, then the pages holding the offset.

use bytes::Bytes;
use object_store::ObjectStore;
use silt_core::cold;
use silt_core::error::{Corruption, Error, ObjectKind, ObjectRef, Result};
use silt_core::ids::{Offset, PartitionId, TopicId, TopicName};
use silt_core::limits::SEGMENT_BYTES_MAX;
use silt_core::manifest::SegmentEntry;
use silt_core::record::Record;
use silt_core::segment::{self, Footer, Positioned};
use silt_core::store::{SegmentLocation, Storage};
use silt_core::verify;

/// Segments up to this size are always fetched whole.
pub const WHOLE_FETCH_BYTES_MAX: u64 = 1024 * 1024;
/// First guess of how many trailing bytes hold a segment's footer.
const FOOTER_GUESS_BYTES: u64 = 64 * 1024;

/// Records of a segment (or of one block) from some offset on.
#[derive(Debug)]
pub(crate) struct Fetched {
    /// The offsets covered: from the one asked for to the end of the segment or block. Key
    /// compaction may have removed some of them, so records need not be dense.
    pub(crate) first: Offset,
    pub(crate) end: Offset,
    /// The records left in that range, in offset order.
    pub(crate) records: Vec<(Offset, Record)>,
}

/// Fetches the records of `entry` from `offset` on (at least the block holding it). The
/// segment must be the one `entry` describes (`silt_core::verify`); an object not found is
/// `ObjectMissing` naming it (the caller reads the manifest again to tell a race from damage).
pub(crate) async fn fetch(
    storage: &Storage,
    topic: &TopicName,
    topic_id: TopicId,
    partition: PartitionId,
    entry: &SegmentEntry,
    offset: Offset,
) -> Result<Fetched> {
    if entry.is_cold() {
        let owner = (topic_id, partition);
        return fetch_cold(storage, topic, owner, entry, offset, &mut None).await;
    }
    let at = storage.segment_location(topic, partition, entry);
    let object = ObjectRef::new(ObjectKind::Segment, entry.id, &at.path);
    let location = at.path.to_string();
    if entry.bytes > SEGMENT_BYTES_MAX {
        let claim = format!("its entry claims {} bytes, over the limit", entry.bytes);
        return Err(mismatch(
            &location,
            &format!("{claim} of {SEGMENT_BYTES_MAX}"),
        ));
    }
    let position = (offset.0 - entry.base_offset.0) as u32;
    let objects = storage.objects.as_ref();
    let cached = storage.tail_cache.get(topic, &at);
    if cached.is_some() || position == 0 || entry.bytes <= WHOLE_FETCH_BYTES_MAX {
        let bytes = match cached {
            Some(bytes) => bytes,
            None => at.get(objects).await.map_err(|e| object.missing_or(e))?,
        };
        let owner = (topic_id, partition);
        let records = match bytes.len() as u64 > WHOLE_FETCH_BYTES_MAX {
            true => decode_on_pool(bytes, owner, entry, offset, location).await?,
            false => decode_whole(bytes, owner, entry, offset, &location)?,
        };
        return Ok(Fetched {
            first: offset,
            end: entry.end_offset(),
            records,
        });
    }
    let read = read_footer(objects, &at, entry, &location).await;
    let (footer, size) = read.map_err(|e| object.missing_or(e))?;
    verify::footer(&footer, size, entry, &location)?;
    let block = *footer
        .block_for(position)
        .ok_or_else(|| mismatch(&location, "no block holds the offset"))?;
    let range = block.range();
    let compressed = at.get_range(objects, range).await;
    let compressed = compressed.map_err(|e| object.missing_or(e))?;
    let records = segment::decode_block(&block, compressed, &location)?;
    let block_end = u64::from(block.first_position) + u64::from(block.records);
    Ok(Fetched {
        first: offset,
        end: entry.base_offset.plus(block_end),
        records: from(entry, offset, records),
    })
}

/// The records of a whole segment at `offset` or after, decoded and checked against `entry`.
fn decode_whole(
    bytes: Bytes,
    owner: (TopicId, PartitionId),
    entry: &SegmentEntry,
    offset: Offset,
    location: &str,
) -> Result<Vec<(Offset, Record)>> {
    let size = bytes.len() as u64;
    let (header, records) = segment::decode(bytes, location)?;
    verify::segment(&header, size, owner, entry, location)?;
    Ok(from(entry, offset, records))
}

/// [`decode_whole`] on the blocking pool: a large segment is CPU work (checksums, record
/// parsing) that would otherwise hold a runtime thread, and the cursor's fetches ahead.
async fn decode_on_pool(
    bytes: Bytes,
    owner: (TopicId, PartitionId),
    entry: &SegmentEntry,
    offset: Offset,
    location: String,
) -> Result<Vec<(Offset, Record)>> {
    let entry = *entry;
    let decoded =
        tokio::task::spawn_blocking(move || decode_whole(bytes, owner, &entry, offset, &location));
    decoded
        .await
        .map_err(|e| Error::internal("decoding a segment", e))?
}

/// Positioned records of `entry` → records with their offsets, from `offset` on.
fn from(entry: &SegmentEntry, offset: Offset, records: Vec<Positioned>) -> Vec<(Offset, Record)> {
    let at = |p: &Positioned| entry.base_offset.plus(u64::from(p.position));
    let records = records.into_iter().map(|p| (at(&p), p.record));
    records.filter(|(o, _)| *o >= offset).collect()
}

/// Fetches the records of cold `entry` from `offset` on (a page run), through `opened`: the
/// file read last, kept open (its footer and page index read once) while reads stay in it.
pub(crate) async fn fetch_cold(
    storage: &Storage,
    topic: &TopicName,
    owner: cold::Owner,
    entry: &SegmentEntry,
    offset: Offset,
    opened: &mut Option<cold::ColdReader>,
) -> Result<Fetched> {
    let path = storage.keys.segment_object(topic, owner.1, entry);
    let object = ObjectRef::new(ObjectKind::ColdSegment, entry.id, &path);
    let file = match opened.take() {
        Some(file) if *file.path() == path && file.size() == entry.bytes => file,
        _ => {
            let objects = storage.objects.clone();
            let file = cold::ColdReader::open(objects, &path, entry.bytes, owner).await;
            file.map_err(|e| object.missing_or(e))?
        }
    };
    // On an error the file is dropped: the next read opens it afresh.
    let window = file.read_window(offset).await;
    let window = window.map_err(|e| object.missing_or(e))?;
    *opened = Some(file);
    let end = window
        .end
        .map_or(entry.end_offset(), |e| e.min(entry.end_offset()));
    let offsets = window.records.iter().map(|(o, _)| *o);
    let increasing = offsets.clone().zip(offsets.skip(1)).all(|(a, b)| a < b);
    let inside = window.records.iter().all(|(o, _)| *o >= offset && *o < end);
    if !increasing || !inside {
        let reason = "records out of order or outside the manifest's range";
        return Err(mismatch(path.as_ref(), reason));
    }
    Ok(Fetched {
        first: offset,
        end: end.max(offset.plus(1)),
        records: window.records,
    })
}

/// The footer of the segment at `at`, which `entry` describes, and the segment's size.
async fn read_footer(
    objects: &dyn ObjectStore,
    at: &SegmentLocation,
    entry: &SegmentEntry,
    location: &str,
) -> Result<(Footer, u64)> {
    let len = entry.bytes;
    let mut want = FOOTER_GUESS_BYTES.min(len);
    loop {
        let (tail, size) = at.suffix(objects, want).await?;
        // Another object than the entry describes: its size tells, before any parsing.
        verify::size(size, entry, location)?;
        match Footer::parse(tail, len, location)? {
            Ok(footer) => return Ok((footer, size)),
            Err(needed) if needed > want => want = needed,
            Err(_) => return Err(mismatch(location, "footer does not fit")),
        }
    }
}

fn mismatch(location: &str, reason: &str) -> Error {
    Error::Corrupt(Corruption {
        what: "segment",
        location: location.to_string(),
        reason: reason.to_string(),
    })
}
