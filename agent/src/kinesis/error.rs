//! Kinesis errors as the SDKs read them: HTTP 400 (500 or 503 for the agent's own failures,
//! which the SDKs retry), `Content-Type: application/x-amz-json-1.1`, the type in the
//! `X-Amzn-ErrorType` header and a body `{"__type": ..., "message": ...}`. silt's errors are
//! mapped to Kinesis' types here, in one place.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use silt_core::error::{Error, ErrorKind, InvalidInput, Rejection};
use silt_reader::ReadError;
use silt_writer::AppendError;

use crate::kinesis::CONTENT_TYPE;
use crate::service::ServiceError;

/// A Kinesis error type and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KinesisError {
    pub(crate) status: StatusCode,
    pub(crate) kind: &'static str,
    pub(crate) message: String,
}

impl KinesisError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        KinesisError {
            status,
            kind,
            message: message.into(),
        }
    }

    fn client(kind: &'static str, message: impl Into<String>) -> Self {
        KinesisError::new(StatusCode::BAD_REQUEST, kind, message)
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        KinesisError::client("InvalidArgumentException", message)
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        KinesisError::client("ValidationException", message)
    }

    pub(crate) fn serialization(message: impl Into<String>) -> Self {
        KinesisError::client("SerializationException", message)
    }

    pub(crate) fn unknown_operation(message: impl Into<String>) -> Self {
        KinesisError::client("UnknownOperationException", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        KinesisError::client("ResourceNotFoundException", message)
    }

    pub(crate) fn in_use(message: impl Into<String>) -> Self {
        KinesisError::client("ResourceInUseException", message)
    }

    pub(crate) fn limit_exceeded(message: impl Into<String>) -> Self {
        KinesisError::client("LimitExceededException", message)
    }

    /// Too many requests at once; the SDKs back off and retry.
    pub(crate) fn throttled(message: impl Into<String>) -> Self {
        KinesisError::client("ProvisionedThroughputExceededException", message)
    }

    pub(crate) fn expired_iterator(message: impl Into<String>) -> Self {
        KinesisError::client("ExpiredIteratorException", message)
    }

    pub(crate) fn missing_token(message: impl Into<String>) -> Self {
        KinesisError::new(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            message,
        )
    }

    pub(crate) fn unrecognized_client(message: impl Into<String>) -> Self {
        KinesisError::client("UnrecognizedClientException", message)
    }

    pub(crate) fn invalid_signature(message: impl Into<String>) -> Self {
        KinesisError::client("InvalidSignatureException", message)
    }

    /// A required member missing from the request, as Kinesis words it.
    pub(crate) fn missing(member: &str) -> Self {
        KinesisError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    }

    /// The agent could not do it now; the SDKs retry (503).
    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        KinesisError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            message,
        )
    }

    /// The agent failed (500); for an append, the records may or may not be in the log.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        KinesisError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            message,
        )
    }
}

impl IntoResponse for KinesisError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"__type": self.kind, "message": self.message});
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        headers.insert("x-amzn-errortype", HeaderValue::from_static(self.kind));
        response
    }
}

impl From<Error> for KinesisError {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::Invalid(i) => i.into(),
            Error::UnknownTopic(_) | Error::Rejected(Rejection::TopicDeleted { .. }) => {
                KinesisError::not_found(message)
            }
            Error::TopicExists(_) | Error::TopicBeingDeleted(_) => KinesisError::in_use(message),
            e => by_kind(e.kind(), message),
        }
    }
}

impl From<InvalidInput> for KinesisError {
    fn from(e: InvalidInput) -> Self {
        match e {
            InvalidInput::RecordTooLarge { .. } | InvalidInput::BatchTooLarge { .. } => {
                KinesisError::validation(e.to_string())
            }
            e => KinesisError::invalid_argument(e.to_string()),
        }
    }
}

impl From<AppendError> for KinesisError {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::Invalid(i) => i.into(),
            AppendError::Rejected(r) => Error::Rejected(r).into(),
            AppendError::Closed => KinesisError::unavailable("the agent is shutting down"),
            e => by_kind(e.kind(), e.to_string()),
        }
    }
}

impl From<ReadError> for KinesisError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Invalid(i) => i.into(),
            ReadError::Store(e) => e.into(),
            e => KinesisError::internal(e.to_string()),
        }
    }
}

impl From<ServiceError> for KinesisError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Store(e) => e.into(),
            ServiceError::Append(e) => e.into(),
            ServiceError::Read(e) => e.into(),
        }
    }
}

/// The answer to an error by what the caller must do.
fn by_kind(kind: ErrorKind, message: String) -> KinesisError {
    match kind {
        ErrorKind::Invalid => KinesisError::invalid_argument(message),
        ErrorKind::Retryable => KinesisError::unavailable(message),
        ErrorKind::Rejected => KinesisError::in_use(message),
        // Indeterminate appends land here too: never success, and (unlike 503) the SDKs'
        // retry of a 500 is what Kinesis' own InternalFailure invites.
        _ => KinesisError::internal(message),
    }
}
