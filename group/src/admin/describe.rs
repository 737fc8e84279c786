//! `describe`: a group's members and, per partition, its committed offset, log end and lag, in
//! Kafka's terms (`kafka-consumer-groups --describe`: CURRENT-OFFSET, LOG-END-OFFSET, LAG,
//! CONSUMER-ID, HOST, CLIENT-ID). Costs one read per record of the group, one manifest read per
//! partition and one topic read per topic. A Kafka classic group's members and assignment come
//! from its record (`classic.json`), its generation standing for the group epoch.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use silt_core::ids::{GroupName, PartitionId, TopicId, TopicName};

use super::{GroupAdmin, Loaded};
use crate::classic::consumer_protocol::{assigned_partitions, subscribed_topics};
use crate::error::GroupError;
use crate::ids::{MemberId, TopicPartition};
use crate::records::{
    ClassicGroupRecord, ClassicMember, ClassicState, GroupDocument, Heartbeat, Lease, MemberInfo,
};

/// A group as described.
#[derive(Debug, Clone, Serialize)]
pub struct GroupDescription {
    /// The group.
    pub group: GroupName,
    /// Its state.
    pub state: GroupState,
    /// +1 on every membership change.
    pub group_epoch: u64,
    /// Its members, by id.
    pub members: Vec<MemberDescription>,
    /// Every partition it has an offset for or assigns, by topic and partition.
    pub partitions: Vec<PartitionDescription>,
}

/// Where a group stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupState {
    /// No members: offsets can be reset, the group deleted.
    Empty,
    /// Every assigned partition is held by the member the target gives it to.
    Stable,
    /// Partitions are moving between members.
    Rebalancing,
}

/// A member as described.
#[derive(Debug, Clone, Serialize)]
pub struct MemberDescription {
    /// Its incarnation (Kafka's CONSUMER-ID).
    pub member_id: MemberId,
    /// Its static instance id, if any.
    pub instance_id: Option<String>,
    /// Its client id.
    pub client_id: String,
    /// Where it runs.
    pub host: String,
    /// The topics it reads.
    pub topics: Vec<TopicName>,
    /// The partitions the target gives it.
    pub assigned: Vec<TopicPartition>,
    /// Its last heartbeat, on its own clock (informational).
    pub last_heartbeat_ms: Option<i64>,
}

/// A partition as described.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionDescription {
    /// The topic.
    pub topic: TopicName,
    /// The partition.
    pub partition: PartitionId,
    /// The committed offset (the next to read), if any of the topic as it is now.
    pub current_offset: Option<u64>,
    /// The partition's next offset; `None` when the topic is gone.
    pub log_end_offset: Option<u64>,
    /// Records not yet committed: log end − committed offset.
    pub lag: Option<u64>,
    /// The member holding it, if any.
    pub consumer_id: Option<MemberId>,
    /// That member's host.
    pub host: Option<String>,
    /// That member's client id.
    pub client_id: Option<String>,
    /// The lease epoch: +1 every time the partition changed hands.
    pub lease_epoch: u64,
    /// The metadata of the last commit.
    pub metadata: String,
    /// When the offset was last committed (the committer's clock).
    pub committed_at_ms: Option<i64>,
}

impl GroupAdmin {
    /// Describes `group`: [`GroupError::UnknownGroup`] if it has no records.
    pub async fn describe(&self, group: &GroupName) -> Result<GroupDescription, GroupError> {
        let loaded = self.load(group).await?;
        let empty = GroupDocument::empty();
        let doc = loaded.doc.as_ref().map_or(&empty, |d| &d.value);
        let leases: BTreeMap<&TopicPartition, &Lease> =
            loaded.leases.iter().map(|(tp, l)| (tp, &l.value)).collect();
        let mut partitions = Vec::new();
        let mut topics = BTreeMap::new();
        for tp in described_partitions(&loaded, doc) {
            if !topics.contains_key(&tp.topic) {
                let config = self.storage.manifests.read_topic(&tp.topic).await?;
                let live = config.filter(|c| c.deleted.is_none()).map(|c| c.topic_id);
                topics.insert(tp.topic.clone(), live);
            }
            let topic_id = topics.get(&tp.topic).copied().flatten();
            let lease = leases.get(&tp).copied();
            let mut described = self.partition(doc, &tp, topic_id, lease).await?;
            if let Some(holder) = classic_holder(&loaded, &tp) {
                described.consumer_id = Some(MemberId(holder.member_id.clone()));
                described.host = Some(holder.client_host.clone());
                described.client_id = Some(holder.client_id.clone());
            }
            partitions.push(described);
        }
        let mut members = Vec::new();
        for member in &doc.members {
            members.push(self.member(&loaded, doc, member).await?);
        }
        // A Kafka group (classic.json) with no silt members: its generation is the epoch.
        let (state, group_epoch) = match &loaded.classic {
            Some(c) if doc.members.is_empty() => {
                members.extend(c.value.members.iter().map(|m| classic_member(&c.value, m)));
                (
                    classic_state(&c.value),
                    u64::try_from(c.value.generation).unwrap_or(0),
                )
            }
            _ => (state_of(doc, &leases), doc.group_epoch),
        };
        Ok(GroupDescription {
            group: group.clone(),
            state,
            group_epoch,
            members,
            partitions,
        })
    }

    async fn partition(
        &self,
        doc: &GroupDocument,
        tp: &TopicPartition,
        topic_id: Option<TopicId>,
        lease: Option<&Lease>,
    ) -> Result<PartitionDescription, GroupError> {
        let log_end_offset = match topic_id {
            Some(_) => self
                .storage
                .manifests
                .read(&tp.topic, tp.partition)
                .await?
                .map(|s| s.manifest.next_offset.0),
            None => None,
        };
        let current_offset = lease.zip(topic_id).and_then(|(l, id)| l.offset_of(id));
        let holder = lease
            .filter(|l| !l.released)
            .and_then(|l| l.owner.as_ref())
            .and_then(|o| doc.member(&o.member_id));
        Ok(PartitionDescription {
            topic: tp.topic.clone(),
            partition: tp.partition,
            current_offset,
            log_end_offset,
            lag: log_end_offset
                .zip(current_offset)
                .map(|(end, at)| end.saturating_sub(at)),
            consumer_id: holder.map(|m| m.member_id.clone()),
            host: holder.map(|m| m.host.clone()),
            client_id: holder.map(|m| m.client_id.clone()),
            lease_epoch: lease.map_or(0, |l| l.lease_epoch),
            metadata: lease.map(|l| l.metadata.clone()).unwrap_or_default(),
            committed_at_ms: lease.and_then(|l| l.committed_at_ms),
        })
    }

    async fn member(
        &self,
        loaded: &Loaded,
        doc: &GroupDocument,
        member: &MemberInfo,
    ) -> Result<MemberDescription, GroupError> {
        let heartbeat = self
            .records
            .read::<Heartbeat>(&loaded.keys.heartbeat(&member.member_id))
            .await?;
        let assigned = doc
            .target
            .iter()
            .flat_map(|(topic, owners)| {
                owners
                    .iter()
                    .enumerate()
                    .filter(|(_, owner)| owner.as_ref() == Some(&member.member_id))
                    .map(move |(p, _)| TopicPartition {
                        topic: topic.clone(),
                        partition: PartitionId(p as u32),
                    })
            })
            .collect();
        Ok(MemberDescription {
            member_id: member.member_id.clone(),
            instance_id: member.instance_id.clone(),
            client_id: member.client_id.clone(),
            host: member.host.clone(),
            topics: member.topics.clone(),
            assigned,
            last_heartbeat_ms: heartbeat.map(|h| h.value.at_ms),
        })
    }
}

/// The partitions with a lease record, and those the target assigns, in order.
fn described_partitions(loaded: &Loaded, doc: &GroupDocument) -> BTreeSet<TopicPartition> {
    let mut all: BTreeSet<TopicPartition> =
        loaded.leases.iter().map(|(tp, _)| tp.clone()).collect();
    for (topic, owners) in &doc.target {
        for p in 0..owners.len() {
            all.insert(TopicPartition {
                topic: topic.clone(),
                partition: PartitionId(p as u32),
            });
        }
    }
    if let Some(classic) = &loaded.classic {
        for member in &classic.value.members {
            all.extend(assigned_partitions(&member.assignment));
        }
    }
    all
}

/// A Kafka member of a classic group, described; the topics and partitions are read from the
/// consumer protocol's bytes (nothing for other protocol types).
fn classic_member(group: &ClassicGroupRecord, m: &ClassicMember) -> MemberDescription {
    let consumer = group.protocol_type.as_deref() == Some("consumer");
    let protocol = group.protocol_name.as_deref().unwrap_or_default();
    let metadata = m.metadata(protocol).filter(|_| consumer);
    MemberDescription {
        member_id: MemberId(m.member_id.clone()),
        instance_id: m.instance_id.clone(),
        client_id: m.client_id.clone(),
        host: m.client_host.clone(),
        topics: metadata.map(|b| subscribed_topics(b)).unwrap_or_default(),
        assigned: match consumer {
            true => assigned_partitions(&m.assignment),
            false => Vec::new(),
        },
        last_heartbeat_ms: None,
    }
}

/// The Kafka member a classic consumer group assigned `tp` to.
fn classic_holder<'a>(loaded: &'a Loaded, tp: &TopicPartition) -> Option<&'a ClassicMember> {
    let classic = &loaded.classic.as_ref()?.value;
    if classic.protocol_type.as_deref() != Some("consumer") {
        return None;
    }
    classic
        .members
        .iter()
        .find(|m| assigned_partitions(&m.assignment).contains(tp))
}

fn classic_state(group: &ClassicGroupRecord) -> GroupState {
    match group.state {
        _ if group.members.is_empty() => GroupState::Empty,
        ClassicState::Empty => GroupState::Empty,
        ClassicState::Stable => GroupState::Stable,
        ClassicState::AwaitingSync => GroupState::Rebalancing,
    }
}

/// Empty without members; stable when every partition is held by its target owner.
fn state_of(doc: &GroupDocument, leases: &BTreeMap<&TopicPartition, &Lease>) -> GroupState {
    if doc.members.is_empty() {
        return GroupState::Empty;
    }
    let settled = doc.target.iter().all(|(topic, owners)| {
        owners.iter().enumerate().all(|(p, owner)| {
            let tp = TopicPartition {
                topic: topic.clone(),
                partition: PartitionId(p as u32),
            };
            match (owner, leases.get(&tp)) {
                (None, _) => true,
                (Some(owner), Some(lease)) => lease.held_by(owner),
                (Some(_), None) => false,
            }
        })
    });
    match settled {
        true => GroupState::Stable,
        false => GroupState::Rebalancing,
    }
}
