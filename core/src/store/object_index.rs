//! Segment lookup in object-store manifests: the newest entries are the manifest's tail; older
//! ones are in sealed index chunks, read once and kept in a cache bounded by bytes (chunks are
//! immutable, so a cached one is never stale; see `chunk_cache`).

use std::sync::Arc;

use object_store::ObjectStoreExt;

use super::ObjectManifestStore;
use super::bounded::document_body;
use crate::error::{Corruption, ObjectKind, ObjectRef, Result};
use crate::ids::{Offset, PartitionId, TopicName};
use crate::manifest::{ChunkRef, Manifest, SegmentEntry, codec};

impl ObjectManifestStore {
    /// Up to `max` entries of `m`, oldest first, from the one holding `from` (or the first
    /// after it).
    pub(super) async fn entries_from(
        &self,
        topic: &TopicName,
        m: &Manifest,
        from: Offset,
        max: usize,
    ) -> Result<Vec<SegmentEntry>> {
        let mut out = Vec::new();
        let first_chunk = m.chunks.partition_point(|c| c.end_offset <= from);
        for chunk in &m.chunks[first_chunk..] {
            if out.len() >= max {
                return Ok(out);
            }
            let entries = self.chunk_entries(topic, m.partition, chunk).await?;
            take_from(&mut out, &entries, from, max);
        }
        take_from(&mut out, &m.segments, from, max);
        Ok(out)
    }

    /// The first entry of `m` ending after `from` whose newest record is at or after `ts_ms`;
    /// chunks whose range or timestamps rule them out are not read.
    pub(super) async fn first_reaching(
        &self,
        topic: &TopicName,
        m: &Manifest,
        ts_ms: i64,
        from: Offset,
    ) -> Result<Option<SegmentEntry>> {
        let live = |e: &SegmentEntry| e.end_offset() > from && e.max_ts >= ts_ms;
        let candidates = m
            .chunks
            .iter()
            .filter(|c| c.end_offset > from && c.max_ts >= ts_ms);
        for chunk in candidates {
            let entries = self.chunk_entries(topic, m.partition, chunk).await?;
            if let Some(e) = entries.iter().find(|e| live(e)) {
                return Ok(Some(*e));
            }
        }
        Ok(m.segments.iter().find(|e| live(e)).copied())
    }

    async fn chunk_entries(
        &self,
        topic: &TopicName,
        p: PartitionId,
        chunk: &ChunkRef,
    ) -> Result<Arc<Vec<SegmentEntry>>> {
        if let Some(hit) = self.chunks.get(chunk.id) {
            return Ok(hit);
        }
        let path = self.keys.index_chunk(topic, p, chunk.id);
        let object = ObjectRef::new(ObjectKind::IndexChunk, chunk.id, &path);
        let got = self.objects.get(&path).await;
        let got = got.map_err(|e| object.missing_or(e))?;
        let bytes = document_body(got, "index chunk", path.as_ref()).await;
        let bytes = bytes.map_err(|e| object.missing_or(e))?;
        let body = codec::decode_chunk(&bytes, path.as_ref())?;
        if ChunkRef::covering(chunk.id, &body.entries) != Some(*chunk) {
            let reason = "entries differ from the manifest's reference".to_string();
            return Err(Corruption {
                what: "index chunk",
                location: path.to_string(),
                reason,
            }
            .into());
        }
        let entries = Arc::new(body.entries);
        self.chunks.insert(chunk.id, entries.clone());
        Ok(entries)
    }
}

/// Appends to `out` the entries ending after `from`, until it holds `max`.
fn take_from(out: &mut Vec<SegmentEntry>, entries: &[SegmentEntry], from: Offset, max: usize) {
    let skip = entries.partition_point(|e| e.end_offset() <= from);
    let room = max.saturating_sub(out.len());
    out.extend(entries[skip..].iter().take(room).copied());
}
