//! The exclusive lease, driven by a manual clock: while it is live only the leader appends;
//! once it lapses (an idle leader does not renew it) shared writers append again, and the
//! leader, not fenced, may still append: the lease is advisory, the epoch is what fences.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::path::Path;
use silt_core::error::Rejection;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::testing::ManualClock;
use silt_writer::{AppendError, Writer, WriterSettings};

#[tokio::test]
async fn shared_writers_wait_for_a_live_lease_only() {
    let clock = ManualClock::new(1_000_000);
    let storage = Storage::over(Arc::new(InMemory::new()), Path::default(), "memory://")
        .with_clock(clock.clone());
    let topic = TopicName::new("leased").unwrap();
    storage
        .create_topic(&topic, 1, Default::default())
        .await
        .unwrap();
    let p = PartitionId(0);
    let exclusive = WriterSettings {
        exclusive: true,
        lease_ms: 10_000,
        linger_ms: 0,
        ..WriterSettings::default()
    };
    let shared = WriterSettings {
        linger_ms: 0,
        ..WriterSettings::default()
    };
    let leader = Writer::open(storage.clone(), &topic, exclusive)
        .await
        .unwrap();
    let other = Writer::open(storage.clone(), &topic, shared).await.unwrap();

    leader
        .append(p, vec![Record::from_value("a", 0)])
        .await
        .unwrap();
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
    // The leader was not fenced by the lapse: its next append renews the lease.
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
