//! The reader's metrics move by exactly what a known workload read: records and bytes per
//! topic (a timestamp lookup's scan is not a read), GETs under it, and the long-polls open at
//! the tail. Each test records into its own `DebuggingRecorder` on the test's single thread
//! (tokio's default test runtime).

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use object_store::memory::InMemory;
use object_store::path::Path;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::metrics::*;
use silt_core::record::Record;
use silt_core::store::{MeteredStore, Storage};
use silt_core::testing::ManualClock;
use silt_reader::{Reader, StartFrom};
use silt_writer::{Writer, WriterSettings};

/// Every metric recorded since the last snapshot, as `name{label=value,...}`.
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

fn gauge(found: &BTreeMap<String, DebugValue>, name: &str) -> f64 {
    match found.get(&format!("{name}{{}}")) {
        Some(DebugValue::Gauge(v)) => v.0,
        None => 0.0,
        Some(other) => panic!("{name} is not a gauge: {other:?}"),
    }
}

/// A metered in-memory store with topic `name` (one partition) holding 100 records of 1 KiB,
/// timestamped 0..100, in two segments.
async fn written(name: &str) -> (Storage, TopicName) {
    let storage = Storage::over(
        Arc::new(MeteredStore::new(Arc::new(InMemory::new()))),
        Path::default(),
        "memory://",
    )
    .with_clock(ManualClock::new(1_700_000_000_000));
    let topic = TopicName::new(name).unwrap();
    storage
        .create_topic(&topic, 1, Default::default())
        .await
        .unwrap();
    let settings = WriterSettings {
        linger_ms: 0,
        ..WriterSettings::default()
    };
    let writer = Writer::open(storage.clone(), &topic, settings)
        .await
        .unwrap();
    for half in 0..2 {
        let records = (0..50)
            .map(|i| Record::from_value(vec![7u8; 1024], half * 50 + i))
            .collect();
        writer.append(PartitionId(0), records).await.unwrap();
    }
    writer.close().await;
    (storage, topic)
}

#[tokio::test]
async fn records_and_bytes_read_are_counted_per_topic() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let (storage, topic) = written("readable").await;
    let reader = Reader::open(storage, &topic).await.unwrap();
    recorded(&snapshotter); // from here on, only the reads

    // A lookup by timestamp scans the first segment, and returns none of it.
    let mut cursor = reader
        .cursor(PartitionId(0), StartFrom::Timestamp(30))
        .await
        .unwrap();
    assert_eq!(cursor.position().0, 30);
    let found = recorded(&snapshotter);
    assert_eq!(counter(&found, RECORDS_READ, "topic=readable"), 0);

    let mut read = 0;
    for _ in 0..10 {
        let batch = cursor.next_batch(30).await.unwrap();
        if batch.is_empty() {
            break;
        }
        read += batch.len();
    }
    assert_eq!(read, 70);
    let found = recorded(&snapshotter);
    assert_eq!(counter(&found, RECORDS_READ, "topic=readable"), 70);
    assert_eq!(counter(&found, BYTES_READ, "topic=readable"), 70 * 1024);
    assert!(counter(&found, STORE_REQUESTS, "op=get") >= 1, "{found:?}");
}

#[tokio::test]
async fn a_wait_at_the_tail_is_an_open_long_poll_until_it_ends_or_is_dropped() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let (storage, topic) = written("tailed").await;
    let reader = Reader::open(storage, &topic).await.unwrap();
    let mut cursor = reader
        .cursor(PartitionId(0), StartFrom::Latest)
        .await
        .unwrap();
    recorded(&snapshotter);

    // The wait is polled first and sleeps between revalidations; then the gauge is read, and
    // the wait dropped (a client gone).
    let open = tokio::select! {
        biased;
        _ = cursor.wait_for_more(Duration::from_secs(3600)) => panic!("nothing was appended"),
        open = async { gauge(&recorded(&snapshotter), LONG_POLLS_OPEN) } => open,
    };
    assert_eq!(open, 1.0);
    // A snapshot resets what it read: the gauge then moves from 0.
    assert_eq!(
        gauge(&recorded(&snapshotter), LONG_POLLS_OPEN),
        -1.0,
        "closed"
    );

    let more = cursor.wait_for_more(Duration::ZERO).await.unwrap();
    assert!(!more);
    assert_eq!(
        gauge(&recorded(&snapshotter), LONG_POLLS_OPEN),
        0.0,
        "opened and closed"
    );
}
