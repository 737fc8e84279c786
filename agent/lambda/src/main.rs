//! # silt-agent: the agent's HTTP API as one AWS Lambda function
//!
//! The same router as `silt agent` (`silt_agent::router`), behind a Lambda function URL:
//! each invocation carries one HTTP request (an API Gateway v2 event), answered in
//! RESPONSE_STREAM mode so that Server-Sent Events reads work (see `deadline` for how a
//! stream meets the invocation's end). Authentication is the function URL's (`AuthType:
//! AWS_IAM`, SigV4), so the router runs without bearer tokens, and without `/metrics`
//! (a scrape would reach one container at random; CloudWatch has the function's figures), and
//! without consumer-group members (a member must live in one process between requests).
//!
//! The store, the `LogService` and its writers are opened once per container, from the
//! environment (see `config`), and kept across invocations; a record is acknowledged only
//! after its commit, as by any agent, so nothing is left to flush when Lambda freezes or
//! ends the container. Logs go through `tracing` to stdout (CloudWatch). Build it with
//! `scripts/lambda-build` (cargo lambda); deploy it with infra/template.yaml.

mod config;
mod deadline;

use std::process::ExitCode;
use std::sync::Arc;

use lambda_http::{Error, service_fn};
use silt_agent::{HttpSettings, LogService, router};
use silt_core::store::Storage;

use crate::config::AgentConfig;

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
            tracing::error!("silt-agent cannot run: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the store once, then answers requests until Lambda stops the container.
async fn serve() -> Result<(), Error> {
    let config = AgentConfig::from_vars(|name| std::env::var(name).ok())?;
    let storage = Storage::open_with_manifests(&config.store, config.manifest.as_deref()).await?;
    // A group member lives in one process between its client's requests, which Lambda
    // routes to any container and freezes between invocations: the group-member routes
    // answer 501 here (docs/http-api.md).
    let service = Arc::new(LogService::new(storage, config.writer)?.with_group_members_max(0));
    let app = router(service, HttpSettings::default());
    tracing::info!(store = %config.store, "ready");
    lambda_http::run_with_streaming_response(service_fn(move |request| {
        deadline::answer(app.clone(), request)
    }))
    .await
}
