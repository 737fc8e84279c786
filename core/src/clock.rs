//! Wall-clock time, ids and waiting, injected. Every time-based decision (leases, linger,
//! retention, GC) asks a [`Clock`], so tests drive time by hand with
//! [`crate::testing::ManualClock`]. This is the only module that reads the system clock, mints
//! ULIDs from it or sleeps: `clippy.toml` bans `SystemTime::now`, `Instant::now`, `Ulid::new`,
//! `std::thread::sleep` and `tokio::time::sleep` everywhere else.
//!
//! Waiting goes through [`sleep`], tokio's timer: the same time base as the
//! `tokio::time::Instant` that measures timeouts, so one swap here reaches every wait.

use std::fmt::Debug;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ulid::Ulid;

/// A source of wall-clock time in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + Debug {
    /// Now, in milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// A fresh ULID whose time part is this clock's now (random otherwise): object ids carry
    /// the time the orphan floor compares with, so they must come from the same clock.
    fn new_ulid(&self) -> Ulid {
        // A clock reading before 1970 is a broken test clock, never data: SystemClock refuses it.
        let now_ms = u64::try_from(self.now_ms()).expect("clocks read after 1970");
        #[allow(clippy::disallowed_methods)] // the random part only; its time is discarded
        let random = Ulid::new().random();
        Ulid::from_parts(now_ms, random)
    }
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the system clock
    fn now_ms(&self) -> i64 {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the system clock reads after 1970");
        i64::try_from(since_epoch.as_millis()).expect("the system clock reads before year 292M")
    }
}

/// Waits `duration` on tokio's timer.
#[allow(clippy::disallowed_methods)] // the one place that sleeps
pub fn sleep(duration: Duration) -> tokio::time::Sleep {
    tokio::time::sleep(duration)
}

/// Blocks this thread for `duration`: only for code already on a blocking thread (the
/// `file://` store's lock wait), never on an async task.
#[allow(clippy::disallowed_methods)] // the one place that blocks a thread to wait
pub fn sleep_blocking(duration: Duration) {
    std::thread::sleep(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ManualClock;

    #[test]
    fn ulids_take_their_time_from_the_clock() {
        let clock = ManualClock::new(1_700_000_000_123);
        let (a, b) = (clock.new_ulid(), clock.new_ulid());
        assert_eq!(a.timestamp_ms(), 1_700_000_000_123);
        assert_eq!(b.timestamp_ms(), 1_700_000_000_123);
        assert_ne!(a, b, "the random part differs");
    }

    #[test]
    fn the_system_clock_reads_after_2020() {
        assert!(SystemClock.now_ms() > 1_577_836_800_000);
    }

    #[tokio::test]
    async fn sleep_waits_on_tokio_time() {
        let started = tokio::time::Instant::now();
        sleep(Duration::from_millis(20)).await;
        assert!(started.elapsed() >= Duration::from_millis(20));
    }
}
