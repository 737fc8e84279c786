//! # silt-control: the jobs that keep a log in shape
//!
//! Retention (move the log start forward by time or size), compaction (merge small segments,
//! keep the newest record per key) and garbage collection (delete what the graveyard holds
//! after the reader grace; sweep orphans behind the orphan floor) live here as bounded, resumable
//! functions that commit manifest edits through the same `ManifestStore` as the writer, with
//! thin `lambda_runtime` binaries around them (docs/design.md §8).
//!
//! - [`trim`] (explicit) and [`run_retention`] (by time and size) move the log start with a
//!   `Trim` commit;
//! - [`run_compaction`] merges runs of small segments, and on topics with `cleanup_policy =
//!   compact` first removes superseded records by key, with `Replace` commits;
//! - [`run_gc`] buries what lies below the log start, deletes the graveyard after the reader
//!   grace and sweeps orphans behind the orphan floor.
//!
//! Each takes a [`Scope`] (topics, a partition budget) and returns a report of what it did;
//! the CLI (`silt retention|compact|gc run`) and the Lambda function (`silt-job`) call the
//! same functions.

mod compact;
pub(crate) mod gc;
mod hint;
mod job;
mod retention;
mod scope;
mod trim;

pub use compact::{
    COLD_FILE_BYTES, CompactOptions, CompactReport, GRAVEYARD_MAX, TARGET_SEGMENT_BYTES,
    run_compaction, run_compaction_observed,
};
pub use gc::{GcOptions, GcReport, ORPHAN_GRACE_MS, READER_GRACE_MS, run_gc, run_gc_observed};
pub use scope::{Coverage, Scope};

pub use retention::{
    Expired, RetentionOptions, RetentionReport, run_retention, run_retention_observed,
};
pub use trim::{Trimmed, trim};
