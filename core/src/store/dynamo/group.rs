//! Grouped commits (docs/design.md §19, Commits): writers' appends to different partitions of
//! one table share a `TransactWriteItems`. It sits between `write_next` (which builds one
//! commit's items, see `write`) and DynamoDB; the commit loop (`resolve`) above it is unchanged.
//!
//! Natural batching, no added wait: a commit that finds fewer than
//! [`IN_FLIGHT_BEFORE_GROUPING`] transactions in flight is sent at once, alone; otherwise it
//! queues, and each time a transaction returns the queue is packed (see `pack`: at most 100
//! items, one commit per partition) into the next one. Each member then gets what a lone
//! transaction would have got: success with the transaction; on a cancellation, the verdict
//! of its own items' reasons, except that a member whose items were all fine while another's
//! failed is sent again (in the next transaction, without the guilty ones) reading nothing;
//! on any other error (throttling, 5xx, a timeout) that error, so the commit loop reads its
//! head and decides, as for a lone transaction. Jobs' edits, and every commit when grouping is
//! off, go alone and at once, but count as in flight.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use tokio::sync::oneshot;

use super::metered::{self, Metered};
use super::pack::{self, Fate};
use crate::error::Source;

/// Transactions in flight before a commit waits to join the next one. Small, so a lone
/// writer's commits go out at once as before, and a busy one (many partitions) groups as
/// soon as its transactions overlap: DynamoDB takes about as long for 100 items as for 2.
pub(super) const IN_FLIGHT_BEFORE_GROUPING: usize = 4;

/// Times a member is sent again because others in its transaction failed; after that it
/// is told its cancellation as a lone commit would be (it reads its head and tries again).
const RESENDS_MAX: u32 = 4;

/// One commit's writes, as `write` built them.
pub(super) struct Member {
    /// Its partition's key (a transaction takes at most one commit per partition).
    pub(super) pk: String,
    pub(super) items: Vec<TransactWriteItem>,
    /// Its own client request token.
    pub(super) token: String,
}

/// Why a transaction failed, as each of its members needs it.
#[derive(Debug)]
pub(super) struct Failure {
    /// The error code (`TransactionCanceledException`), when DynamoDB sent one.
    pub(super) code: Option<String>,
    /// What DynamoDB said, or the error chain.
    pub(super) cause: String,
    /// Cancellation reasons, one per item in request order (empty when none).
    pub(super) reasons: Vec<Option<String>>,
    /// The SDK's error; `None` when the transaction was abandoned.
    pub(super) source: Option<Source>,
}

/// What a member learns.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The transaction took effect.
    Applied,
    /// It failed: `failure`, with `reasons` the member's own share of its reasons.
    Failed {
        failure: Arc<Failure>,
        reasons: Vec<Option<String>>,
    },
}

/// Packs writers' commits into shared transactions; one per store, shared by its clones.
pub(super) struct Grouper {
    client: Client,
    grouped: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    in_flight: usize,
    queue: VecDeque<Waiting>,
}

/// A queued member and where its outcome goes.
struct Waiting {
    member: Member,
    resends: u32,
    reply: oneshot::Sender<Outcome>,
}

impl fmt::Debug for Grouper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never waits for the lock: a store may be printed while its grouper is busy.
        let counts = self.state.try_lock().map(|s| (s.in_flight, s.queue.len()));
        f.debug_struct("Grouper")
            .field("grouped", &self.grouped)
            .field("in_flight_and_queued", &counts.ok())
            .finish()
    }
}

impl Grouper {
    /// Sends through `client`; groups writers' commits only when `grouped`.
    pub(super) fn new(client: Client, grouped: bool) -> Arc<Grouper> {
        Arc::new(Grouper {
            client,
            grouped,
            state: Mutex::default(),
        })
    }

    /// Whether writers' commits are grouped.
    pub(super) fn grouped(&self) -> bool {
        self.grouped
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `member` in a transaction of its own, at once.
    pub(super) async fn alone(self: &Arc<Self>, member: Member) -> Outcome {
        self.state().in_flight += 1;
        self.counted_alone(member).await
    }

    /// Sends `member` alone; it is already counted in flight.
    async fn counted_alone(self: &Arc<Self>, member: Member) -> Outcome {
        let _flight = Flight(Arc::clone(self));
        match self.transact(member.items, member.token).await {
            Ok(()) => Outcome::Applied,
            Err(failure) => Outcome::Failed {
                reasons: failure.reasons.clone(),
                failure: Arc::new(failure),
            },
        }
    }

    /// Sends `member` at once while few transactions are in flight; else with the next
    /// group. Only writers' appends come here.
    pub(super) async fn join(self: &Arc<Self>, member: Member) -> Outcome {
        if !self.grouped {
            return self.alone(member).await;
        }
        let queued = {
            let mut state = self.state();
            if state.in_flight < IN_FLIGHT_BEFORE_GROUPING {
                state.in_flight += 1;
                Err(member)
            } else {
                let (reply, outcome) = oneshot::channel();
                let resends = 0;
                state.queue.push_back(Waiting {
                    member,
                    resends,
                    reply,
                });
                Ok(outcome)
            }
        };
        match queued {
            Ok(outcome) => outcome.await.unwrap_or_else(|_| abandoned()),
            Err(member) => self.counted_alone(member).await,
        }
    }

    /// A transaction returned (or was dropped): while there is room, pack the queue into
    /// transactions and send them.
    fn landed(self: &Arc<Self>) {
        let mut state = self.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.queue.retain(|w| !w.reply.is_closed());
        if state.queue.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to send from (shutting down): dropped, each waiting member learns
            // that its outcome is unknown.
            state.queue.clear();
            return;
        };
        while state.in_flight < IN_FLIGHT_BEFORE_GROUPING && !state.queue.is_empty() {
            let batch = take_pack(&mut state.queue);
            state.in_flight += 1;
            runtime.spawn(Arc::clone(self).flight(batch));
        }
    }

    /// Sends one packed transaction and tells each member its outcome; innocents of a
    /// cancellation go back to the front of the queue.
    async fn flight(self: Arc<Self>, batch: Vec<Waiting>) {
        let _flight = Flight(Arc::clone(&self));
        let sizes: Vec<usize> = batch.iter().map(|w| w.member.items.len()).collect();
        let tokens: Vec<&str> = batch.iter().map(|w| w.member.token.as_str()).collect();
        let token = pack::group_token(&tokens);
        let items = batch.iter().flat_map(|w| w.member.items.clone()).collect();
        let failure = match self.transact(items, token).await {
            Ok(()) => {
                for w in batch {
                    let _ = w.reply.send(Outcome::Applied);
                }
                return;
            }
            Err(failure) => Arc::new(failure),
        };
        let fates = pack::fates(&sizes, failure.code.as_deref(), &failure.reasons);
        let owned = |r: Vec<Option<&str>>| r.into_iter().map(|r| r.map(String::from)).collect();
        let mut again = Vec::new();
        for (w, fate) in batch.into_iter().zip(fates) {
            let reasons = match fate {
                Fate::Innocent(_) if w.resends < RESENDS_MAX => {
                    again.push(w);
                    continue;
                }
                Fate::Innocent(reasons) | Fate::Alone(reasons) => owned(reasons),
            };
            let failure = Arc::clone(&failure);
            let _ = w.reply.send(Outcome::Failed { failure, reasons });
        }
        let mut state = self.state();
        for mut w in again.into_iter().rev() {
            w.resends += 1;
            state.queue.push_front(w);
        }
    }

    /// One `TransactWriteItems`, counted as one request however many commits it holds.
    async fn transact(&self, items: Vec<TransactWriteItem>, token: String) -> Result<(), Failure> {
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(token)
            .send()
            .metered(metered::TRANSACT)
            .await;
        sent.map(|_| ()).map_err(failure)
    }
}

/// Takes the members of the next transaction out of `queue`, in queue order.
fn take_pack(queue: &mut VecDeque<Waiting>) -> Vec<Waiting> {
    let view: Vec<pack::Queued<'_>> = queue
        .iter()
        .map(|w| pack::Queued {
            pk: &w.member.pk,
            items: w.member.items.len(),
        })
        .collect();
    let taken = pack::pack(&view);
    let mut batch = Vec::with_capacity(taken.len());
    // From the back, so the positions still ahead stay valid.
    for &i in taken.iter().rev() {
        if let Some(w) = queue.remove(i) {
            batch.push(w);
        }
    }
    batch.reverse();
    batch
}

/// A transaction in flight; when it ends (or is dropped), the queue moves on.
struct Flight(Arc<Grouper>);

impl Drop for Flight {
    fn drop(&mut self) {
        self.0.landed();
    }
}

/// The failure of a sent transaction, as its members need it.
fn failure(e: SdkError<TransactWriteItemsError>) -> Failure {
    let reasons = match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    Failure {
        code: e.code().map(String::from),
        cause: super::describe(&e),
        reasons,
        source: Some(Arc::new(e)),
    }
}

/// The outcome of a member whose transaction was dropped before it was sent or answered:
/// unknown, so its commit loop reads the head and decides.
fn abandoned() -> Outcome {
    Outcome::Failed {
        failure: Arc::new(Failure {
            code: None,
            cause: "its grouped transaction was abandoned".into(),
            reasons: Vec::new(),
            source: None,
        }),
        reasons: Vec::new(),
    }
}
