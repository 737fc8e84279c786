//! # silt-job: the control jobs as one AWS Lambda function
//!
//! A scheduled rule (EventBridge) invokes it; each invocation runs the job named by `SILT_JOB`
//! once, exactly as the CLI would (`silt retention run`), and answers with the job's report as
//! JSON. The store is opened once per container, from the environment (see `config`); the
//! event's payload is not read. Logs go through `tracing` to stdout, which Lambda sends to
//! CloudWatch. Build it for Lambda with `scripts/lambda-build` (cargo lambda).

mod config;

use std::process::ExitCode;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use silt_control::run_retention;
use silt_core::store::Storage;

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
        run_job(storage, config, &event.context.request_id).await
    }))
    .await
}

/// Runs the configured job once and returns its report.
async fn run_job(storage: &Storage, config: &JobConfig, request: &str) -> Result<Value, Error> {
    match config.job {
        JobKind::Retention => {
            let report = run_retention(storage, &config.retention).await?;
            for failure in &report.failed {
                tracing::warn!(request, "retention failed: {failure}");
            }
            tracing::info!(
                request,
                visited = report.partitions_visited,
                moved = report.expired.len(),
                failed = report.failed.len(),
                left = report.partitions_left,
                "retention done"
            );
            Ok(serde_json::to_value(report)?)
        }
    }
}
