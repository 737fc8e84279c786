//! [`InvalidInput`]: bad input from a user or a program, refused before anything was written.

use thiserror::Error;

use crate::ids::{PartitionId, TopicName};

/// Bad input from a user or a program: nothing was written; fix the input and try again.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InvalidInput {
    /// A topic name outside `[a-zA-Z0-9._-]{1,249}`, or `.`/`..`.
    #[error(
        "invalid topic name {name:?}: use 1 to 249 characters from [a-zA-Z0-9._-], not \".\" or \"..\""
    )]
    TopicName { name: String },
    /// A consumer group name outside `[a-zA-Z0-9._-]{1,249}`, or `.`/`..`.
    #[error(
        "invalid group name {name:?}: use 1 to 249 characters from [a-zA-Z0-9._-], not \".\" or \"..\""
    )]
    GroupName { name: String },
    /// A partition count outside `1..=max`.
    #[error("invalid partition count {partitions}: must be between 1 and {max}")]
    PartitionCount { partitions: u32, max: u32 },
    /// A partition that the topic does not have.
    #[error("partition {partition} does not exist: topic {topic} has partitions 0..{partitions}")]
    PartitionOutOfRange {
        topic: TopicName,
        partition: PartitionId,
        partitions: u32,
    },
    /// A record larger than the limit.
    #[error(
        "record of {bytes} bytes is too large: the limit is {max} bytes (key + value + headers)"
    )]
    RecordTooLarge { bytes: usize, max: usize },
    /// A record timestamp outside the years 0000 to 9999, which sealed Parquet folders
    /// (`dt=<yyyy-mm-dd>`) and the tools reading them can hold.
    #[error(
        "record timestamp {timestamp_ms} ms is out of range: it must be between {min} (0000-01-01T00:00:00Z) and {max} (9999-12-31T23:59:59.999Z) ms since the Unix epoch"
    )]
    TimestampOutOfRange {
        timestamp_ms: i64,
        min: i64,
        max: i64,
    },
    /// A record with too many headers.
    #[error("record has {count} headers: the limit is {max}")]
    TooManyHeaders { count: usize, max: usize },
    /// A batch larger than the limit.
    #[error("batch of {bytes} bytes is too large: the limit is {max} bytes")]
    BatchTooLarge { bytes: usize, max: usize },
    /// A batch with more records than a segment may hold.
    #[error("batch of {records} records is too many: the limit is {max} records")]
    BatchTooManyRecords { records: usize, max: usize },
    /// A batch with no records.
    #[error("a batch must hold at least one record")]
    EmptyBatch,
    /// A setting outside its allowed range.
    #[error("invalid setting {field} = {value}: {rule}")]
    Setting {
        field: &'static str,
        value: String,
        rule: &'static str,
    },
    /// A hash key (Kinesis' `ExplicitHashKey`) that is not a decimal in `0..2^128`.
    #[error(
        "invalid hash key {value:?}: it must be a decimal integer from 0 to 340282366920938463463374607431768211455 (2^128 - 1), without sign or leading zeros"
    )]
    HashKey { value: String },
    /// A store URL that silt cannot use.
    #[error("invalid store URL {url:?}: {reason}")]
    StoreUrl { url: String, reason: String },
    /// A read from a timestamp whose lookup read its limit of segment items (a DynamoDB
    /// manifest of a very long partition) without reaching the timestamp.
    #[error(
        "finding timestamp {ts_ms} in {location} read {pages} pages of segment items (the limit) without reaching it: start from an offset instead"
    )]
    TimestampLookupTooLong {
        ts_ms: i64,
        location: String,
        pages: usize,
    },
}
