//! Target `segment`: the hot segment decoder (`core/src/segment/decode.rs`), versions 1 to 3,
//! whole (`decode`, `decode_header`) and ranged as a reader fetches it (`Footer::parse` on a
//! suffix, then `decode_block` on each block's range). Seeds are the golden files and fresh
//! encodings; a case damages bytes, or changes one part of a taken-apart segment and puts it
//! back with valid checksums so the damage reaches the checks behind them.

pub(crate) mod layout;

use bytes::Bytes;
use rand::Rng;
use silt_core::error::Error;
use silt_core::ids::{Epoch, PartitionId, TopicId, WriterId};
use silt_core::record::{Header, Record};
use silt_core::segment::{self, Footer, Positioned, SegmentHeader, TRAILER_BYTES};
use silt_core::testing::fuzz::{Broken, StdRng, Verdict, mutate};
use ulid::Ulid;

use crate::common::typed;
use layout::{Layout, RECORD_COUNT_AT, VERSION_AT};

/// The location every decode names.
const LOCATION: &str = "topics/fuzz/00000/seg/fuzz.seg";

/// Valid segments to mutate: golden files of each version and fresh encodings.
#[derive(Debug)]
pub(crate) struct Seeds {
    bytes: Vec<Vec<u8>>,
    layouts: Vec<Layout>,
}

impl Seeds {
    /// The golden files, fresh dense, sparse and stored-block encodings, a version-1 copy of
    /// a compressed one, and multi-block splits of them.
    pub(crate) fn new(rng: &mut StdRng) -> Seeds {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
        let mut bytes: Vec<Vec<u8>> = (1..=3)
            .map(|v| std::fs::read(format!("{dir}/segment-v{v}.bin")).expect("golden file"))
            .collect();
        for i in 0..12 {
            let records: Vec<Record> = (0..rng.random_range(1..24))
                .map(|_| record(rng, i % 4 == 3))
                .collect();
            bytes.push(encode(rng, &records, i % 3 == 1));
        }
        let mut layouts: Vec<Layout> = bytes.iter().map(|b| Layout::parse(b)).collect();
        if let Some(compressed) = layouts
            .iter()
            .find(|l| l.version() == 2 && !l.blocks[0].stored)
        {
            let mut v1 = compressed.clone();
            v1.header[VERSION_AT..VERSION_AT + 2].copy_from_slice(&1u16.to_le_bytes());
            v1.flags = 0;
            layouts.push(v1);
        }
        for parts in [2, 3, 5] {
            let mut split = layouts[3 + parts].clone();
            layout::split(&mut split, parts);
            layouts.push(split);
        }
        let bytes = layouts.iter().map(Layout::assemble).collect();
        Seeds { bytes, layouts }
    }

    /// One case: damaged bytes, a damaged part put back together, a splice, or noise.
    pub(crate) fn generate(&self, rng: &mut StdRng) -> (String, Vec<u8>) {
        let i = rng.random_range(0..self.bytes.len());
        let donors: Vec<&[u8]> = self.bytes.iter().map(Vec::as_slice).collect();
        let mut input = self.bytes[i].clone();
        let how = match rng.random_range(0..20) {
            0..=5 => mutate::stacked(rng, &mut input, &donors),
            6..=8 => {
                let how = mutate::stacked(rng, &mut input, &donors);
                layout::refresh_checksum(&mut input);
                format!("{how}, checksum refreshed")
            }
            9..=17 => {
                let (how, bytes) = structural(rng, &self.layouts[i]);
                input = bytes;
                how
            }
            18 => {
                let len = rng.random_range(0..400);
                input = mutate::random_bytes(rng, len);
                "random bytes".to_string()
            }
            _ => {
                input = random_layout(rng).assemble();
                "random layout".to_string()
            }
        };
        (format!("seed {i}, {how}"), input)
    }
}

/// A record with a random key, value, timestamp and headers; `big` makes an incompressible
/// value large enough that its block is stored as is.
fn record(rng: &mut StdRng, big: bool) -> Record {
    let text = |rng: &mut StdRng, max: usize| -> Bytes {
        let len = rng.random_range(0..max);
        Bytes::from(vec![b'a' + rng.random_range(0..4u8); len])
    };
    let headers = (0..rng.random_range(0..3))
        .map(|i| Header {
            key: format!("h{i}"),
            value: text(rng, 8),
        })
        .collect();
    Record {
        key: rng.random_bool(0.7).then(|| text(rng, 16)),
        value: match big {
            true => Some(Bytes::from(mutate::random_bytes(rng, 20_000))),
            false => rng.random_bool(0.9).then(|| text(rng, 200)),
        },
        timestamp_ms: rng.random_range(-1_000..2_000_000_000_000),
        headers,
    }
}

/// Encodes `records` densely (version 2), or keeping only some positions (version 3).
fn encode(rng: &mut StdRng, records: &[Record], sparse: bool) -> Vec<u8> {
    let identity = SegmentHeader {
        topic_id: TopicId(Ulid::from_parts(1, 2)),
        partition: PartitionId(3),
        writer_id: WriterId(Ulid::from_parts(4, 5)),
        epoch: Epoch(6),
        record_count: 0,
        min_ts: 0,
        max_ts: 0,
    };
    if !sparse {
        return segment::encode(&identity, records, 1)
            .expect("encodes")
            .to_vec();
    }
    let kept: Vec<Positioned> = (0u32..)
        .zip(records)
        .filter(|_| rng.random_bool(0.6))
        .map(|(i, r)| Positioned {
            position: i * 2,
            record: r.clone(),
        })
        .collect();
    let span = records.len() as u32 * 2 + 1;
    segment::encode_sparse(&identity, &kept, span, 1)
        .expect("encodes")
        .to_vec()
}

/// One to three edits of a segment's parts, put back with valid checksums, sometimes with an
/// index field or a byte damaged afterwards.
fn structural(rng: &mut StdRng, seed: &Layout) -> (String, Vec<u8>) {
    let mut l = seed.clone();
    let edits: Vec<&str> = (0..rng.random_range(1..=3))
        .map(|_| edit(rng, &mut l))
        .collect();
    if rng.random_bool(0.7) {
        l.recount();
    }
    let mut bytes = l.assemble();
    let mut how = edits.join("+");
    if rng.random_bool(0.2) && !l.blocks.is_empty() {
        let entry = rng.random_range(0..l.blocks.len());
        let field = rng.random_range(0..6);
        if let Some(at) = layout::index_field_at(&bytes, entry, field) {
            if field == 2 {
                let v = mutate::u64_near(rng, layout::read_u64(&bytes, at));
                mutate::put_le(&mut bytes, at, &v.to_le_bytes());
            } else {
                let v = mutate::u32_near(rng, layout::read_u32(&bytes, at));
                mutate::put_le(&mut bytes, at, &v.to_le_bytes());
            }
            layout::refresh_checksum(&mut bytes);
            how.push_str(&format!(", index entry {entry} field {field} changed"));
        }
    }
    (how, bytes)
}

/// One edit of a segment's parts, named.
fn edit(rng: &mut StdRng, l: &mut Layout) -> &'static str {
    let block = (!l.blocks.is_empty()).then(|| rng.random_range(0..l.blocks.len()));
    match (rng.random_range(0..10), block) {
        (0, _) => {
            let v = [0u16, 1, 2, 3, 4, u16::MAX][rng.random_range(0..6)];
            l.header[VERSION_AT..VERSION_AT + 2].copy_from_slice(&v.to_le_bytes());
            "version"
        }
        (1, _) => {
            l.flags = [0, 1, 2, 3, 4, 0x8000_0000, rng.random()][rng.random_range(0..7)];
            "trailer flags"
        }
        (2, _) => {
            let count = layout::read_u32(&l.header, RECORD_COUNT_AT);
            let v = mutate::u32_near(rng, count).to_le_bytes();
            l.header[RECORD_COUNT_AT..RECORD_COUNT_AT + 4].copy_from_slice(&v);
            "header record count"
        }
        (3, Some(b)) => {
            let block = &mut l.blocks[b];
            block.records = mutate::u32_near(rng, block.records);
            if rng.random_bool(0.5) {
                l.renumber();
            }
            "block positions"
        }
        (4, Some(b)) => {
            let block = &mut l.blocks[b];
            block.first_position = mutate::u32_near(rng, block.first_position);
            "block first position"
        }
        (5 | 6, Some(b)) => {
            let raw = &mut l.blocks[b].raw;
            let (fields, _) = layout::raw_fields(raw);
            if fields.is_empty() {
                return "no record field";
            }
            let f = fields[rng.random_range(0..fields.len())];
            let v = mutate::u32_near(rng, layout::read_u32(raw, f.at)).to_le_bytes();
            mutate::put_le(raw, f.at, &v[..f.width]);
            "record length field"
        }
        (7, Some(b)) => {
            mutate::stacked(rng, &mut l.blocks[b].raw, &[]);
            "raw block bytes"
        }
        (8, Some(b)) => {
            l.blocks[b].stored = !l.blocks[b].stored;
            "stored flag"
        }
        (_, Some(b)) => match rng.random_range(0..3) {
            0 => {
                l.blocks.remove(b);
                "removed block"
            }
            1 => {
                let copy = l.blocks[b].clone();
                l.blocks.insert(b, copy);
                "duplicated block"
            }
            _ => {
                let other = rng.random_range(0..l.blocks.len());
                l.blocks.swap(b, other);
                "swapped blocks"
            }
        },
        (_, None) => "no block to edit",
    }
}

/// A segment whose parts are noise in a valid frame.
fn random_layout(rng: &mut StdRng) -> Layout {
    let mut header = mutate::random_bytes(rng, segment::HEADER_BYTES);
    header[..4].copy_from_slice(&segment::MAGIC);
    header[VERSION_AT..VERSION_AT + 2].copy_from_slice(&rng.random_range(1..=3u16).to_le_bytes());
    let blocks = (0..rng.random_range(0..4))
        .map(|_| {
            let len = rng.random_range(0..64);
            layout::Block {
                first_position: 0,
                records: rng.random_range(1..4),
                raw: mutate::random_bytes(rng, len),
                stored: rng.random_bool(0.5),
            }
        })
        .collect();
    let mut l = Layout {
        header,
        blocks,
        flags: rng.random_range(0..4),
    };
    l.renumber();
    l.recount();
    l
}

/// Decodes `input` whole and block by block: both must refuse it with a typed error naming
/// the segment, or agree on the same records at increasing positions.
pub(crate) fn check(input: &[u8]) -> Result<Verdict, Broken> {
    let bytes = Bytes::copy_from_slice(input);
    let len = bytes.len() as u64;
    let header = segment::decode_header(&bytes, LOCATION);
    if let Err(e) = &header {
        typed(e, &["segment"], LOCATION)?;
    }
    let ranged = by_blocks(&bytes)?;
    // The same bytes as the suffix of a larger object (a reader's stale length).
    for larger in [len + 1, len + (1 << 32), u64::MAX] {
        if let Err(e) = Footer::parse(bytes.clone(), larger, LOCATION) {
            typed(&e, &["segment"], LOCATION)?;
        }
    }
    let (decoded_header, records) = match segment::decode(bytes, LOCATION) {
        Ok(decoded) => decoded,
        Err(e) => return typed(&e, &["segment"], LOCATION).map(|()| Verdict::Refused),
    };
    if header.as_ref().ok() != Some(&decoded_header) {
        return Err("decode_header disagrees with decode".into());
    }
    let increasing = records.windows(2).all(|w| w[0].position < w[1].position);
    let inside = records
        .last()
        .is_none_or(|p| p.position < decoded_header.record_count);
    if !increasing || !inside {
        return Err("positions are not increasing inside the record count".into());
    }
    if ranged.as_ref() != Some(&records) {
        return Err("ranged reads disagree with the whole decode".into());
    }
    Ok(Verdict::Accepted)
}

/// Reads `bytes` as a reader does with ranged GETs: the footer from a short suffix (and again
/// from as much as it asks for), then each block from its range. `None` when refused.
fn by_blocks(bytes: &Bytes) -> Result<Option<Vec<Positioned>>, Broken> {
    let len = bytes.len() as u64;
    let guess = bytes.len().min(TRAILER_BYTES + 32);
    let footer = match Footer::parse(bytes.slice(bytes.len() - guess..), len, LOCATION) {
        Ok(Ok(footer)) => footer,
        Ok(Err(needed)) if needed > len || needed <= guess as u64 => {
            return Err(format!(
                "footer asks for {needed} bytes of {len}, having {guess}"
            ));
        }
        Ok(Err(needed)) => {
            match Footer::parse(bytes.slice((len - needed) as usize..), len, LOCATION) {
                Ok(Ok(footer)) => footer,
                Ok(Err(again)) => return Err(format!("footer asks for {again} bytes twice")),
                Err(e) => return typed_none(&e),
            }
        }
        Err(e) => return typed_none(&e),
    };
    let mut records = Vec::new();
    for block in &footer.blocks {
        let r = block.range();
        if r.end > len {
            return Err(format!("block {r:?} lies outside the {len} byte object"));
        }
        match segment::decode_block(
            block,
            bytes.slice(r.start as usize..r.end as usize),
            LOCATION,
        ) {
            Ok(block_records) => records.extend(block_records),
            Err(e) => return typed_none(&e),
        }
    }
    Ok(Some(records))
}

fn typed_none(e: &Error) -> Result<Option<Vec<Positioned>>, Broken> {
    typed(e, &["segment"], LOCATION).map(|()| None)
}
