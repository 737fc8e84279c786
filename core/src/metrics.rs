//! The names, help texts and suggested buckets of every metric silt records (docs/design.md
//! §13.1), and the small helpers the writer, the reader and the stores call to record them.
//!
//! silt records through the `metrics` facade: with no recorder installed every call is a
//! no-op costing a few nanoseconds, so libraries embedding silt pay nothing. A program that
//! exports them (the agent's `GET /metrics`) installs a recorder, then calls [`describe`], and
//! sets [`LATENCY_BUCKETS_SECONDS`] and [`SEGMENT_BYTES_BUCKETS`] on its histograms.
//!
//! Everything is counted per batch, segment, commit or request, never per record, and labels
//! stay few: a topic name, a store operation, an error class.

use std::time::Duration;

use ::metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

use crate::error::ErrorKind;
use crate::ids::TopicName;

/// Records committed by writers, by `topic` (counted when acknowledged).
pub const RECORDS_APPENDED: &str = "silt_records_appended_total";
/// Payload bytes (keys, values, headers) committed by writers, by `topic`.
pub const BYTES_APPENDED: &str = "silt_bytes_appended_total";
/// Records returned by readers' cursors, by `topic`.
pub const RECORDS_READ: &str = "silt_records_read_total";
/// Payload bytes returned by readers' cursors, by `topic`.
pub const BYTES_READ: &str = "silt_bytes_read_total";
/// Seconds from a producer's send to its acknowledgement (histogram).
pub const ACK_SECONDS: &str = "silt_ack_seconds";
/// Seconds one manifest commit takes, races and read-backs included (histogram).
pub const COMMIT_SECONDS: &str = "silt_commit_seconds";
/// Manifest commits by `result`: `ok` or the [`ErrorKind`] of the failure.
pub const COMMITS: &str = "silt_commits_total";
/// Hot segments uploaded by writers, by `topic` (committed or not).
pub const SEGMENTS_WRITTEN: &str = "silt_segments_written_total";
/// Size in bytes of each hot segment a writer uploads (histogram).
pub const SEGMENT_BYTES: &str = "silt_segment_bytes";
/// Bytes of records sent to writers and not answered yet: the in-flight budget in use.
pub const INFLIGHT_BYTES: &str = "silt_inflight_bytes";
/// Cursors waiting at the end of a partition for new records (long-polls open).
pub const LONG_POLLS_OPEN: &str = "silt_long_polls_open";
/// Requests sent to the object store or DynamoDB, by `op`.
pub const STORE_REQUESTS: &str = "silt_store_requests_total";
/// Requests that failed, by `op` and `kind` (see [`store_error_kind`]).
pub const STORE_ERRORS: &str = "silt_store_errors_total";
/// Segment reads looked up in the tail cache, by `topic` and `result`: `hit` (no GET) or
/// `miss`.
pub const TAIL_CACHE_READS: &str = "silt_tail_cache_reads_total";

/// Label: the topic name.
pub const TOPIC: &str = "topic";
/// Label: the store operation (`put`, `conditional_put`, `get`, `head`, `list`, `delete`, ...).
pub const OP: &str = "op";
/// Label: the class of a store error.
pub const KIND: &str = "kind";
/// Label: a commit's outcome.
pub const RESULT: &str = "result";

/// Suggested buckets for the latency histograms ([`ACK_SECONDS`], [`COMMIT_SECONDS`]): 1 ms to
/// 30 s. An S3 PUT takes tens of ms, a commit one or two round trips more.
pub const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Suggested buckets for [`SEGMENT_BYTES`]: 1 KiB to 64 MiB by factors of 4 (the default
/// segment target is 8 MiB).
pub const SEGMENT_BYTES_BUCKETS: &[f64] = &[
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];

/// Store operations, the values of the [`OP`] label for object stores.
pub mod op {
    /// A plain PUT (segment uploads).
    pub const PUT: &str = "put";
    /// A PUT with If-None-Match or If-Match (manifest commits, topic creation).
    pub const CONDITIONAL_PUT: &str = "conditional_put";
    /// The start of a multipart upload (cold segments).
    pub const PUT_MULTIPART: &str = "put_multipart";
    /// A GET, whole or ranged.
    pub const GET: &str = "get";
    /// A HEAD.
    pub const HEAD: &str = "head";
    /// A listing (however many pages it takes).
    pub const LIST: &str = "list";
    /// One object deleted.
    pub const DELETE: &str = "delete";
    /// A server-side copy or rename.
    pub const COPY: &str = "copy";
}

/// Tells the installed recorder what each metric means and its unit. Call it once, after
/// installing the recorder.
pub fn describe() {
    let counters = [
        (
            RECORDS_APPENDED,
            Unit::Count,
            "Records committed by writers",
        ),
        (
            BYTES_APPENDED,
            Unit::Bytes,
            "Payload bytes committed by writers",
        ),
        (RECORDS_READ, Unit::Count, "Records returned by readers"),
        (BYTES_READ, Unit::Bytes, "Payload bytes returned by readers"),
        (COMMITS, Unit::Count, "Manifest commits, by result"),
        (
            SEGMENTS_WRITTEN,
            Unit::Count,
            "Hot segments uploaded by writers",
        ),
        (
            STORE_REQUESTS,
            Unit::Count,
            "Requests to the object store or DynamoDB",
        ),
        (
            STORE_ERRORS,
            Unit::Count,
            "Failed store requests, by op and kind",
        ),
        (
            TAIL_CACHE_READS,
            Unit::Count,
            "Segment reads looked up in the tail cache, by result",
        ),
    ];
    for (name, unit, help) in counters {
        describe_counter!(name, unit, help);
    }
    let histograms = [
        (
            ACK_SECONDS,
            Unit::Seconds,
            "Producer send to acknowledgement",
        ),
        (
            COMMIT_SECONDS,
            Unit::Seconds,
            "One manifest commit, races included",
        ),
        (
            SEGMENT_BYTES,
            Unit::Bytes,
            "Size of each uploaded hot segment",
        ),
    ];
    for (name, unit, help) in histograms {
        describe_histogram!(name, unit, help);
    }
    describe_gauge!(
        INFLIGHT_BYTES,
        Unit::Bytes,
        "Writer in-flight budget in use"
    );
    describe_gauge!(LONG_POLLS_OPEN, Unit::Count, "Cursors waiting at the tail");
}

/// `records` of `bytes` payload committed to `topic`.
pub fn appended(topic: &TopicName, records: u64, bytes: u64) {
    counter!(RECORDS_APPENDED, TOPIC => topic.as_str().to_owned()).increment(records);
    counter!(BYTES_APPENDED, TOPIC => topic.as_str().to_owned()).increment(bytes);
}

/// `records` of `bytes` payload read from `topic`.
pub fn read(topic: &TopicName, records: u64, bytes: u64) {
    counter!(RECORDS_READ, TOPIC => topic.as_str().to_owned()).increment(records);
    counter!(BYTES_READ, TOPIC => topic.as_str().to_owned()).increment(bytes);
}

/// A hot segment of `bytes` uploaded to `topic`.
pub fn segment_written(topic: &TopicName, bytes: u64) {
    counter!(SEGMENTS_WRITTEN, TOPIC => topic.as_str().to_owned()).increment(1);
    histogram!(SEGMENT_BYTES).record(bytes as f64);
}

/// The latency of acknowledgements (seconds from send to ack): looked up once per commit,
/// recorded once per send it answers.
pub fn ack_latency() -> ::metrics::Histogram {
    histogram!(ACK_SECONDS)
}

/// A commit that took `elapsed` and ended with `failure` (`None`: committed).
pub fn commit_done(elapsed: Duration, failure: Option<ErrorKind>) {
    histogram!(COMMIT_SECONDS).record(elapsed.as_secs_f64());
    let result = failure.map_or("ok", error_kind_label);
    counter!(COMMITS, RESULT => result).increment(1);
}

/// A segment of `topic` looked up in the tail cache: found (`hit`, no GET) or not.
pub fn tail_cache_read(topic: &TopicName, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    let topic = topic.as_str().to_owned();
    counter!(TAIL_CACHE_READS, TOPIC => topic, RESULT => result).increment(1);
}

/// `n` requests of `op` sent to a store.
pub fn store_requests(op: &'static str, n: u64) {
    counter!(STORE_REQUESTS, OP => op).increment(n);
}

/// A request of `op` that failed with an error of class `kind`.
pub fn store_error(op: &'static str, kind: &'static str) {
    counter!(STORE_ERRORS, OP => op, KIND => kind).increment(1);
}

/// The class of a failed object-store request, for [`STORE_ERRORS`]: `not_found`, `conflict`
/// (a conditional write lost: 412 or 409), `config` (denied, unsupported), `invalid` (a bad
/// path) or `retryable` (everything else: timeouts, 5xx, connection errors). `None` for a
/// 304 Not Modified, which is the answer a revalidation hopes for, not a failure.
pub fn store_error_kind(e: &object_store::Error) -> Option<&'static str> {
    use object_store::Error as E;
    Some(match e {
        E::NotModified { .. } => return None,
        E::NotFound { .. } => "not_found",
        E::AlreadyExists { .. } | E::Precondition { .. } => "conflict",
        E::PermissionDenied { .. }
        | E::Unauthenticated { .. }
        | E::NotSupported { .. }
        | E::NotImplemented { .. }
        | E::UnknownConfigurationKey { .. } => "config",
        E::InvalidPath { .. } => "invalid",
        _ => "retryable",
    })
}

/// The label value of an [`ErrorKind`].
pub fn error_kind_label(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Invalid => "invalid",
        ErrorKind::Retryable => "retryable",
        ErrorKind::Rejected => "rejected",
        ErrorKind::Indeterminate => "indeterminate",
        ErrorKind::Corrupt => "corrupt",
        ErrorKind::Config => "config",
        ErrorKind::Internal => "internal",
    }
}

/// An amount held in a gauge (bytes of the in-flight budget, an open long-poll) until dropped,
/// so a cancelled wait or a dropped request gives it back too.
#[derive(Debug)]
pub struct GaugeHold {
    gauge: ::metrics::Gauge,
    amount: f64,
}

impl GaugeHold {
    /// Adds `amount` to the gauge `name` until the hold is dropped (the gauge is looked up
    /// once: holds are taken for every append).
    pub fn new(name: &'static str, amount: f64) -> GaugeHold {
        let gauge = gauge!(name);
        gauge.increment(amount);
        GaugeHold { gauge, amount }
    }
}

impl Drop for GaugeHold {
    fn drop(&mut self) {
        self.gauge.decrement(self.amount);
    }
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;
    use crate::ids::{CommitSeq, Offset, PartitionId, WriterId};
    use crate::manifest::{Append, Commit, Edit};
    use crate::store::Storage;

    #[tokio::test]
    async fn every_commit_records_its_latency_and_outcome() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _local = ::metrics::set_default_local_recorder(&recorder);
        let storage = Storage::open("memory://").await.unwrap();
        let topic = TopicName::new("committed").unwrap();
        storage
            .create_topic(&topic, 1, Default::default())
            .await
            .unwrap();
        let p = PartitionId(0);
        let base = storage.manifests.read(&topic, p).await.unwrap().unwrap();
        let append = |seq: u64, expect: u64| Commit {
            writer: WriterId(storage.clock.new_ulid()),
            seq: CommitSeq(seq),
            now_ms: storage.clock.now_ms(),
            edit: Edit::Append(Append {
                segments: Vec::new(),
                leader_epoch: None,
                expect_next_offset: Some(Offset(expect)),
                lease_until_ms: None,
                seal: None,
            }),
        };
        let manifests = &storage.manifests;
        manifests
            .commit(&topic, p, &base, &append(1, 0))
            .await
            .unwrap();
        let refused = manifests.commit(&topic, p, &base, &append(2, 5)).await;
        assert_eq!(refused.unwrap_err().kind(), ErrorKind::Rejected);

        let mut commits = Vec::new();
        let mut latencies = 0;
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            match (key.key().name(), value) {
                (COMMITS, DebugValue::Counter(n)) => {
                    let result = key.key().labels().map(|l| l.value().to_string()).collect();
                    commits.push((result, n));
                }
                (COMMIT_SECONDS, DebugValue::Histogram(samples)) => latencies += samples.len(),
                _ => {}
            }
        }
        commits.sort();
        let expected: Vec<(String, u64)> = vec![("ok".into(), 1), ("rejected".into(), 1)];
        assert_eq!(commits, expected);
        assert_eq!(latencies, 2);
    }
}
