//! [`ClassicError`]: what a Kafka classic group request is refused with. Each variant stands
//! for one Kafka error code (named in its doc); the agent maps them, and `kind` says whether a
//! client may retry.

use silt_core::error::{Error, ErrorKind};
use thiserror::Error;

/// A classic group request refused.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum ClassicError {
    /// `NOT_COORDINATOR`: another agent coordinates the group now; find it again.
    #[error("this agent no longer coordinates group {group}: another agent took it over")]
    NotCoordinator { group: String },
    /// `COORDINATOR_NOT_AVAILABLE`: the store failed; find the coordinator again and retry.
    #[error("group {group} is unavailable: {reason}")]
    CoordinatorNotAvailable { group: String, reason: String },
    /// `MEMBER_ID_REQUIRED` (JoinGroup v4+): join again with this member id.
    #[error("join again with the member id {member_id} given")]
    MemberIdRequired { member_id: String },
    /// `UNKNOWN_MEMBER_ID`: the member is not (or no longer) in the group.
    #[error("member {member_id} is not in the group: it left or its session expired")]
    UnknownMember { member_id: String },
    /// `ILLEGAL_GENERATION`: the request is of another generation than the group's.
    #[error("generation {generation} is not the group's generation {current}")]
    IllegalGeneration { generation: i32, current: i32 },
    /// `REBALANCE_IN_PROGRESS`: join the group again.
    #[error("the group is rebalancing: join again")]
    RebalanceInProgress,
    /// `INCONSISTENT_GROUP_PROTOCOL`: the protocol type or protocols do not match the group's.
    #[error("{reason}")]
    InconsistentProtocol { reason: String },
    /// `FENCED_INSTANCE_ID`: a newer member holds this static instance id.
    #[error("instance id {instance_id} is held by another member: this one was fenced")]
    FencedInstance { instance_id: String },
    /// `INVALID_SESSION_TIMEOUT`.
    #[error("session timeout {timeout_ms} ms is outside {min_ms}..={max_ms} ms")]
    InvalidSessionTimeout {
        timeout_ms: i32,
        min_ms: u32,
        max_ms: u32,
    },
    /// `GROUP_MAX_SIZE_REACHED`: too many members, or their metadata would not fit the
    /// group's record.
    #[error("the group is full: {reason}")]
    GroupFull { reason: String },
    /// `INVALID_REQUEST`: a request no Kafka client sends (the text says what).
    #[error("{reason}")]
    InvalidRequest { reason: String },
    /// `OFFSET_METADATA_TOO_LARGE`.
    #[error("offset metadata of {bytes} bytes is larger than {max} bytes")]
    MetadataTooLarge { bytes: usize, max: usize },
    /// `INVALID_COMMIT_OFFSET_SIZE` (Kafka's closest code): a negative offset.
    #[error("offset {offset} is negative: commit the next offset to read")]
    NegativeOffset { offset: i64 },
}

impl ClassicError {
    /// What the client must do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ClassicError::NotCoordinator { .. }
            | ClassicError::CoordinatorNotAvailable { .. }
            | ClassicError::RebalanceInProgress => ErrorKind::Retryable,
            ClassicError::MemberIdRequired { .. }
            | ClassicError::UnknownMember { .. }
            | ClassicError::IllegalGeneration { .. }
            | ClassicError::FencedInstance { .. }
            | ClassicError::GroupFull { .. } => ErrorKind::Rejected,
            ClassicError::InconsistentProtocol { .. }
            | ClassicError::InvalidSessionTimeout { .. }
            | ClassicError::InvalidRequest { .. }
            | ClassicError::MetadataTooLarge { .. }
            | ClassicError::NegativeOffset { .. } => ErrorKind::Invalid,
        }
    }

    /// A store failure while serving `group`.
    pub(crate) fn store(group: &str, e: &Error) -> ClassicError {
        ClassicError::CoordinatorNotAvailable {
            group: group.to_string(),
            reason: e.to_string(),
        }
    }
}
