//! What `hostile_produce.rs` runs its cases with: a topic on a backend, `silt produce` run to
//! its end or watched while it runs, and the checks that the log holds exactly what was
//! acknowledged. Every wait is bounded by [`DEADLINE`].

#![allow(clippy::unwrap_used, dead_code)] // test helpers
#![allow(clippy::disallowed_methods)] // child processes run in real time: waits are bounded by it

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Backend, Silt};

pub(crate) mod json_lines;

/// Longest any wait lasts before the test fails (generous: CI machines are small and busy).
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// One `--print-acks` line: the input line's index (from 0), partition and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ack {
    pub(crate) line: usize,
    pub(crate) partition: u64,
    pub(crate) offset: u64,
}

impl Ack {
    fn parse(line: &str) -> Ack {
        let f: Vec<u64> = line.split('\t').map(|f| f.parse().unwrap()).collect();
        assert_eq!(f.len(), 3, "ack line {line:?}");
        Ack {
            line: f[0] as usize,
            partition: f[1],
            offset: f[2],
        }
    }
}

/// `{"value": v}` lines.
pub(crate) fn jsonl(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("{}\n", serde_json::json!({ "value": v })))
        .collect()
}

/// The record count of the summary `produced N records to t` in `stderr`.
pub(crate) fn summarized(stderr: &str) -> usize {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("produced "))
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    line.split(' ').next().unwrap().parse().unwrap()
}

/// A finished `silt produce`: exit code, acks and stderr.
#[derive(Debug)]
pub(crate) struct Produced {
    pub(crate) code: Option<i32>,
    pub(crate) acks: Vec<Ack>,
    pub(crate) stderr: String,
}

impl Produced {
    pub(crate) fn assert_succeeded(&self) {
        assert_eq!(self.code, Some(0), "{}", self.stderr);
    }

    /// Exit `code`, and the last line of stderr (after the summary) contains `message`.
    pub(crate) fn assert_failed(&self, code: i32, message: &str) {
        assert_eq!(self.code, Some(code), "{}", self.stderr);
        let last = self.stderr.lines().last().unwrap_or_default();
        assert!(
            last.contains(message),
            "expected {message:?} last in:\n{}",
            self.stderr
        );
        self.summarized();
    }

    pub(crate) fn summarized(&self) -> usize {
        summarized(&self.stderr)
    }
}

/// A test's topic `t` on a backend.
pub(crate) struct Log {
    silt: Silt,
    backend: Backend,
}

impl Log {
    pub(crate) fn new(backend: &Backend, partitions: u32) -> Log {
        let log = Log {
            silt: Silt::new(),
            backend: backend.clone(),
        };
        let partitions = partitions.to_string();
        let out = log
            .command(&["topic", "create", "t", "--partitions", &partitions])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        log
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        self.backend.command(&self.silt, args)
    }

    /// `silt produce t --print-acks extra...` with `stdin` as its whole input.
    pub(crate) fn produce(&self, extra: &[&str], stdin: &[u8]) -> Produced {
        self.produce_to(extra, stdin, Stdio::piped())
    }

    /// [`Log::produce`] with stdout sent to `stdout`.
    pub(crate) fn produce_to(&self, extra: &[&str], stdin: &[u8], stdout: Stdio) -> Produced {
        let mut child = self
            .command(&[&["produce", "t", "--print-acks"], extra].concat())
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        let stdin = stdin.to_vec();
        // The producer may stop reading early: a failed write is part of the case.
        std::thread::spawn(move || input.write_all(&stdin));
        let mut running = Running::watch(child, None);
        let (code, stderr) = running.exit();
        running.produced(code, stderr)
    }

    /// `silt produce t --print-acks extra...` with stdin open, to feed while it runs.
    pub(crate) fn spawn(&self, extra: &[&str]) -> Running {
        let child = self
            .command(&[&["produce", "t", "--print-acks", "--linger-ms", "1"], extra].concat())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Running::watch(child, None)
    }

    /// Every record of `t`: ((partition, offset), value).
    pub(crate) fn consumed(&self) -> Vec<((u64, u64), String)> {
        let out = self
            .command(&["consume", "t", "--format", "jsonl"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut records: Vec<_> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let r: Value = serde_json::from_str(l).unwrap();
                let at = (
                    r["partition"].as_u64().unwrap(),
                    r["offset"].as_u64().unwrap(),
                );
                (at, r["value"].as_str().unwrap().to_string())
            })
            .collect();
        records.sort();
        records
    }

    /// The producer acknowledged exactly `values` (line i holding values[i]), its summary says
    /// so, and the log holds exactly them, each at its acknowledged offset.
    pub(crate) fn assert_holds_exactly(&self, produced: &Produced, values: &[&str]) {
        let mut acks = produced.acks.clone();
        acks.sort_by_key(|a| a.line);
        let lines: Vec<usize> = acks.iter().map(|a| a.line).collect();
        assert_eq!(
            lines,
            (0..values.len()).collect::<Vec<_>>(),
            "{}",
            produced.stderr
        );
        assert_eq!(produced.summarized(), values.len(), "{}", produced.stderr);
        let log: BTreeMap<(u64, u64), String> = self.consumed().into_iter().collect();
        assert_eq!(
            log.len(),
            values.len(),
            "the log holds unacknowledged records"
        );
        for ack in acks {
            let value = log.get(&(ack.partition, ack.offset)).map(String::as_str);
            assert_eq!(value, Some(values[ack.line]), "{ack:?}");
        }
    }
}

/// A running `silt produce`, its stdout and stderr read on threads.
pub(crate) struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    acks: Receiver<String>,
    seen: Vec<Ack>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Running {
    /// Watches `child`; `stdin` replaces its own (taken before for a first write).
    pub(crate) fn watch(mut child: Child, stdin: Option<ChildStdin>) -> Running {
        let stdin = stdin.or_else(|| child.stdin.take());
        let (sender, acks) = channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = sender.send(line);
                }
            });
        }
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let err = child.stderr.take().unwrap();
        let text = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut err = BufReader::new(err);
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut chunk) {
                text.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        Running {
            child,
            stdin,
            acks,
            seen: Vec::new(),
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    pub(crate) fn write(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    pub(crate) fn close_stdin(&mut self) {
        self.stdin = None;
    }

    pub(crate) fn stdin_open(&self) -> bool {
        self.stdin.is_some()
    }

    /// The next ack line, waiting at most [`DEADLINE`].
    pub(crate) fn ack(&mut self) -> Ack {
        let line = self
            .acks
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|e| panic!("no ack within {DEADLINE:?} ({e}): {}", self.stderr_now()));
        let ack = Ack::parse(&line);
        self.seen.push(ack);
        ack
    }

    /// Sends `signal` (`-INT`, `-TERM`) with `kill`.
    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn stderr_now(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr contains `text`.
    pub(crate) fn wait_for_stderr(&self, text: &str) {
        let deadline = Instant::now() + DEADLINE;
        while !self.stderr_now().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no {text:?} in {}",
                self.stderr_now()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the exit: its code and the whole stderr. Fails after [`DEADLINE`].
    pub(crate) fn exit(&mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "still running after {DEADLINE:?}: {}",
                self.stderr_now()
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        if let Some(reader) = self.stderr_reader.take() {
            reader.join().unwrap();
        }
        (status.code(), self.stderr_now())
    }

    /// Every ack printed (after the exit), with the code and stderr of [`Running::exit`].
    pub(crate) fn produced(&mut self, code: Option<i32>, stderr: String) -> Produced {
        loop {
            match self.acks.recv_timeout(DEADLINE) {
                Ok(line) => self.seen.push(Ack::parse(&line)),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("stdout still open: {stderr}"),
            }
        }
        Produced {
            code,
            acks: self.seen.clone(),
            stderr,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
