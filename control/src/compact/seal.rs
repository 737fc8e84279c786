//! Sealing (docs/design.md §9): compaction rewrites the oldest hot segments, once every record in
//! them is older than the topic's `seal_after_ms`, as cold segments (Parquet under `tables/`) with
//! the same offsets, and swaps them in with the same `Replace` as a merge.
//!
//! - Only a prefix of the log is sealed: from the log start, the hot segments up to the
//!   first one that is too young. So the log is cold up to a point and hot after it.
//! - A cold segment is final: never merged, rewritten or sealed again, so no offset is in two
//!   committed files. Files whose commit did not happen are deleted at once (see
//!   `Partition::commit`); only a crash leaves one, for GC's orphan sweep.
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
use silt_core::ids::{Day, Offset, PartitionId, TopicName};
use silt_core::limits::{TIMESTAMP_MS_MAX, TIMESTAMP_MS_MIN};
use silt_core::manifest::{Manifest, SegmentEntry, TombstoneKind};
use silt_core::store::{Snapshot, Storage};

use super::merge;
use crate::job::delete;

/// Default size a cold segment aims for.
pub const COLD_FILE_BYTES: u64 = 512 * 1024 * 1024;
/// Offsets a cold segment covers at most (hot segments are grouped while under it). Its page
/// index and page checksums grow with its records (about 0.3 to 0.6 byte each), and readers
/// refuse a tail over `TAIL_BYTES_MAX` (64 MiB): 2^25 offsets keep it under 20 MiB.
pub(super) const COLD_FILE_OFFSETS_MAX: u64 = 1 << 25;

/// Whether every record of `e` counts as older than `cutoff_ms`: its newest record is, or
/// it was committed before then (so a producer clock far ahead cannot hold a segment back
/// forever). Sealing and key compaction's lag both use it.
pub(super) fn settled_before(e: &SegmentEntry, cutoff_ms: i64) -> bool {
    e.max_ts < cutoff_ms || (e.id.timestamp_ms() as i64) < cutoff_ms
}

/// The runs of `entries` to seal, each into one file or more (one per day), and whether
/// sealing must stop after them: a hot segment is not settled before `cutoff_ms`, or holds
/// a timestamp Parquet cannot (written before produce checked the limit).
pub(super) fn groups(
    entries: &[SegmentEntry],
    cutoff_ms: i64,
    file_bytes: u64,
) -> (Vec<Range<usize>>, bool) {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut current: Option<(Range<usize>, u64, u64)> = None;
    for (i, e) in entries.iter().enumerate() {
        if e.is_cold() {
            out.extend(current.take().map(|c| c.0));
            continue;
        }
        let representable = e.min_ts >= TIMESTAMP_MS_MIN && e.max_ts <= TIMESTAMP_MS_MAX;
        if !settled_before(e, cutoff_ms) || !representable {
            out.extend(current.map(|c| c.0));
            return (out, true);
        }
        let records = u64::from(e.records);
        match &mut current {
            Some((run, bytes, offsets))
                if *bytes + e.bytes <= file_bytes
                    && *offsets + records <= COLD_FILE_OFFSETS_MAX =>
            {
                run.end = i + 1;
                *bytes += e.bytes;
                *offsets += records;
            }
            _ => {
                out.extend(current.take().map(|c| c.0));
                current = Some((i..i + 1, e.bytes, records));
            }
        }
    }
    out.extend(current.map(|c| c.0));
    (out, false)
}

/// Where each file of a run starts, and its day: the first at the run's start, then one at
/// each record of a later day than the file before. A start inside a segment is a split;
/// after `max_splits` of them, later days stay in the file they fall in. Only segments
/// whose records span a day the file before has not reached are read.
async fn file_starts(
    storage: &Storage,
    topic: &TopicName,
    m: &Manifest,
    old: &[SegmentEntry],
    max_splits: usize,
) -> Result<Vec<(Offset, Day)>> {
    let mut starts: Vec<(Offset, Day)> = Vec::new();
    let mut splits = 0;
    for e in old {
        let (low, high) = (Day::of_ms(e.min_ts), Day::of_ms(e.max_ts));
        let day = starts.last().map(|s| s.1);
        if day.is_some_and(|d| high <= d) {
            continue; // nothing in it is on a later day
        }
        if low == high || splits >= max_splits {
            if day.is_none_or(|d| low > d) {
                starts.push((e.base_offset, low)); // it starts on a later day
            }
            continue;
        }
        let records = merge::read(storage, topic, m, e).await?;
        for (n, r) in records.iter().enumerate() {
            let day = Day::of_ms(r.record.timestamp_ms);
            if starts.last().is_some_and(|s| day <= s.1) {
                continue;
            }
            if n == 0 {
                starts.push((e.base_offset, day));
            } else if splits < max_splits {
                splits += 1;
                starts.push((e.base_offset.plus(u64::from(r.position)), day));
            }
        }
    }
    match (starts.first_mut(), old.first()) {
        // The run's first positions, even if key compaction removed every record in them.
        (Some(first), Some(e)) => first.0 = e.base_offset,
        (None, Some(e)) => starts.push((e.base_offset, Day::of_ms(e.min_ts))),
        _ => {}
    }
    Ok(starts)
}

/// Writes the records of `old` (consecutive hot segments) as cold segments, one per day (at
/// most `max_splits` of them starting inside a segment); returns their entries, which cover
/// exactly the same offsets. On failure, the files already written are deleted.
pub(super) async fn write(
    storage: &Storage,
    topic: &TopicName,
    m: &Manifest,
    old: &[SegmentEntry],
    options: &ColdOptions,
    max_splits: usize,
) -> Result<Vec<SegmentEntry>> {
    let mut written = Vec::new();
    let result = write_files(storage, topic, m, old, options, max_splits, &mut written).await;
    if result.is_err() {
        delete_files(storage, topic, m.partition, &written).await;
    }
    result.map(|()| written)
}

/// Deletes cold files no commit references (best effort: the orphan sweep finds any left).
pub(super) async fn delete_files(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    files: &[SegmentEntry],
) {
    for e in files.iter().filter(|e| e.is_cold()) {
        let path = storage.keys.segment_object(topic, p, e);
        if let Err(err) = delete(storage, &path).await {
            tracing::warn!("could not delete the uncommitted cold segment {path}: {err}");
        }
    }
}

/// Those of `written` that `fresh` references neither as a segment nor in its graveyard
/// (whole buried chunks included).
pub(super) async fn unreferenced(
    storage: &Storage,
    topic: &TopicName,
    fresh: &Snapshot,
    written: &[SegmentEntry],
) -> Result<Vec<SegmentEntry>> {
    let p = fresh.manifest.partition;
    let mut out = Vec::new();
    for e in written {
        let at = storage.manifests.segment_at(topic, p, fresh, e.base_offset);
        if at.await?.is_none_or(|held| held.id != e.id) {
            out.push(*e);
        }
    }
    if out.is_empty() {
        return Ok(out);
    }
    let mut buried = Vec::new();
    for t in storage.manifests.graveyard(topic, p, fresh).await? {
        buried.push(t.id);
        if t.kind == TombstoneKind::ChunkWithSegments {
            let chunk = storage.keys.index_chunk(topic, p, t.id);
            let listed = crate::gc::graveyard::chunk_segments(storage, &chunk).await?;
            buried.extend(listed.iter().map(|e| e.id));
        }
    }
    out.retain(|e| !buried.contains(&e.id));
    Ok(out)
}

async fn write_files(
    storage: &Storage,
    topic: &TopicName,
    m: &Manifest,
    old: &[SegmentEntry],
    options: &ColdOptions,
    max_splits: usize,
    written: &mut Vec<SegmentEntry>,
) -> Result<()> {
    let end = old.last().map_or(Offset(0), |e| e.end_offset());
    let starts = file_starts(storage, topic, m, old, max_splits).await?;
    let mut files = starts.iter().enumerate().map(|(n, &(first, day))| {
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
        (file, next)
    });
    let mut open: Option<(ColdWriter, SegmentEntry)> = None;
    for entry in old {
        for r in merge::read(storage, topic, m, entry).await? {
            let offset = entry.base_offset.plus(u64::from(r.position));
            while open.as_ref().is_none_or(|(_, e)| offset >= e.end_offset()) {
                if let Some(done) = open.take() {
                    finish(done, written).await?;
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
    if let Some(done) = open {
        finish(done, written).await?;
    }
    // Ranges whose records key compaction removed entirely still get their (empty) file.
    for (file, next) in files {
        finish(start(storage, file, next, options)?, written).await?;
    }
    Ok(())
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
        mixed_at: None,
    };
    let writer = ColdWriter::new(storage.objects.clone(), &storage.keys, file, options)?;
    Ok((writer, entry))
}

/// Completes a file and lists its entry in `written`; listed first, so that a failure to
/// complete (which may still have made the object visible) deletes it too.
async fn finish(
    (writer, mut entry): (ColdWriter, SegmentEntry),
    written: &mut Vec<SegmentEntry>,
) -> Result<()> {
    if entry.min_ts > entry.max_ts {
        // No record left in its range (key compaction removed them all).
        entry.min_ts = 0;
        entry.max_ts = 0;
    }
    written.push(entry);
    let bytes = writer.finish().await?;
    if let Some(done) = written.last_mut() {
        done.bytes = bytes;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // the runs of a test are often one
mod tests {
    use super::*;
    use silt_core::clock::{Clock, SystemClock};
    use silt_core::ids::ObjectId;
    use ulid::Ulid;

    const DAY: i64 = Day::MS;

    fn entries(spec: &[(i64, i64, u64, bool)]) -> Vec<SegmentEntry> {
        let mut base = 0;
        let out = spec.iter().map(|&(min_ts, max_ts, bytes, cold)| {
            let e = SegmentEntry {
                id: ObjectId(SystemClock.new_ulid()),
                base_offset: Offset(base),
                records: 10,
                bytes,
                min_ts,
                max_ts,
                cold_day: cold.then(|| Day::of_ms(min_ts)),
                mixed_at: None,
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
        assert_eq!(groups(&e, 10 * DAY, 100), (vec![0..2, 2..3], false));
    }

    #[test]
    fn a_file_covers_at_most_its_offset_limit() {
        let mut e = entries(&[(0, 1, 10, false), (0, 1, 10, false), (0, 1, 10, false)]);
        let half = u32::try_from(COLD_FILE_OFFSETS_MAX / 2).unwrap();
        for (i, entry) in e.iter_mut().enumerate() {
            entry.records = half;
            entry.base_offset = Offset(i as u64 * u64::from(half));
        }
        e[1].records = half + 1;
        assert_eq!(groups(&e, 10 * DAY, 100), (vec![0..1, 1..2, 2..3], false));
        e[1].records = half;
        assert_eq!(groups(&e, 10 * DAY, 100), (vec![0..2, 2..3], false));
    }

    #[test]
    fn stops_at_the_first_young_segment_and_skips_cold_ones() {
        let e = entries(&[
            (0, 1, 10, true),
            (1, 2, 10, false),
            (2, 3, 10, false),
            (5 * DAY, 5 * DAY, 10, false),
        ]);
        assert_eq!(groups(&e, DAY, 100), (vec![1..3], true));
        assert_eq!(groups(&e[..1], DAY, 100), (vec![], false));
    }

    #[test]
    fn a_segment_committed_before_the_cutoff_seals_whatever_its_timestamps() {
        // Ids are made at time 0 (Ulid::from_parts(0, ..)): committed long ago.
        let mut e = entries(&[(0, TIMESTAMP_MS_MAX, 10, false)]);
        e[0].id = ObjectId(Ulid::from_parts(0, 1));
        assert_eq!(groups(&e, DAY, 100), (vec![0..1], false));
        // A timestamp Parquet cannot hold stops sealing before it.
        e[0].max_ts = TIMESTAMP_MS_MAX + 1;
        assert_eq!(groups(&e, DAY, 100), (vec![], true));
    }
}
