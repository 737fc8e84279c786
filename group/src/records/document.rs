//! The group document (`group.json`): the members and the target assignment, changed
//! (conditionally) only on join, leave, expiry, or a change of subscription or partition
//! count. Whoever writes a change recomputes the target (`crate::assign`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use silt_core::ids::TopicName;

use super::{Record, Stamp};
use crate::ids::MemberId;

/// The target owner of each partition, per topic (index = partition).
pub type Target = BTreeMap<TopicName, Vec<Option<MemberId>>>;

/// A member as the group knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// Its incarnation.
    pub member_id: MemberId,
    /// Its static instance id (Kafka's `group.instance.id`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The client's name (Kafka's `client.id`).
    pub client_id: String,
    /// Where it runs.
    pub host: String,
    /// The topics it reads.
    pub topics: Vec<TopicName>,
}

/// Members and target assignment of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDocument {
    /// Version and write id.
    #[serde(flatten)]
    pub stamp: Stamp,
    /// +1 on every membership or target change.
    pub group_epoch: u64,
    /// The members, sorted by id.
    pub members: Vec<MemberInfo>,
    /// Partition count of every subscribed topic.
    pub partitions: BTreeMap<TopicName, u32>,
    /// Who should hold each partition.
    pub target: Target,
    /// When the membership last changed (the writer's clock; informational, and where an
    /// empty group's idle time starts).
    #[serde(default)]
    pub changed_at_ms: Option<i64>,
}

impl Record for GroupDocument {
    const WHAT: &'static str = "group document";
    fn stamp(&self) -> &Stamp {
        &self.stamp
    }
    fn stamp_mut(&mut self) -> &mut Stamp {
        &mut self.stamp
    }
}

impl GroupDocument {
    /// A group with no members.
    pub fn empty() -> GroupDocument {
        GroupDocument {
            stamp: Stamp::default(),
            group_epoch: 0,
            members: Vec::new(),
            partitions: BTreeMap::new(),
            target: Target::new(),
            changed_at_ms: None,
        }
    }

    /// The member `id`, if it is in the group.
    pub fn member(&self, id: &MemberId) -> Option<&MemberInfo> {
        self.members.iter().find(|m| &m.member_id == id)
    }

    /// The member after `id` in id order, wrapping around: the one `id` watches. `None` when
    /// `id` is alone (or not a member).
    pub fn successor(&self, id: &MemberId) -> Option<&MemberInfo> {
        let at = self.members.iter().position(|m| &m.member_id == id)?;
        let next = &self.members[(at + 1) % self.members.len()];
        (next.member_id != *id).then_some(next)
    }
}
