//! Running the real `silt` binary in a temporary directory.

#![allow(clippy::unwrap_used, dead_code)] // shared by test files that each use part of it

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
