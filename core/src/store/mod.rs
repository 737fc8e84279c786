//! Where manifests live and how they are committed (DESIGN §6). One trait,
//! [`ManifestStore`], hides the backend from writers, readers and jobs:
//!
//! - [`ObjectManifestStore`]: one object per partition written with `PutMode::Create` /
//!   `PutMode::Update` on any `ObjectStore` that honours them (S3, MinIO, SeaweedFS,
//!   `memory://`, and `file://` through [`LocalCasStore`]);
//! - a DynamoDB store (later) implements the same trait.
//!
//! [`Storage`] bundles an object store, the key layout, a manifest store and a clock; it is
//! opened from a URL by [`Storage::open`].

mod counting;
mod local_cas;
mod object;
mod open;
mod probe;

pub use counting::{CountingStore, RequestCounts};
pub use local_cas::LocalCasStore;
pub use object::{COMMIT_RACES_MAX, COMMIT_RESOLVE_TIMEOUT, ObjectManifestStore};
pub use open::{DEFAULT_STORE_URL, Storage};
pub use probe::probe_conditional_writes;

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
use crate::ids::{Offset, PartitionId, TopicId, TopicName};
use crate::manifest::{Commit, Manifest};

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
    /// reading back (DESIGN §6 rule 5), so `Ok` means committed and an error means not
    /// committed, except [`Error::Indeterminate`](crate::error::Error::Indeterminate).
    async fn commit(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        base: &Snapshot,
        commit: &Commit,
    ) -> Result<Committed>;
}
