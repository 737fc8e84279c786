//! Key compaction's decision (`cleanup_policy = compact`, as Kafka's log cleaner): among the
//! records scanned, a keyed record is removed when a newer record with the same key follows it,
//! and a tombstone (a keyed record with no value) when it is the only record of its key left
//! and older than `delete_retention_ms` (while an older record of its key remains, the
//! tombstone must stay to hide it). Keyless records stay. Only segments older than the
//! compaction lag are scanned, so the newest part of the log is never touched, and an older
//! record is only ever removed in favour of a newer one that was read.
//!
//! A run scans a window: from the partition's checkpoint (see `checkpoint`) until a budget
//! stops it, and the next run continues there; a scan that reaches the end of what may be
//! cleaned sets the checkpoint back to the log start. Tombstones go only in a scan from the log
//! start, which sees every older record of their key. The scan keeps each distinct key once
//! and 24 bytes per keyed record, never values. Cold segments are final and not scanned; while
//! a partition has one, tombstones stay.

use std::collections::HashMap;

use bytes::Bytes;
use silt_core::error::Result;
use silt_core::ids::Offset;
use silt_core::record::Record;
use silt_core::store::Snapshot;
use silt_core::topic::DELETE_RETENTION_MS;

use super::{Partition, Pass, checkpoint};

/// Segment entries listed at a time by the scan.
const SCAN_PAGE: usize = 128;

/// What a scan decided.
struct Window {
    /// The offsets to remove, ascending.
    removed: Vec<Offset>,
    /// Where the next run starts, if it moves.
    next: Option<Offset>,
}

impl Partition<'_> {
    /// Key compaction of the partition: scans a window from its checkpoint, rewrites the
    /// segments holding superseded records, and moves the checkpoint once that all committed.
    pub(super) async fn compact_keys(&mut self, base: &mut Snapshot) -> Result<()> {
        let (storage, topic, p) = (self.storage, self.topic, self.p);
        let topic_id = base.manifest.topic_id;
        let from = checkpoint::read(storage, topic, p, topic_id).await?;
        let window = self.removable(base, from.unwrap_or(Offset(0))).await?;
        let stale_before = self.report.stale;
        self.keys_unfinished = false;
        if !window.removed.is_empty() {
            self.pass(base, &Pass::Keys(window.removed)).await?;
        }
        // A unit refused or left for later keeps the window for the next run.
        let finished = self.report.stale == stale_before && !self.keys_unfinished;
        let next = window.next.filter(|n| from != Some(*n));
        match next {
            Some(next) if finished && !self.options.dry_run => {
                checkpoint::write(storage, topic, p, topic_id, next).await
            }
            _ => Ok(()),
        }
    }

    /// The offsets key compaction removes, decided over the segments from `from` (or the log
    /// start) that are all older than the compaction lag, within the byte and record budgets.
    async fn removable(&mut self, base: &Snapshot, from: Offset) -> Result<Window> {
        let now_ms = self.storage.clock.now_ms();
        let lag_ms = self.settings.min_compaction_lag_ms.unwrap_or(0);
        let lag_cutoff = now_ms.saturating_sub(lag_ms);
        let log_start = base.manifest.log_start_offset;
        let from = from.max(log_start);
        let mut scan = Scan::default();
        let mut cold = false;
        // Where a budget stopped the scan; `None`: it reached the end of what may be cleaned.
        let mut stopped_at = None;
        let mut scanned = false;
        let mut at = from;
        'pages: loop {
            let page = self.entries(base, at, SCAN_PAGE).await?;
            for entry in &page {
                if entry.is_cold() {
                    cold = true; // final, and not read: it may be far larger than the budgets
                    continue;
                }
                if !super::seal::settled_before(entry, lag_cutoff) {
                    break 'pages;
                }
                let over_budget = self.report.bytes_read + entry.bytes
                    > self.options.max_bytes_read
                    || scan.len() + entry.records as usize > SCANNED_RECORDS_MAX;
                if over_budget {
                    stopped_at = Some(entry.base_offset);
                    break 'pages;
                }
                self.report.bytes_read += entry.bytes;
                scanned = true;
                let m = &base.manifest;
                for r in super::merge::read(self.storage, self.topic, m, entry).await? {
                    scan.add(entry.base_offset.plus(u64::from(r.position)), &r.record);
                }
            }
            match page.last() {
                Some(last) if page.len() == SCAN_PAGE => at = last.end_offset(),
                _ => break,
            }
        }
        let retention = self.settings.delete_retention_ms;
        let tombstone_cutoff = match cold || from > log_start {
            // A cold segment is final and was not scanned, and a scan from past the log start
            // did not see what lies before it: either may hold an older record of a
            // tombstone's key, which the tombstone must go on hiding.
            true => i64::MIN,
            false => now_ms.saturating_sub(retention.unwrap_or(DELETE_RETENTION_MS)),
        };
        let next = match stopped_at {
            // Nothing scanned (the run's budget went on other partitions): stay.
            Some(_) if !scanned => None,
            Some(at) => Some(at),
            None => Some(Offset(0)), // start over from the log start
        };
        Ok(Window {
            removed: scan.removable(tombstone_cutoff),
            next,
        })
    }
}

/// Keyed records scanned per partition and run, at most (about 100 MB of scan state).
pub(super) const SCANNED_RECORDS_MAX: usize = 4_000_000;

/// What a scan learned, in offset order.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// Each distinct key, numbered.
    ids: HashMap<Bytes, u32>,
    /// Per key number: its newest offset and how many records it has.
    keys: Vec<(Offset, u32)>,
    /// Per keyed record: offset, key number, tombstone, timestamp.
    records: Vec<(Offset, u32, bool, i64)>,
}

impl Scan {
    /// Adds the record at `offset` (offsets must increase from call to call).
    pub(super) fn add(&mut self, offset: Offset, record: &Record) {
        let Some(key) = &record.key else {
            return;
        };
        let next = self.keys.len() as u32;
        let id = *self.ids.entry(Bytes::copy_from_slice(key)).or_insert(next);
        if id == next {
            self.keys.push((offset, 0));
        }
        let k = &mut self.keys[id as usize];
        *k = (offset, k.1 + 1);
        let tombstone = record.value.is_none();
        self.records
            .push((offset, id, tombstone, record.timestamp_ms));
    }

    /// Keyed records scanned so far.
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    /// The offsets to remove, ascending; tombstones stamped before `tombstone_cutoff_ms`
    /// count as expired.
    pub(super) fn removable(&self, tombstone_cutoff_ms: i64) -> Vec<Offset> {
        let gone = |&(offset, id, tombstone, ts): &(Offset, u32, bool, i64)| {
            let (newest, count) = self.keys[id as usize];
            offset < newest || (tombstone && count == 1 && ts < tombstone_cutoff_ms)
        };
        self.records
            .iter()
            .filter(|r| gone(r))
            .map(|r| r.0)
            .collect()
    }
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

    fn scan(records: &[Record]) -> Scan {
        let mut scan = Scan::default();
        for (i, r) in records.iter().enumerate() {
            scan.add(Offset(i as u64 + 10), r);
        }
        scan
    }

    #[test]
    fn keeps_the_newest_per_key_and_every_keyless_record() {
        let s = scan(&[
            record(Some("a"), Some("1"), 0),
            record(Some("b"), Some("1"), 0),
            record(None, Some("x"), 0),
            record(Some("a"), Some("2"), 0),
            record(None, Some("y"), 0),
            record(Some("a"), Some("3"), 0),
        ]);
        assert_eq!(s.removable(0), [Offset(10), Offset(13)]);
        assert_eq!(s.len(), 4, "keyless records are not held");
    }

    #[test]
    fn a_tombstone_goes_after_the_delete_retention_and_only_alone() {
        let s = scan(&[
            record(Some("a"), Some("1"), 100),
            record(Some("a"), None, 100),
            record(Some("b"), None, 500),
            record(Some("c"), None, 100),
        ]);
        // Cutoff 200: a's tombstone must stay while a's older record is there; b's is too
        // young; c's goes.
        assert_eq!(s.removable(200), [Offset(10), Offset(13)]);
        // Next run, a's older record is gone and its tombstone is alone.
        let again = scan(&[record(Some("a"), None, 100)]);
        assert_eq!(again.removable(200), [Offset(10)]);
        assert!(again.removable(50).is_empty());
    }
}
