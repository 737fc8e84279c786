//! Produce: each partition's batches decoded (CRC-32C checked, any codec) and handed to the
//! writers in request order (`turn`: a connection's pipelined produces keep their order), then
//! the commits awaited together. The answer waits for the commits (`acks` 1 and -1 alike: a
//! commit is durable in the store); with `acks=0` no answer is sent at all. An idempotent
//! producer's batch (producer id ≥ 0) carries its producer state into the manifest commit, so
//! a retried batch gets its original offsets. A partition whose input is refused writes nothing.

use futures::future::join_all;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, TopicName as KafkaTopic};
use kafka_protocol::protocol::StrBytes;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::limits::BATCH_BYTES_MAX;

use super::KafkaContext;
use super::batch::{ProducedBatch, decode_batches};
use super::dispatch::count_error;
use super::errors::code_of;
use super::topics::{known_or_created, topic_name};
use super::turn::Turn;
use crate::service::Sent;

/// The most bytes one produced batch may decompress to: silt's largest append, with room for
/// the batch's own framing.
pub const DECOMPRESSED_BYTES_MAX: usize = 2 * BATCH_BYTES_MAX;

/// A refusal: its code and, where it helps, a message.
type Refused = (ResponseError, Option<String>);

/// One partition of the request once its batches are with the writer (or refused).
struct Handed {
    index: i32,
    sent: Result<Vec<Sent>, Refused>,
}

/// Answers a Produce request; `None` for `acks=0`.
pub(super) async fn handle(
    context: &KafkaContext,
    request: ProduceRequest,
    mut turn: Option<Turn>,
) -> Option<ProduceResponse> {
    if let Some(turn) = turn.as_mut() {
        turn.wait().await;
    }
    let transactional = request.transactional_id.is_some();
    let mut topics: Vec<(KafkaTopic, Vec<Handed>)> = Vec::new();
    for topic in request.topic_data {
        topics.push(hand_topic(context, topic, transactional).await);
    }
    if let Some(turn) = turn {
        turn.pass();
    }
    let answers = join_all(topics.into_iter().map(|(name, partitions)| async move {
        let partitions = join_all(partitions.into_iter().map(|p| acknowledged(context, p)));
        TopicProduceResponse::default()
            .with_name(name)
            .with_partition_responses(partitions.await)
    }))
    .await;
    (request.acks != 0).then(|| ProduceResponse::default().with_responses(answers))
}

async fn hand_topic(
    context: &KafkaContext,
    topic: TopicProduceData,
    transactional: bool,
) -> (KafkaTopic, Vec<Handed>) {
    let known = match topic_name(&topic.name) {
        Ok(silt_name) => known_or_created(context, &silt_name, true)
            .await
            .map(|_| silt_name),
        Err(code) => Err(code),
    };
    let mut handed = Vec::with_capacity(topic.partition_data.len());
    for data in topic.partition_data {
        let index = data.index;
        let sent = match (&known, transactional) {
            (_, true) => Err((ResponseError::TransactionalIdAuthorizationFailed, None)),
            (Ok(name), false) => hand_partition(context, name, data).await,
            (Err(code), false) => Err((*code, None)),
        };
        handed.push(Handed { index, sent });
    }
    (topic.name, handed)
}

async fn hand_partition(
    context: &KafkaContext,
    topic: &TopicName,
    data: PartitionProduceData,
) -> Result<Vec<Sent>, Refused> {
    let partition = u32::try_from(data.index)
        .map(PartitionId)
        .map_err(|_| (ResponseError::UnknownTopicOrPartition, None))?;
    let bytes = data.records.unwrap_or_default();
    let batches = decode_batches(bytes, DECOMPRESSED_BYTES_MAX)
        .map_err(|e| (e.code(), Some(e.to_string())))?;
    if batches.is_empty() {
        return Err((ResponseError::InvalidRecord, Some("no record batch".into())));
    }
    let mut sent = Vec::with_capacity(batches.len());
    for ProducedBatch { producer, records } in batches {
        let handed = context
            .service
            .send(topic, partition, records, producer)
            .await;
        sent.push(handed.map_err(|e| (code_of(&e), Some(e.to_string())))?);
    }
    Ok(sent)
}

/// The partition's answer once its batches are committed.
async fn acknowledged(context: &KafkaContext, handed: Handed) -> PartitionProduceResponse {
    let response = PartitionProduceResponse::default()
        .with_index(handed.index)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1);
    let outcome = match handed.sent {
        Ok(sent) => first_base_offset(context, sent).await,
        Err(refused) => Err(refused),
    };
    match outcome {
        Ok(base_offset) => response.with_base_offset(base_offset),
        Err((code, message)) => {
            count_error(ApiKey::Produce, code.code());
            response
                .with_base_offset(-1)
                .with_error_code(code.code())
                .with_error_message(message.map(StrBytes::from_string))
        }
    }
}

/// Waits for every batch's commit; the first one's base offset.
async fn first_base_offset(context: &KafkaContext, sent: Vec<Sent>) -> Result<i64, Refused> {
    let mut base_offset = None;
    for batch in sent {
        let ack = context.service.acknowledgement(batch).await;
        let ack = ack.map_err(|e| (code_of(&e), Some(e.to_string())))?;
        base_offset.get_or_insert(ack.base_offset.0 as i64);
    }
    base_offset.ok_or((ResponseError::InvalidRecord, Some("no record batch".into())))
}
