//! The group member state machine (docs/consumer-groups.md §2–§7): join, then every heartbeat
//! interval [`GroupMember::tick`] (heartbeat, watch the group document and one peer, expire a
//! silent peer, take and release partitions), commits conditioned on the lease, and leave.
//!
//! It holds no timer and spawns nothing: the caller passes its monotonic time (`now`, from an
//! arbitrary origin) to every call, so a simulation drives many members by hand and a real
//! consumer drives one from a task (`crate::consumer`). Wall-clock time (informational
//! timestamps) and ids come from the storage's [`silt_core::clock::Clock`].

mod document;
mod liveness;
mod reconcile;

use std::collections::BTreeMap;
use std::time::Duration;

use silt_core::error::{Error, InvalidInput};
use silt_core::ids::{GroupName, TopicId, TopicName};
use silt_core::store::Storage;
use silt_core::store::cas::CasKey;

use crate::error::GroupError;
use crate::ids::{MemberId, TopicPartition};
use crate::records::{
    GroupDocument, GroupKeys, Heartbeat, Lease, MemberInfo, Outcome, Records, Stored,
};
use crate::settings::GroupSettings;
use liveness::Watch;

/// A member's monotonic time: a duration since an origin of the caller's choosing.
pub type Mono = Duration;

/// A change of what this member holds, for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The member took the partition: read it from its committed offset.
    Assigned(TopicPartition),
    /// The member gave the partition up in a handoff, after committing its final offset.
    Revoked(TopicPartition),
    /// The partition was taken away (fenced, expired, or the store unreachable for too long):
    /// records read from it since the last commit may be processed again by its new owner.
    Lost(TopicPartition),
}

/// A partition this member holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The partition.
    pub partition: TopicPartition,
    /// Its committed offset (the next to read), if any of this topic incarnation.
    pub committed: Option<u64>,
    /// The lease epoch this member holds it at.
    pub lease_epoch: u64,
}

#[derive(Debug)]
struct Held {
    lease: Stored<Lease>,
    topic_id: TopicId,
    /// Everything below this offset was processed (auto-commit and release commit it).
    consumed: Option<u64>,
}

/// One member of a consumer group.
#[derive(Debug)]
pub struct GroupMember {
    records: Records,
    settings: GroupSettings,
    keys: GroupKeys,
    /// The group's entry in the list of groups.
    index: CasKey,
    topic_ids: BTreeMap<TopicName, TopicId>,
    partitions: BTreeMap<TopicName, u32>,
    me: MemberInfo,
    doc: Option<Stored<GroupDocument>>,
    heartbeat: Option<Stored<Heartbeat>>,
    watch: Option<Watch>,
    held: BTreeMap<TopicPartition, Held>,
    /// Partitions the target gives this member while a live member holds them: since when.
    waiting: BTreeMap<TopicPartition, Mono>,
    /// When the heartbeat and the group document last both succeeded.
    last_ok: Mono,
    events: Vec<Event>,
}

impl GroupMember {
    /// Joins `group` to read `topics`, which must exist.
    pub async fn join(
        storage: &Storage,
        group: &GroupName,
        topics: &[TopicName],
        settings: GroupSettings,
        now: Mono,
    ) -> Result<GroupMember, GroupError> {
        settings.validate().map_err(Error::from)?;
        if topics.is_empty() {
            let rule = "name at least one topic";
            let value = String::new();
            let field = "topics";
            return Err(Error::from(InvalidInput::Setting { field, value, rule }).into());
        }
        let (mut topic_ids, mut partitions) = (BTreeMap::new(), BTreeMap::new());
        for name in topics {
            let config = storage.topic(name).await?;
            topic_ids.insert(name.clone(), config.topic_id);
            partitions.insert(name.clone(), config.partitions);
        }
        let me = MemberInfo {
            member_id: MemberId(String::new()),
            instance_id: settings.instance_id.clone(),
            client_id: settings.client_id.clone(),
            host: settings.host.clone(),
            topics: topic_ids.keys().cloned().collect(),
        };
        let mut member = GroupMember {
            records: Records {
                cas: storage.cas(),
                clock: storage.clock.clone(),
            },
            settings,
            keys: GroupKeys::new(&storage.keys, group),
            index: GroupKeys::index(&storage.keys, group),
            topic_ids,
            partitions,
            me,
            doc: None,
            heartbeat: None,
            watch: None,
            held: BTreeMap::new(),
            waiting: BTreeMap::new(),
            last_ok: now,
            events: Vec::new(),
        };
        member.enter(now).await?;
        Ok(member)
    }

    /// This incarnation's id.
    pub fn member_id(&self) -> &MemberId {
        &self.me.member_id
    }

    /// The group document as last read.
    pub fn document(&self) -> Option<&GroupDocument> {
        self.doc.as_ref().map(|d| &d.value)
    }

    /// The partitions this member holds now.
    pub fn assignment(&self) -> Vec<Assignment> {
        self.held
            .iter()
            .map(|(tp, held)| Assignment {
                partition: tp.clone(),
                committed: held.lease.value.offset_of(held.topic_id),
                lease_epoch: held.lease.value.lease_epoch,
            })
            .collect()
    }

    /// What changed since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Records that everything below `offset` of `partition` was processed: auto-commit and
    /// a release commit it. Ignored for a partition not held.
    pub fn consumed(&mut self, partition: &TopicPartition, offset: u64) {
        if let Some(held) = self.held.get_mut(partition) {
            held.consumed = Some(held.consumed.map_or(offset, |c| c.max(offset)));
        }
    }

    /// Commits `offset` (the next to read) and `metadata` for `partition`, conditioned on this
    /// member's lease. [`GroupError::Fenced`] if another member took it (it is dropped).
    pub async fn commit(
        &mut self,
        partition: &TopicPartition,
        offset: u64,
        metadata: &str,
    ) -> Result<(), GroupError> {
        let Some(held) = self.held.get(partition) else {
            let partition = partition.clone();
            return Err(GroupError::NotOwner { partition });
        };
        let lease = &held.lease.value;
        let committed = lease.offset_of(held.topic_id);
        if let Some(committed) = committed
            && offset < committed
        {
            let partition = partition.clone();
            return Err(GroupError::CommitBackwards {
                partition,
                offset,
                committed,
            });
        }
        if committed == Some(offset) && lease.metadata == metadata {
            return Ok(());
        }
        let next = Lease {
            offset: Some(offset),
            metadata: metadata.to_string(),
            committed_at_ms: Some(self.records.clock.now_ms()),
            topic_id: Some(held.topic_id),
            ..lease.clone()
        };
        self.write_held(partition, next, Event::Lost(partition.clone()))
            .await
    }

    /// Commits every partition whose consumed position moved past its committed offset.
    /// Partitions found fenced are dropped (reported lost); other errors stop it.
    pub async fn commit_consumed(&mut self) -> Result<(), GroupError> {
        let due: Vec<(TopicPartition, u64, String)> = self
            .held
            .iter()
            .filter_map(|(tp, h)| {
                let consumed = h.consumed?;
                let committed = h.lease.value.offset_of(h.topic_id);
                (Some(consumed) > committed)
                    .then(|| (tp.clone(), consumed, h.lease.value.metadata.clone()))
            })
            .collect();
        for (tp, offset, metadata) in due {
            match self.commit(&tp, offset, &metadata).await {
                Ok(()) | Err(GroupError::Fenced { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Leaves the group: releases every partition with its consumed offset, removes this
    /// member from the group document and deletes its heartbeat.
    pub async fn leave(&mut self) -> Result<(), GroupError> {
        let held: Vec<TopicPartition> = self.held.keys().cloned().collect();
        for tp in held {
            self.release(&tp).await?;
        }
        let me = self.me.member_id.clone();
        self.change_document(document::Change::Remove(me)).await?;
        let key = self.keys.heartbeat(&self.me.member_id);
        self.records.cas.delete(&key).await?;
        self.heartbeat = None;
        Ok(())
    }

    /// Writes `next` over the lease held for `tp`; on a lost race drops `tp` with `lost`.
    async fn write_held(
        &mut self,
        tp: &TopicPartition,
        next: Lease,
        lost: Event,
    ) -> Result<(), GroupError> {
        let Some(held) = self.held.get(tp) else {
            return Err(GroupError::NotOwner {
                partition: tp.clone(),
            });
        };
        let key = self.keys.lease(tp);
        match self.records.write(&key, Some(&held.lease), next).await? {
            Outcome::Written(stored) => {
                let released = stored.value.released;
                if let Some(held) = self.held.get_mut(tp) {
                    held.lease = stored;
                }
                if released {
                    self.held.remove(tp);
                }
                Ok(())
            }
            Outcome::Lost(_) => {
                let epoch = held.lease.value.lease_epoch;
                self.held.remove(tp);
                self.events.push(lost);
                Err(GroupError::Fenced {
                    partition: tp.clone(),
                    epoch,
                })
            }
        }
    }

    /// Forgets every partition held, reporting each lost.
    fn drop_all(&mut self) {
        for tp in std::mem::take(&mut self.held).into_keys() {
            self.events.push(Event::Lost(tp));
        }
        self.waiting.clear();
    }
}
