//! # silt-control: the jobs that keep a log in shape
//!
//! Retention (move the log start forward by time or size), compaction (merge small segments,
//! seal old data as Parquet) and garbage collection (delete what the graveyard holds after the
//! reader grace; sweep orphans behind the orphan floor) live here as bounded, resumable
//! functions that commit manifest edits through the same `ManifestStore` as the writer, with
//! thin `lambda_runtime` binaries around them (DESIGN §8).
//!
//! Built so far: [`trim`] (explicit) and [`run_retention`] (by time and size), both through
//! the `Trim` edit. Compaction, GC and the Lambda binaries are still to come (issue 5).

mod retention;
mod trim;

pub use retention::{
    Expired, RetentionOptions, RetentionReport, run_retention, run_retention_observed,
};
pub use trim::{Trimmed, trim};
