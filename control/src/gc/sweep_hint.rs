//! The orphan sweep's hint (`<partition>/orphans-swept`): how far the last sweep of the
//! partition went, so the next one lists only what is new.
//!
//! Object ids are ULIDs, so `seg/` and `idx/` list in id-time order. Every object whose id time
//! is below `resume_ms` was looked at by an earlier sweep and was then deleted or referenced
//! (a referenced object that is later dropped from the log goes through the graveyard, never
//! through this sweep). `settled_chunks` names index chunks all of whose entries have id times
//! below `resume_ms`: a sweep from there never needs to read them (chunks are immutable).
//!
//! The hint is only an optimisation (see `crate::hint`): a missing, damaged or foreign one
//! means a full sweep. An object given an id time below `resume_ms` after the sweep passed it
//! (only by a clock more than the orphan grace behind GC's: its commit is refused as
//! `StaleUpload`) is left for a full sweep; deleting the hint makes the next sweep a full one.

use serde::{Deserialize, Serialize};
use silt_core::error::Result;
use silt_core::ids::{ObjectId, PartitionId, TopicId, TopicName};
use silt_core::store::Storage;

use crate::hint;

/// Format of the hint document.
const FORMAT_VERSION: u32 = 1;

/// Where the orphan sweep of one partition resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct SweepHint {
    format_version: u32,
    /// The topic incarnation it belongs to.
    topic_id: TopicId,
    /// Every object whose id time is below this was deleted or referenced when swept.
    pub(super) resume_ms: i64,
    /// Index chunks whose entries all have id times below `resume_ms`.
    pub(super) settled_chunks: Vec<ObjectId>,
}

impl SweepHint {
    /// A hint saying nothing: sweep everything.
    pub(super) fn none(topic_id: TopicId) -> SweepHint {
        SweepHint {
            format_version: FORMAT_VERSION,
            topic_id,
            resume_ms: 0,
            settled_chunks: Vec::new(),
        }
    }

    /// The next sweep's hint.
    pub(super) fn next(topic_id: TopicId, resume_ms: i64, settled: Vec<ObjectId>) -> SweepHint {
        SweepHint {
            format_version: FORMAT_VERSION,
            topic_id,
            resume_ms,
            settled_chunks: settled,
        }
    }

    /// The partition's hint if it can be trusted for a sweep below `floor_ms` of topic
    /// incarnation `topic_id`; [`SweepHint::none`] otherwise.
    pub(super) async fn read(
        storage: &Storage,
        topic: &TopicName,
        p: PartitionId,
        topic_id: TopicId,
        floor_ms: i64,
    ) -> Result<SweepHint> {
        let path = storage.keys.orphan_sweep_hint(topic, p);
        let found: Option<SweepHint> = hint::read(storage, &path).await?;
        let usable = |h: &SweepHint| {
            h.format_version == FORMAT_VERSION
                && h.topic_id == topic_id
                && (0..=floor_ms).contains(&h.resume_ms)
        };
        match found {
            Some(h) if usable(&h) => Ok(h),
            Some(_) => {
                tracing::warn!("ignoring the orphan sweep hint {path}: not of this partition");
                Ok(SweepHint::none(topic_id))
            }
            None => Ok(SweepHint::none(topic_id)),
        }
    }

    /// Stores it as the partition's hint.
    pub(super) async fn write(
        &self,
        storage: &Storage,
        topic: &TopicName,
        p: PartitionId,
    ) -> Result<()> {
        hint::write(storage, &storage.keys.orphan_sweep_hint(topic, p), self).await
    }
}
