//! # silt-core: the shared vocabulary of silt
//!
//! silt is a partitioned log whose records live in immutable segment objects on object storage,
//! and whose offsets are given by a small per-partition manifest changed only by conditional
//! writes. This crate is what the writer, the reader and the control jobs share; they depend
//! on it and never on each other.
//!
//! Where it sits in the flow:
//!
//! ```text
//! writer ─ encode (segment) ─ PUT seg/<id>.seg ─ commit (manifest + store) ─ ack
//! reader ─ manifest (store) ─ segment lookup ─ ranged GET ─ decode (segment)
//! jobs   ─ the same edits, committed the same way
//! ```
//!
//! - [`ids`]: newtypes for offsets, partitions, epochs, versions and names;
//! - [`keys`]: the one place that formats object keys;
//! - [`record`], [`segment`]: the record and the segment format (pure, no I/O);
//! - [`cold`]: the Parquet format of cold segments, and their ranged reads;
//! - [`manifest`]: the manifest, its edits and invariants (pure);
//! - [`store`]: manifest stores (object store, local directory) and [`store::Storage`];
//! - [`topic`]: topic configuration;
//! - [`producer_ids`]: cluster-unique Kafka producer ids, reserved in blocks;
//! - [`verify`]: checks that a fetched segment is the one its manifest entry describes;
//! - [`metrics`]: the names of the metrics silt records, and their descriptions;
//! - [`clock`]: injected time; [`testing`] (feature `test-util`): fault injection.
//!
//! Errors are [`error::Error`]: each variant says whether to fix the input, retry, or stop.

mod chunks;
pub mod clock;
pub mod cold;
pub mod error;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod manifest;
pub mod metrics;
pub mod producer_ids;
pub mod record;
pub mod segment;
pub mod store;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod topic;
pub mod verify;

pub use error::{Error, Result};
