//! Segments whose length and count fields claim the most they can (4 GiB lengths, a million
//! positions, `u32::MAX` blocks), each otherwise valid with correct checksums: the decoder
//! must refuse them, or decode them, before allocating what they claim.

use silt_core::segment::{FLAG_GAPS, FLAG_STORED_BLOCKS};

use crate::segment::layout::{self, Block, Layout, VERSION_AT};

/// Named inputs, built from the version 2 golden file.
pub(crate) fn boundary_claims() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
    let golden = std::fs::read(format!("{dir}/segment-v2.bin")).expect("golden file");
    let seed = Layout::parse(&golden);
    let mut out = Vec::new();
    let (fields, _) = layout::raw_fields(&seed.blocks[0].raw);
    for (i, f) in fields.iter().enumerate().filter(|(_, f)| f.width >= 2) {
        for claim in [u32::MAX, 0x8000_0000, 1 << 24] {
            let mut l = seed.clone();
            let value = claim.to_le_bytes();
            silt_core::testing::fuzz::mutate::put_le(&mut l.blocks[0].raw, f.at, &value[..f.width]);
            out.push((format!("record field {i} claims {claim}"), l.assemble()));
        }
    }
    let mut gaps = seed.clone();
    gaps.header[VERSION_AT..VERSION_AT + 2].copy_from_slice(&3u16.to_le_bytes());
    gaps.flags = FLAG_STORED_BLOCKS | FLAG_GAPS;
    gaps.blocks = vec![Block {
        first_position: 0,
        records: silt_core::limits::SEGMENT_RECORDS_MAX,
        raw: Vec::new(),
        stored: true,
    }];
    gaps.recount();
    out.push((
        "a million removed positions in one empty block".into(),
        gaps.assemble(),
    ));
    let assembled = seed.assemble();
    for (field, what) in [
        (1, "block positions"),
        (3, "block length"),
        (4, "block raw length"),
    ] {
        let mut bytes = assembled.clone();
        let at = layout::index_field_at(&bytes, 0, field).expect("an index");
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        layout::refresh_checksum(&mut bytes);
        out.push((format!("{what} claims 4 GiB"), bytes));
    }
    let trailer = assembled.len() - silt_core::segment::TRAILER_BYTES;
    for (at, what) in [(trailer, "index offset"), (trailer + 8, "index length")] {
        let mut bytes = assembled.clone();
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        layout::refresh_checksum(&mut bytes);
        out.push((format!("{what} claims 4 GiB"), bytes));
    }
    let mut count = assembled.clone();
    let at = layout::index_field_at(&count, 0, 0).expect("an index") - 4;
    count[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    layout::refresh_checksum(&mut count);
    out.push(("block count claims u32::MAX blocks".into(), count));
    out
}
