//! Produce: each partition's batches decoded (CRC-32C checked, any codec) and appended, the
//! partitions of a request concurrently; the answer waits for the commits (`acks` 1 and -1
//! alike: a commit is durable in the store), and with `acks=0` no answer is sent at all. An
//! idempotent producer's batch (producer id ≥ 0) goes through `append_idempotent`, whose
//! manifest commit keeps the producer's sequence state: a retried batch gets its original
//! offsets. A partition whose input is refused loses nothing and writes nothing.

use futures::future::join_all;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::limits::BATCH_BYTES_MAX;

use super::KafkaContext;
use super::batch::{ProducedBatch, decode_batches};
use super::dispatch::count_error;
use super::errors::code_of;
use super::topics::{known_or_created, topic_name};

/// The most bytes one produced batch may decompress to: silt's largest append, with room for
/// the batch's own framing.
pub const DECOMPRESSED_BYTES_MAX: usize = 2 * BATCH_BYTES_MAX;

/// Answers a Produce request; `None` for `acks=0`.
pub(super) async fn handle(
    context: &KafkaContext,
    _version: i16,
    request: ProduceRequest,
) -> Option<ProduceResponse> {
    let transactional = request.transactional_id.is_some();
    let topics = join_all(
        request
            .topic_data
            .into_iter()
            .map(|topic| produce_topic(context, topic, transactional)),
    )
    .await;
    (request.acks != 0).then(|| ProduceResponse::default().with_responses(topics))
}

async fn produce_topic(
    context: &KafkaContext,
    topic: TopicProduceData,
    transactional: bool,
) -> TopicProduceResponse {
    let name = topic.name.clone();
    let known = match topic_name(&topic.name) {
        Ok(silt_name) => known_or_created(context, &silt_name, true)
            .await
            .map(|_| silt_name),
        Err(code) => Err(code),
    };
    let partitions = topic.partition_data.into_iter().map(|data| {
        let known = known.clone();
        async move {
            let index = data.index;
            let outcome = match (known, transactional) {
                (_, true) => Err((ResponseError::TransactionalIdAuthorizationFailed, None)),
                (Ok(topic), false) => produce_partition(context, &topic, data).await,
                (Err(code), false) => Err((code, None)),
            };
            answer(index, outcome)
        }
    });
    TopicProduceResponse::default()
        .with_name(name)
        .with_partition_responses(join_all(partitions).await)
}

/// A refusal: its code and, where it helps, a message.
type Refused = (ResponseError, Option<String>);

async fn produce_partition(
    context: &KafkaContext,
    topic: &TopicName,
    data: PartitionProduceData,
) -> Result<i64, Refused> {
    let partition = u32::try_from(data.index)
        .map(PartitionId)
        .map_err(|_| (ResponseError::UnknownTopicOrPartition, None))?;
    let bytes = data.records.unwrap_or_default();
    let batches = decode_batches(bytes, DECOMPRESSED_BYTES_MAX)
        .map_err(|e| (e.code(), Some(e.to_string())))?;
    let mut base_offset = None;
    for ProducedBatch { producer, records } in batches {
        let service = &context.service;
        let ack = match producer {
            Some(producer) => {
                service
                    .append_idempotent(topic, partition, records, producer)
                    .await
            }
            None => service.append_to(topic, partition, records, None).await,
        }
        .map_err(|e| (code_of(&e), Some(e.to_string())))?;
        base_offset.get_or_insert(ack.base_offset.0 as i64);
    }
    base_offset.ok_or((ResponseError::InvalidRecord, Some("no record batch".into())))
}

fn answer(index: i32, outcome: Result<i64, Refused>) -> PartitionProduceResponse {
    let response = PartitionProduceResponse::default()
        .with_index(index)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1);
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
