//! Errors of the shared layer. Each variant says what went wrong and what the caller can do.
//! All are `Clone` (foreign errors sit behind `Arc`) so one failed commit can fail every waiter.

use std::sync::Arc;

use thiserror::Error;

use crate::ids::{Epoch, ObjectId, Offset, PartitionId, TopicId, TopicName, WriterId};

/// Bad input from a user or a program: nothing was written; fix the input and try again.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidInput {
    /// A topic name outside `[a-zA-Z0-9._-]{1,249}`, or `.`/`..`.
    #[error(
        "invalid topic name {name:?}: use 1 to 249 characters from [a-zA-Z0-9._-], not \".\" or \"..\""
    )]
    TopicName { name: String },
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
    /// A record timestamp too far from the Unix epoch for microseconds in an `i64`.
    #[error("record timestamp {timestamp_ms} ms is out of range: the limit is ±{max} ms")]
    TimestampOutOfRange { timestamp_ms: i64, max: i64 },
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
    /// A store URL that silt cannot use.
    #[error("invalid store URL {url:?}: {reason}")]
    StoreUrl { url: String, reason: String },
}

/// An object or manifest whose bytes fail validation. The data on storage is damaged or was not
/// written by silt; silt refuses to guess and names the object.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("corrupt {what} at {location}: {reason}")]
pub struct Corruption {
    /// The kind of object (`segment`, `manifest`, `index chunk`, `topic config`).
    pub what: &'static str,
    /// Where it was read from (object key), or `<bytes>` when unknown.
    pub location: String,
    /// What failed.
    pub reason: String,
}

/// A commit that the manifest refused: a definite "no", nothing was committed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rejection {
    /// A newer leader claimed the partition: this writer must stop.
    #[error(
        "fenced: partition {partition} was claimed by writer {leader} at epoch {epoch}; this writer (epoch {mine}) acknowledges nothing more"
    )]
    Fenced {
        partition: PartitionId,
        epoch: Epoch,
        mine: Epoch,
        leader: WriterId,
    },
    /// An exclusive leader holds a live lease; only it may append until the lease ends.
    #[error(
        "partition {partition} is held by exclusive writer {leader} (epoch {epoch}) until {lease_until_ms} ms; retry later or claim it with --exclusive"
    )]
    LeaderActive {
        partition: PartitionId,
        epoch: Epoch,
        leader: WriterId,
        lease_until_ms: i64,
    },
    /// A conditional append whose expected next offset did not match.
    #[error(
        "conditional append failed on partition {partition}: expected next offset {expected}, but it is {actual}"
    )]
    OffsetMismatch {
        partition: PartitionId,
        expected: Offset,
        actual: Offset,
    },
    /// A segment uploaded before the orphan floor: GC may have deleted it; upload it again.
    #[error(
        "segment {id} on partition {partition} was uploaded before the orphan floor ({floor_ms} ms) and may have been swept; upload it again"
    )]
    StaleUpload {
        partition: PartitionId,
        id: ObjectId,
        floor_ms: i64,
    },
    /// A trim past the end of the log: offsets that do not exist yet cannot be removed.
    #[error(
        "cannot trim partition {partition} before offset {before}: its next offset is {next_offset}; give an offset at most {next_offset}"
    )]
    TrimBeyondEnd {
        partition: PartitionId,
        before: Offset,
        next_offset: Offset,
    },
    /// A job planned on entries that changed meanwhile (another job or a writer moved them);
    /// nothing was committed.
    #[error(
        "partition {partition}: {what} changed since the job read them; nothing was committed, and the next run plans again"
    )]
    Stale {
        partition: PartitionId,
        what: String,
    },
    /// An edit that would break a manifest invariant (a bug or a corrupt manifest).
    #[error("manifest invariant violated on partition {partition}: {reason}")]
    Invariant {
        partition: PartitionId,
        reason: String,
    },
    /// The manifest reached its size budget; run compaction or retention.
    #[error(
        "manifest of partition {partition} is full ({bytes} bytes, limit {max}); run `silt compact run` or lower retention"
    )]
    ManifestFull {
        partition: PartitionId,
        bytes: usize,
        max: usize,
    },
    /// A DynamoDB head item reached its size budget: only writer markers grow it.
    #[error(
        "the DynamoDB head item of partition {partition} would be {bytes} bytes (limit {max}): too many writers committed to it in the last 15 minutes; send through fewer writers"
    )]
    HeadFull {
        partition: PartitionId,
        bytes: usize,
        max: usize,
    },
}

/// Every error of the shared layer.
#[derive(Debug, Clone, Error)]
pub enum Error {
    /// Bad input; nothing was written.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The topic does not exist.
    #[error("topic {0} does not exist: create it with `silt topic create {0} --partitions N`")]
    UnknownTopic(TopicName),
    /// The topic already exists.
    #[error("topic {0} already exists")]
    TopicExists(TopicName),
    /// The manifest belongs to another incarnation of the topic (deleted and re-created).
    #[error(
        "manifest of {topic}/{partition} belongs to topic id {found}, but the topic is {expected}: the topic was re-created; refusing to mix them"
    )]
    TopicIdMismatch {
        topic: TopicName,
        partition: PartitionId,
        expected: TopicId,
        found: TopicId,
    },
    /// Damaged or foreign bytes on storage.
    #[error(transparent)]
    Corrupt(#[from] Corruption),
    /// An object or manifest written by a newer silt.
    #[error(
        "{what} at {location} has format version {found}; this silt reads up to {supported}: upgrade silt"
    )]
    FutureFormat {
        what: &'static str,
        location: String,
        found: u32,
        supported: u32,
    },
    /// The manifest refused the commit; nothing was committed.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// A commit whose outcome could not be learned in time: it may or may not be committed.
    #[error(
        "commit outcome unknown on partition {partition} after {waited_ms} ms (last error: {last_error}); the records may or may not be in the log: read it before retrying"
    )]
    Indeterminate {
        partition: PartitionId,
        waited_ms: u64,
        last_error: String,
    },
    /// Too many writers raced for the partition; nothing was committed. Retry.
    #[error(
        "commit on partition {partition} lost {attempts} races in a row to other writers; nothing was committed: retry"
    )]
    Contended {
        partition: PartitionId,
        attempts: u32,
    },
    /// A topic's configuration kept changing under `alter_topic`.
    #[error(
        "topic {topic}'s configuration changed {attempts} times while being altered; nothing was changed: retry"
    )]
    TopicContended { topic: TopicName, attempts: u32 },
    /// The storage backend failed; retry later.
    #[error("storage error: {0}")]
    Store(Arc<object_store::Error>),
    /// The backend ignores conditional writes, so it cannot hold a manifest safely.
    #[error(
        "the store at {url} does not honour conditional writes ({check}); silt refuses to run its manifest there. Use an S3 store with If-Match/If-None-Match support, file://, or a DynamoDB manifest"
    )]
    ConditionalWritesUnsupported { url: String, check: String },
    /// A DynamoDB call failed; retry later (the SDK already retried what it could).
    #[error("DynamoDB {operation} on table {table} failed: {message}")]
    Dynamo {
        operation: &'static str,
        table: String,
        message: String,
    },
    /// The DynamoDB manifest table is missing or not usable as one.
    #[error("DynamoDB table {table} cannot hold silt manifests: {reason}")]
    ManifestTable { table: String, reason: String },
    /// This build of silt was made without the cargo feature `feature` that `what` needs.
    #[error(
        "{what} needs silt-core's cargo feature `{feature}`, which this build lacks: enable it (the silt binary has it)"
    )]
    FeatureDisabled { feature: &'static str, what: String },
}

impl Error {
    /// True for an object that is not there: one a manifest (as the caller last read it)
    /// listed, but which compaction, retention or GC has since removed. Read the manifest
    /// again before calling it corruption.
    pub fn vanished(&self) -> bool {
        matches!(self, Error::Store(e) if matches!(**e, object_store::Error::NotFound { .. }))
    }
}

impl From<object_store::Error> for Error {
    fn from(e: object_store::Error) -> Self {
        Error::Store(Arc::new(e))
    }
}

/// Result of the shared layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;
