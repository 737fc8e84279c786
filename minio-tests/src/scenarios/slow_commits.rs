//! A slow manifest store: commits wait at a gate (as behind DynamoDB throttling or a stalled
//! S3 request) while uploads keep finishing, so more segments queue than one commit may take.
//! The writer splits them at the store's own limit (DynamoDB: 99, object manifests: 256).

use std::time::Duration;

use bytes::Bytes;
use silt_core::ids::PartitionId;
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::testing::SlowCommits;
use silt_writer::{Writer, WriterSettings};

use super::crashes::{segment_objects, until};
use super::topic;
use crate::checker::{History, check};

/// Fails the scenario instead of hanging when `future` takes longer than a minute.
pub(super) async fn within_a_minute<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(60), future).await {
        Ok(done) => done,
        Err(_) => panic!("timed out after a minute waiting for {what}"),
    }
}

/// 45 more one-record segments than one commit may take queue behind a held commit; once it
/// goes on, they are committed in commits of exactly the store's limit and one of the rest,
/// every record acknowledged at dense offsets in send order.
pub async fn slow_commits_split_at_the_store_limit(storage: Storage) {
    let name = topic(&storage, "slow-commits", 1).await;
    let limit = storage.manifests.segments_per_commit_max();
    let queued = limit + 45;
    let (slowed, slow) = SlowCommits::install(&storage);
    let settings = WriterSettings {
        linger_ms: 0,
        segment_records_max: 1,
        uploads_in_flight_max: 64,
        ..WriterSettings::default()
    };
    let writer = Writer::open(slowed, &name, settings).await.unwrap();
    let p = PartitionId(0);
    let value = |seq: usize| Bytes::from(format!("s-{seq}"));

    slow.hold();
    let mut acks = Vec::new();
    for seq in 0..=queued {
        let record = Record::from_value(value(seq), seq as i64);
        acks.push(writer.send_batch(p, vec![record], None).await.unwrap());
        if seq == 0 {
            within_a_minute("the first commit at the gate", slow.until_waiting(1)).await;
        }
    }
    until("every upload behind the held commit", async || {
        segment_objects(&storage, &name).await.len() == queued + 1
    })
    .await;
    slow.release();

    let mut history = History::default();
    for (seq, ack) in acks.into_iter().enumerate() {
        history.answer("s", seq as u64, value(seq), &ack.await);
    }
    assert_eq!(history.acked(), queued + 1, "{}", history.summary());
    let report = check(&storage, &name, &history).await;
    report.assert_clean();
    assert_eq!(report.read, queued + 1);
    assert_eq!(
        slow.largest_append(),
        limit,
        "commits split at the store's limit"
    );
    assert_eq!(slow.appends(), 3, "the first alone, then {limit}, then 45");
}
