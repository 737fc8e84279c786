//! # silt-control: the jobs that keep a log in shape
//!
//! Retention (move the log start forward by time or size), compaction (merge small segments,
//! seal old data as Parquet) and garbage collection (delete what the graveyard holds after the
//! reader grace; sweep orphans behind the orphan floor) will live here as bounded, resumable
//! `run_once` functions that commit the same manifest edits as the writer, with thin
//! `lambda_runtime` binaries around them (DESIGN §8).
//!
//! Not built yet: the manifest already carries what they need (`log_start_offset`,
//! `graveyard`, `orphan_floor_ms`, and index chunks), so they fit without a format change.
