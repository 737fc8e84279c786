//! Sealing (DESIGN §9): compaction rewrites the oldest hot segments, once every record in them
//! is older than the topic's `seal_after_ms`, as cold segments (Parquet under `tables/`) with
//! the same offsets, and swaps them in with the same `Replace` as a merge.
//!
//! - Only a prefix of the log is sealed: from the log start, the hot segments up to the
//!   first one that is too young. So the log is cold up to a point and hot after it.
//! - A cold segment is final: never merged, rewritten or sealed again. This is what lets a
//!   glob over `tables/` see each offset once.
//! - Segments are grouped up to the target file size. A file is filed under the UTC day
//!   (`dt=`) of its first record, and a new file starts at the first record of a later day
//!   (inside a segment if need be). With timestamps in order every record sits under its
//!   own day; a record whose producer's clock went back a day sits under a later one.
//! - Hot segments are not merged first. A run that seals every few minutes (or
//!   `seal_after_ms = 0`) therefore writes small files; leave hours between sealing and the
//!   newest records for files near the target.

use std::ops::Range;

use silt_core::cold::{ColdFile, ColdOptions, ColdWriter};
use silt_core::error::{Error, Rejection, Result};
use silt_core::ids::{Day, Offset, TopicName};
use silt_core::manifest::{Manifest, SegmentEntry};
use silt_core::store::Storage;

use super::merge;

/// Default size a cold segment aims for.
pub const COLD_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// The runs of `entries` to seal, each into one file or more (one per day), and whether
/// sealing must stop after them: a hot segment holds a record at or after `cutoff_ms`, or the
/// commit would need more than `max_items` items (a DynamoDB transaction: two per sealed
/// segment, one per file starting inside a segment, one for the head).
pub(super) fn groups(
    entries: &[SegmentEntry],
    cutoff_ms: i64,
    file_bytes: u64,
    max_items: usize,
) -> (Vec<Range<usize>>, bool) {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut current: Option<(Range<usize>, u64)> = None;
    let mut items = 1;
    for (i, e) in entries.iter().enumerate() {
        if e.is_cold() {
            out.extend(current.take().map(|c| c.0));
            continue;
        }
        let days = Day::of_ms(e.max_ts)
            .0
            .saturating_sub(Day::of_ms(e.min_ts).0);
        items += 2 + days.max(0) as usize;
        if e.max_ts >= cutoff_ms || items > max_items {
            out.extend(current.map(|c| c.0));
            return (out, true);
        }
        match &mut current {
            Some((run, bytes)) if *bytes + e.bytes <= file_bytes => {
                run.end = i + 1;
                *bytes += e.bytes;
            }
            _ => {
                out.extend(current.take().map(|c| c.0));
                current = Some((i..i + 1, e.bytes));
            }
        }
    }
    out.extend(current.map(|c| c.0));
    (out, false)
}

/// Where each file of a run starts, and its day: the first at the run's start, then one at
/// each record of a later day than the file before. Only segments whose records span a day
/// the file before has not reached are read.
async fn file_starts(
    storage: &Storage,
    topic: &TopicName,
    m: &Manifest,
    old: &[SegmentEntry],
) -> Result<Vec<(Offset, Day)>> {
    let mut starts: Vec<(Offset, Day)> = Vec::new();
    for e in old {
        let (low, high) = (Day::of_ms(e.min_ts), Day::of_ms(e.max_ts));
        let day = starts.last().map(|s| s.1);
        if day.is_some_and(|d| high <= d) {
            continue; // nothing in it is on a later day
        }
        if low == high {
            starts.push((e.base_offset, low)); // all of it is on one later day
            continue;
        }
        for r in merge::read(storage, topic, m, e).await? {
            let day = Day::of_ms(r.record.timestamp_ms);
            if starts.last().is_none_or(|s| day > s.1) {
                starts.push((e.base_offset.plus(u64::from(r.position)), day));
            }
        }
    }
    if let (Some(first), Some(e)) = (starts.first_mut(), old.first()) {
        first.0 = e.base_offset; // the run's leading removed positions too
    }
    Ok(starts)
}

/// Writes the records of `old` (consecutive hot segments) as cold segments, one per day;
/// returns their entries, which cover exactly the same offsets.
pub(super) async fn write(
    storage: &Storage,
    topic: &TopicName,
    m: &Manifest,
    old: &[SegmentEntry],
    options: &ColdOptions,
) -> Result<Vec<SegmentEntry>> {
    let end = old.last().map_or(Offset(0), |e| e.end_offset());
    let starts = file_starts(storage, topic, m, old).await?;
    let mut files = Vec::new();
    for (n, &(first, day)) in starts.iter().enumerate() {
        let next = starts.get(n + 1).map_or(end, |s| s.0);
        let file = ColdFile {
            topic: topic.clone(),
            topic_id: m.topic_id,
            partition: m.partition,
            id: storage.new_object_id(),
            day,
            first,
            last: Offset(next.0.saturating_sub(1)),
        };
        files.push((file, next));
    }
    let mut written = Vec::new();
    let mut open: Option<(ColdWriter, SegmentEntry)> = None;
    let mut files = files.into_iter();
    for entry in old {
        for r in merge::read(storage, topic, m, entry).await? {
            let offset = entry.base_offset.plus(u64::from(r.position));
            while open.as_ref().is_none_or(|(_, e)| offset >= e.end_offset()) {
                if let Some(done) = open.take() {
                    written.push(finish(done).await?);
                }
                let Some((file, next)) = files.next() else {
                    return Err(merge::invariant(m, "a record past the sealed run"));
                };
                open = Some(start(storage, file, next, options)?);
            }
            if let Some((writer, e)) = &mut open {
                e.min_ts = e.min_ts.min(r.record.timestamp_ms);
                e.max_ts = e.max_ts.max(r.record.timestamp_ms);
                writer.push(offset, r.record).await?;
            }
        }
    }
    written.extend(finish_all(open, files, storage, options).await?);
    Ok(written)
}

/// Opens the writer of `file` and the entry it will have (timestamps filled in as records
/// come).
fn start(
    storage: &Storage,
    file: ColdFile,
    next: Offset,
    options: &ColdOptions,
) -> Result<(ColdWriter, SegmentEntry)> {
    let entry = SegmentEntry {
        id: file.id,
        base_offset: file.first,
        records: u32::try_from(next.0 - file.first.0).map_err(|_| {
            Error::Rejected(Rejection::Invariant {
                partition: file.partition,
                reason: format!("a cold segment from {} over 2^32 offsets", file.first),
            })
        })?,
        bytes: 0,
        min_ts: i64::MAX,
        max_ts: i64::MIN,
        cold_day: Some(file.day),
    };
    let writer = ColdWriter::new(storage.objects.clone(), &storage.keys, file, options)?;
    Ok((writer, entry))
}

async fn finish((writer, mut entry): (ColdWriter, SegmentEntry)) -> Result<SegmentEntry> {
    entry.bytes = writer.finish().await?;
    if entry.min_ts > entry.max_ts {
        // No record left in its range (key compaction removed them all).
        entry.min_ts = 0;
        entry.max_ts = 0;
    }
    Ok(entry)
}

/// Finishes the open file and writes any left (ranges whose records were all removed).
async fn finish_all(
    open: Option<(ColdWriter, SegmentEntry)>,
    rest: impl Iterator<Item = (ColdFile, Offset)>,
    storage: &Storage,
    options: &ColdOptions,
) -> Result<Vec<SegmentEntry>> {
    let mut out = Vec::new();
    if let Some(done) = open {
        out.push(finish(done).await?);
    }
    for (file, next) in rest {
        out.push(finish(start(storage, file, next, options)?).await?);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // the runs of a test are often one
mod tests {
    use super::*;
    use silt_core::ids::ObjectId;
    use ulid::Ulid;

    const DAY: i64 = Day::MS;

    fn entries(spec: &[(i64, i64, u64, bool)]) -> Vec<SegmentEntry> {
        let mut base = 0;
        let out = spec.iter().map(|&(min_ts, max_ts, bytes, cold)| {
            let e = SegmentEntry {
                id: ObjectId(Ulid::new()),
                base_offset: Offset(base),
                records: 10,
                bytes,
                min_ts,
                max_ts,
                cold_day: cold.then(|| Day::of_ms(min_ts)),
            };
            base += 10;
            e
        });
        out.collect()
    }

    #[test]
    fn seals_old_segments_up_to_the_target_size() {
        let e = entries(&[
            (0, 1, 10, false),
            (DAY, DAY, 10, false),
            (DAY, DAY, 95, false),
        ]);
        assert_eq!(
            groups(&e, 10 * DAY, 100, usize::MAX),
            (vec![0..2, 2..3], false)
        );
    }

    #[test]
    fn stops_at_the_first_young_segment_and_skips_cold_ones() {
        let e = entries(&[
            (0, 1, 10, true),
            (1, 2, 10, false),
            (2, 3, 10, false),
            (5 * DAY, 5 * DAY, 10, false),
        ]);
        assert_eq!(groups(&e, DAY, 100, usize::MAX), (vec![1..3], true));
        assert_eq!(groups(&e[..1], DAY, 100, usize::MAX), (vec![], false));
    }

    #[test]
    fn stops_before_a_commit_too_large_for_one_transaction() {
        // Head 1, then 2 per segment, and 3 more for the one spanning three midnights.
        let e = entries(&[
            (0, 1, 1, false),
            (1, 3 * DAY, 1, false),
            (3 * DAY, 3 * DAY, 1, false),
        ]);
        assert_eq!(groups(&e, 10 * DAY, 100, 7), (vec![0..1], true));
        assert_eq!(groups(&e, 10 * DAY, 100, 10), (vec![0..3], false));
    }
}
