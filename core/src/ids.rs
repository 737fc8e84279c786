//! Newtypes for every id and counter, so an offset can never be mixed up with an epoch or a
//! manifest version. Names that come from users (topic names) are validated here, once.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::error::InvalidInput;
use crate::limits::{PARTITIONS_MAX, TOPIC_NAME_LEN_MAX};

macro_rules! number_id {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

number_id!(
    /// Position of a record in its partition: dense, from 0, never reused.
    Offset(u64)
);
number_id!(
    /// Index of a partition within its topic (0-based).
    PartitionId(u32)
);
number_id!(
    /// Leader generation of a partition. A writer that claims a partition bumps it, fencing
    /// older leaders. 0 means no writer ever claimed the partition.
    Epoch(u64)
);
number_id!(
    /// Version of a partition manifest: +1 on every commit, so two versions never share bytes.
    ManifestVersion(u64)
);
number_id!(
    /// Sequence number of a commit within one committer (writer or job); with the committer's
    /// id it forms the marker that resolves ambiguous commit outcomes.
    CommitSeq(u64)
);

number_id!(
    /// A Kafka idempotent producer's id: cluster-unique, handed out by
    /// `silt_core::producers::ProducerIds` from blocks reserved by conditional writes.
    ProducerId(i64)
);
number_id!(
    /// A producer id's epoch: a producer that starts again with the same id bumps it, fencing
    /// batches of its older incarnation.
    ProducerEpoch(i16)
);

impl Offset {
    /// The offset `n` records after this one (saturating: offsets near `u64::MAX` only come
    /// from damaged manifests, which the invariants then reject).
    pub fn plus(self, n: u64) -> Offset {
        Offset(self.0.saturating_add(n))
    }
}

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Ulid);

        impl $name {
            /// Milliseconds since the Unix epoch encoded in the id.
            pub fn timestamp_ms(&self) -> u64 {
                self.0.timestamp_ms()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ulid::DecodeError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ulid::from_str(s).map($name)
            }
        }
    };
}

ulid_id!(
    /// Identity of one topic incarnation: a deleted and re-created topic gets a new id.
    TopicId
);
ulid_id!(
    /// Identity of one writer (or job) incarnation; every process start gets a new one.
    WriterId
);
ulid_id!(
    /// Name of an immutable object (segment or index chunk); its time part orders orphan sweeps.
    ObjectId
);

/// A UTC calendar day, as days since 1970-01-01: the `dt=` folder a cold segment is filed
/// under. Displays as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Day(pub i32);

impl Day {
    /// Milliseconds in a day.
    pub const MS: i64 = 86_400_000;

    /// The UTC day holding `ms` since the Unix epoch (clamped to the range of `Day`).
    pub fn of_ms(ms: i64) -> Day {
        let days = ms.div_euclid(Day::MS);
        Day(days.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
    }

    /// Year, month (1..=12) and day of month (1..=31), by Howard Hinnant's
    /// `civil_from_days` (proleptic Gregorian calendar).
    pub fn civil(self) -> (i64, u32, u32) {
        let z = i64::from(self.0) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        (year, month, day)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.civil();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// A validated topic name: `[a-zA-Z0-9._-]{1,249}`, not `.` or `..` (Kafka's rule).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TopicName(String);

impl TopicName {
    /// Validates `name`, or says what is wrong with it.
    pub fn new(name: impl Into<String>) -> Result<TopicName, InvalidInput> {
        let name = name.into();
        if !valid_name(&name) {
            return Err(InvalidInput::TopicName { name });
        }
        Ok(TopicName(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TopicName {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TopicName::new(s)
    }
}

impl From<TopicName> for String {
    fn from(t: TopicName) -> String {
        t.0
    }
}

impl FromStr for TopicName {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TopicName::new(s)
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// True for a name of 1 to 249 characters from `[a-zA-Z0-9._-]`, not `.` or `..`.
fn valid_name(name: &str) -> bool {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    !name.is_empty()
        && name.len() <= TOPIC_NAME_LEN_MAX
        && valid_chars
        && name != "."
        && name != ".."
}

/// A validated consumer group name: the rule of topic names, `[a-zA-Z0-9._-]{1,249}`, not
/// `.` or `..` (it is a folder of the store, `groups/<group>/`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GroupName(String);

impl GroupName {
    /// Validates `name`, or says what is wrong with it.
    pub fn new(name: impl Into<String>) -> Result<GroupName, InvalidInput> {
        let name = name.into();
        if !valid_name(&name) {
            return Err(InvalidInput::GroupName { name });
        }
        Ok(GroupName(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GroupName {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        GroupName::new(s)
    }
}

impl From<GroupName> for String {
    fn from(g: GroupName) -> String {
        g.0
    }
}

impl FromStr for GroupName {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GroupName::new(s)
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a partition count given when creating a topic.
pub fn validate_partition_count(partitions: u32) -> Result<u32, InvalidInput> {
    if partitions == 0 || partitions > PARTITIONS_MAX {
        return Err(InvalidInput::PartitionCount {
            partitions,
            max: PARTITIONS_MAX,
        });
    }
    Ok(partitions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        for ok in ["orders", "a", "a.b_c-D9", &"x".repeat(249)] {
            assert!(TopicName::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "é", &"x".repeat(250)] {
            assert!(TopicName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn group_names_follow_the_topic_rule() {
        assert!(GroupName::new("billing.v2_x-1").is_ok());
        for bad in ["", "..", "a/b", "a b"] {
            let err = GroupName::new(bad).unwrap_err();
            assert!(err.to_string().contains("group name"), "{err}");
        }
    }

    #[test]
    fn partition_counts_are_bounded() {
        assert!(validate_partition_count(0).is_err());
        assert!(validate_partition_count(1).is_ok());
        assert!(validate_partition_count(10_000).is_ok());
        assert!(validate_partition_count(10_001).is_err());
    }

    #[test]
    fn days_display_as_utc_dates() {
        assert_eq!(Day::of_ms(0).to_string(), "1970-01-01");
        assert_eq!(Day::of_ms(-1).to_string(), "1969-12-31");
        assert_eq!(Day::of_ms(1_795_996_800_000 - 1).to_string(), "2026-11-29");
        assert_eq!(Day::of_ms(1_795_996_800_000).to_string(), "2026-11-30");
        assert_eq!(Day::of_ms(951_782_400_000).to_string(), "2000-02-29");
        assert_eq!(Day::of_ms(i64::MAX), Day(i32::MAX));
    }
}
