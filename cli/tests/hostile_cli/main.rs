//! The bad-input suite at the command line: the real `silt` binary given hostile arguments,
//! stores and pipes. Each case asserts the exact exit status (2 for arguments clap refuses, 1
//! for a refused command, 0 for a closed stdout), a message naming what was wrong and the
//! limit, and that nothing acknowledged was lost. Cases that make sense on any store run on
//! `file://` and on SeaweedFS (`SILT_TEST_SEAWEEDFS`), one `#[test]` each by
//! `on_every_backend!`; the rest (permissions, URLs) once. This file is the harness; the
//! cases are grouped by what they attack: `settings`, `arguments`, `output`, `store`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

#[path = "../common/mod.rs"]
#[macro_use]
mod common;

use std::process::{Output, Stdio};

use common::Cli;

impl Cli {
    /// Runs a command that must exit with `code`, print nothing on stdout, and say `message`
    /// on stderr; returns stderr.
    fn fails(&self, args: &[&str], stdin: &str, code: i32, message: &str) -> String {
        let (stdout, stderr) = self.exits(args, stdin, code, message);
        assert_eq!(stdout, "", "silt {args:?} printed on stdout");
        stderr
    }

    /// Runs a command whose stdout is a pipe nobody reads (as `| head -0` leaves it).
    fn closed_stdout(&self, args: &[&str]) -> Output {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        self.command(args)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    }

    fn topic_with(&self, name: &str, values: &[&str]) {
        self.ok(&["topic", "create", name], "");
        let lines: String = values.iter().map(|v| format!("{v}\n")).collect();
        if !lines.is_empty() {
            self.ok(&["produce", name, "--partition", "0"], &lines);
        }
    }

    fn consumed(&self, topic: &str) -> String {
        self.ok(&["consume", topic], "")
    }

    /// Deletes one object of the store, as an operator's mistake would.
    fn delete(&self, key: &str) {
        if self.backend.env.is_empty() {
            let path = self.silt.dir.path().join("silt-data").join(key);
            std::fs::remove_file(&path).unwrap();
            return;
        }
        use object_store::ObjectStoreExt;
        let (bucket, prefix) = self
            .backend
            .store
            .strip_prefix("s3://")
            .unwrap()
            .split_once('/')
            .unwrap();
        let mut builder = object_store::aws::AmazonS3Builder::new().with_bucket_name(bucket);
        for (k, v) in &self.backend.env {
            if let Ok(key) = k.to_ascii_lowercase().parse() {
                builder = builder.with_config(key, v);
            }
        }
        let store = builder.build().unwrap();
        let path = object_store::path::Path::from(format!("{prefix}/{key}"));
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(store.delete(&path))
            .unwrap();
    }
}

mod arguments;
mod output;
mod settings;
mod store;
mod topic_delete;
