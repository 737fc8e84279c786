//! A Kafka classic group's durable state (`classic.json`, docs/consumer-groups.md §13): its
//! generation, protocol, leader and members with their metadata and assignment. The agent that
//! coordinates the group (`crate::classic`) writes it, conditioned on the version it last saw,
//! at every generation change and every assignment, and once when it takes the group over
//! (`coordinator_epoch` + 1), so a coordinator that lost the group finds out at its next write.
//! Offsets live in the lease records (`lease`), as for native groups.

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Record, Stamp};

/// Where a classic group stood when last written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassicState {
    /// No members (offsets only, or everyone left).
    Empty,
    /// A generation was formed; its leader has not sent the assignment yet.
    AwaitingSync,
    /// Every member of the generation has its assignment.
    Stable,
}

/// One protocol a member supports (e.g. `range`), with its opaque metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicProtocol {
    /// The protocol's name.
    pub name: String,
    /// The client's metadata for it (base64 in JSON).
    #[serde(with = "base64_bytes")]
    pub metadata: Bytes,
}

/// A member of a classic group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicMember {
    /// Its id, given by the coordinator.
    pub member_id: String,
    /// Its static instance id (`group.instance.id`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The client's name (`client.id`).
    pub client_id: String,
    /// The client's address as the coordinator saw it.
    pub client_host: String,
    /// How long it may stay silent before it is removed.
    pub session_timeout_ms: u32,
    /// How long a rebalance waits for it to rejoin.
    pub rebalance_timeout_ms: u32,
    /// The protocols it supports, in its order of preference.
    pub protocols: Vec<ClassicProtocol>,
    /// Its assignment in the current generation (empty until the leader sends it).
    #[serde(with = "base64_bytes")]
    pub assignment: Bytes,
}

impl ClassicMember {
    /// Its metadata for `protocol`, if it supports it.
    pub fn metadata(&self, protocol: &str) -> Option<&Bytes> {
        self.protocols
            .iter()
            .find(|p| p.name == protocol)
            .map(|p| &p.metadata)
    }
}

/// A classic group's durable state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicGroupRecord {
    /// Version and write id.
    #[serde(flatten)]
    pub stamp: Stamp,
    /// +1 every time an agent takes the group over.
    pub coordinator_epoch: u64,
    /// The agent coordinating it (informational).
    pub coordinator: String,
    /// The members' protocol type (`consumer` for consumers); `None` for offsets only.
    pub protocol_type: Option<String>,
    /// The protocol chosen for the current generation.
    pub protocol_name: Option<String>,
    /// +1 on every rebalance.
    pub generation: i32,
    /// The member that computes the assignment.
    pub leader: Option<String>,
    /// Where it stood.
    pub state: ClassicState,
    /// The members of the current generation, by id.
    pub members: Vec<ClassicMember>,
    /// When this was written (the writer's clock; informational, and where an empty group's
    /// idle time starts).
    pub changed_at_ms: i64,
}

impl Record for ClassicGroupRecord {
    const WHAT: &'static str = "classic group record";
    fn stamp(&self) -> &Stamp {
        &self.stamp
    }
    fn stamp_mut(&mut self) -> &mut Stamp {
        &mut self.stamp
    }
}

impl ClassicGroupRecord {
    /// A group with no members, no protocol and generation 0.
    pub fn empty() -> ClassicGroupRecord {
        ClassicGroupRecord {
            stamp: Stamp::default(),
            coordinator_epoch: 0,
            coordinator: String::new(),
            protocol_type: None,
            protocol_name: None,
            generation: 0,
            leader: None,
            state: ClassicState::Empty,
            members: Vec::new(),
            changed_at_ms: 0,
        }
    }
}

/// Bytes as base64 text in JSON.
mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::{Bytes, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = STANDARD.decode(text).map_err(serde::de::Error::custom)?;
        Ok(Bytes::from(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_as_base64() {
        let member = ClassicMember {
            member_id: "m-1".into(),
            instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            protocols: vec![ClassicProtocol {
                name: "range".into(),
                metadata: Bytes::from_static(&[0, 1, 255]),
            }],
            assignment: Bytes::from_static(b"\x00\x03xyz"),
        };
        let text = serde_json::to_string(&member).unwrap();
        assert!(text.contains("\"AAH/\""), "{text}");
        let back: ClassicMember = serde_json::from_str(&text).unwrap();
        assert_eq!(back, member);
    }
}
