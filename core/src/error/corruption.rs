//! [`Corruption`]: stored bytes that fail validation, and [`ObjectRef`], the name of an object a
//! manifest references (so a missing one is reported by kind and key).

use object_store::path::Path;
use thiserror::Error;

use super::Error as SiltError;
use crate::ids::ObjectId;

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

/// The kinds of immutable object a manifest references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectKind {
    /// A hot segment, `seg/<id>.seg`.
    Segment,
    /// An index chunk, `idx/<id>.idx`.
    IndexChunk,
    /// A cold segment: a Parquet file under `tables/`.
    ColdSegment,
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ObjectKind::Segment => "segment",
            ObjectKind::IndexChunk => "index chunk",
            ObjectKind::ColdSegment => "Parquet file (cold segment)",
        })
    }
}

/// One object a manifest references: what to name when it is not in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// What it is.
    pub kind: ObjectKind,
    /// Its id, as the manifest lists it.
    pub id: ObjectId,
    /// Its key.
    pub key: String,
}

impl ObjectRef {
    /// The object of `kind` and `id` stored at `key`.
    pub fn new(kind: ObjectKind, id: ObjectId, key: &Path) -> ObjectRef {
        ObjectRef {
            kind,
            id,
            key: key.to_string(),
        }
    }

    /// `e`, met while reading this object: "not found" becomes [`ObjectMissing`](SiltError::ObjectMissing)
    /// naming it; any other error is kept.
    pub fn missing_or(&self, e: impl Into<SiltError>) -> SiltError {
        let e = e.into();
        match &e {
            SiltError::Store(s) if matches!(**s, object_store::Error::NotFound { .. }) => {
                SiltError::ObjectMissing(self.clone())
            }
            _ => e,
        }
    }
}
