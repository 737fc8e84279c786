//! The exclusive lease, driven by a manual clock. An open leader renews it every `lease_ms / 3`,
//! idle or not, so shared writers stay away while it lives; only a leader that stopped renewing
//! (stalled or killed) lets it lapse, and then shared writers append again without fencing it:
//! the lease is advisory, the epoch is what fences.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use silt_core::error::Rejection;
use silt_core::ids::PartitionId;
use silt_core::record::Record;
use silt_core::testing::{ManualClock, SlowCommits};
use silt_writer::{AppendError, Writer, WriterSettings};

use common::{store_with_topic, within_10s};

fn exclusive(lease_ms: i64) -> WriterSettings {
    WriterSettings {
        exclusive: true,
        lease_ms,
        linger_ms: 0,
        ..WriterSettings::default()
    }
}

fn shared() -> WriterSettings {
    WriterSettings {
        linger_ms: 0,
        ..WriterSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_leader_keeps_its_lease() {
    let clock = ManualClock::new(1_000_000);
    let (storage, topic) = store_with_topic(&clock, "renewed", 1).await;
    let (watched, slow) = SlowCommits::install(&storage);
    let p = PartitionId(0);
    let leader = Writer::open(watched, &topic, exclusive(300)).await.unwrap();
    let other = Writer::open(storage.clone(), &topic, shared())
        .await
        .unwrap();
    leader
        .append(p, vec![Record::from_value("a", 0)])
        .await
        .unwrap();

    // Far past the lease the append took; the idle leader renews it (every 100 ms). Of the
    // commits counted from here, the second certainly read the clock after the jump.
    clock.advance(10_000);
    let seen = slow.passed();
    within_10s("two lease renewals", slow.until_passed(seen + 2)).await;
    match other.append(p, vec![Record::from_value("b", 0)]).await {
        Err(AppendError::Rejected(Rejection::LeaderActive { lease_until_ms, .. })) => {
            assert!(lease_until_ms >= 1_010_300, "renewed from the new now");
        }
        other => panic!("expected LeaderActive, got {other:?}"),
    }
    // Closing releases the lease at once.
    leader.close().await;
    let ack = other
        .append(p, vec![Record::from_value("c", 0)])
        .await
        .unwrap();
    assert_eq!(ack.base_offset.0, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_lease_lets_shared_writers_in_without_fencing_the_leader() {
    let clock = ManualClock::new(1_000_000);
    let (storage, topic) = store_with_topic(&clock, "leased", 1).await;
    let (watched, slow) = SlowCommits::install(&storage);
    let p = PartitionId(0);
    let leader = Writer::open(watched, &topic, exclusive(10_000))
        .await
        .unwrap();
    let other = Writer::open(storage.clone(), &topic, shared())
        .await
        .unwrap();

    leader
        .append(p, vec![Record::from_value("a", 0)])
        .await
        .unwrap();
    // The leader stalls: its commits, renewals included, wait.
    slow.hold();
    clock.advance(9_999);
    match other.append(p, vec![Record::from_value("b", 0)]).await {
        Err(AppendError::Rejected(Rejection::LeaderActive { lease_until_ms, .. })) => {
            assert_eq!(lease_until_ms, 1_010_000);
        }
        other => panic!("expected LeaderActive, got {other:?}"),
    }
    clock.advance(2);
    let ack = other
        .append(p, vec![Record::from_value("c", 0)])
        .await
        .unwrap();
    assert_eq!(ack.base_offset.0, 1);
    // The leader was not fenced by the lapse: once it moves again, it appends and renews.
    slow.release();
    let ack = leader
        .append(p, vec![Record::from_value("d", 0)])
        .await
        .unwrap();
    assert_eq!(ack.base_offset.0, 2);
    assert!(matches!(
        other.append(p, vec![Record::from_value("e", 0)]).await,
        Err(AppendError::Rejected(Rejection::LeaderActive { .. }))
    ));
}
