//! The producer-facing handle. `send` validates, picks the partition, waits for room in the
//! in-flight byte budget (backpressure: producers wait, they are not dropped) and hands the
//! records to the partition's task; the returned [`AckFuture`] resolves once they are committed.
//!
//! Once a partition is fenced (a newer exclusive writer claimed it), every later `send` to it
//! fails at once with that `Fenced` error. A partition task that died (a bug: it panicked) is
//! replaced on the next `send` to its partition, keeping the fence and waiting for the commit
//! the dead one left in flight.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::FutureExt;
use silt_core::error::{Error, InvalidInput, Rejection};
use silt_core::ids::{Offset, PartitionId, TopicName, WriterId};
use silt_core::limits::BATCH_BYTES_MAX;
use silt_core::manifest::producers::ProducerBatch;
use silt_core::metrics::{self, GaugeHold};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::topic::TopicConfig;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::mixer::Mixer;
use crate::partition::{self, Committer, FirstFence, PartitionState, Request, Waiter};
use crate::{AppendError, Partitioner, WriterSettings};

/// Requests queued per partition before `send` waits.
const PARTITION_QUEUE: usize = 1024;

/// Where a batch of records was committed: offsets `base_offset..=last_offset` of `partition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendAck {
    /// The partition.
    pub partition: PartitionId,
    /// Offset of the first record.
    pub base_offset: Offset,
    /// Offset of the last record.
    pub last_offset: Offset,
    /// True for an idempotent producer's batch committed before (a retry): these are its
    /// original offsets, and nothing was appended this time (Kafka's
    /// `DUPLICATE_SEQUENCE_NUMBER`).
    pub duplicate: bool,
}

/// Resolves when the records of one `send` are committed, or failed.
#[derive(Debug)]
pub struct AckFuture(oneshot::Receiver<Result<AppendAck, AppendError>>);

impl Future for AckFuture {
    type Output = Result<AppendAck, AppendError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(AppendError::Closed)))
    }
}

/// Appends records to one topic. Cheap to share behind an `Arc`; `close` flushes everything.
#[derive(Debug)]
pub struct Writer {
    storage: Storage,
    topic: TopicConfig,
    settings: WriterSettings,
    writer_id: WriterId,
    seq: Arc<AtomicU64>,
    budget: Arc<Semaphore>,
    partitioner: Partitioner,
    partitions: Mutex<HashMap<PartitionId, PartitionTask>>,
    first_fence: FirstFence,
    /// With `WriterSettings::mixed`: the mixer its partitions share, and its task.
    mixer: Option<(Mixer, JoinHandle<()>)>,
}

/// The running task of one partition, the way to reach it, and what outlives it.
#[derive(Debug)]
struct PartitionTask {
    sender: mpsc::Sender<Request>,
    task: JoinHandle<()>,
    state: Arc<PartitionState>,
}

impl PartitionTask {
    /// False once the task has ended: only a panic ends it while the writer is open.
    fn alive(&self) -> bool {
        !self.sender.is_closed() && !self.task.is_finished()
    }
}

impl Writer {
    /// A writer for `topic`, which must exist.
    pub async fn open(
        storage: Storage,
        topic: &TopicName,
        settings: WriterSettings,
    ) -> Result<Writer, Error> {
        settings.validate()?;
        let topic = storage.topic(topic).await?;
        let mixes = settings.mixed && topic.partitions > 1;
        let mixer = mixes.then(|| Mixer::spawn(settings.clone()));
        Ok(Writer {
            writer_id: WriterId(storage.clock.new_ulid()),
            storage,
            topic,
            budget: Arc::new(Semaphore::new(settings.inflight_bytes_max)),
            settings,
            seq: Arc::new(AtomicU64::new(1)),
            partitioner: Partitioner::default(),
            partitions: Mutex::new(HashMap::new()),
            first_fence: Arc::new(watch::Sender::new(None)),
            mixer,
        })
    }

    /// This writer's id (recorded in the manifests it commits to).
    pub fn id(&self) -> WriterId {
        self.writer_id
    }

    /// The topic it writes to.
    pub fn topic(&self) -> &TopicConfig {
        &self.topic
    }

    /// Sends one record to the partition of its key by the topic's partitioner (or the next
    /// one, round-robin).
    pub async fn send(&self, record: Record) -> Result<AckFuture, AppendError> {
        let partition = self.partitioner.choose(
            self.topic.settings.partitioner,
            record.key.as_deref(),
            self.topic.partitions,
        );
        self.send_batch(partition, vec![record], None).await
    }

    /// Sends records to one partition; they are committed together at consecutive offsets.
    /// With `expect_offset`, only if the partition's next offset is exactly that
    /// (otherwise `Rejection::OffsetMismatch`).
    pub async fn send_batch(
        &self,
        partition: PartitionId,
        records: Vec<Record>,
        expect_offset: Option<Offset>,
    ) -> Result<AckFuture, AppendError> {
        self.enqueue(partition, records, expect_offset, None).await
    }

    /// Sends one idempotent producer's batch to one partition (docs/design.md §6.6): it is
    /// committed as a segment of its own, appended only if it follows the producer's state
    /// there, which the same commit advances. A retry of a batch already committed is answered
    /// with its original offsets and [`AppendAck::duplicate`]; a batch that does not follow
    /// fails with [`AppendError::Producer`]. After an ambiguous commit the manifest is read
    /// again and its producer state says whether the batch landed.
    pub async fn send_idempotent(
        &self,
        partition: PartitionId,
        records: Vec<Record>,
        producer: ProducerBatch,
    ) -> Result<AckFuture, AppendError> {
        self.enqueue(partition, records, None, Some(producer)).await
    }

    /// Sends an idempotent producer's batch and waits for its acknowledgement.
    pub async fn append_idempotent(
        &self,
        partition: PartitionId,
        records: Vec<Record>,
        producer: ProducerBatch,
    ) -> Result<AppendAck, AppendError> {
        self.send_idempotent(partition, records, producer)
            .await?
            .await
    }

    async fn enqueue(
        &self,
        partition: PartitionId,
        records: Vec<Record>,
        expect_offset: Option<Offset>,
        producer: Option<ProducerBatch>,
    ) -> Result<AckFuture, AppendError> {
        let sent_at = Instant::now();
        let partition = self.topic.check_partition(partition)?;
        let bytes = validate(&records, self.settings.segment_records_max)?;
        self.refuse_if_fenced(partition)?;
        let permits = bytes.clamp(1, self.settings.inflight_bytes_max) as u32;
        let permit = self
            .budget
            .clone()
            .acquire_many_owned(permits)
            .await
            .map_err(|_| AppendError::Closed)?;
        let (ack, rx) = oneshot::channel();
        let waiter = Waiter {
            records: records.len() as u32,
            bytes,
            sent_at,
            ack,
            permit,
            _inflight: GaugeHold::new(metrics::INFLIGHT_BYTES, f64::from(permits)),
        };
        let request = Request {
            records,
            bytes,
            expect_offset,
            producer,
            waiter,
        };
        self.deliver(partition, request).await?;
        Ok(AckFuture(rx))
    }

    /// Why `partition` is lost to a newer exclusive writer, once this writer learned it (from
    /// an append, or a lease renewal while idle). Final: every later send to it fails so.
    pub fn fenced(&self, partition: PartitionId) -> Option<Rejection> {
        let partitions = self.partitions.lock().ok()?;
        partitions.get(&partition)?.state.fenced().cloned()
    }

    /// Resolves once any partition of this writer is fenced (learned from an append, or from a
    /// lease renewal while idle), with the partition and why; never resolves otherwise. A
    /// producer that must stop when it loses its partition waits on this beside its input.
    pub async fn first_fence(&self) -> (PartitionId, Rejection) {
        let mut fences = self.first_fence.subscribe();
        loop {
            if let Some(first) = fences.borrow_and_update().clone() {
                return first;
            }
            if fences.changed().await.is_err() {
                return std::future::pending().await; // no sender: `self` is going away
            }
        }
    }

    /// The partition's fence, as an error, once a newer leader took it.
    fn refuse_if_fenced(&self, partition: PartitionId) -> Result<(), AppendError> {
        match self.fenced(partition) {
            Some(why) => Err(AppendError::Rejected(why)),
            None => Ok(()),
        }
    }

    /// Hands `request` to the partition's task. A task found dead is replaced, once.
    async fn deliver(&self, partition: PartitionId, request: Request) -> Result<(), AppendError> {
        let sender = self.partition_sender(partition)?;
        let Err(mpsc::error::SendError(request)) = sender.send(request).await else {
            return Ok(());
        };
        let sender = self.partition_sender(partition)?;
        sender.send(request).await.map_err(|_| AppendError::Closed)
    }

    /// Sends and waits for the acknowledgement.
    pub async fn append(
        &self,
        partition: PartitionId,
        records: Vec<Record>,
    ) -> Result<AppendAck, AppendError> {
        self.send_batch(partition, records, None).await?.await
    }

    /// The sender of the partition's task, starting the task on first use and again if it
    /// died. The lock is never held across an await, so a plain mutex suffices.
    fn partition_sender(
        &self,
        partition: PartitionId,
    ) -> Result<mpsc::Sender<Request>, AppendError> {
        let mut partitions = self.partitions.lock().map_err(|_| AppendError::Closed)?;
        if let Some(running) = partitions.get(&partition).filter(|t| t.alive()) {
            return Ok(running.sender.clone());
        }
        let state = match partitions.remove(&partition) {
            Some(dead) => {
                let why = dead
                    .task
                    .now_or_never()
                    .map(|r| r.err().map(|e| e.to_string()));
                tracing::error!(%partition, ?why, "partition task died; starting a new one");
                dead.state
            }
            None => Arc::new(PartitionState::new(partition, self.first_fence.clone())),
        };
        let (sender, receiver) = mpsc::channel(PARTITION_QUEUE);
        let committer = Committer {
            storage: self.storage.clone(),
            topic: self.topic.name.clone(),
            topic_id: self.topic.topic_id,
            partition,
            writer_id: self.writer_id,
            seq: self.seq.clone(),
            lease_ms: self.settings.lease_ms,
            manifest_checked: Arc::default(),
        };
        let mixer = self.mixer.as_ref().map(|(mixer, _)| mixer.clone());
        let settings = self.settings.clone();
        let task = partition::spawn(committer, settings, state.clone(), receiver, mixer);
        partitions.insert(
            partition,
            PartitionTask {
                sender: sender.clone(),
                task,
                state,
            },
        );
        Ok(sender)
    }

    /// Flushes and commits everything sent, answers every waiter, releases exclusive leases,
    /// and stops the partition tasks.
    pub async fn close(self) {
        let partitions = self
            .partitions
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Every task closes at once: with a mixer, one partition's last batch may share an
        // object with another's, which must be flushed too.
        let tasks: Vec<_> = partitions.into_values().map(|t| t.task).collect();
        for task in tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "partition task failed");
            }
        }
        if let Some((mixer, task)) = self.mixer {
            drop(mixer);
            if let Err(e) = task.await {
                tracing::error!(error = %e, "mixer task failed");
            }
        }
    }
}

/// Checks the batch against the limits and returns its payload size.
fn validate(records: &[Record], records_max: u32) -> Result<usize, InvalidInput> {
    if records.is_empty() {
        return Err(InvalidInput::EmptyBatch);
    }
    if records.len() > records_max as usize {
        return Err(InvalidInput::BatchTooManyRecords {
            records: records.len(),
            max: records_max as usize,
        });
    }
    let mut bytes = 0;
    for r in records {
        r.validate()?;
        bytes += r.payload_bytes();
    }
    if bytes > BATCH_BYTES_MAX {
        return Err(InvalidInput::BatchTooLarge {
            bytes,
            max: BATCH_BYTES_MAX,
        });
    }
    Ok(bytes)
}
