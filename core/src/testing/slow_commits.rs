//! [`SlowCommits`]: a [`ManifestStore`] wrapper that makes commits slow on demand, the way a
//! throttled DynamoDB table or a stalled S3 request does, without waiting on the wall clock:
//! while the gate is held, every commit waits at it, and the test decides when they go on.
//! Uploads keep finishing meanwhile, so the writer's queue of segments waiting for the next
//! commit grows as it would behind a slow commit.
//!
//! It also records how many segments each append carried, can stand in for a store with a
//! smaller per-commit limit (refusing more, as DynamoDB does), and can panic once where the
//! writer's partition task asks for that limit, to test what happens when that task dies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use tokio::sync::watch;

use crate::error::{Rejection, Result};
use crate::ids::{Offset, PartitionId, TopicId, TopicName};
use crate::manifest::{Commit, Edit, SegmentEntry, Tombstone};
use crate::store::{Committed, ManifestStore, Snapshot, Storage};
use crate::topic::TopicConfig;

/// Wraps a manifest store; commits wait while the gate is held.
#[derive(Debug)]
pub struct SlowCommits {
    inner: Arc<dyn ManifestStore>,
    open: watch::Sender<bool>,
    waiting: watch::Sender<usize>,
    passed: watch::Sender<usize>,
    limit: Option<usize>,
    only: Option<PartitionId>,
    largest_append: AtomicUsize,
    appends: AtomicUsize,
    panic_on_limit: AtomicBool,
}

/// Counts a commit as waiting at the gate until it is dropped (passed, or cancelled).
struct Waiting<'a>(&'a watch::Sender<usize>);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

impl SlowCommits {
    /// Wraps `inner`, gate open.
    pub fn new(inner: Arc<dyn ManifestStore>) -> SlowCommits {
        SlowCommits {
            inner,
            open: watch::Sender::new(true),
            waiting: watch::Sender::new(0),
            passed: watch::Sender::new(0),
            limit: None,
            only: None,
            largest_append: AtomicUsize::new(0),
            appends: AtomicUsize::new(0),
            panic_on_limit: AtomicBool::new(false),
        }
    }

    /// `storage` with its manifests behind a new `SlowCommits`, and the handle to it.
    pub fn install(storage: &Storage) -> (Storage, Arc<SlowCommits>) {
        let slow = Arc::new(SlowCommits::new(storage.manifests.clone()));
        let storage = Storage {
            manifests: slow.clone(),
            ..storage.clone()
        };
        (storage, slow)
    }

    /// Reports `max` as the store's per-commit limit and refuses an append of more segments
    /// with the invariant error DynamoDB's store gives (a store with a smaller limit).
    pub fn with_segments_per_commit_max(mut self, max: usize) -> SlowCommits {
        self.limit = Some(max);
        self
    }

    /// Holds only the commits of `partition`: the others pass even while the gate is held
    /// (a writer whose commits to one partition stall while its others go through).
    pub fn only_partition(mut self, partition: PartitionId) -> SlowCommits {
        self.only = Some(partition);
        self
    }

    /// From now on, commits wait at the gate.
    pub fn hold(&self) {
        self.open.send_replace(false);
    }

    /// Lets every waiting and later commit through.
    pub fn release(&self) {
        self.open.send_replace(true);
    }

    /// Waits until at least `n` commits wait at the gate.
    pub async fn until_waiting(&self, n: usize) {
        let mut waiting = self.waiting.subscribe();
        // The sender lives as long as `self`, so the wait cannot fail.
        let _ = waiting.wait_for(|w| *w >= n).await;
    }

    /// Commits that went through so far, whatever their outcome.
    pub fn passed(&self) -> usize {
        *self.passed.borrow()
    }

    /// Waits until at least `n` commits went through. A commit counted after this call
    /// started may have read the clock before it; the second one certainly did not.
    pub async fn until_passed(&self, n: usize) {
        let mut passed = self.passed.subscribe();
        // The sender lives as long as `self`, so the wait cannot fail.
        let _ = passed.wait_for(|p| *p >= n).await;
    }

    /// The most segments one append carried so far.
    pub fn largest_append(&self) -> usize {
        self.largest_append.load(Ordering::SeqCst)
    }

    /// Appends that reached the store with at least one segment.
    pub fn appends(&self) -> usize {
        self.appends.load(Ordering::SeqCst)
    }

    /// The next call of [`ManifestStore::segments_per_commit_max`] panics (the writer asks
    /// from inside its partition task, so that task dies as it would of a bug).
    pub fn panic_when_asked_for_the_limit(&self) {
        self.panic_on_limit.store(true, Ordering::SeqCst);
    }

    /// Commits through the inner store, after counting the append and checking the limit.
    async fn counted_commit(
        &self,
        t: &TopicName,
        p: PartitionId,
        base: &Snapshot,
        commit: &Commit,
    ) -> Result<Committed> {
        if let Edit::Append(a) = &commit.edit
            && !a.segments.is_empty()
        {
            let n = a.segments.len();
            self.appends.fetch_add(1, Ordering::SeqCst);
            self.largest_append.fetch_max(n, Ordering::SeqCst);
            if let Some(max) = self.limit.filter(|max| n > *max) {
                let reason = format!("{n} segments in one commit; this store takes at most {max}");
                return Err(Rejection::Invariant {
                    partition: p,
                    reason,
                }
                .into());
            }
        }
        self.inner.commit(t, p, base, commit).await
    }

    async fn pass_the_gate(&self, p: PartitionId) {
        let mut open = self.open.subscribe();
        if *open.borrow_and_update() || self.only.is_some_and(|only| only != p) {
            return;
        }
        self.waiting.send_modify(|n| *n += 1);
        let _counted = Waiting(&self.waiting);
        // The sender lives as long as `self`, so the wait cannot fail.
        let _ = open.wait_for(|open| *open).await;
    }
}

#[async_trait]
impl ManifestStore for SlowCommits {
    async fn create(&self, t: &TopicName, p: PartitionId, id: TopicId) -> Result<Snapshot> {
        self.inner.create(t, p, id).await
    }

    fn commits_are_exact(&self) -> bool {
        self.inner.commits_are_exact()
    }

    fn tail_seal_at(&self, topic: &TopicName) -> usize {
        self.inner.tail_seal_at(topic)
    }

    fn segments_per_commit_max(&self) -> usize {
        if self.panic_on_limit.swap(false, Ordering::SeqCst) {
            panic!("SlowCommits: injected panic in the writer's partition task");
        }
        self.limit
            .unwrap_or_else(|| self.inner.segments_per_commit_max())
    }

    fn manifest_location(&self, t: &TopicName, p: PartitionId) -> String {
        self.inner.manifest_location(t, p)
    }

    async fn read(&self, t: &TopicName, p: PartitionId) -> Result<Option<Snapshot>> {
        self.inner.read(t, p).await
    }

    async fn read_if_changed(
        &self,
        t: &TopicName,
        p: PartitionId,
        known: &Snapshot,
    ) -> Result<Option<Snapshot>> {
        self.inner.read_if_changed(t, p, known).await
    }

    async fn commit(
        &self,
        t: &TopicName,
        p: PartitionId,
        base: &Snapshot,
        commit: &Commit,
    ) -> Result<Committed> {
        self.pass_the_gate(p).await;
        let result = self.counted_commit(t, p, base, commit).await;
        self.passed.send_modify(|n| *n += 1);
        result
    }

    async fn segments_from(
        &self,
        t: &TopicName,
        p: PartitionId,
        snapshot: &Snapshot,
        from: Offset,
        max: usize,
    ) -> Result<Vec<SegmentEntry>> {
        self.inner.segments_from(t, p, snapshot, from, max).await
    }

    async fn first_segment_reaching(
        &self,
        t: &TopicName,
        p: PartitionId,
        snapshot: &Snapshot,
        ts_ms: i64,
        from: Offset,
    ) -> Result<Option<SegmentEntry>> {
        self.inner
            .first_segment_reaching(t, p, snapshot, ts_ms, from)
            .await
    }

    async fn segment_at(
        &self,
        t: &TopicName,
        p: PartitionId,
        snapshot: &Snapshot,
        offset: Offset,
    ) -> Result<Option<SegmentEntry>> {
        self.inner.segment_at(t, p, snapshot, offset).await
    }

    async fn graveyard(
        &self,
        t: &TopicName,
        p: PartitionId,
        snapshot: &Snapshot,
    ) -> Result<Vec<Tombstone>> {
        self.inner.graveyard(t, p, snapshot).await
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
