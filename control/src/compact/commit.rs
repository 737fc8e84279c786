//! The end of a compaction unit: commit its `Replace` (with a rewritten index chunk when the
//! unit is a sealed chunk's entries), count a refusal as changed meanwhile, and delete the
//! cold segments that did not become part of the log (analysts' globs over `tables/` see
//! every file there).

use std::ops::Range;

use silt_core::error::{ErrorKind, Result};
use silt_core::manifest::{ChunkRef, Edit, SegmentEntry};
use silt_core::store::Snapshot;

use super::{Partition, merge, seal};

impl Partition<'_> {
    /// Commits a unit's `Replace`; a refusal because what it read changed is counted, not
    /// failed. The cold segments it `written` are deleted at once if it did not commit
    /// (analysts' globs over `tables/` must not see them; other uploads are left to GC's
    /// orphan sweep): after an error, all (the store says nothing was committed); after a
    /// refusal, those the manifest read again does not reference (on DynamoDB a refusal can
    /// follow an attempt that did land); after an indeterminate outcome, none.
    pub(super) async fn commit(
        &mut self,
        base: &mut Snapshot,
        edit: Edit,
        written: &[SegmentEntry],
    ) -> Result<()> {
        let committed = self
            .run
            .try_commit(self.storage, self.topic, self.p, base, edit);
        let failed = match committed.await {
            Ok(Some(committed)) => {
                *base = committed.snapshot;
                return Ok(());
            }
            Ok(None) => {
                self.report.stale += 1;
                self.sealing &= written.iter().all(|e| !e.is_cold());
                None
            }
            Err(e) if e.kind() == ErrorKind::Indeterminate => return Err(e),
            Err(e) => Some(e),
        };
        let cold: Vec<SegmentEntry> = written.iter().filter(|e| e.is_cold()).copied().collect();
        if let Some(e) = failed {
            seal::delete_files(self.storage, self.topic, self.p, &cold).await;
            return Err(e);
        }
        if let Some(fresh) = self.storage.manifests.read(self.topic, self.p).await? {
            let unreferenced = seal::unreferenced(self.storage, self.topic, &fresh, &cold);
            seal::delete_files(self.storage, self.topic, self.p, &unreferenced.await?).await;
            *base = fresh;
        }
        Ok(())
    }

    /// Writes the chunk holding `entries` with `span` swapped for `new`.
    pub(super) async fn rewrite_chunk(
        &self,
        base: &Snapshot,
        entries: &[SegmentEntry],
        span: Range<usize>,
        new: &[SegmentEntry],
    ) -> Result<ChunkRef> {
        let mut all = entries[..span.start].to_vec();
        all.extend_from_slice(new);
        all.extend_from_slice(&entries[span.end..]);
        let written = self
            .storage
            .write_chunk(self.topic, &base.manifest, &all)
            .await?;
        written.ok_or_else(|| merge::invariant(&base.manifest, "a rewritten chunk with no entries"))
    }
}
