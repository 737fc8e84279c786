//! The order in which one connection's produce requests reach the writers. Requests are
//! handled concurrently (up to 5 in flight), but a client pipelining produces to a partition
//! expects them appended in the order sent, and an idempotent producer's sequence numbers
//! demand it. So each produce waits for the one before it on the connection to hand its
//! batches to the writers (not to commit them) before handing over its own.

use tokio::sync::oneshot;

/// A produce request's place in its connection's order.
#[derive(Debug)]
pub(crate) struct Turn {
    previous: Option<oneshot::Receiver<()>>,
    next: oneshot::Sender<()>,
}

impl Turn {
    /// The turn after `last` (the connection's previous produce, if any), which becomes this.
    pub(crate) fn after(last: &mut Option<oneshot::Receiver<()>>) -> Turn {
        let (next, mine) = oneshot::channel();
        let previous = last.replace(mine);
        Turn { previous, next }
    }

    /// Waits until the previous produce handed its batches over (or ended).
    pub(crate) async fn wait(&mut self) {
        if let Some(previous) = self.previous.take() {
            let _ = previous.await; // an error: it ended without passing, which frees us too
        }
    }

    /// Lets the next produce hand its batches over.
    pub(crate) fn pass(self) {
        let _ = self.next.send(());
    }
}
