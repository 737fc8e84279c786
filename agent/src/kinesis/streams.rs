//! Stream administration: `CreateStream`, `DeleteStream`, `DescribeStream`,
//! `DescribeStreamSummary`, `ListStreams`, `ListShards`, the retention period, and tags.
//!
//! A stream is a topic and a shard a partition. Streams made here are `kinesis-md5` topics
//! with Kinesis' default retention of 24 hours; every topic is a stream, whatever made it.
//! Shards never close (silt does not reshard), so every `ShardFilter` lists them all, and a
//! stream is `ACTIVE` from its creation. Paging tokens hold where the listing stopped.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::limits::PARTITIONS_MAX;
use silt_core::topic::{PartitionerKind, TopicConfig, TopicSettings, hash_key_range};

use crate::kinesis::input::{self, StreamRef, in_range, seconds, stream_arn};
use crate::kinesis::sequence::{parse_shard_id, sequence_number, shard_id};
use crate::kinesis::{Call, KinesisError, not_found};

/// Shards of a stream created without `ShardCount` (Kinesis' on-demand streams start with 4).
pub(crate) const ON_DEMAND_SHARDS: u32 = 4;
const HOUR_MS: i64 = 3_600_000;
/// Kinesis' retention bounds, in hours.
const RETENTION_HOURS_MIN: i64 = 24;
const RETENTION_HOURS_MAX: i64 = 8760;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateStream {
    stream_name: Option<String>,
    shard_count: Option<i64>,
}

pub(crate) async fn create_stream(call: &Call<'_>, body: Value) -> Result<Value, KinesisError> {
    let request: CreateStream = input::input(body)?;
    let name = request
        .stream_name
        .ok_or_else(|| KinesisError::missing("streamName"))?;
    input::length_in("streamName", &name, 1, input::STREAM_NAME_LEN_MAX)?;
    let topic = input::stream_name(&name)?;
    let shards = match request.shard_count {
        None => ON_DEMAND_SHARDS,
        Some(n) => {
            in_range("shardCount", n, 1, i64::MAX)?;
            u32::try_from(n)
                .ok()
                .filter(|n| *n <= PARTITIONS_MAX)
                .ok_or_else(|| {
                    KinesisError::limit_exceeded(format!(
                        "ShardCount {n} is over silt's limit of {PARTITIONS_MAX} shards per stream"
                    ))
                })?
        }
    };
    let settings = TopicSettings {
        partitioner: PartitionerKind::KinesisMd5,
        retention_ms: Some(RETENTION_HOURS_MIN * HOUR_MS),
        ..TopicSettings::default()
    };
    match call.service.create_topic(&topic, shards, settings).await {
        Ok(_) => Ok(json!({})),
        Err(silt_core::error::Error::TopicExists(_)) => Err(KinesisError::in_use(format!(
            "Stream {topic} under account 000000000000 already exists."
        ))),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn delete_stream(call: &Call<'_>, body: Value) -> Result<Value, KinesisError> {
    let stream: StreamRef = input::input(body)?;
    let topic = stream.topic()?;
    call.service
        .delete_topic(&topic)
        .await
        .map_err(|e| not_found(e, &topic))?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeStream {
    #[serde(flatten)]
    stream: StreamRef,
    limit: Option<i64>,
    exclusive_start_shard_id: Option<String>,
}

pub(crate) async fn describe_stream(call: &Call<'_>, body: Value) -> Result<Value, KinesisError> {
    let request: DescribeStream = input::input(body)?;
    let limit = in_range("limit", request.limit.unwrap_or(100), 1, 10_000)? as usize;
    let config = call.topic(&request.stream.topic()?).await?;
    let after = request
        .exclusive_start_shard_id
        .as_deref()
        .map(shard_after)
        .transpose()?;
    let (shards, more) = shards(&config, after, limit);
    let mut description = summary(call, &config);
    description["Shards"] = Value::Array(shards);
    description["HasMoreShards"] = json!(more.is_some());
    Ok(json!({ "StreamDescription": description }))
}

pub(crate) async fn describe_stream_summary(
    call: &Call<'_>,
    body: Value,
) -> Result<Value, KinesisError> {
    let stream: StreamRef = input::input(body)?;
    let config = call.topic(&stream.topic()?).await?;
    let mut description = summary(call, &config);
    description["OpenShardCount"] = json!(config.partitions);
    description["ConsumerCount"] = json!(0);
    Ok(json!({ "StreamDescriptionSummary": description }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListStreams {
    limit: Option<i64>,
    exclusive_start_stream_name: Option<String>,
    next_token: Option<String>,
}

pub(crate) async fn list_streams(call: &Call<'_>, body: Value) -> Result<Value, KinesisError> {
    let request: ListStreams = input::input(body)?;
    let limit = in_range("limit", request.limit.unwrap_or(100), 1, 10_000)? as usize;
    let after = request.next_token.or(request.exclusive_start_stream_name);
    let listed = call.service.storage().list_topic_configs().await?;
    let mut streams: Vec<TopicConfig> = listed
        .into_iter()
        .filter_map(|(_, config)| config)
        .filter(|c| after.as_deref().is_none_or(|after| c.name.as_str() > after))
        .collect();
    let more = streams.len() > limit;
    streams.truncate(limit);
    let mut answer = json!({
        "StreamNames": streams.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        "HasMoreStreams": more,
        "StreamSummaries": streams.iter().map(|c| json!({
            "StreamName": c.name.as_str(),
            "StreamARN": stream_arn(&call.region, &c.name),
            "StreamStatus": "ACTIVE",
            "StreamModeDetails": {"StreamMode": "PROVISIONED"},
            "StreamCreationTimestamp": seconds(c.created_ms),
        })).collect::<Vec<_>>(),
    });
    if let (true, Some(last)) = (more, streams.last()) {
        answer["NextToken"] = json!(last.name.as_str());
    }
    Ok(answer)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListShards {
    #[serde(flatten)]
    stream: StreamRef,
    next_token: Option<String>,
    exclusive_start_shard_id: Option<String>,
    max_results: Option<i64>,
    shard_filter: Option<ShardFilter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ShardFilter {
    r#type: String,
    shard_id: Option<String>,
}

pub(crate) async fn list_shards(call: &Call<'_>, body: Value) -> Result<Value, KinesisError> {
    let request: ListShards = input::input(body)?;
    let limit = in_range("maxResults", request.max_results.unwrap_or(1000), 1, 10_000)? as usize;
    let (topic, after) = match request.next_token {
        Some(token) => {
            if request.stream.stream_name.is_some() || request.stream.stream_arn.is_some() {
                return Err(KinesisError::invalid_argument(
                    "NextToken and StreamName (or StreamARN) cannot be given together",
                ));
            }
            let (topic, after) = open_shards_token(&token)?;
            (topic, Some(after))
        }
        None => {
            let filter_after = match &request.shard_filter {
                Some(f) if f.r#type == "AFTER_SHARD_ID" => f.shard_id.as_deref(),
                _ => None,
            };
            let after = request.exclusive_start_shard_id.as_deref().or(filter_after);
            (request.stream.topic()?, after.map(shard_after).transpose()?)
        }
    };
    let config = call.topic(&topic).await?;
    let (shards, more) = shards(&config, after, limit);
    let mut answer = json!({ "Shards": shards });
    if let Some(last) = more {
        answer["NextToken"] = json!(shards_token(&topic, last));
    }
    Ok(answer)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Retention {
    #[serde(flatten)]
    stream: StreamRef,
    retention_period_hours: Option<i64>,
}

/// `IncreaseStreamRetentionPeriod` (`increase`) or `DecreaseStreamRetentionPeriod`: the
/// topic's `retention_ms`, in whole hours from 24 to 8760. A topic kept forever counts as
/// longer than any period: it can only be decreased.
pub(crate) async fn change_retention(
    call: &Call<'_>,
    body: Value,
    increase: bool,
) -> Result<Value, KinesisError> {
    let request: Retention = input::input(body)?;
    let hours = request
        .retention_period_hours
        .ok_or_else(|| KinesisError::missing("retentionPeriodHours"))?;
    let topic = request.stream.topic()?;
    if !(RETENTION_HOURS_MIN..=RETENTION_HOURS_MAX).contains(&hours) {
        return Err(KinesisError::invalid_argument(format!(
            "Requested retention period ({hours} hours) for stream {topic} is out of range: it must be between {RETENTION_HOURS_MIN} and {RETENTION_HOURS_MAX} hours"
        )));
    }
    let config = call.topic(&topic).await?;
    let current = config.settings.retention_ms;
    let requested = hours * HOUR_MS;
    let wrong_way = match (increase, current) {
        (true, None) => true,
        (true, Some(ms)) => requested < ms,
        (false, None) => false,
        (false, Some(ms)) => requested > ms,
    };
    if wrong_way {
        let (shorter, other) = match increase {
            true => ("shorter", "DecreaseStreamRetentionPeriod"),
            false => ("longer", "IncreaseStreamRetentionPeriod"),
        };
        return Err(KinesisError::invalid_argument(format!(
            "Requested retention period ({hours} hours) for stream {topic} can not be {shorter} than existing retention period ({} hours). Use {other} API.",
            retention_hours(&config.settings)
        )));
    }
    call.service
        .alter_topic(&topic, |s| TopicSettings {
            retention_ms: Some(requested),
            ..s.clone()
        })
        .await
        .map_err(|e| not_found(e, &topic))?;
    Ok(json!({}))
}

/// `ListTagsForStream`: silt keeps no tags, so a stream has none.
pub(crate) async fn list_tags(call: &Call<'_>, body: Value) -> Result<Value, KinesisError> {
    let stream: StreamRef = input::input(body)?;
    call.topic(&stream.topic()?).await?;
    Ok(json!({ "Tags": [], "HasMoreTags": false }))
}

/// What `DescribeStream` and `DescribeStreamSummary` share.
fn summary(call: &Call<'_>, config: &TopicConfig) -> Value {
    json!({
        "StreamName": config.name.as_str(),
        "StreamARN": stream_arn(&call.region, &config.name),
        "StreamStatus": "ACTIVE",
        "StreamModeDetails": {"StreamMode": "PROVISIONED"},
        "RetentionPeriodHours": retention_hours(&config.settings),
        "StreamCreationTimestamp": seconds(config.created_ms),
        "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
        "EncryptionType": "NONE",
    })
}

/// The retention in whole hours (rounded up); a topic kept forever reports Kinesis' longest.
fn retention_hours(settings: &TopicSettings) -> i64 {
    settings.retention_ms.map_or(RETENTION_HOURS_MAX, |ms| {
        ms.div_euclid(HOUR_MS) + i64::from(ms % HOUR_MS != 0)
    })
}

/// Up to `limit` shards after shard index `after`, and the index of the last one listed when
/// more follow.
fn shards(config: &TopicConfig, after: Option<u32>, limit: usize) -> (Vec<Value>, Option<u32>) {
    let first = after.map_or(0, |a| a.saturating_add(1));
    let listed: Vec<u32> = (first..config.partitions).take(limit).collect();
    let more = match listed.last() {
        Some(&last) if last + 1 < config.partitions => Some(last),
        _ => None,
    };
    let shards = listed
        .into_iter()
        .map(|p| shard(PartitionId(p), config.partitions))
        .collect();
    (shards, more)
}

fn shard(partition: PartitionId, partitions: u32) -> Value {
    let (start, end) = hash_key_range(partition, partitions).unwrap_or((0, u128::MAX));
    json!({
        "ShardId": shard_id(partition),
        "HashKeyRange": {"StartingHashKey": start.to_string(), "EndingHashKey": end.to_string()},
        "SequenceNumberRange": {"StartingSequenceNumber": sequence_number(partition, Offset(0))},
    })
}

fn shard_after(text: &str) -> Result<u32, KinesisError> {
    parse_shard_id(text)
        .map(|p| p.0)
        .ok_or_else(|| KinesisError::invalid_argument(format!("{text:?} is not a shard id")))
}

/// A `ListShards` token: the stream and the last shard listed.
fn shards_token(topic: &TopicName, last: u32) -> String {
    URL_SAFE_NO_PAD.encode(format!("{last}:{topic}"))
}

fn open_shards_token(token: &str) -> Result<(TopicName, u32), KinesisError> {
    let bad = || KinesisError::invalid_argument("NextToken is not one ListShards gave");
    let text = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(text).map_err(|_| bad())?;
    let (last, name) = text.split_once(':').ok_or_else(bad)?;
    let topic = TopicName::new(name).map_err(|_| bad())?;
    Ok((topic, last.parse().map_err(|_| bad())?))
}

pub(crate) fn stream_not_found(topic: &TopicName) -> KinesisError {
    KinesisError::not_found(format!(
        "Stream {topic} under account 000000000000 not found."
    ))
}
