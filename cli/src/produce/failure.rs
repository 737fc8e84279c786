//! How `silt produce` ends when not every input line was acknowledged, and the exit code of
//! each ending. The same table is in `silt produce --help` and the README:
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | every input line was acknowledged |
//! | 1    | a line was refused (its number is named), an append failed, or the store failed |
//! | 2    | bad arguments |
//! | 3    | fenced: a newer `--exclusive` producer claimed a partition; nothing more can commit |
//! | 4    | the acknowledgements could not be printed (stdout closed or full) |
//! | 130, 143 | stopped by SIGINT, SIGTERM (after flushing, printing acks and the summary) |
//!
//! When several happen, the exit code is that of the one a caller most needs to act on, in
//! this order: fenced, acks not printed, signal, the rest.

use std::io;

use silt_writer::AppendError;
use thiserror::Error;

use super::input::LineError;
use super::signals::Signal;

/// Exit code of a fenced producer.
pub(crate) const EXIT_FENCED: u8 = 3;
/// Exit code of a producer whose acknowledgements could not be printed.
pub(crate) const EXIT_ACKS_UNPRINTED: u8 = 4;
/// Exit code of every other failure.
pub(crate) const EXIT_FAILED: u8 = 1;

/// Why a producer did not get every input line acknowledged.
#[derive(Debug, Error)]
pub(crate) enum Failure {
    /// A newer exclusive writer claimed a partition: this producer can commit nothing more.
    #[error("{error}; {refused} append(s) refused; stopped reading input")]
    Fenced { error: AppendError, refused: u64 },
    /// stdout refused the acknowledgements: the caller cannot know what was committed from them.
    #[error(
        "could not print acknowledgements: {0}; stopped reading input (the summary says what was committed)"
    )]
    AcksUnprinted(io::Error),
    /// SIGINT or SIGTERM: input after it was not read.
    #[error("stopped by {0}; input after it was not read")]
    Signal(Signal),
    /// A line refused before it was sent.
    #[error(transparent)]
    Line(#[from] LineError),
    /// Appends the store or the manifest refused or could not complete.
    #[error("{failed} append(s) failed; first error: {first}")]
    Appends { failed: u64, first: AppendError },
}

impl Failure {
    /// The process exit code (see the module's table).
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Failure::Fenced { .. } => EXIT_FENCED,
            Failure::AcksUnprinted(_) => EXIT_ACKS_UNPRINTED,
            Failure::Signal(s) => s.exit_code(),
            Failure::Line(_) | Failure::Appends { .. } => EXIT_FAILED,
        }
    }

    /// Higher wins the exit code when several failures happen.
    fn precedence(&self) -> u8 {
        match self {
            Failure::Fenced { .. } => 3,
            Failure::AcksUnprinted(_) => 2,
            Failure::Signal(_) => 1,
            Failure::Line(_) | Failure::Appends { .. } => 0,
        }
    }
}

/// Splits `failures` into the one whose exit code the producer exits with (the first of the
/// highest precedence) and the others, in their order.
pub(crate) fn primary(mut failures: Vec<Failure>) -> Option<(Failure, Vec<Failure>)> {
    let first_max = failures
        .iter()
        .enumerate()
        .rev()
        .max_by_key(|(_, f)| f.precedence())
        .map(|(i, _)| i)?;
    let primary = failures.remove(first_max);
    Some((primary, failures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_pressing_failure_sets_the_exit_code() {
        let appends = || Failure::Appends {
            failed: 1,
            first: AppendError::Closed,
        };
        let acks = || Failure::AcksUnprinted(io::Error::other("full"));
        let (first, rest) =
            primary(vec![appends(), acks(), Failure::Signal(Signal::Terminate)]).unwrap();
        assert_eq!(first.exit_code(), EXIT_ACKS_UNPRINTED);
        assert_eq!(rest.len(), 2);
        let (first, _) = primary(vec![Failure::Signal(Signal::Interrupt), appends()]).unwrap();
        assert_eq!(first.exit_code(), 130);
        let (first, _) = primary(vec![appends(), appends()]).unwrap();
        assert_eq!(first.exit_code(), EXIT_FAILED);
        assert!(primary(Vec::new()).is_none());
    }
}
