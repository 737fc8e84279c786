//! Opening a cold segment: its tail (page index, trailer, footer), usually in one suffix GET,
//! checked before anything in it is parsed (format 2, see `integrity`); then every page offset
//! and length the metadata gives is checked against the file before a read uses it. Files of
//! format 1 (no checksums) are still read, with the same offset and length checks.

use bytes::{Bytes, BytesMut};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use parquet::errors::ParquetError;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};

use super::integrity::{
    PAGE_CRCS_KEY, PageSums, TRAILER_BYTES, decode_crcs, footer_len, page_ranges, tail_verifies,
    trailer_index_offset,
};
use super::{FORMAT_VERSION, corrupt};
use crate::error::{Error, Result};

/// Bytes read from the end of a file in the first request (footer and, usually, page index).
const FOOTER_HINT: u64 = 64 * 1024;
/// The largest tail (page index, trailer and footer) read: a damaged length never makes a
/// reader allocate more. Sealing keeps files far below it (about 0.5 byte per record).
pub const TAIL_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// The first format with checksums.
const CHECKED_FORMAT: u32 = 2;
/// The start of the data region: after the leading magic.
const DATA_START: u64 = 4;

/// A file's checked metadata (with its page index), and its page checksums (format 2 on).
#[derive(Debug)]
pub(super) struct Opened {
    pub(super) meta: ParquetMetaData,
    pub(super) pages: Option<PageSums>,
}

/// Reads and checks the metadata of the file at `path`, of `size` bytes as its segment entry
/// says.
pub(super) async fn open(objects: &dyn ObjectStore, path: &Path, size: u64) -> Result<Opened> {
    let location = path.as_ref();
    let bad = |reason: String| corrupt(location, reason);
    if size < DATA_START + 8 {
        return Err(bad(format!("{size} bytes is shorter than any Parquet file")));
    }
    let mut tail = Tail::read(objects, path, size).await?;
    let last8 = tail.from(size - 8);
    let footer_start = size - 8 - footer_len(&last8, size).map_err(bad)?;
    if let Some(trailer_at) = footer_start.checked_sub(TRAILER_BYTES) {
        if trailer_at >= DATA_START {
            tail.reach(trailer_at).await?;
            let trailer = tail.from(trailer_at);
            if let Some(index_offset) = trailer_index_offset(&trailer[..TRAILER_BYTES as usize]) {
                return checked(tail, index_offset, trailer_at).await;
            }
        }
    }
    unchecked(tail, footer_start).await
}

/// Format 2: the trailer's checksum over the tail, then the metadata, then the page checksums.
async fn checked(mut tail: Tail<'_>, index_offset: u64, trailer_at: u64) -> Result<Opened> {
    let location = tail.path.as_ref().to_string();
    let bad = |reason: &str| corrupt(&location, reason);
    if !(DATA_START..=trailer_at).contains(&index_offset) {
        return Err(bad("the trailer's page index offset is out of place"));
    }
    tail.reach(index_offset).await?;
    let bytes = tail.from(index_offset);
    if !tail_verifies(&bytes, (trailer_at - index_offset) as usize) {
        return Err(bad("the checksum of its footer and page index does not match"));
    }
    let meta = parse(&bytes, tail.size).map_err(|e| corrupt(&location, e.to_string()))?;
    let version = format_version(&meta, &location)?;
    if version < CHECKED_FORMAT {
        return Err(bad("a checksum trailer in a file of format 1"));
    }
    let crcs = key_value(&meta, PAGE_CRCS_KEY).ok_or_else(|| bad("no page checksums"))?;
    let crcs = decode_crcs(crcs).map_err(|e| corrupt(&location, e))?;
    let ranges = page_ranges(&meta, DATA_START..index_offset);
    let ranges = ranges.map_err(|e| corrupt(&location, e))?;
    if ranges.last().map_or(DATA_START, |r| r.end) != index_offset {
        return Err(bad("its pages do not reach its page index"));
    }
    let pages = PageSums::new(ranges, crcs).map_err(|e| corrupt(&location, e))?;
    Ok(Opened {
        meta,
        pages: Some(pages),
    })
}

/// Format 1 (or a damaged trailer): the metadata as it is, if it says format 1.
async fn unchecked(mut tail: Tail<'_>, footer_start: u64) -> Result<Opened> {
    let location = tail.path.as_ref().to_string();
    let mut parsed = parse(&tail.bytes, tail.size);
    // Each round reads the tail the last one asked for, so two suffice; four bound a liar.
    for _ in 0..4 {
        let Err(ParquetError::NeedMoreData(needed)) = parsed else {
            break;
        };
        let from = tail.size.saturating_sub(needed as u64);
        tail.reach(from.max(DATA_START)).await?;
        parsed = parse(&tail.bytes, tail.size);
    }
    let meta = parsed.map_err(|e| corrupt(&location, e.to_string()))?;
    let version = format_version(&meta, &location)?;
    if version >= CHECKED_FORMAT || key_value(&meta, PAGE_CRCS_KEY).is_some() {
        let reason = "its checksum trailer is missing or damaged";
        return Err(corrupt(&location, reason));
    }
    let ranges = page_ranges(&meta, DATA_START..footer_start);
    ranges.map_err(|e| corrupt(&location, e))?;
    Ok(Opened { meta, pages: None })
}

/// The footer and page index in `tail`, the last bytes of a file of `size` bytes.
fn parse(tail: &Bytes, size: u64) -> parquet::errors::Result<ParquetMetaData> {
    let mut reader = ParquetMetaDataReader::new().with_page_index_policy(PageIndexPolicy::Required);
    reader.try_parse_sized(tail, size)?;
    reader.finish()
}

fn key_value<'a>(meta: &'a ParquetMetaData, key: &str) -> Option<&'a str> {
    let kv = meta.file_metadata().key_value_metadata()?;
    kv.iter().find(|kv| kv.key == key)?.value.as_deref()
}

/// The file's `silt.format_version`; a newer one than this code reads is `FutureFormat`.
fn format_version(meta: &ParquetMetaData, location: &str) -> Result<u32> {
    let version = key_value(meta, "silt.format_version").and_then(|v| v.parse::<u32>().ok());
    match version {
        None | Some(0) => Err(corrupt(location, "no silt format version")),
        Some(found) if found > FORMAT_VERSION => Err(Error::FutureFormat {
            what: "cold segment",
            location: location.to_string(),
            found,
            supported: FORMAT_VERSION,
        }),
        Some(found) => Ok(found),
    }
}

/// The last bytes of a file, read toward its start as needed.
struct Tail<'a> {
    objects: &'a dyn ObjectStore,
    path: &'a Path,
    size: u64,
    /// File offset of `bytes`' first byte.
    start: u64,
    bytes: Bytes,
}

impl<'a> Tail<'a> {
    /// One suffix GET, which also tells the object's real size.
    async fn read(objects: &'a dyn ObjectStore, path: &'a Path, size: u64) -> Result<Tail<'a>> {
        let options = GetOptions {
            range: Some(GetRange::Suffix(FOOTER_HINT.min(size))),
            ..GetOptions::default()
        };
        let got = objects.get_opts(path, options).await?;
        if got.meta.size != size {
            let reason = format!("{} bytes, but its segment entry says {size}", got.meta.size);
            return Err(corrupt(path.as_ref(), reason));
        }
        let bytes = got.bytes().await?;
        let start = size - FOOTER_HINT.min(size);
        if bytes.len() as u64 != size - start {
            let reason = format!("{} bytes read of a {}-byte suffix", bytes.len(), size - start);
            return Err(corrupt(path.as_ref(), reason));
        }
        Ok(Tail {
            objects,
            path,
            size,
            start,
            bytes,
        })
    }

    /// Reads the bytes from `from` on, if not yet read.
    async fn reach(&mut self, from: u64) -> Result<()> {
        if from >= self.start {
            return Ok(());
        }
        if self.size - from > TAIL_BYTES_MAX {
            let reason = format!(
                "a tail of {} bytes is over the limit of {TAIL_BYTES_MAX}",
                self.size - from
            );
            return Err(corrupt(self.path.as_ref(), reason));
        }
        let more = self.objects.get_range(self.path, from..self.start).await?;
        if more.len() as u64 != self.start - from {
            let reason = format!("{} bytes read of {}", more.len(), self.start - from);
            return Err(corrupt(self.path.as_ref(), reason));
        }
        let mut joined = BytesMut::with_capacity(more.len() + self.bytes.len());
        joined.extend_from_slice(&more);
        joined.extend_from_slice(&self.bytes);
        self.bytes = joined.freeze();
        self.start = from;
        Ok(())
    }

    /// The bytes from `from` (at or after `start`) to the end of the file.
    fn from(&self, from: u64) -> Bytes {
        let skip = from.saturating_sub(self.start).min(self.bytes.len() as u64);
        self.bytes.slice(skip as usize..)
    }
}
