//! Every HTTP error is `{"code": "...", "message": "..."}` (plus fields that say more) with
//! its status: the one place where silt's errors become HTTP statuses (docs/http-api.md).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use silt_core::error::{Error, ErrorKind, InvalidInput, Rejection};
use silt_group::{GroupError, TopicPartition};
use silt_reader::ReadError;
use silt_writer::AppendError;

use crate::service::{MemberError, ServiceError};

/// Seconds a client is told to wait before retrying a 429 or 503.
const RETRY_AFTER_SECONDS: &str = "1";

/// An HTTP error answer.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    /// More fields of the body (`next_offset`, `log_start_offset`, ...).
    pub(crate) extra: Map<String, Value>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: Map::new(),
        }
    }

    /// 400: the request is malformed; the message names the field.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub(crate) fn with(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(field.to_string(), value.into());
        self
    }

    /// The body of this error, for an SSE `error` event or a per-record result.
    pub(crate) fn body(&self) -> Value {
        let mut body = self.extra.clone();
        body.insert("code".into(), self.code.into());
        body.insert("message".into(), self.message.clone().into());
        Value::Object(body)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = matches!(
            self.status,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS
        );
        let mut response = (self.status, Json(self.body())).into_response();
        if retry {
            let value = HeaderValue::from_static(RETRY_AFTER_SECONDS);
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Store(e) => e.into(),
            ServiceError::Append(e) => e.into(),
            ServiceError::Read(e) => e.into(),
        }
    }
}

impl From<InvalidInput> for ApiError {
    fn from(e: InvalidInput) -> Self {
        let message = e.to_string();
        match e {
            InvalidInput::PartitionOutOfRange { partitions, .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_partition", message)
                    .with("partitions", partitions)
            }
            InvalidInput::RecordTooLarge { max, .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "record_too_large", message)
                    .with("limit", max)
            }
            InvalidInput::BatchTooLarge { max, .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request_too_large", message)
                    .with("limit", max)
            }
            _ => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::Invalid(i) => i.into(),
            Error::UnknownTopic(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_topic", message)
            }
            Error::TopicExists(_) => ApiError::new(StatusCode::CONFLICT, "topic_exists", message),
            Error::TopicBeingDeleted(_) => {
                ApiError::new(StatusCode::CONFLICT, "topic_being_deleted", message)
            }
            Error::Rejected(r) => r.into(),
            e => by_kind(e.kind(), message),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        let message = r.to_string();
        match r {
            Rejection::OffsetMismatch { actual, .. } => {
                ApiError::new(StatusCode::PRECONDITION_FAILED, "offset_mismatch", message)
                    .with("next_offset", actual.0)
            }
            Rejection::TopicDeleted { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_topic", message)
            }
            r => by_kind(r.kind(), message),
        }
    }
}

impl From<AppendError> for ApiError {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::Invalid(i) => i.into(),
            AppendError::Rejected(r) => r.into(),
            AppendError::Indeterminate(e) => by_kind(ErrorKind::Indeterminate, e.to_string()),
            AppendError::Closed => {
                by_kind(ErrorKind::Retryable, "the agent is shutting down".into())
            }
            e => by_kind(e.kind(), e.to_string()),
        }
    }
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        let message = e.to_string();
        match e {
            ReadError::OffsetOutOfRange {
                log_start, next, ..
            } => ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "offset_out_of_range",
                message,
            )
            .with("log_start_offset", log_start.0)
            .with("next_offset", next.0),
            ReadError::Invalid(i) => i.into(),
            ReadError::Store(e) => e.into(),
            e => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
        }
    }
}

impl From<MemberError> for ApiError {
    fn from(e: MemberError) -> Self {
        let message = e.to_string();
        match e {
            MemberError::NotServed => {
                ApiError::new(StatusCode::NOT_IMPLEMENTED, "groups_not_served", message)
            }
            MemberError::Full { max } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "too_many_members", message)
                    .with("limit", max)
            }
            MemberError::UnknownMember { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_member", message)
            }
            MemberError::PollInProgress { .. } => {
                ApiError::new(StatusCode::CONFLICT, "poll_in_progress", message)
            }
            MemberError::Group(e) => e.into(),
        }
    }
}

impl From<GroupError> for ApiError {
    fn from(e: GroupError) -> Self {
        let message = e.to_string();
        let on = |status, code, tp: &TopicPartition| {
            ApiError::new(status, code, message.clone())
                .with("topic", tp.topic.as_str())
                .with("partition", tp.partition.0)
        };
        let bad = StatusCode::BAD_REQUEST;
        match e {
            GroupError::Fenced { partition, .. } => on(StatusCode::CONFLICT, "fenced", &partition),
            GroupError::NotOwner { partition } => on(bad, "not_owner", &partition),
            GroupError::CommitBackwards {
                partition,
                committed,
                ..
            } => on(bad, "commit_backwards", &partition).with("committed_offset", committed),
            GroupError::OffsetBeyondEnd { partition, end, .. } => {
                on(bad, "offset_beyond_end", &partition).with("next_offset", end)
            }
            GroupError::OffsetBelowStart {
                partition, start, ..
            } => on(bad, "offset_below_start", &partition).with("log_start_offset", start),
            GroupError::NoCommittedOffset { partition } => {
                on(bad, "no_committed_offset", &partition)
            }
            GroupError::Closed => ApiError::new(StatusCode::NOT_FOUND, "unknown_member", message),
            GroupError::Store(e) => e.into(),
            GroupError::Read(e) => e.into(),
            // Replaced, Contended, and what comes later: by what the caller must do.
            e => by_kind(e.kind(), message),
        }
    }
}

/// The status of an error by what the caller must do ([`ErrorKind`]).
fn by_kind(kind: ErrorKind, message: String) -> ApiError {
    let (status, code) = match kind {
        ErrorKind::Invalid => (StatusCode::BAD_REQUEST, "bad_request"),
        ErrorKind::Retryable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        ErrorKind::Rejected => (StatusCode::CONFLICT, "rejected"),
        // Never success, never "retry": the records may be in the log.
        ErrorKind::Indeterminate => (StatusCode::INTERNAL_SERVER_ERROR, "outcome_unknown"),
        ErrorKind::Corrupt => (StatusCode::INTERNAL_SERVER_ERROR, "corrupt"),
        ErrorKind::Config => (StatusCode::INTERNAL_SERVER_ERROR, "misconfigured"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    };
    ApiError::new(status, code, message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use std::sync::Arc;

    use silt_core::ids::PartitionId;

    use super::*;

    fn answer(e: impl Into<ApiError>) -> Response {
        e.into().into_response()
    }

    /// What the end-to-end suite cannot provoke without a store failing on demand: a store
    /// that is unavailable is 503 with `Retry-After`, a commit of unknown outcome is never a
    /// success and never "retry".
    #[test]
    fn unavailable_is_503_with_retry_after_and_unknown_outcomes_are_500() {
        let contended = Error::Contended {
            partition: PartitionId(0),
            attempts: 9,
        };
        let unavailable = answer(AppendError::Retryable(Arc::new(contended)));
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(unavailable.headers()[header::RETRY_AFTER], "1");
        let closing = answer(AppendError::Closed);
        assert_eq!(closing.status(), StatusCode::SERVICE_UNAVAILABLE);
        let unknown = Error::Indeterminate {
            partition: PartitionId(0),
            waited_ms: 30_000,
            last_error: "timed out".into(),
        };
        let e = ApiError::from(AppendError::Indeterminate(Arc::new(unknown)));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.code, "outcome_unknown");
        assert!(e.message.contains("may or may not be in the log"), "{e:?}");
        assert!(!answer(e).headers().contains_key(header::RETRY_AFTER));
    }
}
