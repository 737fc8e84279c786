//! One manifest group as this process sees it: the newest document it knows, its reads (one
//! GET at a time, shared by every caller that arrived before that GET started, so a read
//! still sees every commit finished before it was asked for), and its writes (every change
//! waiting when a write starts goes into it: one conditional PUT for many partitions).
//!
//! A change carries the partition's manifest version it was made on. The writer applies it to
//! the newest document only if that partition is still at that version, and conditions the
//! PUT on the document's ETag: for each partition this is exactly the per-partition
//! conditional write, so the commit loop (`resolve`) above it is unchanged. A change whose
//! partition moved is answered "lost race" without a request; a failed PUT is answered to
//! each of its changes, whose commit loops read back and decide as for any failed write.

use std::mem;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use object_store::path::Path;
use object_store::{GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};
use tokio::sync::oneshot;

use super::doc::{GroupDoc, Part};
use crate::error::{Corruption, Error, ErrorKind, Rejection, Result};
use crate::ids::{ManifestVersion, PartitionId};
use crate::limits::DOCUMENT_BYTES_MAX;
use crate::manifest::Manifest;
use crate::store::WriteFailed;
use crate::store::bounded::document_body;

/// What a change asks of one partition of the group.
#[derive(Debug)]
pub(super) struct Change {
    pub(super) partition: PartitionId,
    /// The partition's manifest version the change was made on (`None`: it has none yet).
    pub(super) expect: Option<ManifestVersion>,
    /// Its manifest after the change (`None`: remove it from the group).
    pub(super) next: Option<Manifest>,
}

/// A change's outcome: the document it was written in, or why not.
pub(super) type Outcome = std::result::Result<Arc<GroupDoc>, WriteFailed>;

#[derive(Debug)]
struct Waiting {
    change: Change,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Debug, Default)]
struct Writes {
    waiting: Vec<Waiting>,
    writing: bool,
}

/// The last shared read: how many GETs had started before it, and what it found.
type LastRead = Option<(u64, Option<Arc<GroupDoc>>)>;

/// One group's document, reads and writes in this process.
#[derive(Debug)]
pub(super) struct Group {
    objects: Arc<dyn ObjectStore>,
    path: Path,
    latest: Mutex<Option<Arc<GroupDoc>>>,
    reads: tokio::sync::Mutex<LastRead>,
    reads_started: AtomicU64,
    writes: Mutex<Writes>,
}

impl Group {
    pub(super) fn new(objects: Arc<dyn ObjectStore>, path: Path) -> Group {
        Group {
            objects,
            path,
            latest: Mutex::default(),
            reads: tokio::sync::Mutex::default(),
            reads_started: AtomicU64::new(0),
            writes: Mutex::default(),
        }
    }

    /// The document as stored now (strongly consistent): one GET shared with the callers
    /// that arrived while the previous one was in flight. `None` if there is none.
    pub(super) async fn read(&self) -> Result<Option<Arc<GroupDoc>>> {
        let arrived = self.reads_started.load(Ordering::SeqCst);
        let mut last = self.reads.lock().await;
        if let Some((started, found)) = last.as_ref()
            && *started >= arrived
        {
            return Ok(found.clone());
        }
        let started = self.reads_started.fetch_add(1, Ordering::SeqCst);
        let found = self.get().await?;
        *last = Some((started, found.clone()));
        Ok(found)
    }

    async fn get(&self) -> Result<Option<Arc<GroupDoc>>> {
        let known = lock(&self.latest).clone();
        let options = GetOptions {
            if_none_match: known.as_ref().and_then(|d| d.e_tag.clone()),
            ..GetOptions::default()
        };
        let got = match self.objects.get_opts(&self.path, options).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => {
                *lock(&self.latest) = None;
                return Ok(None);
            }
            Err(object_store::Error::NotModified { .. }) if known.is_some() => return Ok(known),
            Err(e) => return Err(e.into()),
        };
        let (e_tag, object_version) = (got.meta.e_tag.clone(), got.meta.version.clone());
        let body = document_body(got, "manifest group", self.path.as_ref()).await?;
        let doc = GroupDoc {
            e_tag,
            object_version,
            ..GroupDoc::decode(&body, self.path.as_ref())?
        };
        let doc = Arc::new(doc);
        self.remember(&doc);
        Ok(Some(doc))
    }

    /// Deletes the document if it holds no partition (GC of a deleted topic).
    pub(super) async fn delete_if_empty(&self) -> Result<()> {
        if self.read().await?.is_some_and(|doc| !doc.parts.is_empty()) {
            return Ok(());
        }
        *lock(&self.latest) = None;
        match self.objects.delete(&self.path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Keeps `doc` as the newest known unless a newer one is known.
    fn remember(&self, doc: &Arc<GroupDoc>) {
        let mut latest = lock(&self.latest);
        if latest.as_ref().is_none_or(|l| l.version < doc.version) {
            *latest = Some(doc.clone());
        }
    }

    /// Writes `change` together with whatever else is waiting; see the module doc.
    pub(super) async fn change(self: &Arc<Self>, change: Change) -> Outcome {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut writes = lock(&self.writes);
            writes.waiting.push(Waiting { change, reply });
            !mem::replace(&mut writes.writing, true)
        };
        if start {
            // The guard exists before the task runs: a task dropped unpolled (its runtime
            // shutting down) still lets the next change start another.
            let writing = Writing {
                group: self.clone(),
                done: false,
            };
            tokio::spawn(writing.write_all());
        }
        match answer.await {
            Ok(outcome) => outcome,
            Err(_) => Err(failed(
                false,
                "the manifest group's writer stopped".into(),
                None,
            )),
        }
    }

    async fn write_batch(&self, batch: Vec<Waiting>) {
        let base = match self.base().await {
            Ok(base) => base,
            Err(e) => {
                let cause = format!("could not read the manifest group: {e}");
                for w in batch {
                    let _ = w.reply.send(Err(failed(false, cause.clone(), None)));
                }
                return;
            }
        };
        let version = base.as_ref().map_or(Some(1), |b| b.version.checked_add(1));
        let Some(version) = version else {
            let reason = "its group_version cannot grow any more".to_string();
            let e = corrupt(self.path.as_ref(), reason);
            for w in batch {
                let _ = w
                    .reply
                    .send(Err(failed(false, e.to_string(), Some(e.clone()))));
            }
            return;
        };
        let (next, members, stale) = self.apply(&base, version, batch);
        if stale {
            // A change was made on another version of its partition than the one known
            // here: what is known may be the old one (changed by hand, or restored).
            *lock(&self.latest) = None;
        }
        let members = self.refuse_growth_beyond_limit(base.as_deref(), &next, members);
        if members.is_empty() {
            return;
        }
        let outcome = self.put(base.as_deref(), next).await;
        for w in members {
            let _ = w.reply.send(match &outcome {
                Ok(doc) => Ok(doc.clone()),
                Err(f) => Err(failed(f.lost_race, f.cause.clone(), f.refused.clone())),
            });
        }
    }

    /// The newest known document (read if none is known); `None` when there is none.
    async fn base(&self) -> Result<Option<Arc<GroupDoc>>> {
        if let Some(latest) = lock(&self.latest).clone() {
            return Ok(Some(latest));
        }
        self.read().await
    }

    /// Applies each change whose partition is still where it expects; answers the others
    /// (and says whether there were any).
    fn apply(
        &self,
        base: &Option<Arc<GroupDoc>>,
        version: u64,
        batch: Vec<Waiting>,
    ) -> (GroupDoc, Vec<Waiting>, bool) {
        let mut next = GroupDoc {
            version,
            parts: base.as_ref().map(|b| b.parts.clone()).unwrap_or_default(),
            e_tag: None,
            object_version: None,
        };
        let mut members = Vec::with_capacity(batch.len());
        let mut stale = false;
        for w in batch {
            let Change {
                partition,
                expect,
                next: manifest,
            } = &w.change;
            let now = next.parts.get(partition).map(|p| p.manifest.version);
            let taken = members
                .iter()
                .any(|m: &Waiting| m.change.partition == *partition);
            if now != *expect || taken {
                stale |= now != *expect;
                let cause = format!("partition {partition} moved on in the manifest group");
                let _ = w.reply.send(Err(failed(true, cause, None)));
                continue;
            }
            let part = match manifest.clone().map(Part::new).transpose() {
                Ok(part) => part,
                Err(e) => {
                    let _ = w.reply.send(Err(failed(false, e.to_string(), Some(e))));
                    continue;
                }
            };
            match part {
                Some(part) => next.parts.insert(*partition, part),
                None => next.parts.remove(partition),
            };
            members.push(w);
        }
        (next, members, stale)
    }

    /// When `next` is beyond the document size limit, answers `ManifestFull` to each member
    /// whose manifest grew (naming its own partition) and puts the others back to wait, to
    /// be written without them; else returns the members.
    fn refuse_growth_beyond_limit(
        &self,
        base: Option<&GroupDoc>,
        next: &GroupDoc,
        members: Vec<Waiting>,
    ) -> Vec<Waiting> {
        let size = next.size();
        if size as u64 <= DOCUMENT_BYTES_MAX {
            return members;
        }
        let (grew, others): (Vec<_>, Vec<_>) = members.into_iter().partition(|w| {
            let p = w.change.partition;
            next.line_len(p) > base.map_or(0, |b| b.line_len(p))
        });
        // None grew: cannot happen from a readable base; refuse all rather than loop.
        let (grew, others) = match grew.is_empty() {
            true => (others, Vec::new()),
            false => (grew, others),
        };
        for w in grew {
            let full = Error::from(Rejection::ManifestFull {
                partition: w.change.partition,
                bytes: size,
                max: DOCUMENT_BYTES_MAX as usize,
            });
            let _ = w
                .reply
                .send(Err(failed(false, full.to_string(), Some(full))));
        }
        lock(&self.writes).waiting.splice(0..0, others);
        Vec::new()
    }

    /// One conditional PUT of `next` over `base`: the outcome of each of its changes.
    async fn put(&self, base: Option<&GroupDoc>, mut next: GroupDoc) -> Outcome {
        let body = next.encode();
        let mode = match base {
            Some(b) => PutMode::Update(UpdateVersion {
                e_tag: b.e_tag.clone(),
                version: b.object_version.clone(),
            }),
            None => PutMode::Create,
        };
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        match self.objects.put_opts(&self.path, body.into(), opts).await {
            Ok(put) => {
                next.e_tag = put.e_tag;
                next.object_version = put.version;
                let next = Arc::new(next);
                self.remember(&next);
                Ok(next)
            }
            Err(e) => {
                // Whatever happened, the newest document is not known any more.
                *lock(&self.latest) = None;
                let lost = matches!(
                    e,
                    object_store::Error::Precondition { .. }
                        | object_store::Error::AlreadyExists { .. }
                );
                let cause = e.to_string();
                let refused = Some(Error::from(e)).filter(|e| e.kind() == ErrorKind::Config);
                Err(failed(lost, cause, refused))
            }
        }
    }
}

/// Held by the task writing a group's changes: if that task ends before it is done (its
/// runtime shut down), lets the next change start another, and drops the waiting changes'
/// answers, which their callers take as a write whose outcome is unknown (they read back).
struct Writing {
    group: Arc<Group>,
    done: bool,
}

impl Writing {
    /// Writes what is waiting, batch after batch, until nothing is.
    async fn write_all(mut self) {
        loop {
            let batch = {
                let mut writes = lock(&self.group.writes);
                // A change whose caller is gone (its task cancelled) is not written.
                writes.waiting.retain(|w| !w.reply.is_closed());
                if writes.waiting.is_empty() {
                    writes.writing = false;
                    self.done = true;
                    return;
                }
                mem::take(&mut writes.waiting)
            };
            self.group.write_batch(batch).await;
        }
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        if !self.done {
            let mut writes = lock(&self.group.writes);
            writes.writing = false;
            writes.waiting.clear();
        }
    }
}

fn corrupt(location: &str, reason: String) -> Error {
    Error::Corrupt(Corruption {
        what: "manifest group",
        location: location.to_string(),
        reason,
    })
}

fn failed(lost_race: bool, cause: String, refused: Option<Error>) -> WriteFailed {
    WriteFailed {
        lost_race,
        cause,
        refused,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
