//! A known workload moves the library's metrics by exactly its size on every backend: records
//! and bytes appended and read, segments, commits, and the store requests under them (object
//! PUTs and conditional PUTs, or DynamoDB transactions). The workload runs on a thread of its
//! own, on a single-threaded runtime, recording into a `DebuggingRecorder` local to it, so
//! scenarios running in parallel are not counted.

use std::collections::BTreeMap;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use silt_core::ids::{PartitionId, TopicName};
use silt_core::metrics::*;
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_reader::{Reader, StartFrom};
use silt_writer::{Writer, WriterSettings};

use super::topic;

/// Counters recorded by the workload, as `name{label=value,...}`.
pub type Counters = BTreeMap<String, u64>;

pub async fn metrics_count_a_known_workload(storage: Storage) {
    let name = topic(&storage, "metered", 1).await;
    let dynamodb = storage.manifest_table.is_some();
    let (done, counted) = tokio::sync::oneshot::channel();
    let thread = std::thread::spawn(move || {
        let _ = done.send(recorded_workload(storage, name));
    });
    let counters = counted.await.expect("the workload thread answers");
    thread.join().expect("the workload thread ends");

    let count = |name: &str, labels: &str| {
        let key = format!("{name}{{{labels}}}");
        counters.get(&key).copied().unwrap_or(0)
    };
    let by_topic = "topic=metered";
    assert_eq!(count(RECORDS_APPENDED, by_topic), 100, "{counters:#?}");
    assert_eq!(count(BYTES_APPENDED, by_topic), 100 * 1024);
    assert_eq!(count(SEGMENTS_WRITTEN, by_topic), 2);
    assert_eq!(count(COMMITS, "result=ok"), 2);
    assert_eq!(count(RECORDS_READ, by_topic), 100);
    assert_eq!(count(BYTES_READ, by_topic), 100 * 1024);
    assert_eq!(count(STORE_REQUESTS, "op=put"), 2, "two segment uploads");
    assert!(
        count(STORE_REQUESTS, "op=get") >= 2,
        "the segments read back"
    );
    let (commits, other) = match dynamodb {
        true => ("op=dynamodb_transact", "op=conditional_put"),
        false => ("op=conditional_put", "op=dynamodb_transact"),
    };
    assert_eq!(count(STORE_REQUESTS, commits), 2, "{counters:#?}");
    assert_eq!(count(STORE_REQUESTS, other), 0, "{counters:#?}");
}

/// Appends 100 records of 1 KiB in two batches, reads them back, and returns the counters.
fn recorded_workload(storage: Storage, name: TopicName) -> Counters {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    runtime.block_on(async {
        let settings = WriterSettings {
            linger_ms: 0,
            ..WriterSettings::default()
        };
        let writer = Writer::open(storage.clone(), &name, settings)
            .await
            .unwrap();
        for _ in 0..2 {
            let records = (0..50)
                .map(|_| Record::from_value(vec![1u8; 1024], 0))
                .collect();
            writer.append(PartitionId(0), records).await.unwrap();
        }
        writer.close().await;
        let reader = Reader::open(storage, &name).await.unwrap();
        let mut cursor = reader
            .cursor(PartitionId(0), StartFrom::Earliest)
            .await
            .unwrap();
        let mut read = 0;
        for _ in 0..100 {
            let batch = cursor.next_batch(40).await.unwrap();
            if batch.is_empty() {
                break;
            }
            read += batch.len();
        }
        assert_eq!(read, 100);
    });
    counters(&snapshotter)
}

/// The counters recorded since the last snapshot, as `name{label=value,...}` (taking a
/// snapshot of a `DebuggingRecorder` restarts its counters from 0).
pub fn counters(snapshotter: &Snapshotter) -> Counters {
    let mut counters = Counters::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        if let DebugValue::Counter(n) = value {
            let key = key.key();
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            *counters
                .entry(format!("{}{{{}}}", key.name(), labels.join(",")))
                .or_default() += n;
        }
    }
    counters
}
