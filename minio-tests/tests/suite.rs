//! Every scenario on every backend: `memory://` and `file://` always; SeaweedFS, moto and any
//! `SILT_TEST_S3_URL` target when the test script (or you) set their variables; and with
//! manifests in DynamoDB (moto) and segments on SeaweedFS; and on `memory://` and SeaweedFS
//! with topics whose manifests are kept in groups.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use silt_minio_tests::{backends, scenarios};

/// The scenarios that hold whatever the manifests' layout.
macro_rules! everywhere {
    ($open:expr) => {
        suite!(@each $open;
                many_partitions_many_producers, many_writers_one_partition,
                exclusive_takeover_fences_old_writer, conditional_append,
                idle_leader_keeps_its_lease, slow_commits_split_at_the_store_limit,
                ambiguous_commits_lose_nothing, reads_survive_faults, start_positions,
                follower_sees_new_records, sealed_chunks_stay_readable,
                ranged_reads_of_large_segments, bad_input_is_typed_and_harmless,
                writer_killed_between_upload_and_commit, writer_restarts_mid_stream,
                trim_moves_the_log_start, trims_next_to_a_writer_lose_nothing_above_the_start,
                retention_expires_by_time_and_size,
                retention_next_to_a_writer_loses_nothing_inside_retention,
                retention_under_faults_loses_nothing_inside_retention,
                retention_walks_a_long_log_page_by_page, gc_orphan_sweep_lists_only_what_is_new,
                gc_keeps_a_mixed_object_another_partition_holds,
                gc_sweeps_mixed_objects_no_partition_can_commit,
                gc_releases_mixed_objects_of_buried_chunks,
                compaction_merges_tiny_segments_tenfold,
                jobs_next_to_a_writer_and_reader_lose_nothing, jobs_under_faults_lose_nothing,
                key_compaction_keeps_the_newest_per_key, key_compaction_continues_past_its_budget,
                key_compaction_next_to_a_writer_keeps_the_newest_per_key,
                swapped_ids_in_an_index_chunk_are_refused, missing_objects_are_named,
                metrics_count_a_known_workload, kinesis_md5_topics_place_keys_as_kinesis_does,
                deleted_topic_is_unknown_and_gc_removes_it, group_members_split_fence_and_rejoin,
                group_admin_lists_describes_resets_and_deletes,
                group_consumers_read_every_record_at_least_once,
                idempotent_retries_land_exactly_once,
                idempotent_state_survives_fencing_and_refuses_old_epochs,
                mixed_objects_under_faults_lose_nothing,
                writer_killed_between_its_partitions_commits,
                compaction_rewrites_mixed_parts_per_partition,
                gc_and_compaction_racing_mixed_writers_lose_nothing, full_graveyard_says_gc_first,
                missing_manifest_is_never_an_empty_partition, swapped_segment_ids_are_refused,
                topic_delete_racing_a_writer_loses_nothing_acknowledged);
    };
}

macro_rules! suite {
    ($backend:ident: $open:expr) => {
        mod $backend {
            use super::*;
            everywhere!($open);
            // These expect one manifest object per partition: a garbage manifest breaks only
            // its partition (in a group, every partition of the group); retention buries
            // entries in 192-entry chunks and a cursor opens a counted number of them
            // (a grouped manifest seals 48 of every 64).
            suite!(@each $open;
                corrupted_objects_are_reported, gc_deletes_only_what_nothing_references,
                sealed_records_read_back_identical_and_once);
        }
    };
    (@each $open:expr; $($scenario:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                let Some(backend) = $open else { return };
                scenarios::$scenario(backend.storage.clone()).await;
            }
        )*
    };
}

suite!(memory: Some(backends::memory()));
/// Topics with manifest groups (docs/design.md §19), four partitions to an object.
mod memory_grouped {
    use super::*;
    everywhere!(backends::grouped(Some(backends::memory())));
}
mod seaweedfs_grouped {
    use super::*;
    everywhere!(backends::grouped(backends::s3("SILT_TEST_SEAWEEDFS").await));
}
suite!(local: Some(backends::local().await));
suite!(seaweedfs: backends::s3("SILT_TEST_SEAWEEDFS").await);
suite!(moto: backends::s3("SILT_TEST_MOTO").await);
suite!(s3_url: backends::s3("SILT_TEST_S3_URL").await);
suite!(dynamodb: backends::dynamodb("SILT_TEST_SEAWEEDFS").await);
