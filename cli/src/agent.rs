//! `silt agent`: serves the HTTP API of `silt-agent` on a TCP port until SIGTERM or SIGINT,
//! then stops accepting, answers every request in flight, flushes what was accepted, and
//! exits 0. A second signal exits at once.

use std::sync::Arc;
use std::time::Duration;

use silt_agent::{AuthTokens, HttpSettings, LogService, check_listen, router, serve};
use silt_core::store::Storage;
use silt_writer::WriterSettings;
use tokio::net::TcpListener;

use crate::CliResult;
use crate::args::AgentArgs;
use crate::out::outln;
use crate::signals::{self, Signals};

/// Listens for SIGINT and SIGTERM ([`signals::listen`]) the way the agent answers them.
pub(crate) fn listen() -> std::io::Result<Signals> {
    signals::listen(
        "stopped accepting requests; answering those in flight",
        "answering the requests in flight",
    )
}

pub(crate) async fn run(storage: Storage, args: AgentArgs, signals: Option<Signals>) -> CliResult {
    let mut signals = match signals {
        Some(signals) => signals,
        None => listen()?,
    };
    let auth = args
        .auth_tokens
        .as_deref()
        .map(AuthTokens::read)
        .transpose()?;
    check_listen(args.listen, auth.as_ref(), args.insecure_no_auth)?;
    let writer = WriterSettings {
        linger_ms: args.linger_ms,
        segment_bytes_max: args.segment_bytes,
        inflight_bytes_max: args.inflight_bytes,
        ..WriterSettings::default()
    };
    let service = Arc::new(LogService::new(storage, writer)?);
    let settings = HttpSettings {
        auth,
        concurrent_requests_max: args.max_requests,
        metrics: Some(silt_agent::metrics::install()?),
        ..HttpSettings::default()
    };
    let listener = TcpListener::bind(args.listen).await?;
    outln!("listening on http://{}", listener.local_addr()?)?;
    let stopping = service.clone();
    let shutdown = async move {
        // An error means the signal task is gone: then only a kill stops the agent.
        let _ = signals.wait_for(Option::is_some).await;
        stopping.stop_waiting();
    };
    let grace = Duration::from_millis(args.grace_ms);
    serve(listener, router(service.clone(), settings), shutdown, grace).await;
    service.close().await;
    tracing::info!("agent stopped");
    Ok(())
}
