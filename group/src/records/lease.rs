//! A partition's lease and committed offset, one record (`offsets/<topic>/<partition:05>`):
//! taking the partition bumps `lease_epoch`, and every commit is conditioned on the version its
//! owner last wrote, so the fence and the offset change together (docs/consumer-groups.md §2).

use serde::{Deserialize, Serialize};
use silt_core::ids::TopicId;

use super::{Record, Stamp};
use crate::ids::MemberId;

/// Who holds a partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The member incarnation.
    pub member_id: MemberId,
    /// Its static instance id, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

/// The lease and committed offset of one partition for one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Version and write id.
    #[serde(flatten)]
    pub stamp: Stamp,
    /// The holder, if any.
    pub owner: Option<Owner>,
    /// +1 on every take: the fence.
    pub lease_epoch: u64,
    /// The next offset to read; `None` when nothing was committed.
    pub offset: Option<u64>,
    /// The application's metadata of the last commit.
    #[serde(default)]
    pub metadata: String,
    /// When the offset was last committed (the committer's clock; informational).
    pub committed_at_ms: Option<i64>,
    /// The owner gave the partition up (a handoff): anyone in the target may take it.
    pub released: bool,
    /// The topic incarnation the offset belongs to.
    pub topic_id: Option<TopicId>,
}

impl Record for Lease {
    const WHAT: &'static str = "group lease";
    fn stamp(&self) -> &Stamp {
        &self.stamp
    }
    fn stamp_mut(&mut self) -> &mut Stamp {
        &mut self.stamp
    }
}

impl Lease {
    /// The lease of a partition never taken.
    pub fn empty() -> Lease {
        Lease {
            stamp: Stamp::default(),
            owner: None,
            lease_epoch: 0,
            offset: None,
            metadata: String::new(),
            committed_at_ms: None,
            released: false,
            topic_id: None,
        }
    }

    /// True when `member` holds it.
    pub fn held_by(&self, member: &MemberId) -> bool {
        self.owner.as_ref().is_some_and(|o| &o.member_id == member) && !self.released
    }

    /// The committed offset, if it belongs to topic incarnation `topic_id`.
    pub fn offset_of(&self, topic_id: TopicId) -> Option<u64> {
        self.offset.filter(|_| self.topic_id == Some(topic_id))
    }
}
