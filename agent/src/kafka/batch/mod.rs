//! Kafka record batches (format v2, "magic 2"): produced batches are decoded into silt
//! records ([`decode`]); fetched records are encoded back into batches ([`encode`]).
//!
//! ```text
//! base_offset i64 | batch_length i32 | partition_leader_epoch i32 | magic i8 (2) | crc u32
//! | attributes i16 | last_offset_delta i32 | base_timestamp i64 | max_timestamp i64
//! | producer_id i64 | producer_epoch i16 | base_sequence i32 | record_count i32 | records…
//! record: length varint | attributes i8 | timestamp_delta varlong | offset_delta varint
//!         | key (varint length, -1 = null) | value (likewise) | header count varint
//!         | headers (key: varint length + UTF-8, value: varint length + bytes)
//! ```
//!
//! `batch_length` counts from `partition_leader_epoch` to the end; the CRC-32C covers from
//! `attributes` to the end; the low 3 bits of `attributes` name the codec of the records part.
//! This codec is our own (rather than kafka-protocol's) so that duplicate header keys survive,
//! decompression is bounded, and no count read from the wire sizes an allocation.

mod decode;
mod decompress;
mod encode;
mod varint;

#[cfg(test)]
use decode::BatchError;
pub(crate) use decode::{ProducedBatch, decode_batches};
pub(crate) use encode::encode_batch;

/// Bytes of a batch before its records.
const HEADER_BYTES: usize = 61;
/// Bytes before `partition_leader_epoch` (base offset and batch length).
const LOG_OVERHEAD: usize = 12;
/// Where the CRC-covered part starts (the attributes), from the batch's first byte.
const CRC_START: usize = 21;
/// The only batch format served.
const MAGIC: i8 = 2;
/// Attribute bits.
const CODEC_MASK: i16 = 0x07;
const TRANSACTIONAL: i16 = 1 << 4;
const CONTROL: i16 = 1 << 5;
/// The smallest encoded record (every field one byte): bounds a batch's record count.
const RECORD_BYTES_MIN: usize = 7;

#[cfg(test)]
mod tests;
