//! What every request passes before its route: a log line, the concurrency limit, and
//! bearer-token auth. `/healthz` and `/readyz` skip the last two, for load balancers.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tokio::time::Instant;

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::kinesis::{self, KinesisError};

/// One line per request at debug level: method, path, status, time taken.
pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics::counter!(
        crate::metrics::HTTP_REQUESTS,
        "method" => method.to_string(),
        "status" => response.status().as_u16().to_string()
    )
    .increment(1);
    tracing::debug!(
        %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

/// 429 once `concurrent_requests_max` requests are being served. A request holds its slot
/// until its answer's body is sent (or the client goes away), so an event stream, a long-poll
/// and a slow reader each count while they last, not only until their headers.
pub(crate) async fn limit_concurrency(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(slot) = state.slots.clone().try_acquire_owned() else {
        let max = state.settings.concurrent_requests_max;
        let message = format!("the agent serves at most {max} requests at once; retry shortly");
        if request.headers().contains_key(kinesis::TARGET_HEADER) {
            // The error Kinesis' SDKs retry with backoff.
            return KinesisError::throttled(message).into_response();
        }
        return ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
            .into_response();
    };
    let response = next.run(request).await;
    // The body owns the slot: it is released when the body is dropped, sent or not.
    response.map(|body| {
        Body::new(body.map_err(move |e| {
            let _held = &slot;
            e
        }))
    })
}

/// 401 unless the request carries `Authorization: Bearer <token>` with a configured token.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(tokens) = &state.settings.auth else {
        return match state.settings.access_keys {
            None => next.run(request).await,
            Some(_) => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this agent authenticates only its Kinesis API (--auth-keys); start it with --auth-tokens FILE to use the HTTP API",
            )
            .into_response(),
        };
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    match given {
        Some(token) if tokens.accepts(token) => next.run(request).await,
        _ => {
            let mut response = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send a valid token as `Authorization: Bearer <token>`",
            )
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            response
        }
    }
}

/// The token of `Bearer <token>`; the scheme is case-insensitive (RFC 9110 11.1).
fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}
