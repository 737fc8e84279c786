//! The bench's HTTP client for the agent path: one keep-alive HTTP/1.1 connection per client
//! task, one request in flight on it, no pool and no TLS (hyper's client, already built for
//! the object store's). An agent path run measures the agent, so the client stays minimal.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, HOST};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::CliResult;

/// Where the agent listens: `http://host:port` (a path after it is ignored).
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    host: String,
    port: u16,
    authority: String,
    bearer: Option<String>,
}

impl Endpoint {
    /// Parses `url`; only `http://` is served (agents listen on loopback or behind TLS
    /// termination). `bearer`, when given, goes with every request.
    pub(crate) fn parse(url: &str, bearer: Option<String>) -> CliResult<Endpoint> {
        let bad = |why: &str| format!("--agent {url:?}: {why} (expected http://host:port)");
        let uri: Uri = url.parse().map_err(|e| bad(&format!("{e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad("only http:// is supported").into());
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        Ok(Endpoint {
            host: authority.host().trim_matches(['[', ']']).to_string(),
            port: authority.port_u16().unwrap_or(80),
            authority: authority.to_string(),
            bearer,
        })
    }

    /// `http://authority`, for the report.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.authority)
    }
}

/// One keep-alive connection to the agent.
pub(crate) struct Connection {
    sender: SendRequest<Full<Bytes>>,
    endpoint: Arc<Endpoint>,
}

impl Connection {
    /// Connects (TCP_NODELAY: small answers must not wait for Nagle).
    pub(crate) async fn open(endpoint: Arc<Endpoint>) -> CliResult<Connection> {
        let stream = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
            .await
            .map_err(|e| format!("connecting to the agent at {}: {e}", endpoint.url()))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the agent closes; requests see the error.
            let _ = connection.await;
        });
        Ok(Connection { sender, endpoint })
    }

    /// Sends one request and reads the whole answer.
    pub(crate) async fn call(&mut self, call: AgentRequest) -> CliResult<(StatusCode, Bytes)> {
        let mut request = Request::builder()
            .method(call.method)
            .uri(call.path)
            .header(HOST, self.endpoint.authority.as_str());
        for (name, value) in call.headers {
            request = request.header(*name, *value);
        }
        if let Some(token) = &self.endpoint.bearer {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request.body(Full::new(call.body))?;
        self.sender.ready().await?;
        let answer = self.sender.send_request(request).await?;
        let status = answer.status();
        let body = answer.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// One request to the agent, as a protocol builds it (`super::protocol`).
#[derive(Debug)]
pub(crate) struct AgentRequest {
    pub(crate) method: Method,
    pub(crate) path: String,
    /// Its headers besides `Host` and `Authorization`, e.g. `Content-Type`.
    pub(crate) headers: &'static [(&'static str, &'static str)],
    pub(crate) body: Bytes,
}
