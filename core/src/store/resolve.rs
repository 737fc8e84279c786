//! The commit loop every manifest store shares (docs/design.md §6 rules 3 and 5). Apply the edit to
//! the manifest as read and write the result conditionally. After any failed write, read back and
//! decide: committed (our marker is there), lost (the manifest moved past what our write was
//! conditional on, so it can never land: re-apply the edit on the new one, a rebase), or
//! unknown (send the same conditional write again), until a deadline. A write the backend
//! refused for good (no permission) fails the commit once the read-back shows it did not land.
//!
//! A backend supplies only "read", "write if unchanged" and the rule that says when a write
//! attempted on one manifest can no longer take effect.

use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::missing::{check_topic_id, manifest_missing};
use super::read_back::{self, ReadBackFailed};
use super::{Committed, ManifestStore, Snapshot};
use crate::clock;
use crate::error::{Error, Result};
use crate::ids::{PartitionId, TopicName};
use crate::manifest::{Commit, Manifest, apply};
use crate::metrics;

/// How long a committer keeps trying to learn the outcome of a failed write.
pub const COMMIT_RESOLVE_TIMEOUT: Duration = Duration::from_secs(30);
/// Races lost in a row before a commit gives up with `Contended`.
pub const COMMIT_RACES_MAX: u32 = 500;

/// A conditional write that did not report success: it may still have taken effect.
#[derive(Debug)]
pub struct WriteFailed {
    /// The backend said another write got there first (412, 409, condition failed).
    pub lost_race: bool,
    /// What the backend said.
    pub cause: String,
    /// The backend refused the write for a reason retrying cannot change (no permission):
    /// once a read-back shows it did not land, the commit fails with this at once.
    pub refused: Option<Error>,
}

/// What a manifest backend offers the commit loop.
#[async_trait]
pub(super) trait ConditionalWrite: ManifestStore {
    /// Writes `next`, the successor of `current` under `commit`, only if the stored manifest
    /// still matches `current`. The outer error means nothing was sent.
    async fn write_next(
        &self,
        topic: &TopicName,
        p: PartitionId,
        current: &Snapshot,
        next: Manifest,
        commit: &Commit,
    ) -> Result<Result<Snapshot, WriteFailed>>;

    /// Reads the manifest, strongly consistent.
    async fn read_current(&self, topic: &TopicName, p: PartitionId) -> Result<Option<Snapshot>>;

    /// Whether a write of `commit` attempted on `attempted` could still take effect on a
    /// store whose manifest is now `now` (false once a condition it carried can never hold).
    fn could_still_land(&self, commit: &Commit, attempted: &Manifest, now: &Manifest) -> bool;
}

/// Commits `commit` on top of `base` through `backend`; see [`super::ManifestStore::commit`].
/// Records its latency and outcome (`silt_commit_seconds`, `silt_commits_total`).
pub(super) async fn commit_with(
    backend: &impl ConditionalWrite,
    topic: &TopicName,
    p: PartitionId,
    base: &Snapshot,
    commit: &Commit,
    resolve_timeout: Duration,
) -> Result<Committed> {
    let started = Instant::now();
    let outcome = commit_loop(backend, topic, p, base, commit, started, resolve_timeout).await;
    let failure = outcome.as_ref().err().map(Error::kind);
    metrics::commit_done(started.elapsed(), failure);
    outcome
}

async fn commit_loop(
    backend: &impl ConditionalWrite,
    topic: &TopicName,
    p: PartitionId,
    base: &Snapshot,
    commit: &Commit,
    started: Instant,
    resolve_timeout: Duration,
) -> Result<Committed> {
    let reader = ReadBack {
        backend,
        topic,
        p,
        started,
        deadline: started + resolve_timeout,
    };
    let mut current = base.clone();
    let mut fresh = false;
    let mut races = 0u32;
    loop {
        check_topic_id(topic, p, base.manifest.topic_id, &current.manifest)?;
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
                current = reader.read("refusal on a cached manifest").await?;
                fresh = true;
                continue;
            }
            Err(rejection) => return Err(rejection.into()),
        };
        let base_offset = commit.base_offset_in(&next);
        let failed = match backend.write_next(topic, p, &current, next, commit).await? {
            Ok(snapshot) => {
                return Ok(Committed {
                    snapshot,
                    base_offset,
                });
            }
            Err(failed) => failed,
        };
        // Whatever the error says, our write may have landed: read back and decide.
        if failed.lost_race {
            races += 1;
            backoff_after_race(races, commit).await;
        }
        let attempted = current.manifest.clone();
        fresh = true;
        current = reader.read(&failed.cause).await?;
        if commit.is_in(&current.manifest) {
            continue;
        }
        if let Some(refused) = failed.refused {
            return Err(refused);
        }
        let moved_on = !backend.could_still_land(commit, &attempted, &current.manifest);
        let out_of_time = Instant::now() >= reader.deadline;
        if moved_on && (races >= COMMIT_RACES_MAX || out_of_time) {
            return Err(Error::Contended {
                partition: p,
                attempts: races,
            });
        }
        if out_of_time {
            return Err(reader.indeterminate(failed.cause));
        }
    }
}

/// Reads the manifest back after a failed write, retrying transient failures until a deadline.
struct ReadBack<'a, B> {
    backend: &'a B,
    topic: &'a TopicName,
    p: PartitionId,
    started: Instant,
    deadline: Instant,
}

impl<B: ConditionalWrite> ReadBack<'_, B> {
    async fn read(&self, cause: &str) -> Result<Snapshot> {
        read_back::until(self.deadline, || self.read_once(cause))
            .await
            .map_err(|failed| match failed {
                ReadBackFailed::Final(e) => e,
                ReadBackFailed::OutOfTime(last_error) => self.indeterminate(last_error),
            })
    }

    async fn read_once(&self, cause: &str) -> Result<Snapshot> {
        match self.backend.read_current(self.topic, self.p).await? {
            Some(s) => Ok(s),
            // Manifests are never deleted: the one this commit started from is gone.
            None => {
                let evidence = format!("it vanished while a commit was resolved ({cause})");
                Err(manifest_missing(self.backend, self.topic, self.p, evidence))
            }
        }
    }

    fn indeterminate(&self, last_error: String) -> Error {
        Error::Indeterminate {
            partition: self.p,
            waited_ms: self.started.elapsed().as_millis() as u64,
            last_error,
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
    clock::sleep(Duration::from_millis(spread + 1)).await;
}
