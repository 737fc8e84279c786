//! # silt-job: the control jobs as one AWS Lambda function
//!
//! A scheduled rule (EventBridge) invokes it; each invocation runs the job named by `SILT_JOB`
//! once, exactly as the CLI would (`silt retention run`, `silt compact run`, `silt gc run`), and answers with the job's report as
//! JSON. The store is opened once per container, from the environment (see `config`); the
//! event's payload is not read. Logs go through `tracing` to stdout, which Lambda sends to
//! CloudWatch. Build it for Lambda with `scripts/lambda-build` (cargo lambda).

mod config;

use std::process::ExitCode;
use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use silt_control::{run_compaction, run_gc, run_retention};
use silt_core::clock::{Clock, SystemClock};
use silt_core::store::Storage;
use tokio::time::Instant;

use crate::config::{JobConfig, JobKind};

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .without_time() // Lambda stamps every line
        .with_target(false)
        .init();
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // What CloudWatch shows for a function that cannot start.
            tracing::error!("silt-job cannot run: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the store once, then answers invocations until Lambda stops the container.
async fn serve() -> Result<(), Error> {
    let config = JobConfig::from_vars(|name| std::env::var(name).ok())?;
    let storage = Storage::open_with_manifests(&config.store, config.manifest.as_deref()).await?;
    tracing::info!(store = %config.store, job = ?config.job, "ready");
    let (storage, config) = (&storage, &config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let config = config.until(deadline(event.context.deadline));
        run_job(storage, &config, &event.context.request_id).await
    }))
    .await
}

/// Work stops starting this long before the invocation's deadline, so what was started can
/// finish and the report can be sent.
const DEADLINE_MARGIN: Duration = Duration::from_secs(30);

/// When to stop starting work, from the invocation's deadline (ms since the epoch).
fn deadline(deadline_ms: u64) -> Instant {
    let left_ms = i64::try_from(deadline_ms).unwrap_or(i64::MAX) - SystemClock.now_ms();
    let left = Duration::from_millis(u64::try_from(left_ms).unwrap_or(0));
    Instant::now() + left.saturating_sub(DEADLINE_MARGIN)
}

/// Runs the configured job once and returns its report.
async fn run_job(storage: &Storage, config: &JobConfig, request: &str) -> Result<Value, Error> {
    let (job, report, failed) = match config.job {
        JobKind::Retention => {
            let r = run_retention(storage, &config.retention()).await?;
            tracing::info!(
                request,
                moved = r.expired.len(),
                "retention: {:?}",
                r.coverage
            );
            ("retention", serde_json::to_value(&r)?, r.failed)
        }
        JobKind::Compaction => {
            let r = run_compaction(storage, &config.compaction()).await?;
            tracing::info!(
                request,
                merged = r.segments_merged,
                written = r.segments_written,
                stale = r.stale,
                "compaction: {:?}",
                r.coverage
            );
            ("compaction", serde_json::to_value(&r)?, r.failed)
        }
        JobKind::Gc => {
            let r = run_gc(storage, &config.gc()).await?;
            tracing::info!(
                request,
                buried = r.buried,
                deleted = r.deleted,
                waiting = r.waiting,
                orphans = r.orphans,
                mixed_deleted = r.mixed_deleted,
                mixed_kept = r.mixed_kept,
                mixed_orphans = r.mixed_orphans,
                "gc: {:?}",
                r.coverage
            );
            ("gc", serde_json::to_value(&r)?, r.failed)
        }
    };
    for failure in &failed {
        tracing::warn!(request, "{job} failed on {failure}");
    }
    Ok(report)
}
