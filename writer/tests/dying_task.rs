//! A partition task that dies: with a commit in flight (its runtime shut down, as in a killed
//! process) it answers that commit's records `Indeterminate`, since the commit may still land;
//! after a panic (a bug) the next send starts a new task instead of answering `Closed` forever.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::sync::Arc;

use silt_core::ids::PartitionId;
use silt_core::record::Record;
use silt_core::testing::{ManualClock, SlowCommits};
use silt_writer::{AppendError, Writer, WriterSettings};

use common::{store_with_topic, within_10s};

fn quick() -> WriterSettings {
    WriterSettings {
        linger_ms: 0,
        ..WriterSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_dying_mid_commit_answers_indeterminate() {
    let clock = ManualClock::new(1_000_000);
    let (storage, topic) = store_with_topic(&clock, "dying", 1).await;
    let (slowed, slow) = SlowCommits::install(&storage);
    let writer = Arc::new(Writer::open(slowed, &topic, quick()).await.unwrap());
    let doomed = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();

    slow.hold();
    let sender = writer.clone();
    let ack = doomed
        .spawn(async move {
            let record = Record::from_value("in-flight", 0);
            sender.send_batch(PartitionId(0), vec![record], None).await
        })
        .await
        .unwrap()
        .unwrap();
    slow.until_waiting(1).await;
    doomed.shutdown_background();
    match within_10s("the in-flight record's answer", ack).await {
        Err(AppendError::Indeterminate(_)) => {}
        other => panic!("a commit cut off in flight has an unknown outcome, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicked_partition_task_is_restarted() {
    let clock = ManualClock::new(1_000_000);
    let (storage, topic) = store_with_topic(&clock, "panicked", 1).await;
    let (slowed, slow) = SlowCommits::install(&storage);
    let writer = Writer::open(slowed, &topic, quick()).await.unwrap();
    let p = PartitionId(0);
    writer
        .append(p, vec![Record::from_value("a", 0)])
        .await
        .unwrap();

    // The task panics as it starts the next commit: that record was in no commit.
    slow.panic_when_asked_for_the_limit();
    let lost = writer.append(p, vec![Record::from_value("b", 0)]).await;
    assert!(matches!(lost, Err(AppendError::Closed)), "{lost:?}");

    // The next send finds the task dead and starts a new one.
    let ack = writer
        .append(p, vec![Record::from_value("c", 0)])
        .await
        .unwrap();
    assert_eq!(ack.base_offset.0, 1);
    let m = storage.manifests.read(&topic, p).await.unwrap().unwrap();
    assert_eq!(m.manifest.next_offset.0, 2, "a and c only");
}
