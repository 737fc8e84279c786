//! Reads: a batch of records from a position, waiting (long-poll) at the tail when asked.
//!
//! A read that returns every record it fetched parks its cursor in a pool, keyed by where
//! the next read starts. A consumer reading on from there takes it back with the segment it
//! already fetched, rather than fetching the segment again: most reads are sequential. A
//! cursor taken back revalidates its manifest first (a 304 when unchanged), so a topic
//! deleted or re-created by another agent is never served from a parked cursor. The pool holds at most [`POOLED_CURSORS_MAX`] cursors; the oldest
//! parked goes first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_reader::{Consumed, Cursor, ReadError, StartFrom};

use crate::service::{LogService, ServiceError};

/// Cursors kept between reads, across all partitions.
pub const POOLED_CURSORS_MAX: usize = 1024;

/// Where a read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    /// The log start.
    Earliest,
    /// This offset (from the log start to the next offset, inclusive).
    Offset(Offset),
    /// The first record at or after this timestamp (ms since the Unix epoch).
    Timestamp(i64),
    /// This many records before the next offset (from the log start if there are fewer).
    TailOffset(u64),
}

/// One read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRequest {
    /// Where to start.
    pub from: ReadFrom,
    /// Most records to return (at least one is returned when any is there).
    pub max_records: usize,
    /// Most bytes of payload to return (at least one record is returned when any is there).
    pub max_bytes: usize,
    /// How long to wait for records when there are none yet.
    pub wait: Duration,
}

/// What a read returns.
#[derive(Debug, Clone)]
pub struct ReadBatch {
    /// The records, in offset order (a key-compacted topic may skip offsets).
    pub records: Vec<Consumed>,
    /// Where the next read continues.
    pub next_offset: Offset,
    /// The partition's next offset (high watermark) as last seen.
    pub tail: Offset,
    /// The partition's first readable offset as last seen.
    pub log_start_offset: Offset,
}

/// The ends of a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tail {
    /// The first readable offset.
    pub log_start_offset: Offset,
    /// The offset the next record gets.
    pub next_offset: Offset,
}

impl LogService {
    /// Reads a batch from `partition` of `topic`.
    pub async fn read(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        request: ReadRequest,
    ) -> Result<ReadBatch, ServiceError> {
        let mut cursor = self.cursor(topic, partition, request.from).await?;
        let mut records = fill(&mut cursor, &request).await?;
        // A pooled cursor's view of the tail may be old: look again, or take this agent's last
        // commit to it (`Cursor::wait_for_more`), and wait, if asked.
        if records.is_empty() && self.wait_for_more(&mut cursor, request.wait).await? {
            records = fill(&mut cursor, &request).await?;
        }
        let kept = within_bytes(&records, request.max_bytes);
        let truncated = kept < records.len();
        records.truncate(kept);
        let next_offset = match (truncated, records.last()) {
            (true, Some(last)) => last.offset.plus(1),
            _ => cursor.position(),
        };
        let tail = cursor.end_offset();
        let log_start_offset = cursor.log_start_offset();
        if !truncated {
            self.cursors.park(topic, cursor);
        }
        Ok(ReadBatch {
            records,
            next_offset,
            tail,
            log_start_offset,
        })
    }

    /// The partition's log start and next offset, read from its manifest now.
    pub async fn tail(
        &self,
        topic: &TopicName,
        partition: PartitionId,
    ) -> Result<Tail, ServiceError> {
        let reader = self.reader(topic).await?;
        let partition = reader.topic().check_partition(partition)?;
        let snapshot = self.storage.manifests.read(topic, partition).await?;
        Ok(snapshot.map_or(
            Tail {
                log_start_offset: Offset(0),
                next_offset: Offset(0),
            },
            |s| Tail {
                log_start_offset: s.manifest.log_start_offset,
                next_offset: s.manifest.next_offset,
            },
        ))
    }

    /// Refreshes the cursor's view and waits up to `wait` for records past its position;
    /// returns early, with false, when the agent is stopping.
    pub(crate) async fn wait_for_more(
        &self,
        cursor: &mut Cursor,
        wait: Duration,
    ) -> Result<bool, ReadError> {
        tokio::select! {
            more = cursor.wait_for_more(wait) => more,
            () = self.stopped() => Ok(false),
        }
    }

    /// `cursor` taken from the pool, once its manifest view is revalidated (a 304 when
    /// unchanged; nothing while a commit of this agent stands for the look, at most
    /// `OWN_COMMITS_WINDOW` after it, see `Cursor::wait_for_more`): a parked cursor holds
    /// records of a segment it fetched, which must not be served long after the topic was
    /// deleted (or deleted and re-created) by another agent.
    /// `None` when the topic changed (its cached handles are then dropped) or the look
    /// failed: the caller opens a new cursor, which says why.
    async fn revalidated(&self, topic: &TopicName, mut cursor: Cursor) -> Option<Cursor> {
        match cursor.wait_for_more(Duration::ZERO).await {
            Ok(_) => Some(cursor),
            Err(e) => {
                if let ReadError::Store(e) = &e {
                    self.forget_if_stale(topic, e);
                }
                None
            }
        }
    }

    /// A cursor at `from`: one parked there, or a new one.
    pub(crate) async fn cursor(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        from: ReadFrom,
    ) -> Result<Cursor, ServiceError> {
        if let ReadFrom::Offset(o) = from
            && let Some(cursor) = self.cursors.take(topic, partition, o)
            && let Some(cursor) = self.revalidated(topic, cursor).await
        {
            return Ok(cursor);
        }
        let reader = self.reader(topic).await?;
        let start = match from {
            ReadFrom::Earliest => StartFrom::Earliest,
            ReadFrom::Offset(o) => StartFrom::Offset(o),
            ReadFrom::Timestamp(ms) => StartFrom::Timestamp(ms),
            ReadFrom::TailOffset(back) => {
                let tail = self.tail(topic, partition).await?;
                let start = tail.next_offset.0.saturating_sub(back);
                StartFrom::Offset(Offset(start.max(tail.log_start_offset.0)))
            }
        };
        match reader.cursor(partition, start).await {
            // Retention moved the log start between the two reads: start at the new one.
            Err(ReadError::OffsetOutOfRange { .. }) if matches!(from, ReadFrom::TailOffset(_)) => {
                Ok(reader.cursor(partition, StartFrom::Earliest).await?)
            }
            Err(ReadError::Store(e)) => {
                self.forget_if_stale(topic, &e);
                Err(ReadError::Store(e).into())
            }
            other => Ok(other?),
        }
    }
}

/// Reads on across segments until the batch holds `max_records` records or `max_bytes` bytes,
/// or the cursor reaches the tail it knows. Each call asks the cursor for no more than the
/// bytes left, so the cursor stops where the read does and can be parked for the next one;
/// only a read that crosses into another segment may take one record too many (cut by
/// `within_bytes`).
async fn fill(cursor: &mut Cursor, request: &ReadRequest) -> Result<Vec<Consumed>, ReadError> {
    let mut records = Vec::new();
    let mut bytes = 0;
    while records.len() < request.max_records && bytes < request.max_bytes {
        let more = cursor
            .next_batch_within(
                request.max_records - records.len(),
                request.max_bytes - bytes,
            )
            .await?;
        if more.is_empty() {
            break;
        }
        bytes += more.iter().map(|c| c.record.payload_bytes()).sum::<usize>();
        records.extend(more);
    }
    Ok(records)
}

/// How many of `records` fit in `max_bytes` of payload: at least one.
fn within_bytes(records: &[Consumed], max_bytes: usize) -> usize {
    let mut total = 0;
    for (i, c) in records.iter().enumerate() {
        total += c.record.payload_bytes();
        if total > max_bytes && i > 0 {
            return i;
        }
    }
    records.len()
}

/// Cursors parked where their last read ended.
#[derive(Debug, Default)]
pub(crate) struct CursorPool {
    parked: Mutex<Parked>,
}

type PoolKey = (TopicName, PartitionId, Offset);

#[derive(Debug, Default)]
struct Parked {
    cursors: HashMap<PoolKey, Cursor>,
    /// Keys in the order they were parked (some may have been taken since).
    order: VecDeque<PoolKey>,
}

impl CursorPool {
    fn take(&self, topic: &TopicName, partition: PartitionId, at: Offset) -> Option<Cursor> {
        let mut parked = self.parked.lock().ok()?;
        parked.cursors.remove(&(topic.clone(), partition, at))
    }

    fn park(&self, topic: &TopicName, cursor: Cursor) {
        let Ok(mut parked) = self.parked.lock() else {
            return;
        };
        let key = (topic.clone(), cursor.partition(), cursor.position());
        parked.cursors.insert(key.clone(), cursor);
        parked.order.push_back(key);
        while parked.cursors.len() > POOLED_CURSORS_MAX
            || parked.order.len() > 2 * POOLED_CURSORS_MAX
        {
            match parked.order.pop_front() {
                Some(oldest) => {
                    parked.cursors.remove(&oldest);
                }
                None => break,
            }
        }
    }

    pub(crate) fn forget(&self, topic: &TopicName) {
        if let Ok(mut parked) = self.parked.lock() {
            parked.cursors.retain(|(t, _, _), _| t != topic);
            parked.order.retain(|(t, _, _)| t != topic);
        }
    }
}
