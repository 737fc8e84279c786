//! Manifest groups (docs/design.md §19): commits to partitions of one group that wait
//! together share one conditional write, and reads that wait together share one GET. The
//! commit protocol under races and faults is checked in `manifest.rs`; every scenario in
//! `minio-tests` runs on a grouped layout too.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use object_store::memory::InMemory;
use object_store::path::Path;
use silt_core::ids::{CommitSeq, ObjectId, Offset, PartitionId, TopicId, TopicName, WriterId};
use silt_core::keys::Keys;
use silt_core::manifest::{Append, Commit, Edit, NewSegment};
use silt_core::store::{
    CountingStore, GroupedManifestStore, ManifestStore, ObjectManifestStore, Snapshot,
};
use silt_core::testing::{Call, Fault, FlakyStore, Rule};
use silt_core::topic::{TopicConfig, TopicSettings};
use ulid::Ulid;

const PARTITIONS: u32 = 8;

/// A grouped store over a counted in-memory store (reads slowed by `get_delay`), with a
/// topic `t` of [`PARTITIONS`] partitions in one group, created.
async fn grouped(
    get_delay: Option<Duration>,
) -> (GroupedManifestStore, Arc<CountingStore>, TopicName) {
    let counting = Arc::new(CountingStore::new(Arc::new(InMemory::new())));
    let flaky = FlakyStore::new(counting.clone(), 1);
    if let Some(delay) = get_delay {
        flaky.set_rules(vec![Rule::new(Call::Get, Fault::Delay(delay), 1.0)]);
    }
    let keys = Keys::new(Path::default());
    let single = ObjectManifestStore::new(flaky.clone(), keys.clone());
    let store = GroupedManifestStore::new(flaky, keys, single);
    let topic = TopicName::new("t").unwrap();
    let settings = TopicSettings {
        manifest_group_size: Some(PARTITIONS),
        ..TopicSettings::default()
    };
    let topic_id = TopicId(Ulid::from_parts(9, 9));
    let config = TopicConfig::live(topic.clone(), topic_id, PARTITIONS, 0, settings);
    store.create_topic(&config).await.unwrap();
    for p in 0..PARTITIONS {
        let p = PartitionId(p);
        store.create(&topic, p, config.topic_id).await.unwrap();
    }
    (store, counting, topic)
}

fn append_one(p: PartitionId) -> Commit {
    let segment = NewSegment {
        id: ObjectId(Ulid::from_parts(1_000, u128::from(p.0))),
        records: 3,
        bytes: 100,
        min_ts: 0,
        max_ts: 0,
        producer: None,
        mixed_at: None,
    };
    Commit {
        writer: WriterId(Ulid::from_parts(1, 1)),
        seq: CommitSeq(u64::from(p.0) + 1),
        now_ms: 0,
        edit: Edit::Append(Append {
            segments: vec![segment],
            leader_epoch: None,
            expect_next_offset: None,
            lease_until_ms: None,
            seal: None,
        }),
    }
}

async fn snapshots(store: &GroupedManifestStore, topic: &TopicName) -> Vec<Snapshot> {
    let reads = (0..PARTITIONS).map(|p| store.read(topic, PartitionId(p)));
    let read = join_all(reads).await.into_iter();
    read.map(|s| s.unwrap().unwrap()).collect()
}

#[tokio::test]
async fn commits_waiting_together_share_one_write() {
    let (store, counting, topic) = grouped(None).await;
    let bases = snapshots(&store, &topic).await;
    let before = counting.counts();

    let commits = (0..PARTITIONS).map(PartitionId).map(|p| {
        let (store, topic, base) = (&store, &topic, &bases[p.0 as usize]);
        async move { store.commit(topic, p, base, &append_one(p)).await }
    });
    let done = join_all(commits).await;

    let writes = counting.counts().put_update - before.put_update;
    assert_eq!(writes, 1, "{PARTITIONS} commits in one conditional write");
    for (p, done) in done.into_iter().enumerate() {
        let done = done.unwrap();
        assert_eq!(done.base_offset, Some(Offset(0)), "partition {p}");
        assert_eq!(done.snapshot.manifest.next_offset, Offset(3));
    }
    for s in snapshots(&store, &topic).await {
        assert_eq!(
            s.manifest.next_offset,
            Offset(3),
            "{:?}",
            s.manifest.partition
        );
    }
}

#[tokio::test(start_paused = true)]
async fn reads_waiting_together_share_one_get() {
    let (store, counting, topic) = grouped(Some(Duration::from_millis(50))).await;
    let before = counting.counts().get;

    let read = snapshots(&store, &topic).await;

    // The first read's GET was in flight when the others asked: they share the next one.
    assert_eq!(counting.counts().get - before, 2);
    assert_eq!(read.len(), PARTITIONS as usize);
}

/// A runtime shut down right after a commit started its group's writer task, before that
/// task ran: the next commit, from another runtime, still gets written.
#[test]
fn a_writer_task_dropped_before_it_ran_does_not_stop_the_group() {
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let main = runtime();
    let (store, _, topic) = main.block_on(grouped(None));
    let bases = main.block_on(snapshots(&store, &topic));
    let commits: Vec<Commit> = (0..2).map(|p| append_one(PartitionId(p))).collect();
    let commit = |p: u32| {
        let at = p as usize;
        store.commit(&topic, PartitionId(p), &bases[at], &commits[at])
    };

    let doomed = runtime();
    doomed.block_on(async {
        let mut first = std::pin::pin!(commit(0));
        assert!(futures::poll!(first.as_mut()).is_pending());
    });
    drop(doomed);

    let next =
        main.block_on(async { tokio::time::timeout(Duration::from_secs(10), commit(1)).await });
    let done = next.expect("a commit after the dropped writer task must be written");
    assert_eq!(done.unwrap().base_offset, Some(Offset(0)));
}
