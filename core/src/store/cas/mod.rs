//! A compare-and-swap over small documents that knows nothing of what it stores: consumer
//! groups keep their records in it (docs/consumer-groups.md). A record is named by a scope (a
//! folder, such as `groups/<group>`) and a name within it; it lives in the object store
//! (`<scope>/<name>`, If-None-Match / If-Match) or in the DynamoDB manifest table
//! (`pk = <namespace>/<scope>`, `sk = <name>`, conditioned on its version attribute `v`).
//!
//! [`write`] is the one way to change a record: a conditional write whose ambiguous outcome
//! (timeout, 5xx, 409, 412) is decided by reading the record back (`read_back`, shared with
//! the manifest commit loop), asking the caller's [`Witness`] whether what is stored now is our
//! write, is unchanged (send it again), or moved on (we lost).

mod object;

pub use object::ObjectCas;

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::path::Path;
use tokio::time::Instant;

use super::WriteFailed;
use super::read_back::{self, ReadBackFailed};
use crate::clock;
use crate::error::{Error, Result};

/// How long [`write`] keeps trying to learn the outcome of a failed write.
pub const CAS_RESOLVE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a record lives: a scope (a folder) and a name within it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CasKey {
    /// The folder, such as `groups/<group>` (from [`crate::keys::Keys`]).
    pub scope: Path,
    /// The name within it, such as `offsets/<topic>/<partition:05>`.
    pub name: String,
}

/// The token a conditional write is conditioned on: an ETag (and object version), or the
/// DynamoDB item's version attribute.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CasVersion {
    /// ETag, or the DynamoDB `v` as text.
    pub e_tag: Option<String>,
    /// Object version, where the backend has them.
    pub object_version: Option<String>,
}

/// A record as read, with the token for its next conditional write.
#[derive(Debug, Clone)]
pub struct Versioned {
    /// The document.
    pub body: Bytes,
    /// Its version.
    pub version: CasVersion,
}

/// What a write requires of the stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// There is none (If-None-Match: *, `attribute_not_exists`).
    Absent,
    /// It is still at this version (If-Match, `v = :v`).
    Matches(CasVersion),
}

/// The answer to a conditional read.
#[derive(Debug, Clone)]
pub enum Revalidated {
    /// Still the version known (a 304).
    Unchanged,
    /// Another version.
    Changed(Versioned),
    /// No record any more.
    Gone,
}

/// What the caller sees in a record read back after a failed write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Our write is there: it landed.
    Ours,
    /// The record is still the one our write was conditioned on: send it again.
    Unchanged,
    /// Another write got there first: ours can never land.
    MovedOn,
}

/// Tells our write from others' in a record read back (by a write id and a version inside
/// the document: an ETag's format differs between a PUT's answer and a GET's on some stores).
pub trait Witness: Send + Sync {
    /// What `stored` (`None`: no record) says of our write.
    fn seen(&self, stored: Option<&Versioned>) -> Result<Seen>;
}

/// The outcome of [`write`].
#[derive(Debug, Clone)]
pub enum Written {
    /// Ours landed, at this version.
    Landed(CasVersion),
    /// Another write got there first; what is stored now (`None`: nothing).
    Lost(Option<Versioned>),
}

/// Small documents changed only by conditional writes.
#[async_trait]
pub trait CasStore: Send + Sync + Debug {
    /// Reads a record, strongly consistent; `None` if there is none.
    async fn get(&self, key: &CasKey) -> Result<Option<Versioned>>;

    /// Reads a record only if it is no longer at `known` (a conditional GET where the backend
    /// has one).
    async fn get_if_changed(&self, key: &CasKey, known: &CasVersion) -> Result<Revalidated>;

    /// One conditional write, not resolved: use [`write`]. The outer error means nothing was
    /// sent.
    async fn put_once(
        &self,
        key: &CasKey,
        body: Bytes,
        condition: &Condition,
    ) -> Result<Result<CasVersion, WriteFailed>>;

    /// Deletes a record, unconditionally (object stores have no conditional delete); deleting
    /// one that is not there succeeds.
    async fn delete(&self, key: &CasKey) -> Result<()>;

    /// Names in `scope` starting with `prefix`, sorted.
    async fn list(&self, scope: &Path, prefix: &str) -> Result<Vec<String>>;

    /// Where a record lives, for messages.
    fn location(&self, key: &CasKey) -> String;
}

/// Writes `body` to `key` if `condition` holds, and decides a failed attempt's outcome by
/// reading back (asking `witness`): sends the same write again while the record is unchanged,
/// until `timeout`, then fails with [`Error::CasIndeterminate`].
pub async fn write(
    store: &dyn CasStore,
    key: &CasKey,
    body: Bytes,
    condition: &Condition,
    witness: &dyn Witness,
    timeout: Duration,
) -> Result<Written> {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut pause = Duration::from_millis(10);
    loop {
        let failed = match store.put_once(key, body.clone(), condition).await? {
            Ok(version) => return Ok(Written::Landed(version)),
            Err(failed) => failed,
        };
        let stored = read_back::until(deadline, || store.get(key))
            .await
            .map_err(|failed_read| match failed_read {
                ReadBackFailed::Final(e) => e,
                ReadBackFailed::OutOfTime(last) => indeterminate(store, key, started, last),
            })?;
        match witness.seen(stored.as_ref())? {
            Seen::Ours => {
                let version = stored.map(|s| s.version).unwrap_or_default();
                return Ok(Written::Landed(version));
            }
            Seen::MovedOn => return Ok(Written::Lost(stored)),
            Seen::Unchanged => {}
        }
        if let Some(refused) = failed.refused {
            return Err(refused);
        }
        if Instant::now() + pause > deadline {
            return Err(indeterminate(store, key, started, failed.cause));
        }
        clock::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

fn indeterminate(store: &dyn CasStore, key: &CasKey, started: Instant, last: String) -> Error {
    Error::CasIndeterminate {
        location: store.location(key),
        waited_ms: started.elapsed().as_millis() as u64,
        last_error: last,
    }
}

#[cfg(test)]
mod tests;
