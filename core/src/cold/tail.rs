//! Opening a cold segment: its tail (page index, trailer, footer), usually in one suffix GET,
//! checked before anything in it is parsed (format 2, see `integrity`); then every page offset
//! and length the metadata gives is checked against the file before a read uses it. Files of
//! format 1 (no checksums) are still read, with the same offset and length checks.

use std::ops::Range;

use bytes::{Bytes, BytesMut};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};

use super::integrity::{
    PAGE_CRCS_KEY, PageSums, TRAILER_BYTES, decode_crcs, footer_len, page_ranges, tail_verifies,
    trailer_index_offset,
};
use super::{FORMAT_VERSION, corrupt, thrift};
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
        return Err(bad(format!(
            "{size} bytes is shorter than any Parquet file"
        )));
    }
    let mut tail = Tail::read(objects, path, size).await?;
    let last8 = tail.from(size - 8);
    let footer = size - 8 - footer_len(&last8, size).map_err(bad)?..size - 8;
    let trailer_at = footer.start.checked_sub(TRAILER_BYTES);
    if let Some(trailer_at) = trailer_at.filter(|at| *at >= DATA_START) {
        tail.reach(trailer_at).await?;
        let trailer = tail.from(trailer_at);
        if let Some(index_offset) = trailer_index_offset(&trailer[..TRAILER_BYTES as usize]) {
            return checked(tail, index_offset, trailer_at, footer).await;
        }
    }
    unchecked(tail, footer).await
}

/// Format 2: the trailer's checksum over the tail, then the metadata, then the page checksums.
async fn checked(
    mut tail: Tail<'_>,
    index_offset: u64,
    trailer_at: u64,
    footer: Range<u64>,
) -> Result<Opened> {
    let location = tail.path.as_ref().to_string();
    let bad = |reason: &str| corrupt(&location, reason);
    if !(DATA_START..=trailer_at).contains(&index_offset) {
        return Err(bad("the trailer's page index offset is out of place"));
    }
    tail.reach(index_offset).await?;
    let bytes = tail.from(index_offset);
    if !tail_verifies(&bytes, (trailer_at - index_offset) as usize) {
        return Err(bad(
            "the checksum of its footer and page index does not match",
        ));
    }
    let meta = parse(&mut tail, footer, index_offset..trailer_at).await?;
    if format_version(&meta, &location)? < CHECKED_FORMAT {
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
async fn unchecked(mut tail: Tail<'_>, footer: Range<u64>) -> Result<Opened> {
    let location = tail.path.as_ref().to_string();
    let footer_start = footer.start;
    let meta = parse(&mut tail, footer, DATA_START..footer_start).await?;
    let version = format_version(&meta, &location)?;
    if version >= CHECKED_FORMAT || key_value(&meta, PAGE_CRCS_KEY).is_some() {
        let reason = "its checksum trailer is missing or damaged";
        return Err(corrupt(&location, reason));
    }
    let ranges = page_ranges(&meta, DATA_START..footer_start);
    ranges.map_err(|e| corrupt(&location, e))?;
    Ok(Opened { meta, pages: None })
}

/// The footer at `footer` and the page index it points to (which must lie in `index`), each
/// walked (see `thrift`) before the parquet crate parses it.
async fn parse(
    tail: &mut Tail<'_>,
    footer: Range<u64>,
    index: Range<u64>,
) -> Result<ParquetMetaData> {
    let location = tail.path.as_ref().to_string();
    let bad = |what: &str, e: String| corrupt(&location, format!("{what}: {e}"));
    tail.reach(footer.start).await?;
    let footer_bytes = tail.slice(footer);
    thrift::check_struct(&footer_bytes, None).map_err(|e| bad("its footer", e))?;
    let meta = ParquetMetaDataReader::decode_metadata(&footer_bytes);
    let meta = meta.map_err(|e| bad("its footer", e.to_string()))?;
    // A column index (whose field 1 is a list of booleans) for some column chunks, an offset
    // index for each.
    let mut pieces = Vec::new();
    for column in meta.row_groups().iter().flat_map(|rg| rg.columns()) {
        let offsets = column.offset_index_range();
        let offsets = offsets.ok_or_else(|| bad("its page index", "a chunk without one".into()))?;
        pieces.push((offsets, None));
        pieces.extend(column.column_index_range().map(|r| (r, Some(1))));
    }
    if let Some((range, _)) = pieces
        .iter()
        .find(|(r, _)| r.start >= r.end || !index.contains(&r.start) || r.end > index.end)
    {
        return Err(bad(
            "its page index",
            format!("{range:?} is outside {index:?}"),
        ));
    }
    let first = pieces
        .iter()
        .map(|(r, _)| r.start)
        .min()
        .unwrap_or(index.start);
    tail.reach(first).await?;
    for (range, bools) in &pieces {
        let piece = tail.slice(range.clone());
        thrift::check_struct(&piece, *bools).map_err(|e| bad("its page index", e))?;
    }
    let mut reader = ParquetMetaDataReader::new_with_metadata(meta)
        .with_page_index_policy(PageIndexPolicy::Required);
    let read = reader.read_page_indexes_sized(&tail.bytes, tail.size);
    read.and_then(|()| reader.finish())
        .map_err(|e| bad("its page index", e.to_string()))
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
            let reason = format!(
                "{} bytes read of a {}-byte suffix",
                bytes.len(),
                size - start
            );
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
        self.slice(from..self.size)
    }

    /// The bytes of `range` (within what was read; clamped to it).
    fn slice(&self, range: Range<u64>) -> Bytes {
        let at = |offset: u64| {
            offset
                .saturating_sub(self.start)
                .min(self.bytes.len() as u64)
        };
        let (start, end) = (at(range.start), at(range.end));
        self.bytes.slice(start as usize..end.max(start) as usize)
    }
}
