//! Zig-zag variable-length integers, as Kafka records spell lengths, deltas and counts.

use bytes::{Buf, BufMut};

/// A varint that does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BadVarint;

/// Reads a zig-zag varlong (at most 10 bytes).
pub(super) fn get_varlong(buf: &mut impl Buf) -> Result<i64, BadVarint> {
    let mut raw: u64 = 0;
    for i in 0..10 {
        if !buf.has_remaining() {
            return Err(BadVarint);
        }
        let byte = buf.get_u8();
        raw |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    Err(BadVarint)
}

/// Reads a zig-zag varint (within `i32`).
pub(super) fn get_varint(buf: &mut impl Buf) -> Result<i32, BadVarint> {
    i32::try_from(get_varlong(buf)?).map_err(|_| BadVarint)
}

/// Writes a zig-zag varlong.
pub(super) fn put_varlong(buf: &mut impl BufMut, value: i64) {
    let mut raw = ((value << 1) ^ (value >> 63)) as u64;
    while raw >= 0x80 {
        buf.put_u8((raw as u8) | 0x80);
        raw >>= 7;
    }
    buf.put_u8(raw as u8);
}

/// How many bytes [`put_varlong`] writes for `value`.
pub(super) fn varlong_len(value: i64) -> usize {
    let raw = ((value << 1) ^ (value >> 63)) as u64;
    (64 - raw.leading_zeros() as usize).max(1).div_ceil(7)
}
