//! Which partition a record goes to: keyed records by `murmur2(key) & 0x7fffffff % partitions`,
//! exactly as Kafka's default partitioner, so users can migrate; keyless records round-robin.

use std::sync::atomic::{AtomicU32, Ordering};

use silt_core::ids::PartitionId;

/// Kafka's murmur2 (the Java client's `Utils.murmur2`), seed `0x9747b28c`.
pub fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

/// Chooses partitions for records without an explicit one.
#[derive(Debug, Default)]
pub struct Partitioner {
    next: AtomicU32,
}

impl Partitioner {
    /// The partition for a record with `key` in a topic of `partitions` partitions.
    pub fn choose(&self, key: Option<&[u8]>, partitions: u32) -> PartitionId {
        match key {
            Some(key) => PartitionId((murmur2(key) & 0x7fff_ffff) % partitions),
            None => PartitionId(self.next.fetch_add(1, Ordering::Relaxed) % partitions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_kafka_default_partitioner() {
        // Values from Kafka's UtilsTest.testMurmur2 (as signed Java ints).
        let cases: [(&[u8], i32); 4] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
        ];
        for (input, expected) in cases {
            assert_eq!(
                murmur2(input) as i32,
                expected,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        let p = Partitioner::default();
        assert_eq!(
            p.choose(Some(b"foobar"), 10),
            PartitionId(((-790332482i32 as u32) & 0x7fff_ffff) % 10)
        );
    }

    #[test]
    fn keyless_records_spread() {
        let p = Partitioner::default();
        let chosen: Vec<u32> = (0..6).map(|_| p.choose(None, 3).0).collect();
        assert_eq!(chosen, vec![0, 1, 2, 0, 1, 2]);
    }
}
