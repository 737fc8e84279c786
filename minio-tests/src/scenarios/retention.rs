//! Retention by time and size, with an injected clock: what expires, what a dry run shows,
//! the partition budget, settings altered concurrently, and retention running twice at once
//! next to a writer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use silt_control::{RetentionOptions, RetentionReport, Scope, run_retention};
use silt_core::clock::Clock;
use silt_core::error::{Error, InvalidInput};
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::testing::{FlakyStore, ManualClock};
use silt_core::topic::TopicSettings;
use silt_writer::Writer;

use super::faults::{dynamo_write_path_faults, write_path_faults};
use super::{manifest, quick, segments, topic_with, with_dynamo_faults};
use crate::checker::{History, assert_fault_error, assert_fault_failure, check};

const NOW_MS: i64 = 1_000_000;

/// Ten batches of ten records; batch `b` has timestamp `NOW_MS - 100 000 + b * 10 000`.
async fn fill(storage: &Storage, name: &TopicName) {
    let writer = Writer::open(storage.clone(), name, quick()).await.unwrap();
    for b in 0..10i64 {
        let ts = NOW_MS - 100_000 + b * 10_000;
        let records = (0..10).map(|i| Record::from_value(Bytes::from(format!("{b}-{i}")), ts));
        writer
            .append(PartitionId(0), records.collect())
            .await
            .unwrap();
    }
}

async fn run(storage: &Storage, topics: &[&TopicName], dry_run: bool) -> RetentionReport {
    let options = RetentionOptions {
        scope: Scope {
            topics: topics.iter().map(|t| (*t).clone()).collect(),
            ..Scope::default()
        },
        dry_run,
    };
    run_retention(storage, &options).await.unwrap()
}

async fn log_start(storage: &Storage, name: &TopicName) -> Offset {
    manifest(storage, name, PartitionId(0))
        .await
        .log_start_offset
}

/// Segments whose newest record is older than `retention_ms` go, up to the first that is not;
/// a partition keeps the fewest segments that still hold `retention_bytes`.
pub async fn retention_expires_by_time_and_size(storage: Storage) {
    let clock = ManualClock::new(NOW_MS);
    let storage = storage.with_clock(clock.clone());
    let by_time = TopicSettings {
        retention_ms: Some(60_000),
        ..TopicSettings::default()
    };
    let timed = topic_with(&storage, "ret-time", 1, by_time).await;
    let forever = topic_with(&storage, "ret-none", 1, TopicSettings::default()).await;
    fill(&storage, &timed).await;
    fill(&storage, &forever).await;

    let preview = run(&storage, &[], true).await;
    assert_eq!(
        preview.coverage.partitions_visited, 1,
        "only topics with retention"
    );
    assert_eq!(preview.expired.len(), 1);
    assert_eq!(
        (preview.expired[0].trim.to, preview.expired[0].segments),
        (Offset(40), 4)
    );
    assert_eq!(
        log_start(&storage, &timed).await,
        Offset(0),
        "a dry run changes nothing"
    );

    let done = run(&storage, &[], false).await;
    assert_eq!(done.expired, preview.expired);
    assert_eq!(log_start(&storage, &timed).await, Offset(40));
    assert!(
        run(&storage, &[], false).await.expired.is_empty(),
        "nothing more is due"
    );
    clock.advance(30_000);
    run(&storage, &[], false).await;
    assert_eq!(log_start(&storage, &timed).await, Offset(70));
    assert_eq!(log_start(&storage, &forever).await, Offset(0));
    alter_settings(&storage, &forever).await;
    run(&storage, &[], false).await;
    assert_eq!(
        log_start(&storage, &forever).await,
        Offset(70),
        "altered retention applies"
    );

    // Size: keep at least the last three segments' bytes, and no segment more.
    let all = segments(&storage, &forever, PartitionId(0)).await;
    let keep: u64 = all[7..].iter().map(|s| s.bytes).sum();
    let by_size = TopicSettings {
        retention_bytes: Some(keep),
        ..TopicSettings::default()
    };
    let sized = topic_with(&storage, "ret-size", 1, by_size).await;
    fill(&storage, &sized).await;
    let budgeted = RetentionOptions {
        scope: Scope {
            topics: vec![sized.clone(), timed.clone()],
            max_partitions: 1,
            ..Scope::default()
        },
        dry_run: false,
    };
    let first = run_retention(&storage, &budgeted).await.unwrap();
    let coverage = first.coverage;
    assert_eq!(
        (coverage.partitions_visited, coverage.partitions_left),
        (1, 1)
    );
    run(&storage, &[&sized], false).await;
    let start = log_start(&storage, &sized).await;
    let kept: Vec<_> = segments(&storage, &sized, PartitionId(0))
        .await
        .into_iter()
        .filter(|s| s.base_offset >= start)
        .collect();
    let left: u64 = kept.iter().map(|s| s.bytes).sum();
    assert!(left >= keep, "kept {left} bytes, fewer than {keep}");
    assert!(
        left - kept[0].bytes < keep,
        "kept a segment more than {keep} bytes need"
    );
}

/// A log longer than a page of segment entries expires whole in one run.
pub async fn retention_walks_a_long_log_page_by_page(storage: Storage) {
    let storage = storage.with_clock(ManualClock::new(NOW_MS));
    let by_time = TopicSettings {
        retention_ms: Some(60_000),
        ..TopicSettings::default()
    };
    let name = topic_with(&storage, "ret-long", 1, by_time).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for i in 0..300u64 {
        let record = Record::from_value(Bytes::from(format!("{i}")), NOW_MS - 100_000);
        writer.append(PartitionId(0), vec![record]).await.unwrap();
    }
    let report = run(&storage, &[], false).await;
    assert_eq!(report.expired.len(), 1, "{report:?}");
    assert_eq!(report.expired[0].segments, 300);
    assert_eq!(log_start(&storage, &name).await, Offset(300));
}

/// Two alters at once both land (each conditional on what it read); bad values are refused.
async fn alter_settings(storage: &Storage, name: &TopicName) {
    let (by_time, by_size) = tokio::join!(
        storage.alter_topic(name, |s| TopicSettings {
            retention_ms: Some(60_000),
            ..s.clone()
        }),
        storage.alter_topic(name, |s| TopicSettings {
            retention_bytes: Some(u64::MAX),
            ..s.clone()
        }),
    );
    by_time.unwrap();
    by_size.unwrap();
    let settings = storage.topic(name).await.unwrap().settings;
    assert_eq!(
        (settings.retention_ms, settings.retention_bytes),
        (Some(60_000), Some(u64::MAX))
    );
    let zero = storage
        .alter_topic(name, |s| TopicSettings {
            retention_ms: Some(0),
            ..s.clone()
        })
        .await;
    assert!(
        matches!(
            zero,
            Err(Error::Invalid(InvalidInput::Setting {
                field: "retention_ms",
                ..
            }))
        ),
        "{zero:?}"
    );
    assert_eq!(storage.topic(name).await.unwrap().settings, settings);
}

/// A writer appending records stamped with the clock while time moves and two retention runs
/// race each other: no acknowledged record inside the retention time is lost, and every one
/// above the final log start reads back where it was acknowledged.
pub async fn retention_next_to_a_writer_loses_nothing_inside_retention(storage: Storage) {
    retention_race(storage, false).await;
}

/// The same race with faults injected into every write-path call of the writer and of the
/// jobs (object store and DynamoDB): a job that fails is simply run again.
pub async fn retention_under_faults_loses_nothing_inside_retention(storage: Storage) {
    retention_race(storage, true).await;
}

/// Retention time of the race scenarios, in the injected clock's milliseconds.
const RACE_RETENTION_MS: i64 = 50;

async fn retention_race(storage: Storage, faults: bool) {
    let clock = ManualClock::new(NOW_MS);
    let storage = storage.with_clock(clock.clone());
    let settings = TopicSettings {
        retention_ms: Some(RACE_RETENTION_MS),
        ..TopicSettings::default()
    };
    let name = topic_with(&storage, "ret-race", 1, settings).await;
    let (faulty, flaky, dynamo) = match faults {
        true => {
            let flaky = FlakyStore::new(storage.objects.clone(), 11);
            flaky.set_rules(write_path_faults());
            let with_flaky = storage.with_objects(flaky.clone());
            let (faulty, dynamo) = with_dynamo_faults(&with_flaky, dynamo_write_path_faults(), 11);
            (faulty, Some(flaky), dynamo)
        }
        false => (storage.clone(), None, None),
    };
    let writer = Writer::open(faulty.clone(), &name, quick()).await.unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let jobs = tokio::spawn(run_jobs_until(faulty.clone(), clock.clone(), done.clone()));
    let mut history = History::default();
    let mut stamped = Vec::new();
    for seq in 0..200u64 {
        let ts = clock.now_ms();
        let value = Bytes::from(format!("w-{seq}"));
        let record = Record::from_value(value.clone(), ts);
        let ack = writer.append(PartitionId(0), vec![record]).await;
        if let Ok(ack) = &ack {
            stamped.push((ack.base_offset, ts));
        }
        history.answer("w", seq, value, &ack);
    }
    done.store(true, Ordering::SeqCst);
    let (ran, failed, trims) = jobs.await.unwrap();
    assert!(
        ran >= 4,
        "retention hardly ran ({ran} runs, {failed} failed)"
    );
    let injected = flaky.map_or(0, |f| f.injected()) + dynamo.map_or(0, |d| d.injected());
    assert_eq!(injected > 0, faults, "{injected} faults injected");
    run(&storage, &[], false).await;
    let start = log_start(&storage, &name).await;
    assert!(start > Offset(0), "nothing expired");
    // Every trim, when it ran, left every record inside retention at or above its start.
    let last = (clock.now_ms() - RACE_RETENTION_MS, start);
    for (cutoff, to) in trims.into_iter().chain([last]) {
        for (offset, ts) in &stamped {
            assert!(
                *ts < cutoff || *offset >= to,
                "record at {offset} (ts {ts}) inside retention (cutoff {cutoff}) fell below a trim to {to}"
            );
        }
    }
    println!(
        "retention race: {injected} faults injected; {ran} job runs, {failed} failed; {} of 200 acknowledged; log start {start}",
        history.acked()
    );
    history.trimmed(PartitionId(0), start);
    check(&storage, &name, &history).await.assert_clean();
}

/// Runs retention twice at once, again and again, moving the clock, until `done`; returns
/// the runs made, how many failed (wholly or on the partition), and each trim committed with
/// the retention cutoff it was decided at.
async fn run_jobs_until(
    storage: Storage,
    clock: Arc<ManualClock>,
    done: Arc<AtomicBool>,
) -> (usize, usize, Vec<(i64, Offset)>) {
    let (mut ran, mut failed, mut trims) = (0, 0, Vec::new());
    let options = RetentionOptions::default();
    while !done.load(Ordering::SeqCst) {
        clock.advance(5);
        let cutoff = clock.now_ms() - RACE_RETENTION_MS; // only this task moves the clock
        let (a, b) = tokio::join!(
            run_retention(&storage, &options),
            run_retention(&storage, &options)
        );
        for report in [a, b] {
            ran += 1;
            match report {
                Ok(r) => {
                    trims.extend(r.expired.iter().map(|e| (cutoff, e.trim.to)));
                    for f in &r.failed {
                        assert_fault_failure("retention of a partition", f);
                    }
                    failed += usize::from(!r.failed.is_empty());
                }
                Err(e) => {
                    assert_fault_error("retention", e.kind(), &e);
                    failed += 1;
                }
            }
        }
        silt_core::clock::sleep(Duration::from_millis(2)).await;
    }
    (ran, failed, trims)
}
