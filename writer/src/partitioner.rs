//! Which partition a record goes to, by the topic's partitioner (docs/design.md §4): keyed
//! records by `murmur2(key) & 0x7fffffff % partitions`, exactly as Kafka's default partitioner
//! (the default), or by the MD5 of the key as Kinesis places a partition key (`kinesis-md5`);
//! keyless records round-robin.

use std::sync::atomic::{AtomicU32, Ordering};

use md5::{Digest, Md5};
use silt_core::ids::PartitionId;
use silt_core::topic::{PartitionerKind, partition_for_hash_key};

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

/// Kinesis' hash key of a partition key: its MD5 as a big-endian 128-bit number.
pub fn kinesis_hash_key(key: &[u8]) -> u128 {
    u128::from_be_bytes(Md5::digest(key).into())
}

/// Chooses partitions for records without an explicit one.
#[derive(Debug, Default)]
pub struct Partitioner {
    next: AtomicU32,
}

impl Partitioner {
    /// The partition for a record with `key` in a topic of `partitions` partitions whose
    /// partitioner is `kind`.
    pub fn choose(
        &self,
        kind: PartitionerKind,
        key: Option<&[u8]>,
        partitions: u32,
    ) -> PartitionId {
        let partitions = partitions.max(1);
        match (key, kind) {
            (Some(key), PartitionerKind::Murmur2) => {
                PartitionId((murmur2(key) & 0x7fff_ffff) % partitions)
            }
            (Some(key), PartitionerKind::KinesisMd5) => {
                partition_for_hash_key(kinesis_hash_key(key), partitions)
            }
            (None, _) => PartitionId(self.next.fetch_add(1, Ordering::Relaxed) % partitions),
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
            p.choose(PartitionerKind::Murmur2, Some(b"foobar"), 10),
            PartitionId(((-790332482i32 as u32) & 0x7fff_ffff) % 10)
        );
    }

    #[test]
    fn keyless_records_spread() {
        let p = Partitioner::default();
        for kind in [PartitionerKind::Murmur2, PartitionerKind::KinesisMd5] {
            let chosen: Vec<u32> = (0..6).map(|_| p.choose(kind, None, 3).0).collect();
            assert_eq!(chosen, vec![0, 1, 2, 0, 1, 2], "{kind}");
        }
    }

    /// `(key, int(hashlib.md5(key.encode()).hexdigest(), 16), shard for 1, 3, 4, 7 shards)`,
    /// computed with Python's hashlib and checked against moto's `get_shard_for_key`.
    const KINESIS_CASES: [(&str, u128, [u32; 4]); 6] = [
        ("a", 16955237001963240173058271559858726497, [0, 0, 0, 0]),
        ("key", 80325066489831061459460196859901989661, [0, 0, 0, 1]),
        (
            "user-42",
            157107139746365290205026809710278036035,
            [0, 1, 1, 3],
        ),
        (
            "alice",
            132283552702735894323332391932430538300,
            [0, 1, 1, 2],
        ),
        (
            "shard-me",
            309371059294665212518213835291200462465,
            [0, 2, 3, 6],
        ),
        (
            "h\u{e9}llo",
            252973414135665226741597071662034525008,
            [0, 2, 2, 5],
        ),
    ];

    #[test]
    fn kinesis_md5_places_keys_as_kinesis_does() {
        let p = Partitioner::default();
        for (key, hash_key, shards) in KINESIS_CASES {
            assert_eq!(kinesis_hash_key(key.as_bytes()), hash_key, "{key}");
            for (n, shard) in [1, 3, 4, 7].into_iter().zip(shards) {
                let chosen = p.choose(PartitionerKind::KinesisMd5, Some(key.as_bytes()), n);
                assert_eq!(chosen, PartitionId(shard), "{key} of {n} shards");
            }
        }
    }
}
