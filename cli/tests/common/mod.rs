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
