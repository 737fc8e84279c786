//! # Kafka's classic consumer-group protocol, coordinated by one agent at a time
//!
//! The agent's Kafka listener (`agent/src/kafka/groups/`) translates JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup, OffsetCommit and OffsetFetch into calls on a [`ClassicCoordinator`]
//! (docs/consumer-groups.md §13). The agent that FindCoordinator names runs the join and sync
//! barriers in memory; everything durable is in the group's records:
//!
//! ```text
//! JoinGroup ─┐ barrier (memory) ─ new generation ──► classic.json (CAS: members, generation,
//! SyncGroup ─┘ leader's assignment ──────────────►               leader, assignments)
//! OffsetCommit (member and generation checked) ──► offsets/<topic>/<partition> (lease records)
//! ```
//!
//! Every write is conditioned on the version this coordinator last saw, and an agent taking a
//! group over writes the record once first (`coordinator_epoch` + 1): a lost write means
//! another agent coordinates now, and the member is told NOT_COORDINATOR, so it finds the new
//! coordinator, which loaded the group from the store. A coordinator that dies loses only its
//! barriers: members rejoin at the next one.
//!
//! - `state`: the group in memory; `join`, `members`, `barrier`: the state machine, no I/O;
//! - `coordinator`: the groups of one agent, their locks and waits; `store`, `offsets`: I/O.

mod barrier;
pub mod consumer_protocol;
mod coordinator;
mod error;
mod join;
mod members;
mod offsets;
mod state;
mod store;
#[cfg(test)]
mod tests;
mod types;

use std::time::Duration;

pub use coordinator::{ClassicCoordinator, ClassicSnapshot};
pub use error::ClassicError;
pub use join::RECORD_BYTES_MAX;
pub use offsets::CommitAnswers;
pub use types::{
    CommitRequest, CommittedOffset, JoinRequest, JoinResponse, JoinedMember, MemberRef,
    OffsetToCommit, SyncRequest, SyncResponse,
};

/// Kafka's `offset.metadata.max.bytes`.
pub const OFFSET_METADATA_BYTES_MAX: usize = 4096;

/// How a coordinator runs its groups.
#[derive(Debug, Clone)]
pub struct ClassicSettings {
    /// How long an empty group's first rebalance waits for more members (Kafka's
    /// `group.initial.rebalance.delay.ms`, 3 s there; 300 ms here so tests and small
    /// deployments settle fast).
    pub initial_rebalance_delay_ms: u64,
    /// Smallest session timeout a member may ask for (Kafka: 6 s).
    pub min_session_timeout_ms: u32,
    /// Largest session timeout a member may ask for (Kafka: 30 min).
    pub max_session_timeout_ms: u32,
    /// Most members (and ids handed out) a group may have.
    pub members_max: usize,
    /// How often, at most, a request checks that no other agent took the group over.
    pub recheck_ms: u64,
    /// How long an unused group without members stays in memory.
    pub idle_evict_ms: u64,
    /// This agent's name, written into the records it coordinates (informational).
    pub coordinator: String,
}

impl Default for ClassicSettings {
    fn default() -> ClassicSettings {
        ClassicSettings {
            initial_rebalance_delay_ms: 300,
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            members_max: 1_000,
            recheck_ms: 1_000,
            idle_evict_ms: 300_000,
            coordinator: String::new(),
        }
    }
}

impl ClassicSettings {
    pub(crate) fn initial_rebalance_delay(&self) -> Duration {
        Duration::from_millis(self.initial_rebalance_delay_ms)
    }
}
