//! The checksums of format 2 (docs/design.md §9), which make a damaged cold segment a
//! `Corrupt` error rather than wrong records or a panic. Pure: the writer and the reader share
//! these layouts; neither does I/O here.
//!
//! ```text
//! "PAR1" | pages | page index | trailer | footer | footer length u32 | "PAR1"
//! trailer (16 bytes, little-endian): page index offset u64 | crc32c u32 | magic "SLTC"
//! ```
//!
//! - Every page (header and body; dictionary pages too) has a crc32c, listed in file order in
//!   the footer's key-value metadata `silt.page_crc32c` (8 hex digits per page). A read of
//!   pages must cover whole pages, and is verified before Parquet decodes it.
//! - The trailer's crc32c covers every byte from the page index to the end of the file except
//!   its own 4: the page index, the trailer's offset and magic, and the footer (and so the page
//!   checksums). It is verified before any of those bytes is parsed.
//!
//! Parquet readers find the footer from the end of the file and everything else by the offsets
//! in it, so they never look at the trailer: the file stays plain Parquet for DuckDB or Athena.

use std::ops::Range;

use parquet::file::metadata::ParquetMetaData;
use parquet::file::page_index::offset_index::PageLocation;

/// Bytes of the trailer between the page index and the footer.
pub(super) const TRAILER_BYTES: u64 = 16;
/// Marks a trailer (format 2 on).
const TRAILER_MAGIC: [u8; 4] = *b"SLTC";
/// The Parquet magic, at both ends of a file.
pub(super) const PARQUET_MAGIC: [u8; 4] = *b"PAR1";
/// Key-value metadata holding the page checksums.
pub(super) const PAGE_CRCS_KEY: &str = "silt.page_crc32c";

/// The file's last 8 bytes: the footer's length, checked against the file's size.
pub(super) fn footer_len(last8: &[u8], size: u64) -> Result<u64, String> {
    let Some((len, magic)) = last8.split_first_chunk::<4>() else {
        return Err("shorter than a Parquet file".into());
    };
    if magic != PARQUET_MAGIC {
        return Err("no Parquet magic at the end".into());
    }
    let len = u64::from(u32::from_le_bytes(*len));
    // The footer sits between the leading magic and the last 8 bytes.
    if len + 12 > size {
        return Err(format!(
            "a footer of {len} bytes does not fit a file of {size}"
        ));
    }
    Ok(len)
}

/// The page index offset the 16 bytes before the footer name, if they are a trailer.
pub(super) fn trailer_index_offset(trailer: &[u8]) -> Option<u64> {
    let (offset, rest) = trailer.split_first_chunk::<8>()?;
    (rest.len() == 8 && rest[4..] == TRAILER_MAGIC).then(|| u64::from_le_bytes(*offset))
}

/// Whether `tail` (the file from its page index on) holds a trailer at `trailer_at` whose
/// checksum matches.
pub(super) fn tail_verifies(tail: &[u8], trailer_at: usize) -> bool {
    let crc_at = trailer_at + 8;
    let (Some(before), Some(stored), Some(after)) = (
        tail.get(..crc_at),
        tail.get(crc_at..crc_at + 4),
        tail.get(crc_at + 4..),
    ) else {
        return false;
    };
    let crc = crc32c::crc32c_append(crc32c::crc32c(before), after);
    stored == crc.to_le_bytes()
}

/// The tail the writer uploads: `tail` (page index, footer, length, magic, as Parquet wrote
/// them from `index_offset` on) with the trailer inserted before the footer.
pub(super) fn with_trailer(tail: &[u8], index_offset: u64) -> Result<Vec<u8>, String> {
    let footer = tail
        .len()
        .checked_sub(8)
        .and_then(|end| {
            let len = footer_len(&tail[end..], u64::MAX).ok()?;
            end.checked_sub(usize::try_from(len).ok()?)
        })
        .ok_or("the file Parquet wrote ends without a footer")?;
    let mut out = Vec::with_capacity(tail.len() + TRAILER_BYTES as usize);
    out.extend_from_slice(&tail[..footer]);
    let trailer_at = out.len();
    out.extend_from_slice(&index_offset.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&TRAILER_MAGIC);
    out.extend_from_slice(&tail[footer..]);
    let crc_at = trailer_at + 8;
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out[..crc_at]), &out[crc_at + 4..]);
    out[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Page checksums as stored: 8 lowercase hex digits each.
pub(super) fn encode_crcs(crcs: &[u32]) -> String {
    crcs.iter().map(|crc| format!("{crc:08x}")).collect()
}

/// The page checksums of `text`, or why they are not.
pub(super) fn decode_crcs(text: &str) -> Result<Vec<u32>, String> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(8) || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return Err("the page checksums are not groups of 8 hex digits".into());
    }
    let crc = |digits: &[u8]| digits.iter().fold(0u32, |crc, d| crc << 4 | hex(*d));
    Ok(bytes.chunks(8).map(crc).collect())
}

fn hex(digit: u8) -> u32 {
    (digit as char).to_digit(16).unwrap_or(0)
}

/// The byte range of every page of `meta` in file order (a column chunk's dictionary page,
/// then its data pages), after checking every offset and length they are taken from: each
/// column chunk lies in the data region `data`, its pages tile it exactly, and chunks follow
/// each other with no gap from the data region's start; the pages of a chunk start at row 0,
/// in increasing row order, inside the row group. The caller checks where the last one ends.
pub(super) fn page_ranges(
    meta: &ParquetMetaData,
    data: Range<u64>,
) -> Result<Vec<Range<u64>>, String> {
    let mut ranges = Vec::new();
    for (rg, group) in meta.row_groups().iter().enumerate() {
        let index = meta.page_index_for_row_group(rg);
        for (c, column) in group.columns().iter().enumerate() {
            let at = ranges.last().map_or(data.start, |r: &Range<u64>| r.end);
            let start = column
                .dictionary_page_offset()
                .unwrap_or(column.data_page_offset());
            let end = start.checked_add(column.compressed_size());
            let chunk = match (u64::try_from(start), end.map(u64::try_from)) {
                (Ok(start), Some(Ok(end))) if start == at && start < end && end <= data.end => {
                    start..end
                }
                _ => {
                    return Err(format!(
                        "row group {rg}, column {c}: a column chunk out of place"
                    ));
                }
            };
            let pages = index.offset_index(c).map(|o| o.page_locations().as_slice());
            let pages = chunk_pages(chunk, pages.unwrap_or_default(), group.num_rows());
            ranges.extend(pages.map_err(|e| format!("row group {rg}, column {c}: {e}"))?);
        }
    }
    Ok(ranges)
}

/// The pages of the column chunk at `chunk` (its dictionary page first, if the first data
/// page starts after the chunk does), which must tile it, in row order from row 0.
fn chunk_pages(
    chunk: Range<u64>,
    pages: &[PageLocation],
    rows: i64,
) -> Result<Vec<Range<u64>>, String> {
    let mut out = Vec::with_capacity(pages.len() + 1);
    let mut at = chunk.start;
    let mut previous_row = None;
    for page in pages {
        let begins = u64::try_from(page.offset).ok();
        let len = u64::try_from(page.compressed_page_size)
            .ok()
            .filter(|l| *l > 0);
        let (Some(begins), Some(len)) = (begins, len) else {
            return Err("a page of negative place or size".into());
        };
        let row = page.first_row_index;
        let rows_ok = match previous_row {
            None => row == 0,
            Some(previous) => row > previous && row < rows,
        };
        if !rows_ok {
            return Err("page rows out of order".into());
        }
        if previous_row.is_none() && begins > chunk.start && begins < chunk.end {
            out.push(chunk.start..begins);
            at = begins;
        }
        previous_row = Some(row);
        if begins != at || begins + len > chunk.end {
            return Err("pages do not tile the column chunk".into());
        }
        out.push(begins..begins + len);
        at = begins + len;
    }
    match at == chunk.end {
        true => Ok(out),
        false => Err("pages do not tile the column chunk".into()),
    }
}

/// The page checksums of a format 2 file, by byte range.
#[derive(Debug)]
pub(super) struct PageSums {
    pages: Vec<(Range<u64>, u32)>,
}

impl PageSums {
    /// Pairs the pages' ranges (in file order, as [`page_ranges`] returns them) with their
    /// checksums.
    pub(super) fn new(ranges: Vec<Range<u64>>, crcs: Vec<u32>) -> Result<PageSums, String> {
        if ranges.len() != crcs.len() {
            let (pages, sums) = (ranges.len(), crcs.len());
            return Err(format!("{pages} pages but {sums} page checksums"));
        }
        Ok(PageSums {
            pages: ranges.into_iter().zip(crcs).collect(),
        })
    }

    /// Checks `bytes`, read from `range`, which must cover whole pages.
    pub(super) fn verify(&self, range: &Range<u64>, bytes: &[u8]) -> Result<(), String> {
        let wanted = range.end.saturating_sub(range.start);
        if bytes.len() as u64 != wanted {
            let got = bytes.len();
            return Err(format!("{got} bytes read for {wanted} at {range:?}"));
        }
        let mut i = self.pages.partition_point(|(r, _)| r.start < range.start);
        let mut at = range.start;
        while at < range.end {
            let Some((page, crc)) = self.pages.get(i).filter(|(p, _)| p.start == at) else {
                return Err(format!("a read of {range:?} does not cover whole pages"));
            };
            let piece = (page.start - range.start) as usize..(page.end - range.start) as usize;
            let Some(piece) = bytes.get(piece) else {
                return Err(format!("a read of {range:?} does not cover whole pages"));
            };
            if crc32c::crc32c(piece) != *crc {
                return Err(format!("the page at bytes {page:?} fails its checksum"));
            }
            at = page.end;
            i += 1;
        }
        Ok(())
    }
}
