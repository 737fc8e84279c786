//! Idempotent producers (docs/design.md §6.6): per partition, each Kafka producer id's epoch and
//! the offsets of its last [`BATCHES_KEPT`] batches, kept in the manifest and changed by the
//! same commit as the append. [`check`] decides what a producer's batch may do against that
//! state (append, answer as a duplicate, or be refused); `apply` calls it for every segment
//! that carries a [`ProducerBatch`] under the commit's own condition, so a commit that loses a
//! race checks again against the newer manifest. [`outcome`] reads a committed manifest to
//! tell a writer what became of its batch, also after an ambiguous commit.

use serde::{Deserialize, Serialize};

use crate::ids::{Offset, ProducerEpoch, ProducerId};

/// Batches remembered per producer, as a Kafka broker does (`max.in.flight` is at most 5).
pub const BATCHES_KEPT: usize = 5;
/// A producer idle this long (by the committer's clock) is forgotten, as Kafka's
/// `producer.id.expiration.ms` (1 day) does.
pub const PRODUCER_IDLE_MS: i64 = 24 * 60 * 60 * 1000;
/// Producers remembered per partition. Beyond it the one idle longest is forgotten: its next
/// batch is refused `UnknownProducer` unless it starts a new epoch or sequence 0.
pub const PRODUCERS_MAX: usize = 500;

/// The producer identity a segment carries: the segment is exactly one producer batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerBatch {
    /// The producer.
    pub producer_id: ProducerId,
    /// Its epoch.
    pub epoch: ProducerEpoch,
    /// Sequence number of the batch's first record (its others follow, wrapping at
    /// `i32::MAX` to 0).
    pub first_seq: i32,
}

/// One producer's state in a partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerState {
    /// The producer.
    #[serde(rename = "id")]
    pub producer_id: ProducerId,
    /// Its current epoch here.
    pub epoch: ProducerEpoch,
    /// When it last appended (the committer's clock).
    #[serde(rename = "at")]
    pub last_ms: i64,
    /// Its last batches, oldest first, at most [`BATCHES_KEPT`].
    pub batches: Vec<BatchOffsets>,
}

/// A committed batch: `(first_seq, last_seq, base_offset, last_offset)`, stored as a JSON
/// array to keep the manifest small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOffsets(pub i32, pub i32, pub Offset, pub Offset);

/// Why a producer's batch was refused; nothing of it was appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProducerRefusal {
    /// A newer epoch of this producer id appended here: this incarnation is fenced
    /// (Kafka's `INVALID_PRODUCER_EPOCH` / `PRODUCER_FENCED`).
    #[error("producer {producer_id} epoch {epoch} is fenced: epoch {current} appended since")]
    Fenced {
        /// The producer.
        producer_id: ProducerId,
        /// The batch's epoch.
        epoch: ProducerEpoch,
        /// The newer epoch.
        current: ProducerEpoch,
    },
    /// The batch does not follow the producer's last one (Kafka's
    /// `OUT_OF_ORDER_SEQUENCE_NUMBER`); a new epoch must start at 0.
    #[error("producer {producer_id}: batch starts at sequence {first_seq}, expected {expected}")]
    OutOfOrder {
        /// The producer.
        producer_id: ProducerId,
        /// The batch's first sequence.
        first_seq: i32,
        /// The sequence that would follow.
        expected: i32,
    },
    /// No state for this producer here (never seen, or forgotten after being idle), and the
    /// batch does not start at 0 (Kafka's `UNKNOWN_PRODUCER_ID`).
    #[error(
        "producer {producer_id} is unknown on this partition; its batch starts at sequence {first_seq}, not 0"
    )]
    UnknownProducer {
        /// The producer.
        producer_id: ProducerId,
        /// The batch's first sequence.
        first_seq: i32,
    },
    /// A sequence below 0 or a batch of no records (Kafka's `INVALID_RECORD`).
    #[error(
        "producer {producer_id}: a batch of {records} records at sequence {first_seq} is not valid"
    )]
    InvalidBatch {
        /// The producer.
        producer_id: ProducerId,
        /// The batch's first sequence.
        first_seq: i32,
        /// Its records.
        records: u32,
    },
}

/// What a batch may do against a producer's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// It is the next batch: append it and advance the state.
    Append,
    /// It was committed before, at these offsets: append nothing.
    Duplicate {
        /// Its first record's offset.
        base_offset: Offset,
        /// Its last record's offset.
        last_offset: Offset,
    },
    /// It may not be appended.
    Refused(ProducerRefusal),
}

/// What became of a batch, once its commit is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Its first record's offset.
    pub base_offset: Offset,
    /// Its last record's offset.
    pub last_offset: Offset,
    /// True when it had been committed before (a retry): nothing was appended this time.
    pub duplicate: bool,
}

/// `seq + n`, wrapping past `i32::MAX` to 0 as Kafka's sequence numbers do.
pub fn seq_plus(seq: i32, n: u32) -> i32 {
    let modulus = i64::from(i32::MAX) + 1;
    ((i64::from(seq) + i64::from(n)) % modulus) as i32
}

/// The sequence of a batch's last record.
fn last_seq(b: &ProducerBatch, records: u32) -> i32 {
    seq_plus(b.first_seq, records.saturating_sub(1))
}

/// Decides what batch `b` of `records` records may do, given its producer's state here.
pub fn check(state: Option<&ProducerState>, b: &ProducerBatch, records: u32) -> Check {
    let producer_id = b.producer_id;
    let first_seq = b.first_seq;
    if first_seq < 0 || records == 0 {
        return Check::Refused(ProducerRefusal::InvalidBatch {
            producer_id,
            first_seq,
            records,
        });
    }
    let Some(state) = state else {
        return match first_seq {
            0 => Check::Append,
            _ => Check::Refused(ProducerRefusal::UnknownProducer {
                producer_id,
                first_seq,
            }),
        };
    };
    if b.epoch < state.epoch {
        return Check::Refused(ProducerRefusal::Fenced {
            producer_id,
            epoch: b.epoch,
            current: state.epoch,
        });
    }
    let expected = match state.batches.last() {
        _ if b.epoch > state.epoch => 0,
        Some(last) => seq_plus(last.1, 1),
        None => 0,
    };
    if b.epoch == state.epoch {
        let last = last_seq(b, records);
        if let Some(d) = state
            .batches
            .iter()
            .find(|d| d.0 == first_seq && d.1 == last)
        {
            return Check::Duplicate {
                base_offset: d.2,
                last_offset: d.3,
            };
        }
    }
    match first_seq == expected {
        true => Check::Append,
        false => Check::Refused(ProducerRefusal::OutOfOrder {
            producer_id,
            first_seq,
            expected,
        }),
    }
}

/// Records batch `b` (which [`check`] allowed) as appended at `base_offset`, at `now_ms`.
pub fn advance(
    states: &mut Vec<ProducerState>,
    b: &ProducerBatch,
    records: u32,
    base_offset: Offset,
    now_ms: i64,
) {
    let done = BatchOffsets(
        b.first_seq,
        last_seq(b, records),
        base_offset,
        base_offset.plus(u64::from(records.saturating_sub(1))),
    );
    let state = match states.iter().position(|s| s.producer_id == b.producer_id) {
        Some(i) => &mut states[i],
        None => {
            states.push(ProducerState {
                producer_id: b.producer_id,
                epoch: b.epoch,
                last_ms: now_ms,
                batches: Vec::new(),
            });
            let last = states.len() - 1;
            &mut states[last]
        }
    };
    if state.epoch != b.epoch {
        state.epoch = b.epoch;
        state.batches.clear();
    }
    state.last_ms = state.last_ms.max(now_ms);
    state.batches.push(done);
    let excess = state.batches.len().saturating_sub(BATCHES_KEPT);
    state.batches.drain(..excess);
}

/// Forgets producers idle for [`PRODUCER_IDLE_MS`] at `now_ms`, then the longest idle beyond
/// [`PRODUCERS_MAX`].
pub fn prune(states: &mut Vec<ProducerState>, now_ms: i64) {
    states.retain(|s| now_ms.saturating_sub(s.last_ms) < PRODUCER_IDLE_MS);
    if states.len() > PRODUCERS_MAX {
        states.sort_by_key(|s| std::cmp::Reverse(s.last_ms));
        states.truncate(PRODUCERS_MAX);
    }
}

/// What became of batch `b` in a manifest whose producer state is `states`, written by a
/// commit that appended from `commit_base` on (the commit's marker says where): its offsets
/// recorded at or after `commit_base` were appended by that commit, earlier ones are a
/// duplicate's. A batch the state does not hold is refused for the reason [`check`] gives
/// now; `None` when the state no longer tells (it moved on past our batch).
pub fn outcome(
    states: &[ProducerState],
    b: &ProducerBatch,
    records: u32,
    commit_base: Offset,
) -> Option<Result<BatchOutcome, ProducerRefusal>> {
    let state = states.iter().find(|s| s.producer_id == b.producer_id);
    let last = last_seq(b, records);
    let found = state
        .filter(|s| s.epoch == b.epoch)
        .and_then(|s| s.batches.iter().find(|d| d.0 == b.first_seq && d.1 == last));
    if let Some(d) = found {
        return Some(Ok(BatchOutcome {
            base_offset: d.2,
            last_offset: d.3,
            duplicate: d.2 < commit_base,
        }));
    }
    match check(state, b, records) {
        Check::Refused(why) => Some(Err(why)),
        Check::Append | Check::Duplicate { .. } => None,
    }
}

#[cfg(test)]
#[path = "producers_tests.rs"]
mod tests;
