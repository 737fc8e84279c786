//! Key compaction (`cleanup_policy = compact`), with an injected clock: the newest record per
//! key survives at its offset, superseded records and expired tombstones go, keyless records
//! and everything younger than the compaction lag stay, readers skip the gaps (also when
//! asked for a removed offset), and GC then deletes what was rewritten.

use std::collections::HashMap;

use bytes::Bytes;
use silt_control::{GcOptions, run_gc};
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
