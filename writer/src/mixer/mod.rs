//! The mixer (docs/design.md §19): with [`WriterSettings::mixed`], one task per writer puts
//! the plain batches of all its partitions into one object per flush, instead of one segment
//! object per partition per flush.
//!
//! ```text
//! partition task: batch begins ─► join ──────────────► (round closes) signal
//!                 records added ─► grow                 deliver part ─► mixer
//! mixer: rounds (one part per partition) ─► object::upload ─► each part's NewSegment
//! partition task: commits its parts in order, as it commits its own uploads
//! ```
//!
//! The linger and size rules apply to the object (`rounds`), so many slow partitions make one
//! object per linger instead of one each; `uploads_in_flight_max` bounds objects being
//! collected or uploaded. From the part's `NewSegment` on, nothing changes: each partition
//! commits its entries as before. Conditional appends and idempotent producers' batches never
//! come here: each is a segment of its own.

mod object;
mod rounds;

use silt_core::error::Error;
use silt_core::ids::{Epoch, PartitionId};
use silt_core::manifest::NewSegment;
use silt_core::record::Record;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::alarm::Alarm;
use crate::partition::Committer;
use crate::{AppendError, WriterSettings};
use rounds::Rounds;

/// Where a part's upload ends: its segment, ready to commit, or why not.
pub(crate) type PartReply = oneshot::Receiver<Result<NewSegment, AppendError>>;

/// A partition's batch, delivered to go into the next object.
#[derive(Debug)]
struct Part {
    committer: Committer,
    records: Vec<Record>,
    epoch: Epoch,
    reply: oneshot::Sender<Result<NewSegment, AppendError>>,
}

#[derive(Debug)]
enum Message {
    Join {
        partition: PartitionId,
        signal: oneshot::Sender<()>,
    },
    Grow {
        partition: PartitionId,
        bytes: usize,
        full: bool,
    },
    Deliver(Box<Part>),
    Leave {
        partition: PartitionId,
    },
}

/// The way to a writer's mixer; cheap to clone into each partition task.
#[derive(Debug, Clone)]
pub(crate) struct Mixer {
    messages: mpsc::UnboundedSender<Message>,
}

impl Mixer {
    /// Starts the mixer; it runs until every handle (and ticket) is dropped and every object
    /// it started is uploaded.
    pub(crate) fn spawn(settings: WriterSettings) -> (Mixer, JoinHandle<()>) {
        let (messages, inbox) = mpsc::unbounded_channel();
        (Mixer { messages }, tokio::spawn(run(settings, inbox)))
    }

    /// `partition` begins a batch: it goes into the next object that has no part of it yet.
    pub(crate) fn join(&self, partition: PartitionId) -> Ticket {
        let (signal, signalled) = oneshot::channel();
        let _ = self.messages.send(Message::Join { partition, signal });
        Ticket {
            partition,
            messages: self.messages.clone(),
            signal: Some(signalled),
            delivered: false,
        }
    }
}

/// A partition's place in the next object while its batch fills. Dropped undelivered (the
/// batch failed, or its task ended) it leaves, so the object does not wait for it.
#[derive(Debug)]
pub(crate) struct Ticket {
    partition: PartitionId,
    messages: mpsc::UnboundedSender<Message>,
    /// Until the object closes; `None` afterwards.
    signal: Option<oneshot::Receiver<()>>,
    delivered: bool,
}

impl Ticket {
    /// The batch grew by `bytes`; `full` once it may take no more.
    pub(crate) fn grow(&self, bytes: usize, full: bool) {
        let partition = self.partition;
        let grow = Message::Grow {
            partition,
            bytes,
            full,
        };
        let _ = self.messages.send(grow);
    }

    /// Whether the object closed: the batch must be delivered now.
    pub(crate) fn closed(&self) -> bool {
        self.signal.is_none()
    }

    /// Resolves when the object closes (or the mixer is gone); never again afterwards.
    pub(crate) async fn closing(&mut self) {
        match self.signal.as_mut() {
            Some(signal) => {
                let _ = signal.await;
                self.signal = None;
            }
            None => std::future::pending().await,
        }
    }

    /// Hands the batch over; the reply is its segment once the object is stored.
    pub(crate) fn deliver(
        mut self,
        committer: Committer,
        records: Vec<Record>,
        epoch: Epoch,
    ) -> PartReply {
        let (reply, replied) = oneshot::channel();
        let part = Part {
            committer,
            records,
            epoch,
            reply,
        };
        self.delivered = true;
        let _ = self.messages.send(Message::Deliver(Box::new(part)));
        replied
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.delivered {
            let partition = self.partition;
            let _ = self.messages.send(Message::Leave { partition });
        }
    }
}

async fn run(settings: WriterSettings, mut inbox: mpsc::UnboundedReceiver<Message>) {
    let zstd_level = settings.zstd_level;
    let mut rounds = Rounds::new(settings);
    let mut uploads = JoinSet::new();
    let (mut open, mut alarm) = (true, Alarm::new());
    while open || !rounds.idle() {
        let wake = rounds.next_wake();
        tokio::select! {
            message = inbox.recv(), if open => match message {
                Some(message) => handle(&mut rounds, message),
                None => open = false,
            },
            _ = alarm.at(wake), if wake.is_some() => {}
            Some(done) = uploads.join_next(), if !uploads.is_empty() => {
                if let Err(e) = done {
                    tracing::error!(error = %e, "mixed object upload task failed");
                }
                rounds.uploaded();
            }
        }
        // Everything already sent counts before anything closes: a part delivered early does
        // not leave alone while its neighbours' joins wait in the inbox.
        while let Ok(message) = inbox.try_recv() {
            handle(&mut rounds, message);
        }
        for parts in rounds.tick(Instant::now()) {
            uploads.spawn(object::upload(parts, zstd_level));
        }
    }
}

fn handle(rounds: &mut Rounds<Part>, message: Message) {
    match message {
        Message::Join { partition, signal } => rounds.join(partition, signal, Instant::now()),
        Message::Grow {
            partition,
            bytes,
            full,
        } => rounds.grow(partition, bytes, full),
        Message::Deliver(part) => {
            if let Err(part) = rounds.deliver(part.committer.partition, *part) {
                let why = Error::Internal {
                    doing: "mixing a batch",
                    reason: "its partition had not joined the object".into(),
                    source: None,
                };
                let _ = part.reply.send(Err(why.into()));
            }
        }
        Message::Leave { partition } => rounds.leave(partition),
    }
}
