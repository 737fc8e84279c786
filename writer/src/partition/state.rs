//! What outlives one partition task: the fence, once a newer leader took the partition (so
//! every later `send` fails at once, and a restarted task never claims it back), and a commit
//! a task left running when it died (its successor waits for it, so one partition never has
//! two commits of this writer in flight).

use std::sync::{Mutex, OnceLock};

use silt_core::error::Rejection;
use tokio::task::JoinHandle;

use super::committer::CommitReport;

/// Shared by the writer and each task it starts for one partition.
#[derive(Debug, Default)]
pub(crate) struct PartitionState {
    fenced: OnceLock<Rejection>,
    orphaned_commit: Mutex<Option<JoinHandle<CommitReport>>>,
}

impl PartitionState {
    /// Why this partition is fenced, if it is. Fencing is final for this writer.
    pub(crate) fn fenced(&self) -> Option<&Rejection> {
        self.fenced.get()
    }

    /// Records the fence (the first one; later ones say the same).
    pub(crate) fn fence(&self, why: &Rejection) {
        let _ = self.fenced.set(why.clone());
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
