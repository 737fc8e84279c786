//! Appends: `POST /v1/topics/{t}/records` (each record to its partition) and
//! `POST /v1/topics/{t}/partitions/{p}/records` (one batch, all or none, optionally at
//! `match_offset`). A body is `{"records": [...]}` or, as `application/x-ndjson`, one record
//! per line. Each answer comes after the commit; an unknown outcome is never a success.

use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use silt_core::ids::{Offset, PartitionId};

use crate::http::body::{check_fields, encoding, optional_u64, parse_object, read_body};
use crate::http::error::ApiError;
use crate::http::path::{PartitionPath, Query, TopicPath};
use crate::http::{AppState, json_ok};
use crate::json::{Encoding, InputRecord, parse_record, strict};
use crate::service::Placement;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/topics/{topic}/records", post(append))
        .route(
            "/v1/topics/{topic}/partitions/{partition}/records",
            post(append_to).get(crate::http::read::read),
        )
}

/// A parsed append body: its records and the fields beside them.
struct Batch {
    records: Vec<InputRecord>,
    match_offset: Option<u64>,
}

async fn append(
    State(state): State<AppState>,
    TopicPath(topic): TopicPath,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let query = Query::parse(query.as_deref(), &["encoding"])?;
    let batch = read_batch(&state, &headers, &query, body, false).await?;
    let records = batch
        .records
        .into_iter()
        .map(|r| {
            let placement = r
                .partition
                .map_or(Placement::ByKey, |p| Placement::Partition(PartitionId(p)));
            (placement, r.record)
        })
        .collect();
    let placed = state.service.append(&topic, records).await?;
    let mut first_error: Option<ApiError> = None;
    let results: Vec<Value> = placed
        .into_iter()
        .map(|(p, outcome)| match outcome {
            Ok(offset) => json!({ "partition": p.0, "offset": offset.0 }),
            Err(e) => {
                let e = ApiError::from(e);
                let body = json!({ "partition": p.0, "error": e.body() });
                // An unknown outcome says the most: report it over any other failure.
                if first_error
                    .as_ref()
                    .is_none_or(|f| e.code == "outcome_unknown" && f.code != e.code)
                {
                    first_error = Some(e);
                }
                body
            }
        })
        .collect();
    match first_error {
        None => Ok(json_ok(json!({ "records": results }))),
        Some(e) => Err(e.with("records", results)),
    }
}

async fn append_to(
    State(state): State<AppState>,
    PartitionPath(topic, partition): PartitionPath,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let query = Query::parse(query.as_deref(), &["encoding", "match_offset"])?;
    let batch = read_batch(&state, &headers, &query, body, true).await?;
    let mut records = Vec::with_capacity(batch.records.len());
    for (i, r) in batch.records.into_iter().enumerate() {
        if let Some(p) = r.partition.filter(|p| *p != partition.0) {
            return Err(ApiError::bad_request(format!(
                "records[{i}]: field \"partition\" is {p}, but the request appends to partition {partition}"
            )));
        }
        records.push(r.record);
    }
    let match_offset = batch.match_offset.map(Offset);
    let ack = state
        .service
        .append_to(&topic, partition, records, match_offset)
        .await?;
    Ok(json_ok(json!({
        "partition": ack.partition.0,
        "base_offset": ack.base_offset.0,
        "last_offset": ack.last_offset.0,
        "next_offset": ack.last_offset.0 + 1,
    })))
}

/// Reads and parses an append body: JSON `{"records": [...]}` (with `match_offset` when
/// `conditional`), or NDJSON with `match_offset` in the query.
async fn read_batch(
    state: &AppState,
    headers: &HeaderMap,
    query: &Query,
    body: Body,
    conditional: bool,
) -> Result<Batch, ApiError> {
    let encoding = encoding(headers, query.get("encoding"))?;
    let body = read_body(state, body).await?;
    let now_ms = state.service.storage().clock.now_ms();
    let ndjson = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-ndjson"));
    if ndjson {
        let match_offset = match conditional {
            true => query.u64("match_offset")?,
            false => None,
        };
        let records = ndjson_records(&body, now_ms, encoding)?;
        return Ok(Batch {
            records,
            match_offset,
        });
    }
    let o = parse_object(&body)?;
    check_fields(
        &o,
        if conditional {
            &["records", "match_offset"]
        } else {
            &["records"]
        },
    )?;
    let items = match o.get("records") {
        Some(Value::Array(items)) => items,
        _ => {
            return Err(ApiError::bad_request(
                "field \"records\" must be a list of records",
            ));
        }
    };
    let mut records = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let record = parse_record(item, now_ms, encoding)
            .map_err(|e| ApiError::bad_request(format!("records[{i}]: {e}")))?;
        records.push(record);
    }
    let match_offset = match (
        optional_u64(&o, "match_offset")?,
        query.u64("match_offset")?,
    ) {
        (Some(body), Some(query)) if body != query => {
            return Err(ApiError::bad_request(format!(
                "match_offset is {body} in the body but {query} in the query"
            )));
        }
        (body, query) => body.or(query),
    };
    Ok(Batch {
        records,
        match_offset,
    })
}

/// One record per non-empty line.
fn ndjson_records(
    body: &[u8],
    now_ms: i64,
    encoding: Encoding,
) -> Result<Vec<InputRecord>, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not UTF-8: {e}")))?;
    let mut records = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let line_error =
            |e: &dyn std::fmt::Display| ApiError::bad_request(format!("line {}: {e}", i + 1));
        let value = strict::parse(line).map_err(|e| line_error(&e))?;
        records.push(parse_record(&value, now_ms, encoding).map_err(|e| line_error(&e))?);
    }
    Ok(records)
}
