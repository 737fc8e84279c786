//! Manifests on an object store, in the layout each topic was created with: one object per
//! partition ([`super::ObjectManifestStore`]), or manifest groups (docs/design.md §19): the
//! manifests of `manifest_group_size` partitions in one object, `topics/<t>/manifests/<g>`,
//! so a writer's commits to many partitions share one conditional write and a reader's looks
//! at many partitions share one GET (`group`). Each partition's manifest, its edits, its index
//! chunks and the commit loop are the same in both layouts.
//!
//! A topic's layout comes from its configuration, remembered from every configuration this
//! store reads or writes (writers, readers and jobs read it before any manifest), and read
//! when a topic is not known yet.

mod doc;
mod group;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use object_store::ObjectStore;

use self::doc::GroupDoc;
use self::group::{Change, Group};
use super::missing::{check_topic_id, manifest_vanished};
use super::resolve::{ConditionalWrite, WriteFailed, commit_with};
use super::{Committed, ManifestStore, ObjectManifestStore, Snapshot};
use crate::clock;
use crate::error::{Error, Result};
use crate::ids::{Offset, PartitionId, TopicId, TopicName};
use crate::keys::Keys;
use crate::manifest::{Commit, Manifest, SegmentEntry};
use crate::topic::TopicConfig;

/// Tries of a create or removal that keeps finding the group changed.
const CHANGE_TRIES_MAX: u32 = 100;

/// A topic's manifest layout, as its configuration says, and the groups of it in use.
#[derive(Debug)]
struct Layout {
    /// When that incarnation was created: a configuration read late (an older incarnation's)
    /// does not replace a newer one's.
    created_ms: i64,
    /// `manifest_group_size` (`None`: one object per partition).
    group_size: Option<u32>,
    /// The groups of this incarnation touched so far, by group number.
    groups: HashMap<u32, Arc<Group>>,
}

/// Manifests on an object store, one object per partition or in groups, as each topic says.
#[derive(Debug)]
pub struct GroupedManifestStore {
    objects: Arc<dyn ObjectStore>,
    keys: Keys,
    single: ObjectManifestStore,
    /// Each topic's layout, from the newest incarnation's configuration seen.
    layouts: Mutex<HashMap<TopicName, Layout>>,
}

impl GroupedManifestStore {
    /// Manifests in `objects`, laid out by `keys`; `single` keeps those of topics with one
    /// object per partition (and every topic's configuration and index chunks).
    pub fn new(
        objects: Arc<dyn ObjectStore>,
        keys: Keys,
        single: ObjectManifestStore,
    ) -> GroupedManifestStore {
        GroupedManifestStore {
            objects,
            keys,
            single,
            layouts: Mutex::default(),
        }
    }

    /// The group holding `p`'s manifest, or `None` when `topic` has one object per partition.
    async fn group(&self, topic: &TopicName, p: PartitionId) -> Result<Option<Arc<Group>>> {
        if !lock(&self.layouts).contains_key(topic) {
            let config = self.single.read_topic(topic).await?;
            self.learn(topic, config.as_ref());
        }
        let mut layouts = lock(&self.layouts);
        let Some(layout) = layouts.get_mut(topic) else {
            return Ok(None); // no configuration: no topic, or one damaged (see `missing`)
        };
        let Some(g) = layout.group_of(p) else {
            return Ok(None);
        };
        let group = layout.groups.entry(g).or_insert_with(|| {
            let path = self.keys.manifest_group(topic, g);
            Arc::new(Group::new(self.objects.clone(), path))
        });
        Ok(Some(group.clone()))
    }

    /// Remembers the layout of a topic whose configuration was just read or written, unless
    /// a newer incarnation's is known (a new incarnation starts with no groups in use).
    fn learn(&self, topic: &TopicName, config: Option<&TopicConfig>) {
        let Some(config) = config else { return };
        let mut layouts = lock(&self.layouts);
        let known = layouts.get(topic).map(|l| l.created_ms);
        if known.is_some_and(|created_ms| created_ms >= config.created_ms) {
            return;
        }
        let layout = Layout {
            created_ms: config.created_ms,
            group_size: config.settings.manifest_group_size,
            groups: HashMap::new(),
        };
        layouts.insert(topic.clone(), layout);
    }

    /// `topic`'s `manifest_group_size`, if its layout is known and has groups.
    fn group_size(&self, topic: &TopicName) -> Option<u32> {
        lock(&self.layouts).get(topic).and_then(|l| l.group_size)
    }

    async fn read_part(&self, group: &Group, p: PartitionId) -> Result<Option<Snapshot>> {
        let doc = group.read().await?;
        Ok(doc.and_then(|doc| snapshot(&doc, p)))
    }

    /// Reads `p` and sends the change `change` asks for, until one lands or it asks for none
    /// (what it finds needs nothing more); a write the store refuses for good fails at once.
    async fn change_until(
        &self,
        group: &Arc<Group>,
        p: PartitionId,
        mut change: impl FnMut(Option<&Snapshot>) -> Result<Option<Change>>,
    ) -> Result<Option<Snapshot>> {
        for tries in 0..CHANGE_TRIES_MAX {
            if tries > 0 {
                // Give the writers that keep rewriting the group a moment to finish.
                clock::sleep(Duration::from_millis(u64::from(tries.min(20)))).await;
            }
            let found = self.read_part(group, p).await?;
            let Some(change) = change(found.as_ref())? else {
                return Ok(found);
            };
            match group.change(change).await {
                Ok(doc) => return Ok(snapshot(&doc, p)),
                Err(WriteFailed {
                    refused: Some(refused),
                    ..
                }) => return Err(refused),
                Err(_) => {}
            }
        }
        Err(Error::Contended {
            partition: p,
            attempts: CHANGE_TRIES_MAX,
        })
    }
}

impl Layout {
    /// The group holding `p`'s manifest (`None`: one object per partition).
    fn group_of(&self, p: PartitionId) -> Option<u32> {
        self.group_size.map(|size| p.0 / size.max(1))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn snapshot(doc: &GroupDoc, p: PartitionId) -> Option<Snapshot> {
    let part = doc.parts.get(&p)?;
    Some(Snapshot {
        manifest: part.manifest.clone(),
        e_tag: doc.e_tag.clone(),
        object_version: doc.object_version.clone(),
    })
}

#[async_trait]
impl ConditionalWrite for GroupedManifestStore {
    async fn write_next(
        &self,
        topic: &TopicName,
        p: PartitionId,
        current: &Snapshot,
        next: Manifest,
        commit: &Commit,
    ) -> Result<Result<Snapshot, WriteFailed>> {
        let Some(group) = self.group(topic, p).await? else {
            return self
                .single
                .write_next(topic, p, current, next, commit)
                .await;
        };
        let change = Change {
            partition: p,
            expect: Some(current.manifest.version),
            next: Some(next),
        };
        let doc = match group.change(change).await {
            Ok(doc) => doc,
            Err(failed) => return Ok(Err(failed)),
        };
        Ok(match snapshot(&doc, p) {
            Some(written) => Ok(written),
            None => Err(WriteFailed {
                lost_race: true,
                cause: format!("partition {p} is not in the manifest group written"),
                refused: None,
            }),
        })
    }

    async fn read_current(&self, topic: &TopicName, p: PartitionId) -> Result<Option<Snapshot>> {
        self.read(topic, p).await
    }

    /// Every write is conditional on the partition's manifest version (the whole object's
    /// ETag, or the partition's version within its group), so once it moved, no earlier write
    /// can land.
    fn could_still_land(&self, _commit: &Commit, attempted: &Manifest, now: &Manifest) -> bool {
        now.version <= attempted.version
    }
}

#[async_trait]
impl ManifestStore for GroupedManifestStore {
    async fn create(
        &self,
        topic: &TopicName,
        p: PartitionId,
        topic_id: TopicId,
    ) -> Result<Snapshot> {
        let Some(group) = self.group(topic, p).await? else {
            return self.single.create(topic, p, topic_id).await;
        };
        let creating = |found: Option<&Snapshot>| {
            Ok(found.is_none().then(|| Change {
                partition: p,
                expect: None,
                next: Some(Manifest::new(topic_id, p)),
            }))
        };
        let created = self.change_until(&group, p, creating).await?;
        let snapshot = created.ok_or_else(|| Error::Contended {
            partition: p,
            attempts: CHANGE_TRIES_MAX,
        })?;
        check_topic_id(topic, p, topic_id, &snapshot.manifest)?;
        Ok(snapshot)
    }

    fn segments_per_commit_max(&self) -> usize {
        crate::limits::OBJECT_SEGMENTS_PER_COMMIT_MAX
    }

    fn commits_are_exact(&self) -> bool {
        true
    }

    /// A grouped manifest seals at [`GROUPED_TAIL_SEAL_AT`]: every commit rewrites the
    /// whole group, so tails are kept short (a chunk PUT every 48 commits of a partition).
    fn tail_seal_at(&self, topic: &TopicName) -> usize {
        match self.group_size(topic) {
            Some(_) => GROUPED_TAIL_SEAL_AT,
            None => self.single.tail_seal_at(topic),
        }
    }

    fn manifest_location(&self, topic: &TopicName, p: PartitionId) -> String {
        let group = lock(&self.layouts).get(topic).and_then(|l| l.group_of(p));
        match group {
            Some(g) => format!("{} (partition {p})", self.keys.manifest_group(topic, g)),
            None => self.single.manifest_location(topic, p),
        }
    }

    async fn read(&self, topic: &TopicName, p: PartitionId) -> Result<Option<Snapshot>> {
        match self.group(topic, p).await? {
            Some(group) => self.read_part(&group, p).await,
            None => self.single.read(topic, p).await,
        }
    }

    async fn read_if_changed(
        &self,
        topic: &TopicName,
        p: PartitionId,
        known: &Snapshot,
    ) -> Result<Option<Snapshot>> {
        let Some(group) = self.group(topic, p).await? else {
            return self.single.read_if_changed(topic, p, known).await;
        };
        match self.read_part(&group, p).await? {
            Some(s) if s.manifest.version == known.manifest.version => Ok(None),
            Some(s) => Ok(Some(s)),
            // Manifests are never deleted: one read before and gone now is damage.
            None => Err(manifest_vanished(self, topic, p, known)),
        }
    }

    async fn commit(
        &self,
        topic: &TopicName,
        p: PartitionId,
        base: &Snapshot,
        commit: &Commit,
    ) -> Result<Committed> {
        commit_with(self, topic, p, base, commit, self.single.resolve_timeout).await
    }

    async fn segments_from(
        &self,
        topic: &TopicName,
        p: PartitionId,
        snapshot: &Snapshot,
        from: Offset,
        max: usize,
    ) -> Result<Vec<SegmentEntry>> {
        self.single
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
        self.single
            .first_segment_reaching(topic, p, snapshot, ts_ms, from)
            .await
    }

    async fn create_topic(&self, config: &TopicConfig) -> Result<TopicConfig> {
        let stored = self.single.create_topic(config).await?;
        self.learn(&config.name, Some(&stored));
        Ok(stored)
    }

    async fn read_topic(&self, name: &TopicName) -> Result<Option<TopicConfig>> {
        let config = self.single.read_topic(name).await?;
        self.learn(name, config.as_ref());
        Ok(config)
    }

    async fn replace_topic(&self, current: &TopicConfig, next: &TopicConfig) -> Result<bool> {
        let replaced = self.single.replace_topic(current, next).await?;
        if replaced {
            self.learn(&next.name, Some(next));
        }
        Ok(replaced)
    }

    async fn list_topics(&self) -> Result<Vec<TopicName>> {
        self.single.list_topics().await
    }

    /// Takes the partition out of its group (a conditional write, unlike a manifest object's
    /// delete), only if it is this incarnation's and marked deleted; deletes the group object
    /// once it holds no partition (no partition can join it: the topic is being deleted, and
    /// its name is not free until GC purged it).
    async fn remove_deleted(
        &self,
        topic: &TopicName,
        p: PartitionId,
        topic_id: TopicId,
    ) -> Result<u64> {
        let Some(group) = self.group(topic, p).await? else {
            return self.single.remove_deleted(topic, p, topic_id).await;
        };
        let mut removed = false;
        let removing = |found: Option<&Snapshot>| {
            let m = found.map(|s| &s.manifest);
            let ours = m.filter(|m| m.topic_id == topic_id && m.deleted_ms.is_some());
            // An earlier try that found it may have landed without an answer.
            removed |= ours.is_some();
            Ok(ours.map(|m| Change {
                partition: p,
                expect: Some(m.version),
                next: None,
            }))
        };
        self.change_until(&group, p, removing).await?;
        group.delete_if_empty().await?;
        Ok(u64::from(removed))
    }
}

/// Tail entries that make a grouped manifest seal an index chunk: fewer than the 256 of a
/// manifest object, since every commit to any partition of the group rewrites every
/// partition's tail (measured against 32 and 128 in docs/benchmarks.md).
pub const GROUPED_TAIL_SEAL_AT: usize = 64;
