//! The object manifest store's cache of index chunks (immutable, so never stale), bounded by
//! bytes: the least recently used chunks go first once the cache holds more than its budget,
//! so a reader or a job walking a long log keeps a steady footprint (a Lambda has 512 MB).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::ids::ObjectId;
use crate::manifest::SegmentEntry;

/// Default budget of a chunk cache: about 5 000 chunks of 192 entries, the index of a million
/// segments.
pub const CHUNK_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Bytes a cached chunk costs besides its entries (map slots, the `Arc`, the vector).
const CHUNK_OVERHEAD_BYTES: u64 = 128;

/// Index chunks already read, by id, least recently used first out.
#[derive(Debug)]
pub(super) struct ChunkCache {
    budget_bytes: u64,
    lru: Mutex<Lru>,
}

#[derive(Debug, Default)]
struct Lru {
    /// Each chunk with its size and its last use.
    chunks: HashMap<ObjectId, (Arc<Vec<SegmentEntry>>, u64, u64)>,
    /// Chunk ids by last use, oldest first.
    by_use: BTreeMap<u64, ObjectId>,
    /// Sum of the sizes held.
    bytes: u64,
    /// Uses so far: a clock that only orders uses.
    uses: u64,
}

impl Default for ChunkCache {
    fn default() -> Self {
        ChunkCache::new(CHUNK_CACHE_BYTES)
    }
}

impl ChunkCache {
    /// A cache holding at most about `budget_bytes` of entries (0: caches nothing).
    pub(super) fn new(budget_bytes: u64) -> ChunkCache {
        ChunkCache {
            budget_bytes,
            lru: Mutex::default(),
        }
    }

    /// The chunk `id`, if cached; marks it used.
    pub(super) fn get(&self, id: ObjectId) -> Option<Arc<Vec<SegmentEntry>>> {
        let mut lru = self.lru.lock().ok()?;
        let lru = &mut *lru;
        let (entries, _, used) = lru.chunks.get_mut(&id)?;
        lru.by_use.remove(used);
        lru.uses += 1;
        *used = lru.uses;
        lru.by_use.insert(lru.uses, id);
        Some(entries.clone())
    }

    /// Caches chunk `id`, dropping the least recently used ones to stay within the budget. A
    /// chunk larger than the whole budget is not cached.
    pub(super) fn insert(&self, id: ObjectId, entries: Arc<Vec<SegmentEntry>>) {
        let size = cost(&entries);
        let Ok(mut lru) = self.lru.lock() else {
            return;
        };
        if size > self.budget_bytes || lru.chunks.contains_key(&id) {
            return;
        }
        while lru.bytes + size > self.budget_bytes {
            let Some((_, oldest)) = lru.by_use.pop_first() else {
                break;
            };
            if let Some((_, freed, _)) = lru.chunks.remove(&oldest) {
                lru.bytes -= freed;
            }
        }
        lru.uses += 1;
        let used = lru.uses;
        lru.by_use.insert(used, id);
        lru.chunks.insert(id, (entries, size, used));
        lru.bytes += size;
    }

    /// Bytes held now (as the budget counts them).
    #[cfg(test)]
    fn bytes(&self) -> u64 {
        self.lru.lock().map_or(0, |l| l.bytes)
    }
}

/// What a chunk of `entries` counts against the budget.
fn cost(entries: &[SegmentEntry]) -> u64 {
    size_of_val(entries) as u64 + CHUNK_OVERHEAD_BYTES
}

#[cfg(test)]
mod tests {
    use ulid::Ulid;

    use super::*;
    use crate::ids::Offset;

    fn chunk(n: u128, entries: usize) -> (ObjectId, Arc<Vec<SegmentEntry>>) {
        let entry = |i: usize| SegmentEntry {
            id: ObjectId(Ulid(n * 1000 + i as u128)),
            base_offset: Offset(i as u64),
            records: 1,
            bytes: 100,
            min_ts: 0,
            max_ts: 0,
            cold_day: None,
            mixed_at: None,
        };
        let id = ObjectId(Ulid(n));
        (id, Arc::new((0..entries).map(entry).collect()))
    }

    #[test]
    fn holds_at_most_its_budget_dropping_the_least_recently_used() {
        let one = cost(&chunk(0, 192).1);
        let cache = ChunkCache::new(3 * one);
        let chunks: Vec<_> = (0..10).map(|n| chunk(n, 192)).collect();
        for (id, entries) in &chunks[..3] {
            cache.insert(*id, entries.clone());
        }
        // Chunk 0 is used again, so chunk 1 is the least recently used when 3 arrives.
        assert!(cache.get(chunks[0].0).is_some());
        cache.insert(chunks[3].0, chunks[3].1.clone());
        assert!(
            cache.get(chunks[1].0).is_none(),
            "the least recently used went"
        );
        for n in [0, 2, 3] {
            assert_eq!(cache.get(chunks[n].0).as_deref(), Some(&*chunks[n].1));
        }
        for (id, entries) in &chunks {
            cache.insert(*id, entries.clone());
            assert!(cache.bytes() <= 3 * one, "{} > {}", cache.bytes(), 3 * one);
        }
        let held = chunks.iter().filter(|(id, _)| cache.get(*id).is_some());
        assert_eq!(held.count(), 3);
    }

    #[test]
    fn a_chunk_larger_than_the_budget_is_not_cached() {
        let (id, entries) = chunk(1, 192);
        let cache = ChunkCache::new(cost(&entries) - 1);
        cache.insert(id, entries);
        assert!(cache.get(id).is_none());
        assert_eq!(cache.bytes(), 0);
    }
}
