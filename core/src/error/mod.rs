//! Errors of the shared layer. Each variant says what went wrong and what the caller can do;
//! [`Error::kind`] is the one place that decides what a caller must do about it (fix the input,
//! retry, read first, stop), so the writer, the reader and the jobs never decide it apart.
//! All are `Clone` (foreign errors sit behind `Arc` and stay reachable as `source()`) so one
//! failed commit can fail every waiter. The enums are `#[non_exhaustive]`: match on
//! [`ErrorKind`] rather than on every variant.

use std::error::Error as StdError;
use std::sync::Arc;

use thiserror::Error;

use crate::ids::{PartitionId, TopicId, TopicName};

mod corruption;
mod input;
mod rejection;

pub use corruption::{Corruption, ObjectKind, ObjectRef};
pub use input::InvalidInput;
pub use rejection::Rejection;

/// A foreign error kept as the `source()` of one of ours.
pub type Source = Arc<dyn StdError + Send + Sync>;

/// Every error of the shared layer.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
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
    /// The topic was deleted and GC has not removed its data yet, so the name is not free.
    #[error(
        "topic {0} is being deleted: run `silt gc run` to remove its data (after the reader grace), then create it again"
    )]
    TopicBeingDeleted(TopicName),
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
    /// A conditional write of a small record (a consumer group's) whose outcome could not be
    /// learned in time: it may or may not have landed.
    #[error(
        "write of {location} has an unknown outcome after {waited_ms} ms (last error: {last_error}); read it before retrying"
    )]
    CasIndeterminate {
        location: String,
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
    /// Other processes kept reserving producer ids first (`crate::producer_ids`).
    #[error(
        "reserving a block of producer ids at {location} lost {attempts} races in a row to other processes; retry"
    )]
    ProducerIdsContended { location: String, attempts: u32 },
    /// Every producer id was handed out: no whole block fits below `i64::MAX`.
    #[error(
        "the producer id counter at {location} is at {next}: no block of {block} more ids fits below {max}",
        max = i64::MAX
    )]
    ProducerIdsExhausted {
        location: String,
        next: i64,
        block: i64,
    },
    /// The storage backend failed; retry later.
    #[error("storage error: {0}")]
    Store(#[source] Arc<object_store::Error>),
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
        /// The SDK's error, when there was one.
        #[source]
        source: Option<Source>,
    },
    /// No AWS credentials were found for a store or manifest table.
    #[error(
        "no AWS credentials found for {what}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE for DynamoDB), or run where a role provides them"
    )]
    NoCredentials { what: String },
    /// A topic whose configuration is missing while its partitions' manifests remain.
    #[error(
        "topic {topic} is damaged: its configuration {location} is missing, but the manifest {manifest} of an earlier incarnation remains; restore {location} (from a backup or an earlier object version), or delete everything under {folder} to drop the topic and create it again"
    )]
    TopicConfigMissing {
        topic: TopicName,
        location: String,
        manifest: String,
        folder: String,
    },
    /// A partition's manifest is not there although the partition holds objects (or was seen
    /// before): damage, never an empty partition, which would give offsets out again and let
    /// GC delete the data as orphans.
    #[error(
        "the manifest {location} of {topic}/{partition} is missing, but {evidence}: it was deleted or lost. silt neither reads, writes nor collects garbage in this partition until it is restored (from a backup or an earlier object version)"
    )]
    ManifestMissing {
        topic: TopicName,
        partition: PartitionId,
        location: String,
        /// Why it must exist: an object found in the partition, or an earlier read.
        evidence: String,
    },
    /// An object a partition's manifest references is not in the store. Met with an older
    /// manifest it may just have been removed by a job ([`Error::vanished`]): callers read the
    /// manifest again and report this only while it still references the object.
    #[error(
        "{} {} is missing, though the partition's manifest references it: restore it (from a backup or an earlier object version); reads and jobs of the partition fail until then",
        .0.kind,
        .0.key
    )]
    ObjectMissing(ObjectRef),
    /// The DynamoDB manifest table is missing or not usable as one.
    #[error("DynamoDB table {table} cannot hold silt manifests: {reason}")]
    ManifestTable { table: String, reason: String },
    /// silt broke one of its own rules, or a library it calls (an encoder, a task) failed: a
    /// bug, not bad input nor storage. Nothing was written; report it.
    #[error("internal error while {doing}: {reason}")]
    Internal {
        doing: &'static str,
        reason: String,
        #[source]
        source: Option<Source>,
    },
    /// This build of silt was made without the cargo feature `feature` that `what` needs.
    #[error(
        "{what} needs silt-core's cargo feature `{feature}`, which this build lacks: enable it (the silt binary has it)"
    )]
    FeatureDisabled { feature: &'static str, what: String },
}

/// What the caller of a failed operation must do: the one place retryability is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is wrong (or names a topic that does not exist): fix it. Nothing was written.
    Invalid,
    /// Nothing was committed, and the same call may succeed later (a storage hiccup, a race
    /// lost to another writer or job, a live leader's lease): retry, after reading again.
    Retryable,
    /// A definite refusal that retrying will not change (fenced by a newer leader, a failed
    /// conditional append, a full manifest): nothing was committed; act on the message.
    Rejected,
    /// The outcome is unknown: the change may or may not be committed. Read before retrying.
    Indeterminate,
    /// Data on storage is damaged, foreign, or written by a newer silt: stop; repair or upgrade.
    Corrupt,
    /// The store or table cannot be used as set up (permissions, no conditional writes, no
    /// table): fix the setup.
    Config,
    /// A bug in silt: report it.
    Internal,
}

impl Error {
    /// What the caller must do about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid(_)
            | Error::UnknownTopic(_)
            | Error::TopicExists(_)
            | Error::TopicBeingDeleted(_) => ErrorKind::Invalid,
            Error::Rejected(r) => r.kind(),
            Error::Indeterminate { .. } | Error::CasIndeterminate { .. } => {
                ErrorKind::Indeterminate
            }
            Error::Contended { .. }
            | Error::TopicContended { .. }
            | Error::ProducerIdsContended { .. }
            | Error::Dynamo { .. } => ErrorKind::Retryable,
            Error::ProducerIdsExhausted { .. } => ErrorKind::Rejected,
            Error::Store(e) => store_kind(e),
            Error::Corrupt(_) | Error::FutureFormat { .. } | Error::TopicIdMismatch { .. } => {
                ErrorKind::Corrupt
            }
            Error::ConditionalWritesUnsupported { .. }
            | Error::ManifestTable { .. }
            | Error::NoCredentials { .. }
            | Error::FeatureDisabled { .. } => ErrorKind::Config,
            Error::TopicConfigMissing { .. }
            | Error::ManifestMissing { .. }
            | Error::ObjectMissing(_) => ErrorKind::Corrupt,
            Error::Internal { .. } => ErrorKind::Internal,
        }
    }

    /// An [`Error::Internal`] wrapping `source`.
    pub fn internal(doing: &'static str, source: impl StdError + Send + Sync + 'static) -> Error {
        Error::Internal {
            doing,
            reason: source.to_string(),
            source: Some(Arc::new(source)),
        }
    }

    /// True for an object that is not there: one a manifest (as the caller last read it)
    /// listed, but which compaction, retention or GC may have removed since. Read the
    /// manifest again: only while it still references the object is it missing (damage).
    pub fn vanished(&self) -> bool {
        match self {
            Error::Store(e) => matches!(**e, object_store::Error::NotFound { .. }),
            Error::ObjectMissing(_) => true,
            _ => false,
        }
    }
}

/// A storage failure is worth retrying unless it says the setup is wrong.
fn store_kind(e: &object_store::Error) -> ErrorKind {
    match e {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. }
        | object_store::Error::NotSupported { .. }
        | object_store::Error::NotImplemented { .. }
        | object_store::Error::UnknownConfigurationKey { .. } => ErrorKind::Config,
        _ => ErrorKind::Retryable,
    }
}

impl From<object_store::Error> for Error {
    fn from(e: object_store::Error) -> Self {
        Error::Store(Arc::new(e))
    }
}

/// Result of the shared layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;
    use crate::ids::Offset;

    #[test]
    fn storage_errors_keep_their_cause_as_source() {
        let e = Error::from(object_store::Error::NotFound {
            path: "seg/x".into(),
            source: "gone".into(),
        });
        let source = e.source().expect("the object_store error");
        assert!(source.to_string().contains("seg/x"), "{source}");
        assert!(e.vanished());
    }

    #[test]
    fn kind_says_what_the_caller_must_do() {
        let p = PartitionId(0);
        let generic = object_store::Error::Generic {
            store: "S3",
            source: "connection reset".into(),
        };
        let denied = object_store::Error::PermissionDenied {
            path: "topics/t/00000/manifest".into(),
            source: "EACCES".into(),
        };
        let cases = [
            (Error::from(generic), ErrorKind::Retryable),
            (Error::from(denied), ErrorKind::Config),
            (Error::Invalid(InvalidInput::EmptyBatch), ErrorKind::Invalid),
            (
                Error::Corrupt(Corruption {
                    what: "segment",
                    location: "seg/x".into(),
                    reason: "crc".into(),
                }),
                ErrorKind::Corrupt,
            ),
            (
                Error::Indeterminate {
                    partition: p,
                    waited_ms: 1,
                    last_error: "timeout".into(),
                },
                ErrorKind::Indeterminate,
            ),
            (
                Error::Rejected(Rejection::Stale {
                    partition: p,
                    what: "segments".into(),
                }),
                ErrorKind::Retryable,
            ),
            (
                Error::Rejected(Rejection::OffsetMismatch {
                    partition: p,
                    expected: Offset(1),
                    actual: Offset(2),
                }),
                ErrorKind::Rejected,
            ),
            (
                Error::internal("encoding a segment", std::io::Error::other("zstd")),
                ErrorKind::Internal,
            ),
        ];
        for (error, kind) in cases {
            assert_eq!(error.kind(), kind, "{error}");
        }
    }

    #[test]
    fn an_internal_error_is_not_a_storage_error() {
        let e = Error::internal("encoding a segment", std::io::Error::other("zstd failed"));
        assert!(!e.to_string().contains("storage"), "{e}");
        assert!(e.to_string().contains("zstd failed"), "{e}");
        assert!(e.source().is_some());
    }
}
