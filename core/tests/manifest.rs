//! The manifest: invariants under random edit sequences, codec round-trips, and the commit
//! protocol under concurrent committers with conflicts and ambiguous outcomes injected.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use object_store::memory::InMemory;
use object_store::path::Path;
use proptest::prelude::*;
use silt_core::error::{Error, ErrorKind, Rejection};
use silt_core::ids::{
    CommitSeq, Epoch, ObjectId, Offset, PartitionId, TopicId, TopicName, WriterId,
};
use silt_core::keys::Keys;
use silt_core::manifest::{
    Append, Commit, Edit, Manifest, NewSegment, Replace, SegmentEntry, apply, check_invariants,
    codec,
};
use silt_core::store::{GroupedManifestStore, ManifestStore, ObjectManifestStore};
use silt_core::testing::{Call, Fault, FlakyStore, Rule};
use silt_core::topic::{TopicConfig, TopicSettings};
use ulid::Ulid;

fn writer(i: u8) -> WriterId {
    WriterId(Ulid::from_parts(1, u128::from(i) + 1))
}

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

fn append(segments: Vec<NewSegment>, leader_epoch: Option<Epoch>, expect: Option<Offset>) -> Edit {
    Edit::Append(Append {
        segments,
        leader_epoch,
        expect_next_offset: expect,
        lease_until_ms: Some(100),
        seal: None,
    })
}

/// One step of a random history: who acts, and how.
#[derive(Debug, Clone)]
enum Step {
    Shared { who: u8, records: u32 },
    Leader { who: u8, records: u32 },
    Claim { who: u8 },
    Release { who: u8 },
    Conditional { who: u8, delta: i8 },
    Trim { delta: i8 },
    Tick { ms: i64 },
    Bury,
    Compact { at: usize, len: usize },
    Forget { n: usize },
    Floor,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..3, 1u32..50).prop_map(|(who, records)| Step::Shared { who, records }),
        (0u8..3, 1u32..50).prop_map(|(who, records)| Step::Leader { who, records }),
        (0u8..3).prop_map(|who| Step::Claim { who }),
        (0u8..3).prop_map(|who| Step::Release { who }),
        (0u8..3, -2i8..3).prop_map(|(who, delta)| Step::Conditional { who, delta }),
        (-30i8..3).prop_map(|delta| Step::Trim { delta }),
        (1i64..200).prop_map(|ms| Step::Tick { ms }),
        Just(Step::Bury),
        (0usize..50, 2usize..6).prop_map(|(at, len)| Step::Compact { at, len }),
        (0usize..5).prop_map(|n| Step::Forget { n }),
        Just(Step::Floor),
    ]
}

proptest! {
    /// Whatever the order of edits, accepted ones keep every invariant, offsets stay dense,
    /// rejections are exactly the ones the rules call for, and the codec round-trips.
    #[test]
    fn random_edits_keep_invariants(steps in proptest::collection::vec(step(), 1..80)) {
        let mut m = Manifest::new(TopicId(Ulid::from_parts(9, 9)), PartitionId(0));
        let mut now = 0i64;
        let mut epochs: HashMap<u8, Epoch> = HashMap::new();
        let mut records_total = 0u64;
        for (n, step) in steps.into_iter().enumerate() {
            let seg = segment(n as u64, 1 + n as u32 % 7);
            let (who, edit) = match step {
                Step::Tick { ms } => { now += ms; continue }
                Step::Shared { who, records } => (who, append(vec![NewSegment { records, ..seg }], None, None)),
                Step::Leader { who, records } => {
                    let epoch = epochs.get(&who).copied().unwrap_or(Epoch(0));
                    (who, append(vec![NewSegment { records, ..seg }], Some(epoch), None))
                }
                Step::Claim { who } => (who, Edit::Claim { lease_until_ms: now + 50 }),
                Step::Release { who } => (who, Edit::Release { epoch: epochs.get(&who).copied().unwrap_or(Epoch(0)) }),
                Step::Conditional { who, delta } => {
                    let expect = Offset((m.next_offset.0 as i64 + i64::from(delta)).max(0) as u64);
                    (who, append(vec![seg], None, Some(expect)))
                }
                Step::Trim { delta } => {
                    let before = Offset((m.next_offset.0 as i64 + i64::from(delta)).max(0) as u64);
                    (9, Edit::Trim { before })
                }
                Step::Bury => (9, Edit::Bury { entries: Vec::new() }),
                Step::Compact { at, len } => match merge(&m, at, len, seg.id) {
                    Some(replace) => (9, Edit::Replace(replace)),
                    None => continue,
                },
                Step::Forget { n } => (9, Edit::Forget { ids: m.graveyard.iter().take(n).map(|t| t.id).collect() }),
                Step::Floor => (9, Edit::RaiseOrphanFloor { to_ms: seg.id.timestamp_ms() as i64 }),
            };
            let commit = Commit { writer: writer(who), seq: CommitSeq(n as u64 + 1), now_ms: now, edit: edit.clone() };
            match apply(&m, &commit) {
                Ok(next) => {
                    check_invariants(&next).map_err(TestCaseError::fail)?;
                    prop_assert_eq!(next.version.0, m.version.0 + 1);
                    if let Edit::Claim { .. } = edit {
                        prop_assert_eq!(next.epoch.0, m.epoch.0 + 1);
                        epochs.insert(who, next.epoch);
                    }
                    if let Edit::Trim { before } = edit {
                        prop_assert_eq!(next.log_start_offset, m.log_start_offset.max(before));
                    } else {
                        prop_assert_eq!(next.log_start_offset, m.log_start_offset);
                    }
                    check_upkeep(&m, &next, &edit)?;
                    if let Edit::Append(a) = &edit {
                        records_total += a.segments.iter().map(|s| u64::from(s.records)).sum::<u64>();
                        prop_assert!(commit.is_in(&next));
                        prop_assert_eq!(commit.base_offset_in(&next), Some(m.next_offset));
                    }
                    m = next;
                }
                Err(Rejection::Fenced { .. }) => {
                    let mine = epochs.get(&who).copied().unwrap_or(Epoch(0));
                    prop_assert!(m.epoch != mine || m.leader.map(|l| l.writer_id) != Some(writer(who)));
                }
                Err(Rejection::LeaderActive { .. }) => prop_assert!(m.live_leader(now).is_some()),
                Err(Rejection::OffsetMismatch { expected, actual, .. }) => prop_assert_ne!(expected, actual),
                Err(Rejection::TrimBeyondEnd { before, next_offset, .. }) => prop_assert!(before > next_offset),
                Err(Rejection::StaleUpload { id, floor_ms, .. }) => prop_assert!((id.timestamp_ms() as i64) < floor_ms),
                Err(other) => prop_assert!(false, "unexpected rejection {other}"),
            }
            prop_assert_eq!(m.next_offset.0, records_total);
            let decoded = codec::decode(&codec::encode(&m).unwrap(), "test").unwrap();
            prop_assert_eq!(&decoded, &m);
        }
    }
}

/// A compaction of `len` tail entries from `at` (wrapped) into one entry `id`.
fn merge(m: &Manifest, at: usize, len: usize, id: ObjectId) -> Option<Replace> {
    if m.segments.len() < 2 {
        return None;
    }
    let at = at % (m.segments.len() - 1);
    let old: Vec<SegmentEntry> = m.segments.iter().skip(at).take(len).copied().collect();
    let merged = SegmentEntry {
        id,
        base_offset: old[0].base_offset,
        records: old.iter().map(|e| e.records).sum(),
        bytes: old.iter().map(|e| e.bytes).sum(),
        min_ts: 0,
        max_ts: 0,
        cold_day: None,
        mixed_at: None,
    };
    Some(Replace {
        old,
        new: vec![merged],
        chunk: None,
    })
}

/// What the jobs' edits must do: bury exactly what lies below the start, replace without
/// moving an offset, and move every removed object into the graveyard.
fn check_upkeep(m: &Manifest, next: &Manifest, edit: &Edit) -> Result<(), TestCaseError> {
    let ids = |m: &Manifest| m.segments.iter().map(|e| e.id).collect::<Vec<_>>();
    let buried = |id: &ObjectId| next.graveyard.iter().any(|t| t.id == *id);
    match edit {
        Edit::Bury { .. } => {
            prop_assert!(
                next.segments
                    .iter()
                    .all(|e| e.end_offset() > next.log_start_offset)
            );
            let gone: Vec<_> = ids(m)
                .into_iter()
                .filter(|id| !ids(next).contains(id))
                .collect();
            prop_assert!(gone.iter().all(buried));
            prop_assert_eq!(next.graveyard.len(), m.graveyard.len() + gone.len());
        }
        Edit::Replace(r) => {
            prop_assert_eq!(next.segments.len(), m.segments.len() - r.old.len() + 1);
            prop_assert!(r.old.iter().all(|e| buried(&e.id)));
        }
        Edit::Forget { ids } => prop_assert!(!ids.iter().any(buried)),
        _ => prop_assert_eq!(&next.graveyard, &m.graveyard),
    }
    Ok(())
}

#[test]
fn decoding_rejects_broken_and_future_manifests() {
    let mut m = Manifest::new(TopicId(Ulid::from_parts(9, 9)), PartitionId(0));
    m.next_offset = Offset(5); // no segment covers 0..5
    let bytes = serde_json::to_vec(&m).unwrap();
    assert!(matches!(codec::decode(&bytes, "m"), Err(Error::Corrupt(_))));
    m.next_offset = Offset(0);
    m.format_version = 7;
    let bytes = serde_json::to_vec(&m).unwrap();
    assert!(matches!(
        codec::decode(&bytes, "m"),
        Err(Error::FutureFormat { found: 7, .. })
    ));
    assert!(matches!(
        codec::decode(b"{\"format_version\":1,", "m"),
        Err(Error::Corrupt(_))
    ));
}

/// What one committer saw for one append.
#[derive(Debug)]
enum Seen {
    Committed(PartitionId, ObjectId, Offset, u32),
    Unknown,
    NotCommitted(PartitionId, ObjectId),
}

/// The manifest store a race runs on: one object per partition, or manifest groups.
#[derive(Debug, Clone, Copy)]
enum Layout {
    Single,
    Grouped,
}

/// A store over `flaky` in `layout`, with a topic `t` of `partitions` partitions created.
async fn store_for_race(
    flaky: Arc<FlakyStore>,
    layout: Layout,
    partitions: u32,
) -> (Arc<dyn ManifestStore>, TopicName) {
    let keys = Keys::new(Path::from("root"));
    let single = ObjectManifestStore::new(flaky.clone(), keys.clone())
        .with_resolve_timeout(Duration::from_millis(200));
    let topic = TopicName::new("t").unwrap();
    let topic_id = TopicId(Ulid::from_parts(9, 9));
    let store: Arc<dyn ManifestStore> = match layout {
        Layout::Single => Arc::new(single),
        Layout::Grouped => Arc::new(GroupedManifestStore::new(flaky, keys, single)),
    };
    let settings = TopicSettings {
        manifest_group_size: matches!(layout, Layout::Grouped).then_some(4),
        ..TopicSettings::default()
    };
    let config = TopicConfig::live(topic.clone(), topic_id, partitions, 0, settings);
    store.create_topic(&config).await.unwrap();
    for p in 0..partitions {
        store
            .create(&topic, PartitionId(p), topic_id)
            .await
            .unwrap();
    }
    (store, topic)
}

/// `writers` committers, writer `w` on partition `w % partitions`, `commits_each` commits
/// each, with `faults` injected on manifest requests; then checks every partition.
async fn race(
    seed: u64,
    faults: Vec<Rule>,
    layout: Layout,
    (writers, partitions): (u8, u32),
    commits_each: u64,
) -> Result<(), TestCaseError> {
    let flaky = FlakyStore::new(Arc::new(InMemory::new()), seed);
    let (store, topic) = store_for_race(flaky.clone(), layout, partitions).await;
    flaky.set_rules(faults);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, topic) = (store.clone(), topic.clone());
        let p = PartitionId(u32::from(w) % partitions);
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for n in 0..commits_each {
                let seg = segment(u64::from(w) * 1_000 + n, 1 + (n % 3) as u32);
                let commit = Commit {
                    writer: writer(w),
                    seq: CommitSeq(n + 1),
                    now_ms: 0,
                    edit: append(vec![seg], None, None),
                };
                let base = match store.read(&topic, p).await {
                    Ok(Some(s)) => s,
                    _ => {
                        seen.push(Seen::NotCommitted(p, seg.id));
                        continue;
                    }
                };
                seen.push(match store.commit(&topic, p, &base, &commit).await {
                    Ok(done) => Seen::Committed(p, seg.id, done.base_offset.unwrap(), seg.records),
                    Err(Error::Indeterminate { .. }) => Seen::Unknown,
                    Err(_) => Seen::NotCommitted(p, seg.id),
                });
            }
            seen
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.extend(t.await.unwrap());
    }
    flaky.set_rules(Vec::new());
    for p in (0..partitions).map(PartitionId) {
        let m = store.read(&topic, p).await.unwrap().unwrap().manifest;
        check_invariants(&m).map_err(TestCaseError::fail)?;
        let at: HashMap<ObjectId, (Offset, u32)> = m
            .segments
            .iter()
            .map(|e| (e.id, (e.base_offset, e.records)))
            .collect();
        prop_assert_eq!(at.len(), m.segments.len(), "a segment was committed twice");
        for s in &seen {
            match s {
                Seen::Committed(on, id, base, records) if *on == p => prop_assert_eq!(
                    at.get(id),
                    Some(&(*base, *records)),
                    "acknowledged commit lost or moved"
                ),
                Seen::NotCommitted(on, id) if *on == p => prop_assert!(
                    !at.contains_key(id),
                    "a commit reported as failed is in the log"
                ),
                _ => {}
            }
        }
    }
    Ok(())
}

fn fault_rules() -> impl Strategy<Value = Vec<Rule>> {
    let fault = prop_oneof![
        Just(Fault::ErrorBefore),
        Just(Fault::ErrorAfter),
        Just(Fault::PreconditionAfter),
        Just(Fault::ConflictAfter),
        Just(Fault::Delay(Duration::from_millis(3))),
    ];
    let rule = (
        fault,
        prop_oneof![Just(Call::PutUpdate), Just(Call::Get)],
        0.0f64..0.4,
    )
        .prop_map(|(fault, call, p)| Rule::new(call, fault, p).on_keys("/manifest"));
    proptest::collection::vec(rule, 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Concurrent committers on one partition with faults on commits and reads: nothing
    /// acknowledged is lost or moved, nothing reported as failed is present, no segment is
    /// committed twice, offsets stay dense.
    #[test]
    fn commits_survive_races_and_ambiguous_outcomes(seed in any::<u64>(), faults in fault_rules()) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(race(seed, faults, Layout::Single, (4, 1), 12))?;
    }

    /// The same with manifest groups: four committers on two partitions of one group (two
    /// per partition), so commits to both share writes and race each other's.
    #[test]
    fn grouped_commits_survive_races_and_ambiguous_outcomes(seed in any::<u64>(), faults in fault_rules()) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(race(seed, faults, Layout::Grouped, (4, 2), 12))?;
    }
}

/// A store whose manifest writes always fail (but whose reads work) must not spin forever: the
/// commit gives up with `Indeterminate` once its resolve time is spent.
#[tokio::test]
async fn commits_give_up_when_writes_keep_failing() {
    let flaky = FlakyStore::new(Arc::new(InMemory::new()), 1);
    let store = ObjectManifestStore::new(flaky.clone(), Keys::new(Path::default()))
        .with_resolve_timeout(Duration::from_millis(100));
    let topic = TopicName::new("t").unwrap();
    let base = store
        .create(&topic, PartitionId(0), TopicId(Ulid::from_parts(9, 9)))
        .await
        .unwrap();
    flaky.set_rules(vec![Rule::new(Call::PutUpdate, Fault::ErrorBefore, 1.0)]);
    let commit = Commit {
        writer: writer(0),
        seq: CommitSeq(1),
        now_ms: 0,
        edit: append(vec![segment(1, 1)], None, None),
    };
    let outcome = store.commit(&topic, PartitionId(0), &base, &commit).await;
    assert!(
        matches!(outcome, Err(Error::Indeterminate { .. })),
        "{outcome:?}"
    );
}

/// A manifest write the store refuses for good (403, EACCES) fails the commit at once with
/// that error, naming the path, rather than sending it again until the resolve timeout and
/// reporting an unknown outcome; nothing is committed.
#[tokio::test]
async fn refused_writes_fail_at_once() {
    let flaky = FlakyStore::new(Arc::new(InMemory::new()), 1);
    let store = ObjectManifestStore::new(flaky.clone(), Keys::new(Path::default()))
        .with_resolve_timeout(Duration::from_secs(2));
    let topic = TopicName::new("t").unwrap();
    let base = store
        .create(&topic, PartitionId(0), TopicId(Ulid::from_parts(9, 9)))
        .await
        .unwrap();
    flaky.set_rules(vec![Rule::new(Call::PutUpdate, Fault::Denied, 1.0)]);
    let commit = Commit {
        writer: writer(0),
        seq: CommitSeq(1),
        now_ms: 0,
        edit: append(vec![segment(1, 1)], None, None),
    };
    let outcome = store.commit(&topic, PartitionId(0), &base, &commit).await;
    let Err(e) = outcome else {
        panic!("committed through a refused write");
    };
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.to_string().contains("t/00000/manifest"), "{e}");
    assert_eq!(flaky.injected(), 1, "one refused write, not a retry loop");
    let stored = store.read(&topic, PartitionId(0)).await.unwrap().unwrap();
    assert_eq!(stored.manifest.next_offset, Offset(0));
}

/// Markers leave by age, never by count: hundreds of writers keep theirs until the TTL passes.
#[test]
fn markers_expire_by_age_not_count() {
    let mut m = Manifest::new(TopicId(Ulid::from_parts(9, 9)), PartitionId(0));
    for w in 0..300u64 {
        let commit = Commit {
            writer: WriterId(Ulid::from_parts(2, u128::from(w))),
            seq: CommitSeq(1),
            now_ms: 1_000,
            edit: append(vec![segment(w, 1)], None, None),
        };
        m = apply(&m, &commit).unwrap();
    }
    assert_eq!(m.writers.len(), 300);
    let later = Commit {
        writer: writer(0),
        seq: CommitSeq(1),
        now_ms: 1_000 + silt_core::manifest::WRITER_MARKER_TTL_MS,
        edit: append(vec![segment(999, 1)], None, None),
    };
    assert_eq!(apply(&m, &later).unwrap().writers.len(), 1);
}

/// A segment inside a mixed object keeps its position through apply and the codec, makes
/// the manifest format 4 (an older silt refuses it), and is buried as a `mixed` tombstone.
#[test]
fn mixed_segments_keep_their_position_and_raise_the_format() {
    let m = Manifest::new(TopicId(Ulid::from_parts(9, 9)), PartitionId(0));
    let plain = apply(&m, &commit_of(append(vec![segment(1, 2)], None, None))).unwrap();
    assert_eq!(plain.format_version, codec::FORMAT_VERSION);
    let mixed = NewSegment {
        mixed_at: Some(4_096),
        ..segment(2, 3)
    };
    let m = apply(&plain, &commit_of(append(vec![mixed], None, None))).unwrap();
    assert_eq!(m.format_version, codec::MIXED_FORMAT_VERSION);
    let entry = m.segments[1];
    assert_eq!(
        (entry.mixed_at, entry.base_offset),
        (Some(4_096), Offset(2))
    );
    let decoded = codec::decode(&codec::encode(&m).unwrap(), "m").unwrap();
    assert_eq!(decoded, m);
    let tomb = entry.tombstone(5);
    assert_eq!(tomb.kind, silt_core::manifest::TombstoneKind::Mixed);
}

fn commit_of(edit: Edit) -> Commit {
    Commit {
        writer: writer(0),
        seq: CommitSeq(1),
        now_ms: 1_000,
        edit,
    }
}

/// Offsets near the top of u64 in a stored manifest are corruption, not a panic.
#[test]
fn overflowing_offsets_in_storage_are_corrupt() {
    let json = r#"{"format_version":1,"topic_id":"01ARZ3NDEKTSV4RRFFQ69G5FAV","partition":0,
        "version":1,"epoch":0,"leader":null,"next_offset":18446744073709551615,
        "log_start_offset":18446744073709551613,
        "segments":[{"id":"01ARZ3NDEKTSV4RRFFQ69G5FAV","base_offset":18446744073709551613,
        "records":9,"bytes":1,"min_ts":0,"max_ts":0}]}"#;
    assert!(matches!(
        codec::decode(json.as_bytes(), "m"),
        Err(Error::Corrupt(_))
    ));
}
