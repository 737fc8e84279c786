//! Index chunk objects: immutable runs of segment entries sealed out of a manifest to keep it
//! small (docs/design.md §6 rule 7). Written with a conditional create before the commit that
//! references them; read (and cached forever) by the object manifest store's lookups.

use object_store::{PutMode, PutOptions};

use crate::error::Result;
use crate::ids::TopicName;
use crate::manifest::{ChunkRef, IndexChunk, Manifest, SegmentEntry, codec};
use crate::store::Storage;

impl Storage {
    /// Writes a chunk holding `entries` (the oldest tail entries of `manifest`) and returns the
    /// reference to commit. Nothing refers to it until that commit succeeds.
    pub async fn write_chunk(
        &self,
        topic: &TopicName,
        manifest: &Manifest,
        entries: &[SegmentEntry],
    ) -> Result<Option<ChunkRef>> {
        let id = self.new_object_id();
        let Some(chunk) = ChunkRef::covering(id, entries) else {
            return Ok(None);
        };
        // A chunk listing ranges of mixed objects is refused by a silt from before them.
        let format_version = match entries.iter().any(SegmentEntry::is_mixed) {
            true => codec::MIXED_FORMAT_VERSION,
            false => codec::FORMAT_VERSION,
        };
        let body = IndexChunk {
            format_version,
            topic_id: manifest.topic_id,
            partition: manifest.partition,
            entries: entries.to_vec(),
        };
        let path = self.keys.index_chunk(topic, manifest.partition, id);
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        self.objects
            .put_opts(&path, codec::encode_chunk(&body).into(), opts)
            .await?;
        Ok(Some(chunk))
    }
}
