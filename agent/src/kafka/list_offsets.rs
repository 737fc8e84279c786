//! ListOffsets: a partition's earliest offset (timestamp -2: the log start), latest (-1: the
//! next offset, which is also the last stable one), or the first offset whose record's
//! timestamp is at or after a given time (-1 when there is none, as Kafka answers).

use futures::future::join_all;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ApiKey, ListOffsetsRequest, ListOffsetsResponse};
use silt_core::ids::{PartitionId, TopicName};

use super::KafkaContext;
use super::dispatch::count_error;
use super::errors::code_of;
use super::topics::topic_name;
use crate::service::{ReadFrom, ReadRequest};

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;

pub(super) async fn handle(
    context: &KafkaContext,
    _version: i16,
    request: ListOffsetsRequest,
) -> ListOffsetsResponse {
    let topics = join_all(request.topics.into_iter().map(|t| list_topic(context, t))).await;
    ListOffsetsResponse::default().with_topics(topics)
}

async fn list_topic(context: &KafkaContext, topic: ListOffsetsTopic) -> ListOffsetsTopicResponse {
    let name = topic_name(&topic.name);
    let partitions = topic.partitions.iter().map(|p| {
        let name = name.clone();
        async move {
            let answer = ListOffsetsPartitionResponse::default()
                .with_partition_index(p.partition_index)
                .with_leader_epoch(-1);
            let found = match name {
                Ok(name) => offset_of(context, &name, p).await,
                Err(code) => Err(code),
            };
            match found {
                Ok((offset, timestamp)) => answer.with_offset(offset).with_timestamp(timestamp),
                Err(code) => {
                    count_error(ApiKey::ListOffsets, code.code());
                    answer
                        .with_error_code(code.code())
                        .with_offset(-1)
                        .with_timestamp(-1)
                }
            }
        }
    });
    ListOffsetsTopicResponse::default()
        .with_name(topic.name)
        .with_partitions(join_all(partitions).await)
}

/// The (offset, timestamp) answered for one partition.
async fn offset_of(
    context: &KafkaContext,
    topic: &TopicName,
    asked: &ListOffsetsPartition,
) -> Result<(i64, i64), ResponseError> {
    let partition = u32::try_from(asked.partition_index)
        .map(PartitionId)
        .map_err(|_| ResponseError::UnknownTopicOrPartition)?;
    let service = &context.service;
    match asked.timestamp {
        LATEST | EARLIEST => {
            let tail = service
                .tail(topic, partition)
                .await
                .map_err(|e| code_of(&e))?;
            let offset = match asked.timestamp {
                LATEST => tail.next_offset,
                _ => tail.log_start_offset,
            };
            Ok((offset.0 as i64, -1))
        }
        timestamp if timestamp >= 0 => {
            let request = ReadRequest {
                from: ReadFrom::Timestamp(timestamp),
                max_records: 1,
                max_bytes: 1,
                wait: std::time::Duration::ZERO,
            };
            let batch = service
                .read(topic, partition, request)
                .await
                .map_err(|e| code_of(&e))?;
            Ok(batch
                .records
                .first()
                .map_or((-1, -1), |c| (c.offset.0 as i64, c.record.timestamp_ms)))
        }
        // -3 (the record with the largest timestamp) and other special values.
        _ => Err(ResponseError::InvalidRequest),
    }
}
