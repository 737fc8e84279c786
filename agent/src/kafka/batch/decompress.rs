//! The records part of a produced batch, decompressed with the codec its attributes name
//! (none, gzip, snappy, lz4, zstd: clients choose) and never past a bound, so a small
//! compressed request cannot make the agent allocate without limit.

use std::io::Read;

use bytes::Bytes;

use super::decode::BatchError;

/// Snappy as Java's xerial library frames it (and librdkafka writes): this header, then blocks
/// of a big-endian `u32` length and raw snappy. Without the header the data is raw snappy.
const XERIAL_HEADER: &[u8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_BYTES: usize = 16;

/// Decompresses `data` written with `codec` into at most `max` bytes.
pub(super) fn decompress(codec: u8, data: Bytes, max: usize) -> Result<Bytes, BatchError> {
    let too_large = BatchError::TooLarge { max };
    let corrupt = |codec: &str, e: &dyn std::fmt::Display| {
        BatchError::Corrupt(format!("{codec} records do not decompress: {e}"))
    };
    let out = match codec {
        0 if data.len() <= max => return Ok(data),
        0 => return Err(too_large),
        1 => bounded(flate2::read::GzDecoder::new(&data[..]), max)
            .map_err(|e| e.or_corrupt(|e| corrupt("gzip", e)))?,
        2 => snappy(&data, max)?,
        3 => {
            let decoder = lz4::Decoder::new(&data[..]).map_err(|e| corrupt("lz4", &e))?;
            bounded(decoder, max).map_err(|e| e.or_corrupt(|e| corrupt("lz4", e)))?
        }
        4 => {
            let decoder =
                zstd::stream::read::Decoder::new(&data[..]).map_err(|e| corrupt("zstd", &e))?;
            bounded(decoder, max).map_err(|e| e.or_corrupt(|e| corrupt("zstd", e)))?
        }
        other => {
            return Err(BatchError::Corrupt(format!(
                "unknown compression codec {other}"
            )));
        }
    };
    Ok(Bytes::from(out))
}

/// A bounded read's failure: over the bound, or the codec's own error.
enum Unread {
    TooLarge(usize),
    Codec(std::io::Error),
}

impl Unread {
    fn or_corrupt(self, corrupt: impl Fn(&dyn std::fmt::Display) -> BatchError) -> BatchError {
        match self {
            Unread::TooLarge(max) => BatchError::TooLarge { max },
            Unread::Codec(e) => corrupt(&e),
        }
    }
}

/// Reads `reader` to its end, failing once it yields more than `max` bytes.
fn bounded(reader: impl Read, max: usize) -> Result<Vec<u8>, Unread> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(Unread::Codec)?;
    match out.len() > max {
        true => Err(Unread::TooLarge(max)),
        false => Ok(out),
    }
}

fn snappy(data: &[u8], max: usize) -> Result<Vec<u8>, BatchError> {
    if !data.starts_with(XERIAL_HEADER) {
        return snappy_block(data, max, max);
    }
    let mut rest = data.get(XERIAL_HEADER_BYTES..).unwrap_or_default();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, after) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| snappy_corrupt("a block length is cut short"))?;
        let len = u32::from_be_bytes(*len) as usize;
        let block = after
            .get(..len)
            .ok_or_else(|| snappy_corrupt("a block runs past the batch"))?;
        out.extend(snappy_block(block, max - out.len(), max)?);
        rest = &after[len..];
    }
    Ok(out)
}

/// One raw snappy block, its declared length checked against the `room` left (of `max`)
/// before allocating.
fn snappy_block(block: &[u8], room: usize, max: usize) -> Result<Vec<u8>, BatchError> {
    let len = snap::raw::decompress_len(block).map_err(|e| snappy_corrupt(&e.to_string()))?;
    if len > room {
        return Err(BatchError::TooLarge { max });
    }
    snap::raw::Decoder::new()
        .decompress_vec(block)
        .map_err(|e| snappy_corrupt(&e.to_string()))
}

fn snappy_corrupt(what: &str) -> BatchError {
    BatchError::Corrupt(format!("snappy records do not decompress: {what}"))
}
