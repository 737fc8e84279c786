//! Offset or timestamp → segment entry: binary search over the sealed chunks, then within a
//! chunk (read once and cached forever: chunks are immutable), or over the manifest's tail.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use silt_core::error::Result;
use silt_core::ids::{ObjectId, Offset, PartitionId, TopicName};
use silt_core::manifest::{ChunkRef, Manifest, SegmentEntry};
use silt_core::store::Storage;

/// Immutable index chunks already read.
#[derive(Debug, Default)]
pub(crate) struct ChunkCache(Mutex<HashMap<ObjectId, Arc<Vec<SegmentEntry>>>>);

impl ChunkCache {
    async fn entries(
        &self,
        storage: &Storage,
        topic: &TopicName,
        p: PartitionId,
        chunk: &ChunkRef,
    ) -> Result<Arc<Vec<SegmentEntry>>> {
        if let Some(hit) = self.0.lock().ok().and_then(|c| c.get(&chunk.id).cloned()) {
            return Ok(hit);
        }
        let entries = Arc::new(storage.read_chunk(topic, p, chunk).await?);
        if let Ok(mut cache) = self.0.lock() {
            cache.insert(chunk.id, entries.clone());
        }
        Ok(entries)
    }
}

/// The segment holding `offset`, if the manifest covers it.
pub(crate) async fn segment_at(
    m: &Manifest,
    offset: Offset,
    cache: &ChunkCache,
    storage: &Storage,
    topic: &TopicName,
) -> Result<Option<SegmentEntry>> {
    let in_tail = m.segments.first().is_some_and(|s| s.base_offset <= offset);
    if in_tail || m.chunks.is_empty() {
        return Ok(find(&m.segments, offset));
    }
    let i = m.chunks.partition_point(|c| c.end_offset <= offset);
    let Some(chunk) = m.chunks.get(i).filter(|c| c.base_offset <= offset) else {
        return Ok(None);
    };
    let entries = cache.entries(storage, topic, m.partition, chunk).await?;
    Ok(find(&entries, offset))
}

fn find(entries: &[SegmentEntry], offset: Offset) -> Option<SegmentEntry> {
    let i = entries.partition_point(|e| e.end_offset() <= offset);
    entries.get(i).filter(|e| e.base_offset <= offset).copied()
}

/// The first segment ending after offset `from` whose newest record is at or after `ts`.
pub(crate) async fn first_segment_reaching(
    m: &Manifest,
    ts: i64,
    from: Offset,
    cache: &ChunkCache,
    storage: &Storage,
    topic: &TopicName,
) -> Result<Option<SegmentEntry>> {
    let live = |e: &SegmentEntry| e.end_offset() > from && e.max_ts >= ts;
    for chunk in m
        .chunks
        .iter()
        .filter(|c| c.end_offset > from && c.max_ts >= ts)
    {
        let entries = cache.entries(storage, topic, m.partition, chunk).await?;
        if let Some(e) = entries.iter().find(|e| live(e)) {
            return Ok(Some(*e));
        }
    }
    Ok(m.segments.iter().find(|e| live(e)).copied())
}
