//! Key compaction's decision (`cleanup_policy = compact`, as Kafka's log cleaner): among the
//! records of a partition's oldest segments, a keyed record is removed when a newer record with
//! the same key follows it, and a tombstone (a keyed record with no value) when it is the
//! newest for its key and older than `delete_retention_ms`. Keyless records stay. Only the
//! segments from the log start whose newest record is older than the compaction lag take part,
//! so the newest part of the log is never touched and a key's later records there are never
//! needed: an older record is removed only in favour of a newer one that was read.

use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;
use silt_core::ids::Offset;
use silt_core::record::Record;

/// The offsets to remove from `records` (in offset order), with tombstones whose timestamp is
/// before `tombstone_cutoff_ms` removed too.
pub(super) fn removable(
    records: &[(Offset, Record)],
    tombstone_cutoff_ms: i64,
) -> BTreeSet<Offset> {
    let mut newest: HashMap<&Bytes, Offset> = HashMap::new();
    for (offset, record) in records {
        if let Some(key) = &record.key {
            newest.insert(key, *offset);
        }
    }
    let superseded = |offset: &Offset, key: &Bytes| newest.get(key).is_some_and(|n| n > offset);
    records
        .iter()
        .filter(|(offset, record)| match &record.key {
            None => false,
            Some(key) if superseded(offset, key) => true,
            Some(_) => record.value.is_none() && record.timestamp_ms < tombstone_cutoff_ms,
        })
        .map(|(offset, _)| *offset)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: Option<&str>, value: Option<&str>, ts: i64) -> Record {
        Record {
            key: key.map(|k| Bytes::from(k.to_string())),
            value: value.map(|v| Bytes::from(v.to_string())),
            timestamp_ms: ts,
            headers: Vec::new(),
        }
    }

    #[test]
    fn keeps_the_newest_per_key_and_every_keyless_record() {
        let records: Vec<(Offset, Record)> = [
            record(Some("a"), Some("1"), 0),
            record(Some("b"), Some("1"), 0),
            record(None, Some("x"), 0),
            record(Some("a"), Some("2"), 0),
            record(None, Some("y"), 0),
            record(Some("a"), Some("3"), 0),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, r)| (Offset(i as u64 + 10), r))
        .collect();
        let removed = removable(&records, 0);
        assert_eq!(removed, BTreeSet::from([Offset(10), Offset(13)]));
    }

    #[test]
    fn tombstones_go_after_the_delete_retention_only() {
        let records = vec![
            (Offset(0), record(Some("a"), Some("1"), 100)),
            (Offset(1), record(Some("a"), None, 100)),
            (Offset(2), record(Some("b"), None, 500)),
        ];
        // Cutoff 200: a's tombstone (ts 100) is old enough, b's (ts 500) is not.
        assert_eq!(
            removable(&records, 200),
            BTreeSet::from([Offset(0), Offset(1)])
        );
        assert_eq!(removable(&records, 50), BTreeSet::from([Offset(0)]));
    }
}
