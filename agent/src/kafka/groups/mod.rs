//! The classic consumer-group APIs (FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup, OffsetCommit, OffsetFetch, ListGroups, DescribeGroups), translated to and from `silt_group::classic`, whose
//! [`ClassicCoordinator`] runs the barriers in memory and keeps the group's state and offsets
//! in the store (docs/consumer-groups.md §13).
//!
//! FindCoordinator names the agent the registry's rendezvous hash picks for the group
//! (`brokers`). A member request reaching another agent is answered NOT_COORDINATOR (and that
//! agent drops whatever it held of the group), so the client finds the coordinator again.
//! OffsetFetch reads the store and is answered by any agent.

mod describe;
mod find_coordinator;
mod heartbeat_leave;
mod join_sync;
mod offsets;
#[cfg(test)]
mod tests;

pub(super) use describe::{describe, list};
pub(super) use find_coordinator::handle as find_coordinator;
pub(super) use heartbeat_leave::{heartbeat, leave};
pub(super) use join_sync::{join, sync};
pub(super) use offsets::{commit, fetch};

use std::net::SocketAddr;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::GroupId;
use kafka_protocol::protocol::StrBytes;
use silt_core::ids::GroupName;
use silt_group::classic::{ClassicCoordinator, ClassicError, ClassicSettings};

use super::KafkaContext;
use super::brokers::Brokers;

/// Who sent a request, as JoinGroup records it.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    /// The header's `client.id`.
    pub(crate) id: String,
    /// Its address, as Kafka shows it (`/127.0.0.1`).
    pub(crate) host: String,
}

impl Client {
    pub(crate) fn new(id: Option<&StrBytes>, peer: SocketAddr) -> Client {
        Client {
            id: id.map(|s| s.to_string()).unwrap_or_default(),
            host: format!("/{}", peer.ip()),
        }
    }
}

/// The coordinator of this agent's classic groups, named after its advertised address.
pub(crate) fn coordinator(
    service: &crate::service::LogService,
    brokers: &Brokers,
) -> ClassicCoordinator {
    let this = brokers.this();
    let settings = ClassicSettings {
        coordinator: format!("{}:{}", this.host, this.port),
        ..ClassicSettings::default()
    };
    ClassicCoordinator::new(service.storage(), settings)
}

/// The group named, or INVALID_GROUP_ID (silt group names are `[a-zA-Z0-9._-]{1,249}`).
pub(crate) fn group_name(id: &GroupId) -> Result<GroupName, ResponseError> {
    GroupName::new(id.0.as_str()).map_err(|_| ResponseError::InvalidGroupId)
}

/// Refuses a member request for a group another agent coordinates: the client finds the
/// coordinator again. This agent drops what it held of the group, so its waiting requests
/// are told too and its timers stop.
pub(crate) async fn check_coordinator(
    context: &KafkaContext,
    group: &GroupName,
) -> Result<(), ResponseError> {
    let this = context.brokers.this().node_id;
    if context.brokers.coordinator_for(group.as_str()).node_id == this {
        return Ok(());
    }
    context.groups.forget(group).await;
    Err(ResponseError::NotCoordinator)
}

/// The Kafka code of a classic group error.
pub(crate) fn code_of(e: &ClassicError) -> ResponseError {
    match e {
        ClassicError::NotCoordinator { .. } => ResponseError::NotCoordinator,
        ClassicError::CoordinatorNotAvailable { .. } => ResponseError::CoordinatorNotAvailable,
        ClassicError::MemberIdRequired { .. } => ResponseError::MemberIdRequired,
        ClassicError::UnknownMember { .. } => ResponseError::UnknownMemberId,
        ClassicError::IllegalGeneration { .. } => ResponseError::IllegalGeneration,
        ClassicError::RebalanceInProgress => ResponseError::RebalanceInProgress,
        ClassicError::InconsistentProtocol { .. } => ResponseError::InconsistentGroupProtocol,
        ClassicError::FencedInstance { .. } => ResponseError::FencedInstanceId,
        ClassicError::InvalidSessionTimeout { .. } => ResponseError::InvalidSessionTimeout,
        ClassicError::GroupFull { .. } => ResponseError::GroupMaxSizeReached,
        ClassicError::MetadataTooLarge { .. } => ResponseError::OffsetMetadataTooLarge,
        ClassicError::NegativeOffset { .. } => ResponseError::InvalidCommitOffsetSize,
        ClassicError::InvalidRequest { .. } => ResponseError::InvalidRequest,
        _ => ResponseError::UnknownServerError,
    }
}

/// A text field of a response, from a Rust string.
pub(crate) fn text(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// An optional text of a request, as an owned string.
pub(crate) fn opt_string(s: &Option<StrBytes>) -> Option<String> {
    s.as_ref().map(|s| s.to_string())
}
