//! Every scenario on every backend available here. Real S3-compatible servers join when their
//! endpoint variables are set (see the test script).

#![allow(clippy::unwrap_used)] // tests fail by panicking

use silt_minio_tests::{backends, scenarios};

macro_rules! suite {
    ($backend:ident: $open:expr) => {
        mod $backend {
            use super::*;
            suite!(@each $open;
                many_partitions_many_producers, many_writers_one_partition,
                exclusive_takeover_fences_old_writer, conditional_append,
                ambiguous_commits_lose_nothing, start_positions, follower_sees_new_records,
                sealed_chunks_stay_readable, ranged_reads_of_large_segments,
                bad_input_is_typed_and_harmless, corrupted_objects_are_reported);
        }
    };
    (@each $open:expr; $($scenario:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                let backend = $open;
                scenarios::$scenario(backend.storage.clone()).await;
            }
        )*
    };
}

suite!(memory: backends::memory());
suite!(local: backends::local().await);
