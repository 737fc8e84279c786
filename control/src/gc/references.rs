//! What a manifest references, as the orphan sweep asks it, read no further than needed.
//!
//! The manifest itself names its tail, its index chunks and its graveyard (plus the entries of
//! buried chunks, read from them). Entries inside live index chunks (or, on DynamoDB, the
//! segment items) are read only once a listed segment is not among those: then every chunk
//! not settled by the sweep hint is read, since a settled chunk's entries all have id times
//! below where the sweep resumes and so can reference nothing it lists. Chunks read here
//! whose entries are all older than the next resume point become settled for the next sweep.

use std::collections::HashSet;

use silt_core::error::Result;
use silt_core::ids::{ObjectId, Offset, PartitionId, TopicName};
use silt_core::manifest::{SegmentIndex, TombstoneKind};
use silt_core::store::{Snapshot, Storage};

use super::graveyard::chunk_segments;
use super::sweep_hint::SweepHint;

/// The references of one manifest snapshot.
pub(super) struct References<'a> {
    storage: &'a Storage,
    topic: &'a TopicName,
    p: PartitionId,
    snapshot: &'a Snapshot,
    /// Ids the manifest names without reading its index chunks.
    named: HashSet<ObjectId>,
    /// Chunks the hint says need not be read.
    settled: HashSet<ObjectId>,
    /// Entries of the chunks that needed reading (all segment items on DynamoDB); `None`
    /// until a listed segment needs them.
    entries: Option<HashSet<ObjectId>>,
    /// Each chunk read, with the newest id time among its entries.
    newest_in_chunk: Vec<(ObjectId, i64)>,
}

impl<'a> References<'a> {
    /// The references of `snapshot` (reads the graveyard and any buried chunks, not the
    /// index); chunks in `hint` need not be read.
    pub(super) async fn new(
        storage: &'a Storage,
        topic: &'a TopicName,
        p: PartitionId,
        snapshot: &'a Snapshot,
        hint: &SweepHint,
    ) -> Result<References<'a>> {
        let m = &snapshot.manifest;
        let mut named: HashSet<ObjectId> = m.segments.iter().map(|e| e.id).collect();
        named.extend(m.chunks.iter().map(|c| c.id));
        for t in storage.manifests.graveyard(topic, p, snapshot).await? {
            named.insert(t.id);
            if t.kind == TombstoneKind::ChunkWithSegments {
                let chunk = storage.keys.index_chunk(topic, p, t.id);
                named.extend(chunk_segments(storage, &chunk).await?.iter().map(|e| e.id));
            }
        }
        Ok(References {
            storage,
            topic,
            p,
            snapshot,
            named,
            settled: hint.settled_chunks.iter().copied().collect(),
            entries: None,
            newest_in_chunk: Vec::new(),
        })
    }

    /// Whether the manifest references object `id`, listed at or above `hint.resume_ms`.
    /// `in_index`: it may be a segment, named only by an entry inside an index chunk (false
    /// for an index chunk itself, which only the manifest names).
    pub(super) async fn hold(&mut self, id: ObjectId, in_index: bool) -> Result<bool> {
        if self.named.contains(&id) {
            return Ok(true);
        }
        if !in_index {
            return Ok(false);
        }
        if self.entries.is_none() {
            self.entries = Some(self.read_entries().await?);
        }
        Ok(self.entries.as_ref().is_some_and(|e| e.contains(&id)))
    }

    /// Ids of the entries of every chunk not settled (every segment item on DynamoDB).
    async fn read_entries(&mut self) -> Result<HashSet<ObjectId>> {
        let (storage, topic, p, snapshot) = (self.storage, self.topic, self.p, self.snapshot);
        let m = &snapshot.manifest;
        if let SegmentIndex::External { .. } = m.index {
            let all = storage
                .manifests
                .segments_from(topic, p, snapshot, Offset(0), usize::MAX);
            let mut ids: HashSet<ObjectId> = all.await?.iter().map(|e| e.id).collect();
            // On DynamoDB the items are read live, after the graveyard `new` read: a Replace or
            // Bury committed in between removed an item and added its tombstone in one
            // transaction. Reading the graveyard again, after the items, holds such a segment
            // for its grace instead of deleting it at once.
            let buried = storage.manifests.graveyard(topic, p, snapshot).await?;
            ids.extend(buried.iter().map(|t| t.id));
            return Ok(ids);
        }
        let mut ids = HashSet::new();
        for chunk in m.chunks.iter().filter(|c| !self.settled.contains(&c.id)) {
            let entries = storage
                .manifests
                .segments_from(
                    topic,
                    p,
                    snapshot,
                    chunk.base_offset,
                    chunk.segments as usize,
                )
                .await?;
            let newest = entries.iter().map(|e| e.id.timestamp_ms() as i64).max();
            self.newest_in_chunk
                .push((chunk.id, newest.unwrap_or(i64::MIN)));
            ids.extend(entries.iter().map(|e| e.id));
        }
        Ok(ids)
    }

    /// The chunks a sweep resuming at `resume_ms` need not read: those `hint` settled (if
    /// `resume_ms` did not move back) and those read here whose entries are all older, among
    /// the chunks the manifest still has.
    pub(super) fn settled(&self, hint: &SweepHint, resume_ms: i64) -> Vec<ObjectId> {
        let live: HashSet<ObjectId> = self.snapshot.manifest.chunks.iter().map(|c| c.id).collect();
        let carried = self.settled.iter().filter(|_| resume_ms >= hint.resume_ms);
        let read = self.newest_in_chunk.iter();
        let newly = read
            .filter(|(_, newest)| *newest < resume_ms)
            .map(|(id, _)| id);
        let mut out: Vec<ObjectId> = carried
            .chain(newly)
            .filter(|id| live.contains(id))
            .copied()
            .collect();
        out.sort();
        out.dedup();
        out
    }
}
