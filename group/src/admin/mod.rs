//! [`GroupAdmin`]: groups seen from outside (docs/consumer-groups.md §7, §10): list them,
//! describe one with its lag, reset its offsets while it is empty, delete it, and sweep the
//! groups idle for long. `silt group …`, the agent's group routes and `gc run` use it.
//!
//! It reads the same records the members write (`crate::records`) and changes them only by
//! the same conditional writes, so a member that joins during a reset or a delete either sees
//! the change or makes it fail.

mod delete;
mod describe;
mod reset;

pub use delete::GROUP_IDLE_MS;
pub use describe::{GroupDescription, GroupState, MemberDescription, PartitionDescription};
pub use reset::{OffsetChange, ResetTo};

use silt_core::ids::{GroupName, PartitionId, TopicName};
use silt_core::keys::Keys;
use silt_core::store::Storage;

use crate::error::GroupError;
use crate::ids::TopicPartition;
use crate::records::{
    ClassicGroupRecord, GroupDocument, GroupKeys, IndexEntry, Lease, Records, Stored,
};

/// Groups of one store, seen from outside.
#[derive(Debug, Clone)]
pub struct GroupAdmin {
    storage: Storage,
    records: Records,
}

/// Everything stored of one group.
#[derive(Debug)]
struct Loaded {
    group: GroupName,
    keys: GroupKeys,
    index: Option<Stored<IndexEntry>>,
    doc: Option<Stored<GroupDocument>>,
    /// A Kafka classic group's state, if Kafka clients use the group.
    classic: Option<Stored<ClassicGroupRecord>>,
    leases: Vec<(TopicPartition, Stored<Lease>)>,
}

impl Loaded {
    /// Members in the group document, and Kafka clients in the classic group's record.
    fn members(&self) -> usize {
        let native = self.doc.as_ref().map_or(0, |d| d.value.members.len());
        native + self.classic.as_ref().map_or(0, |c| c.value.members.len())
    }

    /// Refuses `action` while the group has members.
    fn require_empty(&self, action: &'static str) -> Result<(), GroupError> {
        match self.members() {
            0 => Ok(()),
            members => Err(GroupError::GroupActive {
                group: self.group.clone(),
                members,
                action,
            }),
        }
    }
}

impl GroupAdmin {
    /// The groups of `storage`.
    pub fn new(storage: &Storage) -> GroupAdmin {
        let records = Records {
            cas: storage.cas(),
            clock: storage.clock.clone(),
        };
        let storage = storage.clone();
        GroupAdmin { storage, records }
    }

    /// Every group's name, sorted.
    pub async fn list(&self) -> Result<Vec<GroupName>, GroupError> {
        let names = self
            .records
            .cas
            .list(&self.storage.keys.group_index(), "")
            .await?;
        Ok(names
            .into_iter()
            .filter_map(|name| GroupName::new(name).ok())
            .collect())
    }

    /// Reads every record of `group`: [`GroupError::UnknownGroup`] if it has none.
    async fn load(&self, group: &GroupName) -> Result<Loaded, GroupError> {
        let keys = GroupKeys::new(&self.storage.keys, group);
        let index = self
            .records
            .read(&GroupKeys::index(&self.storage.keys, group))
            .await?;
        let doc = self.records.read(&keys.document()).await?;
        let classic = self.records.read(&keys.classic()).await?;
        let mut leases = Vec::new();
        for name in self.records.cas.list(&keys.scope, "offsets/").await? {
            let Some(tp) = partition_of(&name) else {
                tracing::warn!(%group, name, "skipping a group record with an unexpected name");
                continue;
            };
            if let Some(lease) = self.records.read(&keys.lease(&tp)).await? {
                leases.push((tp, lease));
            }
        }
        if index.is_none() && doc.is_none() && classic.is_none() && leases.is_empty() {
            return Err(GroupError::UnknownGroup {
                group: group.clone(),
            });
        }
        let group = group.clone();
        Ok(Loaded {
            group,
            keys,
            index,
            doc,
            classic,
            leases,
        })
    }
}

/// The partition a lease record's name (`offsets/<topic>/<partition:05>`) stands for.
pub(crate) fn partition_of(name: &str) -> Option<TopicPartition> {
    let (topic, partition) = name.strip_prefix("offsets/")?.rsplit_once('/')?;
    let topic = TopicName::new(topic).ok()?;
    let partition = PartitionId(partition.parse().ok()?);
    (Keys::group_offset_name(&topic, partition) == name)
        .then_some(TopicPartition { topic, partition })
}
