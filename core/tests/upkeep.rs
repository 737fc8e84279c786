//! The jobs' edits one by one: compaction swapping a sealed chunk, the orphan floor keeping
//! late objects out, and a writer's seal that lists an entry compaction rewrote.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use silt_core::error::Rejection;
use silt_core::ids::{CommitSeq, ObjectId, Offset, PartitionId, TopicId, WriterId};
use silt_core::manifest::{
    Append, ChunkRef, Commit, Edit, Manifest, NewSegment, Replace, Seal, SegmentEntry,
    TombstoneKind, apply,
};
use ulid::Ulid;

fn segment(n: u64, records: u32) -> NewSegment {
    NewSegment {
        id: ObjectId(Ulid::from_parts(1_000 + n, n.into())),
        records,
        bytes: 100,
        min_ts: 0,
        max_ts: 0,
        producer: None,
        mixed_at: None,
    }
}

fn append(segments: Vec<NewSegment>) -> Edit {
    Edit::Append(Append {
        segments,
        leader_epoch: None,
        expect_next_offset: None,
        lease_until_ms: None,
        seal: None,
    })
}

/// A manifest with segments 0..4 (one record each, ids from `segment`), the first three
/// sealed into a chunk with id time 5 000.
fn with_chunk() -> (Manifest, ChunkRef) {
    let mut m = Manifest::new(TopicId(Ulid::from_parts(9, 9)), PartitionId(0));
    let segs = (0..4).map(|n| segment(n, 1)).collect();
    m = apply(&m, &job(append(segs))).unwrap();
    let chunk = ChunkRef::covering(ObjectId(Ulid::from_parts(5_000, 1)), &m.segments[..3]).unwrap();
    let seal = Edit::Append(Append {
        segments: vec![segment(4, 1)],
        leader_epoch: None,
        expect_next_offset: None,
        lease_until_ms: None,
        seal: Some(Seal {
            chunk,
            entries: m.segments[..3].to_vec(),
        }),
    });
    m = apply(&m, &job(seal)).unwrap();
    assert_eq!(m.chunks, vec![chunk]);
    (m, chunk)
}

fn job(edit: Edit) -> Commit {
    Commit {
        writer: WriterId(Ulid::from_parts(1, 8)),
        seq: CommitSeq(1),
        now_ms: 42,
        edit,
    }
}

#[test]
fn compacting_a_sealed_chunk_swaps_it_and_buries_only_what_merged() {
    let (m, chunk) = with_chunk();
    let old: Vec<SegmentEntry> = (0..2)
        .map(|n| SegmentEntry {
            id: segment(n, 1).id,
            base_offset: Offset(n),
            records: 1,
            bytes: 100,
            min_ts: 0,
            max_ts: 0,
            cold_day: None,
            mixed_at: None,
        })
        .collect();
    let merged = SegmentEntry {
        id: ObjectId(Ulid::from_parts(6_000, 1)),
        records: 2,
        bytes: 150,
        ..old[0]
    };
    let kept = SegmentEntry {
        id: segment(2, 1).id,
        base_offset: Offset(2),
        ..old[0]
    };
    let new_chunk =
        ChunkRef::covering(ObjectId(Ulid::from_parts(6_000, 2)), &[merged, kept]).unwrap();
    let replace = Edit::Replace(Replace {
        old,
        new: vec![merged],
        chunk: Some((chunk, new_chunk)),
    });
    let next = apply(&m, &job(replace.clone())).unwrap();
    assert_eq!(next.chunks, vec![new_chunk]);
    let buried: Vec<(ObjectId, TombstoneKind)> =
        next.graveyard.iter().map(|t| (t.id, t.kind)).collect();
    assert_eq!(
        buried,
        vec![
            (segment(0, 1).id, TombstoneKind::Segment),
            (segment(1, 1).id, TombstoneKind::Segment),
            (chunk.id, TombstoneKind::Chunk)
        ]
    );
    assert_eq!(
        (next.next_offset, next.segments.len()),
        (m.next_offset, m.segments.len())
    );
    // The same swap again finds its chunk gone: refused, not applied twice.
    let again = apply(&next, &job(replace));
    assert!(matches!(again, Err(Rejection::Stale { .. })), "{again:?}");
}

#[test]
fn nothing_below_the_orphan_floor_gets_referenced() {
    let mut m = Manifest::new(TopicId(Ulid::from_parts(9, 9)), PartitionId(0));
    let segs = (0..3).map(|n| segment(n, 1)).collect();
    m = apply(&m, &job(append(segs))).unwrap();
    m = apply(&m, &job(Edit::RaiseOrphanFloor { to_ms: 5_000 })).unwrap();
    let lower = apply(&m, &job(Edit::RaiseOrphanFloor { to_ms: 10 })).unwrap();
    assert_eq!(lower.orphan_floor_ms, 5_000, "the floor never goes down");
    // A writer's chunk written before the floor is not sealed in; its append still lands.
    let chunk = ChunkRef::covering(ObjectId(Ulid::from_parts(4_999, 1)), &m.segments[..2]).unwrap();
    let fresh = NewSegment {
        id: ObjectId(Ulid::from_parts(5_000, 3)),
        ..segment(3, 1)
    };
    let seal = Edit::Append(Append {
        segments: vec![fresh],
        leader_epoch: None,
        expect_next_offset: None,
        lease_until_ms: None,
        seal: Some(Seal {
            chunk,
            entries: m.segments[..2].to_vec(),
        }),
    });
    let sealed = apply(&m, &job(seal)).unwrap();
    assert!(sealed.chunks.is_empty());
    // A compaction whose merged segment predates the floor is refused.
    let old: Vec<SegmentEntry> = m.segments[..2].to_vec();
    let merged = SegmentEntry {
        id: ObjectId(Ulid::from_parts(4_000, 1)),
        records: 2,
        ..old[0]
    };
    let stale = apply(
        &m,
        &job(Edit::Replace(Replace {
            old,
            new: vec![merged],
            chunk: None,
        })),
    );
    assert!(
        matches!(stale, Err(Rejection::StaleUpload { .. })),
        "{stale:?}"
    );
}

#[test]
fn a_seal_listing_a_rewritten_entry_is_dropped() {
    let mut m = Manifest::new(TopicId(Ulid::from_parts(9, 9)), PartitionId(0));
    let segs = (0..3).map(|n| segment(n, 1)).collect();
    m = apply(&m, &job(append(segs))).unwrap();
    let listed = m.segments[..2].to_vec();
    let chunk = ChunkRef::covering(ObjectId(Ulid::from_parts(5_000, 1)), &listed).unwrap();
    // Key compaction rewrote the first entry: same offsets, size and timestamps, new id.
    let rewritten = SegmentEntry {
        id: ObjectId(Ulid::from_parts(5_000, 2)),
        ..listed[0]
    };
    let replace = Replace {
        old: vec![listed[0]],
        new: vec![rewritten],
        chunk: None,
    };
    m = apply(&m, &job(Edit::Replace(replace))).unwrap();
    assert_eq!(
        ChunkRef::covering(chunk.id, &m.segments[..2]),
        Some(chunk),
        "same totals"
    );
    let seal = Edit::Append(Append {
        segments: vec![NewSegment {
            id: ObjectId(Ulid::from_parts(5_000, 3)),
            ..segment(3, 1)
        }],
        leader_epoch: None,
        expect_next_offset: None,
        lease_until_ms: None,
        seal: Some(Seal {
            chunk,
            entries: listed,
        }),
    });
    let next = apply(&m, &job(seal)).unwrap();
    assert!(next.chunks.is_empty(), "the chunk lists a buried segment");
    assert_eq!(next.segments[0].id, rewritten.id);
}

/// `DeleteTopic` marks the partition deleted (format version 2, so an older silt refuses it),
/// and from then on every edit, a second delete included, is refused with `TopicDeleted`.
#[test]
fn a_deleted_partition_refuses_every_commit() {
    let (m, _) = with_chunk();
    let deleted = apply(&m, &job(Edit::DeleteTopic)).unwrap();
    assert_eq!(deleted.deleted_ms, Some(42));
    assert_eq!(
        deleted.format_version,
        silt_core::manifest::codec::DELETED_FORMAT_VERSION
    );
    assert_eq!(
        (deleted.next_offset, deleted.segments.len()),
        (m.next_offset, m.segments.len())
    );
    let encoded = silt_core::manifest::codec::encode(&deleted).unwrap();
    let decoded = silt_core::manifest::codec::decode(&encoded, "test").unwrap();
    assert_eq!(decoded.deleted_ms, Some(42));
    let edits = [
        append(vec![segment(9, 1)]),
        Edit::Claim { lease_until_ms: 1 },
        Edit::Trim { before: Offset(1) },
        Edit::Bury {
            entries: Vec::new(),
        },
        Edit::Forget { ids: Vec::new() },
        Edit::RaiseOrphanFloor { to_ms: 1 },
        Edit::DeleteTopic,
    ];
    for edit in edits {
        match apply(&deleted, &job(edit.clone())) {
            Err(Rejection::TopicDeleted {
                partition,
                topic_id,
            }) => {
                assert_eq!((partition, topic_id), (m.partition, m.topic_id));
            }
            other => panic!("{edit:?} on a deleted partition: {other:?}"),
        }
    }
}
