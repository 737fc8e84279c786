//! One rewrite: read a run of consecutive segments, check each against its manifest entry, and
//! write the records not removed, unchanged and in order, as one new segment covering the same
//! offsets. Segments hold positions relative to their base, so each record's position in the
//! new segment is its offset minus the run's base: offsets never move. Merging keeps every
//! record; key compaction keeps the newest per key (the new segment then has gaps).

use bytes::Bytes;
use object_store::{PutMode, PutOptions};
use silt_core::error::{Error, ObjectKind, ObjectRef, Rejection, Result};
use silt_core::ids::{Offset, TopicName, WriterId};
use silt_core::manifest::{Manifest, SegmentEntry};
use silt_core::segment::{self, Positioned, SegmentHeader};
use silt_core::store::Storage;
use silt_core::verify;

/// zstd level of merged segments: a little tighter than writers' default, off the hot path.
const ZSTD_LEVEL: i32 = 3;

/// Rewrites `run` (consecutive entries of `m`) into one uploaded, uncommitted segment holding
/// its records except those at the offsets in `removed` (ascending). `None` when `run` is one
/// segment of its own none of whose records is removed: rewriting it would change nothing (a
/// range of a mixed object is rewritten, to be per partition again).
pub(super) async fn rewrite(
    storage: &Storage,
    topic: &TopicName,
    m: &Manifest,
    run: &[SegmentEntry],
    writer: WriterId,
    removed: &[Offset],
) -> Result<Option<SegmentEntry>> {
    let Some(base) = run.first().map(|e| e.base_offset) else {
        return Err(invariant(m, "a rewrite of no segments"));
    };
    // Offsets a segment spans are u32 positions; a run the manifest says is longer is damage.
    let span: u64 = run.iter().map(|e| u64::from(e.records)).sum();
    let Ok(span) = u32::try_from(span) else {
        return Err(invariant(m, "a rewrite spanning more than 2^32 offsets"));
    };
    let (mut records, mut read) = (Vec::new(), 0);
    for entry in run {
        let stored = self::read(storage, topic, m, entry).await?;
        read += stored.len();
        for r in stored {
            let offset = entry.base_offset.plus(u64::from(r.position));
            if removed.binary_search(&offset).is_err() {
                let position = (offset.0 - base.0) as u32;
                records.push(Positioned { position, ..r });
            }
        }
    }
    if run.len() == 1 && !run[0].is_mixed() && records.len() == read {
        return Ok(None);
    }
    let identity = SegmentHeader {
        topic_id: m.topic_id,
        partition: m.partition,
        writer_id: writer,
        epoch: m.epoch,
        record_count: 0,
        min_ts: 0,
        max_ts: 0,
    };
    let encode = move || segment::encode_sparse(&identity, &records, span, ZSTD_LEVEL);
    let bytes = tokio::task::spawn_blocking(encode)
        .await
        .map_err(encoder_failed)?
        .map_err(encoder_failed)?;
    upload(storage, topic, m, base, bytes).await.map(Some)
}

/// Uploads an encoded segment under a fresh id; its entry, once committed at `base`.
async fn upload(
    storage: &Storage,
    topic: &TopicName,
    m: &Manifest,
    base: Offset,
    bytes: Bytes,
) -> Result<SegmentEntry> {
    let location = format!("merged segment of {topic}/{}", m.partition);
    let header = segment::decode_header(&bytes, &location)?;
    let id = storage.new_object_id();
    let len = bytes.len() as u64;
    let create = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    let path = storage.keys.segment(topic, m.partition, id);
    storage
        .objects
        .put_opts(&path, bytes.into(), create)
        .await?;
    Ok(SegmentEntry {
        id,
        base_offset: base,
        records: header.record_count,
        bytes: len,
        min_ts: header.min_ts,
        max_ts: header.max_ts,
        cold_day: None,
        mixed_at: None,
    })
}

/// The records of one committed segment, checked against its entry (`silt_core::verify`). A
/// segment not found is `ObjectMissing` naming it: the job reads the manifest again to tell
/// a race (removed meanwhile) from damage.
pub(super) async fn read(
    storage: &Storage,
    topic: &TopicName,
    m: &Manifest,
    entry: &SegmentEntry,
) -> Result<Vec<Positioned>> {
    let at = storage.segment_location(topic, m.partition, entry);
    let path = &at.path;
    let object = ObjectRef::new(ObjectKind::Segment, entry.id, path);
    let got = at.get(storage.objects.as_ref()).await;
    let bytes = got.map_err(|e| object.missing_or(e))?;
    let size = bytes.len() as u64;
    let (header, records) = segment::decode(bytes, path.as_ref())?;
    let owner = (m.topic_id, m.partition);
    verify::segment(&header, size, owner, entry, path.as_ref())?;
    Ok(records)
}

/// A plan that broke one of compaction's own rules (a bug, never bad input).
pub(super) fn invariant(m: &Manifest, reason: &str) -> Error {
    Error::Rejected(Rejection::Invariant {
        partition: m.partition,
        reason: reason.to_string(),
    })
}

fn encoder_failed(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::internal("encoding a compacted segment", e)
}
