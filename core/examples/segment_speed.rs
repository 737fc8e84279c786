//! How fast one segment is encoded and decoded, without a store or a runtime: the CPU cost of
//! the write path's encoder and the read path's decoder alone (docs/benchmarks.md, issue 20).
//!
//! `cargo run --release -p silt-core --example segment_speed` prints MiB/s of payload for an
//! 8 MiB segment of 1 KiB records, random (stored blocks) and log-like text (zstd level 1),
//! the best of five rounds.

use std::time::Duration;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use silt_core::ids::{Epoch, PartitionId, TopicId, WriterId};
use silt_core::record::Record;
use silt_core::segment::{self, SegmentHeader};

const RECORD_BYTES: usize = 1024;
const RECORDS: usize = 8 * 1024;
const ROUNDS: usize = 5;
const PER_ROUND: usize = 10;

fn main() -> std::io::Result<()> {
    let mut rng = StdRng::seed_from_u64(20);
    for (name, records) in [("random", random(&mut rng)), ("text", text(&mut rng))] {
        let identity = SegmentHeader {
            topic_id: TopicId(ulid::Ulid::from_parts(1, 1)),
            partition: PartitionId(0),
            writer_id: WriterId(ulid::Ulid::from_parts(1, 2)),
            epoch: Epoch(0),
            record_count: 0,
            min_ts: 0,
            max_ts: 0,
        };
        let bytes = segment::encode(&identity, &records, 1)?;
        let encode = best(|| segment::encode(&identity, &records, 1).map(drop))?;
        let decode = best(|| {
            segment::decode(bytes.clone(), "bench")
                .map(drop)
                .map_err(std::io::Error::other)
        })?;
        let payload_mib = (RECORDS * RECORD_BYTES) as f64 / (1024.0 * 1024.0);
        println!(
            "{name:7} {:6.2} MB segment  encode {:7.0} MiB/s  decode {:7.0} MiB/s",
            bytes.len() as f64 / 1e6,
            payload_mib / encode.as_secs_f64(),
            payload_mib / decode.as_secs_f64(),
        );
    }
    Ok(())
}

/// The shortest time one call of `work` took, over `ROUNDS` rounds of `PER_ROUND` calls.
#[allow(clippy::disallowed_methods)] // a benchmark measures wall time
fn best(mut work: impl FnMut() -> std::io::Result<()>) -> std::io::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..ROUNDS {
        let start = std::time::Instant::now();
        for _ in 0..PER_ROUND {
            work()?;
        }
        best = best.min(start.elapsed() / PER_ROUND as u32);
    }
    Ok(best)
}

fn random(rng: &mut StdRng) -> Vec<Record> {
    (0..RECORDS)
        .map(|i| {
            let mut value = vec![0u8; RECORD_BYTES];
            rng.fill(&mut value[..]);
            record(i, value)
        })
        .collect()
}

fn text(rng: &mut StdRng) -> Vec<Record> {
    (0..RECORDS)
        .map(|i| {
            let mut line = String::with_capacity(RECORD_BYTES);
            while line.len() < RECORD_BYTES {
                let (user, ms) = (rng.random_range(0..500), rng.random_range(1..900));
                line.push_str(&format!(
                    "GET /api/v1/users/{user}/orders?page=2 200 {ms}ms agent=curl/8.5 "
                ));
            }
            line.truncate(RECORD_BYTES);
            record(i, line.into_bytes())
        })
        .collect()
}

fn record(i: usize, value: Vec<u8>) -> Record {
    Record {
        timestamp_ms: 1_700_000_000_000 + i as i64,
        value: Some(Bytes::from(value)),
        ..Record::default()
    }
}
