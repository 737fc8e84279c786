//! Turning uploaded segments into committed offsets: load (or create) the manifest, claim the
//! partition in exclusive mode, seal old tail entries into an index chunk when the tail is long,
//! and commit the append through the manifest store, which resolves races and ambiguity.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use silt_core::error::{Error, Rejection, Result};
use silt_core::ids::{CommitSeq, Epoch, Offset, PartitionId, TopicId, TopicName, WriterId};
use silt_core::manifest::{Append, Commit, Edit, NewSegment, Seal, chunk_entries};
use silt_core::store::{Snapshot, Storage};
use tokio::sync::OnceCell;

/// Where a partition's writer stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Leadership {
    /// Appends alongside any other shared writers.
    Shared,
    /// Exclusive mode, partition not claimed yet.
    Unclaimed,
    /// Exclusive leader of this epoch.
    Leader(Epoch),
    /// A newer leader took over: nothing more is acknowledged.
    Fenced(Rejection),
}

/// Everything needed to commit to one partition; cheap to clone into a commit task.
#[derive(Debug, Clone)]
pub(crate) struct Committer {
    pub(crate) storage: Storage,
    pub(crate) topic: TopicName,
    pub(crate) topic_id: TopicId,
    pub(crate) partition: PartitionId,
    pub(crate) writer_id: WriterId,
    pub(crate) seq: Arc<AtomicU64>,
    pub(crate) lease_ms: i64,
    /// Set once the partition is known to have a manifest (see [`Committer::ensure_manifest`]).
    pub(crate) manifest_checked: Arc<OnceCell<()>>,
}

/// What a commit task hands back to the partition task.
#[derive(Debug)]
pub(crate) struct CommitReport {
    pub(crate) snapshot: Option<Snapshot>,
    pub(crate) leadership: Leadership,
    pub(crate) outcome: Result<Offset>,
}

impl Committer {
    fn commit_of(&self, edit: Edit) -> Commit {
        let seq = CommitSeq(self.seq.fetch_add(1, Ordering::SeqCst));
        Commit {
            writer: self.writer_id,
            seq,
            now_ms: self.storage.clock.now_ms(),
            edit,
        }
    }

    /// The cached manifest, or the stored one (created if a crash left it missing).
    async fn snapshot(&self, cached: Option<Snapshot>) -> Result<Snapshot> {
        let snapshot = match cached {
            Some(s) => s,
            None => match self
                .storage
                .manifests
                .read(&self.topic, self.partition)
                .await?
            {
                Some(s) => s,
                None => {
                    self.storage
                        .manifests
                        .create(&self.topic, self.partition, self.topic_id)
                        .await?
                }
            },
        };
        if snapshot.manifest.topic_id != self.topic_id {
            return Err(Error::TopicIdMismatch {
                topic: self.topic.clone(),
                partition: self.partition,
                expected: self.topic_id,
                found: snapshot.manifest.topic_id,
            });
        }
        Ok(snapshot)
    }

    /// Makes sure the partition has a manifest before this writer's first upload, creating
    /// it if the topic's creation was cut short. So an object in a partition's folder always
    /// means its manifest existed, and a manifest missing next to objects is damage
    /// (`Error::ManifestMissing`), never an empty partition to start again at offset 0.
    pub(crate) async fn ensure_manifest(&self) -> Result<()> {
        let checked = self
            .manifest_checked
            .get_or_try_init(|| async { self.snapshot(None).await.map(|_| ()) });
        checked.await.copied()
    }

    /// Claims the partition: bumps the epoch and fences the previous leader.
    async fn claim(&self, base: &Snapshot) -> Result<(Snapshot, Epoch)> {
        let lease_until_ms = self.storage.clock.now_ms() + self.lease_ms;
        let commit = self.commit_of(Edit::Claim { lease_until_ms });
        let done = self
            .storage
            .manifests
            .commit(&self.topic, self.partition, base, &commit)
            .await?;
        self.tell(&done.snapshot);
        let m = &done.snapshot.manifest;
        let epoch = m.epoch;
        if m.leader.map(|l| l.writer_id) != Some(self.writer_id) {
            // Someone claimed after us before we read our own claim back.
            let leader = m.leader.map_or(self.writer_id, |l| l.writer_id);
            let fenced = Rejection::Fenced {
                partition: self.partition,
                epoch,
                mine: epoch,
                leader,
            };
            return Err(fenced.into());
        }
        tracing::info!(partition = %self.partition, %epoch, "claimed partition");
        Ok((done.snapshot, epoch))
    }

    /// Commits `segments` (in order) and returns the new manifest view, the leadership after
    /// the commit and the offset of the first record.
    pub(crate) async fn append(
        self,
        cached: Option<Snapshot>,
        leadership: Leadership,
        segments: Vec<NewSegment>,
        expect_next_offset: Option<Offset>,
    ) -> CommitReport {
        let mut report = CommitReport {
            snapshot: None,
            leadership: leadership.clone(),
            outcome: Ok(Offset(0)),
        };
        let outcome = self
            .try_append(
                cached,
                leadership,
                segments,
                expect_next_offset,
                &mut report,
            )
            .await;
        // A deleted topic stops the partition as a fence does: nothing more is uploaded.
        if let Err(Error::Rejected(
            r @ (Rejection::Fenced { .. } | Rejection::TopicDeleted { .. }),
        )) = &outcome
        {
            report.leadership = Leadership::Fenced(r.clone());
        }
        report.outcome = outcome;
        report
    }

    async fn try_append(
        &self,
        cached: Option<Snapshot>,
        leadership: Leadership,
        segments: Vec<NewSegment>,
        expect_next_offset: Option<Offset>,
        report: &mut CommitReport,
    ) -> Result<Offset> {
        let mut base = self.snapshot(cached).await?;
        let leader_epoch = match leadership {
            Leadership::Shared => None,
            Leadership::Leader(epoch) => Some(epoch),
            Leadership::Fenced(r) => return Err(r.into()),
            Leadership::Unclaimed => {
                let (claimed, epoch) = self.claim(&base).await?;
                report.leadership = Leadership::Leader(epoch);
                base = claimed;
                Some(epoch)
            }
        };
        let seal = self.seal_if_long(&base).await;
        let lease_until_ms = leader_epoch.map(|_| self.storage.clock.now_ms() + self.lease_ms);
        let append = Append {
            segments,
            leader_epoch,
            expect_next_offset,
            lease_until_ms,
            seal,
        };
        let commit = self.commit_of(Edit::Append(append));
        let done = self
            .storage
            .manifests
            .commit(&self.topic, self.partition, &base, &commit)
            .await?;
        let base_offset = done.base_offset.ok_or_else(|| Error::Indeterminate {
            partition: self.partition,
            waited_ms: 0,
            last_error: "committed, but the marker that gives its offsets was not found".into(),
        })?;
        self.tell(&done.snapshot);
        report.snapshot = Some(done.snapshot);
        Ok(base_offset)
    }

    /// Tells this process's cursors waiting on the partition of a commit just made
    /// (`Storage::commit_news`): each commit, so a cursor counting them can tell another
    /// committer's apart (docs/design.md §7).
    fn tell(&self, committed: &Snapshot) {
        let exact = self.storage.manifests.commits_are_exact();
        let news = &self.storage.commit_news;
        news.committed(&self.topic, self.partition, exact.then_some(committed));
    }

    /// Writes an index chunk of the oldest tail entries when the tail is long. Best effort:
    /// a failure only postpones sealing.
    async fn seal_if_long(&self, base: &Snapshot) -> Option<Seal> {
        let m = &base.manifest;
        let seal_at = self.storage.manifests.tail_seal_at(&self.topic);
        if m.segments.len() < seal_at {
            return None;
        }
        let entries = &m.segments[..chunk_entries(seal_at)];
        match self.storage.write_chunk(&self.topic, m, entries).await {
            Ok(chunk) => chunk.map(|chunk| Seal {
                chunk,
                entries: entries.to_vec(),
            }),
            Err(e) => {
                tracing::warn!(partition = %self.partition, error = %e, "could not seal index chunk; will retry");
                None
            }
        }
    }

    /// Ends the lease of a clean shutdown so other writers need not wait for it.
    pub(crate) async fn release(&self, cached: Option<Snapshot>, epoch: Epoch) -> Result<()> {
        let base = self.snapshot(cached).await?;
        let commit = self.commit_of(Edit::Release { epoch });
        let done = self
            .storage
            .manifests
            .commit(&self.topic, self.partition, &base, &commit)
            .await?;
        self.tell(&done.snapshot);
        Ok(())
    }
}
