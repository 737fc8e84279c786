//! The partition manifest (docs/design.md §6): the one document that gives segments their offsets
//! and decides who may append. Pure code: [`Manifest`] is the model, [`Commit`]/[`Edit`] the only
//! ways to change it, [`apply`] the pure function that checks every rule, and [`codec`] the
//! versioned bytes. The stores that write it conditionally live in [`crate::store`].

pub mod codec;
mod edit;
mod invariants;
mod model;
pub mod producers;
mod upkeep;

pub use edit::{Append, Commit, Edit, NewSegment, Replace, Seal, apply};
pub use invariants::check as check_invariants;
pub use model::{
    ChunkRef, IndexChunk, Leader, Manifest, SegmentEntry, SegmentIndex, Tombstone, TombstoneKind,
    WriterMarker,
};

/// Entries in the tail after which a writer seals the oldest ones into an index chunk.
pub const TAIL_SEAL_AT: usize = 256;
/// Entries a writer seals into one index chunk once the tail reaches `seal_at`: the oldest
/// three quarters, so the next seal is a quarter of `seal_at` commits away.
pub const fn chunk_entries(seal_at: usize) -> usize {
    seal_at - seal_at / 4
}
/// Markers older than this (by the committer's clock) are dropped. It must exceed, with room
/// for clock skew, the longest a commit can take to resolve (`COMMIT_RESOLVE_TIMEOUT` plus the
/// object store client's own retries). Markers are never dropped by count: the manifest's size
/// budget is the bound, so thousands of distinct writers within the TTL grow the document.
pub const WRITER_MARKER_TTL_MS: i64 = 15 * 60 * 1000;
/// Largest encoded manifest; a commit that would exceed it is refused with `ManifestFull`.
pub const MANIFEST_BYTES_MAX: usize = 1024 * 1024;
