//! The writer's side of the page checksums (see `integrity`): splits the bytes Parquet streams
//! out into pages and checksums each, as they pass on their way to the object store. A page is
//! a Thrift compact `PageHeader` (whose field 3 is the size of the body after it) and its body;
//! the data region is pages only, from the leading magic to the page index.

use std::ops::Range;

use super::integrity::PARQUET_MAGIC;
use super::thrift;

/// A page header longer than this is not one (silt's headers are tens of bytes).
const HEADER_BYTES_MAX: usize = 64 * 1024;

/// Checksums the pages of a byte stream fed in order.
#[derive(Debug, Default)]
pub(super) struct PageScanner {
    /// File offset of the next byte fed.
    at: u64,
    /// Bytes of a page header read so far (empty between pages).
    header: Vec<u8>,
    /// Where the current page starts, and its checksum so far.
    page: Option<(u64, u32)>,
    /// Bytes of the current page's body still to come.
    body_left: u64,
    pages: Vec<(Range<u64>, u32)>,
}

impl PageScanner {
    /// Feeds the next bytes of the file.
    pub(super) fn scan(&mut self, mut input: &[u8]) -> Result<(), String> {
        let magic = PARQUET_MAGIC.len() as u64;
        while !input.is_empty() {
            if self.at < magic {
                let n = input.len().min((magic - self.at) as usize);
                if input[..n] != PARQUET_MAGIC[self.at as usize..self.at as usize + n] {
                    return Err("the file does not start with the Parquet magic".into());
                }
                input = self.advance(input, n);
            } else if self.body_left > 0 {
                let n = input
                    .len()
                    .min(usize::try_from(self.body_left).unwrap_or(usize::MAX));
                self.add_to_page(&input[..n]);
                self.body_left -= n as u64;
                input = self.advance(input, n);
                if self.body_left == 0 {
                    self.end_page();
                }
            } else {
                input = self.scan_header(input)?;
            }
        }
        Ok(())
    }

    /// The pages seen and their checksums, in file order, once the stream stopped between
    /// two pages.
    pub(super) fn finish(self) -> Result<Vec<(Range<u64>, u32)>, String> {
        if !self.header.is_empty() || self.body_left > 0 {
            return Err(format!("the data ends inside a page at byte {}", self.at));
        }
        Ok(self.pages)
    }

    fn scan_header<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], String> {
        if self.header.is_empty() {
            self.page = Some((self.at, 0));
        }
        let before = self.header.len();
        let take = input.len().min(HEADER_BYTES_MAX - before);
        self.header.extend_from_slice(&input[..take]);
        let Some((header_len, body_len)) = header_and_body_len(&self.header)? else {
            if self.header.len() >= HEADER_BYTES_MAX {
                return Err(format!(
                    "no page header at byte {}",
                    self.at - before as u64
                ));
            }
            return Ok(self.advance(input, take));
        };
        let used = header_len
            .checked_sub(before)
            .ok_or("a page header shorter than the bytes before it")?;
        let header = std::mem::take(&mut self.header);
        self.add_to_page(&header[..header_len]);
        self.body_left = body_len;
        let rest = self.advance(input, used);
        if body_len == 0 {
            self.end_page();
        }
        Ok(rest)
    }

    fn advance<'a>(&mut self, input: &'a [u8], n: usize) -> &'a [u8] {
        self.at += n as u64;
        &input[n..]
    }

    fn add_to_page(&mut self, bytes: &[u8]) {
        if let Some((_, crc)) = &mut self.page {
            *crc = crc32c::crc32c_append(*crc, bytes);
        }
    }

    fn end_page(&mut self) {
        if let Some((start, crc)) = self.page.take() {
            self.pages.push((start..self.at, crc));
        }
    }
}

/// The length of the page header at the start of `bytes` and the body size it names (its
/// field 3, `compressed_page_size`), or `None` if more bytes are needed.
fn header_and_body_len(bytes: &[u8]) -> Result<Option<(usize, u64)>, String> {
    let mut body = None;
    let read = thrift::read_struct(bytes, None, |field, value| {
        if let (3, thrift::Value::Int(size)) = (field, value) {
            body = u64::try_from(size).ok();
        }
    });
    match read {
        Ok(len) => match body {
            Some(body) => Ok(Some((len, body))),
            None => Err("a page header without a page size".into()),
        },
        Err(thrift::Error::Short) => Ok(None),
        Err(thrift::Error::Invalid(why)) => Err(format!("not a page header: {why}")),
    }
}
