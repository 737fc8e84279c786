//! Edits: the only ways a manifest changes. [`apply`] is a pure function that checks every rule
//! and invariant; the stores call it on the manifest they read and, after a lost race, again on
//! the newer one (a rebase): the same edit, never a re-upload.

use super::WRITER_MARKER_TTL_MS;
use super::invariants;
use super::model::{ChunkRef, Leader, Manifest, SegmentEntry, SegmentIndex, WriterMarker};
use super::producers::{self, Check, ProducerBatch};
use super::upkeep;
use crate::error::Rejection;
use crate::ids::{CommitSeq, Epoch, ManifestVersion, ObjectId, Offset, WriterId};

/// One commit: an edit plus the marker that makes its outcome observable
/// (docs/design.md §6 rule 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Who commits (a writer or a job incarnation).
    pub writer: WriterId,
    /// Strictly increasing per `writer`.
    pub seq: CommitSeq,
    /// The committer's clock when it built the commit; used for leases and markers.
    pub now_ms: i64,
    /// The change.
    pub edit: Edit,
}

/// A change to a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Give uploaded segments the next offsets.
    Append(Append),
    /// Become the exclusive leader: bump the epoch, fencing the previous leader, and take a
    /// lease. Succeeds whatever lease the previous leader held.
    Claim {
        /// End of the advisory lease.
        lease_until_ms: i64,
    },
    /// Give up leadership of `epoch` (clean shutdown): ends the lease so others may append.
    Release {
        /// The epoch this writer holds.
        epoch: Epoch,
    },
    /// Move the log start offset forward to `before` (retention, or an explicit trim): offsets
    /// below it are no longer readable. Never moves it back; `before` may fall inside a
    /// segment. Entries below the start stay listed until garbage collection drops them.
    Trim {
        /// The new log start offset, at most the next offset.
        before: Offset,
    },
    /// Garbage collection, step one: move entries wholly below the log start to the
    /// graveyard. Inline index: every such sealed chunk (one tombstone for the chunk and its
    /// segments) and tail entry; `entries` is ignored. External index (one item per segment):
    /// exactly `entries`, which must lie wholly below the log start.
    Bury {
        /// External index only: the segment items to remove, as read.
        entries: Vec<SegmentEntry>,
    },
    /// Compaction: swap committed entries for rewritten ones holding the same records.
    Replace(Replace),
    /// Garbage collection, step two: drop the tombstones of objects already deleted.
    Forget {
        /// Ids of the tombstones to drop; ones already gone are ignored.
        ids: Vec<ObjectId>,
    },
    /// Before an orphan sweep: from now on no commit may add an object whose id time is below
    /// `to_ms` (docs/design.md §6 rule 8), so objects below it that no manifest references are
    /// orphans for good. Never lowers the floor.
    RaiseOrphanFloor {
        /// The new floor, in ms since the epoch.
        to_ms: i64,
    },
    /// Topic deletion (docs/design.md §4.1): marks the partition deleted at the commit's time.
    /// From then on every commit, this one included, is refused with `TopicDeleted`, so a
    /// writer still open on the topic acknowledges nothing more.
    DeleteTopic,
}

/// Compaction's swap: `old` entries out, `new` in, offsets unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace {
    /// The entries rewritten, as read: consecutive.
    pub old: Vec<SegmentEntry>,
    /// Their replacement: consecutive, covering exactly the offsets of `old`. Merges never
    /// split a segment and key compaction rewrites one segment into one with gaps; sealing
    /// may split one where a new UTC day starts.
    pub new: Vec<SegmentEntry>,
    /// Inline index, when `old` lie in a sealed chunk: that chunk as read, and the rewritten
    /// chunk (already written) listing its entries with `old` swapped for `new`. `None`: `old`
    /// are in the tail (inline) or are segment items (external).
    pub chunk: Option<(ChunkRef, ChunkRef)>,
}

/// Uploaded segments to commit, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append {
    /// The segments; they receive consecutive offsets starting at the next offset.
    pub segments: Vec<NewSegment>,
    /// `Some(epoch)` for an exclusive leader: the append is conditional on that epoch.
    pub leader_epoch: Option<Epoch>,
    /// Conditional append: only if the next offset is exactly this.
    pub expect_next_offset: Option<Offset>,
    /// Lease renewal for a leader.
    pub lease_until_ms: Option<i64>,
    /// Seal the oldest tail entries into an (already written) index chunk. Dropped silently
    /// if, after a rebase, the tail no longer starts with exactly the entries it lists.
    pub seal: Option<Seal>,
}

/// An index chunk already written, to take the place of the oldest tail entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// The chunk.
    pub chunk: ChunkRef,
    /// Exactly the entries it lists, ids included: compaction may have swapped an entry for a
    /// rewritten one with the same offsets, size and timestamps.
    pub entries: Vec<SegmentEntry>,
}

/// An uploaded, not yet committed segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewSegment {
    /// Object id.
    pub id: ObjectId,
    /// Records in it.
    pub records: u32,
    /// Segment size (the object, or its range of a mixed object).
    pub bytes: u64,
    /// Smallest record timestamp.
    pub min_ts: i64,
    /// Largest record timestamp.
    pub max_ts: i64,
    /// Set when the segment is one idempotent producer's batch: appended only if its
    /// sequence follows the producer's state, which the same commit advances; otherwise left
    /// out of the commit (docs/design.md §6.6).
    pub producer: Option<ProducerBatch>,
    /// For a segment inside a mixed object (`mixed/<id>.mix`, docs/design.md §19), the byte
    /// position where it starts there.
    pub mixed_at: Option<u64>,
}

impl Commit {
    /// True when `manifest` already holds this commit: the marker says so, or (for an append)
    /// its first segment is in the tail.
    pub fn is_in(&self, manifest: &Manifest) -> bool {
        let marked = manifest
            .marker(self.writer)
            .is_some_and(|m| m.commit_seq >= self.seq);
        let appended = match &self.edit {
            Edit::Append(a) => a
                .segments
                .first()
                .is_some_and(|s| manifest.segments.iter().any(|e| e.id == s.id)),
            _ => false,
        };
        marked || appended
    }

    /// The offset of the first record of this append in `manifest`, once it is committed.
    pub fn base_offset_in(&self, manifest: &Manifest) -> Option<Offset> {
        if let Some(m) = manifest
            .marker(self.writer)
            .filter(|m| m.commit_seq == self.seq)
        {
            return Some(m.base_offset);
        }
        let Edit::Append(a) = &self.edit else {
            return None;
        };
        let first = a.segments.first()?;
        manifest
            .segments
            .iter()
            .find(|e| e.id == first.id)
            .map(|e| e.base_offset)
    }
}

/// Applies `commit` to `m`, returning the next version or a definite rejection.
pub fn apply(m: &Manifest, commit: &Commit) -> Result<Manifest, Rejection> {
    if m.deleted_ms.is_some() {
        return Err(Rejection::TopicDeleted {
            partition: m.partition,
            topic_id: m.topic_id,
        });
    }
    let mut next = m.clone();
    let base_offset = m.next_offset;
    match &commit.edit {
        Edit::Append(a) => append(&mut next, commit, a)?,
        Edit::Claim { lease_until_ms } => {
            next.epoch = Epoch(m.epoch.0.saturating_add(1));
            next.leader = Some(Leader {
                writer_id: commit.writer,
                lease_until_ms: *lease_until_ms,
            });
        }
        Edit::Release { epoch } => {
            if m.epoch == *epoch && m.leader.is_some_and(|l| l.writer_id == commit.writer) {
                next.leader = Some(Leader {
                    writer_id: commit.writer,
                    lease_until_ms: 0,
                });
            }
        }
        Edit::Trim { before } => {
            if *before > m.next_offset {
                return Err(Rejection::TrimBeyondEnd {
                    partition: m.partition,
                    before: *before,
                    next_offset: m.next_offset,
                });
            }
            next.log_start_offset = m.log_start_offset.max(*before);
        }
        Edit::Bury { entries } => upkeep::bury(&mut next, entries, commit.now_ms)?,
        Edit::Replace(r) => upkeep::replace(&mut next, r, commit.now_ms)?,
        Edit::Forget { ids } => next.graveyard.retain(|t| !ids.contains(&t.id)),
        Edit::RaiseOrphanFloor { to_ms } => {
            next.orphan_floor_ms = m.orphan_floor_ms.max(*to_ms);
        }
        Edit::DeleteTopic => {
            next.deleted_ms = Some(commit.now_ms);
            next.format_version = m.format_version.max(super::codec::DELETED_FORMAT_VERSION);
        }
    }
    next.version = ManifestVersion(m.version.0.saturating_add(1));
    record_marker(&mut next, commit, base_offset);
    invariants::check_transition(m, &next)?;
    Ok(next)
}

fn append(next: &mut Manifest, commit: &Commit, a: &Append) -> Result<(), Rejection> {
    let partition = next.partition;
    match a.leader_epoch {
        Some(mine) => {
            let leader = next.leader.map(|l| l.writer_id);
            if next.epoch != mine || leader != Some(commit.writer) {
                let leader = leader.unwrap_or(commit.writer);
                return Err(Rejection::Fenced {
                    partition,
                    epoch: next.epoch,
                    mine,
                    leader,
                });
            }
            if let (Some(l), Some(until)) = (next.leader.as_mut(), a.lease_until_ms) {
                l.lease_until_ms = until;
            }
        }
        None => {
            if let Some(l) = next.live_leader(commit.now_ms) {
                return Err(Rejection::LeaderActive {
                    partition,
                    epoch: next.epoch,
                    leader: l.writer_id,
                    lease_until_ms: l.lease_until_ms,
                });
            }
        }
    }
    if let Some(expected) = a.expect_next_offset
        && expected != next.next_offset
    {
        return Err(Rejection::OffsetMismatch {
            partition,
            expected,
            actual: next.next_offset,
        });
    }
    for s in &a.segments {
        upkeep::check_floor(next, s.id)?;
        if !producer_may_append(next, s, commit.now_ms) {
            continue;
        }
        next.segments.push(SegmentEntry {
            id: s.id,
            base_offset: next.next_offset,
            records: s.records,
            bytes: s.bytes,
            min_ts: s.min_ts,
            max_ts: s.max_ts,
            cold_day: None,
            mixed_at: s.mixed_at,
        });
        if s.mixed_at.is_some() {
            next.format_version = next.format_version.max(super::codec::MIXED_FORMAT_VERSION);
        }
        next.next_offset = next.next_offset.plus(u64::from(s.records));
        if let SegmentIndex::External { segments, bytes } = &mut next.index {
            *segments = segments.saturating_add(1);
            *bytes = bytes.saturating_add(s.bytes);
        }
    }
    if let Some(s) = &a.seal {
        seal(next, s);
    }
    // Only with records: an empty append (a lease renewal) leaves the next offset, which
    // DynamoDB conditions appends on, unchanged, so it must not change the state either.
    if !a.segments.is_empty() {
        producers::prune(&mut next.producers, commit.now_ms);
    }
    if !next.producers.is_empty() {
        next.format_version = next
            .format_version
            .max(super::codec::PRODUCERS_FORMAT_VERSION);
    }
    Ok(())
}

/// Whether segment `s` may be appended at the next offset: always, unless it is a producer's
/// batch that [`producers::check`] does not allow; an allowed batch advances the state.
fn producer_may_append(m: &mut Manifest, s: &NewSegment, now_ms: i64) -> bool {
    let Some(b) = &s.producer else {
        return true;
    };
    let state = m.producers.iter().find(|p| p.producer_id == b.producer_id);
    if producers::check(state, b, s.records) != Check::Append {
        return false;
    }
    producers::advance(&mut m.producers, b, s.records, m.next_offset, now_ms);
    true
}

/// Replaces the oldest tail entries with the chunk if they are exactly the entries it lists
/// (and the chunk was written after the orphan floor, so no sweep can have deleted it).
fn seal(m: &mut Manifest, s: &Seal) {
    let fresh = upkeep::check_floor(m, s.chunk.id).is_ok();
    let describes = ChunkRef::covering(s.chunk.id, &s.entries) == Some(s.chunk);
    if fresh && describes && m.segments.starts_with(&s.entries) {
        m.segments.drain(..s.entries.len());
        m.chunks.push(s.chunk);
    }
}

fn record_marker(m: &mut Manifest, commit: &Commit, base_offset: Offset) {
    let marker = WriterMarker {
        writer_id: commit.writer,
        commit_seq: commit.seq,
        base_offset,
        at_ms: commit.now_ms,
    };
    m.writers.retain(|w| w.writer_id != commit.writer);
    // By age only, never by count: a marker must outlive any commit still being resolved.
    m.writers
        .retain(|w| commit.now_ms.saturating_sub(w.at_ms) < WRITER_MARKER_TTL_MS);
    m.writers.push(marker);
}
