//! [`GroupError`]: what a group member's calls refuse, and what the caller must do about it
//! ([`GroupError::kind`], in the terms of `silt_core::error::ErrorKind`).

use silt_core::error::{Error, ErrorKind};
use silt_core::ids::GroupName;
use silt_reader::ReadError;
use thiserror::Error;

use crate::ids::TopicPartition;

/// A group call that failed.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum GroupError {
    /// Another member took the partition (a later lease epoch): this member no longer holds
    /// it, and nothing it commits there is accepted. It was dropped (reported lost).
    #[error(
        "fenced on {partition}: it was taken from this member (its lease epoch {epoch} is over); its commit was refused and the partition dropped"
    )]
    Fenced {
        partition: TopicPartition,
        epoch: u64,
    },
    /// A commit of a partition this member does not hold.
    #[error("this member does not hold {partition}: it can commit only partitions assigned to it")]
    NotOwner { partition: TopicPartition },
    /// A commit lower than the committed offset: offsets never go backwards but by a reset.
    #[error(
        "commit of offset {offset} on {partition} is below its committed offset {committed}: committed offsets never go backwards (reset the group's offsets while it is empty instead)"
    )]
    CommitBackwards {
        partition: TopicPartition,
        offset: u64,
        committed: u64,
    },
    /// A commit past the end of the log.
    #[error(
        "commit of offset {offset} on {partition} is beyond the log end {end}: commit the offset after the last record processed"
    )]
    OffsetBeyondEnd {
        partition: TopicPartition,
        offset: u64,
        end: u64,
    },
    /// A commit below the log start: retention removed those records.
    #[error(
        "commit of offset {offset} on {partition} is below the log start {start}: retention removed those records; commit an offset from {start} on"
    )]
    OffsetBelowStart {
        partition: TopicPartition,
        offset: u64,
        start: u64,
    },
    /// No committed offset, and `auto_offset_reset` is `none`.
    #[error(
        "{partition} has no committed offset for this group and auto_offset_reset is none: commit an offset or choose earliest or latest"
    )]
    NoCommittedOffset { partition: TopicPartition },
    /// A newer incarnation with the same instance id replaced this member.
    #[error(
        "member with instance id {instance_id} was replaced by a newer incarnation: two consumers run with the same instance id"
    )]
    Replaced { instance_id: String },
    /// Another member's change kept winning the group document.
    #[error(
        "the group document changed {attempts} times in a row under this member's change: retry"
    )]
    Contended { attempts: u32 },
    /// No record of the group: it was never joined, or was deleted.
    #[error(
        "unknown group {group}: no member ever joined it, or it was deleted (`silt group list` lists the groups)"
    )]
    UnknownGroup { group: GroupName },
    /// A change that needs an empty group, while it has members.
    #[error(
        "group {group} has {members} member(s), so silt will not {action}: stop its consumers (dead ones leave after the session timeout) and retry"
    )]
    GroupActive {
        group: GroupName,
        members: usize,
        action: &'static str,
    },
    /// Kafka clients (the classic protocol, through an agent) are members of the group.
    #[error(
        "the group has {members} Kafka client member(s) (classic protocol, through an agent's Kafka listener): a silt consumer cannot join it; use another group name"
    )]
    KafkaGroup { members: usize },
    /// The consumer was closed.
    #[error("the group consumer is closed")]
    Closed,
    /// A storage or input error.
    #[error(transparent)]
    Store(#[from] Error),
    /// A read of records failed.
    #[error(transparent)]
    Read(#[from] ReadError),
}

impl GroupError {
    /// What the caller must do about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            GroupError::Fenced { .. } | GroupError::Replaced { .. } => ErrorKind::Rejected,
            GroupError::NotOwner { .. }
            | GroupError::CommitBackwards { .. }
            | GroupError::OffsetBeyondEnd { .. }
            | GroupError::OffsetBelowStart { .. }
            | GroupError::NoCommittedOffset { .. }
            | GroupError::Closed => ErrorKind::Invalid,
            GroupError::Contended { .. } => ErrorKind::Retryable,
            GroupError::UnknownGroup { .. } => ErrorKind::Invalid,
            GroupError::GroupActive { .. } | GroupError::KafkaGroup { .. } => ErrorKind::Rejected,
            GroupError::Store(e) => e.kind(),
            GroupError::Read(ReadError::Store(e)) => e.kind(),
            GroupError::Read(_) => ErrorKind::Invalid,
        }
    }
}
