//! A group commit never carries more segments than the manifest store takes in one commit
//! (DynamoDB: 99). Uploads keep finishing while a commit is slow, so more than that may wait.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::sync::Arc;

use silt_core::ids::PartitionId;
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::testing::{ManualClock, SlowCommits};
use silt_writer::{Writer, WriterSettings};

use common::{segment_objects, store_with_topic, until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commits_split_at_the_store_limit() {
    let clock = ManualClock::new(1_000_000);
    let (storage, topic) = store_with_topic(&clock, "limited", 1).await;
    // A store that takes 10 segments per commit, as DynamoDB takes 99.
    let slow =
        Arc::new(SlowCommits::new(storage.manifests.clone()).with_segments_per_commit_max(10));
    let storage = Storage {
        manifests: slow.clone(),
        ..storage
    };
    // One record per segment, so each send is one upload.
    let settings = WriterSettings {
        linger_ms: 0,
        segment_records_max: 1,
        uploads_in_flight_max: 64,
        ..WriterSettings::default()
    };
    let writer = Writer::open(storage.clone(), &topic, settings)
        .await
        .unwrap();
    let p = PartitionId(0);

    slow.hold();
    let first = writer
        .send_batch(p, vec![Record::from_value("r-0", 0)], None)
        .await
        .unwrap();
    slow.until_waiting(1).await;
    let mut acks = vec![first];
    for i in 1..=45 {
        let record = Record::from_value(format!("r-{i}"), 0);
        acks.push(writer.send_batch(p, vec![record], None).await.unwrap());
    }
    until("45 more uploads behind the slow commit", async || {
        segment_objects(&storage, &topic, p).await == 46
    })
    .await;
    slow.release();

    for (i, ack) in acks.into_iter().enumerate() {
        let ack = ack.await.unwrap_or_else(|e| panic!("record {i}: {e}"));
        assert_eq!(ack.base_offset.0, i as u64, "records keep their send order");
    }
    assert_eq!(
        slow.largest_append(),
        10,
        "commits split at the store's limit"
    );
    assert_eq!(
        slow.appends(),
        1 + 5,
        "the first alone, then 10, 10, 10, 10 and 5"
    );
}
