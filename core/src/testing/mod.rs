//! Test utilities (feature `test-util`): a fault-injecting [`FlakyStore`] that wraps any
//! `ObjectStore`, and a [`ManualClock`]. Used by every crate's tests and the end-to-end suite.
//!
//! Faults model what S3 clients really see: a request that fails before reaching the store, one
//! that took effect but whose answer was lost, a 412/409 after our own write landed (the retry
//! of an applied conditional write), and delays. Choices come from a seeded RNG, so a failing
//! run can be replayed. [`DynamoFaults`] does the same for DynamoDB calls, inside the SDK.
//! [`SlowCommits`] holds manifest commits at a gate, as a throttled or stalled store would.
//! [`fuzz`] runs seeded fuzz tests of the decoders; [`dynamo_items`] opens the DynamoDB item
//! codecs to them.

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::clock::Clock;

#[cfg(feature = "dynamodb")]
mod dynamo_faults;
pub mod fuzz;
mod slow_commits;

/// DynamoDB items as the store writes and reads them, for tests that damage them.
#[cfg(feature = "dynamodb")]
pub mod dynamo_items {
    pub use crate::store::item_codecs::{
        AttributeValue, Item, head_from_item, head_to_item, segment_from_item, segment_to_item,
        tombstone_from_item, tombstone_to_item,
    };
}

#[cfg(feature = "dynamodb")]
pub use dynamo_faults::{DynamoError, DynamoFault, DynamoFaults, DynamoRule};
pub use slow_commits::SlowCommits;

/// A clock that moves only when told to.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock at `now_ms`.
    pub fn new(now_ms: i64) -> Arc<ManualClock> {
        Arc::new(ManualClock(AtomicI64::new(now_ms)))
    }
    /// Moves time forward.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    /// Sets the time.
    pub fn set(&self, now_ms: i64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The kinds of call a fault can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `PutMode::Overwrite` (segment uploads).
    PutOverwrite,
    /// `PutMode::Create` (new manifests, chunks, topics).
    PutCreate,
    /// `PutMode::Update` (manifest commits).
    PutUpdate,
    /// GET and HEAD.
    Get,
}

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call fails without reaching the store.
    ErrorBefore,
    /// The call takes effect, then the caller sees an error (a lost response or a 5xx).
    ErrorAfter,
    /// The write takes effect, then the caller sees 412 Precondition Failed (S3's answer to
    /// the client's retry of a write that had landed).
    PreconditionAfter,
    /// The write takes effect, then the caller sees 409 Conflict (`AlreadyExists`).
    ConflictAfter,
    /// The call is delayed.
    Delay(Duration),
    /// The call is refused without reaching the store (403, or EACCES on a local directory).
    Denied,
}

/// A fault applied to a fraction of matching calls.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The call it targets.
    pub call: Call,
    /// The fault.
    pub fault: Fault,
    /// Fraction of matching calls hit, 0.0 to 1.0.
    pub probability: f64,
    /// Only keys containing this text (e.g. `/manifest`, `/seg/`).
    pub key_contains: Option<String>,
}

impl Rule {
    /// A rule for every key.
    pub fn new(call: Call, fault: Fault, probability: f64) -> Rule {
        Rule {
            call,
            fault,
            probability,
            key_contains: None,
        }
    }
    /// Narrows the rule to keys containing `text`.
    pub fn on_keys(mut self, text: &str) -> Rule {
        self.key_contains = Some(text.to_string());
        self
    }
}

/// Told of every PUT the inner store accepted: its key and body.
pub type PutObserver = Box<dyn Fn(&Path, &[u8]) + Send + Sync>;

/// Wraps an `ObjectStore` and injects faults by [`Rule`]s.
pub struct FlakyStore {
    inner: Arc<dyn ObjectStore>,
    rules: Mutex<(Vec<Rule>, StdRng)>,
    injected: AtomicU64,
    observer: Mutex<Option<PutObserver>>,
}

impl fmt::Debug for FlakyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FlakyStore({})", self.inner)
    }
}

impl fmt::Display for FlakyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FlakyStore({})", self.inner)
    }
}

impl FlakyStore {
    /// Wraps `inner` with no faults yet; `seed` makes fault choices reproducible.
    pub fn new(inner: Arc<dyn ObjectStore>, seed: u64) -> Arc<FlakyStore> {
        Arc::new(FlakyStore {
            inner,
            rules: Mutex::new((Vec::new(), StdRng::seed_from_u64(seed))),
            injected: AtomicU64::new(0),
            observer: Mutex::new(None),
        })
    }

    /// Calls `observer` with every PUT the inner store accepted, in the order it accepted
    /// them, including those whose answer a fault then replaced with an error: the history a
    /// test checks invariants on.
    pub fn observe_puts(&self, observer: impl Fn(&Path, &[u8]) + Send + Sync + 'static) {
        if let Ok(mut slot) = self.observer.lock() {
            *slot = Some(Box::new(observer));
        }
    }

    /// Makes the PUT on the inner store and tells the observer, if any, once it is accepted.
    async fn put_observed(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let observed = self.observer.lock().is_ok_and(|o| o.is_some());
        let body: Vec<u8> = match observed {
            true => payload.iter().flat_map(|b| b.iter().copied()).collect(),
            false => Vec::new(),
        };
        let put = self.inner.put_opts(location, payload, opts).await?;
        if let Ok(slot) = self.observer.lock()
            && let Some(observer) = slot.as_ref()
        {
            observer(location, &body);
        }
        Ok(put)
    }

    /// Replaces the rules (an empty list heals the store).
    pub fn set_rules(&self, rules: Vec<Rule>) {
        if let Ok(mut guard) = self.rules.lock() {
            guard.0 = rules;
        }
    }

    /// How many faults were injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::SeqCst)
    }

    fn pick(&self, call: Call, location: &Path) -> Option<Fault> {
        let mut guard = self.rules.lock().ok()?;
        let (rules, rng) = &mut *guard;
        let key = location.as_ref();
        let fault = rules
            .iter()
            .filter(|r| r.call == call && r.key_contains.as_deref().is_none_or(|t| key.contains(t)))
            .find(|r| rng.random_bool(r.probability.clamp(0.0, 1.0)))
            .map(|r| r.fault);
        if fault.is_some() {
            self.injected.fetch_add(1, Ordering::SeqCst);
        }
        fault
    }
}

fn injected(path: &Path, fault: Fault) -> object_store::Error {
    let path = path.to_string();
    match fault {
        Fault::PreconditionAfter => object_store::Error::Precondition {
            path,
            source: "injected 412".into(),
        },
        Fault::ConflictAfter => object_store::Error::AlreadyExists {
            path,
            source: "injected 409".into(),
        },
        Fault::Denied => object_store::Error::PermissionDenied {
            path,
            source: "injected 403".into(),
        },
        _ => object_store::Error::Generic {
            store: "FlakyStore",
            source: format!("injected {fault:?} on {path}").into(),
        },
    }
}

async fn with_fault<T>(
    fault: Option<Fault>,
    path: &Path,
    call: impl Future<Output = Result<T>>,
) -> Result<T> {
    match fault {
        None => call.await,
        Some(Fault::Delay(d)) => {
            crate::clock::sleep(d).await;
            call.await
        }
        Some(fault @ (Fault::ErrorBefore | Fault::Denied)) => Err(injected(path, fault)),
        Some(fault) => {
            call.await?;
            Err(injected(path, fault))
        }
    }
}

#[async_trait]
impl ObjectStore for FlakyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let call = match opts.mode {
            PutMode::Overwrite => Call::PutOverwrite,
            PutMode::Create => Call::PutCreate,
            PutMode::Update(_) => Call::PutUpdate,
        };
        let fault = self.pick(call, location);
        with_fault(fault, location, self.put_observed(location, payload, opts)).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let fault = self.pick(Call::Get, location);
        with_fault(fault, location, self.inner.get_opts(location, options)).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let fault = self.pick(Call::Get, location);
        with_fault(fault, location, self.inner.get_ranges(location, ranges)).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
