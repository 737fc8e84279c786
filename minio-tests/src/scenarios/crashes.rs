//! Writers that die abruptly. A writer runs on its own runtime; shutting that runtime down
//! drops every task at once, mid-request, as a killed process would.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::testing::{Call, DynamoError, DynamoFault, DynamoRule, Fault, FlakyStore, Rule};
use silt_reader::{Reader, StartFrom};
use silt_writer::Writer;

use super::{manifest, produce, quick, segments, topic, with_dynamo_faults};
use crate::checker::{History, check};

/// Segment objects of partition 0, committed or not.
pub(super) async fn segment_objects(storage: &Storage, name: &TopicName) -> Vec<String> {
    let prefix = storage.keys.partition(name, PartitionId(0)).join("seg");
    let listed: Vec<_> = storage
        .objects
        .list(Some(&prefix))
        .try_collect()
        .await
        .unwrap();
    listed.into_iter().map(|m| m.location.to_string()).collect()
}

/// Waits (at most a minute) until `done`: for work a scenario cannot be told about.
pub(super) async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..6_000 {
        if done().await {
            return;
        }
        silt_core::clock::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Waits until the partition's next offset holds still for half a second (at most 60 s).
async fn settle(storage: &Storage, name: &TopicName) {
    let next = async || manifest(storage, name, PartitionId(0)).await.next_offset;
    let mut last = next().await;
    for _ in 0..120 {
        silt_core::clock::sleep(Duration::from_millis(500)).await;
        let now = next().await;
        if now == last {
            return;
        }
        last = now;
    }
    panic!("the log kept moving for a minute after its writer died");
}

/// A killed process takes its connection pool with it; here the doomed runtime shares the
/// store's HTTP client, whose pool may keep connections the dead runtime served. A request on
/// one fails once ("runtime dropped the dispatch task") and discards it: spend throwaway
/// requests on them before the checks.
pub(super) async fn drop_dead_connections(storage: &Storage) {
    let nothing = storage.keys.root().clone().join("no-such-object");
    for _ in 0..32 {
        let _ = storage.objects.head(&nothing).await;
    }
}

pub(super) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// A writer dies after uploading a segment but before committing it: the segment stays an
/// orphan that no manifest references, nothing acknowledged is lost, and the next writer
/// continues at the next offset.
pub async fn writer_killed_between_upload_and_commit(storage: Storage) {
    let name = topic(&storage, "killed", 1).await;
    let first = Arc::new(Writer::open(storage.clone(), &name, quick()).await.unwrap());
    let mut history = produce(first, "before", 20, Some(PartitionId(0))).await;
    let uploaded_before = segment_objects(&storage, &name).await.len();

    // Commits hang (as if the process stalls right before its manifest write) until the kill;
    // DynamoDB commits never get through.
    let flaky = FlakyStore::new(storage.objects.clone(), 1);
    flaky.set_rules(vec![Rule::new(
        Call::PutUpdate,
        Fault::Delay(Duration::from_secs(600)),
        1.0,
    )]);
    let never = DynamoRule {
        operation: "TransactWriteItems",
        fault: DynamoFault::Before(DynamoError::ServerError),
        probability: 1.0,
    };
    let (stalled, _) = with_dynamo_faults(&storage.with_objects(flaky), vec![never], 1);
    let doomed = runtime();
    let topic_name = name.clone();
    doomed.spawn(async move {
        let writer = Writer::open(stalled, &topic_name, quick()).await.unwrap();
        let record = Record::from_value(Bytes::from_static(b"never-acknowledged"), 0);
        let ack = writer
            .send_batch(PartitionId(0), vec![record], None)
            .await
            .unwrap();
        let _ = ack.await;
    });
    until("the doomed upload", async || {
        segment_objects(&storage, &name).await.len() > uploaded_before
    })
    .await;
    doomed.shutdown_background();
    drop_dead_connections(&storage).await;

    let m = manifest(&storage, &name, PartitionId(0)).await;
    assert_eq!(m.next_offset.0, 20, "the killed writer committed nothing");
    let committed = segments(&storage, &name, PartitionId(0)).await;
    let orphans = segment_objects(&storage, &name)
        .await
        .into_iter()
        .filter(|key| {
            !committed
                .iter()
                .any(|e| key.ends_with(&format!("{}.seg", e.id)))
        });
    assert_eq!(
        orphans.count(),
        1,
        "exactly the doomed segment is unreferenced"
    );

    let next = Arc::new(Writer::open(storage.clone(), &name, quick()).await.unwrap());
    history.extend(produce(next, "after", 10, Some(PartitionId(0))).await);
    let report = check(&storage, &name, &history).await;
    report.assert_clean();
    assert_eq!(report.read, 30);
}

/// A producer is killed mid-stream with appends in flight, then restarts: it reads the log to
/// learn what made it, resumes after its last committed record, and the log ends up with every
/// acknowledged record exactly once, offsets dense. Every answer the killed writer gave counts:
/// records of a commit cut off in flight are `Indeterminate`, and any other error (`Closed`
/// for records in no commit) must mean not written.
pub async fn writer_restarts_mid_stream(storage: Storage) {
    let name = topic(&storage, "restart", 1).await;
    let seen = Arc::new(Mutex::new(History::default()));
    let doomed = runtime();
    let (topic_name, shared, crashing) = (name.clone(), seen.clone(), storage.clone());
    doomed.spawn(async move {
        let writer = Writer::open(crashing, &topic_name, quick()).await.unwrap();
        for seq in 0..10_000u64 {
            let value = Bytes::from(format!("w-{seq}"));
            let record = Record::from_value(value.clone(), seq as i64);
            let ack = writer
                .send_batch(PartitionId(0), vec![record], None)
                .await
                .unwrap();
            let shared = shared.clone();
            tokio::spawn(async move {
                let result = ack.await;
                shared.lock().unwrap().answer("w", seq, value, &result);
            });
            if seq % 20 == 19 {
                silt_core::clock::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    until("a hundred acknowledgements", async || {
        seen.lock().unwrap().acked() >= 100
    })
    .await;
    doomed.shutdown_background();
    drop_dead_connections(&storage).await;
    // A request already on the wire when the process died may still land (a zombie commit):
    // wait until the log stops moving before learning what made it.
    settle(&storage, &name).await;
    let mut history = std::mem::take(&mut *seen.lock().unwrap());

    // Restart: find the last of our records that made it into the log, continue after it. The
    // restarted producer sends the same sequence numbers under its own name (`r-<seq>`), so a
    // record the killed writer reported as not written and the restart then wrote is not
    // mistaken for the killed writer's.
    let reader = Reader::open(storage.clone(), &name).await.unwrap();
    let mut cursor = reader
        .cursor(PartitionId(0), StartFrom::Earliest)
        .await
        .unwrap();
    let mut resume_at = 0;
    loop {
        let batch = cursor.next_batch(1000).await.unwrap();
        let Some(last) = batch.last() else { break };
        let value = String::from_utf8(last.record.value.clone().unwrap().to_vec()).unwrap();
        resume_at = value.trim_start_matches("w-").parse::<u64>().unwrap() + 1;
    }
    assert!(resume_at >= 100, "acknowledged records must be in the log");
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for seq in resume_at..resume_at + 50 {
        let value = Bytes::from(format!("r-{seq}"));
        let result = writer
            .append(
                PartitionId(0),
                vec![Record::from_value(value.clone(), seq as i64)],
            )
            .await;
        history.answer("r", seq, value, &result);
    }
    let report = check(&storage, &name, &history).await;
    report.assert_clean();
    assert_eq!(report.read as u64, resume_at + 50);
}
