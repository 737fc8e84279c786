//! Manifest and index-chunk bytes: JSON with a format version, checked on the way in and out.

use bytes::Bytes;

use super::MANIFEST_BYTES_MAX;
use super::invariants;
use super::model::{IndexChunk, Manifest};
use crate::error::{Corruption, Error, Rejection};

/// The manifest format this code writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// Encodes a manifest, refusing one beyond the size budget.
pub fn encode(m: &Manifest) -> Result<Bytes, Error> {
    let bytes = serde_json::to_vec(m).map_err(|e| Rejection::Invariant {
        partition: m.partition,
        reason: format!("cannot encode: {e}"),
    })?;
    if bytes.len() > MANIFEST_BYTES_MAX {
        return Err(Rejection::ManifestFull {
            partition: m.partition,
            bytes: bytes.len(),
            max: MANIFEST_BYTES_MAX,
        }
        .into());
    }
    Ok(Bytes::from(bytes))
}

/// Decodes and validates a manifest read from `location`.
pub fn decode(bytes: &[u8], location: &str) -> Result<Manifest, Error> {
    let corrupt = |reason: String| Corruption {
        what: "manifest",
        location: location.to_string(),
        reason,
    };
    check_version(bytes, "manifest", location)?;
    let m: Manifest = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    invariants::check(&m).map_err(corrupt)?;
    Ok(m)
}

/// Encodes an index chunk.
pub fn encode_chunk(c: &IndexChunk) -> Bytes {
    // Plain structs of numbers and ids always serialise; an empty chunk would lose entries.
    Bytes::from(serde_json::to_vec(c).expect("an index chunk serialises to JSON"))
}

/// Decodes an index chunk read from `location`.
pub fn decode_chunk(bytes: &[u8], location: &str) -> Result<IndexChunk, Error> {
    check_version(bytes, "index chunk", location)?;
    serde_json::from_slice(bytes).map_err(|e| {
        Error::Corrupt(Corruption {
            what: "index chunk",
            location: location.to_string(),
            reason: e.to_string(),
        })
    })
}

/// Refuses documents from a newer silt with a clear error, before parsing the rest.
fn check_version(bytes: &[u8], what: &'static str, location: &str) -> Result<(), Error> {
    #[derive(serde::Deserialize)]
    struct Versioned {
        format_version: u32,
    }
    match serde_json::from_slice::<Versioned>(bytes) {
        Ok(v) if v.format_version > FORMAT_VERSION => Err(Error::FutureFormat {
            what,
            location: location.to_string(),
            found: v.format_version,
            supported: FORMAT_VERSION,
        }),
        Ok(_) => Ok(()),
        Err(e) => Err(Error::Corrupt(Corruption {
            what,
            location: location.to_string(),
            reason: e.to_string(),
        })),
    }
}
