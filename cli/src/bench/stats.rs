//! Latency percentiles and rates.

use serde::Serialize;

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Percentiles {
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
    pub(crate) samples: usize,
}

impl Percentiles {
    pub(crate) fn of(mut samples_ms: Vec<f64>) -> Percentiles {
        if samples_ms.is_empty() {
            return Percentiles::default();
        }
        samples_ms.sort_by(f64::total_cmp);
        let at = |q: f64| samples_ms[((samples_ms.len() - 1) as f64 * q).round() as usize];
        Percentiles {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: at(1.0),
            samples: samples_ms.len(),
        }
    }
}

pub(crate) const MIB: f64 = 1024.0 * 1024.0;

/// Bytes per second as MiB/s (0 for an empty interval).
pub(crate) fn mib_per_s(bytes: u64, seconds: f64) -> f64 {
    per_s(bytes as f64 / MIB, seconds)
}

/// Count per second (0 for an empty interval).
pub(crate) fn per_s(count: f64, seconds: f64) -> f64 {
    if seconds > 0.0 { count / seconds } else { 0.0 }
}
