//! The native HTTP API (docs/http-api.md): one router over a [`LogService`], the same for a
//! long-running agent and for the Lambda function. Requests pass, in order: the per-request
//! log line, the concurrency limit (429 past it), bearer-token auth (401), then the route.
//! The same listener serves the Kinesis API (`POST /`, see `crate::kinesis`), which
//! authenticates with SigV4 instead of bearer tokens.

mod append;
mod body;
mod error;
mod group_records;
#[cfg(test)]
mod group_tests;
mod groups;
mod guard;
mod path;
mod read;
mod sse;
#[cfg(test)]
mod tests;
mod topics;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::Semaphore;

pub use body::REQUEST_BYTES_MAX;
pub(crate) use body::read_body;
use error::ApiError;
pub use group_records::{COMMIT_OFFSETS_MAX, METADATA_BYTES_MAX};
pub use groups::{CLIENT_ID_BYTES_MAX, GROUP_TIMEOUT_MS_MAX, GROUP_TOPICS_MAX, HEARTBEAT_MS_MIN};
pub use read::{READ_BYTES_MAX, READ_RECORDS_MAX, WAIT_SECONDS_MAX};
pub use sse::PING_INTERVAL;

use crate::kinesis::{self, AccessKeys, KinesisState};
use crate::serve::AuthTokens;
use crate::service::LogService;

/// How the HTTP front door limits and authenticates requests.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Bearer tokens accepted by the HTTP API. With neither these nor `access_keys`, the agent
    /// serves without authentication; with only `access_keys`, the HTTP API refuses every
    /// request (401).
    pub auth: Option<AuthTokens>,
    /// SigV4 access keys accepted by the Kinesis API. Without them, the Kinesis API takes
    /// any request when the agent has no `auth` either, and none otherwise.
    pub access_keys: Option<AccessKeys>,
    /// Requests served at once; past it, 429. Default 1024.
    pub concurrent_requests_max: usize,
    /// Longest a client may take to send its request body. Default 30 s.
    pub body_timeout: Duration,
    /// Renders `GET /metrics` (Prometheus text), when metrics are recorded.
    pub metrics: Option<MetricsRenderer>,
}

/// Renders the metrics recorded so far as Prometheus text.
#[derive(Clone)]
pub struct MetricsRenderer(pub Arc<dyn Fn() -> String + Send + Sync>);

impl std::fmt::Debug for MetricsRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsRenderer")
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            auth: None,
            access_keys: None,
            concurrent_requests_max: 1024,
            body_timeout: Duration::from_secs(30),
            metrics: None,
        }
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) service: Arc<LogService>,
    pub(crate) settings: Arc<HttpSettings>,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) ready: Arc<AtomicBool>,
    pub(crate) kinesis: Arc<KinesisState>,
}

/// The HTTP API over `service`.
pub fn router(service: Arc<LogService>, settings: HttpSettings) -> Router {
    let state = AppState {
        service,
        slots: Arc::new(Semaphore::new(settings.concurrent_requests_max)),
        settings: Arc::new(settings),
        ready: Arc::default(),
        kinesis: Arc::default(),
    };
    let api = Router::new()
        .merge(topics::routes())
        .merge(append::routes())
        .merge(read::routes())
        .merge(groups::routes())
        .route("/metrics", get(metrics))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::authenticate,
        ))
        .merge(kinesis::routes())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::limit_concurrency,
        ));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .merge(api)
        .layer(middleware::from_fn(guard::log_request))
        .with_state(state)
}

/// 200 once the store answered a listing (remembered), 503 until then.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.ready.load(Ordering::Relaxed) {
        return "ready".into_response();
    }
    match state.service.storage().list_topics().await {
        Ok(_) => {
            state.ready.store(true, Ordering::Relaxed);
            "ready".into_response()
        }
        Err(e) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", e.to_string())
            .into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    match &state.settings.metrics {
        Some(MetricsRenderer(render)) => {
            ([("content-type", "text/plain; version=0.0.4")], render()).into_response()
        }
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "metrics are not recorded",
        )
        .into_response(),
    }
}

/// 405 as JSON (axum's own has an empty body); axum adds the `Allow` header.
async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this route does not take {method}: see the Allow header and docs/http-api.md"),
    )
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route: see docs/http-api.md",
    )
}

/// `{"ok": true}`-style answers share this shape.
pub(crate) fn json_ok(value: serde_json::Value) -> Response {
    axum::Json(value).into_response()
}
