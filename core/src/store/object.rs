//! The manifest as one mutable object per partition, changed only by conditional writes:
//! `PutMode::Create` for a new partition, `PutMode::Update` (If-Match on the ETag) for every
//! commit. Every failed write is followed by a read-back that decides the outcome (docs/design.md
//! §6 rule 5): the marker is there (committed), the version is unchanged (send the same write
//! again), or it moved (re-apply the edit on the new version, which also catches fencing).
//! Older segment entries live in index chunks (see `object_index`); topic configurations in
//! `topic.json` objects (see `object_topics`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use object_store::{
    GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutResult, UpdateVersion,
};

use super::bounded::document_body;
use super::chunk_cache::ChunkCache;
use super::missing::{check_topic_id, manifest_vanished};
use super::resolve::{COMMIT_RESOLVE_TIMEOUT, ConditionalWrite, WriteFailed, commit_with};
use super::{Committed, ManifestStore, Snapshot};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{Offset, PartitionId, TopicId, TopicName};
use crate::keys::Keys;
use crate::manifest::{Commit, Manifest, SegmentEntry, codec};
use crate::topic::TopicConfig;

/// Manifests stored as objects next to the segments.
#[derive(Debug, Clone)]
pub struct ObjectManifestStore {
    pub(super) objects: Arc<dyn ObjectStore>,
    pub(super) keys: Keys,
    pub(super) resolve_timeout: Duration,
    pub(super) chunks: Arc<ChunkCache>,
}

impl ObjectManifestStore {
    /// Manifests in `objects`, laid out by `keys`. The store must honour `PutMode::Update`.
    pub fn new(objects: Arc<dyn ObjectStore>, keys: Keys) -> ObjectManifestStore {
        ObjectManifestStore {
            objects,
            keys,
            resolve_timeout: COMMIT_RESOLVE_TIMEOUT,
            chunks: Arc::default(),
        }
    }

    /// Keeps at most about `bytes` of index chunks in memory (default
    /// [`CHUNK_CACHE_BYTES`](super::CHUNK_CACHE_BYTES), least recently used out first).
    pub fn with_chunk_cache_bytes(mut self, bytes: u64) -> ObjectManifestStore {
        self.chunks = Arc::new(ChunkCache::new(bytes));
        self
    }

    /// Overrides how long ambiguous outcomes are resolved before giving up (tests).
    pub fn with_resolve_timeout(mut self, timeout: Duration) -> ObjectManifestStore {
        self.resolve_timeout = timeout;
        self
    }

    fn snapshot(manifest: Manifest, put: PutResult) -> Snapshot {
        Snapshot {
            manifest: Arc::new(manifest),
            e_tag: put.e_tag,
            object_version: put.version,
        }
    }

    async fn get(
        &self,
        topic: &TopicName,
        p: PartitionId,
        options: GetOptions,
    ) -> Result<Option<Snapshot>> {
        let path = self.keys.manifest(topic, p);
        let got = match self.objects.get_opts(&path, options).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let (e_tag, object_version) = (got.meta.e_tag.clone(), got.meta.version.clone());
        let bytes = document_body(got, "manifest", path.as_ref()).await?;
        let manifest = codec::decode(&bytes, path.as_ref())?;
        Ok(Some(Snapshot {
            manifest: Arc::new(manifest),
            e_tag,
            object_version,
        }))
    }
}

#[async_trait]
impl ConditionalWrite for ObjectManifestStore {
    async fn write_next(
        &self,
        topic: &TopicName,
        p: PartitionId,
        current: &Snapshot,
        next: Manifest,
        _commit: &Commit,
    ) -> Result<Result<Snapshot, WriteFailed>> {
        let body = codec::encode(&next)?;
        let mode = PutMode::Update(UpdateVersion {
            e_tag: current.e_tag.clone(),
            version: current.object_version.clone(),
        });
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        let path = self.keys.manifest(topic, p);
        Ok(
            match self.objects.put_opts(&path, body.into(), opts).await {
                Ok(put) => Ok(Self::snapshot(next, put)),
                Err(e) => Err(WriteFailed {
                    lost_race: matches!(
                        e,
                        object_store::Error::Precondition { .. }
                            | object_store::Error::AlreadyExists { .. }
                    ),
                    cause: e.to_string(),
                    refused: refused(e),
                }),
            },
        )
    }

    async fn read_current(&self, topic: &TopicName, p: PartitionId) -> Result<Option<Snapshot>> {
        self.get(topic, p, GetOptions::default()).await
    }

    /// Every write is conditional on the whole document's ETag, so once the version moved,
    /// no earlier write can land.
    fn could_still_land(&self, _commit: &Commit, attempted: &Manifest, now: &Manifest) -> bool {
        now.version <= attempted.version
    }
}

/// A write the store refused for good: retrying cannot make it land.
fn refused(e: object_store::Error) -> Option<Error> {
    let e = Error::from(e);
    (e.kind() == ErrorKind::Config).then_some(e)
}

#[async_trait]
impl ManifestStore for ObjectManifestStore {
    async fn create(
        &self,
        topic: &TopicName,
        p: PartitionId,
        topic_id: TopicId,
    ) -> Result<Snapshot> {
        let path = self.keys.manifest(topic, p);
        let manifest = Manifest::new(topic_id, p);
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let created = self
            .objects
            .put_opts(&path, codec::encode(&manifest)?.into(), opts)
            .await;
        let snapshot = match created {
            Ok(put) => return Ok(Self::snapshot(manifest, put)),
            // AlreadyExists may be our own retried write: read to learn what is there.
            Err(e) => match self.read(topic, p).await? {
                Some(existing) => existing,
                None => return Err(e.into()),
            },
        };
        check_topic_id(topic, p, topic_id, &snapshot.manifest)?;
        Ok(snapshot)
    }

    fn commits_are_exact(&self) -> bool {
        true
    }

    fn segments_per_commit_max(&self) -> usize {
        crate::limits::OBJECT_SEGMENTS_PER_COMMIT_MAX
    }

    fn manifest_location(&self, topic: &TopicName, p: PartitionId) -> String {
        self.keys.manifest(topic, p).to_string()
    }

    async fn read(&self, topic: &TopicName, p: PartitionId) -> Result<Option<Snapshot>> {
        self.get(topic, p, GetOptions::default()).await
    }

    async fn read_if_changed(
        &self,
        topic: &TopicName,
        p: PartitionId,
        known: &Snapshot,
    ) -> Result<Option<Snapshot>> {
        let options = GetOptions {
            if_none_match: known.e_tag.clone(),
            ..GetOptions::default()
        };
        match self.get(topic, p, options).await {
            Err(Error::Store(e)) if matches!(*e, object_store::Error::NotModified { .. }) => {
                Ok(None)
            }
            Ok(Some(s)) if s.manifest.version == known.manifest.version => Ok(None),
            // Manifests are never deleted: one read before and gone now is damage.
            Ok(None) => Err(manifest_vanished(self, topic, p, known)),
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
        commit_with(self, topic, p, base, commit, self.resolve_timeout).await
    }

    async fn segments_from(
        &self,
        topic: &TopicName,
        _p: PartitionId,
        snapshot: &Snapshot,
        from: Offset,
        max: usize,
    ) -> Result<Vec<SegmentEntry>> {
        self.entries_from(topic, &snapshot.manifest, from, max)
            .await
    }

    async fn first_segment_reaching(
        &self,
        topic: &TopicName,
        _p: PartitionId,
        snapshot: &Snapshot,
        ts_ms: i64,
        from: Offset,
    ) -> Result<Option<SegmentEntry>> {
        self.first_reaching(topic, &snapshot.manifest, ts_ms, from)
            .await
    }

    async fn create_topic(&self, config: &TopicConfig) -> Result<TopicConfig> {
        self.put_topic(config).await
    }

    async fn read_topic(&self, name: &TopicName) -> Result<Option<TopicConfig>> {
        self.get_topic(name).await
    }

    async fn replace_topic(&self, current: &TopicConfig, next: &TopicConfig) -> Result<bool> {
        self.replace_topic_config(current, next).await
    }

    async fn list_topics(&self) -> Result<Vec<TopicName>> {
        self.topic_names().await
    }
    /// Object stores have no conditional delete: the manifest is read first, and deleted only
    /// if it is this incarnation's, marked deleted (a re-created topic's manifest is not).
    async fn remove_deleted(
        &self,
        topic: &TopicName,
        p: PartitionId,
        topic_id: TopicId,
    ) -> Result<u64> {
        let Some(found) = self.read(topic, p).await? else {
            return Ok(0);
        };
        if found.manifest.topic_id != topic_id || found.manifest.deleted_ms.is_none() {
            return Ok(0);
        }
        match self.objects.delete(&self.keys.manifest(topic, p)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(1),
            Err(e) => Err(e.into()),
        }
    }
}
