//! The batch side of the partition task: what it accepts (appends, in bursts of those
//! already queued), into which batch, and when that batch's time is up (its linger, held
//! longer by adaptive linger while it fills fast).

use std::time::Duration;

use silt_core::record::Record;
use tokio::time::Instant;

use super::{Request, Task, Waiter, linger};
use crate::AppendError;
use crate::mixer::Ticket;
use crate::partition::committer::Leadership;

/// Records accepted and not yet flushed.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub(super) records: Vec<Record>,
    pub(super) waiters: Vec<Waiter>,
    pub(super) bytes: usize,
    /// When its first record arrived.
    pub(super) started: Option<Instant>,
    /// When it leaves: its linger's end, later if adaptive linger holds it.
    pub(super) deadline: Option<Instant>,
    /// Whether adaptive linger has judged it (once, when its linger ended).
    pub(super) judged: bool,
    /// With a mixer: its place in the next mixed object, which decides when it leaves
    /// (instead of `deadline`).
    pub(super) ticket: Option<Ticket>,
}

/// Requests taken from the queue in one turn of the loop at most, so that uploads and
/// commits finishing are still seen between them.
const QUEUED_PER_TURN: usize = 256;

impl Task {
    /// Whether the batch's time is up at `now`. When its linger ends, adaptive linger may
    /// hold it longer (once: the hold is bounded by `linger_budget_ms`).
    pub(super) fn lingered(&mut self, now: Instant) -> bool {
        let (Some(deadline), Some(started)) = (self.batch.deadline, self.batch.started) else {
            return false;
        };
        if deadline > now {
            return false;
        }
        if !self.batch.judged {
            self.batch.judged = true;
            let bytes = self.batch.bytes;
            if let Some(later) = linger::hold_until(&self.settings, started, bytes, now) {
                self.batch.deadline = Some(later);
                return false;
            }
        }
        true
    }

    pub(super) fn batch_full(&self) -> bool {
        self.batch.bytes >= self.settings.segment_bytes_max
            || self.batch.records.len() >= self.settings.segment_records_max as usize
    }

    pub(super) fn accept(&mut self, request: Request) {
        if let Leadership::Fenced(r) = &self.leadership {
            request.waiter.fail(&AppendError::Rejected(r.clone()));
            return;
        }
        if request.expect_offset.is_some() || request.producer.is_some() {
            // A conditional append is its own segment and its own commit; a producer's
            // batch is its own segment, committed with other producers' batches only.
            self.flush(None, None);
            self.add(request.records, request.bytes, request.waiter);
            self.flush(request.expect_offset, request.producer);
            return;
        }
        // A segment never holds more than `segment_records_max` records: readers refuse more.
        let records_max = self.settings.segment_records_max as usize;
        if self.batch.records.len() + request.records.len() > records_max {
            self.flush(None, None);
        }
        if self.batch.records.is_empty() {
            let now = Instant::now();
            self.batch.started = Some(now);
            self.batch.records.reserve(self.last_batch.0);
            self.batch.waiters.reserve(self.last_batch.1);
            match &self.mixer {
                Some(mixer) => self.batch.ticket = Some(mixer.join(self.committer.partition)),
                None => {
                    self.batch.deadline = Some(now + Duration::from_millis(self.settings.linger_ms))
                }
            }
        }
        let bytes = request.bytes;
        self.add(request.records, bytes, request.waiter);
        if let Some(ticket) = &self.batch.ticket {
            ticket.grow(bytes, self.batch_full());
        }
    }

    /// Accepts the requests already queued (a bounded number), so a burst of small appends
    /// costs one turn of the loop, not one each.
    pub(super) fn accept_queued(&mut self) {
        for _ in 0..QUEUED_PER_TURN {
            if self.batch_full() {
                return;
            }
            match self.requests.try_recv() {
                Ok(request) => self.accept(request),
                Err(_) => return,
            }
        }
    }

    pub(super) fn add(&mut self, records: Vec<Record>, bytes: usize, waiter: Waiter) {
        self.batch.records.extend(records);
        self.batch.bytes += bytes;
        self.batch.waiters.push(waiter);
    }
}
