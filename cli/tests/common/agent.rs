//! A real `silt agent` process on 127.0.0.1 (a free port), over one [`Backend`], for the
//! agent's suites. Started once per backend and shared by a suite's cases (each uses its own
//! topics); stopped by its PID when dropped.

#![allow(clippy::unwrap_used, dead_code)]
#![allow(clippy::disallowed_methods)] // a child process runs in real time: waits are bounded by it

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, ExitStatus, Stdio};
use std::time::Duration;

use super::{Backend, Silt};

/// A running agent.
pub(crate) struct Agent {
    pub(crate) silt: Silt,
    pub(crate) backend: Backend,
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    pub(crate) stderr: Option<ChildStderr>,
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

    /// Starts `silt agent --listen <listen> <extra>` on `backend` in a new directory; an agent
    /// on every address (`0.0.0.0:0`) is reached on 127.0.0.1.
    pub(crate) fn start_on(backend: &Backend, listen: &str, extra: &[&str]) -> Agent {
        Agent::start_listening(Silt::new(), backend, listen, extra)
    }

    fn start_in(silt: Silt, backend: &Backend, extra: &[&str]) -> Agent {
        Agent::start_listening(silt, backend, "127.0.0.1:0", extra)
    }

    fn start_listening(silt: Silt, backend: &Backend, listen: &str, extra: &[&str]) -> Agent {
        let mut args = vec!["agent", "--listen", listen];
        args.extend(extra);
        let mut child = backend
            .command(&silt, &args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let Some(url) = first.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "silt agent did not start: {first:?} {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        Agent {
            url: url.replace("//0.0.0.0:", "//127.0.0.1:"),
            stderr: child.stderr.take(),
            silt,
            backend: backend.clone(),
            child,
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
        let status = std::process::Command::new("kill")
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
            std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
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
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    Ok(Answer {
        status: response.status().as_u16(),
        body: response.body_mut().read_to_string()?,
        headers,
    })
}

impl Agent {
    /// `GET path`.
    pub(crate) fn get(&self, path: &str) -> Answer {
        call("GET", &self.at(path), &[], b"")
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
