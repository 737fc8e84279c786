//! The scenarios. Each takes a fresh [`Storage`] and panics with details on any deviation.

mod bad_input;
mod compaction;
mod crashes;
mod damage;
mod faults;
mod fencing;
mod gc;
mod gc_mixed;
mod group_admin;
mod groups;
mod idempotence;
mod jobs;
mod key_compaction;
mod metrics;
mod mixed;
mod partitioner;
mod produce;
mod reading;
mod retention;
mod sealing;
mod slow_commits;
mod stored_manifest;
mod topic_delete;
mod trimming;

pub use bad_input::{bad_input_is_typed_and_harmless, corrupted_objects_are_reported};
pub use compaction::compaction_merges_tiny_segments_tenfold;
pub use crashes::{writer_killed_between_upload_and_commit, writer_restarts_mid_stream};
pub use damage::{
    full_graveyard_says_gc_first, missing_manifest_is_never_an_empty_partition,
    missing_objects_are_named, swapped_ids_in_an_index_chunk_are_refused,
    swapped_segment_ids_are_refused,
};
pub use faults::{ambiguous_commits_lose_nothing, reads_survive_faults};
pub use fencing::{
    conditional_append, exclusive_takeover_fences_old_writer, idle_leader_keeps_its_lease,
};
pub use gc::{gc_deletes_only_what_nothing_references, gc_orphan_sweep_lists_only_what_is_new};
pub use gc_mixed::{
    gc_keeps_a_mixed_object_another_partition_holds, gc_releases_mixed_objects_of_buried_chunks,
    gc_sweeps_mixed_objects_no_partition_can_commit,
};
pub use group_admin::group_admin_lists_describes_resets_and_deletes;
pub use groups::{
    group_consumers_read_every_record_at_least_once, group_members_split_fence_and_rejoin,
};
pub use idempotence::{
    idempotent_retries_land_exactly_once, idempotent_state_survives_fencing_and_refuses_old_epochs,
};
pub use jobs::{
    jobs_next_to_a_writer_and_reader_lose_nothing, jobs_under_faults_lose_nothing,
    key_compaction_next_to_a_writer_keeps_the_newest_per_key,
};
pub use key_compaction::{
    key_compaction_continues_past_its_budget, key_compaction_keeps_the_newest_per_key,
};
pub use metrics::{Counters, counters, metrics_count_a_known_workload};
pub use mixed::{
    compaction_rewrites_mixed_parts_per_partition,
    gc_and_compaction_racing_mixed_writers_lose_nothing, mixed_objects_under_faults_lose_nothing,
    writer_killed_between_its_partitions_commits,
};
pub use partitioner::kinesis_md5_topics_place_keys_as_kinesis_does;
pub use produce::{many_partitions_many_producers, many_writers_one_partition};
pub use reading::{
    follower_sees_new_records, ranged_reads_of_large_segments, sealed_chunks_stay_readable,
    start_positions,
};
pub use retention::{
    retention_expires_by_time_and_size, retention_next_to_a_writer_loses_nothing_inside_retention,
    retention_under_faults_loses_nothing_inside_retention, retention_walks_a_long_log_page_by_page,
};
pub use sealing::sealed_records_read_back_identical_and_once;
pub use slow_commits::slow_commits_split_at_the_store_limit;
pub use topic_delete::{
    deleted_topic_is_unknown_and_gc_removes_it,
    topic_delete_racing_a_writer_loses_nothing_acknowledged,
};
pub use trimming::{trim_moves_the_log_start, trims_next_to_a_writer_lose_nothing_above_the_start};

use std::sync::Arc;

use bytes::Bytes;
use silt_control::Scope;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::manifest::{Manifest, SegmentEntry};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::testing::{DynamoFaults, DynamoRule};
use silt_core::topic::TopicSettings;
use silt_reader::{Reader, StartFrom};
use silt_writer::{Writer, WriterSettings};

use crate::checker::History;

/// Creates `name` with `partitions` partitions.
pub async fn topic(storage: &Storage, name: &str, partitions: u32) -> TopicName {
    topic_with(storage, name, partitions, TopicSettings::default()).await
}

/// Creates `name` with `partitions` partitions and `settings`.
pub async fn topic_with(
    storage: &Storage,
    name: &str,
    partitions: u32,
    settings: TopicSettings,
) -> TopicName {
    let name = TopicName::new(name).expect("valid name");
    storage
        .create_topic(&name, partitions, settings)
        .await
        .expect("create topic");
    name
}

/// A job scope of only `name`.
pub fn scope(name: &TopicName) -> Scope {
    Scope {
        topics: vec![name.clone()],
        ..Scope::default()
    }
}

/// The current manifest of a partition.
pub async fn manifest(storage: &Storage, name: &TopicName, p: PartitionId) -> Arc<Manifest> {
    storage
        .manifests
        .read(name, p)
        .await
        .unwrap()
        .expect("partition has a manifest")
        .manifest
}

/// Every committed segment of a partition, oldest first, whichever store holds the index.
pub async fn segments(storage: &Storage, name: &TopicName, p: PartitionId) -> Vec<SegmentEntry> {
    let snapshot = storage
        .manifests
        .read(name, p)
        .await
        .unwrap()
        .expect("manifest");
    storage
        .manifests
        .segments_from(name, p, &snapshot, Offset(0), usize::MAX)
        .await
        .unwrap()
}

/// Every record of a partition from its log start, with its offset.
pub async fn read_all(
    storage: &Storage,
    name: &TopicName,
    p: PartitionId,
) -> Vec<(Offset, Record)> {
    let reader = Reader::open(storage.clone(), name).await.unwrap();
    let mut cursor = reader.cursor(p, StartFrom::Earliest).await.unwrap();
    let mut out = Vec::new();
    loop {
        let batch = cursor.next_batch(1000).await.unwrap();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch.into_iter().map(|c| (c.offset, c.record)));
    }
}

/// `storage` with DynamoDB calls failing by `rules` when its manifests live in DynamoDB, and
/// the fault handle; `storage` unchanged otherwise.
pub fn with_dynamo_faults(
    storage: &Storage,
    rules: Vec<DynamoRule>,
    seed: u64,
) -> (Storage, Option<DynamoFaults>) {
    let Some(table) = &storage.manifest_table else {
        return (storage.clone(), None);
    };
    let faults = DynamoFaults::new(rules, seed);
    let client = faults.client(table.client_ref());
    let faulty = storage
        .clone()
        .with_manifest_table(table.clone().with_client(client));
    (faulty, Some(faults))
}

/// Settings with a short linger, for tests.
pub fn quick() -> WriterSettings {
    WriterSettings {
        linger_ms: 2,
        ..WriterSettings::default()
    }
}

/// Sends `count` records `<producer>-<seq>` (keyed by seq, or all to `partition`), pipelined,
/// and returns what each send was told.
pub async fn produce(
    writer: Arc<Writer>,
    producer: &str,
    count: u64,
    partition: Option<PartitionId>,
) -> History {
    produce_in_waves(writer, producer, count, partition, count).await
}

/// Like [`produce`], but waits for every `wave` records to be answered before sending more,
/// so the records spread over many commits.
pub async fn produce_in_waves(
    writer: Arc<Writer>,
    producer: &str,
    count: u64,
    partition: Option<PartitionId>,
    wave: u64,
) -> History {
    let mut pending = Vec::new();
    let mut history = History::default();
    for seq in 0..count {
        if seq % wave.max(1) == 0 {
            for (seq, value, ack) in pending.drain(..) {
                history.answer(producer, seq, value, &ack.await);
            }
        }
        let value = Bytes::from(format!("{producer}-{seq}"));
        let record = Record {
            key: Some(Bytes::from(format!("k{seq}"))),
            value: Some(value.clone()),
            timestamp_ms: 1_000 + seq as i64,
            headers: Vec::new(),
        };
        let sent = match partition {
            Some(p) => writer.send_batch(p, vec![record], None).await,
            None => writer.send(record).await,
        };
        match sent {
            Ok(ack) => pending.push((seq, value, ack)),
            Err(e) => history.answer(producer, seq, value, &Err(e)),
        }
    }
    for (seq, value, ack) in pending {
        history.answer(producer, seq, value, &ack.await);
    }
    history
}
