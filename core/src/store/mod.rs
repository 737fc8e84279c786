//! Where manifests live and how they are committed (docs/design.md §6). One trait,
//! [`ManifestStore`], hides the backend from writers, readers and jobs:
//!
//! - [`ObjectManifestStore`]: one object per partition written with `PutMode::Create` /
//!   `PutMode::Update` on any `ObjectStore` that honours them (S3, MinIO, SeaweedFS,
//!   `memory://`, and `file://` through [`LocalCasStore`]);
//! - [`DynamoManifestStore`]: a head item per partition and an item per segment in a DynamoDB
//!   table, committed with `TransactWriteItems` (segments stay in the object store).
//!
//! Both commit through the same loop (`resolve`) and answer the same lookups, so writers,
//! readers and jobs never know which one they use. The store also keeps topic configurations.
//!
//! [`Storage`] bundles an object store, the key layout, a manifest store and a clock; it is
//! opened from a URL by [`Storage::open`].

mod bounded;
pub mod cas;
mod chunk_cache;
mod commit_news;
mod counting;
#[cfg(feature = "dynamodb")]
mod dynamo;
mod grouped;
mod local_cas;
mod metered;
mod missing;
mod mixed_evidence;
mod mixed_toc;
mod object;
mod object_index;
mod object_topics;
mod open;
mod probe;
mod read_back;
mod resolve;
mod s3_setup;
mod secret;
mod segment_location;
mod tail_cache;

pub use chunk_cache::CHUNK_CACHE_BYTES;
pub use commit_news::{CommitNews, Heard, NewsReceiver};
pub use counting::{CountingStore, RequestCounts};
#[cfg(all(feature = "dynamodb", feature = "test-util"))]
pub(crate) use dynamo::item_codecs;
#[cfg(feature = "dynamodb")]
pub use dynamo::{
    DynamoCas, DynamoManifestStore, LookupLimits, TABLE_KEY_SCHEMA, TIMESTAMP_LOOKUP_PAGES_MAX,
};
pub use grouped::{GROUPED_TAIL_SEAL_AT, GroupedManifestStore};
pub use local_cas::LocalCasStore;
pub use metered::MeteredStore;
pub use mixed_toc::read_mixed_toc;
pub use object::ObjectManifestStore;
pub use open::{DEFAULT_STORE_URL, Storage};
pub use probe::probe_conditional_writes;
pub use resolve::{COMMIT_RACES_MAX, COMMIT_RESOLVE_TIMEOUT, WriteFailed};
pub use secret::SECRET_BYTES;
pub use segment_location::SegmentLocation;
pub use tail_cache::{TAIL_CACHE_BYTES, TailCache};

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
use crate::ids::{Offset, PartitionId, TopicId, TopicName};
use crate::manifest::{Commit, Manifest, SegmentEntry, Tombstone};
use crate::topic::TopicConfig;

/// A manifest as read, with the backend's version token for the next conditional write.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The document.
    pub manifest: Arc<Manifest>,
    /// ETag (object stores) or version (DynamoDB) the document was read or written at.
    pub e_tag: Option<String>,
    /// Object version, where the backend has them.
    pub object_version: Option<String>,
}

/// The outcome of a successful commit.
#[derive(Debug, Clone)]
pub struct Committed {
    /// A manifest that contains the commit (possibly with later commits of others).
    pub snapshot: Snapshot,
    /// For an append: the offset given to its first record.
    pub base_offset: Option<Offset>,
}

/// Stores partition manifests and commits edits to them with conditional writes.
#[async_trait]
pub trait ManifestStore: Send + Sync + Debug {
    /// Creates the manifest of a new partition unless it exists; returns the current one.
    async fn create(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        topic_id: TopicId,
    ) -> Result<Snapshot>;

    /// Most segments one commit may add (DynamoDB: 99, one transaction; object manifests: 256).
    /// A writer splits its group commits at this limit.
    fn segments_per_commit_max(&self) -> usize;

    /// Whether a successful commit's [`Committed::snapshot`] is the manifest exactly as stored,
    /// so a reader of this process may take it instead of reading (`Storage::commit_news`):
    /// true for object manifests (the document just written, under its ETag); false for
    /// DynamoDB, whose answer is the writer's copy with the edit applied (its version and
    /// what other committers changed, such as the log start, may lag the table).
    fn commits_are_exact(&self) -> bool;

    /// Tail entries of `topic` at which a writer seals the oldest three quarters into an
    /// index chunk.
    fn tail_seal_at(&self, _topic: &TopicName) -> usize {
        crate::manifest::TAIL_SEAL_AT
    }

    /// Where a partition's manifest lives, for error messages (an object key, or a DynamoDB
    /// table and partition key).
    fn manifest_location(&self, topic: &TopicName, partition: PartitionId) -> String;

    /// Reads the current manifest, strongly consistent; `None` if the partition has none.
    async fn read(&self, topic: &TopicName, partition: PartitionId) -> Result<Option<Snapshot>>;

    /// Reads the manifest only if it differs from `known` (a cheap revalidation):
    /// `None` means unchanged.
    async fn read_if_changed(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        known: &Snapshot,
    ) -> Result<Option<Snapshot>>;

    /// Commits `commit` on top of `base`, or on top of a newer manifest if another committer
    /// got there first (the edit is re-applied: a rebase). Resolves ambiguous outcomes by
    /// reading back (docs/design.md §6 rule 5), so `Ok` means committed and an error means not
    /// committed, except [`Error::Indeterminate`](crate::error::Error::Indeterminate).
    async fn commit(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        base: &Snapshot,
        commit: &Commit,
    ) -> Result<Committed>;

    /// Committed segments of `snapshot`, oldest first, from the one holding `from` (or the
    /// first after it), at most `max`.
    async fn segments_from(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        snapshot: &Snapshot,
        from: Offset,
        max: usize,
    ) -> Result<Vec<SegmentEntry>>;

    /// The first segment of `snapshot` ending after `from` whose newest record is at or after
    /// `ts_ms` (the start of a read by timestamp).
    async fn first_segment_reaching(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        snapshot: &Snapshot,
        ts_ms: i64,
        from: Offset,
    ) -> Result<Option<SegmentEntry>>;

    /// The segment of `snapshot` holding `offset`, if any.
    async fn segment_at(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        snapshot: &Snapshot,
        offset: Offset,
    ) -> Result<Option<SegmentEntry>> {
        let found = self
            .segments_from(topic, partition, snapshot, offset, 1)
            .await?;
        Ok(found.into_iter().next().filter(|e| e.base_offset <= offset))
    }

    /// The graveyard of `snapshot`: objects removed from the log, waiting for deletion.
    async fn graveyard(
        &self,
        _topic: &TopicName,
        _partition: PartitionId,
        snapshot: &Snapshot,
    ) -> Result<Vec<Tombstone>> {
        Ok(snapshot.manifest.graveyard.clone())
    }

    /// Stores a new topic's configuration unless the name is taken; returns what is stored
    /// under the name (the caller compares topic ids to tell its own retried create apart).
    async fn create_topic(&self, config: &TopicConfig) -> Result<TopicConfig>;

    /// A topic's configuration, strongly consistent; `None` if there is no such topic.
    async fn read_topic(&self, name: &TopicName) -> Result<Option<TopicConfig>>;

    /// Replaces a topic's configuration with `next` only if it is still `current` (a
    /// conditional write); false when it was not (changed meanwhile, or gone).
    async fn replace_topic(&self, current: &TopicConfig, next: &TopicConfig) -> Result<bool>;

    /// Names of all topics, sorted.
    async fn list_topics(&self) -> Result<Vec<TopicName>>;

    /// GC of a deleted topic, last step per partition: removes the manifest (object) or every
    /// item (DynamoDB) of `topic`/`p`, only if it is marked deleted and belongs to
    /// incarnation `topic_id`. Returns the objects or items removed (0: nothing to remove).
    async fn remove_deleted(
        &self,
        topic: &TopicName,
        p: PartitionId,
        topic_id: TopicId,
    ) -> Result<u64>;
}
