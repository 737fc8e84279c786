//! The per-member request cost in steady state (docs/consumer-groups.md §8), counted with
//! `CountingStore`: per heartbeat interval one conditional PUT (the heartbeat) and two
//! conditional GETs (the group document, the successor's heartbeat), plus one conditional PUT
//! per partition whose offset advanced. Nothing is renewed per partition held. A consumer
//! waiting on quiet partitions revalidates each one's manifest about once a second.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::sync::Arc;
use std::time::Duration;

use object_store::memory::InMemory;
use object_store::path::Path;
use silt_core::ids::PartitionId;
use silt_core::ids::{GroupName, TopicName};
use silt_core::record::Record;
use silt_core::store::{CountingStore, Storage};
use silt_core::topic::TopicSettings;
use silt_group::{GroupConsumer, GroupMember, GroupSettings};
use silt_writer::{Writer, WriterSettings};

const MEMBERS: usize = 3;
const PARTITIONS: u32 = 12;
const TICKS: u64 = 20;

#[tokio::test]
async fn a_member_in_steady_state_costs_one_put_and_two_gets_per_heartbeat() {
    let counting = Arc::new(CountingStore::new(Arc::new(InMemory::new())));
    let storage = Storage::over(counting.clone(), Path::default(), "memory://");
    let topic = TopicName::new("orders").unwrap();
    storage
        .create_topic(&topic, PARTITIONS, TopicSettings::default())
        .await
        .unwrap();
    let group = GroupName::new("billing").unwrap();
    let settings = GroupSettings::default();
    let heartbeat = settings.heartbeat();
    let mut now = Duration::ZERO;
    let mut members = Vec::new();
    let topics = [topic.clone()];
    for _ in 0..MEMBERS {
        let joined = GroupMember::join(&storage, &group, &topics, settings.clone(), now);
        members.push(joined.await.unwrap());
    }
    // Settle: every member takes its share.
    for _ in 0..3 {
        now += heartbeat;
        for m in &mut members {
            m.tick(now).await.unwrap();
        }
    }
    let held: Vec<usize> = members.iter().map(|m| m.assignment().len()).collect();
    assert_eq!(held, [4, 4, 4]);

    let before = counting.counts();
    for _ in 0..TICKS {
        now += heartbeat;
        for m in &mut members {
            m.tick(now).await.unwrap();
        }
    }
    let idle = counting.counts().since(&before);
    let ticks = TICKS * MEMBERS as u64;
    assert_eq!(
        (idle.put_update, idle.put_create, idle.put_overwrite),
        (ticks, 0, 0),
        "{idle:?}"
    );
    assert_eq!(
        (idle.get, idle.list, idle.delete),
        (2 * ticks, 0, 0),
        "{idle:?}"
    );

    // Commits: one conditional PUT per partition that advanced; none for one that did not.
    let before = counting.counts();
    for (i, m) in members.iter_mut().enumerate() {
        for (j, a) in m.assignment().into_iter().enumerate() {
            if j % 2 == 0 {
                let next = a.committed.unwrap_or(0) + 10 + i as u64;
                m.consumed(&a.partition, next);
            }
        }
        m.commit_consumed().await.unwrap();
        m.commit_consumed().await.unwrap(); // nothing moved since: no request
    }
    let commits = counting.counts().since(&before);
    assert_eq!(
        (commits.put_update, commits.get),
        (MEMBERS as u64 * 2, 0),
        "{commits:?}"
    );
    println!(
        "per member per heartbeat: {} PUT, {} GET; commits: 1 PUT per advanced partition",
        idle.put_update / ticks,
        idle.get / ticks
    );
}

/// A consumer waiting on quiet partitions revalidates each one's manifest at most about once a
/// second (the pause doubles from the reader's 100 ms poll interval while nothing comes), and
/// still sees a new record within that second.
#[tokio::test(start_paused = true)]
async fn an_idle_consumer_revalidates_each_quiet_partition_about_once_a_second() {
    let counting = Arc::new(CountingStore::new(Arc::new(InMemory::new())));
    let storage = Storage::over(counting.clone(), Path::default(), "memory://");
    let topic = TopicName::new("quiet").unwrap();
    storage
        .create_topic(&topic, PARTITIONS, TopicSettings::default())
        .await
        .unwrap();
    let group = GroupName::new("watchers").unwrap();
    let topics = [topic.clone()];
    let settings = GroupSettings::default();
    let mut consumer = GroupConsumer::join(storage.clone(), &group, &topics, settings)
        .await
        .unwrap();
    while consumer.assignment().await.len() < PARTITIONS as usize {
        consumer
            .poll(100, Duration::from_millis(500))
            .await
            .unwrap();
    }
    let idle_secs = 60;
    let before = counting.counts();
    let started = tokio::time::Instant::now();
    while started.elapsed() < Duration::from_secs(idle_secs) {
        let polled = consumer
            .poll(100, Duration::from_millis(500))
            .await
            .unwrap();
        assert!(polled.batches.is_empty());
    }
    let idle = counting.counts().since(&before);
    let revalidations = PARTITIONS as u64 * idle_secs;
    let heartbeat_gets = 2 * idle_secs / 3 + 2;
    assert!(
        idle.get >= revalidations / 2
            && idle.get <= revalidations + heartbeat_gets + 2 * PARTITIONS as u64,
        "{} GETs in {idle_secs} s over {PARTITIONS} quiet partitions: {idle:?}",
        idle.get
    );
    println!(
        "idle consumer: {:.2} GETs per quiet partition per second (heartbeats included)",
        idle.get as f64 / (PARTITIONS as u64 * idle_secs) as f64
    );

    let writer = Writer::open(storage.clone(), &topic, WriterSettings::default())
        .await
        .unwrap();
    let sent = tokio::time::Instant::now();
    let wake = vec![Record::from_value("wake", 0)];
    writer.append(PartitionId(5), wake).await.unwrap();
    let mut seen = Vec::new();
    while seen.is_empty() {
        let polled = consumer
            .poll(100, Duration::from_millis(500))
            .await
            .unwrap();
        seen.extend(polled.batches);
        assert!(
            sent.elapsed() < Duration::from_secs(3),
            "the new record was not seen"
        );
    }
    assert!(
        sent.elapsed() <= Duration::from_millis(1_300),
        "{:?}",
        sent.elapsed()
    );
    consumer.close().await.unwrap();
}
