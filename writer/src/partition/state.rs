//! What outlives one partition task: the fence, once a newer leader took the partition (so
//! every later `send` fails at once, and a restarted task never claims it back), and a commit
//! a task left running when it died (its successor waits for it, so one partition never has
//! two commits of this writer in flight).

use std::sync::{Arc, Mutex, OnceLock};

use silt_core::error::Rejection;
use silt_core::ids::PartitionId;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::committer::CommitReport;

/// The first partition of a writer to be fenced, and why; watched by [`crate::Writer::first_fence`].
pub(crate) type FirstFence = Arc<watch::Sender<Option<(PartitionId, Rejection)>>>;

/// Shared by the writer and each task it starts for one partition.
#[derive(Debug)]
pub(crate) struct PartitionState {
    partition: PartitionId,
    fenced: OnceLock<Rejection>,
    first_fence: FirstFence,
    orphaned_commit: Mutex<Option<JoinHandle<CommitReport>>>,
}

impl PartitionState {
    /// The state of `partition`, which reports its fence to the writer's `first_fence`.
    pub(crate) fn new(partition: PartitionId, first_fence: FirstFence) -> PartitionState {
        PartitionState {
            partition,
            fenced: OnceLock::new(),
            first_fence,
            orphaned_commit: Mutex::new(None),
        }
    }

    /// Why this partition is fenced, if it is. Fencing is final for this writer.
    pub(crate) fn fenced(&self) -> Option<&Rejection> {
        self.fenced.get()
    }

    /// Records the fence (the first one; later ones say the same), and tells the writer.
    pub(crate) fn fence(&self, why: &Rejection) {
        let _ = self.fenced.set(why.clone());
        self.first_fence.send_if_modified(|first| {
            let unset = first.is_none();
            if unset {
                *first = Some((self.partition, why.clone()));
            }
            unset
        });
    }

    /// Keeps the commit a dying task leaves running, for its successor.
    pub(super) fn leave_commit(&self, commit: JoinHandle<CommitReport>) {
        let mut slot = self
            .orphaned_commit
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *slot = Some(commit);
    }

    /// The commit a dead predecessor left running, if any.
    pub(super) fn take_orphaned_commit(&self) -> Option<JoinHandle<CommitReport>> {
        let mut slot = self
            .orphaned_commit
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        slot.take()
    }
}
