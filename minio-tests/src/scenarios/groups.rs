//! Consumer groups (docs/consumer-groups.md) on every backend: members split a topic, a
//! silent member is expired and its commits fenced, a static member restarts without moving
//! anything, a leaver's partitions are taken at once; consumers read every record at least
//! once and commit what they polled; bad calls get typed errors. Members are driven with a
//! hand-made monotonic time (no sleeps); consumers run on real time with short intervals.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use silt_control::trim;
use silt_core::error::{Error, ErrorKind};
use silt_core::ids::{GroupName, Offset, PartitionId, TopicName};
use silt_core::store::Storage;
use silt_group::{GroupConsumer, GroupError, GroupMember, GroupSettings, OffsetReset};
use silt_writer::Writer;
use tokio::time::Instant;

use super::{produce, quick, topic};

const HEARTBEAT: Duration = Duration::from_secs(3);

fn member_settings(instance: Option<&str>) -> GroupSettings {
    GroupSettings {
        instance_id: instance.map(str::to_string),
        ..GroupSettings::default()
    }
}

async fn tick_all(members: &mut [&mut GroupMember], now: &mut Duration, times: usize) {
    for _ in 0..times {
        *now += HEARTBEAT;
        for m in members.iter_mut() {
            m.tick(*now).await.unwrap();
        }
    }
}

fn epochs(m: &GroupMember) -> BTreeMap<PartitionId, u64> {
    m.assignment()
        .iter()
        .map(|a| (a.partition.partition, a.lease_epoch))
        .collect()
}

/// Two members split 6 partitions 3/3; one goes silent past the session timeout, is
/// removed, and its late commit is fenced; it rejoins; a static restart moves nothing; a
/// leaver's partitions are taken at the next tick.
pub async fn group_members_split_fence_and_rejoin(storage: Storage) {
    let name = topic(&storage, "grouped", 6).await;
    let topics = [name.clone()];
    let group = GroupName::new("billing").unwrap();
    let mut now = Duration::ZERO;
    let join = |instance, now| {
        GroupMember::join(&storage, &group, &topics, member_settings(instance), now)
    };
    let mut a = join(Some("a"), now).await.unwrap();
    let mut b = join(None, now).await.unwrap();
    tick_all(&mut [&mut a, &mut b], &mut now, 3).await;
    assert_eq!((a.assignment().len(), b.assignment().len()), (3, 3));

    // a commits, then goes silent: b removes it after the session timeout and takes all.
    let kept = a.assignment()[0].clone();
    a.commit(&kept.partition, 5, "m").await.unwrap();
    let session = GroupSettings::default().session();
    let silent_ticks = (session.as_secs() / HEARTBEAT.as_secs()) as usize + 3;
    tick_all(&mut [&mut b], &mut now, silent_ticks).await;
    assert_eq!(b.assignment().len(), 6);
    let taken = b
        .assignment()
        .into_iter()
        .find(|x| x.partition == kept.partition)
        .unwrap();
    assert_eq!(
        taken.committed,
        Some(5),
        "the offset moves with the partition"
    );
    assert!(taken.lease_epoch > kept.lease_epoch);

    // The zombie's commit is refused, and it notices: it drops everything and rejoins.
    let late = a.commit(&kept.partition, 9, "").await.unwrap_err();
    assert!(matches!(late, GroupError::Fenced { .. }), "{late}");
    assert_eq!(late.kind(), ErrorKind::Rejected);
    tick_all(&mut [&mut a, &mut b], &mut now, 3).await;
    assert_eq!((a.assignment().len(), b.assignment().len()), (3, 3));

    // A static restart (a crashed: never ticks again) takes a's place: b keeps its leases.
    let b_before = epochs(&b);
    let mut a2 = join(Some("a"), now).await.unwrap();
    tick_all(&mut [&mut a2, &mut b], &mut now, 1).await;
    assert_eq!((a2.assignment().len(), epochs(&b)), (3, b_before));

    // b leaves: a2 takes its partitions at its next tick.
    b.leave().await.unwrap();
    tick_all(&mut [&mut a2], &mut now, 1).await;
    assert_eq!(a2.assignment().len(), 6);
    let doc = a2.document().unwrap();
    assert_eq!(doc.members.len(), 1, "{doc:?}");
}

fn consumer_settings() -> GroupSettings {
    GroupSettings {
        heartbeat_ms: 50,
        session_timeout_ms: 1_000,
        handoff_timeout_ms: 500,
        auto_commit_ms: Some(100),
        auto_offset_reset: OffsetReset::Earliest,
        ..GroupSettings::default()
    }
}

/// Polls `consumers` until they saw `until` records of `name` in all, recording offsets.
async fn poll_until(
    consumers: &mut [&mut GroupConsumer],
    seen: &mut BTreeMap<(u32, u64), u32>,
    until: usize,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < until {
        if Instant::now() >= deadline {
            let mut held = Vec::new();
            for c in consumers.iter() {
                held.push(c.assignment().await);
            }
            panic!("saw {} of {until} records; held {held:?}", seen.len());
        }
        for c in consumers.iter_mut() {
            let polled = c.poll(100, Duration::from_millis(20)).await.unwrap();
            for batch in polled.batches {
                for r in batch.records {
                    *seen.entry((r.partition.0, r.offset.0)).or_default() += 1;
                }
            }
        }
    }
}

/// Two consumers read every record at least once; one closes and the other takes over from
/// the committed offsets; after both close, every committed offset is the log end.
pub async fn group_consumers_read_every_record_at_least_once(storage: Storage) {
    let name = topic(&storage, "consumed", 4).await;
    let writer = Arc::new(Writer::open(storage.clone(), &name, quick()).await.unwrap());
    produce(writer.clone(), "p", 200, None).await;
    let group = GroupName::new("readers").unwrap();
    let topics = [name.clone()];
    let join = || GroupConsumer::join(storage.clone(), &group, &topics, consumer_settings());
    let (mut c1, mut c2) = (join().await.unwrap(), join().await.unwrap());
    let mut seen = BTreeMap::new();
    poll_until(&mut [&mut c1, &mut c2], &mut seen, 200).await;
    c1.close().await.unwrap();
    produce(writer, "q", 100, None).await;
    poll_until(&mut [&mut c2], &mut seen, 300).await;
    c2.close().await.unwrap();
    let duplicates: u32 = seen.values().map(|n| n - 1).sum();
    println!("300 records read, {duplicates} twice (handoffs)");

    // A new consumer starts from the committed offsets: the log ends, nothing to read.
    let mut c3 = join().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while c3.assignment().await.len() < 4 {
        assert!(Instant::now() < deadline, "c3 took its partitions");
        let polled = c3.poll(100, Duration::from_millis(20)).await.unwrap();
        assert!(
            polled.batches.is_empty(),
            "everything was committed: {polled:?}"
        );
    }
    for a in c3.assignment().await {
        let manifest = storage
            .manifests
            .read(&name, a.partition.partition)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            a.committed,
            Some(manifest.manifest.next_offset.0),
            "{}",
            a.partition
        );
    }
    bad_calls_are_typed(&storage, &mut c3).await;
    c3.close().await.unwrap();
}

/// Unknown topics, bad names, commits backwards, outside the log or of partitions not held.
async fn bad_calls_are_typed(storage: &Storage, c: &mut GroupConsumer) {
    assert!(GroupName::new("a/b").is_err());
    let group = GroupName::new("other").unwrap();
    let unknown = [TopicName::new("nope").unwrap()];
    let joined = GroupConsumer::join(storage.clone(), &group, &unknown, consumer_settings()).await;
    assert!(
        matches!(joined, Err(GroupError::Store(Error::UnknownTopic(_)))),
        "{joined:?}"
    );
    let held = c.assignment().await[0].clone();
    let end = held.committed.unwrap();
    let cases = [
        (end + 1, "beyond the log end"),
        (end.saturating_sub(1), "below its committed"),
    ];
    for (offset, says) in cases {
        if end == 0 && offset == 0 {
            continue;
        }
        let err = c.commit(&held.partition, offset, "").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
        assert!(err.to_string().contains(says), "{err}");
    }
    if end > 0 {
        // Retention removes what was read: an offset below the new log start is refused.
        let (topic, p) = (&held.partition.topic, held.partition.partition);
        trim(storage, topic, p, Offset(end)).await.unwrap();
        let err = c.commit(&held.partition, end - 1, "").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
        assert!(err.to_string().contains("below the log start"), "{err}");
    }
    let mut other = held.partition.clone();
    other.topic = TopicName::new("elsewhere").unwrap();
    let err = c.commit(&other, 0, "").await.unwrap_err();
    assert!(
        matches!(err, GroupError::NotOwner { .. } | GroupError::Store(_)),
        "{err}"
    );
}
