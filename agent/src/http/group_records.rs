//! A group member's records and offsets: `GET /v1/groups/{g}/members/{m}/records` (a poll:
//! assignment events and records, long-polling up to `wait` seconds) and `POST
//! /v1/groups/{g}/members/{m}/offsets` (commits, each conditioned on the member's lease).
//! Records are written as the read route writes them, with their topic.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use silt_core::ids::PartitionId;
use silt_group::{Event, Polled, TopicPartition};

use crate::http::body::{check_fields, encoding, optional_u64, parse_object, read_body};
use crate::http::error::ApiError;
use crate::http::path::{MemberPath, Query};
use crate::http::topics::topic_name;
use crate::http::{AppState, READ_BYTES_MAX, READ_RECORDS_MAX, WAIT_SECONDS_MAX, json_ok};
use crate::json::{Encoding, consumed_to_value};
use crate::service::{OffsetCommit, PollRequest};

/// Most offsets one commit request carries.
pub const COMMIT_OFFSETS_MAX: usize = 1000;
/// Longest metadata committed with an offset, in bytes (Kafka's `offset.metadata.max.bytes`).
pub const METADATA_BYTES_MAX: usize = 4096;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/groups/{group}/members/{member}/records", get(poll))
        .route("/v1/groups/{group}/members/{member}/offsets", post(commit))
}

async fn poll(
    State(state): State<AppState>,
    MemberPath(group, member): MemberPath,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = Query::parse(
        query.as_deref(),
        &["max_records", "max_bytes", "wait", "encoding"],
    )?;
    let bounded = |name, min, max, default| q.bounded(name, min, max, default);
    let request = PollRequest {
        max_records: bounded("max_records", 1, READ_RECORDS_MAX, READ_RECORDS_MAX)? as usize,
        max_bytes: bounded("max_bytes", 1, READ_BYTES_MAX, READ_BYTES_MAX)? as usize,
        wait: Duration::from_secs(bounded("wait", 0, WAIT_SECONDS_MAX, 0)?),
    };
    let encoding = encoding(&headers, q.get("encoding"))?;
    let polled = state.service.poll_group(&group, &member, request).await?;
    Ok(json_ok(polled_json(&polled, encoding)))
}

/// A poll's answer: assignment events, then records (each with its topic).
fn polled_json(polled: &Polled, encoding: Encoding) -> Value {
    let events: Vec<Value> = polled
        .events
        .iter()
        .map(|e| {
            let (name, tp) = match e {
                Event::Assigned(tp) => ("assigned", tp),
                Event::Revoked(tp) => ("revoked", tp),
                Event::Lost(tp) => ("lost", tp),
            };
            json!({ name: partition_json(tp) })
        })
        .collect();
    let mut records = Vec::new();
    for batch in &polled.batches {
        for c in &batch.records {
            let mut record = consumed_to_value(c, encoding);
            if let Value::Object(o) = &mut record {
                o.insert("topic".into(), batch.partition.topic.as_str().into());
            }
            records.push(record);
        }
    }
    json!({ "events": events, "records": records })
}

fn partition_json(tp: &TopicPartition) -> Value {
    json!({ "topic": tp.topic.as_str(), "partition": tp.partition.0 })
}

async fn commit(
    State(state): State<AppState>,
    MemberPath(group, member): MemberPath,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(&state, body).await?;
    let o = parse_object(&body)?;
    check_fields(&o, &["offsets"])?;
    let offsets = offsets(&o)?;
    let results = state
        .service
        .commit_group(&group, &member, &offsets)
        .await?;
    let mut first_error: Option<ApiError> = None;
    let answers: Vec<Value> = offsets
        .iter()
        .zip(results)
        .map(|(o, result)| {
            let mut answer = partition_json(&o.partition);
            answer["offset"] = o.offset.into();
            if let Err(e) = result {
                let e = ApiError::from(e);
                answer["error"] = e.body();
                // An unknown outcome says the most: report it over any other failure.
                if first_error
                    .as_ref()
                    .is_none_or(|f| e.code == "outcome_unknown" && f.code != e.code)
                {
                    first_error = Some(e);
                }
            }
            answer
        })
        .collect();
    match first_error {
        None => Ok(StatusCode::NO_CONTENT.into_response()),
        Some(e) => Err(e.with("offsets", answers)),
    }
}

/// `offsets`: 1 to [`COMMIT_OFFSETS_MAX`] of `{"topic", "partition", "offset", "metadata"?}`,
/// no partition twice.
fn offsets(o: &Map<String, Value>) -> Result<Vec<OffsetCommit>, ApiError> {
    let Some(Value::Array(items)) = o.get("offsets") else {
        return Err(ApiError::bad_request(
            "field \"offsets\" must be a list of {\"topic\", \"partition\", \"offset\"}",
        ));
    };
    if items.is_empty() || items.len() > COMMIT_OFFSETS_MAX {
        return Err(ApiError::bad_request(format!(
            "field \"offsets\" must hold 1 to {COMMIT_OFFSETS_MAX} offsets, not {}",
            items.len()
        ))
        .with("limit", COMMIT_OFFSETS_MAX));
    }
    let mut offsets: Vec<OffsetCommit> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let commit = offset(item).map_err(|e| ApiError {
            message: format!("offsets[{i}]: {}", e.message),
            ..e
        })?;
        if offsets.iter().any(|c| c.partition == commit.partition) {
            return Err(ApiError::bad_request(format!(
                "offsets[{i}]: partition {} is given twice",
                commit.partition
            )));
        }
        offsets.push(commit);
    }
    Ok(offsets)
}

fn offset(item: &Value) -> Result<OffsetCommit, ApiError> {
    let Value::Object(o) = item else {
        return Err(ApiError::bad_request(format!(
            "must be {{\"topic\", \"partition\", \"offset\"}}, not {}",
            crate::json::kind(item)
        )));
    };
    check_fields(o, &["topic", "partition", "offset", "metadata"])?;
    let topic = match o.get("topic") {
        Some(Value::String(name)) => topic_name(name.clone())?,
        _ => {
            return Err(ApiError::bad_request(
                "field \"topic\" must be a topic name",
            ));
        }
    };
    let required = |field: &str| {
        optional_u64(o, field)?
            .ok_or_else(|| ApiError::bad_request(format!("field {field:?} is required")))
    };
    let partition = u32::try_from(required("partition")?).map_err(|_| {
        ApiError::bad_request(format!(
            "field \"partition\" must be an integer from 0 to {}",
            u32::MAX
        ))
    })?;
    let offset = required("offset")?;
    let metadata = match o.get("metadata") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(m)) if m.len() <= METADATA_BYTES_MAX => m.clone(),
        Some(Value::String(m)) => {
            return Err(ApiError::bad_request(format!(
                "field \"metadata\" is {} bytes, over the limit of {METADATA_BYTES_MAX}",
                m.len()
            ))
            .with("limit", METADATA_BYTES_MAX));
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "field \"metadata\" must be a string, not {}",
                crate::json::kind(other)
            )));
        }
    };
    Ok(OffsetCommit {
        partition: TopicPartition {
            topic,
            partition: PartitionId(partition),
        },
        offset,
        metadata,
    })
}
