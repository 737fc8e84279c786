//! [`GroupConsumer`]: one group member driven by a task, reading its partitions with
//! `silt-reader` cursors (docs/consumer-groups.md §5, §7). A background task ticks the member
//! every heartbeat interval; [`GroupConsumer::poll`] returns records of the partitions held and
//! the assignment changes since the last poll. With auto-commit, the records returned by a poll
//! count as processed at the next poll (or close), and their positions are committed every
//! `auto_commit_ms` and before a partition is released: at least once. An application that
//! does not poll for `max_poll_interval_ms` is taken out of the group.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use silt_core::ids::{GroupName, Offset, TopicName};
use silt_core::store::Storage;
use silt_reader::{Consumed, Cursor, ReadError, Reader, StartFrom};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::GroupError;
use crate::held::Open;
use crate::ids::{MemberId, TopicPartition};
use crate::member::{Assignment, Event, GroupMember};
use crate::settings::{GroupSettings, OffsetReset};

/// Records of one partition.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The partition.
    pub partition: TopicPartition,
    /// Its records, in offset order.
    pub records: Vec<Consumed>,
}

/// What a poll returns.
#[derive(Debug, Clone, Default)]
pub struct Polled {
    /// Assignment changes since the last poll, oldest first.
    pub events: Vec<Event>,
    /// Records, per partition.
    pub batches: Vec<Batch>,
}

/// What the ticking task shares with the consumer.
#[derive(Debug)]
struct Shared {
    member: Mutex<GroupMember>,
    origin: Instant,
    last_poll: std::sync::Mutex<Instant>,
    /// An error that ended the member (replaced by a newer incarnation, or left).
    ended: std::sync::Mutex<Option<GroupError>>,
}

/// A consumer in a group: holds some of its topics' partitions and reads them.
#[derive(Debug)]
pub struct GroupConsumer {
    storage: Storage,
    settings: GroupSettings,
    shared: Arc<Shared>,
    ticker: JoinHandle<()>,
    readers: BTreeMap<TopicName, Reader>,
    /// Open cursors of the partitions held.
    cursors: BTreeMap<TopicPartition, Open>,
    /// Positions after the records the last poll returned.
    returned: BTreeMap<TopicPartition, u64>,
    last_auto_commit: Instant,
}

impl GroupConsumer {
    /// Joins `group` to read `topics`.
    pub async fn join(
        storage: Storage,
        group: &GroupName,
        topics: &[TopicName],
        settings: GroupSettings,
    ) -> Result<GroupConsumer, GroupError> {
        let origin = Instant::now();
        let member =
            GroupMember::join(&storage, group, topics, settings.clone(), origin.elapsed()).await?;
        let mut readers = BTreeMap::new();
        for topic in topics {
            readers.insert(topic.clone(), Reader::open(storage.clone(), topic).await?);
        }
        let shared = Arc::new(Shared {
            member: Mutex::new(member),
            origin,
            last_poll: std::sync::Mutex::new(origin),
            ended: std::sync::Mutex::new(None),
        });
        let ticker = tokio::spawn(tick_forever(shared.clone(), settings.clone()));
        Ok(GroupConsumer {
            storage,
            settings,
            shared,
            ticker,
            readers,
            cursors: BTreeMap::new(),
            returned: BTreeMap::new(),
            last_auto_commit: origin,
        })
    }

    /// Up to `max_records` records of the partitions held, waiting up to `wait` for some, and
    /// the assignment changes since the last poll.
    pub async fn poll(&mut self, max_records: usize, wait: Duration) -> Result<Polled, GroupError> {
        self.poll_within(max_records, usize::MAX, wait).await
    }

    /// [`GroupConsumer::poll`] that also bounds the records' payload (keys, values, headers):
    /// it stops reading once they reach `max_bytes`, so a poll returns at most `max_bytes`
    /// plus one record, and at least one record when there is one.
    pub async fn poll_within(
        &mut self,
        max_records: usize,
        max_bytes: usize,
        wait: Duration,
    ) -> Result<Polled, GroupError> {
        if let Some(e) = self.ended() {
            return Err(e);
        }
        if let Ok(mut last) = self.shared.last_poll.lock() {
            *last = Instant::now();
        }
        let (events, assignment) = self.settle().await?;
        self.sync_cursors(&assignment).await?;
        let deadline = Instant::now() + wait;
        loop {
            let batches = self.read(max_records, max_bytes).await?;
            if !batches.is_empty() || Instant::now() >= deadline {
                return Ok(Polled { events, batches });
            }
            let pause = silt_reader::POLL_INTERVAL.min(deadline - Instant::now());
            // A poll that may take nothing (a zero budget) must not wake for news it cannot
            // read: the news would stay unread and wake it again at once.
            let reading = max_records > 0 && max_bytes > 0;
            tokio::select! {
                () = silt_core::clock::sleep(pause) => {}
                () = self.commit_news(), if reading => {}
            }
        }
    }

    /// Completes at the next commit made in this process (`Storage::commit_news`) to any
    /// partition held now; the next poll then reads that partition's manifest again at once,
    /// whatever its idle pause. Owns what it waits on, so it can be awaited with the consumer
    /// lent elsewhere (the agent waits on it with the member's lock free).
    pub fn commit_news(&self) -> BoxFuture<'static, ()> {
        let mut news: Vec<_> = self.cursors.values().map(|o| o.news.clone()).collect();
        async move {
            let heard: Vec<_> = news
                .iter_mut()
                .map(|n| {
                    Box::pin(async move {
                        if n.changed().await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    })
                })
                .collect();
            if heard.is_empty() {
                std::future::pending::<()>().await;
            }
            futures::future::select_all(heard).await;
        }
        .boxed()
    }

    /// Commits `offset` (the next offset to read) and `metadata` for `partition`, conditioned
    /// on this member's lease: refused below the committed offset, outside the log, or for a
    /// partition not held ([`GroupError::Fenced`] if it was taken away).
    pub async fn commit(
        &mut self,
        partition: &TopicPartition,
        offset: u64,
        metadata: &str,
    ) -> Result<(), GroupError> {
        let manifest = self
            .storage
            .manifests
            .read(&partition.topic, partition.partition)
            .await?;
        let (start, end) = manifest.map_or((0, 0), |m| {
            (m.manifest.log_start_offset.0, m.manifest.next_offset.0)
        });
        if offset < start {
            let partition = partition.clone();
            return Err(GroupError::OffsetBelowStart {
                partition,
                offset,
                start,
            });
        }
        if offset > end {
            let partition = partition.clone();
            return Err(GroupError::OffsetBeyondEnd {
                partition,
                offset,
                end,
            });
        }
        let mut member = self.shared.member.lock().await;
        member.commit(partition, offset, metadata).await
    }

    /// This member's id in the group document now: a new one after it was removed (expired)
    /// and joined again by itself.
    pub async fn member_id(&self) -> MemberId {
        self.shared.member.lock().await.member_id().clone()
    }

    /// The partitions held now.
    pub async fn assignment(&self) -> Vec<Assignment> {
        self.shared.member.lock().await.assignment()
    }

    /// Leaves the group: commits what was polled (with auto-commit), releases every
    /// partition and removes this member, so others take its partitions at once.
    pub async fn close(self) -> Result<(), GroupError> {
        self.ticker.abort();
        let mut member = self.shared.member.lock().await;
        if self.settings.auto_commit_ms.is_some() {
            for (tp, position) in &self.returned {
                member.consumed(tp, *position);
            }
            member.commit_consumed().await?;
        }
        member.leave().await
    }

    /// Why this member ended, once it did: it was not polled for `max_poll_interval_ms` and
    /// left the group ([`GroupError::Closed`], or the error its leave met), or a newer
    /// incarnation with its instance id replaced it ([`GroupError::Replaced`]). An ended
    /// member holds nothing and answers every poll with that error: join again.
    pub fn ended(&self) -> Option<GroupError> {
        self.shared.ended.lock().ok().and_then(|e| e.clone())
    }

    /// Marks what the last poll returned as processed, auto-commits when due, and returns the
    /// events and the assignment.
    async fn settle(&mut self) -> Result<(Vec<Event>, Vec<Assignment>), GroupError> {
        let mut member = self.shared.member.lock().await;
        if let Some(every) = self.settings.auto_commit_ms {
            for (tp, position) in std::mem::take(&mut self.returned) {
                member.consumed(&tp, position);
            }
            if self.last_auto_commit.elapsed() >= Duration::from_millis(every) {
                member.commit_consumed().await?;
                self.last_auto_commit = Instant::now();
            }
        }
        Ok((member.take_events(), member.assignment()))
    }

    /// Opens cursors for partitions newly held (at their committed offset, else by
    /// `auto_offset_reset`) and drops those of partitions no longer held.
    async fn sync_cursors(&mut self, assignment: &[Assignment]) -> Result<(), GroupError> {
        let current: BTreeMap<&TopicPartition, &Assignment> =
            assignment.iter().map(|a| (&a.partition, a)).collect();
        self.cursors
            .retain(|tp, open| current.get(tp).is_some_and(|a| a.lease_epoch == open.epoch));
        for a in assignment {
            if self.cursors.contains_key(&a.partition) {
                continue;
            }
            let cursor = self.open_cursor(a).await?;
            self.cursors
                .insert(a.partition.clone(), Open::new(a.lease_epoch, cursor));
        }
        Ok(())
    }

    async fn open_cursor(&self, a: &Assignment) -> Result<Cursor, GroupError> {
        let tp = &a.partition;
        let Some(reader) = self.readers.get(&tp.topic) else {
            return Err(GroupError::NotOwner {
                partition: tp.clone(),
            });
        };
        let reset = match self.settings.auto_offset_reset {
            OffsetReset::Earliest => StartFrom::Earliest,
            OffsetReset::Latest => StartFrom::Latest,
            OffsetReset::None => {
                return match a.committed {
                    Some(offset) => Ok(reader
                        .cursor(tp.partition, StartFrom::Offset(Offset(offset)))
                        .await?),
                    None => Err(GroupError::NoCommittedOffset {
                        partition: tp.clone(),
                    }),
                };
            }
        };
        let Some(offset) = a.committed else {
            return Ok(reader.cursor(tp.partition, reset).await?);
        };
        match reader
            .cursor(tp.partition, StartFrom::Offset(Offset(offset)))
            .await
        {
            // Retention removed the committed offset: reset, as Kafka does.
            Err(ReadError::OffsetOutOfRange { .. }) => {
                Ok(reader.cursor(tp.partition, reset).await?)
            }
            other => Ok(other?),
        }
    }

    /// Reads up to `max_records` and `max_bytes` of payload (plus one record) across the
    /// open cursors, in partition order. A cursor that fails after others returned records
    /// ends the read with those: they moved their cursors and count as returned, so they must
    /// reach the caller (the failing cursor did not move and is read again next poll).
    async fn read(
        &mut self,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<Vec<Batch>, GroupError> {
        let mut batches = Vec::new();
        let (mut left, mut bytes_left) = (max_records, max_bytes);
        for (tp, open) in &mut self.cursors {
            if left == 0 || bytes_left == 0 {
                break;
            }
            let records = match open.next_records(left, bytes_left).await {
                Ok(records) => records,
                Err(e) if batches.is_empty() => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(partition = %tp, error = %e, "read failed; retrying next poll");
                    break;
                }
            };
            if records.is_empty() {
                continue;
            }
            left -= records.len();
            let bytes: usize = records.iter().map(|c| c.record.payload_bytes()).sum();
            bytes_left = bytes_left.saturating_sub(bytes);
            self.returned.insert(tp.clone(), open.cursor.position().0);
            batches.push(Batch {
                partition: tp.clone(),
                records,
            });
        }
        Ok(batches)
    }
}

impl Drop for GroupConsumer {
    /// A consumer dropped without [`GroupConsumer::close`] stops heartbeating: its peers
    /// remove it after the session timeout and take its partitions.
    fn drop(&mut self) {
        self.ticker.abort();
    }
}

/// Ticks the member every heartbeat interval until it ends: a newer incarnation replaced it,
/// or the application stopped polling for `max_poll_interval_ms` (it then leaves).
async fn tick_forever(shared: Arc<Shared>, settings: GroupSettings) {
    let max_poll = Duration::from_millis(settings.max_poll_interval_ms);
    loop {
        silt_core::clock::sleep(settings.heartbeat()).await;
        let idle = shared
            .last_poll
            .lock()
            .map(|l| l.elapsed())
            .unwrap_or_default();
        let mut member = shared.member.lock().await;
        let ended = if idle > max_poll {
            tracing::warn!(
                idle_ms = idle.as_millis() as u64,
                "not polled for max_poll_interval_ms: leaving the group"
            );
            Some(member.leave().await.err().unwrap_or(GroupError::Closed))
        } else {
            match member.tick(shared.origin.elapsed()).await {
                Err(e @ GroupError::Replaced { .. }) => Some(e),
                Err(e) => {
                    tracing::warn!(error = %e, "group heartbeat failed; retrying next interval");
                    None
                }
                Ok(()) => None,
            }
        };
        if let Some(e) = ended {
            if let Ok(mut slot) = shared.ended.lock() {
                *slot = Some(e);
            }
            return;
        }
    }
}
