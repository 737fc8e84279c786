//! What a consumer is told when a read fails.

use silt_core::error::{Error, InvalidInput};
use silt_core::ids::{Offset, PartitionId};
use thiserror::Error;

/// Why a read failed.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The offset is not in the log: below the log start (removed by retention) or past the
    /// next offset.
    #[error(
        "offset {requested} is out of range for partition {partition}: valid offsets are {log_start}..{next} (log start ..= next offset)"
    )]
    OffsetOutOfRange {
        partition: PartitionId,
        requested: Offset,
        log_start: Offset,
        next: Offset,
    },
    /// Bad input, such as a partition the topic does not have.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// Storage, corruption or format errors.
    #[error(transparent)]
    Store(#[from] Error),
}
