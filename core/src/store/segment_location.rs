//! Where a hot segment's bytes are: an object of its own (`seg/<id>.seg`), or a range of a
//! mixed object (`mixed/<id>.mix`, docs/design.md §19). The reader and every job GET segments
//! through [`SegmentLocation`], so a range inside a mixed object is read exactly as a whole
//! segment object is, and the arithmetic lives in one place.

use std::ops::Range;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};

use crate::ids::{PartitionId, TopicName};
use crate::manifest::SegmentEntry;
use crate::store::Storage;

/// A hot segment's bytes in the object store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentLocation {
    /// The object holding the segment.
    pub path: Path,
    /// Where the segment starts in the object (0 for an object of its own).
    pub start: u64,
    /// The segment's length, as its entry says.
    pub len: u64,
    /// Whether the segment is the whole object (its own), rather than a range of a mixed one.
    pub whole: bool,
}

impl Storage {
    /// Where the bytes of hot segment `entry` of `partition` are.
    pub fn segment_location(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        entry: &SegmentEntry,
    ) -> SegmentLocation {
        SegmentLocation {
            path: self.keys.segment_object(topic, partition, entry),
            start: entry.mixed_at.unwrap_or(0),
            len: entry.bytes,
            whole: !entry.is_mixed(),
        }
    }
}

impl SegmentLocation {
    /// The whole segment. For a range of a mixed object, fewer bytes than its entry says
    /// come back as they are, for the caller's size check to refuse.
    pub async fn get(&self, objects: &dyn ObjectStore) -> object_store::Result<Bytes> {
        if self.whole {
            return objects.get(&self.path).await?.bytes().await;
        }
        self.get_range(objects, 0..self.len).await
    }

    /// Bytes `range` of the segment (relative to its start).
    pub async fn get_range(
        &self,
        objects: &dyn ObjectStore,
        range: Range<u64>,
    ) -> object_store::Result<Bytes> {
        let start = self.start.saturating_add(range.start);
        let end = self.start.saturating_add(range.end);
        objects.get_range(&self.path, start..end).await
    }

    /// The last `n` bytes of the segment, and the segment's size: the object's for a segment
    /// of its own (so a wrong entry shows), the entry's for a range of a mixed object.
    pub async fn suffix(
        &self,
        objects: &dyn ObjectStore,
        n: u64,
    ) -> object_store::Result<(Bytes, u64)> {
        if !self.whole {
            let n = n.min(self.len);
            let tail = self.get_range(objects, self.len - n..self.len).await?;
            return Ok((tail, self.len));
        }
        let options = GetOptions {
            range: Some(GetRange::Suffix(n)),
            ..GetOptions::default()
        };
        let got = objects.get_opts(&self.path, options).await?;
        let size = got.meta.size;
        Ok((got.bytes().await?, size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ObjectId, Offset};
    use object_store::PutPayload;
    use object_store::memory::InMemory;
    use ulid::Ulid;

    fn entry(mixed_at: Option<u64>, bytes: u64) -> SegmentEntry {
        SegmentEntry {
            id: ObjectId(Ulid::from_parts(9, 9)),
            base_offset: Offset(0),
            records: 1,
            bytes,
            min_ts: 0,
            max_ts: 0,
            cold_day: None,
            mixed_at,
        }
    }

    #[tokio::test]
    async fn a_range_of_a_mixed_object_reads_like_an_object_of_its_own() {
        let storage = Storage::over(
            std::sync::Arc::new(InMemory::new()),
            Path::default(),
            "memory://",
        );
        let topic = TopicName::new("t").unwrap();
        let p = PartitionId(2);
        let own = storage.segment_location(&topic, p, &entry(None, 6));
        let mixed = storage.segment_location(&topic, p, &entry(Some(4), 6));
        let objects = storage.objects.as_ref();
        objects
            .put(&own.path, PutPayload::from_static(b"abcdef"))
            .await
            .unwrap();
        objects
            .put(&mixed.path, PutPayload::from_static(b"xxxxabcdefyy"))
            .await
            .unwrap();
        assert!(mixed.path.as_ref().ends_with(".mix"));
        for location in [&own, &mixed] {
            assert_eq!(location.get(objects).await.unwrap().as_ref(), b"abcdef");
            assert_eq!(
                location.get_range(objects, 1..3).await.unwrap().as_ref(),
                b"bc"
            );
            let (tail, size) = location.suffix(objects, 2).await.unwrap();
            assert_eq!((tail.as_ref(), size), (&b"ef"[..], 6));
        }
    }
}
