//! The processes of the group fault test: `silt consume --group` members (one process per
//! incarnation of a slot, its records in a file, its `group: ...` stderr lines collected with
//! the time they arrived) and one `silt produce` fed numbered records by a thread. Signals go
//! by PID with `kill`; dropping the [`Fleet`] (a failed assertion too) SIGKILLs every child
//! still running, stopped ones included.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::time::Instant;

use crate::common::Cli;

/// A line of a member's stderr and when the test read it.
pub(crate) type Said = (Instant, String);

/// One incarnation of a member slot.
pub(crate) struct Member {
    pub(crate) slot: usize,
    pub(crate) incarnation: usize,
    /// Its stdout: one JSON record per line.
    pub(crate) output: PathBuf,
    child: Child,
    said: Arc<Mutex<Vec<Said>>>,
    /// SIGKILLed or exited: no signal goes to its (possibly reused) PID any more.
    pub(crate) gone: bool,
}

impl Member {
    /// Starts `silt consume TOPIC --group GROUP --format jsonl` with `extra` arguments.
    pub(crate) fn spawn(cli: &Cli, slot: usize, incarnation: usize, args: &[String]) -> Member {
        let output = cli
            .silt
            .dir
            .path()
            .join(format!("member-{slot}-{incarnation}.jsonl"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = cli
            .command(&args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&output).unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let said = Arc::new(Mutex::new(Vec::new()));
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let sink = said.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push((Instant::now(), line));
            }
        });
        Member {
            slot,
            incarnation,
            output,
            child,
            said,
            gone: false,
        }
    }

    /// `slot.incarnation`, for messages.
    pub(crate) fn name(&self) -> String {
        format!("member {}.{}", self.slot, self.incarnation)
    }

    /// Its stderr lines so far.
    pub(crate) fn said(&self) -> Vec<Said> {
        self.said.lock().unwrap().clone()
    }

    /// The member id it joined as last (`group: joined G as member ID`).
    pub(crate) fn member_id(&self) -> Option<String> {
        self.said().iter().rev().find_map(|(_, line)| {
            let (_, id) = line
                .strip_prefix("group: joined ")?
                .split_once(" as member ")?;
            Some(id.to_string())
        })
    }

    /// Sends `signal` (`-STOP`, `-CONT`, `-TERM`) by PID.
    pub(crate) fn signal(&self, signal: &str) {
        assert!(!self.gone, "{} is gone", self.name());
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// SIGKILL, and reap it.
    pub(crate) fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.gone = true;
    }

    /// Its exit status once it exited by itself, waiting up to `limit`.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let name = self.name();
        let status = wait_child(&mut self.child, limit, &name);
        self.gone = true;
        status
    }
}

/// `silt produce` fed lines `n-0`, `n-1`, ... in bursts by a thread.
pub(crate) struct Producer {
    child: Child,
    feeder: Option<JoinHandle<u64>>,
    stop: Arc<AtomicBool>,
}

impl Producer {
    /// Starts it: `burst` lines every `every`, keyless (spread over the partitions).
    pub(crate) fn spawn(cli: &Cli, topic: &str, burst: u64, every: Duration) -> Producer {
        let errors = std::fs::File::create(cli.silt.dir.path().join("produce.err")).unwrap();
        let mut child = cli
            .command(&["produce", topic, "--linger-ms", "20"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(errors)
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let feeder = std::thread::spawn(move || {
            let mut next = 0u64;
            while !stopping.load(Ordering::SeqCst) {
                for _ in 0..burst {
                    if writeln!(stdin, "n-{next}").is_err() {
                        return next; // it died: finish() says how
                    }
                    next += 1;
                }
                if stdin.flush().is_err() {
                    return next;
                }
                silt_core::clock::sleep_blocking(every);
            }
            next // stdin drops here: produce commits the rest and exits
        });
        Producer {
            child,
            feeder: Some(feeder),
            stop,
        }
    }

    /// Stops feeding, waits for every line to be acknowledged; the number of lines sent.
    pub(crate) fn finish(&mut self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        let sent = self.feeder.take().unwrap().join().unwrap();
        let status = wait_child(&mut self.child, Duration::from_secs(30), "silt produce");
        assert!(status.success(), "silt produce: {status}");
        sent
    }
}

/// Every child of the test: killed on drop.
#[derive(Default)]
pub(crate) struct Fleet {
    pub(crate) members: Vec<Member>,
    pub(crate) producer: Option<Producer>,
}

impl Fleet {
    /// The index in `members` of the running incarnation of `slot`.
    pub(crate) fn live(&self, slot: usize) -> usize {
        let found = self.members.iter().rposition(|m| m.slot == slot && !m.gone);
        found.unwrap()
    }

    /// The member ids of the running incarnations, once each has joined.
    pub(crate) fn live_ids(&self) -> Option<Vec<String>> {
        self.members
            .iter()
            .filter(|m| !m.gone)
            .map(Member::member_id)
            .collect()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Some(p) = &mut self.producer {
            p.stop.store(true, Ordering::SeqCst);
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        for m in self.members.iter_mut().filter(|m| !m.gone) {
            let _ = m.child.kill();
            let _ = m.child.wait();
        }
    }
}

fn wait_child(child: &mut Child, limit: Duration, name: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{name} did not exit in {limit:?}"
        );
        silt_core::clock::sleep_blocking(Duration::from_millis(20));
    }
}
