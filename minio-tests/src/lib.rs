//! # silt-minio-tests: one end-to-end scenario suite, run against every backend
//!
//! Scenarios ([`scenarios`]) are plain async functions that take a [`Storage`] and assert exact
//! outcomes; the [`checker`] reads a whole topic back and reports lost acknowledged records,
//! duplicates, gaps, reorderings and records that were reported as not written. The test files
//! run every scenario on each backend ([`backends`]): `memory://` and a local directory today,
//! real S3-compatible servers when their endpoint variables are set.

// This crate is a test suite: a panic with details is how a scenario reports a failure.
#![allow(clippy::unwrap_used)]

pub mod backends;
pub mod checker;
pub mod scenarios;

pub use silt_core::store::Storage;
