//! A classic group as its coordinator holds it in memory: the durable part (what
//! `ClassicGroupRecord` stores) plus what only lives while this agent coordinates it: the
//! phase of the rebalance, each member's session deadline, and the join and sync requests
//! waiting on the barrier. Operations (`join.rs`, `members.rs`, `barrier.rs`) change it without
//! any I/O and leave [`Effects`]: whether the record must be written, and the answers that may
//! go out only once it is.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use silt_core::ids::GroupName;
use tokio::sync::oneshot;

use super::error::ClassicError;
use super::{JoinResponse, JoinedMember, SyncResponse};
use crate::ids::TopicPartition;
use crate::member::Mono;
use crate::records::{ClassicGroupRecord, ClassicMember, ClassicState, Lease, Stored};

/// A waiting JoinGroup's answer channel.
pub(super) type JoinReply = oneshot::Sender<Result<JoinResponse, ClassicError>>;
/// A waiting SyncGroup's answer channel.
pub(super) type SyncReply = oneshot::Sender<Result<SyncResponse, ClassicError>>;

/// Where the group's rebalance stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// No members.
    Empty,
    /// Waiting for the members to (re)join until `deadline`; an `initial` rebalance of an
    /// empty group waits out its delay even when everyone joined, extended by each newcomer up
    /// to `limit`.
    Joining {
        deadline: Mono,
        limit: Mono,
        initial: bool,
    },
    /// A generation was formed: waiting for the leader's assignment until `deadline` (then
    /// the members that did not sync are removed, as Kafka's pending-sync timeout does).
    AwaitingSync { deadline: Mono },
    /// Every member has its assignment.
    Stable,
}

/// A member with what only the coordinator's memory holds.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) info: ClassicMember,
    /// When its session expires unless it is heard from.
    pub(super) deadline: Mono,
    pub(super) join: Option<JoinReply>,
    pub(super) sync: Option<SyncReply>,
}

impl Member {
    pub(super) fn new(info: ClassicMember, now: Mono) -> Member {
        let deadline = now + session_of(&info);
        Member {
            info,
            deadline,
            join: None,
            sync: None,
        }
    }

    /// Heard from it: its session starts again.
    pub(super) fn touch(&mut self, now: Mono) {
        self.deadline = now + session_of(&self.info);
    }
}

/// The longest rebalance timeout of `members`.
pub(super) fn longest_rebalance(members: &BTreeMap<String, Member>) -> Mono {
    let longest = members
        .values()
        .map(|m| m.info.rebalance_timeout_ms)
        .max()
        .unwrap_or(0);
    Mono::from_millis(u64::from(longest))
}

fn session_of(info: &ClassicMember) -> Mono {
    Mono::from_millis(u64::from(info.session_timeout_ms))
}

/// An answer that goes out once the effects are settled.
#[derive(Debug)]
pub(super) enum Reply {
    Join(JoinReply, Result<JoinResponse, ClassicError>),
    Sync(SyncReply, Result<SyncResponse, ClassicError>),
}

impl Reply {
    /// Sends it (a client that went away is no concern).
    pub(super) fn send(self) {
        match self {
            Reply::Join(tx, answer) => drop(tx.send(answer)),
            Reply::Sync(tx, answer) => drop(tx.send(answer)),
        }
    }

    /// Sends `error` instead of the answer prepared.
    pub(super) fn fail(self, error: ClassicError) {
        match self {
            Reply::Join(tx, _) => drop(tx.send(Err(error))),
            Reply::Sync(tx, _) => drop(tx.send(Err(error))),
        }
    }
}

/// What an operation left to do.
#[derive(Debug, Default)]
pub(super) struct Effects {
    /// The durable state changed: write the record before any reply goes out.
    pub(super) persist: bool,
    pub(super) replies: Vec<Reply>,
}

/// A classic group held by its coordinator.
#[derive(Debug)]
pub(super) struct Group {
    pub(super) name: GroupName,
    pub(super) phase: Phase,
    pub(super) generation: i32,
    pub(super) protocol_type: Option<String>,
    pub(super) protocol_name: Option<String>,
    pub(super) leader: Option<String>,
    pub(super) members: BTreeMap<String, Member>,
    /// Ids handed out with MEMBER_ID_REQUIRED, until they join with them or expire.
    pub(super) pending: BTreeMap<String, Mono>,
    /// The record as last read or written; `None` if the group has none yet.
    pub(super) stored: Option<Stored<ClassicGroupRecord>>,
    /// This coordinator wrote the record since it loaded it (took the group over).
    pub(super) claimed: bool,
    /// When the record was last found unchanged in the store.
    pub(super) verified_at: Mono,
    /// When a request last touched the group.
    pub(super) used_at: Mono,
    /// Lease records (offsets) as last read or written.
    pub(super) leases: HashMap<TopicPartition, Stored<Lease>>,
    pub(super) effects: Effects,
}

impl Group {
    /// The group as its record says, every member's session starting `now`.
    pub(super) fn load(
        name: &GroupName,
        stored: Option<Stored<ClassicGroupRecord>>,
        now: Mono,
    ) -> Group {
        let empty = ClassicGroupRecord::empty();
        let record = stored.as_ref().map_or(&empty, |s| &s.value);
        let members: BTreeMap<String, Member> = record
            .members
            .iter()
            .map(|m| (m.member_id.clone(), Member::new(m.clone(), now)))
            .collect();
        let phase = match record.state {
            _ if members.is_empty() => Phase::Empty,
            ClassicState::Empty | ClassicState::Stable => Phase::Stable,
            ClassicState::AwaitingSync => Phase::AwaitingSync {
                deadline: now + longest_rebalance(&members),
            },
        };
        Group {
            name: name.clone(),
            phase,
            generation: record.generation,
            protocol_type: record.protocol_type.clone(),
            protocol_name: record.protocol_name.clone(),
            leader: record.leader.clone(),
            members,
            pending: BTreeMap::new(),
            stored,
            claimed: false,
            verified_at: now,
            used_at: now,
            leases: HashMap::new(),
            effects: Effects::default(),
        }
    }

    /// The record of the group as it is now (stamp and coordinator fields are the writer's).
    pub(super) fn to_record(&self) -> ClassicGroupRecord {
        let state = match self.phase {
            Phase::Empty => ClassicState::Empty,
            Phase::AwaitingSync { .. } => ClassicState::AwaitingSync,
            // A rebalance in progress is not stored: the generation it started from is.
            Phase::Stable | Phase::Joining { .. } => ClassicState::Stable,
        };
        let base = self.stored.as_ref().map(|s| &s.value);
        ClassicGroupRecord {
            coordinator_epoch: base.map_or(0, |b| b.coordinator_epoch),
            coordinator: base.map(|b| b.coordinator.clone()).unwrap_or_default(),
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            generation: self.generation,
            leader: self.leader.clone(),
            state,
            members: self.members.values().map(|m| m.info.clone()).collect(),
            ..ClassicGroupRecord::empty()
        }
    }

    /// Kafka's name of the group's state.
    pub(super) fn kafka_state(&self) -> &'static str {
        match self.phase {
            Phase::Empty => "Empty",
            Phase::Joining { .. } => "PreparingRebalance",
            Phase::AwaitingSync { .. } => "CompletingRebalance",
            Phase::Stable => "Stable",
        }
    }

    /// The member holding static `instance_id`, if any.
    pub(super) fn by_instance(&self, instance_id: &str) -> Option<&Member> {
        self.members
            .values()
            .find(|m| m.info.instance_id.as_deref() == Some(instance_id))
    }

    /// The JoinGroup answer of the current generation for `member_id`: the leader gets every
    /// member's metadata for the chosen protocol.
    pub(super) fn join_response(&self, member_id: &str) -> JoinResponse {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        let is_leader = self.leader.as_deref() == Some(member_id);
        let members = match is_leader {
            true => self
                .members
                .values()
                .map(|m| JoinedMember {
                    member_id: m.info.member_id.clone(),
                    instance_id: m.info.instance_id.clone(),
                    metadata: m.info.metadata(&protocol).cloned().unwrap_or_default(),
                })
                .collect(),
            false => Vec::new(),
        };
        JoinResponse {
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            skip_assignment: false,
            members,
        }
    }

    /// The SyncGroup answer for `member_id`: its assignment.
    pub(super) fn sync_response(&self, member_id: &str) -> SyncResponse {
        let assignment = self
            .members
            .get(member_id)
            .map_or_else(Bytes::new, |m| m.info.assignment.clone());
        SyncResponse {
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            assignment,
        }
    }

    /// Answers every waiting request with `error` and forgets the waits: the group is being
    /// dropped from memory.
    pub(super) fn fail_waiting(&mut self, error: &ClassicError) {
        for member in self.members.values_mut() {
            if let Some(tx) = member.join.take() {
                drop(tx.send(Err(error.clone())));
            }
            if let Some(tx) = member.sync.take() {
                drop(tx.send(Err(error.clone())));
            }
        }
        for reply in std::mem::take(&mut self.effects.replies) {
            reply.fail(error.clone());
        }
    }

    /// The earliest time something is due: the join barrier's deadline or a session's end.
    pub(super) fn next_deadline(&self) -> Option<Mono> {
        let barrier = match self.phase {
            Phase::Joining { deadline, .. } | Phase::AwaitingSync { deadline } => Some(deadline),
            _ => None,
        };
        let sessions = self
            .members
            .values()
            .filter(|m| m.join.is_none() && m.sync.is_none())
            .map(|m| m.deadline);
        barrier
            .into_iter()
            .chain(sessions)
            .chain(self.pending.values().copied())
            .min()
    }
}
