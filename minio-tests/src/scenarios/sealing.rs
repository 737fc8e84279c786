//! Sealing (docs/design.md §9), with an injected clock: compaction rewrites records older than the
//! topic's `seal_after_ms` as Parquet under `tables/`, one file per UTC day at least. Consumers
//! read every record identical across cold and hot segments, by offset and by timestamp; the
//! files under the topic's table folder hold each offset exactly once, every record under its
//! own day; sealed files are never rewritten; retention and GC remove them like any segment.

use std::sync::Arc;

use futures::TryStreamExt;
use silt_control::{CompactOptions, CompactReport, GcOptions, run_compaction, run_gc, trim};
use silt_core::cold::{ColdOptions, ColdReader, read_window};
use silt_core::ids::{Day, Offset, PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::{CountingStore, Storage};
use silt_core::testing::ManualClock;
use silt_core::topic::TopicSettings;
use silt_reader::{Reader, StartFrom};
use silt_writer::Writer;

use super::gc::{objects, referenced};
use super::{quick, read_all, scope, segments, topic_with};

const P: PartitionId = PartitionId(0);
const MINUTE: i64 = 60_000;
/// 2026-11-28T00:00:00Z.
const T0: i64 = 1_795_852_800_000;
/// Old records, in commits of ten, ten minutes apart: they span four UTC days.
const OLD: u64 = 400;
/// Records of "now", too young to seal.
const YOUNG: u64 = 20;

pub async fn sealed_records_read_back_identical_and_once(storage: Storage) {
    let clock = ManualClock::new(T0 + 3 * Day::MS);
    let storage = storage.with_clock(clock.clone());
    let settings = TopicSettings {
        seal_after_ms: Some(Day::MS),
        ..TopicSettings::default()
    };
    let name = topic_with(&storage, "sealed", 1, settings).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for batch in 0..(OLD + YOUNG) / 10 {
        let records = (batch * 10..batch * 10 + 10).map(record).collect();
        writer.append(P, records).await.unwrap();
    }
    writer.close().await;
    let written = read_all(&storage, &name, P).await;
    assert_eq!(written.len() as u64, OLD + YOUNG);

    let report = seal(&storage, &name).await;
    assert_eq!(report.segments_sealed, OLD / 10, "{report:?}");
    assert!(
        report.cold_written >= 4,
        "one file per day at least: {report:?}"
    );
    assert_eq!(read_all(&storage, &name, P).await, written);
    let entries = segments(&storage, &name, P).await;
    let cold: Vec<_> = entries.iter().filter(|e| e.is_cold()).collect();
    assert_eq!(cold.len() as u64, report.cold_written);
    assert!(
        entries[..cold.len()].iter().all(|e| e.is_cold()),
        "a cold prefix"
    );
    assert_eq!(cold.last().unwrap().end_offset(), Offset(OLD));

    let files = files_cover_each_offset_once(&storage, &name, Offset(OLD)).await;
    by_offset_and_timestamp(&storage, &name, &written).await;
    a_cursor_opens_each_cold_file_once(&storage, &name).await;

    // Sealed files are final: a second run changes nothing; once the young records age, only
    // they are sealed, into new files.
    assert_eq!(seal(&storage, &name).await.segments_sealed, 0);
    clock.advance(2 * Day::MS);
    // (The first run merged the two young segments into one.)
    assert_eq!(seal(&storage, &name).await.segments_sealed, 1);
    let all = files_cover_each_offset_once(&storage, &name, Offset(OLD + YOUNG)).await;
    assert!(
        files.iter().all(|f| all.contains(f)),
        "a sealed file was rewritten"
    );
    assert_eq!(read_all(&storage, &name, P).await, written);

    // Retention buries the files wholly below the new log start; GC deletes them.
    trim(&storage, &name, P, Offset(150)).await.unwrap();
    let gc = GcOptions {
        scope: scope(&name),
        reader_grace_ms: 0,
        ..GcOptions::default()
    };
    let swept = run_gc(&storage, &gc).await.unwrap();
    assert!(swept.failed.is_empty() && swept.deleted > 0, "{swept:?}");
    assert_eq!(
        objects(&storage, &name).await,
        referenced(&storage, &name).await
    );
    let left = table_files(&storage, &name).await;
    assert!(
        left.iter().all(|(_, last)| *last >= Offset(150)),
        "{left:?}"
    );
    assert_eq!(read_all(&storage, &name, P).await, written[150..]);
}

/// A cursor reading cold files window by window opens each file once (docs/design.md §9): its
/// GETs are one opening (footer and page index) per file plus each window's pages, counted
/// against the same reads made with one `ColdReader` per file; opening the file for every
/// window would cost an opening more per window.
async fn a_cursor_opens_each_cold_file_once(storage: &Storage, name: &TopicName) {
    let counting = Arc::new(CountingStore::new(storage.objects.clone()));
    let gets = || counting.counts().get;
    let owner = (storage.topic(name).await.unwrap().topic_id, P);
    let cold: Vec<_> = segments(storage, name, P)
        .await
        .into_iter()
        .filter(|e| e.is_cold())
        .collect();
    let (mut once, mut per_window, mut windows) = (0, 0, 0);
    for e in &cold {
        let path = storage.keys.segment_object(name, P, e);
        let before = gets();
        let file = ColdReader::open(counting.clone(), &path, e.bytes, owner)
            .await
            .unwrap();
        let opening = gets() - before;
        once += opening;
        let mut at = e.base_offset;
        loop {
            let before = gets();
            let window = file.read_window(at).await.unwrap();
            let pages = gets() - before;
            (once, per_window, windows) = (once + pages, per_window + opening + pages, windows + 1);
            match window.end {
                Some(end) if end < e.end_offset() => at = end,
                _ => break,
            }
        }
    }
    let end = cold.last().unwrap().end_offset();
    let counted = storage.with_objects(counting.clone());
    let reader = Reader::open(counted, name).await.unwrap();
    let mut cursor = reader.cursor(P, StartFrom::Earliest).await.unwrap();
    let before = gets();
    while cursor.position() < end {
        assert!(!cursor.next_batch(1_000).await.unwrap().is_empty());
    }
    let cursor_gets = gets() - before;
    println!(
        "a cursor over {} cold files in {windows} windows: {cursor_gets} GETs (opening each \
         file once: {once}; once per window: {per_window})",
        cold.len()
    );
    assert_eq!(cursor_gets, once, "GETs of a cursor over the cold files");
}

/// Record `i`: old ones from T0 - 2 days, one a minute; young ones at the clock's now.
fn record(i: u64) -> Record {
    let timestamp_ms = match i < OLD {
        true => T0 - 2 * Day::MS + 10 * MINUTE * i as i64,
        false => T0 + 3 * Day::MS - 1000 + i as i64,
    };
    let mut r = super::compaction::record(i);
    r.timestamp_ms = timestamp_ms;
    r
}

/// One compaction run with small Parquet files; it must not fail.
async fn seal(storage: &Storage, name: &TopicName) -> CompactReport {
    let options = CompactOptions {
        scope: scope(name),
        cold_file_bytes: 64 * 1024,
        cold: ColdOptions {
            row_group_bytes: 16 * 1024,
            page_rows: 16,
        },
        ..CompactOptions::default()
    };
    let report = run_compaction(storage, &options).await.unwrap();
    assert!(report.failed.is_empty() && report.stale == 0, "{report:?}");
    report
}

/// The `(first, last)` offsets of every Parquet file under the topic's table folder, as
/// named, in offset order.
pub(super) async fn table_files(storage: &Storage, name: &TopicName) -> Vec<(Offset, Offset)> {
    let folder = storage.keys.topic_table(name);
    let listed: Vec<_> = storage
        .objects
        .list(Some(&folder))
        .try_collect()
        .await
        .unwrap();
    let mut out: Vec<(Offset, Offset)> = listed
        .iter()
        .map(|m| {
            let file = m.location.filename().unwrap();
            let mut parts = file.trim_end_matches(".parquet").split('-');
            let mut next = || Offset(parts.next().unwrap().parse().unwrap());
            (next(), next())
        })
        .collect();
    out.sort();
    out
}

/// Checks that the files cover `0..end` with no offset twice, that each file reads back the
/// records written, each under its own day; returns them.
async fn files_cover_each_offset_once(
    storage: &Storage,
    name: &TopicName,
    end: Offset,
) -> Vec<(Offset, Offset)> {
    let files = table_files(storage, name).await;
    let mut next = Offset(0);
    for (first, last) in &files {
        assert_eq!(*first, next, "a gap or an overlap at {first}: {files:?}");
        next = last.plus(1);
    }
    assert_eq!(next, end);
    let written = read_all(storage, name, P).await;
    for e in segments(storage, name, P)
        .await
        .iter()
        .filter(|e| e.is_cold())
    {
        let path = storage.keys.segment_object(name, P, e);
        let owner = (storage.topic(name).await.unwrap().topic_id, P);
        let mut got = Vec::new();
        let mut at = e.base_offset;
        loop {
            let window = read_window(storage.objects.clone(), &path, e.bytes, owner, at)
                .await
                .unwrap();
            got.extend(window.records);
            match window.end {
                Some(end) => at = end,
                None => break,
            }
        }
        let want: Vec<_> = written
            .iter()
            .filter(|(o, _)| *o >= e.base_offset && *o < e.end_offset())
            .cloned()
            .collect();
        assert_eq!(got, want, "file at {}", e.base_offset);
        let day = e.cold_day.unwrap();
        assert!(
            got.iter().all(|(_, r)| Day::of_ms(r.timestamp_ms) == day),
            "dt={day}"
        );
    }
    files
}

/// Reads one record from the middle of a cold file, and finds offsets by timestamp in cold
/// and in hot segments.
async fn by_offset_and_timestamp(
    storage: &Storage,
    name: &TopicName,
    written: &[(Offset, Record)],
) {
    let reader = Reader::open(storage.clone(), name).await.unwrap();
    let mut cursor = reader
        .cursor(P, StartFrom::Offset(Offset(201)))
        .await
        .unwrap();
    let one = cursor.next_batch(1).await.unwrap();
    assert_eq!(
        (one[0].offset, &one[0].record),
        (written[201].0, &written[201].1)
    );
    for at in [0, 123, 250, OLD as usize - 1, OLD as usize + 5] {
        let ts = written[at].1.timestamp_ms;
        let cursor = reader.cursor(P, StartFrom::Timestamp(ts)).await.unwrap();
        assert_eq!(cursor.position(), written[at].0, "timestamp of record {at}");
    }
}
