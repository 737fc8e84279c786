//! Every limit in one place (docs/design.md §11). Each is checked at the edge and answered with an
//! [`InvalidInput`](crate::error::InvalidInput) that names the field, the value and the limit.

/// Largest record: key + value + header keys and values, in bytes.
pub const RECORD_BYTES_MAX: usize = 1024 * 1024;
/// Largest batch a producer may append at once, in bytes.
pub const BATCH_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Most headers on one record.
pub const HEADERS_MAX: usize = 64;
/// Longest topic name (Kafka's limit).
pub const TOPIC_NAME_LEN_MAX: usize = 249;
/// Most partitions in a topic.
pub const PARTITIONS_MAX: u32 = 10_000;
/// Largest segment object a reader will accept, in bytes (a corrupt length beyond it is an error).
pub const SEGMENT_BYTES_MAX: u64 = 512 * 1024 * 1024;
/// Largest manifest, index chunk or topic configuration a reader accepts, in bytes. The largest
/// real one (an inline manifest with a full tail and a full graveyard) is well under 2 MiB; a
/// bigger object is damaged or not silt's, and is refused before its body is read.
pub const DOCUMENT_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// Most records in one segment.
pub const SEGMENT_RECORDS_MAX: u32 = 1_000_000;
/// Earliest record timestamp, in ms since the Unix epoch: 0000-01-01T00:00:00Z. Sealing names
/// folders `dt=<yyyy-mm-dd>`, and Parquet tools and Athena read only four-digit years.
pub const TIMESTAMP_MS_MIN: i64 = -62_167_219_200_000;
/// Latest record timestamp, in ms since the Unix epoch: 9999-12-31T23:59:59.999Z.
pub const TIMESTAMP_MS_MAX: i64 = 253_402_300_799_999;
/// Most items in one DynamoDB transaction.
pub const TRANSACTION_ITEMS_MAX: usize = 100;
/// Most segments one commit may add to a manifest in the object store. Writers ask their store
/// ([`ManifestStore::segments_per_commit_max`](crate::store::ManifestStore::segments_per_commit_max))
/// and split a group commit at its limit: uploads keep finishing while a slow commit is in
/// flight, so more than this may be waiting.
pub const OBJECT_SEGMENTS_PER_COMMIT_MAX: usize = 256;
/// Most segments one commit may add to a DynamoDB manifest: a transaction holds at most 100
/// actions, one of them the head update.
pub const DYNAMO_SEGMENTS_PER_COMMIT_MAX: usize = TRANSACTION_ITEMS_MAX - 1;
