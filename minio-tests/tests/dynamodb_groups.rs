//! Grouped commits on DynamoDB (docs/design.md §19, Commits): appends to different partitions
//! through one store share `TransactWriteItems`, each lands exactly once at the right offsets,
//! a member whose condition fails is told so alone while the others are sent again without
//! reading, and after an ambiguous failure each member reads its head and decides. Runs
//! against the DynamoDB API at `SILT_TEST_DYNAMODB` (moto, started by the test script; it
//! serves one request at a time, so transactions do overlap); segments are in memory.
//! Skipped without it.
//!
//! Each test runs on the default single-threaded runtime and records into a
//! `DebuggingRecorder` local to its thread: every transaction sent is one count of
//! `silt_store_requests_total{op=dynamodb_transact}`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use tokio::time::Instant;

use metrics_util::debugging::{DebuggingRecorder, Snapshotter};
use silt_core::clock::{Clock, SystemClock};
use silt_core::ids::{CommitSeq, ObjectId, Offset, PartitionId, TopicName, WriterId};
use silt_core::manifest::{Append, Commit, Edit, NewSegment};
use silt_core::metrics::{STORE_ERRORS, STORE_REQUESTS};
use silt_core::store::{DynamoManifestStore, Snapshot, Storage};
use silt_core::testing::{DynamoError, DynamoFault, DynamoFaults, DynamoRule};
use silt_minio_tests::backends;
use silt_minio_tests::scenarios::{Counters, counters, segments, topic};

const PARTITIONS: u32 = 16;
const ROUNDS: u64 = 3;
const RECORDS: u64 = 10;

/// Storage with segments in memory and manifests in a fresh table, or `None` without
/// `SILT_TEST_DYNAMODB`.
async fn storage() -> Option<Storage> {
    let endpoint = std::env::var("SILT_TEST_DYNAMODB").ok()?;
    let client = DynamoManifestStore::client(Some(&endpoint)).await;
    let table = format!("{}-{}", backends::TEST_TABLE_PREFIX, SystemClock.new_ulid());
    let storage = backends::memory().storage.with_dynamodb(client, &table);
    storage.manifest_table.as_ref()?.init().await.unwrap();
    Some(storage)
}

/// `storage` with commits grouped or not.
fn grouped(storage: &Storage, on: bool) -> Storage {
    let table = storage.manifest_table.clone().unwrap();
    storage
        .clone()
        .with_manifest_table(table.with_grouped_commits(on))
}

/// An append of one segment of [`RECORDS`] records by `writer`.
fn append(writer: WriterId, seq: u64) -> Commit {
    let segment = NewSegment {
        id: ObjectId(SystemClock.new_ulid()),
        records: RECORDS as u32,
        bytes: 100,
        min_ts: 0,
        max_ts: 0,
        producer: None,
        mixed_at: None,
    };
    Commit {
        writer,
        seq: CommitSeq(seq),
        now_ms: SystemClock.now_ms(),
        edit: Edit::Append(Append {
            segments: vec![segment],
            leader_epoch: None,
            expect_next_offset: None,
            lease_until_ms: None,
            seal: None,
        }),
    }
}

/// Counter `name{labels}` in `counters`.
fn count(counters: &Counters, name: &str, labels: &str) -> u64 {
    let key = format!("{name}{{{labels}}}");
    counters.get(&key).copied().unwrap_or(0)
}

/// Commits one append to each of `partitions` concurrently, each on its snapshot in `heads`,
/// and returns the base offsets given, by partition.
async fn commit_all(
    storage: &Storage,
    name: &TopicName,
    heads: &[Snapshot],
    commits: &[Commit],
) -> Vec<Offset> {
    let mut tasks = Vec::new();
    for (i, (head, commit)) in heads.iter().zip(commits).enumerate() {
        let (storage, name, head, commit) =
            (storage.clone(), name.clone(), head.clone(), commit.clone());
        let p = PartitionId(i as u32);
        tasks.push(tokio::spawn(async move {
            storage.manifests.commit(&name, p, &head, &commit).await
        }));
    }
    let mut offsets = Vec::new();
    for t in tasks {
        offsets.push(t.await.unwrap().unwrap().base_offset.unwrap());
    }
    offsets
}

/// Rounds of one concurrent append per partition; returns the transactions sent.
async fn rounds(storage: &Storage, name: &TopicName, snapshotter: &Snapshotter) -> u64 {
    counters(snapshotter);
    let writer = WriterId(SystemClock.new_ulid());
    for round in 0..ROUNDS {
        let mut heads = Vec::new();
        for p in 0..PARTITIONS {
            heads.push(
                storage
                    .manifests
                    .read(name, PartitionId(p))
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        let commits: Vec<Commit> = (0..PARTITIONS).map(|_| append(writer, round + 1)).collect();
        let offsets = commit_all(storage, name, &heads, &commits).await;
        let expected = heads[0].manifest.next_offset;
        assert!(offsets.iter().all(|o| *o == expected), "{offsets:?}");
    }
    count(
        &counters(snapshotter),
        STORE_REQUESTS,
        "op=dynamodb_transact",
    )
}

/// Every partition holds exactly `count` segments of [`RECORDS`], back to back from 0.
async fn assert_each_lands_once(storage: &Storage, name: &TopicName, count: u64) {
    for p in 0..PARTITIONS {
        let p = PartitionId(p);
        let m = storage
            .manifests
            .read(name, p)
            .await
            .unwrap()
            .unwrap()
            .manifest;
        assert_eq!(m.next_offset, Offset(count * RECORDS), "partition {p:?}");
        let all = segments(storage, name, p).await;
        let bases: Vec<u64> = all.iter().map(|e| e.base_offset.0).collect();
        let expected: Vec<u64> = (0..count).map(|i| i * RECORDS).collect();
        assert_eq!(bases, expected, "partition {p:?}");
    }
}

/// Sixteen partitions committing at once through one store share transactions; with
/// grouping off each commit is a transaction of its own.
#[tokio::test]
async fn concurrent_partitions_share_transactions() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let Some(storage) = storage().await else {
        return;
    };
    let name = topic(&storage, "grouped", PARTITIONS).await;
    let commits = ROUNDS * u64::from(PARTITIONS);

    let started = Instant::now();
    let together = rounds(&grouped(&storage, true), &name, &snapshotter).await;
    let took = started.elapsed();
    println!("grouped: {together} transactions for {commits} commits in {took:?}");
    assert!(
        together < commits / 2,
        "{together} transactions for {commits} commits"
    );
    assert_each_lands_once(&storage, &name, ROUNDS).await;

    let started = Instant::now();
    let apart = rounds(&grouped(&storage, false), &name, &snapshotter).await;
    let took = started.elapsed();
    println!("not grouped: {apart} transactions for {commits} commits in {took:?}");
    assert_eq!(apart, commits);
    assert_each_lands_once(&storage, &name, 2 * ROUNDS).await;
}

/// In one transaction, the commit of a partition another writer advanced meanwhile fails its
/// condition: it alone reads its head (and lands after the other writer's segment); the
/// others were fine and are sent again without reading anything.
#[tokio::test]
async fn a_lost_race_sends_the_others_again_without_reading() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let Some(storage) = storage().await else {
        return;
    };
    let storage = grouped(&storage, true);
    let name = topic(&storage, "race", PARTITIONS).await;
    let (writer, other) = (
        WriterId(SystemClock.new_ulid()),
        WriterId(SystemClock.new_ulid()),
    );
    let mut heads = Vec::new();
    for p in 0..PARTITIONS {
        heads.push(
            storage
                .manifests
                .read(&name, PartitionId(p))
                .await
                .unwrap()
                .unwrap(),
        );
    }
    // Partition 15, last in the queue, has moved on since its head was read.
    let stale = PartitionId(PARTITIONS - 1);
    let first = append(other, 1);
    let moved = storage
        .manifests
        .commit(&name, stale, &heads[stale.0 as usize], &first);
    moved.await.unwrap();

    counters(&snapshotter);
    let commits: Vec<Commit> = (0..PARTITIONS).map(|_| append(writer, 1)).collect();
    let offsets = commit_all(&storage, &name, &heads, &commits).await;
    let recorded = counters(&snapshotter);
    let sent = count(&recorded, STORE_REQUESTS, "op=dynamodb_transact");
    let gets = count(&recorded, STORE_REQUESTS, "op=dynamodb_get");
    let cancelled = count(
        &recorded,
        STORE_ERRORS,
        "op=dynamodb_transact,kind=conflict",
    );
    println!(
        "{sent} transactions for {PARTITIONS} commits, {cancelled} cancelled, {gets} head read"
    );
    assert_eq!(
        offsets[stale.0 as usize],
        Offset(RECORDS),
        "after the other writer's"
    );
    assert!(
        offsets[..stale.0 as usize].iter().all(|o| *o == Offset(0)),
        "{offsets:?}"
    );
    assert_eq!(
        cancelled, 1,
        "one transaction cancelled, by partition 15's condition"
    );
    assert_eq!(gets, 1, "only the partition that lost its race reads");
    assert!(sent < u64::from(PARTITIONS), "{sent} transactions");

    let m = storage
        .manifests
        .read(&name, stale)
        .await
        .unwrap()
        .unwrap()
        .manifest;
    assert_eq!(m.next_offset, Offset(2 * RECORDS));
    let bases: Vec<u64> = segments(&storage, &name, stale)
        .await
        .iter()
        .map(|e| e.base_offset.0)
        .collect();
    assert_eq!(bases, vec![0, RECORDS]);
    for p in 0..PARTITIONS - 1 {
        let m = storage
            .manifests
            .read(&name, PartitionId(p))
            .await
            .unwrap()
            .unwrap()
            .manifest;
        assert_eq!(m.next_offset, Offset(RECORDS), "partition {p}");
        assert_eq!(m.segment_count(), 1, "partition {p}");
    }
}

/// Grouped transactions that fail before or after taking effect (throttled, a server error,
/// cancelled without reasons) leave each member to read its head and decide: every commit
/// still lands exactly once, at the offset it was told.
#[tokio::test]
async fn ambiguous_grouped_transactions_land_once() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let Some(storage) = storage().await else {
        return;
    };
    let name = topic(&storage, "ambiguous", PARTITIONS).await;
    let rule = |fault, probability| DynamoRule {
        operation: "TransactWriteItems",
        fault,
        probability,
    };
    let faults = DynamoFaults::new(
        vec![
            rule(DynamoFault::After(DynamoError::ServerError), 0.2),
            rule(DynamoFault::After(DynamoError::Cancelled), 0.15),
            rule(DynamoFault::Before(DynamoError::Throttling), 0.15),
            rule(DynamoFault::Before(DynamoError::Cancelled), 0.1),
        ],
        19,
    );
    let table = storage.manifest_table.clone().unwrap();
    let faulty = table.clone().with_client(faults.client(table.client_ref()));
    let faulty = storage.clone().with_manifest_table(faulty);
    let sent = rounds(&faulty, &name, &snapshotter).await;
    let commits = ROUNDS * u64::from(PARTITIONS);
    println!(
        "{sent} transactions for {commits} commits, {} faults injected",
        faults.injected()
    );
    assert!(faults.injected() > 5, "only {} faults", faults.injected());
    assert_each_lands_once(&storage, &name, ROUNDS).await;
}
