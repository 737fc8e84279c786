//! Reads a whole topic back and compares it with what producers were told.
//!
//! Every record value must be unique (`<producer>-<seq>`). Producers report each value as
//! acknowledged at `(partition, offset)`, definitely not written (an error of kind `Retryable`
//! or `Rejected`, or `Closed`), or unknown (`Indeterminate`); any other error (corruption, a
//! bad setup, a bug, a refused input) fails the scenario at once. The check: every acknowledged value is at exactly its offset;
//! no value appears twice; offsets are dense from the log start to the next offset; each
//! producer's acknowledged values keep their send order within a partition; and no value
//! reported as not written is in the log. On a key-compacted topic
//! ([`History::keep_newest_per_key`]) only the newest acknowledged record per key must be
//! there, and offsets only increase.

use std::collections::HashMap;

use bytes::Bytes;
use silt_core::error::ErrorKind;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::store::Storage;
use silt_reader::{Reader, StartFrom};
use silt_writer::{AppendAck, AppendError};

/// Panics unless an error met under injected faults is one a fault may cause: worth retrying,
/// or of unknown outcome. Corruption, a bad setup, a refused input or a bug fail the scenario.
pub fn assert_fault_error(what: &str, kind: ErrorKind, error: &dyn std::fmt::Display) {
    assert!(
        matches!(kind, ErrorKind::Retryable | ErrorKind::Indeterminate),
        "{what} failed with a {kind:?} error, which no injected fault may cause: {error}"
    );
}

/// [`assert_fault_error`] for a job's per-partition failure, which jobs report as text: it
/// must not name corruption, a broken invariant, a foreign topic, a future format or a bug.
pub fn assert_fault_failure(what: &str, failure: &str) {
    const NOT_FAULTS: [&str; 5] = [
        "corrupt ",
        "invariant violated",
        "belongs to topic id",
        "has format version",
        "internal error",
    ];
    let named = NOT_FAULTS.iter().find(|text| failure.contains(**text));
    assert!(
        named.is_none(),
        "{what} failed in a way no injected fault may cause: {failure}"
    );
}

/// What producers were told, per value.
#[derive(Debug, Default)]
pub struct History {
    acked: Vec<(Bytes, PartitionId, Offset, String, u64)>,
    not_written: Vec<Bytes>,
    unknown: usize,
    /// Key compaction may remove records, leaving gaps.
    compacted: bool,
}

impl History {
    /// Records the answer for `value`, sent by `producer` as its `seq`-th record. Panics on an
    /// error no scenario may see (any kind but `Retryable`, `Rejected`, `Indeterminate`).
    pub fn answer(
        &mut self,
        producer: &str,
        seq: u64,
        value: Bytes,
        result: &Result<AppendAck, AppendError>,
    ) {
        match result {
            Ok(ack) => self.acked.push((
                value,
                ack.partition,
                ack.base_offset,
                producer.to_string(),
                seq,
            )),
            Err(AppendError::Closed) => self.not_written.push(value),
            Err(e) => match e.kind() {
                ErrorKind::Indeterminate => self.unknown += 1,
                ErrorKind::Retryable | ErrorKind::Rejected => self.not_written.push(value),
                kind => panic!("{producer} #{seq} ({value:?}) failed with a {kind:?} error: {e}"),
            },
        }
    }

    /// Forgets acknowledged records of partition `p` below `log_start`: trimmed on purpose.
    pub fn trimmed(&mut self, p: PartitionId, log_start: Offset) {
        self.acked
            .retain(|(_, partition, offset, _, _)| *partition != p || *offset >= log_start);
    }

    /// Forgets acknowledged records a newer acknowledged one with the same key (`key_of` its
    /// value) supersedes in its partition: key compaction may remove them. Only sound when no
    /// answer was unknown (an unknown record may have landed and superseded an acked one).
    pub fn keep_newest_per_key(&mut self, key_of: impl Fn(&Bytes) -> Bytes) {
        assert_eq!(
            self.unknown, 0,
            "unknown outcomes make the newest record per key unknowable"
        );
        let mut newest: HashMap<(PartitionId, Bytes), Offset> = HashMap::new();
        for (value, p, offset, _, _) in &self.acked {
            let slot = newest.entry((*p, key_of(value))).or_insert(*offset);
            *slot = (*slot).max(*offset);
        }
        self.acked
            .retain(|(value, p, offset, _, _)| newest[&(*p, key_of(value))] == *offset);
        self.compacted = true;
    }

    /// Acknowledged records so far.
    pub fn acked(&self) -> usize {
        self.acked.len()
    }

    /// Counts of each answer, for logs.
    pub fn summary(&self) -> String {
        format!(
            "acked {}, not written {}, unknown {}",
            self.acked.len(),
            self.not_written.len(),
            self.unknown
        )
    }

    /// Merges another history.
    pub fn extend(&mut self, other: History) {
        self.acked.extend(other.acked);
        self.not_written.extend(other.not_written);
        self.unknown += other.unknown;
    }
}

/// What the check found; every count must be zero.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Records read back.
    pub read: usize,
    /// Acknowledged records not found at their offset.
    pub lost: Vec<String>,
    /// Values read more than once.
    pub duplicates: Vec<String>,
    /// Missing offsets inside a partition.
    pub gaps: Vec<String>,
    /// A producer's acknowledged records out of send order.
    pub reordered: Vec<String>,
    /// Records reported as not written but present.
    pub phantom: Vec<String>,
}

impl Report {
    /// Panics with the details unless the log matches the history.
    pub fn assert_clean(&self) {
        let clean = self.lost.is_empty()
            && self.duplicates.is_empty()
            && self.gaps.is_empty()
            && self.reordered.is_empty()
            && self.phantom.is_empty();
        assert!(
            clean,
            "log does not match what producers were told: {self:#?}"
        );
    }
}

/// Reads every partition of `topic` from the log start and checks it against `history`.
pub async fn check(storage: &Storage, topic: &TopicName, history: &History) -> Report {
    let reader = Reader::open(storage.clone(), topic)
        .await
        .expect("open reader");
    let mut report = Report::default();
    let mut found: HashMap<Bytes, (PartitionId, Offset)> = HashMap::new();
    for p in reader.topic().partition_ids() {
        let mut cursor = reader.cursor(p, StartFrom::Earliest).await.expect("cursor");
        let mut expected = cursor.position();
        loop {
            let batch = cursor.next_batch(10_000).await.expect("read back");
            if batch.is_empty() {
                if cursor.position() != cursor.end_offset() {
                    report.gaps.push(format!(
                        "partition {p}: reading stopped at {expected}, before the next offset {}",
                        cursor.end_offset()
                    ));
                }
                break;
            }
            if batch.last().is_some_and(|c| c.offset < expected) {
                report.gaps.push(format!(
                    "partition {p}: reading went back from {expected} to {}",
                    batch[0].offset
                ));
                break;
            }
            for c in batch {
                let skipped = c.offset > expected && history.compacted;
                if c.offset != expected && !skipped {
                    report.gaps.push(format!(
                        "partition {p}: expected offset {expected}, read {}",
                        c.offset
                    ));
                }
                expected = c.offset.plus(1);
                report.read += 1;
                let value = c.record.value.clone().unwrap_or_default();
                if let Some(first) = found.insert(value.clone(), (p, c.offset)) {
                    report
                        .duplicates
                        .push(format!("{value:?} at {first:?} and {p}/{}", c.offset));
                }
            }
        }
    }
    let mut last: HashMap<(String, PartitionId), (u64, Offset)> = HashMap::new();
    let mut acked = history.acked.clone();
    acked.sort_by_key(|(_, _, _, producer, seq)| (producer.clone(), *seq));
    for (value, p, offset, producer, seq) in acked {
        if found.get(&value) != Some(&(p, offset)) {
            report.lost.push(format!(
                "{value:?} acked at {p}/{offset}, found at {:?}",
                found.get(&value)
            ));
        }
        if let Some((prev_seq, prev)) = last.insert((producer.clone(), p), (seq, offset))
            && prev >= offset
        {
            report.reordered.push(format!(
                "{producer} #{prev_seq} at {prev} but #{seq} at {offset}"
            ));
        }
    }
    for value in &history.not_written {
        if let Some(at) = found.get(value) {
            report.phantom.push(format!(
                "{value:?} reported as not written, found at {at:?}"
            ));
        }
    }
    report
}
