//! Fetch: each asked partition read from its fetch offset (up to its byte limit; at least one
//! record when there is one), its records sent back as one uncompressed batch starting exactly
//! at the offset asked. With nothing to send and `max_wait_ms` > 0, the partitions are polled
//! together and the answer goes as soon as any has records, or the wait ends (Kafka's
//! `min_bytes` beyond 1 is not waited for). `last_stable_offset` is the high watermark (no
//! transactions), leader epochs are -1, and there are no fetch sessions (session id 0).

use std::time::Duration;

use futures::StreamExt;
use futures::future::join_all;
use futures::stream::FuturesUnordered;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::fetch_request::FetchTopic;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse};
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_reader::ReadError;

use super::KafkaContext;
use super::batch::encode_batch;
use super::dispatch::count_error;
use super::errors::code_of;
use super::topics::topic_name;
use crate::service::{ReadBatch, ReadFrom, ReadRequest, ServiceError};

/// Longest a fetch waits for records, whatever the client asks.
pub const FETCH_WAIT_MAX: Duration = Duration::from_secs(30);
/// Most records one partition of a fetch returns.
const FETCH_RECORDS_MAX: usize = 100_000;

/// One partition to read: where its answer goes, and what to read.
#[derive(Debug, Clone)]
struct Wanted {
    topic: usize,
    name: Result<TopicName, ResponseError>,
    partition: i32,
    offset: i64,
    max_bytes: usize,
}

pub(super) async fn handle(
    context: &KafkaContext,
    _version: i16,
    request: FetchRequest,
) -> FetchResponse {
    let wanted = wanted(&request.topics);
    let mut answers: Vec<PartitionData> =
        join_all(wanted.iter().map(|w| read(context, w, Duration::ZERO))).await;
    let wait = Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0));
    let wait = wait.min(FETCH_WAIT_MAX);
    if !wait.is_zero() && !answers.iter().any(has_records_or_error) {
        wait_for_any(context, &wanted, wait, &mut answers).await;
    }
    trim_to(
        &mut answers,
        usize::try_from(request.max_bytes).unwrap_or(usize::MAX),
    );
    let mut topics: Vec<FetchableTopicResponse> = request
        .topics
        .iter()
        .map(|t| FetchableTopicResponse::default().with_topic(t.topic.clone()))
        .collect();
    for (w, answer) in wanted.iter().zip(answers) {
        count_error(ApiKey::Fetch, answer.error_code);
        topics[w.topic].partitions.push(answer);
    }
    FetchResponse::default().with_responses(topics)
}

fn wanted(topics: &[FetchTopic]) -> Vec<Wanted> {
    let mut wanted = Vec::new();
    for (i, topic) in topics.iter().enumerate() {
        let name = topic_name(&topic.topic);
        for p in &topic.partitions {
            wanted.push(Wanted {
                topic: i,
                name: name.clone(),
                partition: p.partition,
                offset: p.fetch_offset,
                max_bytes: usize::try_from(p.partition_max_bytes).unwrap_or(0).max(1),
            });
        }
    }
    wanted
}

/// Polls every partition for up to `wait`; the first with records (or an error) answers.
async fn wait_for_any(
    context: &KafkaContext,
    wanted: &[Wanted],
    wait: Duration,
    answers: &mut [PartitionData],
) {
    let mut polls: FuturesUnordered<_> = wanted
        .iter()
        .enumerate()
        .map(|(i, w)| async move { (i, read(context, w, wait).await) })
        .collect();
    while let Some((i, answer)) = polls.next().await {
        let done = has_records_or_error(&answer);
        answers[i] = answer;
        if done {
            break;
        }
    }
}

fn has_records_or_error(answer: &PartitionData) -> bool {
    answer.error_code != 0 || answer.records.as_ref().is_some_and(|r| !r.is_empty())
}

async fn read(context: &KafkaContext, w: &Wanted, wait: Duration) -> PartitionData {
    let answer = PartitionData::default()
        .with_partition_index(w.partition)
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_preferred_read_replica(kafka_protocol::messages::BrokerId(-1));
    let topic = match &w.name {
        Ok(topic) => topic,
        Err(code) => return answer.with_error_code(code.code()),
    };
    let (Ok(partition), Ok(offset)) = (u32::try_from(w.partition), u64::try_from(w.offset)) else {
        return answer.with_error_code(ResponseError::OffsetOutOfRange.code());
    };
    let request = ReadRequest {
        from: ReadFrom::Offset(Offset(offset)),
        max_records: FETCH_RECORDS_MAX,
        max_bytes: w.max_bytes,
        wait,
    };
    match context
        .service
        .read(topic, PartitionId(partition), request)
        .await
    {
        Ok(batch) => with_batch(answer, &batch),
        Err(ServiceError::Read(ReadError::OffsetOutOfRange {
            log_start, next, ..
        })) => answer
            .with_error_code(ResponseError::OffsetOutOfRange.code())
            .with_high_watermark(next.0 as i64)
            .with_last_stable_offset(next.0 as i64)
            .with_log_start_offset(log_start.0 as i64),
        Err(e) => answer.with_error_code(code_of(&e).code()),
    }
}

fn with_batch(answer: PartitionData, batch: &ReadBatch) -> PartitionData {
    let records: Vec<(i64, &silt_core::record::Record)> = batch
        .records
        .iter()
        .map(|c| (c.offset.0 as i64, &c.record))
        .collect();
    let high_watermark = batch.tail.0 as i64;
    answer
        .with_high_watermark(high_watermark)
        .with_last_stable_offset(high_watermark)
        .with_log_start_offset(batch.log_start_offset.0 as i64)
        .with_records(Some(encode_batch(&records)))
}

/// Drops the records of partitions past the response's byte limit (the first partition with
/// records always keeps them, as Kafka does so that a large record can be consumed).
fn trim_to(answers: &mut [PartitionData], max_bytes: usize) {
    let mut total = 0usize;
    for answer in answers.iter_mut() {
        let len = answer.records.as_ref().map_or(0, |r| r.len());
        if total > 0 && total + len > max_bytes {
            answer.records = Some(bytes::Bytes::new());
        } else {
            total += len;
        }
    }
}
