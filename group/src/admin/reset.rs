//! `reset_offsets`: moves a group's committed offsets (Kafka's `--reset-offsets`), only while
//! the group has no members, as Kafka requires. Each partition's lease record is rewritten
//! conditioned on the version read, with no owner: a member that joined meanwhile and took the
//! partition makes the write fail ([`GroupError::GroupActive`]), and a member that joins after
//! reads the new offset when it takes the partition.

use serde::Serialize;
use silt_core::ids::{GroupName, Offset, PartitionId, TopicName};
use silt_reader::{Reader, StartFrom};

use super::GroupAdmin;
use crate::error::GroupError;
use crate::ids::TopicPartition;
use crate::records::{GroupDocument, GroupKeys, Lease, Outcome};

/// Where to move offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetTo {
    /// The log start.
    Earliest,
    /// The log end: only records written from now on.
    Latest,
    /// This offset, which must lie in the log.
    Offset(u64),
    /// The first record at or after this many ms since the Unix epoch (the log end if none).
    Timestamp(i64),
}

impl ResetTo {
    fn start_from(self) -> StartFrom {
        match self {
            ResetTo::Earliest => StartFrom::Earliest,
            ResetTo::Latest => StartFrom::Latest,
            ResetTo::Offset(o) => StartFrom::Offset(Offset(o)),
            ResetTo::Timestamp(ms) => StartFrom::Timestamp(ms),
        }
    }
}

/// One partition's committed offset before and after a reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OffsetChange {
    /// The topic.
    pub topic: TopicName,
    /// The partition.
    pub partition: PartitionId,
    /// The committed offset before, if any of the topic as it is now.
    pub previous: Option<u64>,
    /// The committed offset after.
    pub new_offset: u64,
}

impl GroupAdmin {
    /// Moves `group`'s committed offsets of `topic` (of `partitions`; all when empty) to `to`,
    /// only while the group has no members. With `execute` false nothing is written: the
    /// changes are only computed (Kafka's default dry run). A group not yet known is created
    /// with these offsets, so a new group can start where it is told.
    pub async fn reset_offsets(
        &self,
        group: &GroupName,
        topic: &TopicName,
        partitions: &[PartitionId],
        to: ResetTo,
        execute: bool,
    ) -> Result<Vec<OffsetChange>, GroupError> {
        let loaded = match self.load(group).await {
            Err(GroupError::UnknownGroup { .. }) => None,
            other => Some(other?),
        };
        if let Some(loaded) = &loaded {
            loaded.require_empty("reset its offsets")?;
        }
        let reader = Reader::open(self.storage.clone(), topic).await?;
        let partitions = match partitions {
            [] => reader.topic().partition_ids().collect(),
            some => some.to_vec(),
        };
        let topic_id = reader.topic().topic_id;
        let mut planned = Vec::new();
        for partition in partitions {
            let tp = TopicPartition {
                topic: topic.clone(),
                partition,
            };
            let new_offset = reader
                .cursor(partition, to.start_from())
                .await?
                .position()
                .0;
            let current = loaded.as_ref().and_then(|l| {
                l.leases
                    .iter()
                    .find(|(at, _)| at == &tp)
                    .map(|(_, lease)| lease.clone())
            });
            let previous = current.as_ref().and_then(|l| l.value.offset_of(topic_id));
            planned.push((tp, current, previous, new_offset));
        }
        if execute {
            let index = GroupKeys::index(&self.storage.keys, group);
            self.records.register(&index).await?;
        }
        let keys = GroupKeys::new(&self.storage.keys, group);
        let mut changes = Vec::new();
        for (tp, current, previous, new_offset) in planned {
            if execute {
                let base = current
                    .as_ref()
                    .map_or_else(Lease::empty, |l| l.value.clone());
                let next = Lease {
                    owner: None,
                    offset: Some(new_offset),
                    metadata: String::new(),
                    committed_at_ms: Some(self.records.clock.now_ms()),
                    released: false,
                    topic_id: Some(topic_id),
                    ..base
                };
                let key = keys.lease(&tp);
                if let Outcome::Lost(_) = self.records.write(&key, current.as_ref(), next).await? {
                    let doc = self.records.read::<GroupDocument>(&keys.document()).await?;
                    return Err(GroupError::GroupActive {
                        group: group.clone(),
                        members: doc.map_or(0, |d| d.value.members.len()),
                        action: "finish the reset (a lease changed under it, reset again)",
                    });
                }
            }
            changes.push(OffsetChange {
                topic: tp.topic,
                partition: tp.partition,
                previous,
                new_offset,
            });
        }
        Ok(changes)
    }
}
