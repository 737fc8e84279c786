//! Manifest and index-chunk bytes: JSON with a format version, checked on the way in and out.
//!
//! Every document ends with a checksum, `..., "crc32c":N}`: the crc32c of the document without
//! it, so a flipped digit that still parses (an offset, an object id) is `Corrupt`, never a
//! wrong answer. A document without one (written before it was added) is accepted; older
//! readers ignore the field.

use bytes::Bytes;

use super::MANIFEST_BYTES_MAX;
use super::invariants;
use super::model::{IndexChunk, Manifest};
use crate::error::{Corruption, Error, Rejection};

/// The manifest (and index chunk) format this code writes for a live partition.
pub const FORMAT_VERSION: u32 = 1;
/// The format of a manifest marked deleted (`deleted_ms`): a newer version, so a silt from
/// before topic deletion refuses the partition (`FutureFormat`) instead of committing to it.
pub const DELETED_FORMAT_VERSION: u32 = 2;
/// The format of a manifest holding idempotent producers' state (`producers`): a newer
/// version, so a silt from before refuses the partition (`FutureFormat`) instead of committing
/// to it and dropping the state, which would let retried batches in twice.
pub const PRODUCERS_FORMAT_VERSION: u32 = 3;
/// The format of a manifest or index chunk that references a segment inside a mixed object
/// (an entry with `at`, or a `mixed` tombstone, docs/design.md §19): a newer version, so a
/// silt from before refuses it (`FutureFormat`) instead of reading the whole mixed object as
/// one segment, or deleting it while other partitions still reference it.
pub const MIXED_FORMAT_VERSION: u32 = 4;
/// The newest format this code reads.
pub const NEWEST_FORMAT_VERSION: u32 = MIXED_FORMAT_VERSION;

/// Encodes a manifest, refusing one beyond the size budget.
pub fn encode(m: &Manifest) -> Result<Bytes, Error> {
    let bytes = serde_json::to_vec(m).map_err(|e| Rejection::Invariant {
        partition: m.partition,
        reason: format!("cannot encode: {e}"),
    })?;
    let bytes = with_checksum(bytes);
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
    verify_checksum(bytes, "manifest", location)?;
    check_version(bytes, "manifest", location)?;
    let m: Manifest = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    invariants::check(&m).map_err(corrupt)?;
    Ok(m)
}

/// Encodes an index chunk.
pub fn encode_chunk(c: &IndexChunk) -> Bytes {
    // Plain structs of numbers and ids always serialise; an empty chunk would lose entries.
    let json = serde_json::to_vec(c).expect("an index chunk serialises to JSON");
    Bytes::from(with_checksum(json))
}

/// Decodes an index chunk read from `location`.
pub fn decode_chunk(bytes: &[u8], location: &str) -> Result<IndexChunk, Error> {
    verify_checksum(bytes, "index chunk", location)?;
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
        Ok(v) if v.format_version > NEWEST_FORMAT_VERSION => Err(Error::FutureFormat {
            what,
            location: location.to_string(),
            found: v.format_version,
            supported: NEWEST_FORMAT_VERSION,
        }),
        Ok(_) => Ok(()),
        Err(e) => Err(Error::Corrupt(Corruption {
            what,
            location: location.to_string(),
            reason: e.to_string(),
        })),
    }
}

/// What precedes a document's checksum, just before its closing brace.
const CHECKSUM_FIELD: &[u8] = b",\"crc32c\":";

/// `json` (an object: every document is a struct) with its checksum as its last field.
fn with_checksum(mut json: Vec<u8>) -> Vec<u8> {
    let crc = crc32c::crc32c(&json);
    if json.last() != Some(&b'}') {
        return json;
    }
    json.pop();
    json.extend_from_slice(CHECKSUM_FIELD);
    json.extend_from_slice(crc.to_string().as_bytes());
    json.push(b'}');
    json
}

/// Checks a document's checksum, if it has one.
fn verify_checksum(bytes: &[u8], what: &'static str, location: &str) -> Result<(), Error> {
    let corrupt = |reason: &str| {
        Error::Corrupt(Corruption {
            what,
            location: location.to_string(),
            reason: reason.to_string(),
        })
    };
    // Without a closing brace it is not a document: parsing will say so.
    let Some(body) = bytes.strip_suffix(b"}") else {
        return Ok(());
    };
    let at = body
        .windows(CHECKSUM_FIELD.len())
        .rposition(|w| w == CHECKSUM_FIELD);
    let Some(at) = at else {
        return Ok(());
    };
    let digits = &body[at + CHECKSUM_FIELD.len()..];
    let stored = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse::<u32>().ok());
    let stored = stored.ok_or_else(|| corrupt("its checksum is damaged"))?;
    let crc = crc32c::crc32c_append(crc32c::crc32c(&body[..at]), b"}");
    match stored == crc {
        true => Ok(()),
        false => Err(corrupt("its checksum does not match its contents")),
    }
}
