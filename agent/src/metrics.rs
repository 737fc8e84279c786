//! The agent's metrics: a Prometheus recorder for the `metrics` facade that the library crates
//! and the agent record into, rendered by `GET /metrics` (no listener of its own). The agent's
//! own metrics are named here; the libraries' are described in docs/design.md.

use std::sync::Arc;

use metrics_exporter_prometheus::{BuildError, PrometheusBuilder};

use crate::http::MetricsRenderer;

/// Histogram buckets, in seconds: from 1 ms to 30 s.
pub const LATENCY_BUCKETS_SECONDS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// HTTP requests answered, by route group and status (`silt_http_requests_total`).
pub const HTTP_REQUESTS: &str = "silt_http_requests_total";
/// Reads waiting for records at the tail now, long-polls and event streams
/// (`silt_long_polls_open`).
pub const LONG_POLLS_OPEN: &str = "silt_long_polls_open";

/// Installs the process-wide recorder (once per process) and returns what renders it.
pub fn install() -> Result<MetricsRenderer, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets(&LATENCY_BUCKETS_SECONDS)?
        .install_recorder()?;
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method and status"
    );
    metrics::describe_gauge!(LONG_POLLS_OPEN, "reads waiting for records at the tail now");
    Ok(MetricsRenderer(Arc::new(move || {
        handle.run_upkeep();
        handle.render()
    })))
}
