//! What the group fault test reads of the group while its members run: each partition's lease
//! record (owner, lease epoch, committed offset), straight from the store the members use (the
//! object store, or the DynamoDB manifest table), and a [`Sampler`] that reads them all every
//! few hundred milliseconds and records every step backwards: a lease epoch or record version
//! that went down, two owners at one epoch, a committed offset that went back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::path::Path;
use silt_core::ids::{GroupName, PartitionId, TopicName};
use silt_core::keys::Keys;
use silt_core::store::Storage;
use silt_core::store::cas::{CasKey, CasStore};
pub(crate) use silt_group::records::Lease;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How often the sampler reads every lease.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// A group's lease records.
#[derive(Clone)]
pub(crate) struct Leases {
    cas: Arc<dyn CasStore>,
    scope: Path,
    topic: TopicName,
    partitions: u32,
    /// The longest single read so far: a store that stalls stalls the members too.
    slowest: Arc<Mutex<Duration>>,
}

impl Leases {
    pub(crate) fn new(storage: &Storage, group: &str, topic: &str, partitions: u32) -> Leases {
        Leases {
            cas: storage.cas(),
            scope: storage.keys.group(&GroupName::new(group).unwrap()),
            topic: TopicName::new(topic).unwrap(),
            partitions,
            slowest: Arc::default(),
        }
    }

    /// Every partition's lease (`None`: never taken), in partition order.
    pub(crate) async fn read(&self) -> Vec<Option<Lease>> {
        let all: Vec<usize> = (0..self.partitions as usize).collect();
        self.read_some(&all).await
    }

    /// The leases of `partitions` (`None`: never taken), in partition order; the others `None`.
    pub(crate) async fn read_some(&self, partitions: &[usize]) -> Vec<Option<Lease>> {
        let mut leases = vec![None; self.partitions as usize];
        for &p in partitions {
            let key = CasKey {
                scope: self.scope.clone(),
                name: Keys::group_offset_name(&self.topic, PartitionId(p as u32)),
            };
            let started = Instant::now();
            let found = self.cas.get(&key).await.unwrap();
            let took = started.elapsed();
            let mut slowest = self.slowest.lock().unwrap();
            *slowest = (*slowest).max(took);
            leases[p] = found.map(|f| serde_json::from_slice::<Lease>(&f.body).unwrap());
        }
        leases
    }

    /// The longest single lease read so far.
    pub(crate) fn slowest_read(&self) -> Duration {
        *self.slowest.lock().unwrap()
    }
}

/// The partitions `member` holds in `leases` (taken, not released), with their epochs.
pub(crate) fn held_by(leases: &[Option<Lease>], member: &str) -> Vec<(usize, u64)> {
    leases
        .iter()
        .enumerate()
        .filter_map(|(p, l)| {
            let l = l.as_ref()?;
            let mine = l.owner.as_ref()?.member_id.0 == member && !l.released;
            mine.then_some((p, l.lease_epoch))
        })
        .collect()
}

/// What the sampler saw.
#[derive(Debug, Default)]
pub(crate) struct History {
    pub(crate) samples: u64,
    /// Steps backwards, described.
    pub(crate) violations: Vec<String>,
    /// Lease writes between the first and the last sample (record versions went up by that).
    pub(crate) changes: u64,
}

/// Reads every lease every [`SAMPLE_EVERY`] until stopped.
pub(crate) struct Sampler {
    stop: Arc<AtomicBool>,
    task: JoinHandle<()>,
    history: Arc<Mutex<History>>,
}

impl Sampler {
    pub(crate) fn start(leases: Leases) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let history = Arc::new(Mutex::new(History::default()));
        let (stopping, seen) = (stop.clone(), history.clone());
        let task = tokio::spawn(async move {
            let mut last: Vec<Option<Lease>> = vec![None; leases.partitions as usize];
            while !stopping.load(Ordering::SeqCst) {
                let now = leases.read().await;
                record(&mut seen.lock().unwrap(), &last, &now);
                last = now;
                silt_core::clock::sleep(SAMPLE_EVERY).await;
            }
        });
        Sampler {
            stop,
            task,
            history,
        }
    }

    /// Stops sampling; what it saw.
    pub(crate) async fn finish(self) -> History {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap();
        std::mem::take(&mut *self.history.lock().unwrap())
    }
}

/// Counts a sample and what changed since the one before.
fn record(history: &mut History, last: &[Option<Lease>], now: &[Option<Lease>]) {
    history.samples += 1;
    for (p, (before, after)) in last.iter().zip(now).enumerate() {
        if let (Some(before), Some(after)) = (before, after) {
            history.changes += after.stamp.v.saturating_sub(before.stamp.v);
            history.violations.extend(step_back(p, before, after));
        }
    }
}

/// What went backwards from `before` to `after` (read later) on partition `p`.
fn step_back(p: usize, before: &Lease, after: &Lease) -> Vec<String> {
    let mut wrong = Vec::new();
    if after.stamp.v < before.stamp.v {
        wrong.push(format!(
            "partition {p}: record version {} after {}",
            after.stamp.v, before.stamp.v
        ));
    }
    if after.lease_epoch < before.lease_epoch {
        wrong.push(format!(
            "partition {p}: lease epoch {} after {}",
            after.lease_epoch, before.lease_epoch
        ));
    }
    let owner = |l: &Lease| l.owner.as_ref().map(|o| o.member_id.0.clone());
    if after.lease_epoch == before.lease_epoch && owner(after) != owner(before) {
        wrong.push(format!(
            "partition {p}: epoch {} held by {:?} then {:?}",
            after.lease_epoch,
            owner(before),
            owner(after)
        ));
    }
    if after.topic_id == before.topic_id && after.offset < before.offset {
        wrong.push(format!(
            "partition {p}: committed offset {:?} after {:?}",
            after.offset, before.offset
        ));
    }
    wrong
}
