//! What only the DynamoDB manifest store has: a head item whose size does not grow with the
//! log, per-attribute conditions that still keep every writer's marker, and a table that is
//! created once and checked on every open. The shared scenarios (in
//! `suite.rs`, backend `dynamodb`) cover commits, fencing and faults. Runs against the DynamoDB
//! API at `SILT_TEST_DYNAMODB` (moto, started by the test script); skipped without it.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::ops::Range;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use silt_core::clock::{Clock, SystemClock};
use silt_core::error::{Error, InvalidInput};
use silt_core::ids::{CommitSeq, ObjectId, Offset, PartitionId, TopicName, WriterId};
use silt_core::manifest::{Append, Commit, Edit, NewSegment};
use silt_core::store::{DynamoManifestStore, LookupLimits, ManifestStore, Storage};
use silt_core::testing::DynamoFaults;
use silt_minio_tests::backends;
use silt_minio_tests::scenarios::{segments, topic};

/// Segments per commit: near DynamoDB's 100 items per transaction (one is the head).
const SEGMENTS_PER_COMMIT: usize = 90;
const COMMITS: u64 = 40;
const WRITERS: u64 = 4;

/// A shared append by `writer` of segments numbered `segments`, ten records each (the
/// objects are never read, so none are uploaded).
fn append(writer: WriterId, seq: u64, segments: Range<u64>, now_ms: i64) -> Commit {
    let segment = |i: u64| NewSegment {
        id: ObjectId(SystemClock.new_ulid()),
        records: 10,
        bytes: 1000,
        min_ts: i as i64,
        max_ts: i as i64,
        producer: None,
        mixed_at: None,
    };
    Commit {
        writer,
        seq: CommitSeq(seq),
        now_ms,
        edit: Edit::Append(Append {
            segments: segments.map(segment).collect(),
            leader_epoch: None,
            expect_next_offset: None,
            lease_until_ms: None,
            seal: None,
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_item_stays_small_as_the_log_grows() {
    let Some(backend) = backends::dynamodb("SILT_TEST_SEAWEEDFS").await else {
        return;
    };
    let storage = backend.storage;
    let table = storage.manifest_table.clone().unwrap();
    let (name, p) = (topic(&storage, "long", 1).await, PartitionId(0));
    let writers: Vec<WriterId> = (0..WRITERS)
        .map(|_| WriterId(SystemClock.new_ulid()))
        .collect();
    let mut snapshot = storage.manifests.read(&name, p).await.unwrap().unwrap();
    let mut sizes = Vec::new();
    for c in 0..COMMITS {
        let first = c * SEGMENTS_PER_COMMIT as u64;
        let writer = writers[(c % WRITERS) as usize];
        let commit = append(
            writer,
            c + 1,
            first..first + SEGMENTS_PER_COMMIT as u64,
            c as i64,
        );
        let committed = storage
            .manifests
            .commit(&name, p, &snapshot, &commit)
            .await
            .unwrap();
        assert_eq!(committed.base_offset, Some(Offset(first * 10)));
        snapshot = committed.snapshot;
        sizes.push(table.head_item_bytes(&name, p).await.unwrap().unwrap());
    }
    let total = COMMITS * SEGMENTS_PER_COMMIT as u64;
    let (half, last) = (sizes[sizes.len() / 2 - 1], sizes[sizes.len() - 1]);
    println!(
        "head item: {half} bytes after {} segments, {last} after {total}",
        total / 2
    );
    // Only the digits of counters grow, and none gains a digit while the log doubles here.
    assert!(
        last <= half,
        "head grew from {half} to {last} bytes while the log doubled: {sizes:?}"
    );
    assert!(last < 1024, "head item is {last} bytes");

    let m = storage.manifests.read(&name, p).await.unwrap().unwrap();
    assert_eq!(m.manifest.segment_count(), total);
    assert_eq!(m.manifest.next_offset, Offset(total * 10));
    assert!(m.manifest.segments.is_empty(), "the head holds no entries");
    for offset in [0, 9, 10, total * 5 + 3, total * 10 - 1] {
        let found = storage
            .manifests
            .segment_at(&name, p, &m, Offset(offset))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            found.base_offset,
            Offset(offset / 10 * 10),
            "offset {offset}"
        );
    }
    let beyond = storage
        .manifests
        .segment_at(&name, p, &m, Offset(total * 10));
    assert_eq!(beyond.await.unwrap(), None);
    let all = segments(&storage, &name, p).await;
    assert_eq!(all.len() as u64, total);
    assert!(
        all.windows(2)
            .all(|w| w[0].end_offset() == w[1].base_offset)
    );
}

/// A lookup by timestamp lets DynamoDB skip the older segment items (a filter): after the
/// query that finds where to start, one page holds the answer, where a scan of the items read
/// a page per 500 of them; and a lookup stops at its limit of pages, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timestamp_lookup_reads_a_bounded_number_of_pages() {
    let Some(backend) = backends::dynamodb("SILT_TEST_SEAWEEDFS").await else {
        return;
    };
    let storage = backend.storage;
    let (name, p) = (topic(&storage, "by-time", 1).await, PartitionId(0));
    let writer = WriterId(SystemClock.new_ulid());
    let mut snapshot = storage.manifests.read(&name, p).await.unwrap().unwrap();
    let commits = 34; // 3 060 segments of ten records, segment i with timestamps i
    for c in 0..commits {
        let first = c * SEGMENTS_PER_COMMIT as u64;
        let segments = first..first + SEGMENTS_PER_COMMIT as u64;
        let commit = append(writer, c + 1, segments, c as i64);
        let committed = storage.manifests.commit(&name, p, &snapshot, &commit);
        snapshot = committed.await.unwrap().snapshot;
    }
    let total = commits * SEGMENTS_PER_COMMIT as u64;
    let table = storage.manifest_table.clone().unwrap();
    let calls = DynamoFaults::new(Vec::new(), 0);
    let counted = table.clone().with_client(calls.client(table.client_ref()));
    for (ts, from, expected) in [
        (total - 5, 0, Some(total - 5)),
        (total + 1, 0, None),
        (100, 500 * 10 + 3, Some(500)),
    ] {
        let before = calls.calls("Query");
        let found = counted
            .first_segment_reaching(&name, p, &snapshot, ts as i64, Offset(from))
            .await
            .unwrap();
        assert_eq!(
            found.map(|e| e.base_offset),
            expected.map(|s| Offset(s * 10))
        );
        let queries = calls.calls("Query") - before;
        println!("timestamp {ts} from offset {from}: {queries} queries over {total} segments");
        assert!(queries <= 2, "{queries} queries to find timestamp {ts}");
    }
    let limits = LookupLimits {
        pages_max: 2,
        items_per_page: Some(500),
    };
    let limited = counted.with_lookup_limits(limits);
    let near = limited.first_segment_reaching(&name, p, &snapshot, 600, Offset(0));
    assert_eq!(
        near.await.unwrap().map(|e| e.base_offset),
        Some(Offset(6000))
    );
    let far = limited.first_segment_reaching(&name, p, &snapshot, total as i64 - 5, Offset(0));
    match far.await {
        Err(Error::Invalid(InvalidInput::TimestampLookupTooLong { pages: 2, .. })) => {}
        other => panic!("expected TimestampLookupTooLong, got {other:?}"),
    }
}

/// A claim built on an old head drops the markers that had aged out in it, but only if they
/// are still as it read them: a writer that committed again meanwhile keeps its marker (its
/// commit's outcome is learned from it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_on_an_old_head_keeps_a_fresh_marker() {
    let Some(backend) = backends::dynamodb("SILT_TEST_SEAWEEDFS").await else {
        return;
    };
    let storage = backend.storage;
    let (name, p) = (topic(&storage, "markers", 1).await, PartitionId(0));
    let (writer, claimer) = (
        WriterId(SystemClock.new_ulid()),
        WriterId(SystemClock.new_ulid()),
    );
    let later = 20 * 60 * 1000; // past the markers' 15 minutes
    let mut head = storage.manifests.read(&name, p).await.unwrap().unwrap();
    head = storage
        .manifests
        .commit(&name, p, &head, &append(writer, 1, 0..1, 0))
        .await
        .unwrap()
        .snapshot;
    let old_head = head.clone();
    storage
        .manifests
        .commit(&name, p, &head, &append(writer, 2, 1..2, later))
        .await
        .unwrap();
    let claim = Commit {
        writer: claimer,
        seq: CommitSeq(1),
        now_ms: later,
        edit: Edit::Claim {
            lease_until_ms: later + 10_000,
        },
    };
    storage
        .manifests
        .commit(&name, p, &old_head, &claim)
        .await
        .unwrap();
    let m = storage
        .manifests
        .read(&name, p)
        .await
        .unwrap()
        .unwrap()
        .manifest;
    let marker = m
        .marker(writer)
        .expect("the writer's fresh marker survives the claim");
    assert_eq!(marker.commit_seq, CommitSeq(2));
    assert!(m.marker(claimer).is_some());
}

/// A store for `table` in the DynamoDB API of the test script, or `None` without one.
async fn store(table: &str) -> Option<(Storage, DynamoManifestStore)> {
    let endpoint = std::env::var("SILT_TEST_DYNAMODB").ok()?;
    let client = DynamoManifestStore::client(Some(&endpoint)).await;
    let storage = backends::memory().storage.with_dynamodb(client, table);
    let manifests = storage.manifest_table.clone()?;
    Some((storage, manifests))
}

#[tokio::test]
async fn missing_table_is_named_with_the_command_that_creates_it() {
    let table = format!("silt-absent-{}", SystemClock.new_ulid());
    let Some((storage, manifests)) = store(&table).await else {
        return;
    };
    let checked = manifests.check().await.unwrap_err();
    let created = storage
        .create_topic(&TopicName::new("t").unwrap(), 1, Default::default())
        .await
        .unwrap_err();
    for e in [checked, created] {
        assert!(matches!(e, Error::ManifestTable { .. }), "{e:?}");
        let message = e.to_string();
        assert!(message.contains(&table), "{message}");
        assert!(message.contains("manifest init"), "{message}");
    }
}

#[tokio::test]
async fn init_creates_once_and_then_only_checks() {
    let table = format!("silt-init-{}", SystemClock.new_ulid());
    let Some((storage, manifests)) = store(&table).await else {
        return;
    };
    assert!(manifests.init().await.unwrap(), "first init creates");
    assert!(!manifests.init().await.unwrap(), "second init finds it");
    assert!(manifests.check().await.unwrap(), "active");
    let name = topic(&storage, "t", 2).await;
    assert_eq!(storage.list_topics().await.unwrap(), vec![name]);
}

#[tokio::test]
async fn table_with_another_key_schema_is_refused() {
    let table = format!("silt-foreign-{}", SystemClock.new_ulid());
    let Some((_, manifests)) = store(&table).await else {
        return;
    };
    manifests
        .client_ref()
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    for e in [
        manifests.check().await.unwrap_err(),
        manifests.init().await.unwrap_err(),
    ] {
        let message = e.to_string();
        assert!(matches!(e, Error::ManifestTable { .. }), "{e:?}");
        assert!(message.contains("id HASH"), "{message}");
        assert!(message.contains("pk (S, HASH), sk (S, RANGE)"), "{message}");
    }
}
