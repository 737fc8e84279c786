//! Is the object fetched the one its manifest entry describes? (docs/design.md §5.1.) An entry
//! whose id was swapped with another's (in a manifest or an index chunk, still valid JSON)
//! leads to a sound segment holding other records: serving them would put records at the
//! wrong offsets, and compaction would make that permanent. So the reader and every job check
//! each segment they fetch against its entry, on every field both carry: topic id, partition,
//! record count, newest and oldest timestamps, and object size (a ranged read, which fetches
//! only the footer and one block, checks the size and the record count). A mismatch is a
//! `Corrupt` error naming the object and the field.
//!
//! The header cannot say the segment's base offset: the commit gives it, and a commit that
//! loses a race is applied again at a new base without rewriting the object.

use crate::error::{Corruption, Error, Result};
use crate::ids::{PartitionId, TopicId};
use crate::manifest::SegmentEntry;
use crate::segment::{Footer, SegmentHeader};

/// Checks a whole hot segment (its header and size) against `entry`, its entry in the
/// manifest of partition `owner.1` of topic incarnation `owner.0`.
pub fn segment(
    header: &SegmentHeader,
    object_bytes: u64,
    owner: (TopicId, PartitionId),
    entry: &SegmentEntry,
    location: &str,
) -> Result<()> {
    let differ = |field: &str, found: String, expected: String| {
        Err(mismatch(location, field, &found, &expected))
    };
    if header.topic_id != owner.0 {
        let (found, expected) = (header.topic_id.to_string(), owner.0.to_string());
        return differ("topic id", found, expected);
    }
    if header.partition != owner.1 {
        let (found, expected) = (header.partition.to_string(), owner.1.to_string());
        return differ("partition", found, expected);
    }
    let fields = [
        (
            "record count",
            i128::from(header.record_count),
            i128::from(entry.records),
        ),
        (
            "oldest timestamp",
            header.min_ts.into(),
            entry.min_ts.into(),
        ),
        (
            "newest timestamp",
            header.max_ts.into(),
            entry.max_ts.into(),
        ),
        ("size in bytes", object_bytes.into(), entry.bytes.into()),
    ];
    for (field, found, expected) in fields {
        if found != expected {
            return differ(field, found.to_string(), expected.to_string());
        }
    }
    Ok(())
}

/// Checks what a ranged read of a hot segment sees (its footer and size) against `entry`.
pub fn footer(
    footer: &Footer,
    object_bytes: u64,
    entry: &SegmentEntry,
    location: &str,
) -> Result<()> {
    size(object_bytes, entry, location)?;
    let records = footer.record_count();
    if records != u64::from(entry.records) {
        let (found, expected) = (records.to_string(), entry.records.to_string());
        return Err(mismatch(location, "record count", &found, &expected));
    }
    Ok(())
}

/// Checks the size of a hot segment, as the store reports it, against `entry`.
pub fn size(object_bytes: u64, entry: &SegmentEntry, location: &str) -> Result<()> {
    if object_bytes != entry.bytes {
        let (found, expected) = (object_bytes.to_string(), entry.bytes.to_string());
        return Err(mismatch(location, "size in bytes", &found, &expected));
    }
    Ok(())
}

fn mismatch(location: &str, field: &str, found: &str, expected: &str) -> Error {
    Error::Corrupt(Corruption {
        what: "segment",
        location: location.to_string(),
        reason: format!(
            "its {field} is {found}, but its manifest entry says {expected}: the entry does not describe this object (ids swapped or an entry damaged)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Epoch, ObjectId, Offset, WriterId};
    use ulid::Ulid;

    fn header() -> SegmentHeader {
        SegmentHeader {
            topic_id: TopicId(Ulid::from_parts(1, 1)),
            partition: PartitionId(3),
            writer_id: WriterId(Ulid::from_parts(2, 2)),
            epoch: Epoch(0),
            record_count: 10,
            min_ts: 100,
            max_ts: 200,
        }
    }

    fn entry() -> SegmentEntry {
        SegmentEntry {
            id: ObjectId(Ulid::from_parts(3, 3)),
            base_offset: Offset(40),
            records: 10,
            bytes: 500,
            min_ts: 100,
            max_ts: 200,
            cold_day: None,
            mixed_at: None,
        }
    }

    #[test]
    fn every_field_the_entry_shares_is_checked() {
        let owner = (TopicId(Ulid::from_parts(1, 1)), PartitionId(3));
        assert!(segment(&header(), 500, owner, &entry(), "seg/x").is_ok());
        let other = [
            (
                SegmentEntry {
                    records: 11,
                    ..entry()
                },
                500,
                "record count is 10",
            ),
            (
                SegmentEntry {
                    min_ts: 99,
                    ..entry()
                },
                500,
                "oldest timestamp is 100",
            ),
            (
                SegmentEntry {
                    max_ts: 201,
                    ..entry()
                },
                500,
                "newest timestamp is 200",
            ),
            (
                entry(),
                501,
                "size in bytes is 501, but its manifest entry says 500",
            ),
        ];
        for (entry, size, says) in other {
            let e = segment(&header(), size, owner, &entry, "seg/x").unwrap_err();
            assert!(e.to_string().contains(says), "{e}");
            assert!(e.to_string().contains("corrupt segment at seg/x"), "{e}");
        }
        let foreign = (owner.0, PartitionId(4));
        let e = segment(&header(), 500, foreign, &entry(), "seg/x").unwrap_err();
        assert!(e.to_string().contains("partition is 3"), "{e}");
    }
}
