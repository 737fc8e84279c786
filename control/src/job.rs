//! What every job does the same way: commit its edits under a writer id of its own (a fresh
//! one per run, so its markers never collide with a writer's or another run's), and delete
//! objects idempotently.

use object_store::ObjectStoreExt;
use object_store::path::Path;
use silt_core::clock::{Clock, SystemClock};
use silt_core::error::{Error, ErrorKind, Result};
use silt_core::ids::{CommitSeq, PartitionId, TopicName, WriterId};
use silt_core::manifest::{Commit, Edit};
use silt_core::store::{Committed, Snapshot, Storage};

/// One run of a job, committing edits in sequence.
#[derive(Debug)]
pub(crate) struct JobRun {
    writer: WriterId,
    seq: u64,
}

impl JobRun {
    pub(crate) fn new() -> JobRun {
        JobRun {
            writer: WriterId(SystemClock.new_ulid()), // an identity: its time is never read
            seq: 0,
        }
    }

    /// The id this run writes segment headers and markers under.
    pub(crate) fn writer(&self) -> WriterId {
        self.writer
    }

    /// Commits `edit` to `topic`'s partition `p`, on top of `base` (or newer).
    pub(crate) async fn commit(
        &mut self,
        storage: &Storage,
        topic: &TopicName,
        p: PartitionId,
        base: &Snapshot,
        edit: Edit,
    ) -> Result<Committed> {
        self.seq += 1;
        let commit = Commit {
            writer: self.writer,
            seq: CommitSeq(self.seq),
            now_ms: storage.clock.now_ms(),
            edit,
        };
        storage.manifests.commit(topic, p, base, &commit).await
    }

    /// [`commit`](Self::commit), but `Ok(None)` when the edit was refused in a way worth
    /// retrying ([`ErrorKind::Retryable`]): what the job read changed meanwhile (`Stale`:
    /// another job got there first) or an orphan sweep raised the floor past its uploads
    /// (`StaleUpload`). The caller reads again and re-plans.
    pub(crate) async fn try_commit(
        &mut self,
        storage: &Storage,
        topic: &TopicName,
        p: PartitionId,
        base: &Snapshot,
        edit: Edit,
    ) -> Result<Option<Committed>> {
        match self.commit(storage, topic, p, base, edit).await {
            Ok(committed) => Ok(Some(committed)),
            // A refusal worth retrying means what the job read has moved on: plan again.
            Err(e @ Error::Rejected(_)) if e.kind() == ErrorKind::Retryable => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Deletes `path`. Deleting a missing object is not an error (S3 says nothing either way): a
/// job that crashed after deleting runs the same delete again.
pub(crate) async fn delete(storage: &Storage, path: &Path) -> Result<()> {
    match storage.objects.delete(path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(Error::from(e)),
    }
}
