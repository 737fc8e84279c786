//! How a topic places keyed records on its partitions, a setting fixed when the topic is
//! created: `murmur2` (Kafka's default partitioner, silt's default) or `kinesis-md5` (Amazon
//! Kinesis: the MD5 of the key as a 128-bit hash key, each partition owning an equal
//! contiguous hash-key range, as Kinesis splits a new stream into shards). The writer hashes
//! keys (`silt_writer::Partitioner`); the ranges live here, for the partitioner and for an
//! API that reports them (Kinesis' DescribeStream). Keyless records round-robin either way.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::InvalidInput;
use crate::ids::PartitionId;

/// Which partitioner a topic uses for keyed records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionerKind {
    /// `(murmur2(key) & 0x7fffffff) % partitions`, exactly as Kafka's default partitioner.
    #[default]
    Murmur2,
    /// MD5 of the key as a big-endian 128-bit hash key; the partition whose
    /// [`hash_key_range`] holds it, exactly as Kinesis places a partition key.
    KinesisMd5,
}

impl PartitionerKind {
    /// Every kind, as spelled in settings.
    pub const NAMES: [&'static str; 2] = ["murmur2", "kinesis-md5"];

    /// The name used in `topic.json`, the CLI and the HTTP API.
    pub fn as_str(self) -> &'static str {
        match self {
            PartitionerKind::Murmur2 => "murmur2",
            PartitionerKind::KinesisMd5 => "kinesis-md5",
        }
    }

    /// True for the default (`topic.json` then leaves the field out, as before it existed).
    pub fn is_default(&self) -> bool {
        *self == PartitionerKind::default()
    }
}

impl fmt::Display for PartitionerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PartitionerKind {
    type Err = InvalidInput;

    fn from_str(s: &str) -> Result<Self, InvalidInput> {
        match s {
            "murmur2" => Ok(PartitionerKind::Murmur2),
            "kinesis-md5" => Ok(PartitionerKind::KinesisMd5),
            _ => Err(InvalidInput::Setting {
                field: "partitioner",
                value: format!("{s:?}"),
                rule: "must be \"murmur2\" or \"kinesis-md5\"",
            }),
        }
    }
}

/// The hash keys (inclusive) partition `partition` of a `kinesis-md5` topic of `partitions`
/// partitions owns: Kinesis' even split of a new stream, bit for bit. With
/// `step = 2^128 / partitions` (rounded down), partition `i` owns `i * step ..= (i+1) * step - 1`
/// and the last one also the remainder, up to `2^128 - 1`. `None` for a partition the topic
/// does not have.
pub fn hash_key_range(partition: PartitionId, partitions: u32) -> Option<(u128, u128)> {
    if partition.0 >= partitions {
        return None;
    }
    let step = hash_key_step(partitions);
    let start = u128::from(partition.0) * step;
    let end = match partition.0 + 1 == partitions {
        true => u128::MAX,
        false => start + step - 1,
    };
    Some((start, end))
}

/// The partition of a `kinesis-md5` topic of `partitions` partitions that owns `hash_key`
/// (an MD5 of a key, or a Kinesis `ExplicitHashKey`).
pub fn partition_for_hash_key(hash_key: u128, partitions: u32) -> PartitionId {
    let partitions = partitions.max(1);
    let index = (hash_key / hash_key_step(partitions)).min(u128::from(partitions - 1));
    // Below `partitions`, a u32, by the `min` above.
    PartitionId(u32::try_from(index).unwrap_or(partitions - 1))
}

/// `floor(2^128 / partitions)`, computed without overflowing: `(2^128 - 1) / n` is the same
/// unless `n` divides `2^128` (a power of two), where it is one less.
fn hash_key_step(partitions: u32) -> u128 {
    let n = u128::from(partitions.max(1));
    match n.is_power_of_two() {
        true if n == 1 => u128::MAX, // one partition owns everything; `start + step - 1` unused
        true => 1u128 << (128 - n.trailing_zeros()),
        false => u128::MAX / n,
    }
}

/// Parses a hash key as Kinesis spells it (`ExplicitHashKey`): a decimal from 0 to
/// 2^128 - 1, without sign, spaces or leading zeros.
pub fn parse_hash_key(text: &str) -> Result<u128, InvalidInput> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let canonical = text == "0" || !text.starts_with('0');
    match text.parse::<u128>() {
        Ok(key) if digits && canonical => Ok(key),
        _ => Err(InvalidInput::HashKey {
            value: text.chars().take(64).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ranges of moto's `Stream.init_shards` (`step = 2**128 // n`, the last shard ends at
    /// `2**128 - 1`), printed by moto itself for streams of 1, 3, 4 and 7 shards.
    const RANGES: [(u32, &[(u128, u128)]); 4] = [
        (1, &[(0, 340282366920938463463374607431768211455)]),
        (
            3,
            &[
                (0, 113427455640312821154458202477256070484),
                (
                    113427455640312821154458202477256070485,
                    226854911280625642308916404954512140969,
                ),
                (
                    226854911280625642308916404954512140970,
                    340282366920938463463374607431768211455,
                ),
            ],
        ),
        (
            4,
            &[
                (0, 85070591730234615865843651857942052863),
                (
                    85070591730234615865843651857942052864,
                    170141183460469231731687303715884105727,
                ),
                (
                    170141183460469231731687303715884105728,
                    255211775190703847597530955573826158591,
                ),
                (
                    255211775190703847597530955573826158592,
                    340282366920938463463374607431768211455,
                ),
            ],
        ),
        (
            7,
            &[
                (0, 48611766702991209066196372490252601635),
                (
                    48611766702991209066196372490252601636,
                    97223533405982418132392744980505203271,
                ),
                (
                    97223533405982418132392744980505203272,
                    145835300108973627198589117470757804907,
                ),
                (
                    145835300108973627198589117470757804908,
                    194447066811964836264785489961010406543,
                ),
                (
                    194447066811964836264785489961010406544,
                    243058833514956045330981862451263008179,
                ),
                (
                    243058833514956045330981862451263008180,
                    291670600217947254397178234941515609815,
                ),
                (
                    291670600217947254397178234941515609816,
                    340282366920938463463374607431768211455,
                ),
            ],
        ),
    ];

    #[test]
    fn ranges_are_those_kinesis_reports_for_a_new_stream() {
        for (n, expected) in RANGES {
            let ranges: Vec<_> = (0..n)
                .map(|p| hash_key_range(PartitionId(p), n).unwrap())
                .collect();
            assert_eq!(ranges, expected, "{n} partitions");
            for (p, (start, end)) in ranges.into_iter().enumerate() {
                assert_eq!(partition_for_hash_key(start, n), PartitionId(p as u32));
                assert_eq!(partition_for_hash_key(end, n), PartitionId(p as u32));
            }
        }
        assert_eq!(hash_key_range(PartitionId(3), 3), None);
    }

    #[test]
    fn ranges_cover_every_hash_key_once() {
        for n in [1, 2, 5, 8, 9, 1000, 10_000, u32::MAX] {
            let first = hash_key_range(PartitionId(0), n).unwrap();
            let last = hash_key_range(PartitionId(n - 1), n).unwrap();
            assert_eq!(first.0, 0, "{n}");
            assert_eq!(last.1, u128::MAX, "{n}");
            let (_, end) = first;
            if n > 1 {
                let (next, _) = hash_key_range(PartitionId(1), n).unwrap();
                assert_eq!(next, end + 1, "{n}");
                assert_eq!(partition_for_hash_key(end + 1, n), PartitionId(1));
            }
            assert_eq!(partition_for_hash_key(u128::MAX, n), PartitionId(n - 1));
        }
    }

    #[test]
    fn hash_keys_parse_as_kinesis_spells_them() {
        assert_eq!(parse_hash_key("0"), Ok(0));
        assert_eq!(parse_hash_key("42"), Ok(42));
        assert_eq!(
            parse_hash_key("340282366920938463463374607431768211455"),
            Ok(u128::MAX)
        );
        for bad in [
            "",
            "340282366920938463463374607431768211456",
            "-1",
            "+1",
            " 1",
            "01",
            "1e3",
            "0x10",
        ] {
            assert!(
                matches!(parse_hash_key(bad), Err(InvalidInput::HashKey { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn kinds_are_spelled_as_in_settings() {
        for name in PartitionerKind::NAMES {
            let kind: PartitionerKind = name.parse().unwrap();
            assert_eq!(kind.to_string(), name);
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
        }
        assert!("md5".parse::<PartitionerKind>().is_err());
        assert!(PartitionerKind::Murmur2.is_default());
    }
}
