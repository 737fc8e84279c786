//! The producer-state rules, one by one.

use super::*;

const P: ProducerId = ProducerId(7);

fn batch(epoch: i16, first_seq: i32) -> ProducerBatch {
    ProducerBatch {
        producer_id: P,
        epoch: ProducerEpoch(epoch),
        first_seq,
    }
}

/// The state after appending `batches` (epoch, first seq, records) at consecutive offsets.
fn after(batches: &[(i16, i32, u32)]) -> Vec<ProducerState> {
    let mut states = Vec::new();
    let mut offset = Offset(100);
    for (epoch, seq, records) in batches {
        let b = batch(*epoch, *seq);
        let state = states.iter().find(|s: &&ProducerState| s.producer_id == P);
        assert_eq!(check(state, &b, *records), Check::Append, "{b:?}");
        advance(&mut states, &b, *records, offset, 1_000);
        offset = offset.plus(u64::from(*records));
    }
    states
}

fn check_in(states: &[ProducerState], epoch: i16, seq: i32, records: u32) -> Check {
    check(states.first(), &batch(epoch, seq), records)
}

#[test]
fn a_new_producer_starts_at_sequence_zero() {
    assert_eq!(check(None, &batch(0, 0), 3), Check::Append);
    let refused = check(None, &batch(0, 5), 3);
    let unknown = ProducerRefusal::UnknownProducer {
        producer_id: P,
        first_seq: 5,
    };
    assert_eq!(refused, Check::Refused(unknown));
}

#[test]
fn the_next_batch_follows_the_last() {
    let states = after(&[(0, 0, 3), (0, 3, 2)]);
    assert_eq!(check_in(&states, 0, 5, 10), Check::Append);
    assert_eq!(states[0].batches.len(), 2);
    assert_eq!(
        states[0].batches[1],
        BatchOffsets(3, 4, Offset(103), Offset(104))
    );
}

#[test]
fn a_retried_batch_gets_its_original_offsets() {
    let states = after(&[(0, 0, 3), (0, 3, 2), (0, 5, 4)]);
    let duplicate = Check::Duplicate {
        base_offset: Offset(103),
        last_offset: Offset(104),
    };
    assert_eq!(check_in(&states, 0, 3, 2), duplicate);
    // Same start, other length: not the batch we hold, and not the next one.
    assert!(matches!(
        check_in(&states, 0, 3, 3),
        Check::Refused(ProducerRefusal::OutOfOrder { expected: 9, .. })
    ));
}

#[test]
fn only_the_last_five_batches_are_remembered() {
    let batches: Vec<(i16, i32, u32)> = (0..7).map(|i| (0, i, 1)).collect();
    let states = after(&batches);
    assert_eq!(states[0].batches.len(), BATCHES_KEPT);
    assert!(matches!(
        check_in(&states, 0, 2, 1),
        Check::Duplicate { .. }
    ));
    // Older than the last five: no longer known, and not next.
    assert!(matches!(
        check_in(&states, 0, 1, 1),
        Check::Refused(ProducerRefusal::OutOfOrder { expected: 7, .. })
    ));
}

#[test]
fn a_gap_is_out_of_order() {
    let states = after(&[(0, 0, 3)]);
    let refused = ProducerRefusal::OutOfOrder {
        producer_id: P,
        first_seq: 4,
        expected: 3,
    };
    assert_eq!(check_in(&states, 0, 4, 1), Check::Refused(refused));
}

#[test]
fn an_older_epoch_is_fenced() {
    let states = after(&[(0, 0, 1), (1, 0, 1)]);
    let refused = ProducerRefusal::Fenced {
        producer_id: P,
        epoch: ProducerEpoch(0),
        current: ProducerEpoch(1),
    };
    assert_eq!(check_in(&states, 0, 1, 1), Check::Refused(refused));
}

#[test]
fn a_newer_epoch_starts_at_zero_and_resets_the_state() {
    let states = after(&[(0, 0, 5)]);
    assert!(matches!(
        check_in(&states, 1, 5, 1),
        Check::Refused(ProducerRefusal::OutOfOrder { expected: 0, .. })
    ));
    let states = after(&[(0, 0, 5), (1, 0, 2)]);
    assert_eq!(states[0].epoch, ProducerEpoch(1));
    assert_eq!(
        states[0].batches,
        vec![BatchOffsets(0, 1, Offset(105), Offset(106))]
    );
}

#[test]
fn sequences_wrap_at_i32_max() {
    assert_eq!(seq_plus(i32::MAX, 1), 0);
    assert_eq!(seq_plus(i32::MAX - 1, 3), 1);
    let states = after(&[(0, 0, 1)]);
    let mut states = states;
    states[0].batches = vec![BatchOffsets(
        i32::MAX - 9,
        i32::MAX - 1,
        Offset(0),
        Offset(8),
    )];
    // A batch of three crossing the wrap: MAX, 0, 1.
    assert_eq!(check_in(&states, 0, i32::MAX, 3), Check::Append);
    advance(&mut states, &batch(0, i32::MAX), 3, Offset(9), 2_000);
    assert_eq!(
        states[0].batches[1],
        BatchOffsets(i32::MAX, 1, Offset(9), Offset(11))
    );
    assert_eq!(check_in(&states, 0, 2, 1), Check::Append);
    assert!(matches!(
        check_in(&states, 0, i32::MAX, 3),
        Check::Duplicate { .. }
    ));
}

#[test]
fn invalid_batches_are_refused() {
    assert!(matches!(
        check(None, &batch(0, -1), 1),
        Check::Refused(ProducerRefusal::InvalidBatch { .. })
    ));
    assert!(matches!(
        check(None, &batch(0, 0), 0),
        Check::Refused(ProducerRefusal::InvalidBatch { .. })
    ));
}

#[test]
fn idle_producers_expire_on_the_committers_clock() {
    let mut states = after(&[(0, 0, 1)]); // appended at 1_000 ms
    prune(&mut states, 1_000 + PRODUCER_IDLE_MS - 1);
    assert_eq!(states.len(), 1);
    prune(&mut states, 1_000 + PRODUCER_IDLE_MS);
    assert!(states.is_empty());
    // Forgotten, its next batch is refused as unknown; sequence 0 starts it again.
    assert!(matches!(
        check(None, &batch(0, 1), 1),
        Check::Refused(ProducerRefusal::UnknownProducer { .. })
    ));
}

#[test]
fn beyond_the_cap_the_longest_idle_producer_is_forgotten() {
    let mut states = Vec::new();
    for i in 0..=PRODUCERS_MAX as i64 {
        let b = ProducerBatch {
            producer_id: ProducerId(i),
            epoch: ProducerEpoch(0),
            first_seq: 0,
        };
        advance(&mut states, &b, 1, Offset(i as u64), 10 + i);
    }
    assert_eq!(states.len(), PRODUCERS_MAX + 1);
    prune(&mut states, 10 + PRODUCERS_MAX as i64);
    assert_eq!(states.len(), PRODUCERS_MAX);
    assert!(!states.iter().any(|s| s.producer_id == ProducerId(0)));
    assert!(states.iter().any(|s| s.producer_id == ProducerId(1)));
}

#[test]
fn outcome_tells_appended_from_duplicate_and_refused() {
    let states = after(&[(0, 0, 3), (0, 3, 2)]); // offsets 100..=102, 103..=104
    let appended = outcome(&states, &batch(0, 3), 2, Offset(103));
    let expected = BatchOutcome {
        base_offset: Offset(103),
        last_offset: Offset(104),
        duplicate: false,
    };
    assert_eq!(appended, Some(Ok(expected)));
    let retried = outcome(&states, &batch(0, 3), 2, Offset(110));
    assert_eq!(
        retried.and_then(|o| o.ok()).map(|o| o.duplicate),
        Some(true)
    );
    let gap = outcome(&states, &batch(0, 9), 1, Offset(110));
    assert!(matches!(gap, Some(Err(ProducerRefusal::OutOfOrder { .. }))));
    // The state would take it now: it tells nothing of what our commit did.
    assert_eq!(outcome(&states, &batch(0, 5), 1, Offset(110)), None);
}

mod in_a_commit {
    use super::*;
    use crate::ids::{CommitSeq, ObjectId, PartitionId, TopicId, WriterId};
    use crate::manifest::{Append, Commit, Edit, Manifest, NewSegment, apply, codec};
    use ulid::Ulid;

    fn segment(n: u64, records: u32, producer: Option<ProducerBatch>) -> NewSegment {
        NewSegment {
            id: ObjectId(Ulid::from_parts(1_000 + n, u128::from(n))),
            records,
            bytes: 10,
            min_ts: 0,
            max_ts: 0,
            producer,
            mixed_at: None,
        }
    }

    fn commit(seq: u64, segments: Vec<NewSegment>) -> Commit {
        Commit {
            writer: WriterId(Ulid::from_parts(1, 1)),
            seq: CommitSeq(seq),
            now_ms: 5_000,
            edit: Edit::Append(Append {
                segments,
                leader_epoch: None,
                expect_next_offset: None,
                lease_until_ms: None,
                seal: None,
            }),
        }
    }

    #[test]
    fn a_refused_or_duplicate_batch_is_left_out_and_others_land() {
        let m = Manifest::new(TopicId(Ulid::from_parts(1, 2)), PartitionId(0));
        let first = commit(1, vec![segment(1, 3, Some(batch(0, 0)))]);
        let m = apply(&m, &first).expect("first batch");
        assert_eq!(m.next_offset, Offset(3));
        let retry = vec![
            segment(2, 3, Some(batch(0, 0))),
            segment(3, 2, None),
            segment(4, 1, Some(batch(0, 9))),
            segment(5, 4, Some(batch(0, 3))),
        ];
        let m = apply(&m, &commit(2, retry)).expect("second commit");
        let ids: Vec<u64> = m.segments.iter().map(|s| s.id.0.random() as u64).collect();
        assert_eq!(ids, vec![1, 3, 5]);
        assert_eq!(m.next_offset, Offset(9));
        let last = m.producers[0].batches.last().copied();
        assert_eq!(last, Some(BatchOffsets(3, 6, Offset(5), Offset(8))));
        assert_eq!(m.format_version, codec::PRODUCERS_FORMAT_VERSION);
    }

    #[test]
    fn the_state_survives_the_codec_and_older_documents_read_without_it() {
        let m = Manifest::new(TopicId(Ulid::from_parts(1, 2)), PartitionId(0));
        let plain = codec::encode(&m).expect("encode");
        assert!(!String::from_utf8_lossy(&plain).contains("producers"));
        assert!(
            codec::decode(&plain, "t")
                .expect("decode")
                .producers
                .is_empty()
        );
        let m = apply(&m, &commit(1, vec![segment(1, 3, Some(batch(0, 0)))])).expect("apply");
        let bytes = codec::encode(&m).expect("encode");
        assert_eq!(codec::decode(&bytes, "t").expect("decode"), m);
    }
}

#[test]
fn the_capped_state_fits_the_manifest_and_head_budgets() {
    let mut states = Vec::new();
    for i in 0..PRODUCERS_MAX as i64 {
        for n in 0..BATCHES_KEPT as i32 {
            let b = ProducerBatch {
                producer_id: ProducerId(i64::MAX - i),
                epoch: ProducerEpoch(i16::MAX),
                first_seq: i32::MAX - 100 + n,
            };
            let base = Offset(u64::MAX / 2 + n as u64);
            advance(&mut states, &b, 1, base, i64::MAX / 2);
        }
    }
    let bytes = serde_json::to_vec(&states).expect("encodes").len();
    // The DynamoDB head's budget is 350 KiB, writer markers included; the manifest's 1 MiB.
    assert!(
        bytes < 200 * 1024,
        "{bytes} bytes for {PRODUCERS_MAX} producers"
    );
}
