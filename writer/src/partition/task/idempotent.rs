//! Answering idempotent producers' batches once their commit is known (docs/design.md §6.6):
//! the commit may have left any of them out (a retry already committed, a gap, an older
//! epoch), so each batch's fate is read from the producer state of the committed manifest,
//! which is also what decides it after an ambiguous outcome.

use std::collections::HashSet;
use std::sync::Arc;

use silt_core::error::Error;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::manifest::Manifest;
use silt_core::manifest::producers::{self, BatchOutcome};
use silt_core::metrics;

use super::Uploaded;
use crate::{AppendAck, AppendError};

/// Answers the waiter of each batch in `committing`, a commit that appended from `base` and
/// left `manifest` (`None`: no manifest came back, so nothing can be told).
pub(super) fn answer(
    committing: Vec<Uploaded>,
    topic: &TopicName,
    partition: PartitionId,
    base: Offset,
    manifest: Option<&Manifest>,
) {
    let (mut records, mut bytes) = (0u64, 0u64);
    // The same batch twice in one commit (a retry sent before the first was answered): the
    // commit appended the first, so the others are duplicates.
    let mut seen = HashSet::new();
    let latency = metrics::ack_latency();
    for uploaded in committing {
        let found = match (uploaded.segment.producer, manifest) {
            (Some(b), Some(m)) => {
                let again = !seen.insert((b.producer_id, b.epoch, b.first_seq));
                let found = producers::outcome(&m.producers, &b, uploaded.segment.records, base);
                found.map(|o| {
                    o.map(|o| BatchOutcome {
                        duplicate: o.duplicate || again,
                        ..o
                    })
                })
            }
            _ => None,
        };
        for waiter in uploaded.waiters {
            match &found {
                Some(Ok(o)) => {
                    if !o.duplicate {
                        records += u64::from(waiter.records);
                        bytes += waiter.bytes as u64;
                    }
                    waiter.answer(ack(partition, o), &latency);
                }
                Some(Err(why)) => waiter.fail(&AppendError::Producer(why.clone())),
                None => waiter.fail(&untold(partition)),
            }
        }
    }
    if records > 0 {
        metrics::appended(topic, records, bytes);
    }
}

fn ack(partition: PartitionId, o: &BatchOutcome) -> AppendAck {
    AppendAck {
        partition,
        base_offset: o.base_offset,
        last_offset: o.last_offset,
        duplicate: o.duplicate,
    }
}

/// The state moved on past the batch (more than five later batches of its producer, or a new
/// epoch): whether it landed is no longer written down.
fn untold(partition: PartitionId) -> AppendError {
    AppendError::Indeterminate(Arc::new(Error::Indeterminate {
        partition,
        waited_ms: 0,
        last_error: "committed, but the producer state no longer tells this batch's offsets".into(),
    }))
}
