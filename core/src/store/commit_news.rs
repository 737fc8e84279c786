//! News of commits inside one process. A writer that commits to a partition tells the cursors
//! of the same process waiting at that partition's tail, so they look at the manifest at once
//! instead of at their next poll (`silt_reader::POLL_INTERVAL`): an agent that serves both a
//! producer and a consumer of a partition hands records over in milliseconds, as a broker
//! wakes its waiting fetches. Where the manifest store answers a commit exactly (object
//! manifests, not DynamoDB), the news carries the manifest the commit wrote, so a cursor that
//! hears it need not read the manifest again; commits of other processes are still found by
//! polling.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::time::Instant;

use super::Snapshot;
use crate::ids::{PartitionId, TopicName};

/// What a waiter hears of the last commit to its partition: when, and the manifest it wrote
/// when the manifest store answers it exactly (`ManifestStore::commits_are_exact`: as the
/// store answered the conditional write, or a later one after a read-back). The channel
/// holds the same manifest the writer keeps for its next commit.
#[derive(Debug, Clone)]
pub struct Heard {
    /// The manifest committed; `None` when only a look at the store can tell it.
    pub snapshot: Option<Snapshot>,
    /// When the commit was heard of.
    pub at: Instant,
    /// Commits told on this channel so far, this one included. Each commit adds one to the
    /// manifest's version, so a cursor that sees the version move further than this count
    /// between two commits it heard knows another committer wrote in between.
    pub commits: u64,
}

/// The receiving end of a partition's news: `changed()` completes at the next commit.
pub type NewsReceiver = watch::Receiver<Option<Heard>>;

/// One channel per partition someone is waiting on in this process. Channels nobody listens
/// to any more are dropped whenever the map has doubled since the last sweep, so topics
/// created and deleted over the life of an agent do not pile up (amortised: a sweep per as
/// many new channels as there were kept).
#[derive(Debug, Clone, Default)]
pub struct CommitNews {
    partitions: Arc<Mutex<Senders>>,
}

#[derive(Debug, Default)]
struct Senders {
    by_partition: HashMap<(TopicName, PartitionId), watch::Sender<Option<Heard>>>,
    /// The map's size after the last sweep.
    kept: usize,
}

/// No sweep below this many channels.
const SWEEP_FROM: usize = 64;

impl CommitNews {
    /// Tells the waiters of `partition` that a commit to it just succeeded, giving `snapshot`,
    /// the manifest it wrote (or a later one), if it is exact.
    pub fn committed(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        snapshot: Option<&Snapshot>,
    ) {
        let senders = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = senders.by_partition.get(&(topic.clone(), partition)) {
            let commits = sender.borrow().as_ref().map_or(0, |last| last.commits);
            let heard = Heard {
                snapshot: snapshot.cloned(),
                at: Instant::now(),
                commits: commits.saturating_add(1),
            };
            sender.send_replace(Some(heard));
        }
    }

    /// A receiver whose `changed()` completes at the next commit to `partition` in this
    /// process; it holds the last commit heard of (subscribe before looking at the manifest,
    /// so none is missed in between).
    pub fn subscribe(&self, topic: &TopicName, partition: PartitionId) -> NewsReceiver {
        let mut senders = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        let key = (topic.clone(), partition);
        if let Some(sender) = senders.by_partition.get(&key) {
            return sender.subscribe();
        }
        if senders.by_partition.len() >= (2 * senders.kept).max(SWEEP_FROM) {
            senders.by_partition.retain(|_, s| s.receiver_count() > 0);
            senders.kept = senders.by_partition.len();
        }
        let (sender, receiver) = watch::channel(None);
        senders.by_partition.insert(key, sender);
        receiver
    }

    /// Channels kept (for tests).
    #[cfg(test)]
    fn channels(&self) -> usize {
        let senders = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        senders.by_partition.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ids::TopicId;
    use crate::manifest::Manifest;

    fn snapshot() -> Snapshot {
        Snapshot {
            manifest: Arc::new(Manifest::new(TopicId(ulid::Ulid::nil()), PartitionId(0))),
            e_tag: Some("e".into()),
            object_version: None,
        }
    }

    #[tokio::test]
    async fn a_waiter_hears_of_the_next_commit_to_its_partition_only() {
        let news = CommitNews::default();
        let topic = TopicName::new("t").unwrap();
        // Before anyone listens: nothing kept.
        news.committed(&topic, PartitionId(0), Some(&snapshot()));
        let mut p0 = news.subscribe(&topic, PartitionId(0));
        let mut p1 = news.subscribe(&topic, PartitionId(1));
        assert!(!p0.has_changed().unwrap());
        news.committed(&topic, PartitionId(0), Some(&snapshot()));
        tokio::time::timeout(Duration::from_secs(5), p0.changed())
            .await
            .unwrap()
            .unwrap();
        let heard = p0.borrow_and_update().clone().unwrap();
        let e_tag = heard.snapshot.and_then(|s| s.e_tag);
        assert_eq!(e_tag.as_deref(), Some("e"), "the commit's manifest");
        assert_eq!(heard.commits, 1, "the first commit told on the channel");
        news.committed(&topic, PartitionId(0), None);
        assert_eq!(p0.borrow_and_update().as_ref().unwrap().commits, 2);
        assert!(!p1.has_changed().unwrap());
        let quiet = tokio::time::timeout(Duration::from_millis(20), p1.changed()).await;
        assert!(quiet.is_err(), "no commit to partition 1");
    }

    #[test]
    fn channels_nobody_listens_to_are_swept() {
        let news = CommitNews::default();
        let topic = TopicName::new("churn").unwrap();
        let held = news.subscribe(&topic, PartitionId(0));
        for p in 1..10_000 {
            drop(news.subscribe(&topic, PartitionId(p)));
        }
        assert!(
            news.channels() <= 2 * SWEEP_FROM,
            "{} kept",
            news.channels()
        );
        news.committed(&topic, PartitionId(0), Some(&snapshot()));
        assert!(held.has_changed().unwrap(), "a channel listened to is kept");
    }
}
