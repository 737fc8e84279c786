//! The backends a scenario runs on. Each call gives a fresh, empty store: a new in-memory
//! store, a new temporary directory, or a new prefix in a real S3-compatible bucket.
//!
//! Real servers are found through environment variables, which the test script sets after
//! starting them (a developer running plain `cargo test` has none, and those runs skip with
//! a message):
//!
//! - `SILT_TEST_SEAWEEDFS`: endpoint of a SeaweedFS S3 gateway (bucket `silt-test`);
//! - `SILT_TEST_MOTO`: endpoint of a moto server (bucket `silt-test`);
//! - `SILT_TEST_S3_URL`: any `s3://bucket/prefix`, reached with the usual `AWS_*` variables
//!   (real MinIO or AWS);
//! - `SILT_TEST_DYNAMODB`: endpoint of a DynamoDB API (moto) for manifests, with segments on
//!   one of the S3 servers above (a fresh table per backend: moto copies a whole table on
//!   every transaction, so small tables keep it fast).

use std::io::Write;
use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::path::Path;
use silt_core::clock::{Clock, SystemClock};
use silt_core::store::{DynamoManifestStore, MeteredStore, Storage};
use tempfile::TempDir;

/// Bucket the test script creates on each server.
pub const TEST_BUCKET: &str = "silt-test";
/// Name prefix of the DynamoDB tables the DynamoDB backend creates.
pub const TEST_TABLE_PREFIX: &str = "silt-test";

/// A store plus whatever must live as long as it (a temporary directory).
#[derive(Debug)]
pub struct Backend {
    /// The store.
    pub storage: Storage,
    _dir: Option<TempDir>,
}

/// A fresh `memory://` store, metered as `Storage::open` meters it.
pub fn memory() -> Backend {
    let objects = Arc::new(MeteredStore::new(Arc::new(InMemory::new())));
    Backend {
        storage: Storage::over(objects, Path::default(), "memory://"),
        _dir: None,
    }
}

/// `backend`, creating topics that keep their manifests four partitions to an object
/// (manifest groups, docs/design.md §19).
pub fn grouped(backend: Option<Backend>) -> Option<Backend> {
    let Backend { storage, _dir } = backend?;
    Some(Backend {
        storage: storage.with_manifest_groups(4),
        _dir,
    })
}

/// A fresh `file://` store in a temporary directory.
pub async fn local() -> Backend {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("file://{}", dir.path().display());
    let storage = Storage::open(&url).await.expect("open local store");
    Backend {
        storage,
        _dir: Some(dir),
    }
}

/// The S3 URL and options of a real server named by `variable`, with a fresh prefix; `None`
/// (after saying so on stderr) when the variable is not set.
pub fn s3_target(variable: &str) -> Option<(String, Vec<(String, String)>)> {
    let prefix = format!("run-{}", SystemClock.new_ulid());
    if variable == "SILT_TEST_S3_URL" {
        let base = std::env::var(variable).ok()?;
        let env = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .collect();
        return Some((format!("{}/{prefix}", base.trim_end_matches('/')), env));
    }
    let endpoint = endpoint_of(variable)?;
    let options = [
        ("aws_endpoint", endpoint.as_str()),
        ("aws_allow_http", "true"),
        ("aws_access_key_id", "silt-test"),
        ("aws_secret_access_key", "silt-test"),
        ("aws_region", "us-east-1"),
    ];
    let options = options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Some((format!("s3://{TEST_BUCKET}/{prefix}"), options))
}

/// A fresh prefix on the real server named by `variable`, or `None` when it is not set.
pub async fn s3(variable: &str) -> Option<Backend> {
    let (url, options) = s3_target(variable)?;
    let storage = Storage::open_with(&url, options)
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"));
    Some(Backend {
        storage,
        _dir: None,
    })
}

/// Manifests in a fresh table of the DynamoDB API at `SILT_TEST_DYNAMODB`, segments on the S3
/// server named by `objects_variable` under a fresh prefix; `None` when either is not set.
pub async fn dynamodb(objects_variable: &str) -> Option<Backend> {
    let endpoint = endpoint_of("SILT_TEST_DYNAMODB")?;
    let Backend { storage, _dir } = s3(objects_variable).await?;
    let client = DynamoManifestStore::client(Some(&endpoint)).await;
    let table = format!("{TEST_TABLE_PREFIX}-{}", SystemClock.new_ulid());
    let storage = storage.with_dynamodb(client, &table);
    storage
        .manifest_table
        .as_ref()?
        .init()
        .await
        .unwrap_or_else(|e| panic!("create table {table} at {endpoint}: {e}"));
    Some(Backend { storage, _dir })
}

/// The value of `variable`, or `None` after saying on stderr that runs needing it are skipped.
fn endpoint_of(variable: &str) -> Option<String> {
    let value = std::env::var(variable).ok();
    if value.is_none() {
        // Written to the handle itself, not with eprintln!, so the test harness shows it.
        let _ = writeln!(
            std::io::stderr(),
            "skipped on {variable}: not set (./scripts/test starts the test servers)"
        );
    }
    value
}
