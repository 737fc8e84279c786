//! Telling damage from a race when something is not there (docs/design.md §6.5).
//!
//! - **A missing manifest.** Creating a topic creates each partition's manifest, and a writer
//!   makes sure its partition has one before its first upload. So a manifest that is absent
//!   while the partition's folders (`seg/`, `idx/`, its `tables/` folder) hold objects, or a
//!   mixed object of its topic holds a range of it, was deleted or lost:
//!   [`Error::ManifestMissing`], never an empty partition (which would give its offsets out
//!   again and let GC delete the data as orphans). With none of those, the topic's creation
//!   was cut short: the partition is empty, and a writer creates it.
//!   Every manifest read through [`Storage::manifests`] passes through [`Guarded`], so no
//!   reader, writer, job or command can mistake one for the other. A manifest that was read
//!   once and is gone later is damage too (the stores' `read_if_changed` and the commit loop
//!   say so at once: manifests are never deleted).
//! - **A missing object.** A segment, index chunk or Parquet file that is not found may have
//!   been removed by a job under a caller holding an older manifest. Only while the manifest
//!   read again still references it is it missing: [`Storage::still_references`].

use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;

use super::mixed_evidence::MixedEvidence;
use super::{Committed, ManifestStore, Snapshot, Storage};
use crate::error::{Corruption, Error, ObjectKind, ObjectRef, Result};
use crate::ids::{Offset, PartitionId, TopicId, TopicName};
use crate::keys::Keys;
use crate::manifest::{Commit, Manifest, SegmentEntry, Tombstone};
use crate::topic::TopicConfig;

/// Times [`Storage::still_references`] reads the manifest again when its own lookup meets an
/// object that a job removed meanwhile.
const RECHECKS: usize = 3;

/// A manifest store whose reads refuse a missing manifest next to a partition's objects.
#[derive(Debug)]
pub(super) struct Guarded {
    inner: Arc<dyn ManifestStore>,
    objects: Arc<dyn ObjectStore>,
    keys: Keys,
    mixed: MixedEvidence,
}

impl Guarded {
    /// `inner`, guarded by a look at the partitions' objects in `objects`.
    pub(super) fn wrap(
        inner: Arc<dyn ManifestStore>,
        objects: Arc<dyn ObjectStore>,
        keys: Keys,
    ) -> Arc<dyn ManifestStore> {
        Arc::new(Guarded {
            inner,
            objects,
            keys,
            mixed: MixedEvidence::default(),
        })
    }

    /// Whether `topic` is a live topic (not deleted) of incarnation `id`.
    async fn is_live(&self, topic: &TopicName, id: TopicId) -> Result<bool> {
        let config = self.inner.read_topic(topic).await?;
        Ok(config.is_some_and(|c| c.deleted.is_none() && c.topic_id == id))
    }

    /// `found`, read as `p`'s manifest, unless it is another partition's (copied over it:
    /// corrupt) or its topic was deleted.
    fn checked(&self, topic: &TopicName, p: PartitionId, found: Snapshot) -> Result<Snapshot> {
        let other = found.manifest.partition;
        if other != p {
            let corrupt = Corruption {
                what: "manifest",
                location: self.manifest_location(topic, p),
                reason: format!("it is the manifest of partition {other}"),
            };
            return Err(corrupt.into());
        }
        refuse_deleted(topic, found)
    }

    /// The first object found in the partition's folders, if any (one LIST page each).
    async fn first_object(&self, topic: &TopicName, p: PartitionId) -> Result<Option<String>> {
        let folder = self.keys.partition(topic, p);
        let folders = [
            folder.clone().join("seg"),
            folder.join("idx"),
            self.keys.partition_table(topic, p),
        ];
        for folder in folders {
            if let Some(found) = self.objects.list(Some(&folder)).next().await {
                return Ok(Some(found?.location.to_string()));
            }
        }
        self.mixed_object_holding(topic, p).await
    }

    /// A mixed object of the topic whose toc names `p` (docs/design.md §19): a partition
    /// written through a mixing writer may have no folder of its own yet. The topic's
    /// configuration is read only when it has mixed objects.
    async fn mixed_object_holding(
        &self,
        topic: &TopicName,
        p: PartitionId,
    ) -> Result<Option<String>> {
        let folder = self.keys.mixed_folder(topic);
        let listed = self.objects.list(Some(&folder)).map_ok(|m| m.location);
        let listed: Vec<_> = listed.try_collect().await?;
        if listed.is_empty() {
            return Ok(None);
        }
        let live = self.inner.read_topic(topic).await?.map(|c| c.topic_id);
        let objects = self.objects.as_ref();
        self.mixed.holding(objects, listed, topic, p, live).await
    }
}

/// `snapshot`, unless its topic was deleted: then the topic is unknown to every reader,
/// writer and job (GC's purge does not read manifests).
fn refuse_deleted(topic: &TopicName, snapshot: Snapshot) -> Result<Snapshot> {
    match snapshot.manifest.deleted_ms {
        Some(_) => Err(Error::UnknownTopic(topic.clone())),
        None => Ok(snapshot),
    }
}

/// A manifest that is gone although `evidence` says it must exist.
/// Refuses `found` as `p`'s manifest unless it belongs to incarnation `expected` (a topic
/// deleted and created again under the same name has another id).
pub(super) fn check_topic_id(
    topic: &TopicName,
    p: PartitionId,
    expected: TopicId,
    found: &Manifest,
) -> Result<()> {
    if found.topic_id != expected {
        return Err(Error::TopicIdMismatch {
            topic: topic.clone(),
            partition: p,
            expected,
            found: found.topic_id,
        });
    }
    Ok(())
}

/// A manifest read before, at `known`, and gone now: manifests are never deleted, so this is
/// damage.
pub(super) fn manifest_vanished(
    store: &dyn ManifestStore,
    topic: &TopicName,
    p: PartitionId,
    known: &Snapshot,
) -> Error {
    let version = known.manifest.version;
    let evidence = format!("it was read before, at version {version}");
    manifest_missing(store, topic, p, evidence)
}

pub(super) fn manifest_missing(
    store: &dyn ManifestStore,
    topic: &TopicName,
    p: PartitionId,
    evidence: String,
) -> Error {
    Error::ManifestMissing {
        topic: topic.clone(),
        partition: p,
        location: store.manifest_location(topic, p),
        evidence,
    }
}

#[async_trait]
impl ManifestStore for Guarded {
    /// Creates a missing manifest only for a live topic of that id: a writer opened before
    /// its topic was deleted must not bring a partition back (docs/design.md §4.1).
    async fn create(&self, topic: &TopicName, p: PartitionId, id: TopicId) -> Result<Snapshot> {
        if !self.is_live(topic, id).await? {
            return Err(Error::UnknownTopic(topic.clone()));
        }
        let created = self.inner.create(topic, p, id).await?;
        refuse_deleted(topic, created)
    }

    fn commits_are_exact(&self) -> bool {
        self.inner.commits_are_exact()
    }

    fn tail_seal_at(&self, topic: &TopicName) -> usize {
        self.inner.tail_seal_at(topic)
    }

    fn segments_per_commit_max(&self) -> usize {
        self.inner.segments_per_commit_max()
    }

    fn manifest_location(&self, topic: &TopicName, p: PartitionId) -> String {
        self.inner.manifest_location(topic, p)
    }

    /// `None` only for a partition with no manifest and no objects (a topic whose creation
    /// was cut short); a manifest missing next to objects is [`Error::ManifestMissing`], and
    /// one of another partition (copied over it) is corrupt. Before saying it is missing, the
    /// manifest is read once more: a writer may have created it, and written, meanwhile.
    async fn read(&self, topic: &TopicName, p: PartitionId) -> Result<Option<Snapshot>> {
        if let Some(found) = self.inner.read(topic, p).await? {
            return self.checked(topic, p, found).map(Some);
        }
        let Some(key) = self.first_object(topic, p).await? else {
            return Ok(None);
        };
        if let Some(found) = self.inner.read(topic, p).await? {
            return self.checked(topic, p, found).map(Some);
        }
        let evidence = format!("the partition holds objects, such as {key}");
        Err(manifest_missing(self, topic, p, evidence))
    }

    async fn read_if_changed(
        &self,
        topic: &TopicName,
        p: PartitionId,
        known: &Snapshot,
    ) -> Result<Option<Snapshot>> {
        match self.inner.read_if_changed(topic, p, known).await {
            Ok(Some(changed)) => refuse_deleted(topic, changed).map(Some),
            // Gone since it was read: GC removed a deleted topic, or damage.
            Err(e @ Error::ManifestMissing { .. }) => {
                match self.is_live(topic, known.manifest.topic_id).await? {
                    true => Err(e),
                    false => Err(Error::UnknownTopic(topic.clone())),
                }
            }
            other => other,
        }
    }

    async fn commit(
        &self,
        topic: &TopicName,
        p: PartitionId,
        base: &Snapshot,
        commit: &Commit,
    ) -> Result<Committed> {
        self.inner.commit(topic, p, base, commit).await
    }

    async fn segments_from(
        &self,
        topic: &TopicName,
        p: PartitionId,
        snapshot: &Snapshot,
        from: Offset,
        max: usize,
    ) -> Result<Vec<SegmentEntry>> {
        self.inner
            .segments_from(topic, p, snapshot, from, max)
            .await
    }

    async fn first_segment_reaching(
        &self,
        topic: &TopicName,
        p: PartitionId,
        snapshot: &Snapshot,
        ts_ms: i64,
        from: Offset,
    ) -> Result<Option<SegmentEntry>> {
        let inner = &self.inner;
        inner
            .first_segment_reaching(topic, p, snapshot, ts_ms, from)
            .await
    }

    async fn segment_at(
        &self,
        topic: &TopicName,
        p: PartitionId,
        snapshot: &Snapshot,
        offset: Offset,
    ) -> Result<Option<SegmentEntry>> {
        self.inner.segment_at(topic, p, snapshot, offset).await
    }

    async fn graveyard(
        &self,
        topic: &TopicName,
        p: PartitionId,
        snapshot: &Snapshot,
    ) -> Result<Vec<Tombstone>> {
        self.inner.graveyard(topic, p, snapshot).await
    }

    async fn create_topic(&self, config: &TopicConfig) -> Result<TopicConfig> {
        self.inner.create_topic(config).await
    }

    async fn read_topic(&self, name: &TopicName) -> Result<Option<TopicConfig>> {
        self.inner.read_topic(name).await
    }

    async fn replace_topic(&self, current: &TopicConfig, next: &TopicConfig) -> Result<bool> {
        self.inner.replace_topic(current, next).await
    }

    async fn list_topics(&self) -> Result<Vec<TopicName>> {
        self.inner.list_topics().await
    }
    async fn remove_deleted(
        &self,
        topic: &TopicName,
        p: PartitionId,
        topic_id: TopicId,
    ) -> Result<u64> {
        self.inner.remove_deleted(topic, p, topic_id).await
    }
}

impl Storage {
    /// Whether the current manifest of `topic`/`p` still lists `object` (a chunk reference,
    /// or a segment entry). Ask it when an object is not found: `false` means a job removed
    /// it after the caller read its manifest (read again and go on); `true` means it is
    /// missing, and the caller reports [`Error::ObjectMissing`].
    pub async fn still_references(
        &self,
        topic: &TopicName,
        p: PartitionId,
        object: &ObjectRef,
    ) -> Result<bool> {
        let mut last = None;
        for _ in 0..RECHECKS {
            let Some(snapshot) = self.manifests.read(topic, p).await? else {
                return Ok(false);
            };
            match self.lists(topic, p, &snapshot, object).await {
                // An index chunk of the fresh manifest vanished too: a job moved on again.
                Err(e) if e.vanished() => last = Some(e),
                decided => return decided,
            }
        }
        Err(last.unwrap_or_else(|| Error::ObjectMissing(object.clone())))
    }

    async fn lists(
        &self,
        topic: &TopicName,
        p: PartitionId,
        snapshot: &Snapshot,
        object: &ObjectRef,
    ) -> Result<bool> {
        if object.kind == ObjectKind::IndexChunk {
            return Ok(snapshot.manifest.chunks.iter().any(|c| c.id == object.id));
        }
        let entries = self
            .manifests
            .segments_from(topic, p, snapshot, Offset(0), usize::MAX)
            .await?;
        Ok(entries.iter().any(|e| e.id == object.id))
    }

    /// `e`, met by a caller reading `topic`/`p` with a manifest it read earlier: an object
    /// not found is [`Error::ObjectMissing`] if the manifest still references it, and `None`
    /// if a job removed it meanwhile (plan again); any other error is kept.
    pub async fn confirm_missing(
        &self,
        topic: &TopicName,
        p: PartitionId,
        e: Error,
    ) -> Option<Error> {
        let object = match &e {
            Error::ObjectMissing(object) => object,
            // Not named by its reader: a race, as before objects were named.
            _ if e.vanished() => return None,
            _ => return Some(e),
        };
        match self.still_references(topic, p, object).await {
            Ok(true) => Some(e),
            Ok(false) => None,
            Err(other) => Some(other),
        }
    }
}
