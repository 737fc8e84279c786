//! Mixed objects (docs/design.md §19) under what the per-partition mode is proven against:
//! injected faults on every call of the write path (the checker must find nothing), and a
//! writer killed after one partition committed its range of an object and before another did;
//! and compaction, which makes every range a per-partition segment again, after which GC
//! deletes every mixed object; and compaction and GC racing mixing writers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use silt_control::{CompactOptions, GcOptions, run_compaction, run_gc};
use silt_core::ids::{PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::testing::{Call, Fault, Rule, SlowCommits};
use silt_writer::{Writer, WriterSettings};

use super::compaction::compact;
use super::crashes::{drop_dead_connections, runtime, until};
use super::faults::{three_writers_under_faults, write_path_faults};
use super::{manifest, produce, produce_in_waves, read_all, scope, segments, topic};
use crate::checker::{History, check};

/// Waves of 20 records a racing writer sends at most while it waits for the jobs to run.
const WAVES_MAX: u32 = 200;

/// A writer that mixes, with a short linger.
fn mixed(linger_ms: u64) -> WriterSettings {
    WriterSettings {
        linger_ms,
        mixed: true,
        ..WriterSettings::default()
    }
}

/// GC of `name` with no reader grace and no orphan grace: the harshest setting.
fn gc_without_graces(name: &TopicName) -> GcOptions {
    GcOptions {
        scope: scope(name),
        reader_grace_ms: 0,
        orphan_grace_ms: 0,
        ..GcOptions::default()
    }
}

/// Two GC runs with no graces, once every range was rewritten: the first moves the orphan
/// floors past the mixed objects, the second finds no partition that may still hold one, so
/// none is left.
async fn gc_leaves_no_mixed_object(storage: &Storage, name: &TopicName) {
    let gc = gc_without_graces(name);
    for _ in 0..2 {
        let report = run_gc(storage, &gc).await.unwrap();
        assert!(report.failed.is_empty(), "{report:?}");
    }
    assert_eq!(mixed_objects(storage, name).await, Vec::<String>::new());
}

/// Mixed objects of a topic, committed or not.
async fn mixed_objects(storage: &Storage, name: &TopicName) -> Vec<String> {
    let listed: Vec<_> = storage
        .objects
        .list(Some(&storage.keys.mixed_folder(name)))
        .try_collect()
        .await
        .unwrap();
    listed.into_iter().map(|m| m.location.to_string()).collect()
}

/// Three mixing writers on four partitions through a faulty store (and faulty DynamoDB calls
/// when the manifests live there), mixed-object PUTs failing too; the checker must find
/// nothing, and the writers must have mixed.
pub async fn mixed_objects_under_faults_lose_nothing(storage: Storage) {
    let name = topic(&storage, "mixed-faults", 4).await;
    let mut rules = write_path_faults();
    rules.extend([
        Rule::new(Call::PutOverwrite, Fault::ErrorBefore, 0.05).on_keys("/mixed/"),
        Rule::new(Call::PutOverwrite, Fault::ErrorAfter, 0.05).on_keys("/mixed/"),
        Rule::new(
            Call::PutOverwrite,
            Fault::Delay(Duration::from_millis(15)),
            0.05,
        )
        .on_keys("/mixed/"),
    ]);
    let run = three_writers_under_faults(&storage, &name, mixed(5), rules, 20).await;
    let objects = mixed_objects(&storage, &name).await.len();
    assert!(objects > 0, "the writers never mixed");
    let report = check(&storage, &name, &run.history).await;
    eprintln!(
        "mixed faults: {}; {objects} mixed objects; {} read back",
        run.summary(),
        report.read
    );
    report.assert_clean();
}

/// A mixing writer puts one record of each of two partitions in one object; partition 0's
/// commit lands, partition 1's stalls until the writer is killed. Partition 0 keeps its
/// acknowledged record (a range of the object), partition 1 has nothing of it, the object
/// stays for partition 0, and the next writer continues both partitions cleanly.
pub async fn writer_killed_between_its_partitions_commits(storage: Storage) {
    let name = topic(&storage, "killed-mixed", 2).await;
    let (p0, p1) = (PartitionId(0), PartitionId(1));
    let first = Arc::new(
        Writer::open(storage.clone(), &name, mixed(5))
            .await
            .unwrap(),
    );
    let mut history = produce(first.clone(), "before-0", 10, Some(p0)).await;
    history.extend(produce(first, "before-1", 10, Some(p1)).await);

    let slow = Arc::new(SlowCommits::new(storage.manifests.clone()).only_partition(p1));
    slow.hold();
    let stalled = Storage {
        manifests: slow.clone(),
        ..storage.clone()
    };
    let seen = Arc::new(Mutex::new(History::default()));
    let (doomed, shared, topic_name) = (runtime(), seen.clone(), name.clone());
    doomed.spawn(async move {
        let writer = Writer::open(stalled, &topic_name, mixed(200))
            .await
            .unwrap();
        let value = |p: u32| Bytes::from(format!("doomed-{p}"));
        let record = |p: u32| vec![Record::from_value(value(p), 0)];
        let to_p1 = writer.send_batch(p1, record(1), None).await.unwrap();
        let to_p0 = writer.send_batch(p0, record(0), None).await.unwrap();
        let result = to_p0.await;
        shared
            .lock()
            .unwrap()
            .answer("doomed", 0, value(0), &result);
        let _ = to_p1.await;
    });
    until("partition 0's commit", async || {
        seen.lock().unwrap().acked() == 1
    })
    .await;
    tokio::time::timeout(Duration::from_secs(60), slow.until_waiting(1))
        .await
        .expect("partition 1's commit waits at the gate");
    doomed.shutdown_background();
    drop_dead_connections(&storage).await;
    history.extend(std::mem::take(&mut *seen.lock().unwrap()));

    let committed = segments(&storage, &name, p0).await;
    let last = committed.last().unwrap();
    assert!(last.mixed_at.is_some(), "both records shared one object");
    assert_eq!(manifest(&storage, &name, p1).await.next_offset.0, 10);
    let objects = mixed_objects(&storage, &name).await;
    assert!(
        objects
            .iter()
            .any(|key| key.ends_with(&format!("{}.mix", last.id)))
    );

    let next = Arc::new(
        Writer::open(storage.clone(), &name, mixed(5))
            .await
            .unwrap(),
    );
    history.extend(produce(next.clone(), "after-0", 10, Some(p0)).await);
    history.extend(produce(next, "after-1", 10, Some(p1)).await);
    let report = check(&storage, &name, &history).await;
    report.assert_clean();
    assert_eq!(report.read, 41);
}

/// Thirty rounds of one record per partition make ranges of mixed objects in all four
/// partitions; compaction rewrites every one into per-partition segments with offsets and
/// records unchanged, and a second run finds nothing left to do for them.
pub async fn compaction_rewrites_mixed_parts_per_partition(storage: Storage) {
    let name = topic(&storage, "compact-mixed", 4).await;
    let writer = Writer::open(storage.clone(), &name, mixed(5))
        .await
        .unwrap();
    for wave in 0..30u64 {
        let mut acks = Vec::new();
        for p in (0..4).map(PartitionId) {
            let record = Record::from_value(format!("{p}-{wave}"), wave as i64);
            acks.push(writer.send_batch(p, vec![record], None).await.unwrap());
        }
        for ack in acks {
            ack.await.unwrap();
        }
    }
    writer.close().await;
    let mut written = Vec::new();
    for p in (0..4).map(PartitionId) {
        let mixed = segments(&storage, &name, p).await;
        assert!(mixed.iter().any(|e| e.is_mixed()), "{p} has mixed ranges");
        written.push(read_all(&storage, &name, p).await);
    }
    assert!(!mixed_objects(&storage, &name).await.is_empty());

    let report = compact(&storage, &name, false).await;
    assert!(report.segments_merged >= 4 * 2, "{report:?}");
    while compact(&storage, &name, false).await.segments_merged > 0 {}
    for (p, written) in (0..4).map(PartitionId).zip(written) {
        let entries = segments(&storage, &name, p).await;
        assert!(entries.iter().all(|e| !e.is_mixed()), "{p}: {entries:?}");
        assert_eq!(read_all(&storage, &name, p).await, written, "{p}");
        assert_eq!(written.len(), 30);
    }

    // Every range was rewritten, so GC releases every mixed object.
    gc_leaves_no_mixed_object(&storage, &name).await;
    for p in (0..4).map(PartitionId) {
        assert_eq!(read_all(&storage, &name, p).await.len(), 30, "{p} after GC");
    }
}

/// Two mixing writers append to three partitions in waves (at least 200 records each, and
/// until the jobs have run three rounds) while compaction and two GCs (no reader grace, no
/// orphan grace: the harshest setting) run again and again. Nothing
/// acknowledged may be lost, moved or duplicated, no job may fail, and once a last
/// compaction rewrote every range, GC leaves no mixed object behind.
pub async fn gc_and_compaction_racing_mixed_writers_lose_nothing(storage: Storage) {
    let name = topic(&storage, "mixed-race", 3).await;
    let done = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicU64::new(0));
    let jobs = jobs_until(storage.clone(), name.clone(), done.clone(), rounds.clone());
    let jobs = tokio::spawn(jobs);
    let mut writers = Vec::new();
    for w in 0..2 {
        let writer = Writer::open(storage.clone(), &name, mixed(5)).await;
        let (writer, rounds) = (Arc::new(writer.unwrap()), rounds.clone());
        writers.push(tokio::spawn(async move {
            let mut history = History::default();
            for wave in 0..WAVES_MAX {
                if wave >= 10 && rounds.load(Ordering::SeqCst) >= 3 {
                    break;
                }
                let producer = format!("w{w}-{wave}");
                history.extend(produce_in_waves(writer.clone(), &producer, 20, None, 20).await);
            }
            history
        }));
    }
    let mut history = History::default();
    for w in writers {
        history.extend(w.await.unwrap());
    }
    done.store(true, Ordering::SeqCst);
    let (runs, deleted) = jobs.await.unwrap();
    let left = mixed_objects(&storage, &name).await.len() as u64;
    assert!(deleted + left > 0, "the writers never mixed");
    check(&storage, &name, &history).await.assert_clean();

    while compact(&storage, &name, false).await.segments_merged > 0 {}
    gc_leaves_no_mixed_object(&storage, &name).await;
    let report = check(&storage, &name, &history).await;
    println!(
        "mixed race: {runs} job rounds deleted {deleted} mixed objects ({left} left for the last pass); {} acknowledged, {} read back",
        history.acked(),
        report.read
    );
    report.assert_clean();
}

/// Compaction and two GCs at once, again and again, until `done`; returns the rounds run and
/// the mixed objects GC deleted. No job may fail: nothing injects faults here.
async fn jobs_until(
    storage: Storage,
    name: TopicName,
    done: Arc<AtomicBool>,
    rounds: Arc<AtomicU64>,
) -> (u64, u64) {
    let compact = CompactOptions {
        scope: scope(&name),
        target_bytes: 4 * 1024,
        ..CompactOptions::default()
    };
    let gc = gc_without_graces(&name);
    let mut deleted = 0;
    while !done.load(Ordering::SeqCst) {
        let (c, g1, g2) = tokio::join!(
            run_compaction(&storage, &compact),
            run_gc(&storage, &gc),
            run_gc(&storage, &gc),
        );
        let c = c.unwrap();
        assert!(c.failed.is_empty(), "{c:?}");
        for g in [g1.unwrap(), g2.unwrap()] {
            assert!(g.failed.is_empty(), "{g:?}");
            deleted += g.mixed_deleted;
        }
        rounds.fetch_add(1, Ordering::SeqCst);
        silt_core::clock::sleep(Duration::from_millis(5)).await;
    }
    (rounds.load(Ordering::SeqCst), deleted)
}
