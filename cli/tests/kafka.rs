//! The Kafka wire protocol (issue 18) as Kafka users meet it: confluent-kafka (librdkafka),
//! kafka-python and kcat against two real `silt agent --kafka-listen` processes on one
//! SeaweedFS store (`kafka/*_test.py`, run by `kafka/suite.py`); an agent SIGKILLed under an
//! idempotent librdkafka producer, checked against what the producer was told
//! (`kafka/crash.rs`), and a group's coordinator SIGKILLed (`kafka/failover.rs`); and raw TCP
//! for what no client sends or what must be certain: one idempotent batch sent twice
//! (`kafka/retries.rs`), pipelined and acks=0 produces (`kafka/pipelining.rs`), broken
//! frames, unknown keys and versions, bad CRCs and magic (`kafka/bad_input.rs`).
//!
//! The two agents are started once and shared (each case uses its own topics and groups).
//! Python is `SILT_TEST_PYTHON` (with confluent-kafka and kafka-python, installed by
//! scripts/servers.sh) and the store `SILT_TEST_SEAWEEDFS`; `./scripts/test` sets both and
//! installs kcat, and a case missing one says it is skipped.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod cluster;
mod common;

#[path = "kafka/bad_input.rs"]
mod bad_input;
#[path = "kafka/batch.rs"]
mod batch;
#[path = "kafka/crash.rs"]
mod crash;
#[path = "kafka/failover.rs"]
mod failover;
#[path = "kafka/pipelining.rs"]
mod pipelining;
#[path = "kafka/retries.rs"]
mod retries;
#[path = "kafka/wire.rs"]
mod wire;

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::Backend;
use common::agent::Agent;

/// Where the Python suite is.
const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kafka");
/// The shared agents' `--kafka-request-bytes-max`.
const REQUEST_BYTES_MAX: u32 = 1_048_576;
/// How long one Python module may run.
const SUITE_LIMIT: Duration = Duration::from_secs(600);

/// Two agents on one store.
pub(crate) struct Pair {
    pub(crate) a: Agent,
    pub(crate) b: Agent,
}

impl Pair {
    /// Starts two agents on `backend` with a Kafka listener each, shared (`static`) or not.
    /// The first writes one object per partition per flush (`--per-partition-objects`), the
    /// second mixed objects (the default, docs/design.md §19): the partitions each leads are
    /// produced by the clients through its writer, so every client meets both modes. The
    /// first also creates topics with manifest groups of 4 (`--manifest-group-size`), so the
    /// topics created through it (the suite's HTTP calls, and clients' creates it answers)
    /// keep grouped manifests, and those created through the second one object per partition.
    pub(crate) fn start(backend: &Backend, shared: bool) -> Pair {
        let max = REQUEST_BYTES_MAX.to_string();
        let args = [
            "--kafka-listen",
            "127.0.0.1:0",
            "--kafka-request-bytes-max",
            &max,
        ];
        let start = |args: &[&str]| match shared {
            true => Agent::start_shared(backend, args),
            false => Agent::start(backend, args),
        };
        let pair = Pair {
            a: start(
                &[
                    &args[..],
                    &["--per-partition-objects", "--manifest-group-size", "4"],
                ]
                .concat(),
            ),
            b: start(&args),
        };
        pair.wait_for_each_other();
        pair
    }

    /// Waits until each agent's Metadata lists both. An agent lists the others it found at
    /// its last registry heartbeat (every 10 s), so the first one started lists only itself
    /// until then, and clients that ask both see the broker set change under them.
    fn wait_for_each_other(&self) {
        for agent in [&self.a, &self.b] {
            let addr = kafka_addr(agent);
            let mut conn = wire::Conn::open(addr);
            let what = format!("{addr} lists 2 brokers");
            cluster::until(Duration::from_secs(60), &what, || {
                wire::brokers_listed(&mut conn) == 2
            });
        }
    }

    /// `127.0.0.1:P1,127.0.0.1:P2`.
    pub(crate) fn bootstrap(&self) -> String {
        format!("{},{}", kafka_addr(&self.a), kafka_addr(&self.b))
    }

    /// A Python command with the suite's environment (kafka/harness.py).
    pub(crate) fn python(&self, python: &str) -> Command {
        let backend = &self.a.backend;
        let mut command = Command::new(python);
        command
            .current_dir(DIR)
            .env_remove("SILT_MANIFEST")
            .env("SILT_STORE", &backend.store)
            .envs(backend.env.iter().map(|(k, v)| (k, v)))
            .env("SILT_KAFKA_BOOTSTRAP", self.bootstrap())
            .env("SILT_KAFKA_HTTP", &self.a.url)
            .env(
                "SILT_KAFKA_HTTP_ALL",
                format!("{} {}", self.a.url, self.b.url),
            )
            .env("SILT_BIN", env!("CARGO_BIN_EXE_silt"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1");
        command
    }
}

/// An agent's Kafka listener address.
pub(crate) fn kafka_addr(agent: &Agent) -> &str {
    agent.kafka.as_deref().unwrap()
}

/// The pair shared by this file's cases, or `None` after saying `case` is skipped.
pub(crate) fn shared(case: &str) -> Option<&'static Pair> {
    static PAIR: OnceLock<Option<Pair>> = OnceLock::new();
    let pair = PAIR
        .get_or_init(|| Backend::seaweedfs().map(|b| Pair::start(&b, true)))
        .as_ref();
    if pair.is_none() {
        say(&format!(
            "skipped on kafka-{case}: SILT_TEST_SEAWEEDFS is not set (./scripts/test starts it)"
        ));
    }
    pair
}

/// Says `line` on stderr, past the test harness' capture.
pub(crate) fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// `SILT_TEST_PYTHON`, or `None` after saying `case` is skipped without it.
pub(crate) fn python(case: &str) -> Option<String> {
    let python = std::env::var("SILT_TEST_PYTHON").ok();
    if python.is_none() {
        say(&format!(
            "skipped on kafka-{case}: SILT_TEST_PYTHON is not set (./scripts/test sets it)"
        ));
    }
    python
}

/// suite.py with the unittest `names`, against the shared agents.
fn suite(case: &str, names: &[&str]) {
    let (Some(pair), Some(python)) = (shared(case), python(case)) else {
        return;
    };
    let child = pair
        .python(&python)
        .arg("suite.py")
        .args(names)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, stdout, stderr) = run_drained(child, SUITE_LIMIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "the Kafka suite {names:?} failed ({status:?}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    for line in stdout.lines().filter(|l| l.starts_with("skipped ")) {
        say(line);
    }
    say(stdout.lines().last().unwrap_or_default());
}

/// Runs `child` (stdout and stderr piped) to its end, reading both pipes meanwhile (a full
/// pipe would stall it), killed by its PID past `limit`: its status (`None` when killed),
/// stdout and stderr.
#[allow(clippy::disallowed_methods)] // a child process runs in real time: the wait is bounded by it
pub(crate) fn run_drained(
    mut child: Child,
    limit: Duration,
) -> (Option<ExitStatus>, String, String) {
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::park_timeout(Duration::from_millis(20));
    };
    (status, stdout.join().unwrap(), stderr.join().unwrap())
}

#[test]
fn confluent_kafka_produce() {
    suite("produce", &["clients_test.Produce"]);
}

#[test]
fn confluent_kafka_consume() {
    suite("consume", &["clients_test.Consume"]);
}

#[test]
fn confluent_kafka_topics() {
    suite("topics", &["clients_test.Topics"]);
}

#[test]
fn consumer_groups() {
    suite("groups", &["groups_test"]);
}

#[test]
fn kafka_python() {
    suite("kafka-python", &["kafka_python_test"]);
}

#[test]
fn kcat() {
    let installed = Command::new("kcat")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        say("skipped on kafka-kcat: kcat is not installed (./scripts/test installs it with apt)");
        return;
    }
    suite("kcat", &["kcat_test"]);
}
