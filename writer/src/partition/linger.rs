//! Adaptive linger: when a batch's `linger_ms` ends, decide whether to hold it longer. A batch
//! that filled fast is held up to `linger_budget_ms` more, so a partition written at tens of
//! MiB/s makes segments of several MiB instead of one per linger tick; a slow one leaves at
//! once, so a slow producer never waits for a segment to fill. Pure: the partition task passes
//! the times (tokio's clock, paused in tests), so the rule is tested without waiting.

use std::time::Duration;

use tokio::time::Instant;

use crate::WriterSettings;

/// The batch is held when the rate it filled at would add at least this fraction of a segment
/// (`1 / HOLD_FILL_DIVISOR` of `segment_bytes_max`) within the budget: below it, holding costs
/// every record the whole budget for a segment still small.
pub(crate) const HOLD_FILL_DIVISOR: f64 = 4.0;

/// When a batch begun at `started`, holding `bytes`, leaves, judged at `now`, once its linger
/// has ended: `Some(later)` holds it until `later` (or until it is full), `None` flushes it now.
/// A linger of 0 (no waiting at all) or a budget of 0 never holds.
pub(crate) fn hold_until(
    settings: &WriterSettings,
    started: Instant,
    bytes: usize,
    now: Instant,
) -> Option<Instant> {
    let linger = Duration::from_millis(settings.linger_ms);
    let budget = Duration::from_millis(settings.linger_budget_ms);
    let age = now.saturating_duration_since(started);
    if linger.is_zero() || budget.is_zero() || age.is_zero() {
        return None;
    }
    let bytes_per_s = bytes as f64 / age.as_secs_f64();
    let added = bytes_per_s * budget.as_secs_f64();
    let until = started + linger + budget;
    let worth_it = added * HOLD_FILL_DIVISOR >= settings.segment_bytes_max as f64;
    (worth_it && until > now).then_some(until)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    fn settings() -> WriterSettings {
        WriterSettings {
            linger_ms: 10,
            linger_budget_ms: 50,
            segment_bytes_max: 8 * MIB,
            ..WriterSettings::default()
        }
    }

    /// The decision at the end of a 10 ms linger for a batch that filled at `mib_per_s`.
    fn at_linger_end(settings: &WriterSettings, mib_per_s: f64) -> Option<Duration> {
        let started = Instant::now();
        let now = started + Duration::from_millis(settings.linger_ms);
        let bytes = (mib_per_s * MIB as f64 * settings.linger_ms as f64 / 1000.0) as usize;
        hold_until(settings, started, bytes, now).map(|until| until - started)
    }

    #[test]
    fn a_batch_filling_fast_is_held_for_the_budget() {
        let s = settings();
        let held = Some(Duration::from_millis(60));
        assert_eq!(at_linger_end(&s, 50.0), held, "50 MiB/s");
        assert_eq!(at_linger_end(&s, 500.0), held, "never past linger + budget");
    }

    #[test]
    fn a_slow_batch_leaves_at_its_linger() {
        let s = settings();
        assert_eq!(at_linger_end(&s, 1.0), None, "1 MiB/s");
        assert_eq!(at_linger_end(&s, 25.0), None, "25 MiB/s: 1.25 MiB in 50 ms");
        assert_eq!(at_linger_end(&s, 0.0), None);
    }

    #[test]
    fn the_threshold_is_a_quarter_segment_within_the_budget() {
        // A quarter of 8 MiB in 50 ms is 40 MiB/s.
        let s = settings();
        assert_eq!(at_linger_end(&s, 39.0), None);
        assert!(at_linger_end(&s, 41.0).is_some());
        // A 1 MiB segment is worth holding for at 5 MiB/s already.
        let small = WriterSettings {
            segment_bytes_max: MIB,
            ..settings()
        };
        assert!(at_linger_end(&small, 6.0).is_some());
        assert_eq!(at_linger_end(&small, 4.0), None);
    }

    #[test]
    fn no_linger_or_no_budget_never_holds() {
        let off = WriterSettings {
            linger_budget_ms: 0,
            ..settings()
        };
        assert_eq!(at_linger_end(&off, 500.0), None);
        let started = Instant::now();
        let no_linger = WriterSettings {
            linger_ms: 0,
            ..settings()
        };
        // With no linger the batch is judged as it starts: no rate to judge by.
        assert_eq!(hold_until(&no_linger, started, 8 * MIB, started), None);
        let later = started + Duration::from_millis(1);
        assert_eq!(hold_until(&no_linger, started, 8 * MIB, later), None);
    }

    #[test]
    fn a_batch_judged_after_its_hold_would_end_leaves_now() {
        // Upload slots were busy until past linger + budget: nothing left to hold for.
        let s = settings();
        let started = Instant::now();
        let now = started + Duration::from_millis(80);
        assert_eq!(hold_until(&s, started, 8 * MIB, now), None);
    }
}
