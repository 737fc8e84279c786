//! One merge: read a run of consecutive segments, check each against its manifest entry, and
//! write their records, unchanged and in order, as one new segment. Segments hold positions,
//! not offsets, so record `i` of the new segment is exactly offset `base + i` again.

use object_store::{ObjectStoreExt, PutMode, PutOptions};
use silt_core::error::{Corruption, Error, Result};
use silt_core::ids::{TopicName, WriterId};
use silt_core::manifest::{Manifest, SegmentEntry};
use silt_core::record::Record;
use silt_core::segment::{self, SegmentHeader};
use silt_core::store::Storage;

/// zstd level of merged segments: a little tighter than writers' default, off the hot path.
const ZSTD_LEVEL: i32 = 3;

/// Merges `run` (consecutive entries of `m`) into one uploaded, uncommitted segment.
pub(super) async fn merge(
    storage: &Storage,
    topic: &TopicName,
    m: &Manifest,
    run: &[SegmentEntry],
    writer: WriterId,
) -> Result<SegmentEntry> {
    let p = m.partition;
    let mut records: Vec<Record> = Vec::new();
    for entry in run {
        records.extend(read(storage, topic, m, entry).await?);
    }
    let identity = SegmentHeader {
        topic_id: m.topic_id,
        partition: p,
        writer_id: writer,
        epoch: m.epoch,
        record_count: 0,
        min_ts: 0,
        max_ts: 0,
    };
    let encode = move || {
        let bytes = segment::encode(&identity, &records, ZSTD_LEVEL);
        let min_ts = records.iter().map(|r| r.timestamp_ms).min().unwrap_or(0);
        let max_ts = records.iter().map(|r| r.timestamp_ms).max().unwrap_or(0);
        bytes.map(|b| (b, records.len() as u32, min_ts, max_ts))
    };
    let (bytes, count, min_ts, max_ts) = tokio::task::spawn_blocking(encode)
        .await
        .map_err(encoder_failed)?
        .map_err(encoder_failed)?;
    let id = storage.new_object_id();
    let len = bytes.len() as u64;
    let create = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    let path = storage.keys.segment(topic, p, id);
    storage
        .objects
        .put_opts(&path, bytes.into(), create)
        .await?;
    let base_offset = run
        .first()
        .map(|e| e.base_offset)
        .unwrap_or(m.log_start_offset);
    Ok(SegmentEntry {
        id,
        base_offset,
        records: count,
        bytes: len,
        min_ts,
        max_ts,
    })
}

/// The records of one committed segment, checked against its entry.
async fn read(
    storage: &Storage,
    topic: &TopicName,
    m: &Manifest,
    entry: &SegmentEntry,
) -> Result<Vec<Record>> {
    let path = storage.keys.segment(topic, m.partition, entry.id);
    let bytes = storage.objects.get(&path).await?.bytes().await?;
    let (header, records) = segment::decode(bytes, path.as_ref())?;
    let belongs = header.topic_id == m.topic_id && header.partition == m.partition;
    if !belongs || records.len() != entry.records as usize {
        return Err(Corruption {
            what: "segment",
            location: path.to_string(),
            reason: "header or record count differs from the manifest".into(),
        }
        .into());
    }
    Ok(records)
}

fn encoder_failed(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    object_store::Error::Generic {
        store: "encoder",
        source: Box::new(e),
    }
    .into()
}
