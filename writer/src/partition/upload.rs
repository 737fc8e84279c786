//! Encode a batch as a segment (on a blocking thread: zstd is CPU work) and upload it under a
//! fresh object id, once the partition is known to have a manifest. The id is unique, so the
//! PUT is a plain idempotent overwrite that the object store client may retry on its own. An
//! upload is invisible until committed.
//!
//! An encoder cancelled because the runtime is shutting down is [`AppendError::Closed`]:
//! nothing was uploaded, and the writer is going away.

use object_store::{ObjectStoreExt, PutPayload};
use silt_core::error::Error;
use silt_core::ids::Epoch;
use silt_core::manifest::NewSegment;
use silt_core::metrics;
use silt_core::record::Record;
use silt_core::segment::{self, SegmentHeader};

use super::Committer;
use crate::AppendError;

/// Encodes `records` and PUTs them as `seg/<new id>.seg`.
pub(crate) async fn upload(
    committer: Committer,
    records: Vec<Record>,
    epoch: Epoch,
    zstd_level: i32,
) -> Result<NewSegment, AppendError> {
    committer.ensure_manifest().await?;
    let id = committer.storage.new_object_id();
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
        let bytes = segment::encode(&identity, &records, zstd_level);
        let min_ts = records.iter().map(|r| r.timestamp_ms).min().unwrap_or(0);
        let max_ts = records.iter().map(|r| r.timestamp_ms).max().unwrap_or(0);
        bytes.map(|b| (b, records.len() as u32, min_ts, max_ts))
    })
    .await;
    let (bytes, records, min_ts, max_ts) = match encoded {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return Err(Error::internal("encoding a segment", e).into()),
        Err(e) if e.is_cancelled() => return Err(AppendError::Closed),
        Err(e) => return Err(Error::internal("running the segment encoder task", e).into()),
    };
    let path = committer
        .storage
        .keys
        .segment(&committer.topic, committer.partition, id);
    let len = bytes.len() as u64;
    committer
        .storage
        .objects
        .put(&path, PutPayload::from_bytes(bytes))
        .await
        .map_err(|e| AppendError::from(Error::from(e)))?;
    metrics::segment_written(&committer.topic, len);
    Ok(NewSegment {
        id,
        records,
        bytes: len,
        min_ts,
        max_ts,
        producer: None,
        mixed_at: None,
    })
}
