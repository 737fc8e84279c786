//! # silt-reader: from offsets to records
//!
//! ```text
//! read(topic, partition, from earliest | latest | offset | timestamp)
//!    manifest view (read once, then revalidated with If-None-Match)
//!    offset → segment entry (asked of the manifest store: chunks + tail, or DynamoDB items)
//!    GET the segment (whole, or footer + one block by range) → decode → records
//!    catching up: the next segments are fetched and decoded meanwhile (read-ahead, bounded)
//!    at the end of the log: long-poll the manifest until it moves
//! ```
//!
//! Reads never LIST (but to tell a deleted manifest from a partition never created). An
//! offset below the log start or past the next offset is [`ReadError::OffsetOutOfRange`],
//! naming the valid range. A segment that vanished (compacted or expired under a reader
//! holding an old manifest) is looked up again in a fresh manifest; one gone while the
//! manifest still lists it is `ObjectMissing`. Every segment is checked against its entry.

mod ahead;
mod cursor;
mod error;
mod fetch;
mod tail;
mod view;

pub use ahead::{AHEAD_BYTES_MAX, AHEAD_BYTES_TOTAL_MAX, AHEAD_SEGMENTS_MAX};
pub use cursor::{Consumed, Cursor};
pub use error::ReadError;
pub use fetch::WHOLE_FETCH_BYTES_MAX;

use std::time::Duration;

use silt_core::cold;
use silt_core::error::Error;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::store::Storage;
use silt_core::topic::TopicConfig;

use crate::view::View;

/// How often a waiting cursor revalidates the manifest.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How long a commit of this process to a partition stands for a look at its manifest, while
/// no other committer was noticed there for [`OTHERS_QUIET`]: a cursor waiting at the tail of
/// a partition this process writes takes each commit's manifest and makes no request while
/// they come at most this far apart. Another process's commit then shows in the next commit
/// of this one (which includes it), at most this late, and from then on the cursor polls.
pub const OWN_COMMITS_WINDOW: Duration = Duration::from_secs(1);

/// How long a cursor polls every [`POLL_INTERVAL`] again, whatever its process commits, after
/// it noticed a commit of another committer (another process, or a job) to its partition.
pub const OTHERS_QUIET: Duration = Duration::from_secs(10);

/// Where a cursor starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// The log start offset.
    Earliest,
    /// The next offset: only records committed from now on.
    Latest,
    /// This offset (between the log start and the next offset).
    Offset(Offset),
    /// The first record whose timestamp is at or after this many ms since the Unix epoch
    /// (the next offset if there is none).
    Timestamp(i64),
}

/// Reads the partitions of one topic.
#[derive(Debug, Clone)]
pub struct Reader {
    storage: Storage,
    topic: TopicConfig,
}

impl Reader {
    /// A reader of `topic`, which must exist.
    pub async fn open(storage: Storage, topic: &TopicName) -> Result<Reader, Error> {
        let topic = storage.topic(topic).await?;
        Ok(Reader { storage, topic })
    }

    /// The topic's configuration.
    pub fn topic(&self) -> &TopicConfig {
        &self.topic
    }

    /// A cursor on `partition` positioned at `from`.
    pub async fn cursor(
        &self,
        partition: PartitionId,
        from: StartFrom,
    ) -> Result<Cursor, ReadError> {
        let partition = self.topic.check_partition(partition)?;
        let mut cursor = Cursor {
            storage: self.storage.clone(),
            topic: self.topic.name.clone(),
            topic_id: self.topic.topic_id,
            partition,
            view: View::new(self.topic.topic_id, partition),
            position: Offset(0),
            loaded: None,
            cold: None,
            ahead: Default::default(),
            poll_interval: POLL_INTERVAL,
        };
        cursor.refresh().await?;
        let m = cursor.view.manifest().clone();
        cursor.position = match from {
            StartFrom::Earliest => m.log_start_offset,
            StartFrom::Latest => m.next_offset,
            StartFrom::Offset(o) if o < m.log_start_offset || o > m.next_offset => {
                return Err(ReadError::OffsetOutOfRange {
                    partition,
                    requested: o,
                    log_start: m.log_start_offset,
                    next: m.next_offset,
                });
            }
            StartFrom::Offset(o) => o,
            StartFrom::Timestamp(ts) => self.offset_for_timestamp(&mut cursor, ts).await?,
        };
        Ok(cursor)
    }

    /// The first offset at or after the log start whose record has a timestamp at or after
    /// `ts`, or the next offset. Segments whose newest record is older are skipped unread;
    /// the first one that may hold a match is scanned block by block, then the next, and so on.
    /// In a cold segment, the timestamp column's page index leads to the one page to read.
    async fn offset_for_timestamp(
        &self,
        cursor: &mut Cursor,
        ts: i64,
    ) -> Result<Offset, ReadError> {
        let m = cursor.view.manifest().clone();
        let mut from = m.log_start_offset;
        while let Some(e) = cursor
            .view
            .first_segment_reaching(&self.storage, &self.topic.name, ts, from)
            .await?
        {
            if e.is_cold() {
                let path = self
                    .storage
                    .keys
                    .segment_object(&self.topic.name, cursor.partition, &e);
                let objects = self.storage.objects.clone();
                // The page index finds it; on any doubt (a vanished file, a hit below the log
                // start) the scan below decides, as for a hot segment.
                let owner = (self.topic.topic_id, cursor.partition);
                if let Ok(Some(hit)) =
                    cold::first_offset_at(objects, &path, e.bytes, owner, ts).await
                    && hit >= from
                {
                    return Ok(hit);
                }
            }
            cursor.position = e.base_offset.max(from);
            while cursor.position < e.end_offset() {
                let left = (e.end_offset().0 - cursor.position.0) as usize;
                let batch = cursor.read_batch(left, usize::MAX, false).await?;
                if let Some(hit) = batch.iter().find(|c| c.record.timestamp_ms >= ts) {
                    return Ok(hit.offset);
                }
                if batch.is_empty() {
                    break;
                }
            }
            from = e.end_offset();
        }
        Ok(m.next_offset)
    }
}
