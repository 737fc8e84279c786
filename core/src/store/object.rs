//! The manifest as one mutable object per partition, changed only by conditional writes:
//! `PutMode::Create` for a new partition, `PutMode::Update` (If-Match on the ETag) for every
//! commit. Every failed write is followed by a read-back that decides the outcome (DESIGN §6
//! rule 5): the marker is there (committed), the version is unchanged (send the same write
//! again), or it moved (re-apply the edit on the new version, which also catches fencing).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use object_store::{GetOptions, ObjectStore, PutMode, PutOptions, PutResult, UpdateVersion};
use tokio::time::Instant;

use super::{Committed, ManifestStore, Snapshot};
use crate::error::{Error, Result};
use crate::ids::{PartitionId, TopicId, TopicName};
use crate::keys::Keys;
use crate::manifest::{Commit, Manifest, apply, codec};

/// How long a committer keeps trying to learn the outcome of a failed write.
pub const COMMIT_RESOLVE_TIMEOUT: Duration = Duration::from_secs(30);
/// Races lost in a row before a commit gives up with `Contended`.
pub const COMMIT_RACES_MAX: u32 = 500;

/// Manifests stored as objects next to the segments.
#[derive(Debug, Clone)]
pub struct ObjectManifestStore {
    objects: Arc<dyn ObjectStore>,
    keys: Keys,
    resolve_timeout: Duration,
}

impl ObjectManifestStore {
    /// Manifests in `objects`, laid out by `keys`. The store must honour `PutMode::Update`.
    pub fn new(objects: Arc<dyn ObjectStore>, keys: Keys) -> ObjectManifestStore {
        ObjectManifestStore {
            objects,
            keys,
            resolve_timeout: COMMIT_RESOLVE_TIMEOUT,
        }
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
        let bytes = got.bytes().await?;
        let manifest = codec::decode(&bytes, path.as_ref())?;
        Ok(Some(Snapshot {
            manifest: Arc::new(manifest),
            e_tag,
            object_version,
        }))
    }

    /// Reads the manifest, retrying transient failures until `deadline`.
    async fn read_back(
        &self,
        topic: &TopicName,
        p: PartitionId,
        deadline: Instant,
        started: Instant,
        cause: &str,
    ) -> Result<Snapshot> {
        let mut delay = Duration::from_millis(10);
        loop {
            let last_error = match self.read(topic, p).await {
                Ok(Some(s)) => return Ok(s),
                Ok(None) => format!("manifest vanished while resolving: {cause}"),
                Err(e @ (Error::Corrupt(_) | Error::FutureFormat { .. })) => return Err(e),
                Err(e) => e.to_string(),
            };
            if Instant::now() + delay > deadline {
                let waited_ms = started.elapsed().as_millis() as u64;
                return Err(Error::Indeterminate {
                    partition: p,
                    waited_ms,
                    last_error,
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }
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
        if snapshot.manifest.topic_id != topic_id {
            return Err(Error::TopicIdMismatch {
                topic: topic.clone(),
                partition: p,
                expected: topic_id,
                found: snapshot.manifest.topic_id,
            });
        }
        Ok(snapshot)
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
        let path = self.keys.manifest(topic, p);
        let started = Instant::now();
        let deadline = started + self.resolve_timeout;
        let mut current = base.clone();
        let mut fresh = false;
        let mut races = 0u32;
        loop {
            if current.manifest.topic_id != base.manifest.topic_id {
                return Err(Error::TopicIdMismatch {
                    topic: topic.clone(),
                    partition: p,
                    expected: base.manifest.topic_id,
                    found: current.manifest.topic_id,
                });
            }
            if commit.is_in(&current.manifest) {
                let base_offset = commit.base_offset_in(&current.manifest);
                return Ok(Committed {
                    snapshot: current,
                    base_offset,
                });
            }
            let next = match apply(&current.manifest, commit) {
                Ok(next) => next,
                // A "no" decided on the caller's cached copy may be stale: decide on a fresh one.
                Err(_) if !fresh => {
                    current = self
                        .read_back(topic, p, deadline, started, "refusal on a cached manifest")
                        .await?;
                    fresh = true;
                    continue;
                }
                Err(rejection) => return Err(rejection.into()),
            };
            let mode = PutMode::Update(UpdateVersion {
                e_tag: current.e_tag.clone(),
                version: current.object_version.clone(),
            });
            let opts = PutOptions {
                mode,
                ..PutOptions::default()
            };
            let cause = match self
                .objects
                .put_opts(&path, codec::encode(&next)?.into(), opts)
                .await
            {
                Ok(put) => {
                    let base_offset = commit.base_offset_in(&next);
                    return Ok(Committed {
                        snapshot: Self::snapshot(next, put),
                        base_offset,
                    });
                }
                Err(e) => e,
            };
            // Whatever the error says, our write may have landed: read back and decide.
            if matches!(
                cause,
                object_store::Error::Precondition { .. }
                    | object_store::Error::AlreadyExists { .. }
            ) {
                races += 1;
                backoff_after_race(races, commit).await;
            }
            let attempted_on = current.manifest.version;
            fresh = true;
            current = self
                .read_back(topic, p, deadline, started, &cause.to_string())
                .await?;
            if commit.is_in(&current.manifest) {
                continue;
            }
            // Each write so far was conditional on a version the manifest has now left behind,
            // so none of them can land any more: a definite "not committed".
            let moved_on = current.manifest.version > attempted_on;
            let out_of_time = Instant::now() >= deadline;
            if moved_on && (races >= COMMIT_RACES_MAX || out_of_time) {
                return Err(Error::Contended {
                    partition: p,
                    attempts: races,
                });
            }
            if out_of_time {
                let waited_ms = started.elapsed().as_millis() as u64;
                let last_error = cause.to_string();
                return Err(Error::Indeterminate {
                    partition: p,
                    waited_ms,
                    last_error,
                });
            }
        }
    }
}

/// After a few lost races, wait a little (spread by writer id) so racing writers desynchronise.
async fn backoff_after_race(races: u32, commit: &Commit) {
    if races < 3 {
        return;
    }
    let spread =
        (commit.writer.0.random() as u64 ^ u64::from(races)) % u64::from(races.min(20) * 2);
    tokio::time::sleep(Duration::from_millis(spread + 1)).await;
}
