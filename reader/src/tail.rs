//! A cursor at the end of its partition: waiting for more records, woken at once by the
//! commits of this process (`Storage::commit_news`), whose manifests it takes instead of
//! reading them when the manifest store answers them exactly, and polls the store only as
//! often as commits of other processes may need (docs/design.md §7).

use std::time::Duration;

use silt_core::metrics::{self, GaugeHold};
use silt_core::store::NewsReceiver;
use tokio::time::Instant;

use crate::{Cursor, ReadError};

impl Cursor {
    /// Waits until records past the position are committed, or `timeout` passes; returns
    /// whether there are. The manifest is revalidated on entry, every `POLL_INTERVAL` and when
    /// the time is up, unless a manifest handed over by a commit still stands for that look. A
    /// commit to the partition by a writer of this process (`Storage::commit_news`) hands its
    /// manifest over, with no read: at once while waiting, and on entry the last one made.
    /// Such a manifest stands for the looks at the store for a `POLL_INTERVAL` (no staler
    /// than a poll would leave it), or for [`OWN_COMMITS_WINDOW`](crate::OWN_COMMITS_WINDOW)
    /// while this process is the partition's only committer as far as the cursor can tell
    /// (`View::stands_for`): a busy agent's cursors then ride its commits instead of polling.
    pub async fn wait_for_more(&mut self, timeout: Duration) -> Result<bool, ReadError> {
        let deadline = Instant::now() + timeout;
        let _open = GaugeHold::new(metrics::LONG_POLLS_OPEN, 1.0);
        let mut news = self.commit_news();
        self.take_commit(&mut news);
        let mut look = self.view.stands_for(self.poll_interval).is_zero();
        loop {
            if look {
                self.refresh().await?;
            }
            if self.end_offset() > self.position {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let pause = self.view.stands_for(self.poll_interval);
            let pause = pause.max(self.poll_interval).min(deadline - now);
            tokio::select! {
                () = silt_core::clock::sleep(pause) => {
                    look = self.view.stands_for(self.poll_interval).is_zero();
                }
                Ok(()) = news.changed() => look = !self.take_commit(&mut news),
            }
        }
    }

    /// News of the commits made to this cursor's partition in this process
    /// (`Storage::commit_news`): `changed()` completes at the next one, a hint to look at the
    /// manifest again, as [`Cursor::wait_for_more`] does (taking the manifest the commit
    /// wrote, when the news holds it, instead of reading it).
    pub fn commit_news(&self) -> NewsReceiver {
        self.storage
            .commit_news
            .subscribe(&self.topic, self.partition)
    }

    /// Takes the manifest the last commit heard of on `news` wrote, if it came with one newer
    /// than the one this cursor has seen; returns whether it did.
    fn take_commit(&mut self, news: &mut NewsReceiver) -> bool {
        match news.borrow_and_update().clone() {
            Some(heard) => self.view.adopt(heard),
            None => {
                self.view.no_commit_heard();
                false
            }
        }
    }
}
