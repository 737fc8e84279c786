//! Reading a record again after a conditional write failed, retrying transient failures until
//! a deadline (docs/design.md §6 rule 5). Shared by the manifest commit loop (`resolve`) and
//! the generic compare-and-swap (`cas`): both decide an ambiguous outcome on what this reads.

use std::time::Duration;

use tokio::time::Instant;

use crate::clock;
use crate::error::{Error, ErrorKind};

/// Why a read-back gave up.
#[derive(Debug)]
pub(super) enum ReadBackFailed {
    /// The record is damaged, foreign or missing for good: retrying cannot help.
    Final(Error),
    /// The store kept failing until the deadline; the last error it gave.
    OutOfTime(String),
}

/// Calls `read` until it succeeds, a damaged record makes it fail for good, or `deadline`
/// passes; waits 10 ms, doubling up to 1 s, between tries.
pub(super) async fn until<T, F: Future<Output = Result<T, Error>>>(
    deadline: Instant,
    read: impl Fn() -> F,
) -> Result<T, ReadBackFailed> {
    let mut delay = Duration::from_millis(10);
    loop {
        let last_error = match read().await {
            Ok(found) => return Ok(found),
            Err(e) if e.kind() == ErrorKind::Corrupt => return Err(ReadBackFailed::Final(e)),
            Err(e) => e.to_string(),
        };
        if Instant::now() + delay > deadline {
            return Err(ReadBackFailed::OutOfTime(last_error));
        }
        clock::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}
