//! A fenced writer stops: once a newer exclusive writer took a partition, every later `send`
//! to it fails at once with `Fenced`, whether the writer learned it from an append or from a
//! lease renewal while idle. Other partitions are not affected.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use silt_core::error::Rejection;
use silt_core::ids::PartitionId;
use silt_core::record::Record;
use silt_core::testing::ManualClock;
use silt_writer::{AppendError, Writer, WriterSettings};

use common::{store_with_topic, until};

fn exclusive(lease_ms: i64) -> WriterSettings {
    WriterSettings {
        exclusive: true,
        lease_ms,
        linger_ms: 0,
        ..WriterSettings::default()
    }
}

fn assert_fenced<T: std::fmt::Debug>(result: Result<T, AppendError>) {
    match result {
        Err(AppendError::Rejected(Rejection::Fenced { epoch, mine, .. })) => {
            assert!(epoch > mine, "fenced by a newer epoch")
        }
        other => panic!("expected Fenced, got {other:?}"),
    }
}

#[tokio::test]
async fn a_fenced_writer_fails_every_later_send_at_once() {
    let clock = ManualClock::new(1_000_000);
    let (storage, topic) = store_with_topic(&clock, "fenced", 2).await;
    let (p0, p1) = (PartitionId(0), PartitionId(1));
    let old = Writer::open(storage.clone(), &topic, exclusive(10_000))
        .await
        .unwrap();
    old.append(p0, vec![Record::from_value("a", 0)])
        .await
        .unwrap();
    let new = Writer::open(storage.clone(), &topic, exclusive(10_000))
        .await
        .unwrap();
    new.append(p0, vec![Record::from_value("b", 0)])
        .await
        .unwrap();

    // The old leader learns it from its next append...
    assert_fenced(old.append(p0, vec![Record::from_value("c", 0)]).await);
    // ...and from then on `send` itself refuses, without queueing anything.
    for _ in 0..3 {
        assert_fenced(
            old.send_batch(p0, vec![Record::from_value("d", 0)], None)
                .await,
        );
    }
    // Its other partitions are its own still.
    old.append(p1, vec![Record::from_value("e", 0)])
        .await
        .unwrap();
    let m = storage.manifests.read(&topic, p0).await.unwrap().unwrap();
    assert_eq!(m.manifest.next_offset.0, 2, "only a and b were written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_fenced_leader_learns_it_at_its_next_renewal() {
    let clock = ManualClock::new(1_000_000);
    let (storage, topic) = store_with_topic(&clock, "idle-fenced", 1).await;
    let p = PartitionId(0);
    let old = Writer::open(storage.clone(), &topic, exclusive(300))
        .await
        .unwrap();
    old.append(p, vec![Record::from_value("a", 0)])
        .await
        .unwrap();
    let new = Writer::open(storage.clone(), &topic, exclusive(10_000))
        .await
        .unwrap();
    new.append(p, vec![Record::from_value("b", 0)])
        .await
        .unwrap();

    // The old leader sends nothing; a lease renewal (every 100 ms) finds the new epoch, and
    // whoever waits on `first_fence` (a producer whose input is idle) hears of it.
    until("the idle old leader to learn it is fenced", async || {
        old.fenced(p).is_some()
    })
    .await;
    let (partition, why) = old.first_fence().await;
    assert_eq!(partition, p);
    assert_eq!(Some(why), old.fenced(p));
    assert_fenced(
        old.send_batch(p, vec![Record::from_value("c", 0)], None)
            .await,
    );
}
