//! silt's errors as Kafka error codes, in one place. Retryable conditions map to codes Kafka
//! clients retry (after refreshing metadata where that helps); refusals of the input to codes
//! they report; an append whose outcome is unknown to REQUEST_TIMED_OUT, as a broker that
//! timed out (an idempotent producer's retry is then deduplicated, §6.6 of docs/design.md).

use kafka_protocol::ResponseError;
use silt_core::error::{Error, ErrorKind, InvalidInput};
use silt_core::manifest::producers::ProducerRefusal;
use silt_reader::ReadError;
use silt_writer::AppendError;

use crate::service::ServiceError;

/// The code a service error is answered with.
pub(crate) fn code_of(e: &ServiceError) -> ResponseError {
    match e {
        ServiceError::Store(e) => store_code(e),
        ServiceError::Append(e) => append_code(e),
        ServiceError::Read(ReadError::OffsetOutOfRange { .. }) => ResponseError::OffsetOutOfRange,
        ServiceError::Read(ReadError::Invalid(e)) => invalid_code(e),
        ServiceError::Read(ReadError::Store(e)) => store_code(e),
        _ => ResponseError::UnknownServerError,
    }
}

/// The code an append error is answered with.
pub(crate) fn append_code(e: &AppendError) -> ResponseError {
    match e {
        AppendError::Invalid(e) => invalid_code(e),
        AppendError::Producer(ProducerRefusal::Fenced { .. }) => {
            ResponseError::InvalidProducerEpoch
        }
        AppendError::Producer(ProducerRefusal::OutOfOrder { .. }) => {
            ResponseError::OutOfOrderSequenceNumber
        }
        AppendError::Producer(ProducerRefusal::UnknownProducer { .. }) => {
            ResponseError::UnknownProducerId
        }
        AppendError::Producer(_) => ResponseError::InvalidRecord,
        AppendError::Indeterminate(_) => ResponseError::RequestTimedOut,
        AppendError::Retryable(_) => ResponseError::KafkaStorageError,
        // The agent is stopping: the client finds another agent through Metadata.
        AppendError::Closed => ResponseError::NotLeaderOrFollower,
        _ => ResponseError::UnknownServerError,
    }
}

/// The code a store error is answered with.
pub(crate) fn store_code(e: &Error) -> ResponseError {
    match e {
        Error::UnknownTopic(_) => ResponseError::UnknownTopicOrPartition,
        Error::TopicExists(_) => ResponseError::TopicAlreadyExists,
        Error::Invalid(e) => invalid_code(e),
        e => match e.kind() {
            ErrorKind::Retryable => ResponseError::KafkaStorageError,
            ErrorKind::Indeterminate => ResponseError::RequestTimedOut,
            ErrorKind::Invalid => ResponseError::InvalidRequest,
            _ => ResponseError::UnknownServerError,
        },
    }
}

fn invalid_code(e: &InvalidInput) -> ResponseError {
    match e {
        InvalidInput::TopicName { .. } => ResponseError::InvalidTopicException,
        InvalidInput::PartitionOutOfRange { .. } => ResponseError::UnknownTopicOrPartition,
        InvalidInput::PartitionCount { .. } => ResponseError::InvalidPartitions,
        InvalidInput::RecordTooLarge { .. } | InvalidInput::BatchTooLarge { .. } => {
            ResponseError::MessageTooLarge
        }
        InvalidInput::BatchTooManyRecords { .. } => ResponseError::RecordListTooLarge,
        InvalidInput::Setting { .. } => ResponseError::InvalidConfig,
        _ => ResponseError::InvalidRecord,
    }
}
