//! The reader's view of one partition's manifest: read once, then revalidated cheaply
//! (`If-None-Match` on the ETag, so an unchanged manifest costs a 304) or handed over by a
//! commit of this process (`Storage::commit_news`), and the segment lookups the manifest
//! store answers against it (offset or timestamp → segment entry).

use std::sync::Arc;
use std::time::Duration;

use silt_core::error::{Error, Result};
use silt_core::ids::{ManifestVersion, Offset, PartitionId, TopicId, TopicName};
use silt_core::manifest::{Manifest, SegmentEntry};
use silt_core::store::{Heard, Snapshot, Storage};
use tokio::time::Instant;

use crate::{OTHERS_QUIET, OWN_COMMITS_WINDOW};

/// The last manifest seen for a partition.
#[derive(Debug, Clone)]
pub(crate) struct View {
    snapshot: Option<Snapshot>,
    empty: Arc<Manifest>,
    /// When the last manifest taken from a commit of this process was committed (one read
    /// from the store since is only fresher).
    committed_at: Option<Instant>,
    /// The version of the last commit of this process heard of, and its `Heard::commits`.
    last_heard: Option<(ManifestVersion, u64)>,
    /// When a commit of another committer (another process, or a job) was last noticed.
    others_at: Option<Instant>,
}

impl View {
    pub(crate) fn new(topic_id: TopicId, partition: PartitionId) -> View {
        View {
            snapshot: None,
            empty: Arc::new(Manifest::new(topic_id, partition)),
            committed_at: None,
            last_heard: None,
            others_at: None,
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
        if m.topic_id != empty.topic_id || m.partition != empty.partition {
            return false;
        }
        self.count_versions(m.version, heard.commits, heard.at);
        let newer = self
            .snapshot
            .as_ref()
            .is_none_or(|old| old.manifest.version < m.version);
        if newer {
            self.snapshot = Some(snapshot);
            self.committed_at = Some(heard.at);
        }
        newer
    }

    /// The news told nothing yet: its channel was just opened, perhaps again after nobody
    /// listened for a while (`CommitNews` drops such channels), so commits of this process
    /// may have gone untold, and no commit taken earlier stands for a look any more.
    pub(crate) fn no_commit_heard(&mut self) {
        self.committed_at = None;
    }

    /// Each commit adds one to the version: when it moved by more than the commits this
    /// process made since the last one heard of, someone else committed in between.
    fn count_versions(&mut self, version: ManifestVersion, commits: u64, at: Instant) {
        if let Some((last_version, last_commits)) = self.last_heard {
            let ours = commits.checked_sub(last_commits);
            let moved = version.0.saturating_sub(last_version.0);
            if ours.is_some_and(|ours| moved > ours) {
                self.others_at = Some(at);
            }
        }
        self.last_heard = Some((version, commits));
    }

    /// How much longer the manifest in hand stands for a look at the store. One a commit of
    /// this process handed over is complete up to its version (every commit builds on all
    /// before it): it stands for `poll` (no staler than a poll would leave it), or, while
    /// no other committer was noticed for [`OTHERS_QUIET`], for [`OWN_COMMITS_WINDOW`]: the
    /// next commit of this process will bring whatever others add meanwhile.
    pub(crate) fn stands_for(&self, poll: Duration) -> Duration {
        let Some(committed_at) = self.committed_at else {
            return Duration::ZERO;
        };
        let alone = self.others_at.is_none_or(|at| at.elapsed() >= OTHERS_QUIET);
        let window = if alone {
            OWN_COMMITS_WINDOW.max(poll)
        } else {
            poll
        };
        window.saturating_sub(committed_at.elapsed())
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
