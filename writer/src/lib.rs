//! # silt-writer: from producers to committed offsets
//!
//! ```text
//! send(record) ─► partitioner ─► partition task (one per partition)
//!    batch until linger_ms / segment_bytes_max / segment_records_max
//!    encode segment (zstd) ─► PUT seg/<id>.seg          (several uploads in flight)
//!    commit: one conditional manifest write              (one in flight; group commit)
//!    ack each producer with (partition, base offset ..= last offset)
//! ```
//!
//! Two modes (docs/design.md §6 rule 4). By default any number of writers append to a partition at
//! once; a writer that loses a commit race re-applies its append at the new next offset without
//! re-uploading. With [`WriterSettings::exclusive`] a writer claims each partition before its
//! first commit (bumping the epoch, fencing the previous leader) and every append is
//! conditional on its epoch; a fenced writer fails its waiting appends with
//! [`AppendError::Rejected`]`(Fenced)` and acknowledges nothing afterwards: every later
//! `send` to that partition fails at once. The lease is advisory: while it is live, shared
//! writers' appends are refused; an open leader renews it every `lease_ms / 3`, idle or not.
//!
//! With [`WriterSettings::mixed`] the plain batches of all partitions that are ready share one
//! mixed object per flush (`mixer`), each partition committing its own byte range of it.
//!
//! Acknowledgements are sent only after the commit is known to have succeeded; an ambiguous
//! outcome that cannot be resolved is reported as [`AppendError::Indeterminate`], never as
//! success. [`Writer::close`] flushes and answers everything.

mod alarm;
mod error;
mod mixer;
mod partition;
mod partitioner;
mod settings;
mod writer;

pub use error::AppendError;
pub use partitioner::{Partitioner, kinesis_hash_key, murmur2};
pub use settings::WriterSettings;
pub use writer::{AckFuture, AppendAck, Writer};
