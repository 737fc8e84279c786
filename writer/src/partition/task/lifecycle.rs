//! The partition task's life beyond batching: lease renewal while the writer is open, taking
//! over from a predecessor that died, and what a dying task answers (docs/design.md §6 rule 4).

use std::time::Duration;

use silt_core::error::Error;

use super::{Leadership, Task, fail_all};

impl Task {
    /// A leader's lease renewal: an append of no segments, conditional on its epoch.
    pub(super) fn renew_lease(&mut self) {
        self.renew_at = None;
        if self.commit.is_none() && self.ready.is_empty() {
            self.spawn_commit(None);
        }
    }

    /// How often a leader renews its lease: three times per lease, so one failed renewal
    /// (or two) does not let it lapse.
    pub(super) fn renewal_interval(&self) -> Duration {
        Duration::from_millis(
            u64::try_from(self.settings.lease_ms / 3)
                .unwrap_or(0)
                .max(1),
        )
    }

    /// Waits for a commit a dead predecessor left running, and takes over what it learned
    /// (its manifest view, its leadership or fence). Its waiters were answered already.
    pub(super) async fn await_predecessor(&mut self) {
        let Some(commit) = self.state.take_orphaned_commit() else {
            return;
        };
        match commit.await {
            Ok(report) => {
                if let Leadership::Fenced(r) = &report.leadership {
                    self.state.fence(r);
                }
                if report.leadership != Leadership::Unclaimed {
                    self.leadership = report.leadership;
                }
                self.snapshot = report.snapshot;
            }
            Err(e) => {
                tracing::error!(partition = %self.committer.partition, error = %e, "the commit a dead partition task left failed");
            }
        }
    }
}

/// A task that ends with a commit in flight is dying (a panic, or its runtime shutting down):
/// that commit may still land, so its waiters hear `Indeterminate`; everyone else was in no
/// commit and hears `Closed` (their senders drop). The commit is left to the successor.
impl Drop for Task {
    fn drop(&mut self) {
        let in_flight = std::mem::take(&mut self.committing);
        if !in_flight.is_empty() {
            let error = Error::Indeterminate {
                partition: self.committer.partition,
                waited_ms: 0,
                last_error: "the partition task stopped with this commit in flight".into(),
            };
            fail_all(in_flight.into_iter().flat_map(|u| u.waiters), &error.into());
        }
        if let Some(commit) = self.commit.take() {
            self.state.leave_commit(commit);
        }
    }
}
