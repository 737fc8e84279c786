//! Compaction: a log written with tiny batches shrinks at least tenfold in segments while
//! every record (offset, key, value, timestamp, headers) reads back identical, before and after
//! GC deletes the replaced objects; a dry run changes nothing and repeated runs settle.

use bytes::Bytes;
use silt_control::{CompactOptions, CompactReport, GcOptions, run_compaction, run_gc};
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::record::{Header, Record};
use silt_core::store::Storage;
use silt_writer::Writer;

use super::gc::{objects, referenced};
use super::{quick, read_all, scope, segments, topic};

const P: PartitionId = PartitionId(0);
const RECORDS: u64 = 600;

/// 600 one-record commits, compacted to segments of up to 64 KiB.
pub async fn compaction_merges_tiny_segments_tenfold(storage: Storage) {
    let name = topic(&storage, "compact", 1).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for i in 0..RECORDS {
        writer.append(P, vec![record(i)]).await.unwrap();
    }
    writer.close().await;
    let written = read_all(&storage, &name, P).await;
    assert_eq!(
        written,
        (0..RECORDS)
            .map(|i| (Offset(i), record(i)))
            .collect::<Vec<_>>()
    );
    let before = segments(&storage, &name, P).await.len();
    assert_eq!(before, RECORDS as usize);

    let dry = compact(&storage, &name, true).await;
    assert_eq!(segments(&storage, &name, P).await.len(), before);
    let report = compact(&storage, &name, false).await;
    assert_eq!(
        report.segments_merged, dry.segments_merged,
        "{report:?} vs dry run {dry:?}"
    );
    let after = segments(&storage, &name, P).await.len();
    println!("compaction: {before} segments -> {after}; {report:?}");
    assert!(after * 10 <= before, "{before} segments -> {after}");
    assert_eq!(read_all(&storage, &name, P).await, written);

    // A run merges a bounded unit at a time (on DynamoDB, 48 segment items), so a second run
    // may merge the merged segments once more; then it settles.
    let mut runs = 1;
    while compact(&storage, &name, false).await.segments_merged > 0 {
        runs += 1;
        assert!(runs <= 3, "compaction keeps rewriting the same log");
    }
    assert_eq!(read_all(&storage, &name, P).await, written);
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
    assert_eq!(read_all(&storage, &name, P).await, written);
}

/// Record `i`: keyed, stamped and with a header, so any change shows.
pub(super) fn record(i: u64) -> Record {
    Record {
        key: (!i.is_multiple_of(3)).then(|| Bytes::from(format!("key-{}", i % 17))),
        value: (!i.is_multiple_of(5)).then(|| Bytes::from(format!("value-{i}"))),
        timestamp_ms: 1_700_000_000_000 + (i as i64 * 7919) % 10_000,
        headers: vec![Header {
            key: format!("h{}", i % 2),
            value: Bytes::from(i.to_string()),
        }],
    }
}

/// One compaction run of `name` into segments of up to 64 KiB; it must not fail.
pub(super) async fn compact(storage: &Storage, name: &TopicName, dry_run: bool) -> CompactReport {
    let options = CompactOptions {
        scope: scope(name),
        dry_run,
        target_bytes: 64 * 1024,
        ..CompactOptions::default()
    };
    let report = run_compaction(storage, &options).await.unwrap();
    assert!(report.failed.is_empty() && report.stale == 0, "{report:?}");
    report
}
