//! Where the function's responses meet the invocation's deadline. A JSON answer (a long-poll
//! included: `wait` is at most 60 s, and the template's timeout is longer) is sent whole. An
//! event stream would otherwise go on until Lambda kills the invocation mid-event; here it
//! ends cleanly, between two events, [`STREAM_MARGIN`] before the deadline, and the client
//! reconnects with `Last-Event-ID` (docs/http-api.md), landing on another invocation.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use futures::StreamExt;
use lambda_http::RequestExt;
use silt_core::clock::{Clock, SystemClock};
use tower::ServiceExt;

/// An event stream ends this long before its invocation's deadline, so its last event is
/// delivered and the response closes before Lambda stops the function.
pub(crate) const STREAM_MARGIN: Duration = Duration::from_secs(5);

/// Answers one function-URL request with the agent's router, ending an event stream before
/// the invocation's deadline.
pub(crate) async fn answer(
    router: Router,
    request: lambda_http::Request,
) -> Result<Response, Infallible> {
    let deadline_ms = request.lambda_context_ref().map(|c| c.deadline);
    let response = router.oneshot(request).await?;
    Ok(match deadline_ms {
        Some(ms) => end_stream_within(response, time_left(ms).saturating_sub(STREAM_MARGIN)),
        None => response,
    })
}

/// Time from now until `deadline_ms` (ms since the epoch); zero once it has passed.
fn time_left(deadline_ms: u64) -> Duration {
    let left_ms = i64::try_from(deadline_ms).unwrap_or(i64::MAX) - SystemClock.now_ms();
    Duration::from_millis(u64::try_from(left_ms).unwrap_or(0))
}

/// An event-stream response whose body ends after `left` (between two events: each event is
/// one frame of the body); any other response as it is.
pub(crate) fn end_stream_within(response: Response, left: Duration) -> Response {
    let is_stream = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !is_stream {
        return response;
    }
    response.map(|body| {
        let events = body
            .into_data_stream()
            .take_until(silt_core::clock::sleep(left));
        Body::from_stream(events)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::body::Bytes;
    use futures::stream;

    /// A response whose body never ends: one event, then nothing.
    fn endless(content_type: &str) -> Response {
        let first = stream::once(async { Ok::<_, Infallible>(Bytes::from("event: ping\n\n")) });
        let body = Body::from_stream(first.chain(stream::pending()));
        Response::builder()
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .unwrap()
    }

    async fn collect(response: Response) -> Bytes {
        let body = response.into_body();
        axum::body::to_bytes(body, 1024).await.unwrap()
    }

    #[tokio::test]
    async fn an_event_stream_ends_when_its_time_is_up() {
        let response = end_stream_within(endless("text/event-stream"), Duration::ZERO);
        // Without the cut the body never ends: the bound turns that into a failure.
        let body = tokio::time::timeout(Duration::from_secs(10), collect(response)).await;
        let body = body.expect("the stream ended");
        // The event already sent may go out; nothing after it.
        assert!(["", "event: ping\n\n"].contains(&&*String::from_utf8_lossy(&body)));
    }

    #[tokio::test]
    async fn other_answers_are_sent_whole() {
        let json = Response::builder()
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from("{\"records\":[]}"))
            .unwrap();
        let response = end_stream_within(json, Duration::ZERO);
        assert_eq!(collect(response).await, Bytes::from("{\"records\":[]}"));
        // Without a content type too.
        let plain = Response::new(Body::from("ok"));
        assert_eq!(
            collect(end_stream_within(plain, Duration::ZERO)).await,
            "ok"
        );
    }

    #[tokio::test]
    async fn a_finite_stream_is_sent_whole_within_its_time() {
        let events =
            stream::iter(["id: 1\n\n", "id: 2\n\n"].map(|e| Ok::<_, Infallible>(Bytes::from(e))));
        let response = Response::builder()
            .header(CONTENT_TYPE, "text/event-stream")
            .body(Body::from_stream(events))
            .unwrap();
        let response = end_stream_within(response, Duration::from_secs(600));
        assert_eq!(collect(response).await, "id: 1\n\nid: 2\n\n");
    }

    #[test]
    fn time_left_is_zero_once_the_deadline_passed() {
        assert_eq!(time_left(0), Duration::ZERO);
        let in_a_minute = u64::try_from(SystemClock.now_ms() + 60_000).unwrap();
        let left = time_left(in_a_minute);
        assert!(left > Duration::from_secs(50) && left <= Duration::from_secs(60));
    }
}
