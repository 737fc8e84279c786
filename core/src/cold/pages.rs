//! The writer's side of the page checksums (see `integrity`): splits the bytes Parquet streams
//! out into pages and checksums each, as they pass on their way to the object store. A page is
//! a Thrift compact `PageHeader` (whose field 3 is the size of the body after it) and its body;
//! the data region is pages only, from the leading magic to the page index.

use std::ops::Range;

use super::integrity::PARQUET_MAGIC;

/// A page header longer than this is not one (silt's headers are tens of bytes).
const HEADER_BYTES_MAX: usize = 64 * 1024;
/// Nesting deeper than this is not a page header.
const DEPTH_MAX: usize = 16;

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
                let n = input.len().min(usize::try_from(self.body_left).unwrap_or(usize::MAX));
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
                return Err(format!("no page header at byte {}", self.at - before as u64));
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

/// The length of the page header at the start of `bytes` and the body size it names, or
/// `None` if more bytes are needed.
fn header_and_body_len(bytes: &[u8]) -> Result<Option<(usize, u64)>, String> {
    let mut reader = Compact { bytes, at: 0 };
    match reader.page_header() {
        Ok(body) => Ok(Some((reader.at, body))),
        Err(Short::NeedMore) => Ok(None),
        Err(Short::Invalid(why)) => Err(format!("not a page header: {why}")),
    }
}

enum Short {
    NeedMore,
    Invalid(&'static str),
}

/// A Thrift compact protocol reader that only skips, except for the one field it wants.
struct Compact<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Compact<'_> {
    /// Reads a `PageHeader` struct; returns its `compressed_page_size` (field 3, i32).
    fn page_header(&mut self) -> Result<u64, Short> {
        let mut body = None;
        let mut last_id = 0i16;
        loop {
            let byte = self.byte()?;
            if byte == 0 {
                return body.ok_or(Short::Invalid("no compressed page size"));
            }
            let id = self.field_id(byte, last_id)?;
            last_id = id;
            match (id, byte & 0x0f) {
                (3, 5) => {
                    let size = self.zigzag()?;
                    body = Some(u64::try_from(size).map_err(|_| Short::Invalid("negative size"))?);
                }
                (_, kind) => self.skip(kind, 0)?,
            }
        }
    }

    fn field_id(&mut self, byte: u8, last: i16) -> Result<i16, Short> {
        match byte >> 4 {
            0 => i16::try_from(self.zigzag()?).map_err(|_| Short::Invalid("field id")),
            delta => Ok(last.wrapping_add(i16::from(delta))),
        }
    }

    fn skip(&mut self, kind: u8, depth: usize) -> Result<(), Short> {
        if depth > DEPTH_MAX {
            return Err(Short::Invalid("nested too deep"));
        }
        match kind {
            1 | 2 => Ok(()),                       // booleans live in the field header
            3 => self.take(1),                     // i8
            4..=6 => self.varint().map(|_| ()),    // i16, i32, i64
            7 => self.take(8),                     // double
            8 => {
                let len = usize::try_from(self.varint()?).map_err(|_| Short::NeedMore)?;
                self.take(len)
            }
            9 | 10 => self.skip_list(depth),
            11 => self.skip_map(depth),
            12 => self.skip_struct(depth),
            _ => Err(Short::Invalid("unknown type")),
        }
    }

    fn skip_list(&mut self, depth: usize) -> Result<(), Short> {
        let header = self.byte()?;
        let len = match header >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        let kind = header & 0x0f;
        for _ in 0..len {
            // A boolean element is a whole byte.
            match kind {
                1 | 2 => self.take(1)?,
                _ => self.skip(kind, depth + 1)?,
            }
        }
        Ok(())
    }

    fn skip_map(&mut self, depth: usize) -> Result<(), Short> {
        let len = self.varint()?;
        if len == 0 {
            return Ok(());
        }
        let kinds = self.byte()?;
        for _ in 0..len {
            self.skip(kinds >> 4, depth + 1)?;
            self.skip(kinds & 0x0f, depth + 1)?;
        }
        Ok(())
    }

    fn skip_struct(&mut self, depth: usize) -> Result<(), Short> {
        let mut last_id = 0i16;
        loop {
            let byte = self.byte()?;
            if byte == 0 {
                return Ok(());
            }
            last_id = self.field_id(byte, last_id)?;
            self.skip(byte & 0x0f, depth + 1)?;
        }
    }

    fn byte(&mut self) -> Result<u8, Short> {
        let byte = *self.bytes.get(self.at).ok_or(Short::NeedMore)?;
        self.at += 1;
        Ok(byte)
    }

    fn take(&mut self, n: usize) -> Result<(), Short> {
        let end = self.at.checked_add(n).ok_or(Short::NeedMore)?;
        if end > self.bytes.len() {
            return Err(Short::NeedMore);
        }
        self.at = end;
        Ok(())
    }

    fn varint(&mut self) -> Result<u64, Short> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Short::Invalid("varint too long"))
    }

    fn zigzag(&mut self) -> Result<i64, Short> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }
}
