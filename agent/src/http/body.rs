//! Request bodies and query switches shared by the routes: bodies are bounded before they are
//! read and must arrive within the body timeout; JSON is parsed strictly (no repeated keys);
//! bytes are base64 unless `Silt-Encoding: utf8` or `?encoding=utf8` says text.

use axum::body::{Body, Bytes, to_bytes};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::json::{Encoding, strict};

/// Largest request body, in bytes: the largest batch (8 MiB), as the body carries it.
pub const REQUEST_BYTES_MAX: usize = 8 * 1024 * 1024;

/// The header that selects how bytes are written in JSON.
pub(crate) const ENCODING_HEADER: &str = "silt-encoding";

/// Reads the whole body: 413 past [`REQUEST_BYTES_MAX`] (before reading, when the length is
/// declared), 408 when it does not arrive within the body timeout.
pub(crate) async fn read_body(state: &AppState, body: Body) -> Result<Bytes, ApiError> {
    // A declared Content-Length is the body's exact size: refuse it before reading a byte.
    if axum::body::HttpBody::size_hint(&body).lower() > REQUEST_BYTES_MAX as u64 {
        return Err(too_large());
    }
    let read = tokio::time::timeout(
        state.settings.body_timeout,
        to_bytes(body, REQUEST_BYTES_MAX),
    );
    match read.await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) if is_length_limit(&e) => Err(too_large()),
        Ok(Err(e)) => Err(ApiError::bad_request(format!(
            "the request body could not be read: {e}"
        ))),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request body did not arrive within {} s",
                state.settings.body_timeout.as_secs()
            ),
        )),
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_too_large",
        format!("the request body is over the limit of {REQUEST_BYTES_MAX} bytes"),
    )
    .with("limit", REQUEST_BYTES_MAX)
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// Parses a JSON body strictly: UTF-8, one value, no key twice.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not UTF-8: {e}")))?;
    strict::parse(text).map_err(|e| ApiError::bad_request(format!("the request body: {e}")))
}

/// The encoding the request asks for: `Silt-Encoding` header or `encoding` query parameter,
/// `base64` (the default) or `utf8`.
pub(crate) fn encoding(headers: &HeaderMap, query: Option<&str>) -> Result<Encoding, ApiError> {
    let header = headers
        .get(ENCODING_HEADER)
        .map(|v| v.to_str().unwrap_or("?"));
    match query.or(header) {
        None | Some("base64") => Ok(Encoding::Base64),
        Some("utf8" | "utf-8" | "text") => Ok(Encoding::Text),
        Some(other) => Err(ApiError::bad_request(format!(
            "encoding {other:?} is not known: use base64 (the default) or utf8"
        ))),
    }
}

/// A JSON object's field that must be absent or a non-negative integer.
pub(crate) fn optional_u64(
    o: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<u64>, ApiError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            ApiError::bad_request(format!(
                "field {field:?} must be an integer from 0 to {}, not {}",
                u64::MAX,
                crate::json::shown(v)
            ))
        }),
    }
}

/// Parses a JSON body that must be an object.
pub(crate) fn parse_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    match parse_json(body)? {
        Value::Object(o) => Ok(o),
        other => Err(ApiError::bad_request(format!(
            "the request body must be a JSON object, not {}",
            crate::json::kind(&other)
        ))),
    }
}

/// Refuses a field not in `allowed`, naming it: a typo would otherwise be ignored silently.
pub(crate) fn check_fields(
    o: &serde_json::Map<String, Value>,
    allowed: &[&str],
) -> Result<(), ApiError> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(ApiError::bad_request(format!(
            "unknown field {unknown:?}; expected one of {allowed:?}"
        ))),
        None => Ok(()),
    }
}

/// A JSON object's field that must be absent or an integer.
pub(crate) fn optional_i64(
    o: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<i64>, ApiError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            ApiError::bad_request(format!(
                "field {field:?} must be an integer, not {}",
                crate::json::shown(v)
            ))
        }),
    }
}
