//! Reads: `GET /v1/topics/{t}/partitions/{p}/records` (a JSON batch, long-polling up to
//! `wait` seconds at the tail; an event stream with `Accept: text/event-stream`) and
//! `GET .../tail`.

use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use silt_core::ids::Offset;
use silt_core::limits::{TIMESTAMP_MS_MAX, TIMESTAMP_MS_MIN};

use crate::http::body::encoding;
use crate::http::error::ApiError;
use crate::http::path::{PartitionPath, Query};
use crate::http::{AppState, json_ok, sse};
use crate::json::{Encoding, consumed_to_value};
use crate::service::{ReadBatch, ReadFrom, ReadRequest};

/// Most records one read returns (and the default).
pub const READ_RECORDS_MAX: u64 = 1000;
/// Most payload bytes one read returns (and the default): at least one record is returned.
pub const READ_BYTES_MAX: u64 = 1024 * 1024;
/// Longest a read waits for records at the tail, in seconds.
pub const WAIT_SECONDS_MAX: u64 = 60;

const PARAMETERS: [&str; 7] = [
    "offset",
    "timestamp",
    "tail_offset",
    "max_records",
    "max_bytes",
    "wait",
    "encoding",
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/topics/{topic}/partitions/{partition}/tail", get(tail))
}

/// A read's parameters, checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadParams {
    pub(crate) request: ReadRequest,
    pub(crate) encoding: Encoding,
}

pub(crate) async fn read(
    State(state): State<AppState>,
    PartitionPath(topic, partition): PartitionPath,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = read_params(&headers, query.as_deref())?;
    let streaming = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if streaming {
        return sse::stream(state, topic, partition, params, &headers).await;
    }
    let batch = state
        .service
        .read(&topic, partition, params.request)
        .await?;
    Ok(json_ok(batch_json(&batch, params.encoding)))
}

async fn tail(
    State(state): State<AppState>,
    PartitionPath(topic, partition): PartitionPath,
) -> Result<Response, ApiError> {
    let tail = state.service.tail(&topic, partition).await?;
    Ok(json_ok(json!({
        "partition": partition.0,
        "log_start_offset": tail.log_start_offset.0,
        "next_offset": tail.next_offset.0,
    })))
}

/// A batch as JSON: its records, where to read on, and the tail.
pub(crate) fn batch_json(batch: &ReadBatch, encoding: Encoding) -> Value {
    let records: Vec<Value> = batch
        .records
        .iter()
        .map(|c| consumed_to_value(c, encoding))
        .collect();
    json!({
        "records": records,
        "next_offset": batch.next_offset.0,
        "tail": batch.tail.0,
    })
}

/// Checks the query: at most one of `offset`, `timestamp`, `tail_offset` (none: the log
/// start); the limits within their bounds.
fn read_params(headers: &HeaderMap, query: Option<&str>) -> Result<ReadParams, ApiError> {
    let q = Query::parse(query, &PARAMETERS)?;
    let starts = ["offset", "timestamp", "tail_offset"];
    if starts.iter().filter(|s| q.get(s).is_some()).count() > 1 {
        return Err(ApiError::bad_request(
            "give at most one of offset, timestamp and tail_offset",
        ));
    }
    let from = match (q.u64("offset")?, q.i64("timestamp")?, q.u64("tail_offset")?) {
        (Some(o), _, _) => ReadFrom::Offset(Offset(o)),
        (_, Some(ms), _) if !(TIMESTAMP_MS_MIN..=TIMESTAMP_MS_MAX).contains(&ms) => {
            return Err(ApiError::bad_request(format!(
                "query parameter \"timestamp\" must be between {TIMESTAMP_MS_MIN} and {TIMESTAMP_MS_MAX} ms since the Unix epoch, not {ms}"
            )));
        }
        (_, Some(ms), _) => ReadFrom::Timestamp(ms),
        (_, _, Some(back)) => ReadFrom::TailOffset(back),
        _ => ReadFrom::Earliest,
    };
    let bounded = |name, min, max, default| q.bounded(name, min, max, default);
    let request = ReadRequest {
        from,
        max_records: bounded("max_records", 1, READ_RECORDS_MAX, READ_RECORDS_MAX)? as usize,
        max_bytes: bounded("max_bytes", 1, READ_BYTES_MAX, READ_BYTES_MAX)? as usize,
        wait: Duration::from_secs(bounded("wait", 0, WAIT_SECONDS_MAX, 0)?),
    };
    Ok(ReadParams {
        request,
        encoding: encoding(headers, q.get("encoding"))?,
    })
}
