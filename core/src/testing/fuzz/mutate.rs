//! Byte-level damage, as storage and hostile users cause it: bit flips, changed bytes,
//! truncations, inserted and deleted runs, splices of two inputs, and boundary values
//! (0, 1, `u32::MAX`, 4 GiB, ...) written over what may be a length field.

use rand::Rng;
use rand::rngs::StdRng;

/// Values that break length and count checks: zero, one, sign and width boundaries.
pub const INTERESTING_U32: [u32; 16] = [
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x0100_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
];

/// 64-bit boundaries, including 4 GiB (one past `u32::MAX`) and the `i64` limits.
pub const INTERESTING_U64: [u64; 8] = [
    0,
    1,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    0xffff_ffff_ffff_fffe,
    0xffff_ffff_ffff_ffff,
];

/// A 32-bit value likely to break a check: a boundary, a neighbour of `near`, or random.
pub fn u32_near(rng: &mut StdRng, near: u32) -> u32 {
    match rng.random_range(0..4) {
        0 | 1 => INTERESTING_U32[rng.random_range(0..INTERESTING_U32.len())],
        2 => near.wrapping_add(rng.random_range(0..5)).wrapping_sub(2),
        _ => rng.random(),
    }
}

/// A 64-bit value likely to break a check (see [`u32_near`]).
pub fn u64_near(rng: &mut StdRng, near: u64) -> u64 {
    match rng.random_range(0..4) {
        0 | 1 => INTERESTING_U64[rng.random_range(0..INTERESTING_U64.len())],
        2 => near.wrapping_add(rng.random_range(0..5)).wrapping_sub(2),
        _ => rng.random(),
    }
}

/// Writes `value` little-endian at `at`, as far as `bytes` reaches.
pub fn put_le(bytes: &mut [u8], at: usize, value: &[u8]) {
    for (i, b) in value.iter().enumerate() {
        if let Some(slot) = bytes.get_mut(at + i) {
            *slot = *b;
        }
    }
}

/// `len` random bytes.
pub fn random_bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    rng.fill(&mut out[..]);
    out
}

/// Applies one to four mutations to `input`, and names them. `donors` are other valid inputs
/// to splice from.
pub fn stacked(rng: &mut StdRng, input: &mut Vec<u8>, donors: &[&[u8]]) -> String {
    let count = 1 + usize::from(rng.random_range(0..8u8).saturating_sub(4));
    (0..count)
        .map(|_| one(rng, input, donors))
        .collect::<Vec<_>>()
        .join("+")
}

/// Applies one mutation to `input`, and names it.
pub fn one(rng: &mut StdRng, input: &mut Vec<u8>, donors: &[&[u8]]) -> &'static str {
    let len = input.len();
    let at = |rng: &mut StdRng| rng.random_range(0..len.max(1));
    match rng.random_range(0..11) {
        0 if len > 0 => {
            let i = at(rng);
            input[i] ^= 1 << rng.random_range(0..8);
            "bit flip"
        }
        1 if len > 0 => {
            let i = at(rng);
            input[i] = rng.random();
            "random byte"
        }
        2 if len > 0 => {
            let i = at(rng);
            input[i] = [0u8, 1, 0x7f, 0x80, 0xff][rng.random_range(0..5)];
            "boundary byte"
        }
        3 => {
            input.truncate(rng.random_range(0..=len));
            "truncated"
        }
        4 => {
            input.drain(..rng.random_range(0..=len));
            "prefix cut"
        }
        5 => {
            let (i, v) = (at(rng), u32_near(rng, 0));
            put_le(input, i, &v.to_le_bytes());
            "u32 boundary"
        }
        6 => {
            let (i, v) = (at(rng), u64_near(rng, 0));
            put_le(input, i, &v.to_le_bytes());
            "u64 boundary"
        }
        _ => runs(rng, input, donors),
    }
}

/// Inserts, duplicates or deletes a run of bytes, or splices in the end of a donor.
fn runs(rng: &mut StdRng, input: &mut Vec<u8>, donors: &[&[u8]]) -> &'static str {
    let len = input.len();
    match rng.random_range(0..4) {
        0 if len > 0 => {
            let start = rng.random_range(0..len);
            let end = rng.random_range(start..=len.min(start + 64));
            let run = input[start..end].to_vec();
            let to = rng.random_range(0..=len);
            input.splice(to..to, run);
            "duplicated run"
        }
        1 if len > 0 => {
            let start = rng.random_range(0..len);
            let end = rng.random_range(start..=len.min(start + 64));
            input.drain(start..end);
            "deleted run"
        }
        2 if !donors.is_empty() => {
            let donor = donors[rng.random_range(0..donors.len())];
            let keep = rng.random_range(0..=len);
            let from = rng.random_range(0..=donor.len());
            input.truncate(keep);
            input.extend_from_slice(&donor[from..]);
            "spliced"
        }
        _ => {
            let i = rng.random_range(0..=len);
            let n = rng.random_range(1..=16);
            let extra = random_bytes(rng, n);
            input.splice(i..i, extra);
            "inserted bytes"
        }
    }
}
