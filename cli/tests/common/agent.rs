//! A real `silt agent` process on 127.0.0.1 (a free port), over one [`Backend`], for the
//! agent's suites. Started once per backend and shared by a suite's cases (each uses its own
//! topics); stopped by its PID when dropped.

#![allow(clippy::unwrap_used, dead_code)]
#![allow(clippy::disallowed_methods)] // a child process runs in real time: waits are bounded by it

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStderr, ChildStdin, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::{Backend, Silt};

/// A running agent.
pub(crate) struct Agent {
    pub(crate) silt: Silt,
    pub(crate) backend: Backend,
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// `127.0.0.1:PORT` of the Kafka listener, when started with `--kafka-listen`.
    pub(crate) kafka: Option<String>,
    pub(crate) stderr: Option<ChildStderr>,
    /// A shared agent's watchdog pipe ([`Agent::start_shared`]): open while the test runs.
    watchdog: Option<ChildStdin>,
}

impl Agent {
    /// Starts `silt agent --listen 127.0.0.1:0 <extra>` on `backend` in a new directory.
    pub(crate) fn start(backend: &Backend, extra: &[&str]) -> Agent {
        Agent::start_in(Silt::new(), backend, extra)
    }

    /// Starts another agent on the same store as `self` (same directory, same backend).
    pub(crate) fn another(&self, extra: &[&str]) -> Agent {
        let silt = Silt {
            dir: tempfile::tempdir_in(self.silt.dir.path()).unwrap(),
        };
        let mut backend = self.backend.clone();
        if backend.store.starts_with("file://./") {
            let path = self
                .silt
                .dir
                .path()
                .join(backend.store.trim_start_matches("file://./"));
            backend.store = format!("file://{}", path.display());
        }
        Agent::start_in(silt, &backend, extra)
    }

    /// Starts an agent for a `static` shared by a test binary's cases. A static is never
    /// dropped, so the agent runs under a watchdog shell that stops it (SIGTERM) and removes
    /// its directory once the test process exits and the shell's stdin closes. Its stderr goes
    /// to `agent.log` in its directory. Do not signal it: [`Agent::pid`] is the shell's.
    pub(crate) fn start_shared(backend: &Backend, extra: &[&str]) -> Agent {
        const WATCHDOG: &str = r#"dir=$PWD
"$@" </dev/null 2>agent.log & agent=$!
cat >/dev/null
kill -TERM "$agent" 2>/dev/null; wait "$agent"
cd / && rm -rf "$dir""#;
        let silt = Silt::new();
        let mut command = Command::new("sh");
        command
            .args(["-c", WATCHDOG, "sh", env!("CARGO_BIN_EXE_silt")])
            .args(Agent::args("127.0.0.1:0", extra))
            .current_dir(silt.dir.path())
            .env_remove("SILT_MANIFEST")
            .env("SILT_STORE", &backend.store)
            .envs(backend.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stderr(Stdio::null());
        let mut agent = Agent::spawn(silt, backend, command);
        agent.watchdog = agent.child.stdin.take();
        agent
    }

    /// Starts `silt agent --listen <listen> <extra>` on `backend` in a new directory; an agent
    /// on every address (`0.0.0.0:0`) is reached on 127.0.0.1.
    pub(crate) fn start_on(backend: &Backend, listen: &str, extra: &[&str]) -> Agent {
        Agent::start_listening(Silt::new(), backend, listen, extra)
    }

    fn args<'a>(listen: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["agent", "--listen", listen];
        args.extend(extra);
        args
    }

    fn start_in(silt: Silt, backend: &Backend, extra: &[&str]) -> Agent {
        Agent::start_listening(silt, backend, "127.0.0.1:0", extra)
    }

    fn start_listening(silt: Silt, backend: &Backend, listen: &str, extra: &[&str]) -> Agent {
        let mut command = backend.command(&silt, &Agent::args(listen, extra));
        command.stdin(Stdio::null()).stderr(Stdio::piped());
        Agent::spawn(silt, backend, command)
    }

    /// Spawns `command` (stdin and stderr set by the caller) and reads the address it prints
    /// (and, with `--kafka-listen`, the Kafka listener's on the next line).
    fn spawn(silt: Silt, backend: &Backend, mut command: Command) -> Agent {
        let kafka_listen = command.get_args().any(|a| a == "--kafka-listen");
        let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let mut second = String::new();
        if kafka_listen {
            stdout.read_line(&mut second).unwrap();
        }
        let kafka = second.trim().strip_prefix("kafka listening on ");
        let (Some(url), true) = (
            first.trim().strip_prefix("listening on "),
            kafka.is_some() || !kafka_listen,
        ) else {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "silt agent did not start: {first:?} {second:?} {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        Agent {
            url: url.replace("//0.0.0.0:", "//127.0.0.1:"),
            kafka: kafka.map(str::to_string),
            stderr: child.stderr.take(),
            silt,
            backend: backend.clone(),
            child,
            watchdog: None,
        }
    }

    /// The agent's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `127.0.0.1:PORT`, for a raw TCP client.
    pub(crate) fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// `url` + `path`.
    pub(crate) fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Sends `signal` (`-TERM`, `-KILL`, ...) to this agent's process, by its PID.
    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} {}", self.pid());
    }

    /// Waits up to `limit` for the process to exit.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "silt agent {} did not exit within {limit:?}",
                self.pid()
            );
            std::thread::yield_now();
            std::thread::park_timeout(Duration::from_millis(20));
        }
    }

    /// What the agent wrote on stderr, once it has exited.
    pub(crate) fn stderr_text(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut stderr) = self.stderr.take() {
            stderr.read_to_string(&mut text).unwrap();
        }
        text
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP answer: status and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Answer {
    /// The body as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// A header's value.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP client that returns every status as an [`Answer`] (not as an error).
pub(crate) fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(90)))
        .build()
        .into()
}

/// Sends `method url` with `headers` and `body` (none when empty for GET/DELETE).
pub(crate) fn call(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    try_call(method, url, headers, body).unwrap()
}

/// [`call`], returning a transport failure (refused, reset, cut short) as an error: a
/// request to an agent that was killed got no answer.
pub(crate) fn try_call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Answer, ureq::Error> {
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(body.to_vec()).unwrap();
    let mut response = client().run(request)?;
    Ok(Answer {
        status: response.status().as_u16(),
        body: response.body_mut().read_to_string()?,
        headers: headers_of(&response),
    })
}

fn headers_of<B>(response: &ureq::http::Response<B>) -> Vec<(String, String)> {
    response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect()
}

/// One Server-Sent Event.
#[derive(Debug, Default)]
pub(crate) struct Event {
    pub(crate) name: String,
    pub(crate) id: Option<String>,
    pub(crate) data: String,
}

impl Event {
    /// The data as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {self:?}"))
    }
}

/// An event stream being read, event by event, as the agent sends them.
pub(crate) struct EventStream {
    lines: BufReader<ureq::BodyReader<'static>>,
}

impl EventStream {
    /// The next event; `None` once the stream ended.
    pub(crate) fn next_event(&mut self) -> Option<Event> {
        let mut event = Event::default();
        let mut seen = false;
        loop {
            let mut line = String::new();
            if self.lines.read_line(&mut line).unwrap() == 0 {
                return seen.then_some(event);
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if seen {
                    return Some(event);
                }
                continue;
            }
            seen = true;
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => event.name = value.to_string(),
                "id" => event.id = Some(value.to_string()),
                "data" if event.data.is_empty() => event.data = value.to_string(),
                "data" => event.data = format!("{}\n{value}", event.data),
                _ => {} // a comment (`: ...`) or a field this suite does not read
            }
        }
    }
}

/// `GET url` with `Accept: text/event-stream` and `headers`: the stream when the answer is
/// 200, else the answer.
pub(crate) fn open_events(url: &str, headers: &[(&str, &str)]) -> Result<EventStream, Answer> {
    let mut request = ureq::http::Request::builder()
        .uri(url)
        .header("accept", "text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = client().run(request.body(()).unwrap()).unwrap();
    if response.status() != 200 {
        return Err(Answer {
            status: response.status().as_u16(),
            body: response.body_mut().read_to_string().unwrap(),
            headers: headers_of(&response),
        });
    }
    Ok(EventStream {
        lines: BufReader::new(response.into_body().into_reader()),
    })
}

/// Sends raw bytes on a new connection (as far as the agent reads them: write errors are
/// ignored) and reads the answer until the agent closes the connection or `limit` passes: for
/// requests an HTTP client will not send, such as a body that never comes. An empty status
/// (0) when no answer came.
pub(crate) fn raw(url: &str, request: &[u8], limit: Duration) -> Answer {
    let addr = url.trim_start_matches("http://");
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    socket.set_read_timeout(Some(limit)).unwrap();
    socket.set_write_timeout(Some(limit)).unwrap();
    let _ = std::io::Write::write_all(&mut socket, request);
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match socket.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
        // The answer to one request is complete once its JSON body closes.
        if answer.ends_with(b"}") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        body: body.to_string(),
        headers,
    }
}

impl Agent {
    /// `GET path`.
    pub(crate) fn get(&self, path: &str) -> Answer {
        call("GET", &self.at(path), &[], b"")
    }

    /// `PATCH path` with a JSON body.
    pub(crate) fn patch(&self, path: &str, body: &serde_json::Value) -> Answer {
        let body = body.to_string();
        let json = [("content-type", "application/json")];
        call("PATCH", &self.at(path), &json, body.as_bytes())
    }

    /// `POST path` with a JSON body.
    pub(crate) fn post(&self, path: &str, body: &serde_json::Value) -> Answer {
        let body = body.to_string();
        call(
            "POST",
            &self.at(path),
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
    }
}
