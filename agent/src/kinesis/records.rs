//! Records: `PutRecord`, `PutRecords`, `GetShardIterator` and `GetRecords`.
//!
//! A put is an append: the partition key is the record's key, the data its value, and its
//! timestamp the agent's clock when the put arrived (Kinesis' `ApproximateArrivalTimestamp`).
//! A record goes to the shard whose hash-key range holds its `ExplicitHashKey` when given,
//! else where the topic's partitioner puts its key (the MD5 ranges, for streams made by
//! `CreateStream`). `PutRecords` checks every record before writing any; then each shard's
//! records are one batch, and shards succeed or fail on their own, reported per record as
//! Kinesis does. `SequenceNumberForOrdering` is checked and needs nothing more: the records
//! of one shard are always in the order they were acknowledged.
//!
//! Reads return what is there without waiting (Kinesis' `GetRecords` does not long-poll).

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use silt_core::ids::{Offset, PartitionId};
use silt_core::limits::RECORD_BYTES_MAX;
use silt_core::record::Record;
use silt_core::topic::parse_hash_key;
use silt_reader::{Consumed, ReadError};
use silt_writer::AppendError;

use crate::kinesis::input::{self, StreamRef, blob, in_range, seconds};
use crate::kinesis::iterator::{ITERATOR_LIFETIME_MS, Position, Unsealed};
use crate::kinesis::sequence::{parse_sequence_number, parse_shard_id, sequence_number, shard_id};
use crate::kinesis::{Call, KinesisError};
use crate::service::{Placement, ReadFrom, ReadRequest};

/// Records in one `PutRecords`, as in Kinesis.
pub const PUT_RECORDS_MAX: usize = 500;
/// Bytes of data and partition keys in one `PutRecords`, as in Kinesis: 5 MiB.
pub const PUT_RECORDS_BYTES_MAX: usize = 5 * 1024 * 1024;
/// Records one `GetRecords` returns at most, as in Kinesis.
pub const GET_RECORDS_MAX: i64 = 10_000;
/// Bytes of data one `GetRecords` returns at most (one record more if the first is larger).
pub const GET_RECORDS_BYTES_MAX: usize = 10 * 1024 * 1024;
const PARTITION_KEY_CHARS_MAX: usize = 256;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutEntry {
    data: Option<String>,
    partition_key: Option<String>,
    explicit_hash_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecord {
    #[serde(flatten)]
    stream: StreamRef,
    #[serde(flatten)]
    entry: PutEntry,
    sequence_number_for_ordering: Option<String>,
}

pub(crate) async fn put_record(call: &Call<'_>, body: Value) -> Result<Value, KinesisError> {
    let request: PutRecord = input::input(body)?;
    let topic = request.stream.topic()?;
    if let Some(sequence) = &request.sequence_number_for_ordering {
        check_sequence_pattern("sequenceNumberForOrdering", sequence)?;
    }
    let placed = vec![record(call, &request.entry, "")?];
    let (partition, offset) = call.service.append(&topic, placed).await?.remove(0);
    let offset = offset.map_err(KinesisError::from)?;
    Ok(json!({
        "ShardId": shard_id(partition),
        "SequenceNumber": sequence_number(partition, offset),
        "EncryptionType": "NONE",
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecords {
    #[serde(flatten)]
    stream: StreamRef,
    records: Option<Vec<PutEntry>>,
}

pub(crate) async fn put_records(call: &Call<'_>, body: Value) -> Result<Value, KinesisError> {
    let request: PutRecords = input::input(body)?;
    let entries = request
        .records
        .ok_or_else(|| KinesisError::missing("records"))?;
    if entries.is_empty() || entries.len() > PUT_RECORDS_MAX {
        return Err(KinesisError::validation(format!(
            "1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length between 1 and {PUT_RECORDS_MAX} (it has {})",
            entries.len()
        )));
    }
    let topic = request.stream.topic()?;
    let mut records = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        records.push(record(call, entry, &format!("records.{}.member.", i + 1))?);
    }
    let bytes: usize = records.iter().map(|(_, r)| r.payload_bytes()).sum();
    if bytes > PUT_RECORDS_BYTES_MAX {
        return Err(KinesisError::invalid_argument(format!(
            "Records size exceeds {PUT_RECORDS_BYTES_MAX} bytes limit: the data and partition keys of this request are {bytes} bytes"
        )));
    }
    let placed = call.service.append(&topic, records).await?;
    let failed = placed.iter().filter(|(_, o)| o.is_err()).count();
    let results: Vec<Value> = placed
        .into_iter()
        .map(|(partition, offset)| match offset {
            Ok(offset) => json!({
                "ShardId": shard_id(partition),
                "SequenceNumber": sequence_number(partition, offset),
            }),
            Err(e) => json!({"ErrorCode": put_error_code(&e), "ErrorMessage": e.to_string()}),
        })
        .collect();
    Ok(json!({"FailedRecordCount": failed, "Records": results, "EncryptionType": "NONE"}))
}

/// The record an entry makes, and where it goes: by its `ExplicitHashKey` if it has one, else
/// by its key; `member` prefixes the names in errors (`records.3.member.`).
fn record(
    call: &Call<'_>,
    entry: &PutEntry,
    member: &str,
) -> Result<(Placement, Record), KinesisError> {
    let key = entry
        .partition_key
        .as_deref()
        .ok_or_else(|| KinesisError::missing(&format!("{member}partitionKey")))?;
    input::length_in(
        &format!("{member}partitionKey"),
        key,
        1,
        PARTITION_KEY_CHARS_MAX,
    )?;
    let data = blob("Data", entry.data.as_deref().unwrap_or_default())?;
    if data.len() + key.len() > RECORD_BYTES_MAX {
        return Err(KinesisError::validation(format!(
            "1 validation error detected: Value at '{member}data' failed to satisfy constraint: Member must have length less than or equal to {RECORD_BYTES_MAX} (with its partition key: {} bytes)",
            data.len() + key.len()
        )));
    }
    let placement = match &entry.explicit_hash_key {
        Some(text) => Placement::HashKey(parse_hash_key(text).map_err(|_| {
            KinesisError::invalid_argument(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {:?}",
                text.chars().take(64).collect::<String>()
            ))
        })?),
        None => Placement::ByKey,
    };
    let record = Record {
        key: Some(Bytes::copy_from_slice(key.as_bytes())),
        value: Some(Bytes::from(data)),
        timestamp_ms: call.now_ms,
        headers: Vec::new(),
    };
    Ok((placement, record))
}

/// A failed record's `ErrorCode`: throughput (retry it) or an internal failure.
fn put_error_code(e: &AppendError) -> &'static str {
    match e.kind() {
        silt_core::error::ErrorKind::Retryable => "ProvisionedThroughputExceededException",
        _ => "InternalFailure",
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetShardIterator {
    #[serde(flatten)]
    stream: StreamRef,
    shard_id: Option<String>,
    shard_iterator_type: Option<String>,
    starting_sequence_number: Option<String>,
    timestamp: Option<f64>,
}

pub(crate) async fn get_shard_iterator(
    call: &Call<'_>,
    body: Value,
) -> Result<Value, KinesisError> {
    let request: GetShardIterator = input::input(body)?;
    let topic = request.stream.topic()?;
    let shard = request
        .shard_id
        .as_deref()
        .ok_or_else(|| KinesisError::missing("shardId"))?;
    let kind = request
        .shard_iterator_type
        .as_deref()
        .ok_or_else(|| KinesisError::missing("shardIteratorType"))?;
    let config = call.topic(&topic).await?;
    let partition = parse_shard_id(shard)
        .filter(|p| p.0 < config.partitions)
        .ok_or_else(|| {
            KinesisError::not_found(format!(
                "Shard {shard} in stream {topic} under account 000000000000 does not exist"
            ))
        })?;
    let sequence = || {
        let text = request.starting_sequence_number.as_deref().ok_or_else(|| {
            KinesisError::invalid_argument(format!("{kind} needs a StartingSequenceNumber"))
        })?;
        offset_of(text, partition, shard)
    };
    let tail = call.service.tail(&topic, partition).await?;
    let from = match kind {
        "TRIM_HORIZON" => ReadFrom::Earliest,
        "LATEST" => ReadFrom::Offset(tail.next_offset),
        "AT_SEQUENCE_NUMBER" => ReadFrom::Offset(sequence()?),
        "AFTER_SEQUENCE_NUMBER" => ReadFrom::Offset(sequence()?.plus(1)),
        "AT_TIMESTAMP" => {
            let at = request
                .timestamp
                .ok_or_else(|| KinesisError::invalid_argument("AT_TIMESTAMP needs a Timestamp"))?;
            ReadFrom::Timestamp(input::timestamp_ms(at)?)
        }
        other => {
            return Err(KinesisError::validation(format!(
                "1 validation error detected: Value '{}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, AT_SEQUENCE_NUMBER, AT_TIMESTAMP, TRIM_HORIZON, LATEST]",
                other.chars().take(64).collect::<String>()
            )));
        }
    };
    if let ReadFrom::Offset(offset) = from
        && offset > tail.next_offset
    {
        return Err(KinesisError::invalid_argument(format!(
            "StartingSequenceNumber {} used in GetShardIterator on shard {shard} in stream {topic} under account 000000000000 is invalid because it is past the shard's last record.",
            request.starting_sequence_number.unwrap_or_default()
        )));
    }
    let position = Position {
        topic,
        topic_id: config.topic_id.0.0,
        partition,
        from,
        issued_ms: call.now_ms,
    };
    Ok(json!({ "ShardIterator": call.seal().await?.seal(&position) }))
}

/// The offset a sequence number names, if it is one of `partition`'s.
fn offset_of(text: &str, partition: PartitionId, shard: &str) -> Result<Offset, KinesisError> {
    check_sequence_pattern("startingSequenceNumber", text)?;
    match parse_sequence_number(text) {
        Some((p, offset)) if p == partition => Ok(offset),
        _ => Err(KinesisError::invalid_argument(format!(
            "StartingSequenceNumber {text} used in GetShardIterator on shard {shard} is invalid because it did not come from this shard."
        ))),
    }
}

fn check_sequence_pattern(member: &str, text: &str) -> Result<(), KinesisError> {
    let digits = !text.is_empty() && text.len() <= 129 && text.bytes().all(|b| b.is_ascii_digit());
    match digits && (text == "0" || !text.starts_with('0')) {
        true => Ok(()),
        false => Err(KinesisError::validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{{0,128}})"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetRecords {
    shard_iterator: Option<String>,
    limit: Option<i64>,
}

pub(crate) async fn get_records(call: &Call<'_>, body: Value) -> Result<Value, KinesisError> {
    let request: GetRecords = input::input(body)?;
    let iterator = request
        .shard_iterator
        .ok_or_else(|| KinesisError::missing("shardIterator"))?;
    // Kinesis documents InvalidArgumentException here, not a validation error.
    let limit = in_range(
        "limit",
        request.limit.unwrap_or(GET_RECORDS_MAX),
        1,
        GET_RECORDS_MAX,
    )
    .map_err(|e| KinesisError::invalid_argument(e.message))?;
    let position = open(call, &iterator).await?;
    let config = call.cached_topic(&position.topic).await?;
    if config.topic_id.0.0 != position.topic_id {
        return Err(super::streams::stream_not_found(&position.topic));
    }
    let read = |from| ReadRequest {
        from,
        max_records: limit as usize,
        max_bytes: GET_RECORDS_BYTES_MAX,
        wait: Duration::ZERO,
    };
    let (topic, partition) = (&position.topic, position.partition);
    let batch = match call
        .service
        .read(topic, partition, read(position.from))
        .await
    {
        // Retention removed what the iterator pointed at: go on from the oldest left.
        Err(crate::service::ServiceError::Read(ReadError::OffsetOutOfRange {
            log_start, ..
        })) if matches!(position.from, ReadFrom::Offset(o) if o < log_start) => {
            call.service
                .read(topic, partition, read(ReadFrom::Earliest))
                .await?
        }
        other => other?,
    };
    let behind_ms = match (batch.next_offset < batch.tail, batch.records.last()) {
        (true, Some(last)) => (call.now_ms - last.record.timestamp_ms).max(0),
        _ => 0,
    };
    let next = Position {
        from: ReadFrom::Offset(batch.next_offset),
        issued_ms: call.now_ms,
        ..position
    };
    Ok(json!({
        "Records": batch.records.iter().map(kinesis_record).collect::<Vec<_>>(),
        "NextShardIterator": call.seal().await?.seal(&next),
        "MillisBehindLatest": behind_ms,
    }))
}

/// The position in `iterator`, or the Kinesis error for a forged or expired one.
async fn open(call: &Call<'_>, iterator: &str) -> Result<Position, KinesisError> {
    match call.seal().await?.open(iterator, call.now_ms) {
        Ok(position) => Ok(position),
        Err(Unsealed::Forged) => Err(KinesisError::invalid_argument(
            "Invalid ShardIterator: it was not issued by this store's agents, or was changed",
        )),
        Err(Unsealed::Expired) => Err(KinesisError::expired_iterator(format!(
            "Iterator expired. The iterator was created more than {ITERATOR_LIFETIME_MS} milliseconds before {}.",
            call.now_ms
        ))),
    }
}

/// A record as `GetRecords` returns it. A record without a key (appended by another
/// protocol) has the empty partition key; a key that is not UTF-8 is shown lossily.
fn kinesis_record(consumed: &Consumed) -> Value {
    use base64::Engine;
    let record = &consumed.record;
    let key = record
        .key
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let data = base64::engine::general_purpose::STANDARD
        .encode(record.value.as_deref().unwrap_or_default());
    json!({
        "SequenceNumber": sequence_number(consumed.partition, consumed.offset),
        "ApproximateArrivalTimestamp": seconds(record.timestamp_ms),
        "Data": data,
        "PartitionKey": key,
    })
}
