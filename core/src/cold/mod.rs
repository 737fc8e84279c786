//! Cold segments (docs/design.md §9): Parquet files that serve consumers by offset and analysts by
//! SQL, from the same bytes. Compaction seals old hot segments into them ([`ColdWriter`]); the
//! reader fetches from them by offset or timestamp ([`read_window`], [`first_offset_at`]),
//! with ranged reads of just the row group and pages it needs.
//!
//! ```text
//! tables/topic=<topic>/partition=<p>/dt=<yyyy-mm-dd>/<first:020>-<last:020>-<id>.parquet
//!
//! topic      string                     not null   (also in the path)
//! partition  int32                      not null   (also in the path)
//! offset     int64                      not null   sorted; statistics and page index
//! timestamp  timestamp[us, UTC]         not null   statistics and page index
//! key        binary                     nullable
//! value      binary                     nullable   (null: a tombstone)
//! headers    list<struct<key: string, value: binary>>   not null (empty list: none)
//! ```
//!
//! The column names are those of Spark's Kafka source. Files are zstd-compressed, with row
//! groups of about [`ROW_GROUP_BYTES`] and data pages of at most [`PAGE_ROWS`] rows or about
//! [`PAGE_BYTES`] of records, so a read by offset fetches about a page per column.
//! Key-value metadata names the topic, its id, the partition and the offset range (keys under
//! `silt.`); a reader checks the id and partition. A file covers consecutive offsets (some may
//! be missing: key compaction removed them) and is never rewritten.
//!
//! Format 2 adds checksums (`integrity`): one per page, and one over the page index and footer
//! in a 16-byte trailer before the footer, which Parquet tools skip. A reader verifies the
//! tail once when it opens a file ([`ColdReader`], `tail`) and each page it reads, so a
//! damaged file is a `Corrupt` error naming it, never wrong records or a panic. Files of
//! format 1 (no checksums) stay readable; only their offsets and lengths are checked.
//!
//! Cargo feature `cold` (on by default) builds this with arrow and parquet. Without it only
//! the constants, the options and the readers' entry points remain, and those answer
//! [`FeatureDisabled`](crate::Error::FeatureDisabled) (see `disabled`): a sealed offset is an
//! error, never a gap.

#[cfg(not(feature = "cold"))]
mod disabled;
#[cfg(feature = "cold")]
mod integrity;
#[cfg(feature = "cold")]
mod locate;
#[cfg(feature = "cold")]
mod pages;
#[cfg(feature = "cold")]
mod read;
#[cfg(feature = "cold")]
mod schema;
#[cfg(feature = "cold")]
mod tail;
#[cfg(feature = "cold")]
mod thrift;
#[cfg(feature = "cold")]
mod write;

#[cfg(not(feature = "cold"))]
pub use disabled::{ColdReader, Owner, Window, first_offset_at, read_window};
#[cfg(feature = "cold")]
pub use read::{ColdReader, Owner, Window, first_offset_at, read_window};
#[cfg(feature = "cold")]
pub use schema::arrow_schema;
#[cfg(feature = "cold")]
pub use tail::TAIL_BYTES_MAX;
#[cfg(feature = "cold")]
pub use write::{ColdFile, ColdWriter};

#[cfg(feature = "cold")]
use crate::error::{Corruption, Error};

/// Default size row groups aim for.
pub const ROW_GROUP_BYTES: usize = 128 * 1024 * 1024;
/// Rows per data page at most: the unit a read by offset fetches.
pub const PAGE_ROWS: usize = 1024;
/// Record bytes after which a page ends early (Parquet's own page size limit).
pub const PAGE_BYTES: usize = 1024 * 1024;
/// Version of this layout, in the `silt.format_version` metadata: 2 has checksums, 1 (still
/// read) has none.
pub const FORMAT_VERSION: u32 = 2;

/// Knobs of the files compaction writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColdOptions {
    /// Size a row group aims for (bytes as encoded).
    pub row_group_bytes: usize,
    /// Rows per data page at most.
    pub page_rows: usize,
}

impl Default for ColdOptions {
    fn default() -> Self {
        ColdOptions {
            row_group_bytes: ROW_GROUP_BYTES,
            page_rows: PAGE_ROWS,
        }
    }
}

/// A Parquet error: a store error passes through (so a vanished file reads as `NotFound`), as
/// does silt's own (a page failing its checksum); anything else means the file is not what
/// silt wrote.
#[cfg(feature = "cold")]
fn parquet_error(e: parquet::errors::ParquetError, location: &str) -> Error {
    if let parquet::errors::ParquetError::External(inner) = e {
        let inner = match inner.downcast::<Error>() {
            Ok(ours) => return *ours,
            Err(other) => other,
        };
        return match inner.downcast::<object_store::Error>() {
            Ok(store) => Error::from(*store),
            Err(other) => corrupt(location, other.to_string()),
        };
    }
    corrupt(location, e.to_string())
}

#[cfg(feature = "cold")]
fn corrupt(location: &str, reason: impl Into<String>) -> Error {
    Error::Corrupt(Corruption {
        what: "cold segment",
        location: location.to_string(),
        reason: reason.into(),
    })
}
