//! Running the real `silt` binary in a temporary directory, on a backend ([`Backend`]); the
//! bad-input suites' [`Cli`] (a binary and a backend) and `on_every_backend!`, which runs each
//! of their cases on `file://` and on SeaweedFS. A suite adds its own `impl Cli` helpers.

#![allow(clippy::unwrap_used, dead_code)] // shared by test files that each use part of it

pub(crate) mod agent;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// A temporary working directory and the `silt` binary run in it.
pub(crate) struct Silt {
    pub(crate) dir: TempDir,
}

impl Silt {
    pub(crate) fn new() -> Silt {
        Silt {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_silt"));
        c.args(args)
            .current_dir(self.dir.path())
            .env_remove("SILT_STORE")
            .env_remove("SILT_MANIFEST");
        c
    }

    pub(crate) fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    pub(crate) fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "silt {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub(crate) fn fails(&self, args: &[&str], stdin: &str, message: &str) {
        let out = self.run(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "silt {args:?} should fail: {stderr}"
        );
        assert!(
            stderr.contains(message),
            "silt {args:?}: expected {message:?} in {stderr}"
        );
    }
}

/// Where a test's log lives: a store URL and the environment that reaches it.
#[derive(Clone)]
pub(crate) struct Backend {
    pub(crate) store: String,
    pub(crate) env: Vec<(&'static str, String)>,
}

impl Backend {
    /// A directory under the test's working directory.
    pub(crate) fn file() -> Backend {
        Backend {
            store: "file://./silt-data".to_string(),
            env: Vec::new(),
        }
    }

    /// A fresh prefix of the SeaweedFS test bucket, or `None` after saying the test is skipped
    /// when `SILT_TEST_SEAWEEDFS` is unset (`./scripts/test` starts the server).
    pub(crate) fn seaweedfs() -> Option<Backend> {
        let Ok(endpoint) = std::env::var("SILT_TEST_SEAWEEDFS") else {
            let _ = writeln!(
                std::io::stderr(),
                "skipped on seaweedfs: SILT_TEST_SEAWEEDFS is not set (./scripts/test starts it)"
            );
            return None;
        };
        Some(Backend {
            store: format!(
                "s3://silt-test/cli-{}",
                silt_core::clock::Clock::new_ulid(&silt_core::clock::SystemClock)
            ),
            env: vec![
                ("AWS_ENDPOINT_URL", endpoint),
                ("AWS_ALLOW_HTTP", "true".to_string()),
                ("AWS_ACCESS_KEY_ID", "silt-test".to_string()),
                ("AWS_SECRET_ACCESS_KEY", "silt-test".to_string()),
                ("AWS_REGION", "us-east-1".to_string()),
            ],
        })
    }

    /// SeaweedFS for segments and moto's DynamoDB for manifests (a fresh table, created by
    /// `silt manifest init`), or `None` after saying why the test is skipped.
    pub(crate) fn dynamodb() -> Option<Backend> {
        let Ok(dynamodb) = std::env::var("SILT_TEST_DYNAMODB") else {
            let _ = writeln!(
                std::io::stderr(),
                "skipped on dynamodb: SILT_TEST_DYNAMODB is not set (./scripts/test starts it)"
            );
            return None;
        };
        let mut backend = Backend::seaweedfs()?;
        let table = format!(
            "silt-cli-{}",
            silt_core::clock::Clock::new_ulid(&silt_core::clock::SystemClock)
        );
        backend.env.push(("AWS_ENDPOINT_URL_DYNAMODB", dynamodb));
        backend
            .env
            .push(("SILT_MANIFEST", format!("dynamodb://{table}")));
        let silt = Silt::new();
        let out = backend
            .command(&silt, &["manifest", "init"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "silt manifest init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(backend)
    }

    /// `silt args` in `silt`'s directory, on this backend.
    pub(crate) fn command(&self, silt: &Silt, args: &[&str]) -> Command {
        let mut c = silt.command(args);
        c.env("SILT_STORE", &self.store);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }
}

/// The silt binary on one backend, in a fresh temporary directory.
pub(crate) struct Cli {
    pub(crate) silt: Silt,
    pub(crate) backend: Backend,
}

impl Cli {
    pub(crate) fn file() -> Cli {
        Cli {
            silt: Silt::new(),
            backend: Backend::file(),
        }
    }

    /// A fresh prefix of the SeaweedFS test bucket, or `None` after saying the case is skipped.
    pub(crate) fn seaweedfs() -> Option<Cli> {
        Some(Cli {
            silt: Silt::new(),
            backend: Backend::seaweedfs()?,
        })
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        self.backend.command(&self.silt, args)
    }

    pub(crate) fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A command may exit before reading its input (a refused argument): ignore EPIPE.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    }

    /// Runs a command that must succeed without a panic; returns its stdout.
    pub(crate) fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "silt {args:?} failed: {stderr}");
        assert!(!stderr.contains("panicked"), "silt {args:?}: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must exit with `code` and say `message` on stderr, without a
    /// panic; returns stdout and stderr.
    pub(crate) fn exits(
        &self,
        args: &[&str],
        stdin: &str,
        code: i32,
        message: &str,
    ) -> (String, String) {
        let out = self.run(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "silt {args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "silt {args:?}: expected {message:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "silt {args:?}: {stderr}");
        (String::from_utf8(out.stdout).unwrap(), stderr)
    }

    /// What the store's keys start with, as silt prints them: nothing for a directory, the
    /// prefix on S3.
    pub(crate) fn prefix(&self) -> String {
        match self.backend.store.strip_prefix("s3://") {
            Some(rest) => format!("{}/", rest.split_once('/').unwrap().1),
            None => String::new(),
        }
    }
}

/// One `#[test]` per case and backend, `file::case` and `seaweedfs::case`, each calling
/// `case(&Cli)`.
#[allow(unused_macros)] // used by the suites that have cases
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod file {
            $( #[test] fn $case() { super::$case(&super::Cli::file()); } )*
        }
        mod seaweedfs {
            $( #[test] fn $case() {
                if let Some(cli) = super::Cli::seaweedfs() { super::$case(&cli); }
            } )*
        }
    };
}
