//! What a service call fails with: the library's own errors, kept whole, so each protocol maps
//! them to its status codes in one place (for HTTP, `http::error`).

use silt_core::error::{Error, InvalidInput};
use silt_reader::ReadError;
use silt_writer::AppendError;
use thiserror::Error;

/// Why a service call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// Topics, manifests and storage.
    #[error(transparent)]
    Store(#[from] Error),
    /// An append was not acknowledged.
    #[error(transparent)]
    Append(#[from] AppendError),
    /// A read failed.
    #[error(transparent)]
    Read(#[from] ReadError),
}

impl From<InvalidInput> for ServiceError {
    fn from(e: InvalidInput) -> Self {
        ServiceError::Store(Error::Invalid(e))
    }
}
