//! The agent's metrics: a Prometheus recorder for the `metrics` facade that the library crates
//! (`silt_core::metrics`, listed in docs/design.md §13.1) and the agent record into, rendered
//! by `GET /metrics` (no listener of its own).

use std::sync::Arc;

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder};
use silt_core::metrics::{LATENCY_BUCKETS_SECONDS, SEGMENT_BYTES, SEGMENT_BYTES_BUCKETS};

use crate::http::MetricsRenderer;

/// HTTP requests answered, by method and status (`silt_http_requests_total`).
pub const HTTP_REQUESTS: &str = "silt_http_requests_total";

/// Consumer-group members the agent holds for HTTP clients (`silt_group_members`).
pub const GROUP_MEMBERS: &str = "silt_group_members";
/// Polls of those members, by `result`: `ok` or the error kind (`silt_group_polls_total`).
pub const GROUP_POLLS: &str = "silt_group_polls_total";
/// Offsets committed by those members, one per partition, by `result`
/// (`silt_group_commits_total`).
pub const GROUP_COMMITS: &str = "silt_group_commits_total";

/// Installs the process-wide recorder (once per process) and returns what renders it.
pub fn install() -> Result<MetricsRenderer, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets(LATENCY_BUCKETS_SECONDS)?
        .set_buckets_for_metric(Matcher::Full(SEGMENT_BYTES.into()), SEGMENT_BYTES_BUCKETS)?
        .install_recorder()?;
    silt_core::metrics::describe();
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method and status"
    );
    metrics::describe_gauge!(
        GROUP_MEMBERS,
        "Consumer-group members this agent holds for HTTP clients"
    );
    metrics::describe_counter!(
        GROUP_POLLS,
        "Polls of the group members held, by result (ok or the error kind)"
    );
    metrics::describe_counter!(
        GROUP_COMMITS,
        "Offsets committed by the group members held, one per partition, by result"
    );
    metrics::describe_counter!(
        crate::kafka::KAFKA_REQUESTS,
        "Kafka requests answered, by API"
    );
    metrics::describe_counter!(
        crate::kafka::KAFKA_ERRORS,
        "Kafka error codes answered, by API and error (closed: the request closed its connection)"
    );
    metrics::describe_histogram!(
        crate::kafka::KAFKA_REQUEST_SECONDS,
        "Kafka request latency from frame read to answer ready, by API"
    );
    Ok(MetricsRenderer(Arc::new(move || {
        handle.run_upkeep();
        handle.render()
    })))
}
