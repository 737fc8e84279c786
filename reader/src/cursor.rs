//! A consumer's position in one partition: reads records in offset order, and at the end of
//! the log long-polls the manifest (cheap revalidation) until more records are committed.
//! Records returned are counted (`silt_records_read_total`, `silt_bytes_read_total`), and
//! waits open at the tail (`silt_long_polls_open`).

use std::time::Duration;

use silt_core::cold::ColdReader;
use silt_core::error::Error;
use silt_core::ids::{Offset, PartitionId, TopicId, TopicName};
use silt_core::metrics;
use silt_core::record::Record;
use silt_core::store::Storage;

use crate::ahead::{Owner, ReadAhead};
use crate::error::ReadError;
use crate::fetch::{Fetched, fetch, fetch_cold};
use crate::view::View;

/// Times a vanished segment (compacted or expired under us) is looked up again.
const VANISHED_RETRIES: usize = 3;

/// The index of the first of `items` (in offset order) at or after `position`.
fn seek<T>(items: &[T], position: Offset, offset_of: impl Fn(&T) -> Offset) -> usize {
    items.partition_point(|item| offset_of(item) < position)
}

/// How many of `records` (at most `max_records`) fit in `max_bytes` of payload: at least one.
fn within(records: &[(Offset, Record)], max_records: usize, max_bytes: usize) -> usize {
    let mut bytes = 0usize;
    let mut taken = 0;
    for (_, record) in records.iter().take(max_records) {
        bytes = bytes.saturating_add(record.payload_bytes());
        if bytes > max_bytes && taken > 0 {
            break;
        }
        taken += 1;
    }
    taken
}

/// One record as read, with its place in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    /// Partition it was read from.
    pub partition: PartitionId,
    /// Its offset.
    pub offset: Offset,
    /// The record.
    pub record: Record,
}

/// Reads one partition in order from a position.
#[derive(Debug)]
pub struct Cursor {
    pub(crate) storage: Storage,
    pub(crate) topic: TopicName,
    pub(crate) topic_id: TopicId,
    pub(crate) partition: PartitionId,
    pub(crate) view: View,
    pub(crate) position: Offset,
    pub(crate) loaded: Option<Fetched>,
    /// The cold segment read last, kept open while reads stay in it.
    pub(crate) cold: Option<ColdReader>,
    /// The segments after the loaded one, fetched while it is read.
    pub(crate) ahead: ReadAhead,
    pub(crate) poll_interval: Duration,
}

impl Cursor {
    /// The offset of the next record this cursor returns.
    pub fn position(&self) -> Offset {
        self.position
    }

    /// The partition it reads.
    pub fn partition(&self) -> PartitionId {
        self.partition
    }

    /// The next offset (high watermark) as last seen.
    pub fn end_offset(&self) -> Offset {
        self.view.manifest().next_offset
    }

    /// The first readable offset as last seen.
    pub fn log_start_offset(&self) -> Offset {
        self.view.manifest().log_start_offset
    }

    /// Up to `max_records` records from the position on; empty at the end of the log. Offsets
    /// increase but may skip some on a key-compacted topic.
    pub async fn next_batch(&mut self, max_records: usize) -> Result<Vec<Consumed>, ReadError> {
        self.next_batch_within(max_records, usize::MAX).await
    }

    /// [`Cursor::next_batch`] that also stops before the records' payload (keys, values,
    /// headers) passes `max_bytes`: at least one record is returned when there is one, and the
    /// position stays at the first record left out.
    pub async fn next_batch_within(
        &mut self,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<Vec<Consumed>, ReadError> {
        let batch = self.read_batch(max_records, max_bytes, true).await?;
        if !batch.is_empty() {
            let bytes: usize = batch.iter().map(|c| c.record.payload_bytes()).sum();
            metrics::read(&self.topic, batch.len() as u64, bytes as u64);
        }
        Ok(batch)
    }

    /// [`Cursor::next_batch`] without counting the records as read (a timestamp lookup scans,
    /// and skips segments: it reads no further ahead than it needs, `ahead` false).
    pub(crate) async fn read_batch(
        &mut self,
        max_records: usize,
        max_bytes: usize,
        ahead: bool,
    ) -> Result<Vec<Consumed>, ReadError> {
        loop {
            self.check_in_range().await?;
            if self.position == self.end_offset() || max_records == 0 {
                return Ok(Vec::new());
            }
            if !self.loaded_covers(self.position) {
                self.load(ahead).await?;
            }
            let Some(loaded) = &self.loaded else {
                return Ok(Vec::new());
            };
            // A binary search, not a filter from the start: small batches over a large
            // segment would cost quadratic time.
            let from = seek(&loaded.records, self.position, |(offset, _)| *offset);
            let available = &loaded.records[from..];
            let taken = within(available, max_records, max_bytes);
            let out: Vec<Consumed> = available[..taken]
                .iter()
                .map(|(offset, record)| Consumed {
                    partition: self.partition,
                    offset: *offset,
                    record: record.clone(),
                })
                .collect();
            // Past the last record returned; past the whole range when it ran out (key
            // compaction may have removed the rest: go on with the next segment).
            self.position = match out.last() {
                Some(last) if taken < available.len() => last.offset.plus(1),
                _ => loaded.end,
            };
            if !out.is_empty() {
                return Ok(out);
            }
        }
    }

    pub(crate) async fn refresh(&mut self) -> Result<bool, Error> {
        self.view
            .refresh(&self.storage, &self.topic, self.partition)
            .await
    }

    /// Fails with `OffsetOutOfRange` if the position left the log (after a fresh look).
    async fn check_in_range(&mut self) -> Result<(), ReadError> {
        let position = self.position;
        let out = |m: &silt_core::manifest::Manifest| {
            position < m.log_start_offset || position > m.next_offset
        };
        if out(self.view.manifest()) {
            self.refresh().await?;
            let m = self.view.manifest();
            if out(m) {
                return Err(ReadError::OffsetOutOfRange {
                    partition: self.partition,
                    requested: self.position,
                    log_start: m.log_start_offset,
                    next: m.next_offset,
                });
            }
        }
        Ok(())
    }

    fn loaded_covers(&self, offset: Offset) -> bool {
        self.loaded
            .as_ref()
            .is_some_and(|l| l.first <= offset && offset < l.end)
    }

    /// Loads the segment (or block) holding the position: fetched ahead already, or now. With
    /// `ahead`, after a hot segment, then starts fetching the segments after it (see `ahead`);
    /// a cursor in cold files reads them (and the hot segment after them) as it goes.
    async fn load(&mut self, ahead: bool) -> Result<(), ReadError> {
        let hot = match self.ahead.take(self.position).await {
            Some(fetched) => {
                self.loaded = Some(fetched);
                true
            }
            None => self.fetch_here().await?,
        };
        if ahead && hot {
            self.read_ahead().await;
        }
        Ok(())
    }

    /// Starts fetching the whole hot segments after the loaded records, within the bounds of
    /// `ReadAhead`, among those the manifest as last seen lists. Stops at the first lookup that
    /// fails (the cursor meets the error itself when it gets there), at a cold segment, and in
    /// the middle of a segment read block by block.
    async fn read_ahead(&mut self) {
        let Some(after) = self.loaded.as_ref().map(|l| l.end) else {
            return;
        };
        let owner = Owner {
            storage: self.storage.clone(),
            topic: self.topic.clone(),
            topic_id: self.topic_id,
            partition: self.partition,
        };
        loop {
            let start = self.ahead.next_start(after);
            if start >= self.end_offset() {
                return;
            }
            let entry = match self.ahead.waiting_at(start) {
                Some(entry) => entry,
                None => match self
                    .view
                    .segment_at(&self.storage, &self.topic, start)
                    .await
                {
                    Ok(Some(entry)) => entry,
                    _ => return,
                },
            };
            if entry.is_cold() || entry.base_offset != start || !self.ahead.start(&owner, entry) {
                return;
            }
        }
    }

    /// Fetches the segment (or block) holding the position. A segment (or index chunk) that
    /// vanished, or a position no segment holds, means the manifest moved on (compaction,
    /// retention, garbage collection): read it again and retry; below the new log start that
    /// is `OffsetOutOfRange`. One that vanished while the manifest did not change is missing:
    /// `ObjectMissing`, naming it. Returns whether the segment is hot.
    async fn fetch_here(&mut self) -> Result<bool, ReadError> {
        let mut missing = None;
        for _ in 0..VANISHED_RETRIES {
            let found = self
                .view
                .segment_at(&self.storage, &self.topic, self.position)
                .await;
            let vanished = match found {
                Ok(Some(entry)) => {
                    let (topic, id, p) = (&self.topic, self.topic_id, self.partition);
                    let fetched = match entry.is_cold() {
                        true => {
                            let (owner, cold) = ((id, p), &mut self.cold);
                            fetch_cold(&self.storage, topic, owner, &entry, self.position, cold)
                                .await
                        }
                        false => fetch(&self.storage, topic, id, p, &entry, self.position).await,
                    };
                    match fetched {
                        Ok(fetched) => {
                            self.loaded = Some(fetched);
                            return Ok(!entry.is_cold());
                        }
                        Err(e) if !e.vanished() => return Err(e.into()),
                        Err(e) => Some(e),
                    }
                }
                Ok(None) => None,
                Err(e) if !e.vanished() => return Err(e.into()),
                Err(e) => Some(e),
            };
            let changed = self.refresh().await?;
            if let Some(e) = vanished {
                if !changed {
                    return Err(e.into());
                }
                missing = Some(e);
            }
            self.check_in_range().await?;
        }
        if let Some(e) = missing {
            return Err(e.into());
        }
        let location = self
            .storage
            .manifests
            .manifest_location(&self.topic, self.partition);
        let reason = format!(
            "no segment entry holds offset {}, though the log covers it",
            self.position
        );
        Err(Error::Corrupt(silt_core::error::Corruption {
            what: "manifest",
            location,
            reason,
        })
        .into())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn seeking_in_a_large_segment_reads_a_logarithmic_number_of_offsets() {
        // Key compaction leaves gaps: every third offset is missing.
        let offsets: Vec<Offset> = (0..300_000u64).filter(|o| o % 3 != 1).map(Offset).collect();
        let looked_at = Cell::new(0u32);
        let offset_of = |o: &Offset| {
            looked_at.set(looked_at.get() + 1);
            *o
        };
        for (position, expected) in [
            (0, 0),
            (1, 1),
            (2, 1),
            (299_999, 199_999),
            (300_000, 200_000),
        ] {
            looked_at.set(0);
            assert_eq!(seek(&offsets, Offset(position), offset_of), expected);
            // A filter from the start looked at up to 200 000 offsets per batch.
            assert!(looked_at.get() <= 20, "{} offsets read", looked_at.get());
        }
    }

    #[test]
    fn a_batch_stops_before_its_payload_passes_max_bytes_but_holds_one_record() {
        // Payloads of 10, 20, 30 and 40 bytes.
        let records: Vec<(Offset, Record)> = (1..=4u64)
            .map(|i| {
                (
                    Offset(i),
                    Record::from_value(vec![b'v'; 10 * i as usize], 0),
                )
            })
            .collect();
        assert_eq!(within(&records, 10, usize::MAX), 4);
        assert_eq!(within(&records, 2, usize::MAX), 2);
        assert_eq!(
            within(&records, 10, 30),
            2,
            "10 + 20 fit in 30, not 10 + 20 + 30"
        );
        assert_eq!(within(&records, 10, 59), 2);
        assert_eq!(within(&records, 10, 60), 3);
        assert_eq!(
            within(&records, 10, 1),
            1,
            "the first record even when over"
        );
        assert_eq!(within(&records, 0, 100), 0);
        assert_eq!(within(&[], 10, 100), 0);
    }
}
