//! The reader's view of one partition's manifest: read once, then revalidated cheaply
//! (`If-None-Match` on the ETag, so an unchanged manifest costs a 304) or handed over by a
//! commit of this process (`Storage::commit_news`), and the segment lookups the manifest
//! store answers against it (offset or timestamp → segment entry).

use std::sync::Arc;
use std::time::Duration;

use silt_core::error::{Error, Result};
use silt_core::ids::{Offset, PartitionId, TopicId, TopicName};
use silt_core::manifest::{Manifest, SegmentEntry};
use silt_core::store::{Heard, Snapshot, Storage};
use tokio::time::Instant;

/// The last manifest seen for a partition.
#[derive(Debug, Clone)]
pub(crate) struct View {
    snapshot: Option<Snapshot>,
    empty: Arc<Manifest>,
    /// When the manifest in hand was committed, if it came from a commit of this process.
    committed_at: Option<Instant>,
}

impl View {
    pub(crate) fn new(topic_id: TopicId, partition: PartitionId) -> View {
        View {
            snapshot: None,
            empty: Arc::new(Manifest::new(topic_id, partition)),
            committed_at: None,
        }
    }

    /// The manifest as last seen (an empty one if the partition has none yet).
    pub(crate) fn manifest(&self) -> &Arc<Manifest> {
        self.snapshot.as_ref().map_or(&self.empty, |s| &s.manifest)
    }

    /// Revalidates; returns true if the manifest changed.
    pub(crate) async fn refresh(
        &mut self,
        storage: &Storage,
        topic: &TopicName,
        partition: PartitionId,
    ) -> Result<bool> {
        let fresh = match &self.snapshot {
            Some(known) => {
                storage
                    .manifests
                    .read_if_changed(topic, partition, known)
                    .await?
            }
            None => storage.manifests.read(topic, partition).await?,
        };
        match fresh {
            Some(s) if s.manifest.topic_id != self.empty.topic_id => Err(Error::TopicIdMismatch {
                topic: topic.clone(),
                partition,
                expected: self.empty.topic_id,
                found: s.manifest.topic_id,
            }),
            Some(s) => {
                let changed = self
                    .snapshot
                    .as_ref()
                    .is_none_or(|old| old.manifest.version != s.manifest.version);
                self.snapshot = Some(s);
                Ok(changed)
            }
            None => Ok(false),
        }
    }

    /// Takes the manifest of `heard`, a commit of this process, if it carries one newer than
    /// the one last seen (of this partition and topic incarnation); returns whether it did.
    pub(crate) fn adopt(&mut self, heard: Heard) -> bool {
        let Some(snapshot) = heard.snapshot else {
            return false;
        };
        let (m, empty) = (&snapshot.manifest, &self.empty);
        let newer = self
            .snapshot
            .as_ref()
            .is_none_or(|old| old.manifest.version < m.version);
        let ours = m.topic_id == empty.topic_id && m.partition == empty.partition;
        if newer && ours {
            self.snapshot = Some(snapshot);
            self.committed_at = Some(heard.at);
        }
        newer && ours
    }

    /// Whether the manifest in hand is that of a commit of this process made less than `age`
    /// ago. Every commit builds on all before it, so it is then at most that stale, as a poll
    /// would leave it.
    pub(crate) fn committed_within(&self, age: Duration) -> bool {
        self.committed_at.is_some_and(|at| at.elapsed() < age)
    }

    /// The segment holding `offset`, if the manifest as last seen covers it.
    pub(crate) async fn segment_at(
        &self,
        storage: &Storage,
        topic: &TopicName,
        offset: Offset,
    ) -> Result<Option<SegmentEntry>> {
        let Some(snapshot) = &self.snapshot else {
            return Ok(None);
        };
        let p = snapshot.manifest.partition;
        storage
            .manifests
            .segment_at(topic, p, snapshot, offset)
            .await
    }

    /// The first segment ending after `from` whose newest record is at or after `ts`.
    pub(crate) async fn first_segment_reaching(
        &self,
        storage: &Storage,
        topic: &TopicName,
        ts: i64,
        from: Offset,
    ) -> Result<Option<SegmentEntry>> {
        let Some(snapshot) = &self.snapshot else {
            return Ok(None);
        };
        let p = snapshot.manifest.partition;
        storage
            .manifests
            .first_segment_reaching(topic, p, snapshot, ts, from)
            .await
    }
}
