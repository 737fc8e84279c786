//! Server-Sent Events: a read that goes on. Each `batch` event carries what a JSON read
//! returns, with the offset to read on from as its id, so a client that reconnects with
//! `Last-Event-ID` resumes exactly there. While nothing arrives, a `ping` event every
//! [`PING_INTERVAL`] carries the tail; an `error` event ends the stream on a failure. The
//! stream ends when the agent shuts down.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream};
use serde_json::json;
use silt_core::ids::{Offset, PartitionId, TopicName};

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::read::{ReadParams, batch_json};
use crate::service::{ReadBatch, ReadFrom, ReadRequest};

/// How long a stream waits for records before it sends a `ping`.
pub const PING_INTERVAL: Duration = Duration::from_secs(15);

/// Where the stream stands between events.
struct Streaming {
    state: AppState,
    topic: TopicName,
    partition: PartitionId,
    params: ReadParams,
    /// The first batch, read before the response started (so its errors get a status).
    first: Option<ReadBatch>,
    next: Offset,
    ended: bool,
}

/// Starts the stream: the first read happens now, so an unknown topic or an offset out of
/// range is answered with its status, not inside the stream.
pub(crate) async fn stream(
    state: AppState,
    topic: TopicName,
    partition: PartitionId,
    params: ReadParams,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let mut request = params.request;
    if let Some(id) = headers.get("last-event-id") {
        let id = id
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| {
                ApiError::bad_request("header Last-Event-ID must be an offset (an event's id)")
            })?;
        request.from = ReadFrom::Offset(Offset(id));
    }
    request.wait = Duration::ZERO;
    let first = state.service.read(&topic, partition, request).await?;
    let streaming = Streaming {
        next: first.next_offset,
        first: Some(first),
        state,
        topic,
        partition,
        params,
        ended: false,
    };
    Ok(Sse::new(events(streaming)).into_response())
}

fn events(streaming: Streaming) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(streaming, |mut s| async move {
        if s.ended || (s.first.is_none() && s.state.service.is_stopping()) {
            return None;
        }
        let batch = match s.first.take() {
            Some(first) => Ok(first),
            None => {
                let request = ReadRequest {
                    from: ReadFrom::Offset(s.next),
                    wait: PING_INTERVAL,
                    ..s.params.request
                };
                s.state.service.read(&s.topic, s.partition, request).await
            }
        };
        let event = match batch {
            Ok(batch) if batch.records.is_empty() => Event::default()
                .event("ping")
                .data(json!({ "tail": batch.tail.0 }).to_string()),
            Ok(batch) => {
                s.next = batch.next_offset;
                Event::default()
                    .event("batch")
                    .id(batch.next_offset.0.to_string())
                    .data(batch_json(&batch, s.params.encoding).to_string())
            }
            Err(e) => {
                s.ended = true;
                Event::default()
                    .event("error")
                    .data(ApiError::from(e).body().to_string())
            }
        };
        Some((Ok(event), s))
    })
}
