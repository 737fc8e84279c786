//! Explicit trim (`silt topic trim`): moves a partition's log start offset forward with one
//! `Trim` commit, as Kafka's `deleteRecords` does. Retention computes its trim points and
//! commits the same edit. Nothing is deleted here: offsets below the start stop being readable
//! (`OffsetOutOfRange`), and the segments wholly below it are left for garbage collection.

use serde::Serialize;
use silt_core::error::Result;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::manifest::Edit;
use silt_core::store::{Snapshot, Storage};

use crate::job::JobRun;

/// What a trim did to one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Trimmed {
    /// The partition.
    pub partition: PartitionId,
    /// Log start offset before.
    pub from: Offset,
    /// Log start offset after (unchanged when it already was at or past the trim point).
    pub to: Offset,
    /// The partition's next offset when the trim was committed.
    pub next_offset: Offset,
}

/// Moves the log start of `topic`'s partition `p` to `before`. A point at or below the
/// current start changes nothing (and commits nothing); one past the next offset is refused
/// with `TrimBeyondEnd`.
pub async fn trim(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    before: Offset,
) -> Result<Trimmed> {
    let config = storage.topic(topic).await?;
    config.check_partition(p)?;
    let base = match storage.manifests.read(topic, p).await? {
        Some(base) => base,
        // Never written: its manifest is created on first write, so create it now (an empty
        // log, which `Trim` treats like any other).
        None => storage.manifests.create(topic, p, config.topic_id).await?,
    };
    commit_trim(storage, topic, p, &base, before, &mut JobRun::new()).await
}

/// Trims `topic`'s partition `p`, as read in `base`, to `before` (nothing to commit when the
/// start is already there).
pub(crate) async fn commit_trim(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    base: &Snapshot,
    before: Offset,
    run: &mut JobRun,
) -> Result<Trimmed> {
    let from = base.manifest.log_start_offset;
    if before <= from {
        return Ok(Trimmed {
            partition: p,
            from,
            to: from,
            next_offset: base.manifest.next_offset,
        });
    }
    let committed = run
        .commit(storage, topic, p, base, Edit::Trim { before })
        .await?;
    let m = &committed.snapshot.manifest;
    Ok(Trimmed {
        partition: p,
        from,
        to: m.log_start_offset,
        next_offset: m.next_offset,
    })
}
