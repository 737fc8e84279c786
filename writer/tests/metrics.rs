//! The writer's metrics move by exactly what a known workload did: records and bytes appended
//! per topic, segments written and their sizes, acknowledgement and commit latencies, the
//! in-flight budget, and the store requests (and errors) under it. Each test records into its
//! own `DebuggingRecorder` on the test's single thread (tokio's default test runtime).

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::collections::BTreeMap;
use std::sync::Arc;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use object_store::memory::InMemory;
use object_store::path::Path;
use silt_core::error::ErrorKind;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::metrics::*;
use silt_core::record::Record;
use silt_core::store::{MeteredStore, Storage};
use silt_core::testing::{Call, Fault, FlakyStore, ManualClock, Rule, SlowCommits};
use silt_writer::{Writer, WriterSettings};

/// Every metric recorded since the last snapshot, as `name{label=value,...}`: counters and
/// gauges by value, histograms by their samples.
fn recorded(snapshotter: &Snapshotter) -> BTreeMap<String, DebugValue> {
    let mut found = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        found.insert(format!("{}{{{}}}", key.name(), labels.join(",")), value);
    }
    found
}

fn counter(found: &BTreeMap<String, DebugValue>, name: &str, labels: &str) -> u64 {
    match found.get(&format!("{name}{{{labels}}}")) {
        Some(DebugValue::Counter(n)) => *n,
        None => 0,
        Some(other) => panic!("{name} is not a counter: {other:?}"),
    }
}

fn samples(found: &BTreeMap<String, DebugValue>, name: &str) -> Vec<f64> {
    match found.get(&format!("{name}{{}}")) {
        Some(DebugValue::Histogram(values)) => values.iter().map(|v| v.0).collect(),
        None => Vec::new(),
        Some(other) => panic!("{name} is not a histogram: {other:?}"),
    }
}

fn gauge(found: &BTreeMap<String, DebugValue>, name: &str) -> f64 {
    match found.get(&format!("{name}{{}}")) {
        Some(DebugValue::Gauge(v)) => v.0,
        None => 0.0,
        Some(other) => panic!("{name} is not a gauge: {other:?}"),
    }
}

/// A metered in-memory store over `flaky`, with topic `name` of one partition.
async fn metered_topic(flaky: Arc<FlakyStore>, name: &str) -> (Storage, TopicName) {
    let metered = Arc::new(MeteredStore::new(flaky));
    let storage = Storage::over(metered, Path::default(), "memory://")
        .with_clock(ManualClock::new(1_700_000_000_000));
    let topic = TopicName::new(name).unwrap();
    storage
        .create_topic(&topic, 1, Default::default())
        .await
        .unwrap();
    (storage, topic)
}

fn kib_records(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| Record::from_value(vec![i as u8; 1024], 0))
        .collect()
}

fn settings() -> WriterSettings {
    WriterSettings {
        linger_ms: 0,
        ..WriterSettings::default()
    }
}

#[tokio::test]
async fn a_known_workload_moves_each_metric_by_exactly_its_size() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let flaky = FlakyStore::new(Arc::new(InMemory::new()), 1);
    let (storage, topic) = metered_topic(flaky, "measured").await;
    let writer = Writer::open(storage, &topic, settings()).await.unwrap();
    recorded(&snapshotter); // from here on, only the appends

    for _ in 0..2 {
        writer
            .append(PartitionId(0), kib_records(50))
            .await
            .unwrap();
    }
    writer.close().await;

    let found = recorded(&snapshotter);
    let by_topic = "topic=measured";
    assert_eq!(counter(&found, RECORDS_APPENDED, by_topic), 100);
    assert_eq!(counter(&found, BYTES_APPENDED, by_topic), 100 * 1024);
    assert_eq!(counter(&found, SEGMENTS_WRITTEN, by_topic), 2);
    let sizes = samples(&found, SEGMENT_BYTES);
    assert_eq!(sizes.len(), 2, "{sizes:?}");
    assert!(sizes.iter().all(|&s| s > 0.0), "{sizes:?}");
    assert_eq!(samples(&found, ACK_SECONDS).len(), 2, "one per send");
    assert_eq!(samples(&found, COMMIT_SECONDS).len(), 2, "one per commit");
    assert_eq!(counter(&found, COMMITS, "result=ok"), 2);
    assert_eq!(gauge(&found, INFLIGHT_BYTES), 0.0, "all given back");
    // Two segment uploads, two manifest commits (If-Match), and no failed request.
    assert_eq!(counter(&found, STORE_REQUESTS, "op=put"), 2);
    assert_eq!(counter(&found, STORE_REQUESTS, "op=conditional_put"), 2);
    let errors: Vec<_> = found
        .iter()
        .filter(|(k, v)| k.starts_with(STORE_ERRORS) && **v != DebugValue::Counter(0))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[tokio::test]
async fn the_inflight_gauge_holds_unanswered_bytes_until_the_ack() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let flaky = FlakyStore::new(Arc::new(InMemory::new()), 1);
    let (storage, topic) = metered_topic(flaky, "held").await;
    let slow = Arc::new(SlowCommits::new(storage.manifests.clone()));
    let storage = Storage {
        manifests: slow.clone(),
        ..storage
    };
    let writer = Writer::open(storage, &topic, settings()).await.unwrap();
    recorded(&snapshotter);

    slow.hold();
    let ack = writer
        .send_batch(PartitionId(0), kib_records(10), None)
        .await
        .unwrap();
    slow.until_waiting(1).await;
    // A snapshot resets what it read: the gauge then moves from 0.
    assert_eq!(
        gauge(&recorded(&snapshotter), INFLIGHT_BYTES),
        10.0 * 1024.0
    );
    slow.release();
    ack.await.unwrap();
    let found = recorded(&snapshotter);
    assert_eq!(gauge(&found, INFLIGHT_BYTES), -10.0 * 1024.0, "given back");
    assert_eq!(counter(&found, RECORDS_APPENDED, "topic=held"), 10);
    writer.close().await;
}

#[tokio::test]
async fn a_failed_upload_counts_a_store_error_and_appends_nothing() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let flaky = FlakyStore::new(Arc::new(InMemory::new()), 1);
    let (storage, topic) = metered_topic(flaky.clone(), "failing").await;
    let writer = Writer::open(storage, &topic, settings()).await.unwrap();
    recorded(&snapshotter);

    flaky.set_rules(vec![Rule::new(Call::PutOverwrite, Fault::ErrorBefore, 1.0)]);
    let failed = writer.append(PartitionId(0), kib_records(5)).await;
    let error = failed.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Retryable, "{error}");
    writer.close().await;

    let found = recorded(&snapshotter);
    assert_eq!(counter(&found, STORE_ERRORS, "op=put,kind=retryable"), 1);
    assert_eq!(counter(&found, STORE_REQUESTS, "op=put"), 1);
    assert_eq!(counter(&found, RECORDS_APPENDED, "topic=failing"), 0);
    assert_eq!(counter(&found, SEGMENTS_WRITTEN, "topic=failing"), 0);
    assert!(samples(&found, ACK_SECONDS).is_empty(), "no ack");
    assert_eq!(
        gauge(&found, INFLIGHT_BYTES),
        0.0,
        "given back on failure too"
    );
}
