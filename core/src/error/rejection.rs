//! [`Rejection`]: a commit the manifest refused, a definite "no"; and what the caller must do
//! about each.

use thiserror::Error;

use super::ErrorKind;
use crate::ids::{Epoch, ObjectId, Offset, PartitionId, TopicId, WriterId};

/// A commit that the manifest refused: a definite "no", nothing was committed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Rejection {
    /// A newer leader claimed the partition: this writer must stop.
    #[error(
        "fenced: partition {partition} was claimed by writer {leader} at epoch {epoch}; this writer (epoch {mine}) acknowledges nothing more"
    )]
    Fenced {
        partition: PartitionId,
        epoch: Epoch,
        mine: Epoch,
        leader: WriterId,
    },
    /// An exclusive leader holds a live lease; only it may append until the lease ends.
    #[error(
        "partition {partition} is held by exclusive writer {leader} (epoch {epoch}) until {lease_until_ms} ms; retry later or claim it with --exclusive"
    )]
    LeaderActive {
        partition: PartitionId,
        epoch: Epoch,
        leader: WriterId,
        lease_until_ms: i64,
    },
    /// A conditional append whose expected next offset did not match.
    #[error(
        "conditional append failed on partition {partition}: expected next offset {expected}, but it is {actual}"
    )]
    OffsetMismatch {
        partition: PartitionId,
        expected: Offset,
        actual: Offset,
    },
    /// A segment uploaded before the orphan floor: GC may have deleted it; upload it again.
    #[error(
        "segment {id} on partition {partition} was uploaded before the orphan floor ({floor_ms} ms) and may have been swept; upload it again"
    )]
    StaleUpload {
        partition: PartitionId,
        id: ObjectId,
        floor_ms: i64,
    },
    /// A trim past the end of the log: offsets that do not exist yet cannot be removed.
    #[error(
        "cannot trim partition {partition} before offset {before}: its next offset is {next_offset}; give an offset at most {next_offset}"
    )]
    TrimBeyondEnd {
        partition: PartitionId,
        before: Offset,
        next_offset: Offset,
    },
    /// A job planned on entries that changed meanwhile (another job or a writer moved them);
    /// nothing was committed.
    #[error(
        "partition {partition}: {what} changed since the job read them; nothing was committed, and the next run plans again"
    )]
    Stale {
        partition: PartitionId,
        what: String,
    },
    /// An edit that would break a manifest invariant (a bug or a corrupt manifest).
    #[error("manifest invariant violated on partition {partition}: {reason}")]
    Invariant {
        partition: PartitionId,
        reason: String,
    },
    /// The manifest reached its size budget; run compaction or retention.
    #[error(
        "manifest of partition {partition} is full ({bytes} bytes, limit {max}); run `silt compact run` or lower retention"
    )]
    ManifestFull {
        partition: PartitionId,
        bytes: usize,
        max: usize,
    },
    /// The topic was deleted (`silt topic delete`): its partitions take no more commits.
    #[error(
        "unknown topic: partition {partition} belongs to topic incarnation {topic_id}, which was deleted; nothing more is committed to it (create the topic again once `silt gc run` has removed it)"
    )]
    TopicDeleted {
        partition: PartitionId,
        topic_id: TopicId,
    },
    /// A DynamoDB head item reached its size budget: only writer markers grow it.
    #[error(
        "the DynamoDB head item of partition {partition} would be {bytes} bytes (limit {max}): too many writers committed to it in the last 15 minutes; send through fewer writers"
    )]
    HeadFull {
        partition: PartitionId,
        bytes: usize,
        max: usize,
    },
}

impl Rejection {
    /// What the caller must do about this refusal.
    pub fn kind(&self) -> ErrorKind {
        match self {
            // Another run or writer got there first, or a lease will lapse: plan again.
            Rejection::LeaderActive { .. }
            | Rejection::Stale { .. }
            | Rejection::StaleUpload { .. } => ErrorKind::Retryable,
            Rejection::Fenced { .. }
            | Rejection::OffsetMismatch { .. }
            | Rejection::TrimBeyondEnd { .. }
            | Rejection::ManifestFull { .. }
            | Rejection::HeadFull { .. }
            | Rejection::TopicDeleted { .. } => ErrorKind::Rejected,
            Rejection::Invariant { .. } => ErrorKind::Internal,
        }
    }
}
