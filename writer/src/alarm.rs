//! A timer for `select!` loops: the partition task and the mixer wait on a deadline that moves
//! rarely while their loop turns once per request. One [`Sleep`] is kept and reset only when
//! the deadline moves, instead of a new timer (and a clock read) on every turn.

use std::pin::Pin;

use tokio::time::{Instant, Sleep, sleep_until};

/// A reusable sleep until a deadline.
#[derive(Debug)]
pub(crate) struct Alarm(Pin<Box<Sleep>>);

impl Alarm {
    pub(crate) fn new() -> Alarm {
        Alarm(Box::pin(sleep_until(Instant::now())))
    }

    /// Completes at `deadline` (at once if it has passed); never without one.
    pub(crate) async fn at(&mut self, deadline: Option<Instant>) {
        let Some(deadline) = deadline else {
            return std::future::pending().await;
        };
        if self.0.deadline() != deadline {
            self.0.as_mut().reset(deadline);
        }
        self.0.as_mut().await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rings_at_each_deadline_it_is_given() {
        let mut alarm = Alarm::new();
        let start = Instant::now();
        alarm.at(Some(start + Duration::from_millis(30))).await;
        assert_eq!(start.elapsed(), Duration::from_millis(30));
        // A deadline already passed rings at once; a later one resets the timer.
        alarm.at(Some(start)).await;
        assert_eq!(start.elapsed(), Duration::from_millis(30));
        alarm.at(Some(start + Duration::from_millis(50))).await;
        assert_eq!(start.elapsed(), Duration::from_millis(50));
        let none = tokio::time::timeout(Duration::from_secs(1), alarm.at(None)).await;
        assert!(none.is_err(), "no deadline never rings");
    }
}
