//! `/v1/topics`: create, list, describe, alter, delete. Settings are spelled as on the
//! command line: `-1` unsets a limit; an unknown field is refused, naming it. The partitioner
//! is given at create; an alter may only repeat it.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use silt_core::ids::TopicName;
use silt_core::topic::{CleanupPolicy, PartitionerKind, TopicSettings};

use crate::http::body::{check_fields, optional_i64, optional_u64, parse_object, read_body};
use crate::http::error::ApiError;
use crate::http::{AppState, json_ok};
use crate::service::TopicSummary;
use crate::settings::{RETENTION_BYTES, RETENTION_MS, SEAL_AFTER_MS, bytes};

/// Settings a create or an alter may give.
const SETTINGS: [&str; 6] = [
    "retention_ms",
    "retention_bytes",
    "cleanup_policy",
    "min_compaction_lag_ms",
    "delete_retention_ms",
    "seal_after_ms",
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/topics", get(list).post(create))
        .route(
            "/v1/topics/{topic}",
            get(describe).patch(alter).delete(delete),
        )
}

/// A topic name from the path, checked as `topic create` checks it.
pub(crate) fn topic_name(name: String) -> Result<TopicName, ApiError> {
    Ok(TopicName::new(name)?)
}

async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let names = state.service.list_topics().await?;
    let names: Vec<&str> = names.iter().map(TopicName::as_str).collect();
    Ok(json_ok(json!({ "topics": names })))
}

async fn create(State(state): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let body = read_body(&state, body).await?;
    let o = parse_object(&body)?;
    let mut allowed = vec!["name", "partitions", "partitioner"];
    allowed.extend(SETTINGS);
    check_fields(&o, &allowed)?;
    let name = match o.get("name") {
        Some(Value::String(name)) => topic_name(name.clone())?,
        _ => {
            return Err(ApiError::bad_request(
                "field \"name\" must be a string (the topic name)",
            ));
        }
    };
    let partitions = optional_u64(&o, "partitions")?.unwrap_or(1);
    let partitions = u32::try_from(partitions).unwrap_or(u32::MAX);
    let settings = TopicSettings {
        partitioner: partitioner(&o)?,
        ..changed_settings(&o, &TopicSettings::default())?
    };
    let config = state
        .service
        .create_topic(&name, partitions, settings)
        .await?;
    let summary = state.service.describe(&config.name).await?;
    Ok((StatusCode::CREATED, axum::Json(topic_json(&summary))).into_response())
}

async fn describe(
    State(state): State<AppState>,
    Path(topic): Path<String>,
) -> Result<Response, ApiError> {
    let summary = state.service.describe(&topic_name(topic)?).await?;
    Ok(json_ok(topic_json(&summary)))
}

async fn delete(
    State(state): State<AppState>,
    Path(topic): Path<String>,
) -> Result<Response, ApiError> {
    let config = state.service.delete_topic(&topic_name(topic)?).await?;
    Ok(json_ok(json!({
        "name": config.name.as_str(),
        "topic_id": config.topic_id.to_string(),
        "partition_count": config.partitions,
        "deleted": true,
    })))
}

async fn alter(
    State(state): State<AppState>,
    Path(topic): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let name = topic_name(topic)?;
    let body = read_body(&state, body).await?;
    let o = parse_object(&body)?;
    let mut allowed = vec!["partitioner"];
    allowed.extend(SETTINGS);
    check_fields(&o, &allowed)?;
    // Checked once against the defaults, so a bad value is refused before any write.
    changed_settings(&o, &TopicSettings::default())?;
    // Only the topic's own is accepted: `alter_topic` refuses another one.
    let given = o
        .contains_key("partitioner")
        .then(|| partitioner(&o))
        .transpose()?;
    let config = state
        .service
        .alter_topic(&name, |current| TopicSettings {
            partitioner: given.unwrap_or(current.partitioner),
            ..changed_settings(&o, current).unwrap_or_else(|_| current.clone())
        })
        .await?;
    let summary = state.service.describe(&config.name).await?;
    Ok(json_ok(topic_json(&summary)))
}

/// `current` with the settings `o` gives: `-1` unsets a limit, an absent field keeps it.
fn changed_settings(
    o: &Map<String, Value>,
    current: &TopicSettings,
) -> Result<TopicSettings, ApiError> {
    let retention_ms = RETENTION_MS.given(optional_i64(o, "retention_ms")?)?;
    let retention_bytes = RETENTION_BYTES.given(optional_i64(o, "retention_bytes")?)?;
    let seal_after_ms = SEAL_AFTER_MS.given(optional_i64(o, "seal_after_ms")?)?;
    let cleanup_policy = match o.get("cleanup_policy") {
        None | Some(Value::Null) => current.cleanup_policy,
        Some(Value::String(p)) if p == "delete" => CleanupPolicy::Delete,
        Some(Value::String(p)) if p == "compact" => CleanupPolicy::Compact,
        Some(_) => {
            return Err(ApiError::bad_request(
                "field \"cleanup_policy\" must be \"delete\" or \"compact\"",
            ));
        }
    };
    let settings = TopicSettings {
        retention_ms: retention_ms.unwrap_or(current.retention_ms),
        retention_bytes: retention_bytes.map_or(current.retention_bytes, bytes),
        cleanup_policy,
        min_compaction_lag_ms: optional_i64(o, "min_compaction_lag_ms")?
            .or(current.min_compaction_lag_ms),
        delete_retention_ms: optional_i64(o, "delete_retention_ms")?
            .or(current.delete_retention_ms),
        seal_after_ms: seal_after_ms.unwrap_or(current.seal_after_ms),
        partitioner: current.partitioner,
        manifest_group_size: current.manifest_group_size,
    };
    settings.validate()?;
    Ok(settings)
}

/// The `partitioner` a create gives (`murmur2` when absent).
fn partitioner(o: &Map<String, Value>) -> Result<PartitionerKind, ApiError> {
    match o.get("partitioner") {
        None | Some(Value::Null) => Ok(PartitionerKind::default()),
        Some(Value::String(p)) => Ok(p.parse()?),
        Some(_) => Err(ApiError::bad_request(
            "field \"partitioner\" must be \"murmur2\" or \"kinesis-md5\"",
        )),
    }
}

/// A topic as `GET /v1/topics/{t}` shows it.
fn topic_json(t: &TopicSummary) -> Value {
    let s = &t.config.settings;
    let partitions: Vec<Value> = t
        .partitions
        .iter()
        .map(|p| {
            json!({
                "partition": p.partition.0,
                "log_start_offset": p.log_start_offset.0,
                "next_offset": p.next_offset.0,
                "segments": p.segments,
                "bytes": p.bytes,
            })
        })
        .collect();
    json!({
        "name": t.config.name.as_str(),
        "topic_id": t.config.topic_id.to_string(),
        "partition_count": t.config.partitions,
        "created_ms": t.config.created_ms,
        "retention_ms": s.retention_ms.unwrap_or(-1),
        "retention_bytes": s.retention_bytes.map_or(-1, |b| b as i64),
        "cleanup_policy": s.cleanup_policy,
        "min_compaction_lag_ms": s.min_compaction_lag_ms,
        "delete_retention_ms": s.delete_retention_ms,
        "seal_after_ms": s.seal_after_ms.unwrap_or(-1),
        "partitioner": s.partitioner,
        "partitions": partitions,
    })
}
