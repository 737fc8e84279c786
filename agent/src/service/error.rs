//! What a service call fails with: the library's own errors, kept whole, so each protocol maps
//! them to its status codes in one place (for HTTP, `http::error`). Calls on group members
//! fail with [`MemberError`], which only the HTTP API meets.

use silt_core::error::{Error, InvalidInput};
use silt_core::ids::GroupName;
use silt_group::{GroupError, MemberId};
use silt_reader::ReadError;
use silt_writer::AppendError;
use thiserror::Error;

/// Why a service call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// Topics, manifests and storage.
    #[error(transparent)]
    Store(#[from] Error),
    /// An append was not acknowledged.
    #[error(transparent)]
    Append(#[from] AppendError),
    /// A read failed.
    #[error(transparent)]
    Read(#[from] ReadError),
}

impl From<InvalidInput> for ServiceError {
    fn from(e: InvalidInput) -> Self {
        ServiceError::Store(Error::Invalid(e))
    }
}

/// Why a call on a group member held by the agent failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MemberError {
    /// The agent holds no members (its limit is 0, as on the Lambda function).
    #[error(
        "this agent holds no consumer-group members: a member lives in one long-running agent's memory (the Lambda function keeps none between invocations, and an agent started with --max-group-members 0 neither); join through a long-running `silt agent`, or use silt-group as a library"
    )]
    NotServed,
    /// The agent holds as many members as it may.
    #[error(
        "this agent already holds {max} group members, its limit (--max-group-members): leave members no longer used (DELETE), or join through another agent"
    )]
    Full { max: usize },
    /// No such member here: it left, ended, or was never held by this agent.
    #[error("unknown member {member} of group {group}: {reason}; join again")]
    UnknownMember {
        group: GroupName,
        member: MemberId,
        reason: String,
    },
    /// A member serves one poll at a time.
    #[error(
        "member {member} is already polling: a member serves one poll at a time (commits may come meanwhile)"
    )]
    PollInProgress { member: MemberId },
    /// The group library refused the call.
    #[error(transparent)]
    Group(#[from] GroupError),
}
