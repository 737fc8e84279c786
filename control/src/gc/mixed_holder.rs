//! The holder check of a mixed object (docs/design.md §19, GC): may any partition it holds a
//! segment of still reference it? Both ways a mixed object dies ask it: a partition's
//! graveyard releasing its tombstone (`mixed_release`), and the topic-level sweep of objects
//! no partition committed (`mixed_sweep`).
//!
//! Object M (id time `t`) names its partitions in its toc
//! (`silt_core::store::read_mixed_toc`). Partition q **holds** M if q's manifest
//!
//! - lists M: its tail, its index chunks whose own id time is at or after `t - 1 h` (a chunk
//!   sealed before M existed cannot list it), or, on DynamoDB, its segment items;
//! - has a tombstone of M not yet past the reader grace, or one of a buried index chunk
//!   listing M (read the same way);
//! - has its orphan floor at or below `t`: a commit adding M may still land there (§6 rule 8);
//!   so does a partition without a manifest yet (it would start at floor 0).
//!
//! Why a "no" stays true: after a manifest showed none of these, q's floor refuses any commit
//! of M, and compaction only ever adds new objects; a tombstone past the grace is q's own
//! graveyard's to release. So each partition's manifest is read once per [`Holders`] (a GC
//! step's lifetime, fresh from the store) and serves every object that step asks about.
//! Whenever a read fails, the answer is [`Unsure`]: M is never deleted then.

use std::collections::{HashMap, HashSet};

use object_store::path::Path;
use silt_core::error::Error;
use silt_core::ids::{ObjectId, Offset, PartitionId, TopicId, TopicName};
use silt_core::manifest::{ChunkRef, SegmentEntry, SegmentIndex, TombstoneKind};
use silt_core::store::{Snapshot, Storage, read_mixed_toc};

use super::graveyard::chunk_segments;

/// How long before a mixed object's id time an index chunk listing it may have been minted
/// (clocks of the writer that named the object and of the committer that sealed the chunk).
const CHUNK_SKEW_MS: i64 = 60 * 60 * 1000;

/// Why the check cannot say whether a partition holds an object; the object is kept.
#[derive(Debug, thiserror::Error)]
pub(super) enum Unsure {
    /// The object's toc could not be read (storage error, or damage).
    #[error("cannot read the table of contents of {path}: {source}")]
    Toc {
        path: Path,
        #[source]
        source: Error,
    },
    /// The object belongs to another incarnation of the topic.
    #[error("{path} belongs to topic id {found}, the topic is {expected}")]
    Incarnation {
        path: Path,
        expected: TopicId,
        found: TopicId,
    },
    /// A partition's manifest, its index chunks or its graveyard could not be read.
    #[error("cannot read what partition {partition} references: {source}")]
    Manifest {
        partition: PartitionId,
        #[source]
        source: Error,
    },
}

impl Unsure {
    /// True when asking again will not help: the object itself is damaged or foreign. It is
    /// then kept for good (and a warning says so) rather than asked about on every run.
    pub(super) fn lasting(&self) -> bool {
        match self {
            Unsure::Toc { source, .. } => !matches!(source, Error::Store(_)),
            Unsure::Incarnation { .. } => true,
            Unsure::Manifest { .. } => false,
        }
    }
}

/// What the check says about one mixed object.
#[derive(Debug)]
pub(super) enum Verdict {
    /// The object is gone already (deleted by an earlier release or run).
    Gone,
    /// No partition asked holds it: it may be deleted.
    Free,
    /// This partition holds it.
    HeldBy(PartitionId),
    /// A read failed or the object is damaged: keep it.
    Unsure(Unsure),
}

/// The holder checks of one GC step over one topic, each partition's manifest read at most
/// once.
pub(super) struct Holders<'a> {
    storage: &'a Storage,
    topic: &'a TopicName,
    topic_id: TopicId,
    /// Tombstones removed after this are still inside the reader grace.
    grace_cutoff_ms: i64,
    /// Manifests read already (by the caller) and not looked into yet.
    seeds: HashMap<PartitionId, Snapshot>,
    views: HashMap<PartitionId, View>,
}

/// What one partition's manifest says about mixed objects, read as far as needed so far.
struct View {
    floor_ms: i64,
    /// Mixed objects listed by what was read, or by a tombstone inside the grace.
    held: HashSet<ObjectId>,
    /// Index chunks (live, or buried inside the grace) not read yet.
    unread: Vec<Unread>,
    snapshot: Snapshot,
}

/// An index chunk a view has not read yet.
enum Unread {
    Live(ChunkRef),
    Buried(ObjectId),
}

impl Unread {
    fn id(&self) -> ObjectId {
        match self {
            Unread::Live(c) => c.id,
            Unread::Buried(id) => *id,
        }
    }
}

impl<'a> Holders<'a> {
    /// Checks of objects of `topic` (incarnation `topic_id`) at `now_ms`.
    pub(super) fn new(
        storage: &'a Storage,
        topic: &'a TopicName,
        topic_id: TopicId,
        now_ms: i64,
        reader_grace_ms: i64,
    ) -> Holders<'a> {
        Holders {
            storage,
            topic,
            topic_id,
            grace_cutoff_ms: now_ms.saturating_sub(reader_grace_ms),
            seeds: HashMap::new(),
            views: HashMap::new(),
        }
    }

    /// Uses `snapshot`, read by the caller in this step, as partition `p`'s manifest.
    pub(super) fn seed(&mut self, p: PartitionId, snapshot: Snapshot) {
        self.seeds.insert(p, snapshot);
    }

    /// Whether object `id` may be deleted: reads its toc and asks every partition in it but
    /// `releasing` (the partition whose tombstone of it passed the grace, if any).
    pub(super) async fn verdict(
        &mut self,
        id: ObjectId,
        releasing: Option<PartitionId>,
    ) -> Verdict {
        let path = self.storage.keys.mixed(self.topic, id);
        let toc = match read_mixed_toc(self.storage.objects.as_ref(), &path).await {
            Ok(Some(toc)) => toc,
            Ok(None) => return Verdict::Gone,
            Err(source) => return Verdict::Unsure(Unsure::Toc { path, source }),
        };
        if toc.topic_id != self.topic_id {
            let (expected, found) = (self.topic_id, toc.topic_id);
            return Verdict::Unsure(Unsure::Incarnation {
                path,
                expected,
                found,
            });
        }
        let others: Vec<PartitionId> = toc.partitions().filter(|q| Some(*q) != releasing).collect();
        for q in others {
            match self.holds(q, id).await {
                Ok(true) => return Verdict::HeldBy(q),
                Ok(false) => {}
                Err(unsure) => return Verdict::Unsure(unsure),
            }
        }
        Verdict::Free
    }

    /// Whether partition `q` holds object `id`.
    async fn holds(&mut self, q: PartitionId, id: ObjectId) -> Result<bool, Unsure> {
        let t = id_ms(id);
        if !self.views.contains_key(&q) {
            let Some(view) = self.load(q).await? else {
                // Never written: a writer creating its manifest now starts it with floor 0,
                // so a commit of the object may still land there.
                return Ok(true);
            };
            self.views.insert(q, view);
        }
        let (storage, topic) = (self.storage, self.topic);
        let Some(view) = self.views.get_mut(&q) else {
            return Ok(true); // inserted just above; never unsure of a "no"
        };
        if view.floor_ms <= t {
            return Ok(true);
        }
        view.read_chunks(storage, topic, q, t.saturating_sub(CHUNK_SKEW_MS))
            .await
            .map_err(|source| Unsure::Manifest {
                partition: q,
                source,
            })?;
        Ok(view.held.contains(&id))
    }

    /// Partition `q`'s view: its manifest (the seed, or read now), its tail or segment items,
    /// its graveyard; index chunks are read later, as far back as an object needs. `None`
    /// when it has no manifest.
    async fn load(&mut self, q: PartitionId) -> Result<Option<View>, Unsure> {
        let (storage, topic) = (self.storage, self.topic);
        let unsure = |source| Unsure::Manifest {
            partition: q,
            source,
        };
        let snapshot = match self.seeds.remove(&q) {
            Some(s) => s,
            None => match storage.manifests.read(topic, q).await.map_err(unsure)? {
                Some(s) => s,
                None => return Ok(None),
            },
        };
        let m = &snapshot.manifest;
        if m.topic_id != self.topic_id {
            let source = Error::TopicIdMismatch {
                topic: topic.clone(),
                partition: q,
                expected: self.topic_id,
                found: m.topic_id,
            };
            return Err(unsure(source));
        }
        let (mut held, mut unread) = (HashSet::new(), Vec::new());
        match m.index {
            SegmentIndex::External { .. } => {
                let all =
                    storage
                        .manifests
                        .segments_from(topic, q, &snapshot, Offset(0), usize::MAX);
                held.extend(mixed_ids(&all.await.map_err(unsure)?));
            }
            SegmentIndex::Inline => {
                held.extend(mixed_ids(&m.segments));
                unread.extend(m.chunks.iter().copied().map(Unread::Live));
            }
        }
        // After the segment items: on DynamoDB a Replace or Bury committed in between moved
        // an item into the graveyard in one transaction, so one of the two reads sees it.
        let graveyard = storage.manifests.graveyard(topic, q, &snapshot);
        for t in graveyard.await.map_err(unsure)? {
            if t.removed_at_ms <= self.grace_cutoff_ms {
                continue; // past the grace: q's own graveyard releases it
            }
            match t.kind {
                TombstoneKind::Mixed => {
                    held.insert(t.id);
                }
                TombstoneKind::ChunkWithSegments => unread.push(Unread::Buried(t.id)),
                _ => {}
            }
        }
        let floor_ms = m.orphan_floor_ms;
        Ok(Some(View {
            floor_ms,
            held,
            unread,
            snapshot,
        }))
    }
}

impl View {
    /// Reads the unread index chunks minted at or after `from_ms`, noting the mixed objects
    /// they list.
    async fn read_chunks(
        &mut self,
        storage: &Storage,
        topic: &TopicName,
        q: PartitionId,
        from_ms: i64,
    ) -> Result<(), Error> {
        loop {
            let due = self.unread.iter().position(|c| id_ms(c.id()) >= from_ms);
            let Some(n) = due else {
                return Ok(());
            };
            let entries = match &self.unread[n] {
                Unread::Live(c) => {
                    let (from, count) = (c.base_offset, c.segments as usize);
                    let read =
                        storage
                            .manifests
                            .segments_from(topic, q, &self.snapshot, from, count);
                    read.await?
                }
                Unread::Buried(id) => {
                    chunk_segments(storage, &storage.keys.index_chunk(topic, q, *id)).await?
                }
            };
            self.held.extend(mixed_ids(&entries));
            self.unread.swap_remove(n);
        }
    }
}

/// The ids of the mixed objects among `entries`.
fn mixed_ids(entries: &[SegmentEntry]) -> impl Iterator<Item = ObjectId> + '_ {
    entries.iter().filter(|e| e.is_mixed()).map(|e| e.id)
}

/// The time part of an object id, in ms.
pub(super) fn id_ms(id: ObjectId) -> i64 {
    i64::try_from(id.timestamp_ms()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail by panicking

    use std::sync::Arc;

    use object_store::memory::InMemory;
    use object_store::{ObjectStoreExt, PutPayload};

    use super::*;

    fn storage() -> Storage {
        Storage::over(Arc::new(InMemory::new()), Path::default(), "memory://")
    }

    #[tokio::test]
    async fn a_damaged_toc_is_an_error_that_asking_again_will_not_fix() {
        let storage = storage();
        let path = Path::from("mixed/damaged.mix");
        let payload = PutPayload::from_static(b"not a mixed object at all");
        storage.objects.put(&path, payload).await.unwrap();
        let read = read_mixed_toc(storage.objects.as_ref(), &path).await;
        let source = read.unwrap_err();
        assert!(matches!(source, Error::Corrupt(_)), "{source:?}");
        let unsure = Unsure::Toc { path, source };
        assert!(unsure.lasting(), "{unsure}");
        let io = object_store::Error::Generic {
            store: "test",
            source: "connection reset".into(),
        };
        let transient = Unsure::Manifest {
            partition: PartitionId(1),
            source: Error::from(io),
        };
        assert!(!transient.lasting(), "{transient}");
    }
}
