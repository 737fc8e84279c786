//! Serving the router on a TCP listener: who may listen where, slow clients, and a graceful
//! stop. Secure by default: an agent listens on a loopback address unless it has bearer
//! tokens or is told `--insecure-no-auth`.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use subtle::ConstantTimeEq;
use thiserror::Error;
use tokio::net::TcpListener;

/// Longest a client may take to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Bearer tokens an agent accepts, read from a file: one per line; blank lines and lines
/// starting with `#` are skipped.
#[derive(Clone)]
pub struct AuthTokens(Arc<Vec<Vec<u8>>>);

impl std::fmt::Debug for AuthTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuthTokens({} tokens)", self.0.len())
    }
}

/// Why an agent will not listen as asked.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ListenError {
    /// A non-loopback address without credentials and without the explicit insecure flag.
    #[error(
        "refusing to listen on {addr} without authentication: give --auth-tokens FILE (HTTP API) and/or --auth-keys FILE (Kinesis API), or --insecure-no-auth if the network is trusted (or listen on 127.0.0.1)"
    )]
    Unauthenticated { addr: SocketAddr },
    /// The Kafka listener on a non-loopback address without the explicit insecure flag (it has
    /// no authentication yet).
    #[error(
        "refusing to serve the Kafka protocol on {addr}: silt's Kafka listener has no authentication (SASL) yet; listen on 127.0.0.1, or give --insecure-no-auth if the network is trusted"
    )]
    KafkaUnauthenticated { addr: SocketAddr },
    /// The address to advertise to Kafka clients is missing or not HOST:PORT.
    #[error("--kafka-advertise {given:?}: {reason}")]
    KafkaAdvertise { given: String, reason: String },
    /// The tokens file cannot be used.
    #[error("auth tokens file {path}: {reason}")]
    Tokens { path: String, reason: String },
    /// The access keys file cannot be used.
    #[error("auth keys file {path}: {reason}")]
    Keys { path: String, reason: String },
}

impl AuthTokens {
    /// Reads the tokens in `path`; refuses a file with none, or a token shorter than 16 bytes.
    pub fn read(path: &Path) -> Result<AuthTokens, ListenError> {
        let fail = |reason: String| ListenError::Tokens {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        AuthTokens::parse(&text).map_err(fail)
    }

    /// The tokens in `text` (the format of [`AuthTokens::read`]).
    pub fn parse(text: &str) -> Result<AuthTokens, String> {
        let tokens: Vec<Vec<u8>> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| l.as_bytes().to_vec())
            .collect();
        if tokens.is_empty() {
            return Err("holds no token (one per line)".into());
        }
        if tokens.iter().any(|t| t.len() < 16) {
            return Err("a token is shorter than 16 characters".into());
        }
        Ok(AuthTokens(Arc::new(tokens)))
    }

    /// Whether `given` is one of the tokens, comparing every token in constant time.
    pub fn accepts(&self, given: &str) -> bool {
        self.0.iter().fold(0u8, |found, t| {
            found | t.ct_eq(given.as_bytes()).unwrap_u8()
        }) == 1
    }
}

/// Refuses to listen on a non-loopback address unless `authenticated` (bearer tokens or
/// access keys were given) or the insecure flag is set.
pub fn check_listen(
    addr: SocketAddr,
    authenticated: bool,
    insecure_no_auth: bool,
) -> Result<(), ListenError> {
    match addr.ip().is_loopback() || authenticated || insecure_no_auth {
        true => Ok(()),
        false => Err(ListenError::Unauthenticated { addr }),
    }
}

/// Refuses the Kafka listener (which has no authentication) on a non-loopback address unless
/// the insecure flag is set.
pub fn check_kafka_listen(addr: SocketAddr, insecure_no_auth: bool) -> Result<(), ListenError> {
    match addr.ip().is_loopback() || insecure_no_auth {
        true => Ok(()),
        false => Err(ListenError::KafkaUnauthenticated { addr }),
    }
}

/// The host and port Kafka clients are told to connect to: `advertise` (HOST:PORT) if given,
/// else the address listened on, which must then not be a wildcard (0.0.0.0, ::).
pub fn kafka_advertised(
    advertise: Option<&str>,
    bound: SocketAddr,
) -> Result<(String, u16), ListenError> {
    let fail = |given: &str, reason: &str| ListenError::KafkaAdvertise {
        given: given.to_string(),
        reason: reason.to_string(),
    };
    match advertise {
        Some(given) => {
            let (host, port) = given
                .rsplit_once(':')
                .ok_or_else(|| fail(given, "give HOST:PORT"))?;
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| fail(given, "the port is not a number from 1 to 65535"))?;
            match host.is_empty() {
                true => Err(fail(given, "the host is empty")),
                false => Ok((host.trim_matches(['[', ']']).to_string(), port)),
            }
        }
        None if bound.ip().is_unspecified() => Err(fail(
            "",
            "listening on a wildcard address: give --kafka-advertise HOST:PORT, the address clients reach this agent at",
        )),
        None => Ok((bound.ip().to_string(), bound.port())),
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets every
/// request in flight finish (up to `grace`), and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(?grace, "requests still in flight after the grace period");
    }
}
