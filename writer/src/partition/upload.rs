//! Encode a batch as a segment (on a blocking thread: zstd is CPU work) and upload it under a
//! fresh object id, once the partition is known to have a manifest. The id is unique, so the
//! PUT is a plain idempotent overwrite that the object store client may retry on its own. An
//! upload is invisible until committed. A stored segment goes into the storage's tail cache,
//! for the cursors of this process that will read it once it is committed. The mixer
//! (`crate::mixer`) encodes the same way and puts several partitions' segments in one object.
//!
//! An encoder cancelled because the runtime is shutting down is [`AppendError::Closed`]:
//! nothing was uploaded, and the writer is going away.

use bytes::Bytes;
use object_store::{ObjectStoreExt, PutPayload};
use silt_core::error::Error;
use silt_core::ids::{Epoch, ObjectId};
use silt_core::manifest::NewSegment;
use silt_core::metrics;
use silt_core::record::Record;
use silt_core::segment::{self, SegmentHeader};
use silt_core::store::SegmentLocation;

use super::Committer;
use crate::AppendError;

/// A batch encoded as one segment, not yet stored.
#[derive(Debug)]
pub(crate) struct Encoded {
    pub(crate) bytes: Bytes,
    records: u32,
    min_ts: i64,
    max_ts: i64,
}

impl Encoded {
    /// The segment to commit once stored as object `id` (at `mixed_at` in a mixed object).
    pub(crate) fn segment(&self, id: ObjectId, mixed_at: Option<u64>) -> NewSegment {
        NewSegment {
            id,
            records: self.records,
            bytes: self.bytes.len() as u64,
            min_ts: self.min_ts,
            max_ts: self.max_ts,
            producer: None,
            mixed_at,
        }
    }
}

/// Encodes `records` as a segment of the committer's partition, written at `epoch`.
pub(crate) async fn encode(
    committer: &Committer,
    records: Vec<Record>,
    epoch: Epoch,
    zstd_level: i32,
) -> Result<Encoded, AppendError> {
    let identity = SegmentHeader {
        topic_id: committer.topic_id,
        partition: committer.partition,
        writer_id: committer.writer_id,
        epoch,
        record_count: 0,
        min_ts: 0,
        max_ts: 0,
    };
    let encoded = tokio::task::spawn_blocking(move || {
        let bytes = segment::encode(&identity, &records, zstd_level)?;
        Ok::<_, std::io::Error>(Encoded {
            bytes,
            records: records.len() as u32,
            min_ts: records.iter().map(|r| r.timestamp_ms).min().unwrap_or(0),
            max_ts: records.iter().map(|r| r.timestamp_ms).max().unwrap_or(0),
        })
    })
    .await;
    match encoded {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(e)) => Err(Error::internal("encoding a segment", e).into()),
        Err(e) if e.is_cancelled() => Err(AppendError::Closed),
        Err(e) => Err(Error::internal("running the segment encoder task", e).into()),
    }
}

/// Encodes `records` and PUTs them as `seg/<new id>.seg`.
pub(crate) async fn upload(
    committer: Committer,
    records: Vec<Record>,
    epoch: Epoch,
    zstd_level: i32,
) -> Result<NewSegment, AppendError> {
    committer.ensure_manifest().await?;
    let id = committer.storage.new_object_id();
    let encoded = encode(&committer, records, epoch, zstd_level).await?;
    let path = committer
        .storage
        .keys
        .segment(&committer.topic, committer.partition, id);
    let payload = PutPayload::from_bytes(encoded.bytes.clone());
    let storage = &committer.storage;
    let stored = storage.objects.put(&path, payload).await;
    stored.map_err(|e| AppendError::from(Error::from(e)))?;
    let len = encoded.bytes.len() as u64;
    metrics::segment_written(&committer.topic, len);
    let at = SegmentLocation {
        path,
        start: 0,
        len,
        whole: true,
    };
    storage.tail_cache.insert(&at, encoded.bytes.clone());
    Ok(encoded.segment(id, None))
}
