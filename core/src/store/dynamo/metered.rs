//! Counts every DynamoDB call, by operation, and every failure, by class
//! (`silt_store_requests_total`, `silt_store_errors_total`: see [`crate::metrics`]). Each call
//! site sends with `.send().metered(op)`; the SDK's own retries of a call are not counted
//! apart.

use std::future::Future;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::metrics;

/// `GetItem`.
pub(super) const GET: &str = "dynamodb_get";
/// `PutItem` (always conditional in silt).
pub(super) const PUT: &str = "dynamodb_put";
/// `DeleteItem` (a deleted topic's items, when GC purges it).
pub(super) const DELETE: &str = "dynamodb_delete";
/// `Query`, one page.
pub(super) const QUERY: &str = "dynamodb_query";
/// `TransactWriteItems` (manifest commits): one per transaction sent, however many
/// partitions' commits it groups (see `group`), so commits over this count is the grouping.
pub(super) const TRANSACT: &str = "dynamodb_transact";
/// `CreateTable`.
pub(super) const CREATE_TABLE: &str = "dynamodb_create_table";
/// `DescribeTable`.
pub(super) const DESCRIBE_TABLE: &str = "dynamodb_describe_table";

/// A DynamoDB call whose request and failure are counted.
pub(super) trait Metered<T, E: ProvideErrorMetadata, R>:
    Future<Output = Result<T, SdkError<E, R>>> + Sized
{
    /// This call, counted as `op`.
    async fn metered(self, op: &'static str) -> Result<T, SdkError<E, R>> {
        metrics::store_requests(op, 1);
        let sent = self.await;
        if let Err(e) = &sent {
            metrics::store_error(op, error_kind(e));
        }
        sent
    }
}

impl<T, E: ProvideErrorMetadata, R, F> Metered<T, E, R> for F where
    F: Future<Output = Result<T, SdkError<E, R>>>
{
}

/// The class of a failed call: `conflict` (a condition failed or a transaction was
/// cancelled), `throttled`, `not_found` (no such table), `config` (denied, unknown
/// credentials), `invalid` (a request DynamoDB or the SDK refused to build), or `retryable`.
fn error_kind<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> &'static str {
    match e {
        SdkError::ServiceError(service) => code_kind(service.err().code()),
        SdkError::ConstructionFailure(_) => "invalid",
        _ => "retryable",
    }
}

fn code_kind(code: Option<&str>) -> &'static str {
    match code.unwrap_or_default() {
        "ConditionalCheckFailedException"
        | "TransactionCanceledException"
        | "TransactionConflictException"
        | "ResourceInUseException" => "conflict",
        "ThrottlingException"
        | "ProvisionedThroughputExceededException"
        | "RequestLimitExceeded" => "throttled",
        "ResourceNotFoundException" => "not_found",
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "MissingAuthenticationTokenException" => "config",
        "ValidationException" => "invalid",
        _ => "retryable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_fall_into_the_documented_classes() {
        let cases = [
            (Some("TransactionCanceledException"), "conflict"),
            (Some("ConditionalCheckFailedException"), "conflict"),
            (Some("ThrottlingException"), "throttled"),
            (Some("ResourceNotFoundException"), "not_found"),
            (Some("AccessDeniedException"), "config"),
            (Some("ValidationException"), "invalid"),
            (Some("InternalServerError"), "retryable"),
            (None, "retryable"),
        ];
        for (code, kind) in cases {
            assert_eq!(code_kind(code), kind, "{code:?}");
        }
    }
}
