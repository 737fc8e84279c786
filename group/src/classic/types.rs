//! The requests and answers of the classic group protocol as the coordinator takes and gives
//! them: Kafka's fields, with no wire format (the agent's `kafka::groups` translates).

use bytes::Bytes;
use silt_core::ids::{GroupName, TopicId};

use crate::ids::TopicPartition;
use crate::records::ClassicProtocol;

/// A JoinGroup.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The group.
    pub group: GroupName,
    /// Empty on a first join.
    pub member_id: String,
    /// `group.instance.id`, for a static member.
    pub instance_id: Option<String>,
    /// The client's `client.id`.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
    /// How long the member may stay silent.
    pub session_timeout_ms: i32,
    /// How long a rebalance waits for it (v1+; ≤ 0 before: the session timeout).
    pub rebalance_timeout_ms: i32,
    /// `consumer` for consumers.
    pub protocol_type: String,
    /// The protocols it supports, preferred first.
    pub protocols: Vec<ClassicProtocol>,
    /// JoinGroup v4+: a new dynamic member first gets an id to join again with.
    pub require_known_member_id: bool,
}

/// A member as the leader's JoinGroup answer lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    /// Its id.
    pub member_id: String,
    /// Its static instance id.
    pub instance_id: Option<String>,
    /// Its metadata for the chosen protocol.
    pub metadata: Bytes,
}

/// A JoinGroup's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResponse {
    /// The generation formed.
    pub generation: i32,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The protocol chosen.
    pub protocol_name: Option<String>,
    /// The leader's member id.
    pub leader: String,
    /// This member's id.
    pub member_id: String,
    /// The static leader rejoined a stable group: it must not assign again (v9+).
    pub skip_assignment: bool,
    /// Every member, for the leader only.
    pub members: Vec<JoinedMember>,
}

/// A member as Heartbeat, LeaveGroup and OffsetCommit name it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberRef {
    /// Its id (empty for the simple consumer, or a static member named by instance id).
    pub member_id: String,
    /// Its static instance id.
    pub instance_id: Option<String>,
}

/// A SyncGroup.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    /// The group.
    pub group: GroupName,
    /// The generation the member joined.
    pub generation: i32,
    /// The member.
    pub member: MemberRef,
    /// The protocol type it expects (v5+).
    pub protocol_type: Option<String>,
    /// The protocol it expects (v5+).
    pub protocol_name: Option<String>,
    /// The leader's assignment, per member id (empty from followers).
    pub assignments: Vec<(String, Bytes)>,
}

/// A SyncGroup's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResponse {
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The protocol chosen.
    pub protocol_name: Option<String>,
    /// This member's assignment.
    pub assignment: Bytes,
}

/// One partition's offset to commit.
#[derive(Debug, Clone)]
pub struct OffsetToCommit {
    /// The partition.
    pub partition: TopicPartition,
    /// The topic incarnation it belongs to.
    pub topic_id: TopicId,
    /// The next offset to read.
    pub offset: i64,
    /// The application's metadata.
    pub metadata: String,
}

/// An OffsetCommit.
#[derive(Debug, Clone)]
pub struct CommitRequest {
    /// The group.
    pub group: GroupName,
    /// The member's generation; -1 for the simple consumer.
    pub generation: i32,
    /// The member (empty for the simple consumer).
    pub member: MemberRef,
    /// The offsets.
    pub offsets: Vec<OffsetToCommit>,
}

/// A committed offset as OffsetFetch reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    /// The partition.
    pub partition: TopicPartition,
    /// The next offset to read; `None` when nothing was committed.
    pub offset: Option<u64>,
    /// The metadata of the commit.
    pub metadata: String,
    /// The topic incarnation it was committed for: an offset of another incarnation than the
    /// topic's current one is none.
    pub topic_id: Option<TopicId>,
}
