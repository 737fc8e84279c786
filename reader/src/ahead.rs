//! Read-ahead for a cursor catching up: while the cursor hands out the records of one segment,
//! the next whole hot segments are fetched, checked and decoded on tasks of their own (the
//! decoding on the blocking pool), so fetching and decoding overlap instead of alternating.
//!
//! Bounded: at most [`AHEAD_SEGMENTS_MAX`] segments and [`AHEAD_BYTES_MAX`] bytes of objects
//! ahead per cursor (one segment, whatever its size, when the process-wide
//! [`AHEAD_BYTES_TOTAL_MAX`] allows it; a segment counts there as at least 1 MiB, which
//! bounds the GETs in flight too). Only segments the manifest as last seen
//! already lists are fetched, so a cursor at the tail prefetches nothing and makes no request
//! more per poll; a cold (Parquet) segment stops the read-ahead (the cursor reads it itself,
//! a page run at a time, and the hot segment after it; read-ahead resumes from there). A prefetched segment is used only for the entry it was fetched for;
//! a failed one is dropped, and the cursor fetches that segment itself, so errors are reported
//! (and vanished segments retried) exactly as without read-ahead. Dropping the cursor aborts
//! what is still in flight.

use std::collections::VecDeque;

use silt_core::error::Result;
use silt_core::ids::{Offset, PartitionId, TopicId, TopicName};
use silt_core::manifest::SegmentEntry;
use silt_core::store::Storage;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::task::JoinHandle;

use crate::fetch::{Fetched, fetch};

/// Most segments fetched ahead of the one being read. Large segments meet [`AHEAD_BYTES_MAX`]
/// first (four of 8 MiB); small ones (young ranges of mixed objects, segments of a slow
/// partition) need many GETs in flight to read at more than a few MiB/s.
pub const AHEAD_SEGMENTS_MAX: usize = 32;
/// Most bytes of segment objects fetched ahead (at least one segment is, whatever its size).
pub const AHEAD_BYTES_MAX: u64 = 32 * 1024 * 1024;
/// Most bytes of segment objects fetched ahead by all the cursors of the process together:
/// cursors kept idle (the agent pools up to a thousand) cannot hold a segment each beyond it.
/// Past it, cursors read as they go.
pub const AHEAD_BYTES_TOTAL_MAX: u64 = 256 * 1024 * 1024;

/// What a segment fetched ahead takes of the process-wide budget at least, so the budget also
/// bounds the GETs in flight: at most 256 for the whole process, however small the segments.
const AHEAD_CHARGE_MIN_KIB: u64 = 1024;

/// The process-wide budget, in KiB.
static AHEAD_BUDGET_KIB: Semaphore = Semaphore::const_new((AHEAD_BYTES_TOTAL_MAX / 1024) as usize);

/// Where the segments fetched belong.
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    pub(crate) storage: Storage,
    pub(crate) topic: TopicName,
    pub(crate) topic_id: TopicId,
    pub(crate) partition: PartitionId,
}

/// One segment being fetched ahead.
#[derive(Debug)]
struct Pending {
    entry: SegmentEntry,
    task: JoinHandle<Result<Fetched>>,
    /// Its share of the process-wide budget, given back when it is used or dropped.
    _budget: SemaphorePermit<'static>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The segments fetched ahead of a cursor, in offset order.
#[derive(Debug, Default)]
pub(crate) struct ReadAhead {
    pending: VecDeque<Pending>,
    /// The segment after the last one pending, looked up but not fetched for lack of room
    /// (kept, so a lookup that costs a request is not repeated).
    waiting: Option<SegmentEntry>,
}

impl ReadAhead {
    /// The records of the segment holding `position`, if it was fetched ahead and the fetch
    /// succeeded. Segments before it are dropped; so is everything when none holds it.
    pub(crate) async fn take(&mut self, position: Offset) -> Option<Fetched> {
        while let Some(front) = self.pending.front() {
            if front.entry.end_offset() > position {
                break;
            }
            self.pending.pop_front();
        }
        let front = self.pending.front()?;
        if front.entry.base_offset > position {
            self.clear();
            return None;
        }
        let mut pending = self.pending.pop_front()?;
        match (&mut pending.task).await {
            Ok(Ok(fetched)) if fetched.first <= position && position < fetched.end => Some(fetched),
            _ => None,
        }
    }

    /// Where the next segment to fetch ahead starts: after the last one fetched, or `after`.
    pub(crate) fn next_start(&self, after: Offset) -> Offset {
        self.pending
            .back()
            .map_or(after, |p| p.entry.end_offset().max(after))
    }

    /// The segment looked up before but not fetched yet, if it starts at `start`.
    pub(crate) fn waiting_at(&mut self, start: Offset) -> Option<SegmentEntry> {
        self.waiting.take().filter(|e| e.base_offset == start)
    }

    /// Starts fetching the whole hot segment `entry` if it fits in the bounds; otherwise keeps
    /// it for later and returns false.
    pub(crate) fn start(&mut self, owner: &Owner, entry: SegmentEntry) -> bool {
        let ahead: u64 = self.pending.iter().map(|p| p.entry.bytes).sum();
        let room = self.pending.is_empty()
            || (self.pending.len() < AHEAD_SEGMENTS_MAX
                && ahead.saturating_add(entry.bytes) <= AHEAD_BYTES_MAX);
        let kib = entry.bytes.div_ceil(1024).max(AHEAD_CHARGE_MIN_KIB);
        let kib = u32::try_from(kib).unwrap_or(u32::MAX);
        let budget = room.then(|| AHEAD_BUDGET_KIB.try_acquire_many(kib).ok());
        let Some(Some(budget)) = budget else {
            self.waiting = Some(entry);
            return false;
        };
        let owner = owner.clone();
        let wanted = entry;
        let task = tokio::spawn(async move {
            let (storage, topic) = (&owner.storage, &owner.topic);
            let (id, p) = (owner.topic_id, owner.partition);
            fetch(storage, topic, id, p, &wanted, wanted.base_offset).await
        });
        self.pending.push_back(Pending {
            entry,
            task,
            _budget: budget,
        });
        true
    }

    /// Drops everything fetched ahead (the cursor moved elsewhere).
    pub(crate) fn clear(&mut self) {
        self.pending.clear();
        self.waiting = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use object_store::memory::InMemory;
    use object_store::path::Path;
    use silt_core::ids::ObjectId;

    use super::*;

    fn entry(base: u64, bytes: u64) -> SegmentEntry {
        SegmentEntry {
            id: ObjectId(ulid::Ulid::from_parts(base, 1)),
            base_offset: Offset(base),
            records: 10,
            bytes,
            min_ts: 0,
            max_ts: 0,
            cold_day: None,
            mixed_at: None,
        }
    }

    fn owner() -> Owner {
        let storage = Storage::over(Arc::new(InMemory::new()), Path::default(), "memory://");
        Owner {
            storage,
            topic: TopicName::new("t").unwrap(),
            topic_id: TopicId(ulid::Ulid::from_parts(1, 1)),
            partition: PartitionId(0),
        }
    }

    #[tokio::test]
    async fn at_most_so_many_segments_are_fetched_ahead() {
        let (owner, mut ahead) = (owner(), ReadAhead::default());
        let mut base = 0;
        while ahead.start(&owner, entry(base, 1024)) {
            base += 10;
        }
        assert_eq!(ahead.pending.len(), AHEAD_SEGMENTS_MAX);
        assert_eq!(ahead.next_start(Offset(0)).0, base, "after the last one");
        // The one left out is kept for later, not looked up again.
        assert_eq!(
            ahead.waiting_at(Offset(base)).map(|e| e.base_offset.0),
            Some(base)
        );
    }

    #[tokio::test]
    async fn at_most_so_many_bytes_are_fetched_ahead_but_always_one_segment() {
        let (owner, mut ahead) = (owner(), ReadAhead::default());
        let big = AHEAD_BYTES_MAX * 2;
        assert!(ahead.start(&owner, entry(0, big)), "one, however large");
        assert!(!ahead.start(&owner, entry(10, 1)));
        ahead.clear();
        let third = AHEAD_BYTES_MAX / 3;
        assert!(ahead.start(&owner, entry(0, third)));
        assert!(ahead.start(&owner, entry(10, third)));
        assert!(ahead.start(&owner, entry(20, third)));
        assert!(!ahead.start(&owner, entry(30, third)), "over the bytes");
        assert_eq!(ahead.pending.len(), 3);
    }

    #[tokio::test]
    async fn a_position_outside_what_was_fetched_drops_it_all() {
        let (owner, mut ahead) = (owner(), ReadAhead::default());
        assert!(ahead.start(&owner, entry(10, 1)));
        assert!(ahead.start(&owner, entry(20, 1)));
        // The cursor went back before them: nothing to use, and all dropped.
        assert!(ahead.take(Offset(5)).await.is_none());
        assert!(ahead.pending.is_empty());
        assert_eq!(ahead.next_start(Offset(5)), Offset(5));
    }
}
