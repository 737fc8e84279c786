//! What a producer is told when an append fails. Few variants, each saying what to do; `Clone`
//! so one failed commit can fail every waiting append.

use std::sync::Arc;

use silt_core::error::{Error, ErrorKind, InvalidInput, Rejection};
use silt_core::manifest::producers::ProducerRefusal;
use thiserror::Error;

/// Why an append was not acknowledged.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The input is invalid; nothing was written. Fix it.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The manifest refused the append: fenced by a newer leader, a live exclusive leader, a
    /// failed conditional append. Nothing was written.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// An idempotent producer's batch did not follow its producer's state in the partition
    /// (fenced epoch, sequence gap, unknown producer): nothing of it was appended.
    #[error(transparent)]
    Producer(#[from] ProducerRefusal),
    /// The commit's outcome is unknown: the records may or may not be in the log. Read the log
    /// before sending them again.
    #[error("{0}")]
    Indeterminate(Arc<Error>),
    /// Storage failed before anything was committed. Retry.
    #[error("not written, retry: {0}")]
    Retryable(Arc<Error>),
    /// Nothing was committed, and retrying will not help until someone acts: storage holds
    /// damaged or foreign data, the store is not usable as set up, or silt hit a bug. The
    /// message says which.
    #[error("not written: {0}")]
    Failed(Arc<Error>),
    /// The writer was closed.
    #[error("the writer is closed")]
    Closed,
}

impl AppendError {
    /// True if a newer leader fenced this writer.
    pub fn is_fenced(&self) -> bool {
        matches!(self, AppendError::Rejected(Rejection::Fenced { .. }))
    }

    /// What the producer must do: the same answer [`Error::kind`] gives for the cause.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AppendError::Invalid(_) => ErrorKind::Invalid,
            AppendError::Rejected(r) => r.kind(),
            AppendError::Producer(_) => ErrorKind::Rejected,
            AppendError::Indeterminate(e) | AppendError::Retryable(e) | AppendError::Failed(e) => {
                e.kind()
            }
            AppendError::Closed => ErrorKind::Invalid,
        }
    }
}

/// Sorts a shared-layer error by [`Error::kind`]; the variant keeps the cause.
impl From<Error> for AppendError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(i) => AppendError::Invalid(i),
            Error::Rejected(r) => AppendError::Rejected(r),
            e => match e.kind() {
                ErrorKind::Indeterminate => AppendError::Indeterminate(Arc::new(e)),
                ErrorKind::Retryable => AppendError::Retryable(Arc::new(e)),
                _ => AppendError::Failed(Arc::new(e)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_errors_worth_retrying_are_retryable() {
        let generic = Error::from(object_store::Error::Generic {
            store: "S3",
            source: "slow down".into(),
        });
        assert!(matches!(
            AppendError::from(generic),
            AppendError::Retryable(_)
        ));

        // An encoder failure is a bug, not storage: retrying the same records will not help.
        let encoder = Error::internal("encoding a segment", std::io::Error::other("zstd"));
        let e = AppendError::from(encoder);
        assert!(matches!(e, AppendError::Failed(_)), "{e:?}");
        assert_eq!(e.kind(), ErrorKind::Internal);

        let denied = Error::from(object_store::Error::PermissionDenied {
            path: "seg/x".into(),
            source: "EACCES".into(),
        });
        assert_eq!(AppendError::from(denied).kind(), ErrorKind::Config);
    }
}
