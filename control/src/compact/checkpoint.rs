//! Key compaction's checkpoint (`<partition>/cleaned-to`, as Kafka's cleaner offset
//! checkpoint): the offset its next run's scan starts from, so a partition whose compactable
//! range is larger than one run's budget is cleaned a window at a time instead of always up to
//! the same point. A scan that reaches the end of what may be cleaned (the compaction lag, or
//! the end of the log) sets it back to the log start, as Kafka's cleaner starts over.
//!
//! Only an optimisation (see `crate::hint`): a missing, damaged or foreign checkpoint means a
//! scan from the log start, as without one.

use serde::{Deserialize, Serialize};
use silt_core::error::Result;
use silt_core::ids::{Offset, PartitionId, TopicId, TopicName};
use silt_core::store::Storage;

use crate::hint;

/// Format of the checkpoint document.
const FORMAT_VERSION: u32 = 1;

/// Where the next key compaction of a partition starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Checkpoint {
    format_version: u32,
    /// The topic incarnation it belongs to.
    topic_id: TopicId,
    /// The offset the next scan starts from (the log start when it is below it).
    cleaned_to: Offset,
}

/// The offset the partition's next key compaction starts from; `None` when there is no
/// usable checkpoint (start at the log start).
pub(super) async fn read(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    topic_id: TopicId,
) -> Result<Option<Offset>> {
    let path = storage.keys.cleaned_to(topic, p);
    let found: Option<Checkpoint> = hint::read(storage, &path).await?;
    Ok(found
        .filter(|c| c.format_version == FORMAT_VERSION && c.topic_id == topic_id)
        .map(|c| c.cleaned_to))
}

/// Stores `cleaned_to` as where the partition's next key compaction starts.
pub(super) async fn write(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    topic_id: TopicId,
    cleaned_to: Offset,
) -> Result<()> {
    let checkpoint = Checkpoint {
        format_version: FORMAT_VERSION,
        topic_id,
        cleaned_to,
    };
    hint::write(storage, &storage.keys.cleaned_to(topic, p), &checkpoint).await
}
