//! Every job at once, twice each, next to a writer and a following reader: compaction (key
//! compaction too, on a compacted topic; sealing everything as Parquet, on the others) and GC (with no reader grace and no orphan grace, the
//! harshest setting) and trims, looping while the writer appends one record per commit. Nothing acknowledged above the log start may be
//! lost, moved or duplicated, nothing the manifest references may be deleted, and the reader
//! may fail only with `OffsetOutOfRange` below the log start. No offset may be in two Parquet
//! files under `tables/`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use silt_control::{CompactOptions, GcOptions, run_compaction, run_gc, trim};
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::testing::FlakyStore;
use silt_core::topic::{CleanupPolicy, TopicSettings};
use silt_reader::{ReadError, Reader, StartFrom};
use silt_writer::Writer;

use super::faults::{dynamo_write_path_faults, write_path_faults};
use super::gc::{objects, referenced};
use super::sealing::table_files;
use super::{manifest, quick, read_all, topic_with, with_dynamo_faults};
use crate::checker::{History, assert_fault_error, assert_fault_failure, check};

const P: PartitionId = PartitionId(0);
const RECORDS: u64 = 400;
/// How many of the newest offsets the trims keep.
const KEEP: u64 = 150;

/// The race on a healthy store.
pub async fn jobs_next_to_a_writer_and_reader_lose_nothing(storage: Storage) {
    jobs_race(storage, false, CleanupPolicy::Delete).await;
}

/// The race with faults injected into every write-path call of the writer and the jobs.
pub async fn jobs_under_faults_lose_nothing(storage: Storage) {
    jobs_race(storage, true, CleanupPolicy::Delete).await;
}

/// The race on a key-compacted topic whose records cycle through 13 keys: the newest
/// acknowledged record of each key must survive at its offset, whatever else goes.
pub async fn key_compaction_next_to_a_writer_keeps_the_newest_per_key(storage: Storage) {
    jobs_race(storage, false, CleanupPolicy::Compact).await;
}

/// The key of the record whose value is `w-<seq>`.
fn key_of(value: &Bytes) -> Bytes {
    let seq: u64 = std::str::from_utf8(&value[2..]).unwrap().parse().unwrap();
    Bytes::from(format!("k{}", seq % 13))
}

async fn jobs_race(storage: Storage, faults: bool, policy: CleanupPolicy) {
    let settings = TopicSettings {
        cleanup_policy: policy,
        seal_after_ms: (policy == CleanupPolicy::Delete).then_some(0),
        ..TopicSettings::default()
    };
    let name = topic_with(&storage, "jobs-race", 1, settings).await;
    let (faulty, injected) = match faults {
        true => {
            let flaky = FlakyStore::new(storage.objects.clone(), 17);
            flaky.set_rules(write_path_faults());
            let with_flaky = storage.with_objects(flaky.clone());
            let (faulty, dynamo) = with_dynamo_faults(&with_flaky, dynamo_write_path_faults(), 17);
            let injected = move || flaky.injected() + dynamo.as_ref().map_or(0, |d| d.injected());
            (faulty, Some(injected))
        }
        false => (storage.clone(), None),
    };
    let writer = Writer::open(faulty.clone(), &name, quick()).await.unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let jobs = tokio::spawn(run_jobs_until(faulty.clone(), name.clone(), done.clone()));
    let follower = tokio::spawn(follow(storage.clone(), name.clone(), done.clone()));
    let mut history = History::default();
    for seq in 0..RECORDS {
        let value = Bytes::from(format!("w-{seq}"));
        let record = Record {
            key: Some(key_of(&value)),
            ..Record::from_value(value.clone(), 0)
        };
        let ack = writer.append(P, vec![record]).await;
        history.answer("w", seq, value, &ack);
    }
    writer.close().await;
    done.store(true, Ordering::SeqCst);
    let (runs, failed) = jobs.await.unwrap();
    let (read, out_of_range) = follower.await.unwrap();
    let injected = injected.map_or(0, |f| f());
    assert_eq!(injected > 0, faults, "{injected} faults injected");
    // A last clean pass, then the whole log against what the writer was told.
    let gc = GcOptions {
        reader_grace_ms: 0,
        orphan_grace_ms: 0,
        ..GcOptions::default()
    };
    let compacted = run_compaction(&storage, &CompactOptions::default())
        .await
        .unwrap();
    assert!(compacted.failed.is_empty(), "{compacted:?}");
    let swept = run_gc(&storage, &gc).await.unwrap();
    assert!(swept.failed.is_empty(), "{swept:?}");
    let start = manifest(&storage, &name, P).await.log_start_offset;
    println!(
        "jobs race: {injected} faults injected; {runs} job runs, {failed} with failures; {} of {RECORDS} acknowledged; follower read {read}, {out_of_range} times below the start; log start {start}",
        history.acked()
    );
    assert!(runs >= 8, "the jobs hardly ran: {runs}");
    // Two copies of each job racing must not fail each other: only injected faults may.
    assert!(
        faults || failed == 0,
        "{failed} job runs failed without faults"
    );
    history.trimmed(P, start);
    if policy == CleanupPolicy::Compact {
        history.keep_newest_per_key(key_of);
        // The last, quiet pass saw every record (all stamped 0, no lag): one per key is left.
        let left = read_all(&storage, &name, P).await.len();
        assert!(left <= 13, "{left} records left of 13 keys");
    }
    check(&storage, &name, &history).await.assert_clean();
    assert_eq!(
        objects(&storage, &name).await,
        referenced(&storage, &name).await
    );
    let files = table_files(&storage, &name).await;
    let overlap = files.windows(2).find(|w| w[1].0 <= w[0].1);
    assert!(
        overlap.is_none(),
        "an offset in two Parquet files: {overlap:?}"
    );
    println!("jobs race: {} Parquet files", files.len());
}

/// Two compactions, two GCs and a trim at once, again and again, until `done`; returns the
/// runs made and how many reported a failure (a fault; the next run retries).
async fn run_jobs_until(storage: Storage, name: TopicName, done: Arc<AtomicBool>) -> (u64, u64) {
    let compact = CompactOptions {
        target_bytes: 4 * 1024,
        ..CompactOptions::default()
    };
    let gc = GcOptions {
        reader_grace_ms: 0,
        orphan_grace_ms: 0,
        ..GcOptions::default()
    };
    let (mut runs, mut failed) = (0, 0);
    while !done.load(Ordering::SeqCst) {
        // The store injects faults: a failed read just skips this round's trim.
        let read = storage.manifests.read(&name, P).await;
        if let Err(e) = &read {
            assert_fault_error("reading the manifest", e.kind(), e);
        }
        let next = read
            .ok()
            .flatten()
            .map_or(Offset(0), |s| s.manifest.next_offset);
        let before = Offset(next.0.saturating_sub(KEEP));
        let (c1, c2, g1, g2, t) = tokio::join!(
            run_compaction(&storage, &compact),
            run_compaction(&storage, &compact),
            run_gc(&storage, &gc),
            run_gc(&storage, &gc),
            trim(&storage, &name, P, before),
        );
        let compactions = [c1.map(|r| r.failed), c2.map(|r| r.failed)];
        let gcs = [g1.map(|r| r.failed), g2.map(|r| r.failed)];
        let trimmed = [t.map(|_| Vec::new())];
        for outcome in compactions.into_iter().chain(gcs).chain(trimmed) {
            runs += 1;
            let why = match outcome {
                Ok(failed) => {
                    for f in &failed {
                        assert_fault_failure("a job's partition", f);
                    }
                    failed.first().cloned()
                }
                Err(e) => {
                    assert_fault_error("a job", e.kind(), &e);
                    Some(e.to_string())
                }
            };
            if let Some(why) = why {
                failed += 1;
                if failed <= 3 {
                    println!("jobs race: a job failed (it is run again): {why}");
                }
            }
        }
        silt_core::clock::sleep(Duration::from_millis(5)).await;
    }
    (runs, failed)
}

/// Follows the partition from the start until `done` and caught up; below the log start it
/// starts again from the earliest offset. Returns the records read and the restarts.
async fn follow(storage: Storage, name: TopicName, done: Arc<AtomicBool>) -> (u64, u64) {
    let reader = Reader::open(storage, &name).await.unwrap();
    let mut cursor = reader.cursor(P, StartFrom::Earliest).await.unwrap();
    let (mut read, mut restarts) = (0, 0);
    let mut last: Option<Offset> = None;
    loop {
        match cursor.next_batch(100).await {
            Ok(batch) if batch.is_empty() => {
                if done.load(Ordering::SeqCst)
                    && !cursor.wait_for_more(Duration::ZERO).await.unwrap()
                {
                    return (read, restarts);
                }
                silt_core::clock::sleep(Duration::from_millis(2)).await;
            }
            Ok(batch) => {
                for c in batch {
                    assert!(
                        last.is_none_or(|l| c.offset > l),
                        "offset {} after {last:?}",
                        c.offset
                    );
                    last = Some(c.offset);
                    read += 1;
                }
            }
            Err(ReadError::OffsetOutOfRange { .. }) => {
                restarts += 1;
                cursor = reader.cursor(P, StartFrom::Earliest).await.unwrap();
            }
            Err(e) => panic!("the follower failed: {e}"),
        }
    }
}
