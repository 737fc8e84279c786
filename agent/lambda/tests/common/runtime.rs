//! A fake Lambda Runtime API on loopback, as the function URL's side of Lambda uses it: it
//! hands the function one event per `invocation/next`, in the order the test sends them, and
//! decodes each answer, streamed (chunked, a JSON prelude, 8 NUL bytes, then the body: what
//! RESPONSE_STREAM mode sends) or buffered (a function error).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

/// One event to hand out, with its deadline (ms since the epoch).
pub(crate) struct Invocation {
    pub(crate) event: String,
    pub(crate) deadline_ms: i64,
}

/// What the function sent back for one invocation.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The request's path, ending in `/response` or `/error`.
    pub(crate) path: String,
    /// Its headers (names in lower case) and trailers.
    pub(crate) headers: HashMap<String, String>,
    pub(crate) body: Vec<u8>,
}

/// One HTTP request as the runtime client sends it.
struct Request {
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// The fake runtime API, serving until dropped.
pub(crate) struct RuntimeApi {
    pub(crate) address: String,
    pub(crate) events: mpsc::Sender<Invocation>,
    pub(crate) replies: mpsc::Receiver<Reply>,
    server: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    pub(crate) async fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (events, waiting) = mpsc::channel::<Invocation>(1);
        let (answered, replies) = mpsc::channel(4);
        let waiting = Arc::new(Mutex::new(waiting));
        let server = tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(serve(stream, waiting.clone(), answered.clone()));
            }
        });
        RuntimeApi {
            address,
            events,
            replies,
            server,
        }
    }
}

/// Serves one connection of the runtime client.
async fn serve(
    stream: TcpStream,
    waiting: Arc<Mutex<mpsc::Receiver<Invocation>>>,
    answered: mpsc::Sender<Reply>,
) {
    let mut reader = BufReader::new(stream);
    let mut handed = 0;
    while let Some(request) = read_request(&mut reader).await {
        let reply = if request.path.ends_with("/invocation/next") {
            let next = waiting.lock().await.recv().await;
            let Some(invocation) = next else {
                std::future::pending::<()>().await;
                return;
            };
            handed += 1;
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: request-{handed}\r\nLambda-Runtime-Deadline-Ms: {}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:silt-agent\r\nContent-Length: {}\r\n\r\n{}",
                invocation.deadline_ms,
                invocation.event.len(),
                invocation.event
            )
        } else {
            let reply = Reply {
                path: request.path,
                headers: request.headers,
                body: request.body,
            };
            let _ = answered.send(reply).await;
            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_string()
        };
        if reader.get_mut().write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn read_line(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = String::new();
    let read = reader.read_line(&mut line).await.ok()?;
    (read > 0).then(|| line.trim_end().to_string())
}

/// Header lines up to the blank line, into `headers`.
async fn read_headers(
    reader: &mut BufReader<TcpStream>,
    headers: &mut HashMap<String, String>,
) -> Option<()> {
    loop {
        let line = read_line(reader).await?;
        if line.is_empty() {
            return Some(());
        }
        let (name, value) = line.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
}

async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let line = read_line(reader).await?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = HashMap::new();
    read_headers(reader, &mut headers).await?;
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v == "chunked")
    {
        // Bounded by the function's answers: each chunk is one the function sent.
        loop {
            let size = read_line(reader).await?;
            let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                read_headers(reader, &mut headers).await?; // trailers
                break;
            }
            let start = body.len();
            body.resize(start + size + 2, 0);
            reader.read_exact(&mut body[start..]).await.ok()?;
            body.truncate(start + size); // the chunk's CRLF
        }
    } else {
        let length = headers
            .get("content-length")
            .map_or(Some(0), |v| v.parse().ok())?;
        body.resize(length, 0);
        reader.read_exact(&mut body).await.ok()?;
    }
    Some(Request {
        path,
        headers,
        body,
    })
}

/// A streamed HTTP answer: the prelude's status and headers, and the body after it.
#[derive(Debug)]
pub(crate) struct HttpAnswer {
    pub(crate) status: u16,
    pub(crate) headers: Value,
    pub(crate) body: String,
}

impl HttpAnswer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

impl Reply {
    /// The HTTP answer in a streamed response; panics (failing the test) on anything else.
    pub(crate) fn http(&self) -> HttpAnswer {
        let body = String::from_utf8_lossy(&self.body);
        assert!(
            self.path.ends_with("/response"),
            "the function failed: {} {body}",
            self.path
        );
        let mode = self.headers.get("lambda-runtime-function-response-mode");
        assert_eq!(mode.map(String::as_str), Some("streaming"), "{self:?}");
        let at = self
            .body
            .windows(8)
            .position(|w| w == [0; 8])
            .unwrap_or_else(|| panic!("no prelude in {body}"));
        let prelude: Value = serde_json::from_slice(&self.body[..at]).unwrap();
        HttpAnswer {
            status: u16::try_from(prelude["statusCode"].as_u64().unwrap()).unwrap(),
            headers: prelude["headers"].clone(),
            body: String::from_utf8(self.body[at + 8..].to_vec()).unwrap(),
        }
    }
}
