//! A partition a group consumer holds: its cursor, and the pace at which its manifest is
//! looked at again while it has nothing new (slower the longer it stays quiet, at once when a
//! writer of this process commits to it).

use std::time::Duration;

use silt_core::store::NewsReceiver;
use silt_reader::{Consumed, Cursor, ReadError};
use tokio::time::Instant;

/// The longest an idle partition goes without its manifest being revalidated: a consumer of
/// many quiet partitions costs at most one conditional GET per partition per second, and sees a
/// new record on a quiet partition at most this late.
const IDLE_REVALIDATE_MAX: Duration = Duration::from_secs(1);

/// An open cursor on a held partition, and when its manifest is next revalidated.
#[derive(Debug)]
pub(crate) struct Open {
    /// The lease epoch it was opened at.
    pub(crate) epoch: u64,
    pub(crate) cursor: Cursor,
    /// The pause between revalidations while the partition has nothing new: from the reader's
    /// poll interval, doubled on every empty revalidation up to [`IDLE_REVALIDATE_MAX`].
    idle_pause: Duration,
    next_revalidation: Instant,
    /// Commits to the partition made in this process: one heard means "look now".
    pub(crate) news: NewsReceiver,
}

impl Open {
    pub(crate) fn new(epoch: u64, cursor: Cursor) -> Open {
        let (idle_pause, next_revalidation) = (silt_reader::POLL_INTERVAL, Instant::now());
        Open {
            epoch,
            news: cursor.commit_news(),
            cursor,
            idle_pause,
            next_revalidation,
        }
    }

    /// The next records, up to `max` and `max_bytes` of payload (plus one record). At the end
    /// of what the cursor knew, its manifest is revalidated (a 304 when nothing was committed
    /// since; nothing at all when a commit of this process handed it over, see
    /// `Cursor::wait_for_more`), less often the longer the partition stays quiet.
    pub(crate) async fn next_records(
        &mut self,
        max: usize,
        max_bytes: usize,
    ) -> Result<Vec<Consumed>, ReadError> {
        let records = self.cursor.next_batch_within(max, max_bytes).await?;
        let heard = self.news.has_changed().unwrap_or(false);
        if !records.is_empty() || (!heard && Instant::now() < self.next_revalidation) {
            return Ok(records);
        }
        self.news.mark_unchanged();
        if self.cursor.wait_for_more(Duration::ZERO).await? {
            self.idle_pause = silt_reader::POLL_INTERVAL;
            self.next_revalidation = Instant::now();
            return self.cursor.next_batch_within(max, max_bytes).await;
        }
        self.idle_pause = (self.idle_pause * 2).min(IDLE_REVALIDATE_MAX);
        self.next_revalidation = Instant::now() + self.idle_pause;
        Ok(records)
    }
}
