//! What every fuzz target expects of a refusal, and where its corpus lives.

use std::path::PathBuf;

use silt_core::error::{Error, ErrorKind};
use silt_core::testing::fuzz::Broken;

/// The corpus of past failures of `target`, replayed before the generated cases.
pub(crate) fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz-corpus")).join(target)
}

/// A refusal must be a corruption (or a newer format) of one of the kinds `whats`, naming
/// the object at `location`: never a storage, internal or input error, never a wrong name.
pub(crate) fn typed(e: &Error, whats: &[&str], location: &str) -> Result<(), Broken> {
    let named = match e {
        Error::Corrupt(c) => whats.contains(&c.what) && c.location == location,
        Error::FutureFormat {
            what, location: l, ..
        } => whats.contains(what) && l == location,
        _ => false,
    };
    if named && e.kind() == ErrorKind::Corrupt {
        Ok(())
    } else {
        Err(format!(
            "refused without naming a corrupt {whats:?} at {location}: {e:?}"
        ))
    }
}
