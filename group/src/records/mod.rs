//! The records of a group (docs/consumer-groups.md §1), each a small JSON document in the
//! compare-and-swap store (`silt_core::store::cas`): the group document (`document`), a
//! member's heartbeat (`heartbeat`), a partition's lease and committed offset (`lease`), the
//! group's entry in the list of groups (`index`), and a Kafka classic group's state
//! (`classic`).
//!
//! Every record carries a [`Stamp`]: a version `v` (+1 per write, so no two versions share
//! bytes) and the `write_id` of the write that stored it, which tells our own write apart when
//! its answer was lost. This module reads and writes any of them; each file knows one.

mod classic;
mod document;
mod heartbeat;
mod index;
mod lease;

pub use classic::{ClassicGroupRecord, ClassicMember, ClassicProtocol, ClassicState};
pub use document::{GroupDocument, MemberInfo, Target};
pub use heartbeat::Heartbeat;
pub use index::IndexEntry;
pub use lease::{Lease, Owner};

use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use silt_core::clock::Clock;
use silt_core::error::{Corruption, Error, Result};
use silt_core::ids::GroupName;
use silt_core::keys::Keys;
use silt_core::store::cas::{
    self, CAS_RESOLVE_TIMEOUT, CasKey, CasStore, CasVersion, Condition, Revalidated, Seen,
    Versioned, Witness, Written,
};

use crate::ids::{MemberId, TopicPartition};

/// Newest record format this silt writes and reads.
pub const RECORD_FORMAT_VERSION: u32 = 1;

/// Version and write id, in every record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// Format of the record.
    pub format_version: u32,
    /// +1 on every write.
    pub v: u64,
    /// The write that stored this version (a ULID).
    pub write_id: String,
}

/// A record type: JSON with a [`Stamp`].
pub trait Record: Serialize + DeserializeOwned + Clone + std::fmt::Debug {
    /// What it is, for messages.
    const WHAT: &'static str;
    /// Its stamp.
    fn stamp(&self) -> &Stamp;
    /// Its stamp, to change.
    fn stamp_mut(&mut self) -> &mut Stamp;
}

/// A record as read or written, with the version to condition the next write on.
#[derive(Debug, Clone)]
pub struct Stored<T> {
    /// The record.
    pub value: T,
    /// Its version in the store.
    pub version: CasVersion,
}

/// What a conditional read found.
#[derive(Debug, Clone)]
pub(crate) enum Fresh<T> {
    Unchanged,
    Changed(Stored<T>),
    Gone,
}

/// What a conditional write did.
#[derive(Debug, Clone)]
pub(crate) enum Outcome<T> {
    /// Ours landed.
    Written(Stored<T>),
    /// Another write got there first; what is stored now.
    Lost(Option<Stored<T>>),
}

/// Where one group's records live (`<root>/groups/<group>/…`).
#[derive(Debug, Clone)]
pub(crate) struct GroupKeys {
    pub(crate) scope: Path,
}

impl GroupKeys {
    pub(crate) fn new(keys: &Keys, group: &GroupName) -> GroupKeys {
        GroupKeys {
            scope: keys.group(group),
        }
    }

    fn key(&self, name: String) -> CasKey {
        let scope = self.scope.clone();
        CasKey { scope, name }
    }

    pub(crate) fn document(&self) -> CasKey {
        self.key(Keys::group_document_name())
    }

    /// A Kafka classic group's state.
    pub(crate) fn classic(&self) -> CasKey {
        self.key(Keys::group_classic_name())
    }

    pub(crate) fn heartbeat(&self, member: &MemberId) -> CasKey {
        self.key(Keys::group_member_name(&member.0))
    }

    pub(crate) fn lease(&self, tp: &TopicPartition) -> CasKey {
        self.key(Keys::group_offset_name(&tp.topic, tp.partition))
    }

    /// The group's entry in the list of groups.
    pub(crate) fn index(keys: &Keys, group: &GroupName) -> CasKey {
        let scope = keys.group_index();
        let name = group.to_string();
        CasKey { scope, name }
    }
}

/// A record store: the CAS and the clock that mints write ids.
#[derive(Debug, Clone)]
pub(crate) struct Records {
    pub(crate) cas: Arc<dyn CasStore>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Records {
    pub(crate) async fn read<T: Record>(&self, key: &CasKey) -> Result<Option<Stored<T>>> {
        let found = self.cas.get(key).await?;
        found.map(|f| self.decode(key, f)).transpose()
    }

    pub(crate) async fn read_if_changed<T: Record>(
        &self,
        key: &CasKey,
        known: &CasVersion,
    ) -> Result<Fresh<T>> {
        Ok(match self.cas.get_if_changed(key, known).await? {
            Revalidated::Unchanged => Fresh::Unchanged,
            Revalidated::Changed(found) => Fresh::Changed(self.decode(key, found)?),
            Revalidated::Gone => Fresh::Gone,
        })
    }

    /// Writes `next` over `base` (`None`: create), stamped as its successor.
    pub(crate) async fn write<T: Record>(
        &self,
        key: &CasKey,
        base: Option<&Stored<T>>,
        mut next: T,
    ) -> Result<Outcome<T>> {
        let write_id = self.clock.new_ulid().to_string();
        *next.stamp_mut() = Stamp {
            format_version: RECORD_FORMAT_VERSION,
            v: base.map_or(1, |b| b.value.stamp().v + 1),
            write_id: write_id.clone(),
        };
        let body = Bytes::from(
            serde_json::to_vec(&next).map_err(|e| Error::internal("encoding a group record", e))?,
        );
        let condition = match base {
            None => Condition::Absent,
            Some(b) => Condition::Matches(b.version.clone()),
        };
        let witness = StampWitness {
            write_id,
            base_v: base.map(|b| b.value.stamp().v),
            location: self.cas.location(key),
        };
        let timeout = CAS_RESOLVE_TIMEOUT;
        Ok(
            match cas::write(self.cas.as_ref(), key, body, &condition, &witness, timeout).await? {
                Written::Landed(version) => Outcome::Written(Stored {
                    value: next,
                    version,
                }),
                Written::Lost(now) => Outcome::Lost(now.map(|n| self.decode(key, n)).transpose()?),
            },
        )
    }

    fn decode<T: Record>(&self, key: &CasKey, found: Versioned) -> Result<Stored<T>> {
        let location = self.cas.location(key);
        let stamp = stamp_of(&found.body, &location)?;
        if stamp.format_version > RECORD_FORMAT_VERSION {
            return Err(Error::FutureFormat {
                what: T::WHAT,
                location,
                found: stamp.format_version,
                supported: RECORD_FORMAT_VERSION,
            });
        }
        let value = serde_json::from_slice(&found.body).map_err(|e| corrupt(&location, e))?;
        Ok(Stored {
            value,
            version: found.version,
        })
    }
}

fn corrupt(location: &str, e: serde_json::Error) -> Error {
    Corruption {
        what: "group record",
        location: location.to_string(),
        reason: e.to_string(),
    }
    .into()
}

/// The stamp of a stored record, read without knowing its type.
fn stamp_of(body: &[u8], location: &str) -> Result<Stamp> {
    #[derive(Deserialize)]
    struct Stamped {
        #[serde(flatten)]
        stamp: Stamp,
    }
    let stamped: Stamped = serde_json::from_slice(body).map_err(|e| corrupt(location, e))?;
    Ok(stamped.stamp)
}

/// Tells our write from others' by the stamp read back.
struct StampWitness {
    write_id: String,
    /// The version our write was conditioned on (`None`: a create).
    base_v: Option<u64>,
    location: String,
}

impl Witness for StampWitness {
    fn seen(&self, stored: Option<&Versioned>) -> Result<Seen> {
        let Some(stored) = stored else {
            return Ok(match self.base_v {
                None => Seen::Unchanged,
                Some(_) => Seen::MovedOn,
            });
        };
        let stamp = stamp_of(&stored.body, &self.location)?;
        Ok(if stamp.write_id == self.write_id {
            Seen::Ours
        } else if Some(stamp.v) == self.base_v {
            Seen::Unchanged
        } else {
            Seen::MovedOn
        })
    }
}
