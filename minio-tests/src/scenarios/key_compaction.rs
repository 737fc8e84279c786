//! Key compaction (`cleanup_policy = compact`), with an injected clock: the newest record per
//! key survives at its offset, superseded records and expired tombstones go, keyless records
//! and everything younger than the compaction lag stay, readers skip the gaps (also when
//! asked for a removed offset), and GC then deletes what was rewritten. A log larger than one
//! run's budget is compacted a window a run, each run continuing where the last stopped.

use std::collections::HashMap;

use bytes::Bytes;
use silt_control::{CompactOptions, GcOptions, run_compaction, run_gc};
use silt_core::clock::{Clock, SystemClock};
use silt_core::ids::{Offset, PartitionId};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::testing::ManualClock;
use silt_core::topic::{CleanupPolicy, TopicSettings};
use silt_reader::{Reader, StartFrom};
use silt_writer::Writer;

use super::compaction::compact;
use super::gc::{objects, referenced};
use super::{quick, read_all, scope, segments, topic_with};

const P: PartitionId = PartitionId(0);
const RECORDS: u64 = 300;
/// Records before this one are older than the compaction lag.
const OLD: u64 = 200;
const LAG_MS: i64 = 60_000;
const TOMBSTONE_MS: i64 = 10_000;

/// Record `i`: keyed `k<i % 20>` mostly, keyless every 50th, tombstones at 150..160 (keys a
/// later record reuses) and for keys never written again at 190..195 and 250.
fn record(i: u64, now_ms: i64) -> Record {
    let key = match i {
        _ if i.is_multiple_of(50) => None,
        190..195 | 250 => Some(format!("gone-{i}")),
        _ => Some(format!("k{}", i % 20)),
    };
    let tombstone = (150..160).contains(&i) || (190..195).contains(&i) || i == 250;
    let age = if i < OLD { 2 * LAG_MS } else { 0 };
    Record {
        key: key.map(Bytes::from),
        value: (!tombstone).then(|| Bytes::from(format!("v{i}"))),
        timestamp_ms: now_ms - age,
        headers: Vec::new(),
    }
}

/// What must survive: everything young, keyless records, and among the old ones the newest
/// per key unless it is a tombstone older than the delete retention with no older record of
/// its key (which it would have to hide).
fn survivors(written: &[(Offset, Record)]) -> Vec<(Offset, Record)> {
    let old = &written[..OLD as usize];
    let mut newest: HashMap<&Bytes, (Offset, usize)> = HashMap::new();
    for (o, r) in old {
        if let Some(k) = &r.key {
            let n = newest.entry(k).or_insert((*o, 0));
            *n = (*o, n.1 + 1);
        }
    }
    let kept = |(o, r): &&(Offset, Record)| match &r.key {
        None => true,
        _ if o.0 >= OLD => true,
        Some(k) => newest[k].0 == *o && (r.value.is_some() || newest[k].1 > 1),
    };
    written.iter().filter(kept).cloned().collect()
}

pub async fn key_compaction_keeps_the_newest_per_key(storage: Storage) {
    let now = SystemClock.now_ms();
    let storage = storage.with_clock(ManualClock::new(now));
    let settings = TopicSettings {
        cleanup_policy: CleanupPolicy::Compact,
        min_compaction_lag_ms: Some(LAG_MS),
        delete_retention_ms: Some(TOMBSTONE_MS),
        ..TopicSettings::default()
    };
    let name = topic_with(&storage, "kc", 1, settings).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for i in 0..RECORDS {
        writer.append(P, vec![record(i, now)]).await.unwrap();
    }
    writer.close().await;
    let written = read_all(&storage, &name, P).await;
    assert_eq!(written.len() as u64, RECORDS);
    let expected = survivors(&written);

    let dry = compact(&storage, &name, true).await;
    assert_eq!(
        read_all(&storage, &name, P).await,
        written,
        "a dry run changes nothing"
    );
    let report = compact(&storage, &name, false).await;
    println!(
        "key compaction: {} of {RECORDS} records kept; {report:?}",
        expected.len()
    );
    assert_eq!(report.records_removed, dry.records_removed);
    assert_eq!(
        report.records_removed as usize,
        written.len() - expected.len()
    );
    assert_eq!(read_all(&storage, &name, P).await, expected);
    assert!(segments(&storage, &name, P).await.len() * 10 <= RECORDS as usize);

    // A read from a removed offset starts at the next record kept.
    let removed = written.iter().find(|w| !expected.contains(w)).unwrap().0;
    let reader = Reader::open(storage.clone(), &name).await.unwrap();
    let mut cursor = reader.cursor(P, StartFrom::Offset(removed)).await.unwrap();
    let first = cursor.next_batch(1).await.unwrap();
    let next_kept = expected.iter().find(|(o, _)| *o > removed).unwrap();
    assert_eq!(
        (first[0].offset, &first[0].record),
        (next_kept.0, &next_kept.1)
    );

    let again = compact(&storage, &name, false).await;
    assert_eq!(again.records_removed, 0, "{again:?}");
    let gc = GcOptions {
        scope: scope(&name),
        reader_grace_ms: 0,
        ..GcOptions::default()
    };
    assert!(run_gc(&storage, &gc).await.unwrap().failed.is_empty());
    assert_eq!(
        objects(&storage, &name).await,
        referenced(&storage, &name).await
    );
    assert_eq!(read_all(&storage, &name, P).await, expected);
}

/// Sixty one-record segments: twenty distinct keys, then ten keys written four times each. A
/// run may read only twenty segments, so a run that always started at the log start would
/// never see a key twice; each run continuing from the last one's checkpoint removes them.
pub async fn key_compaction_continues_past_its_budget(storage: Storage) {
    let now = SystemClock.now_ms();
    let storage = storage.with_clock(ManualClock::new(now));
    let settings = TopicSettings {
        cleanup_policy: CleanupPolicy::Compact,
        ..TopicSettings::default()
    };
    let name = topic_with(&storage, "kc-window", 1, settings).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for i in 0..60u64 {
        let key = match i {
            0..20 => format!("u{i:02}"),
            _ => format!("k{:02}", i % 10),
        };
        let record = Record {
            key: Some(Bytes::from(key)),
            value: Some(Bytes::from(format!("v{i:02}"))),
            timestamp_ms: now - 1_000,
            headers: Vec::new(),
        };
        writer.append(P, vec![record]).await.unwrap();
    }
    writer.close().await;
    let written = read_all(&storage, &name, P).await;
    let expected: Vec<_> = written
        .iter()
        .filter(|(o, _)| o.0 < 20 || o.0 >= 50)
        .cloned()
        .collect();
    let first_twenty: u64 = segments(&storage, &name, P).await[..20]
        .iter()
        .map(|e| e.bytes)
        .sum();
    let options = CompactOptions {
        scope: scope(&name),
        max_bytes_read: first_twenty,
        ..CompactOptions::default()
    };
    let mut removed = Vec::new();
    for _ in 0..8 {
        let report = run_compaction(&storage, &options).await.unwrap();
        assert!(report.failed.is_empty() && report.stale == 0, "{report:?}");
        removed.push(report.records_removed);
        if read_all(&storage, &name, P).await == expected {
            break;
        }
    }
    assert_eq!(
        removed[0], 0,
        "the first window holds distinct keys: {removed:?}"
    );
    assert!(
        removed[1] > 0,
        "the second run went on past the first: {removed:?}"
    );
    assert_eq!(read_all(&storage, &name, P).await, expected, "{removed:?}");
}
