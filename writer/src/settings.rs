//! Writer settings: plain data with documented defaults and units in the names, validated
//! when the writer is built.

use silt_core::error::InvalidInput;
use silt_core::limits::{BATCH_BYTES_MAX, SEGMENT_RECORDS_MAX};

/// How a writer batches, uploads and commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterSettings {
    /// How long a batch waits for more records before its segment is flushed. Default 10 ms.
    /// 0: no waiting at all (nor holding, below).
    pub linger_ms: u64,
    /// Adaptive linger: how much longer than `linger_ms` a batch is held when records arrive
    /// fast enough that it would grow by a quarter of `segment_bytes_max` meanwhile (fewer,
    /// fuller segments at high rates; a slow producer's batch still leaves after `linger_ms`).
    /// Bounds the extra wait a record may see. Default 50 ms; 0 turns it off.
    pub linger_budget_ms: u64,
    /// A segment is flushed once its records reach this many bytes. Default 8 MiB.
    pub segment_bytes_max: usize,
    /// A segment is flushed once it holds this many records. Default 100 000.
    pub segment_records_max: u32,
    /// Record bytes accepted but not yet acknowledged, across partitions; producers wait beyond
    /// it. Default 64 MiB.
    pub inflight_bytes_max: usize,
    /// Segment uploads in flight per partition (with `mixed`: mixed objects being collected
    /// or uploaded per writer). Default 4.
    pub uploads_in_flight_max: usize,
    /// zstd level of segment blocks. Default 1: on a 2-core machine level 3 cut produce
    /// throughput by a fifth (docs/benchmarks.md) for a few percent smaller text segments.
    pub zstd_level: i32,
    /// Claim each partition before writing to it (exclusive leader, fencing the previous one).
    /// Default false: many writers may append to a partition at once.
    pub exclusive: bool,
    /// Advisory lease an exclusive leader takes, and renews on each commit and every third of
    /// it while the writer is open. Default 10 s.
    pub lease_ms: i64,
    /// Mixed objects (docs/design.md §19): the plain batches of all partitions that are ready
    /// go into one object per flush, each partition committing its own range of it; linger
    /// and `segment_bytes_max` then apply to the object. Conditional appends and idempotent
    /// producers' batches stay segments of their own. Default true; it applies to a topic of
    /// more than one partition (as the topic is when the writer opens): with one partition a
    /// flush is one plain segment either way. False: one object per partition per flush
    /// (docs/benchmarks.md compares the two).
    pub mixed: bool,
}

impl Default for WriterSettings {
    fn default() -> Self {
        WriterSettings {
            linger_ms: 10,
            linger_budget_ms: 50,
            segment_bytes_max: 8 * 1024 * 1024,
            segment_records_max: 100_000,
            inflight_bytes_max: 64 * 1024 * 1024,
            uploads_in_flight_max: 4,
            zstd_level: 1,
            exclusive: false,
            lease_ms: 10_000,
            mixed: true,
        }
    }
}

impl WriterSettings {
    /// Checks every field, naming the first one out of range.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        let checks: [(bool, &'static str, String, &'static str); 7] = [
            (
                self.linger_ms <= 60_000,
                "linger_ms",
                self.linger_ms.to_string(),
                "must be at most 60000",
            ),
            (
                self.linger_budget_ms <= 60_000,
                "linger_budget_ms",
                self.linger_budget_ms.to_string(),
                "must be at most 60000",
            ),
            (
                (1024..=64 * 1024 * 1024).contains(&self.segment_bytes_max),
                "segment_bytes_max",
                self.segment_bytes_max.to_string(),
                "must be between 1 KiB and 64 MiB",
            ),
            (
                (1..=SEGMENT_RECORDS_MAX).contains(&self.segment_records_max),
                "segment_records_max",
                self.segment_records_max.to_string(),
                "must be between 1 and 1000000",
            ),
            (
                self.inflight_bytes_max >= BATCH_BYTES_MAX,
                "inflight_bytes_max",
                self.inflight_bytes_max.to_string(),
                "must be at least the 8 MiB batch limit",
            ),
            (
                (1..=64).contains(&self.uploads_in_flight_max),
                "uploads_in_flight_max",
                self.uploads_in_flight_max.to_string(),
                "must be between 1 and 64",
            ),
            (
                (1..=19).contains(&self.zstd_level),
                "zstd_level",
                self.zstd_level.to_string(),
                "must be between 1 and 19",
            ),
        ];
        for (ok, field, value, rule) in checks {
            if !ok {
                return Err(InvalidInput::Setting { field, value, rule });
            }
        }
        if self.exclusive && self.lease_ms <= 0 {
            return Err(InvalidInput::Setting {
                field: "lease_ms",
                value: self.lease_ms.to_string(),
                rule: "must be positive",
            });
        }
        Ok(())
    }
}
