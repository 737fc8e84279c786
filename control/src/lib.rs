//! # silt-control: the jobs that keep a log in shape
//!
//! Retention (move the log start forward by time or size), compaction (merge small segments,
//! seal old data as Parquet) and garbage collection (delete what the graveyard holds after the
//! reader grace; sweep orphans behind the orphan floor) live here as bounded, resumable
//! functions that commit manifest edits through the same `ManifestStore` as the writer, with
//! thin `lambda_runtime` binaries around them (DESIGN §8).
//!
//! Built so far: [`trim`], the explicit trim that retention will build on. Retention by time
//! and size, compaction and GC are still to come (issue 5).

mod trim;

pub use trim::{Trimmed, trim};
