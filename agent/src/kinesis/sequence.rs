//! Kinesis names for silt positions: a shard is a partition (`shardId-000000000003` is
//! partition 3), and a sequence number is a partition and an offset.
//!
//! A sequence number is 31 decimal digits: `4`, the partition in 10 digits, the offset in 20
//! (`4` + `0000000003` + `00000000000000000042` is offset 42 of partition 3). The fixed
//! width makes string order, numeric order and offset order agree within a shard; the leading
//! `4` keeps it a number without leading zeros, as the SDKs' pattern for sequence numbers
//! (`0|[1-9]\d{0,128}`) requires; the partition lets a sequence number of another shard be
//! refused rather than misread.

use silt_core::ids::{Offset, PartitionId};

/// Digits of a sequence number.
const SEQUENCE_DIGITS: usize = 31;

/// `shardId-` and twelve digits, as Kinesis names its shards.
pub(crate) fn shard_id(partition: PartitionId) -> String {
    format!("shardId-{:012}", partition.0)
}

/// The partition a shard id names, if it is one (`shardId-` and digits; Kinesis also accepts
/// the bare number).
pub(crate) fn parse_shard_id(text: &str) -> Option<PartitionId> {
    let digits = text.strip_prefix("shardId-").unwrap_or(text);
    match !digits.is_empty() && digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit()) {
        true => digits.parse().ok().map(PartitionId),
        false => None,
    }
}

/// The sequence number of `offset` in `partition`.
pub(crate) fn sequence_number(partition: PartitionId, offset: Offset) -> String {
    format!("4{:010}{:020}", partition.0, offset.0)
}

/// The partition and offset a sequence number names, if it is one of silt's.
pub(crate) fn parse_sequence_number(text: &str) -> Option<(PartitionId, Offset)> {
    if text.len() != SEQUENCE_DIGITS
        || !text.starts_with('4')
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let partition = text[1..11].parse().ok()?;
    let offset = text[11..].parse().ok()?;
    Some((PartitionId(partition), Offset(offset)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_round_trip_and_sort_as_offsets() {
        let numbers: Vec<String> = [0, 9, 10, 42, u64::MAX]
            .into_iter()
            .map(|o| sequence_number(PartitionId(3), Offset(o)))
            .collect();
        for (n, o) in numbers.iter().zip([0, 9, 10, 42, u64::MAX]) {
            assert_eq!(n.len(), SEQUENCE_DIGITS);
            assert_eq!(parse_sequence_number(n), Some((PartitionId(3), Offset(o))));
        }
        assert!(numbers.windows(2).all(|w| w[0] < w[1]));
        let top = sequence_number(PartitionId(u32::MAX), Offset(u64::MAX));
        assert_eq!(
            parse_sequence_number(&top),
            Some((PartitionId(u32::MAX), Offset(u64::MAX)))
        );
    }

    #[test]
    fn foreign_sequence_numbers_are_refused() {
        for bad in [
            "",
            "0",
            "42",
            "5000000000300000000000000000042",
            "4x",
            &"4".repeat(32),
        ] {
            assert_eq!(parse_sequence_number(bad), None, "{bad}");
        }
        // A 20-digit offset above u64::MAX.
        assert_eq!(
            parse_sequence_number("4000000000099999999999999999999"),
            None
        );
    }

    #[test]
    fn shard_ids_name_partitions() {
        assert_eq!(shard_id(PartitionId(7)), "shardId-000000000007");
        assert_eq!(parse_shard_id("shardId-000000000007"), Some(PartitionId(7)));
        assert_eq!(parse_shard_id("7"), Some(PartitionId(7)));
        for bad in [
            "shardId-",
            "shardId-x",
            "shard-1",
            "shardId-0000000000001",
            "-1",
        ] {
            assert_eq!(parse_shard_id(bad), None, "{bad}");
        }
    }
}
