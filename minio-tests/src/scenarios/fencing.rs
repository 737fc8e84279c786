//! Exclusive leadership, its lease, and conditional appends.

use std::sync::Arc;

use bytes::Bytes;
use silt_core::error::Rejection;
use silt_core::ids::{Offset, PartitionId};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::testing::{ManualClock, SlowCommits};
use silt_writer::{AppendError, Writer, WriterSettings};

use super::slow_commits::within_a_minute;
use super::{manifest, produce, quick, topic};
use crate::checker::{History, check};

fn exclusive() -> WriterSettings {
    WriterSettings {
        exclusive: true,
        ..quick()
    }
}

/// A second exclusive writer takes over: the first is fenced, acknowledges nothing more, and
/// offsets stay dense across the takeover with nothing lost or acknowledged twice.
pub async fn exclusive_takeover_fences_old_writer(storage: Storage) {
    let name = topic(&storage, "takeover", 1).await;
    let p = Some(PartitionId(0));
    let first = Arc::new(
        Writer::open(storage.clone(), &name, exclusive())
            .await
            .unwrap(),
    );
    let mut history = produce(first.clone(), "first", 100, p).await;
    assert_eq!(history.acked(), 100);

    let second = Arc::new(
        Writer::open(storage.clone(), &name, exclusive())
            .await
            .unwrap(),
    );
    history.extend(produce(second.clone(), "second", 100, p).await);
    assert_eq!(history.acked(), 200);

    // The old leader is fenced: its appends fail with `Fenced`, and keep failing.
    for _ in 0..2 {
        let result = first
            .append(PartitionId(0), vec![Record::from_value("late", 0)])
            .await;
        match result {
            Err(AppendError::Rejected(Rejection::Fenced { epoch, mine, .. })) => {
                assert!(epoch > mine)
            }
            other => panic!("expected Fenced, got {other:?}"),
        }
    }
    // A shared writer is refused while the new leader's lease is live.
    let shared = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    let refused = shared
        .append(PartitionId(0), vec![Record::from_value("shared", 0)])
        .await;
    assert!(
        matches!(
            refused,
            Err(AppendError::Rejected(Rejection::LeaderActive { .. }))
        ),
        "{refused:?}"
    );

    history.extend(produce(second.clone(), "second-again", 50, p).await);
    let report = check(&storage, &name, &history).await;
    report.assert_clean();
    assert_eq!(report.read, 250);

    // A clean close releases the lease, so shared writers may append again at once.
    Arc::try_unwrap(second).unwrap().close().await;
    shared
        .append(PartitionId(0), vec![Record::from_value("after-release", 0)])
        .await
        .unwrap();
}

/// An exclusive leader that sends nothing keeps its lease while it is open: it renews it every
/// `lease_ms / 3`, so a minute after the lease it took, shared writers are still refused;
/// closing releases it. The storage clock is manual, so the lease decisions are exact.
pub async fn idle_leader_keeps_its_lease(storage: Storage) {
    let clock = ManualClock::new(storage.clock.now_ms());
    let storage = storage.with_clock(clock.clone());
    let name = topic(&storage, "idle-leader", 1).await;
    let p = PartitionId(0);
    let (watched, slow) = SlowCommits::install(&storage);
    let settings = WriterSettings {
        lease_ms: 1_000,
        ..exclusive()
    };
    let leader = Writer::open(watched, &name, settings).await.unwrap();
    let shared = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    leader
        .append(p, vec![Record::from_value("a", 0)])
        .await
        .unwrap();
    let taken = manifest(&storage, &name, p).await.leader.unwrap();

    // A minute passes on the storage clock; of the commits counted from here, the second
    // certainly read the clock after the jump.
    clock.advance(60_000);
    let seen = slow.passed();
    within_a_minute("two lease renewals", slow.until_passed(seen + 2)).await;
    match shared.append(p, vec![Record::from_value("b", 0)]).await {
        Err(AppendError::Rejected(Rejection::LeaderActive { lease_until_ms, .. })) => {
            assert!(
                lease_until_ms >= taken.lease_until_ms + 60_000,
                "renewed from the new now"
            );
        }
        other => panic!("expected LeaderActive, got {other:?}"),
    }
    leader.close().await;
    let ack = shared
        .append(p, vec![Record::from_value("c", 0)])
        .await
        .unwrap();
    assert_eq!(ack.base_offset, Offset(1));
}

/// `expect_offset`: appends only when the next offset matches; otherwise a typed error and
/// nothing written.
pub async fn conditional_append(storage: Storage) {
    let name = topic(&storage, "conditional", 2).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    let p = PartitionId(1);
    let batch = |v: &str| {
        vec![
            Record::from_value(Bytes::from(v.to_string()), 0),
            Record::from_value("b", 0),
        ]
    };
    let ack = writer
        .send_batch(p, batch("a"), Some(Offset(0)))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!((ack.base_offset, ack.last_offset), (Offset(0), Offset(1)));
    let stale = writer
        .send_batch(p, batch("x"), Some(Offset(0)))
        .await
        .unwrap()
        .await;
    match stale {
        Err(AppendError::Rejected(Rejection::OffsetMismatch {
            expected, actual, ..
        })) => {
            assert_eq!((expected, actual), (Offset(0), Offset(2)));
        }
        other => panic!("expected OffsetMismatch, got {other:?}"),
    }
    let next = writer
        .send_batch(p, batch("c"), Some(Offset(2)))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(next.base_offset, Offset(2));
    // Another writer moves the partition on; this writer's cached manifest is now stale, yet
    // its conditional append on the true next offset succeeds (decided on a fresh read).
    let other = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    other
        .append(p, vec![Record::from_value("d", 0)])
        .await
        .unwrap();
    let fresh = writer
        .send_batch(p, batch("e"), Some(Offset(5)))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(fresh.base_offset, Offset(5));
    let report = check(&storage, &name, &History::default()).await;
    assert_eq!(report.read, 7, "the refused batch must not be written");
}
