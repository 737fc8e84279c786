//! The partition task's event loop: accept appends into a batch; flush the batch into a
//! segment upload on size, record count or linger; keep up to `uploads_in_flight_max` uploads
//! running; commit finished uploads in order, all that are ready in one commit, one commit at
//! a time (group commit), at most the manifest store's per-commit limit; acknowledge each
//! waiter with its offsets once the commit is known. Commits run on their own task, so a
//! dropped caller never cancels a write half-way.
//!
//! An exclusive leader renews its lease every `lease_ms / 3` while the writer is open, idle or
//! not, with an append of no segments. A task that dies (a panic, or its runtime shutting
//! down) answers the waiters of its in-flight commit `Indeterminate`, and leaves that commit
//! to its successor (see `state`).

use std::collections::VecDeque;

use futures::StreamExt;
use futures::stream::FuturesOrdered;
use std::sync::Arc;

use silt_core::error::{Error, Result};
use silt_core::ids::{Epoch, Offset};
use silt_core::manifest::NewSegment;
use silt_core::manifest::producers::ProducerBatch;
use silt_core::metrics;
use silt_core::store::Snapshot;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::committer::{CommitReport, Leadership};
use super::linger;
use super::upload::upload;
use super::{Committer, PartitionState, Request, Waiter};
use crate::alarm::Alarm;
use crate::mixer::Mixer;
use batch::Batch;

mod batch;
mod idempotent;
mod lifecycle;
mod mixed;
use crate::{AppendError, WriterSettings};

type UploadDone = (Result<NewSegment, AppendError>, Vec<Waiter>, Option<Offset>);

/// A segment uploaded and waiting for its commit.
#[derive(Debug)]
struct Uploaded {
    segment: NewSegment,
    waiters: Vec<Waiter>,
    expect: Option<Offset>,
}

struct Task {
    committer: Committer,
    settings: WriterSettings,
    state: Arc<PartitionState>,
    requests: mpsc::Receiver<Request>,
    mixer: Option<Mixer>,
    snapshot: Option<Snapshot>,
    leadership: Leadership,
    batch: Batch,
    /// Records and waiters of the last batch flushed: a new batch reserves room for as many,
    /// so a fast partition's batch does not grow (and move) its vectors many times.
    last_batch: (usize, usize),
    uploads: FuturesOrdered<JoinHandle<UploadDone>>,
    ready: VecDeque<Uploaded>,
    committing: Vec<Uploaded>,
    commit: Option<JoinHandle<CommitReport>>,
    /// When a leader renews its lease next, if it is one.
    renew_at: Option<Instant>,
    alarms: Alarms,
}

/// The timers of the task's loop: the batch's linger and the lease's renewal.
#[derive(Debug)]
struct Alarms {
    linger: Alarm,
    renew: Alarm,
}

/// Starts the task of one partition; it runs until `requests` closes and everything accepted
/// has been answered. A partition fenced before (`state`) stays fenced. With a `mixer`, its
/// plain batches go into the writer's mixed objects.
pub(crate) fn spawn(
    committer: Committer,
    settings: WriterSettings,
    state: Arc<PartitionState>,
    requests: mpsc::Receiver<Request>,
    mixer: Option<Mixer>,
) -> JoinHandle<()> {
    let leadership = match state.fenced() {
        Some(why) => Leadership::Fenced(why.clone()),
        None if settings.exclusive => Leadership::Unclaimed,
        None => Leadership::Shared,
    };
    let task = Task {
        committer,
        settings,
        state,
        requests,
        mixer,
        snapshot: None,
        leadership,
        batch: Batch::default(),
        last_batch: (0, 0),
        uploads: FuturesOrdered::new(),
        ready: VecDeque::new(),
        committing: Vec::new(),
        commit: None,
        renew_at: None,
        alarms: Alarms {
            linger: Alarm::new(),
            renew: Alarm::new(),
        },
    };
    tokio::spawn(task.run())
}

impl Task {
    async fn run(mut self) {
        self.await_predecessor().await;
        let mut closing = false;
        loop {
            let accepting = !closing && !self.batch_full();
            // A lingering batch waits for an upload slot, growing meanwhile: under load,
            // segments fill up instead of leaving at every linger tick.
            let room = self.room();
            let linger = self.batch.deadline.filter(|_| room);
            let mixing = self.batch.ticket.as_ref().is_some_and(|t| !t.closed());
            let renew = self.renew_at.filter(|_| !closing && self.commit.is_none());
            tokio::select! {
                request = self.requests.recv(), if accepting => match request {
                    Some(r) => {
                        self.accept(r);
                        self.accept_queued();
                    }
                    None => closing = true,
                },
                _ = self.alarms.linger.at(linger), if linger.is_some() => {}
                _ = mixed::closing(&mut self.batch.ticket), if mixing => {}
                Some(done) = self.uploads.next(), if !self.uploads.is_empty() => self.uploaded(done),
                report = join(&mut self.commit), if self.commit.is_some() => {
                    self.commit = None;
                    self.committed(report);
                }
                _ = self.alarms.renew.at(renew), if renew.is_some() => {
                    self.renew_lease();
                }
            }
            let lingered = self.lingered(Instant::now());
            let due = match &self.batch.ticket {
                Some(ticket) => ticket.closed() || closing,
                None => {
                    self.batch_full() || lingered || (closing && !self.batch.records.is_empty())
                }
            };
            if self.room() && due {
                self.flush(None, None);
            }
            self.start_commit();
            if closing && self.idle() {
                break;
            }
        }
        if let Leadership::Leader(epoch) = self.leadership
            && let Err(e) = self.committer.release(self.snapshot.take(), epoch).await
        {
            tracing::warn!(partition = %self.committer.partition, error = %e, "could not release lease");
        }
    }

    fn idle(&self) -> bool {
        self.batch.records.is_empty()
            && self.uploads.is_empty()
            && self.ready.is_empty()
            && self.commit.is_none()
    }

    /// Whether the batch may leave now: an upload slot is free (the mixer keeps its own).
    fn room(&self) -> bool {
        self.batch.ticket.is_some() || self.uploads.len() < self.settings.uploads_in_flight_max
    }

    /// Starts uploading the batch as one segment.
    fn flush(&mut self, expect: Option<Offset>, producer: Option<ProducerBatch>) {
        let batch = std::mem::take(&mut self.batch);
        if batch.records.is_empty() {
            return;
        }
        self.last_batch = (batch.records.len(), batch.waiters.len());
        let epoch = match self.leadership {
            Leadership::Leader(e) => e,
            _ => Epoch(0),
        };
        if let Some(ticket) = batch.ticket {
            self.mixed_part(ticket, batch.records, batch.waiters, epoch);
            return;
        }
        let committer = self.committer.clone();
        let level = self.settings.zstd_level;
        let waiters = batch.waiters;
        self.uploads.push_back(tokio::spawn(async move {
            let uploaded = upload(committer, batch.records, epoch, level).await;
            let uploaded = uploaded.map(|s| NewSegment { producer, ..s });
            (uploaded, waiters, expect)
        }));
    }

    fn uploaded(&mut self, done: Result<UploadDone, tokio::task::JoinError>) {
        let (result, waiters, expect) = match done {
            Ok(done) => done,
            Err(e) => {
                // The upload task panicked or was cancelled; its waiters were dropped with it
                // and see `Closed`. Nothing was committed.
                tracing::error!(error = %e, "segment upload task failed");
                return;
            }
        };
        match (result, &self.leadership) {
            (_, Leadership::Fenced(r)) => fail_all(waiters, &AppendError::Rejected(r.clone())),
            (Ok(segment), _) => self.ready.push_back(Uploaded {
                segment,
                waiters,
                expect,
            }),
            (Err(e), _) => fail_all(waiters, &e),
        }
    }

    /// Commits everything uploaded so far, up to the store's per-commit limit, if no commit
    /// is running.
    fn start_commit(&mut self) {
        if self.commit.is_some() || self.ready.is_empty() {
            return;
        }
        let conditional = self.ready.front().and_then(|u| u.expect);
        let idempotent = self
            .ready
            .front()
            .is_some_and(|u| u.segment.producer.is_some());
        let take = if conditional.is_some() {
            1
        } else {
            // Producers' batches and plain segments go in separate commits: a producer's
            // batch may be left out, and plain records' offsets follow from the commit's base.
            let alike = self
                .ready
                .iter()
                .take_while(|u| u.expect.is_none() && u.segment.producer.is_some() == idempotent);
            let max = self.committer.storage.manifests.segments_per_commit_max();
            alike.count().min(max.max(1))
        };
        self.committing = self.ready.drain(..take).collect();
        self.spawn_commit(conditional);
    }

    /// Commits the segments of `self.committing` on a task of its own.
    fn spawn_commit(&mut self, conditional: Option<Offset>) {
        let segments = self.committing.iter().map(|u| u.segment).collect();
        let job = self.committer.clone().append(
            self.snapshot.take(),
            self.leadership.clone(),
            segments,
            conditional,
        );
        self.commit = Some(tokio::spawn(job));
    }

    fn committed(&mut self, report: Result<CommitReport, tokio::task::JoinError>) {
        let committing = std::mem::take(&mut self.committing);
        let outcome = match report {
            Ok(report) => {
                self.snapshot = report.snapshot;
                self.leadership = report.leadership;
                report.outcome.map_err(AppendError::from)
            }
            Err(e) => Err(Error::Indeterminate {
                partition: self.committer.partition,
                waited_ms: 0,
                last_error: e.to_string(),
            }
            .into()),
        };
        // The fence is known before anyone hears of it, so a `send` after any answer fails.
        if let Leadership::Fenced(r) = &self.leadership {
            self.state.fence(r);
        }
        self.renew_at = match self.leadership {
            Leadership::Leader(_) => Some(Instant::now() + self.renewal_interval()),
            _ => None,
        };
        let idempotent = committing.iter().any(|u| u.segment.producer.is_some());
        match outcome {
            Ok(base) if idempotent => {
                let manifest = self.snapshot.as_ref().map(|s| s.manifest.clone());
                let (topic, partition) = (&self.committer.topic, self.committer.partition);
                idempotent::answer(committing, topic, partition, base, manifest.as_deref());
            }
            Ok(mut offset) => {
                let (mut all_records, mut all_bytes) = (0, 0);
                let latency = metrics::ack_latency();
                for uploaded in committing {
                    for waiter in uploaded.waiters {
                        let records = u64::from(waiter.records);
                        all_bytes += waiter.bytes as u64;
                        waiter.succeed(self.committer.partition, offset, &latency);
                        offset = offset.plus(records);
                        all_records += records;
                    }
                }
                if all_records > 0 {
                    metrics::appended(&self.committer.topic, all_records, all_bytes);
                }
            }
            Err(e) if committing.is_empty() => {
                tracing::warn!(partition = %self.committer.partition, error = %e, "lease renewal failed");
            }
            Err(e) => fail_all(committing.into_iter().flat_map(|u| u.waiters), &e),
        }
        if let Leadership::Fenced(r) = &self.leadership {
            let error = AppendError::Rejected(r.clone());
            let ready = std::mem::take(&mut self.ready);
            fail_all(ready.into_iter().flat_map(|u| u.waiters), &error);
            fail_all(std::mem::take(&mut self.batch).waiters, &error);
        }
    }
}

/// Waits for the running commit (never called without one: the branch is guarded).
async fn join(
    commit: &mut Option<JoinHandle<CommitReport>>,
) -> Result<CommitReport, tokio::task::JoinError> {
    match commit {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

fn fail_all(waiters: impl IntoIterator<Item = Waiter>, error: &AppendError) {
    for w in waiters {
        w.fail(error);
    }
}
