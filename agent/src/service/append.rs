//! Appends: to one partition atomically (optionally conditional on its next offset), or to a
//! topic, each record placed by its [`Placement`]: a partition, a Kinesis hash key, or its key
//! (by the topic's partitioner: Kafka's murmur2 or Kinesis' MD5), or round-robin.

use std::collections::BTreeMap;

use futures::future::join_all;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::manifest::producers::ProducerBatch;
use silt_core::record::Record;
use silt_core::topic::partition_for_hash_key;
use silt_writer::{AckFuture, AppendAck, AppendError};

use crate::service::{LogService, ServiceError};

/// Where a record of a topic append goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// This partition (refused if the topic does not have it).
    Partition(PartitionId),
    /// The partition whose Kinesis hash-key range holds this key (Kinesis' `ExplicitHashKey`).
    HashKey(u128),
    /// By the record's key with the topic's partitioner; round-robin without a key.
    ByKey,
}

/// A batch handed to a writer, its commit not yet awaited ([`LogService::send`]).
#[derive(Debug)]
pub struct Sent {
    topic: TopicName,
    ack: Result<AckFuture, AppendError>,
}

/// Where each record of a topic append went, in request order: its partition, and its offset
/// or why it was not acknowledged. Records of one partition share one outcome.
pub type Placed = Vec<(PartitionId, Result<Offset, AppendError>)>;

impl LogService {
    /// Appends `records` to `partition` of `topic`, all or none, at consecutive offsets; with
    /// `match_offset`, only if the partition's next offset is exactly that
    /// (`Rejection::OffsetMismatch` otherwise, naming the actual one).
    pub async fn append_to(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        records: Vec<Record>,
        match_offset: Option<Offset>,
    ) -> Result<AppendAck, ServiceError> {
        let writer = self.writer(topic).await?;
        let sent = writer.send_batch(partition, records, match_offset).await;
        self.acknowledged(topic, sent).await
    }

    /// Hands a batch to `partition`'s writer without waiting for its commit: batches sent one
    /// after another are committed in that order (a Kafka connection's pipelined produces keep
    /// their order this way). With `producer`, it is an idempotent Kafka producer's batch
    /// (docs/design.md §6.6): a retry of a batch already committed gets its original offsets
    /// ([`AppendAck::duplicate`]); one out of sequence or from a fenced epoch is refused.
    pub async fn send(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        records: Vec<Record>,
        producer: Option<ProducerBatch>,
    ) -> Result<Sent, ServiceError> {
        let writer = self.writer(topic).await?;
        let ack = match producer {
            Some(producer) => writer.send_idempotent(partition, records, producer).await,
            None => writer.send_batch(partition, records, None).await,
        };
        Ok(Sent {
            topic: topic.clone(),
            ack,
        })
    }

    /// Waits for the commit of a batch [`LogService::send`] handed over.
    pub async fn acknowledgement(&self, sent: Sent) -> Result<AppendAck, ServiceError> {
        self.acknowledged(&sent.topic, sent.ack).await
    }

    /// Waits for a sent batch's acknowledgement; a failure that says the topic changed under
    /// the cached writer drops it.
    async fn acknowledged(
        &self,
        topic: &TopicName,
        sent: Result<AckFuture, AppendError>,
    ) -> Result<AppendAck, ServiceError> {
        let ack = match sent {
            Ok(ack) => ack.await,
            Err(e) => Err(e),
        };
        match &ack {
            Err(AppendError::Failed(e) | AppendError::Retryable(e)) => {
                self.forget_if_stale(topic, e)
            }
            Err(AppendError::Rejected(r)) => self.forget_if_stale(topic, &r.clone().into()),
            _ => {}
        }
        Ok(ack?)
    }

    /// Appends records to a topic, each where its [`Placement`] says. The records of one partition are committed together, in request order;
    /// partitions succeed or fail on their own (as Kafka's produce and Kinesis' PutRecords).
    pub async fn append(
        &self,
        topic: &TopicName,
        records: Vec<(Placement, Record)>,
    ) -> Result<Placed, ServiceError> {
        let writer = self.writer(topic).await?;
        let partitions = writer.topic().partitions;
        let kind = writer.topic().settings.partitioner;
        let mut order = Vec::with_capacity(records.len());
        let mut groups: BTreeMap<PartitionId, Vec<Record>> = BTreeMap::new();
        for (placement, record) in records {
            let p = match placement {
                Placement::Partition(p) => writer.topic().check_partition(p)?,
                Placement::HashKey(hash_key) => partition_for_hash_key(hash_key, partitions),
                Placement::ByKey => {
                    self.partitioner
                        .choose(kind, record.key.as_deref(), partitions)
                }
            };
            let group = groups.entry(p).or_default();
            order.push((p, group.len()));
            group.push(record);
        }
        let acks = join_all(groups.into_iter().map(|(p, records)| {
            let writer = writer.clone();
            async move {
                let ack = match writer.send_batch(p, records, None).await {
                    Ok(ack) => ack.await,
                    Err(e) => Err(e),
                };
                (p, ack)
            }
        }))
        .await;
        let acks: BTreeMap<PartitionId, Result<AppendAck, AppendError>> =
            acks.into_iter().collect();
        Ok(order
            .into_iter()
            .map(|(p, index)| {
                let offset = match acks.get(&p) {
                    Some(Ok(ack)) => Ok(ack.base_offset.plus(index as u64)),
                    Some(Err(e)) => Err(e.clone()),
                    None => Err(AppendError::Closed), // every group was sent above
                };
                (p, offset)
            })
            .collect())
    }
}
