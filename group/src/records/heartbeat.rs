//! A member's heartbeat (`members/<member id>`): only its member writes it, `seq` + 1 every
//! heartbeat interval, each write conditioned on the version it wrote before. Peers watch it
//! with conditional reads and time its silence on their own monotonic clocks; `at_ms` is only
//! for people (describe), never compared across hosts.

use serde::{Deserialize, Serialize};

use super::{Record, Stamp};
use crate::ids::{MemberId, TopicPartition};

/// A member's sign of life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Version and write id.
    #[serde(flatten)]
    pub stamp: Stamp,
    /// The member.
    pub member_id: MemberId,
    /// +1 every heartbeat.
    pub seq: u64,
    /// The partitions it holds.
    pub owned: Vec<TopicPartition>,
    /// The member's wall clock when it wrote this (informational).
    pub at_ms: i64,
}

impl Record for Heartbeat {
    const WHAT: &'static str = "group heartbeat";
    fn stamp(&self) -> &Stamp {
        &self.stamp
    }
    fn stamp_mut(&mut self) -> &mut Stamp {
        &mut self.stamp
    }
}
