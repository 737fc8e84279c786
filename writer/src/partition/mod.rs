//! One task per partition owns its batch, its uploads, its single in-flight commit and its view
//! of the manifest (docs/design.md §6 rule 6). Producers reach it through a bounded channel and
//! wait on a oneshot for their acknowledgement.
//!
//! - [`task`]: the event loop: batch → upload → group commit → ack;
//! - [`linger`]: adaptive linger, whether a batch is held past its linger;
//! - [`upload`]: encode a segment and PUT it under a fresh id (or hand the batch to the
//!   writer's mixer, `crate::mixer`, to share one object with other partitions);
//! - [`committer`]: claim leadership, seal old entries, commit appends;
//! - [`state`]: what outlives one task (the fence, a commit a dead task left running).

mod committer;
mod linger;
mod state;
mod task;
mod upload;

pub(crate) use committer::Committer;
pub(crate) use linger::hold_until;
pub(crate) use state::{FirstFence, PartitionState};
pub(crate) use task::spawn;
pub(crate) use upload::{encode, upload};

use metrics::Histogram;
use silt_core::ids::{Offset, PartitionId};
use silt_core::manifest::producers::ProducerBatch;
use silt_core::metrics::GaugeHold;
use silt_core::record::Record;
use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio::time::Instant;

use crate::{AppendAck, AppendError};

/// An append as it travels to the partition task.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) records: Vec<Record>,
    pub(crate) bytes: usize,
    pub(crate) expect_offset: Option<Offset>,
    /// An idempotent producer's batch: a segment and a commit of its own kind.
    pub(crate) producer: Option<ProducerBatch>,
    pub(crate) waiter: Waiter,
}

/// Someone waiting for records to be committed. Holds its share of the in-flight byte budget
/// (and of the `silt_inflight_bytes` gauge) until answered.
#[derive(Debug)]
pub(crate) struct Waiter {
    pub(crate) records: u32,
    /// Payload bytes of its records.
    pub(crate) bytes: usize,
    /// When `send` was called: the start of the acknowledgement latency.
    pub(crate) sent_at: Instant,
    pub(crate) ack: oneshot::Sender<Result<AppendAck, AppendError>>,
    pub(crate) permit: OwnedSemaphorePermit,
    /// Held until answered or dropped: the in-flight gauge's share.
    pub(crate) _inflight: GaugeHold,
}

impl Waiter {
    fn succeed(self, partition: PartitionId, base_offset: Offset, latency: &Histogram) {
        let last_offset = base_offset.plus(u64::from(self.records) - 1);
        let ack = AppendAck {
            partition,
            base_offset,
            last_offset,
            duplicate: false,
        };
        self.answer(ack, latency);
    }

    /// Answers with `ack`, recording the wait in `latency` (`metrics::ack_latency`).
    fn answer(self, ack: AppendAck, latency: &Histogram) {
        let _ = self.ack.send(Ok(ack));
        latency.record(self.sent_at.elapsed().as_secs_f64());
        drop(self.permit);
    }

    fn fail(self, error: &AppendError) {
        let _ = self.ack.send(Err(error.clone()));
        drop(self.permit);
    }
}
