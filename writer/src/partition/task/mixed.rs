//! The partition task's side of the writer's mixer (docs/design.md §19): a plain batch joins
//! the next mixed object when it begins, leaves when that object closes, and comes back as an
//! upload like any other, committed in its turn.

use silt_core::ids::Epoch;
use silt_core::record::Record;

use super::{Task, Waiter};
use crate::AppendError;
use crate::mixer::Ticket;

impl Task {
    /// Delivers the batch to the mixer; its segment joins the uploads in order.
    pub(super) fn mixed_part(
        &mut self,
        ticket: Ticket,
        records: Vec<Record>,
        waiters: Vec<Waiter>,
        epoch: Epoch,
    ) {
        let reply = ticket.deliver(self.committer.clone(), records, epoch);
        self.uploads.push_back(tokio::spawn(async move {
            let segment = reply.await.unwrap_or(Err(AppendError::Closed));
            (segment, waiters, None)
        }));
    }
}

/// Resolves when the batch's mixed object closes (the caller checks there is a ticket).
pub(super) async fn closing(ticket: &mut Option<Ticket>) {
    match ticket {
        Some(ticket) => ticket.closing().await,
        None => std::future::pending().await,
    }
}
