//! Segments this process just uploaded, kept in memory for the cursors of the same process
//! reading at the tail (docs/design.md §7). An agent that serves the producers and the
//! consumers of a partition then hands the newest records over without a GET: no request to
//! pay for, and no second trip of every byte through the store while it is busy taking PUTs.
//!
//! Only a shortcut. Segments are immutable and object ids never reused, so a cached segment is
//! never stale; what a cursor reads still comes from the manifest it revalidates, and a miss
//! reads the store as before. The cache is bounded by bytes, oldest segment out first (the
//! tail is what readers ask for), and empty by default: a program that serves tails (the
//! agent, `silt bench`) gives it a budget with [`Storage::with_tail_cache`].

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use object_store::path::Path;

use super::{SegmentLocation, Storage};
use crate::ids::TopicName;
use crate::metrics;

/// The budget the agent and `silt bench` give their tail cache unless told otherwise: eight
/// 8 MiB segments, or many more small ones of many partitions.
pub const TAIL_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Recently uploaded segments by location; cheap to clone (clones share the segments). The
/// budget counts segment bytes; a segment's buffer may be up to twice its length (the encoder
/// keeps a buffer it did not fill by more than half).
#[derive(Clone, Default)]
pub struct TailCache {
    inner: Arc<Mutex<Fifo>>,
}

#[derive(Default)]
struct Fifo {
    budget_bytes: u64,
    bytes: u64,
    segments: HashMap<(Path, u64), Bytes>,
    /// Keys in the order they came, oldest first.
    order: VecDeque<(Path, u64)>,
}

impl Storage {
    /// The same storage keeping up to `budget_bytes` of the segments its writers upload for
    /// its cursors (`TAIL_CACHE_BYTES` is the agent's default; 0 keeps none).
    pub fn with_tail_cache(mut self, budget_bytes: u64) -> Storage {
        self.tail_cache = TailCache::new(budget_bytes);
        self
    }
}

impl fmt::Debug for TailCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fifo = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("TailCache")
            .field("budget_bytes", &fifo.budget_bytes)
            .field("bytes", &fifo.bytes)
            .field("segments", &fifo.segments.len())
            .finish()
    }
}

impl TailCache {
    /// A cache holding at most `budget_bytes` of segments (0: holds nothing).
    pub fn new(budget_bytes: u64) -> TailCache {
        let fifo = Fifo {
            budget_bytes,
            ..Fifo::default()
        };
        TailCache {
            inner: Arc::new(Mutex::new(fifo)),
        }
    }

    /// Keeps `bytes`, the segment just stored at `at`, dropping the oldest segments to stay
    /// within the budget. A segment larger than the whole budget is not kept.
    pub fn insert(&self, at: &SegmentLocation, bytes: Bytes) {
        let mut fifo = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let size = bytes.len() as u64;
        let key = (at.path.clone(), at.start);
        if size > fifo.budget_bytes || fifo.segments.contains_key(&key) {
            return;
        }
        while fifo.bytes + size > fifo.budget_bytes {
            let Some(oldest) = fifo.order.pop_front() else {
                break;
            };
            if let Some(dropped) = fifo.segments.remove(&oldest) {
                fifo.bytes -= dropped.len() as u64;
            }
        }
        fifo.order.push_back(key.clone());
        fifo.segments.insert(key, bytes);
        fifo.bytes += size;
    }

    /// The segment of `topic` at `at`, whole, if it is held (and as long as its entry says).
    pub fn get(&self, topic: &TopicName, at: &SegmentLocation) -> Option<Bytes> {
        let fifo = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if fifo.budget_bytes == 0 {
            return None;
        }
        let key = (at.path.clone(), at.start);
        let held = fifo.segments.get(&key).filter(|b| b.len() as u64 == at.len);
        metrics::tail_cache_read(topic, held.is_some());
        held.cloned()
    }

    /// Bytes held now.
    #[cfg(test)]
    fn bytes(&self) -> u64 {
        self.inner.lock().map_or(0, |f| f.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(name: &str, start: u64, len: u64) -> SegmentLocation {
        SegmentLocation {
            path: Path::from(name),
            start,
            len,
            whole: start == 0,
        }
    }

    fn topic() -> TopicName {
        TopicName::new("t").unwrap()
    }

    fn bytes(n: usize) -> Bytes {
        Bytes::from(vec![7u8; n])
    }

    #[test]
    fn keeps_the_newest_segments_within_its_budget() {
        let cache = TailCache::new(250);
        for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
            cache.insert(&at(name, 0, 100), bytes(100));
            assert!(cache.bytes() <= 250, "after {i}: {}", cache.bytes());
        }
        assert!(
            cache.get(&topic(), &at("a", 0, 100)).is_none(),
            "the oldest went"
        );
        assert_eq!(cache.get(&topic(), &at("b", 0, 100)), Some(bytes(100)));
        assert_eq!(cache.get(&topic(), &at("c", 0, 100)), Some(bytes(100)));
        assert_eq!(cache.bytes(), 200);
    }

    #[test]
    fn ranges_of_one_object_are_told_apart_and_checked_against_their_entry() {
        let cache = TailCache::new(1000);
        cache.insert(&at("m", 0, 10), Bytes::from_static(b"0123456789"));
        cache.insert(&at("m", 10, 3), Bytes::from_static(b"abc"));
        let second = cache.get(&topic(), &at("m", 10, 3));
        assert_eq!(second.as_deref(), Some(&b"abc"[..]));
        assert!(
            cache.get(&topic(), &at("m", 10, 4)).is_none(),
            "another length: no"
        );
        assert!(cache.get(&topic(), &at("m", 5, 3)).is_none());
    }

    #[test]
    fn an_empty_budget_or_a_segment_over_it_keeps_nothing() {
        let off = TailCache::default();
        off.insert(&at("a", 0, 1), bytes(1));
        assert!(off.get(&topic(), &at("a", 0, 1)).is_none());
        let small = TailCache::new(99);
        small.insert(&at("a", 0, 100), bytes(100));
        assert_eq!(small.bytes(), 0);
    }
}
