//! What a producer is told when an append fails. Few variants, each saying what to do; `Clone`
//! so one failed commit can fail every waiting append.

use std::sync::Arc;

use silt_core::error::{Error, InvalidInput, Rejection};
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
    /// The commit's outcome is unknown: the records may or may not be in the log. Read the log
    /// before sending them again.
    #[error("{0}")]
    Indeterminate(Arc<Error>),
    /// Storage failed before anything was committed. Retry.
    #[error("not written, retry: {0}")]
    Retryable(Arc<Error>),
    /// The writer was closed.
    #[error("the writer is closed")]
    Closed,
}

impl AppendError {
    /// True if a newer leader fenced this writer.
    pub fn is_fenced(&self) -> bool {
        matches!(self, AppendError::Rejected(Rejection::Fenced { .. }))
    }
}

impl From<Error> for AppendError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(i) => AppendError::Invalid(i),
            Error::Rejected(r) => AppendError::Rejected(r),
            e @ Error::Indeterminate { .. } => AppendError::Indeterminate(Arc::new(e)),
            e => AppendError::Retryable(Arc::new(e)),
        }
    }
}
