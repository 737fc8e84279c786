//! Opening storage from a URL (DESIGN §10): `file:///dir` or `file://./dir` (the embedded
//! default), `memory://` (tests), `s3://bucket/prefix` with the standard `AWS_*` variables.

use std::fmt;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;

use super::{LocalCasStore, ManifestStore, ObjectManifestStore, probe_conditional_writes};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, InvalidInput, Result};
use crate::keys::Keys;

/// The store used when neither `--store` nor `SILT_STORE` is given.
pub const DEFAULT_STORE_URL: &str = "file://./silt-data";

/// Everything a writer, reader or job needs to reach the data: objects, key layout, manifests,
/// and the clock.
#[derive(Clone)]
pub struct Storage {
    /// Where segments and index chunks live.
    pub objects: Arc<dyn ObjectStore>,
    /// The key layout under the root prefix.
    pub keys: Keys,
    /// Where manifests live.
    pub manifests: Arc<dyn ManifestStore>,
    /// Wall-clock time.
    pub clock: Arc<dyn Clock>,
    /// The URL it was opened from (for messages).
    pub url: String,
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("url", &self.url)
            .field("keys", &self.keys)
            .finish()
    }
}

impl Storage {
    /// Opens the store at `url`. For `s3://` it reads the `AWS_*` environment variables and
    /// first probes that conditional writes are honoured, refusing to continue otherwise.
    pub async fn open(url: &str) -> Result<Storage> {
        let env = std::env::vars().filter(|(k, _)| k.starts_with("AWS_"));
        Storage::open_with(url, env).await
    }

    /// Like [`Storage::open`], with explicit `object_store` options for `s3://` (such as
    /// `aws_endpoint`, `aws_allow_http`, `aws_access_key_id`) instead of the environment.
    pub async fn open_with(
        url: &str,
        options: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Storage> {
        let invalid = |reason: &str| InvalidInput::StoreUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if url == "memory://" || url == "memory:///" {
            return Ok(Storage::over(
                Arc::new(InMemory::new()),
                Path::default(),
                url,
            ));
        }
        if let Some(dir) = url.strip_prefix("file://") {
            if dir.is_empty() {
                return Err(invalid(
                    "give a directory, as in file:///var/lib/silt or file://./silt-data",
                )
                .into());
            }
            let store = LocalCasStore::new(dir).map_err(Error::from)?;
            return Ok(Storage::over(Arc::new(store), Path::default(), url));
        }
        if url.starts_with("s3://") || url.starts_with("s3a://") {
            let parsed = url::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
            let (store, root) = object_store::parse_url_opts(&parsed, with_defaults(options))
                .map_err(Error::from)?;
            let storage = Storage::over(Arc::from(store), root, url);
            probe_conditional_writes(storage.objects.as_ref(), &storage.keys, url).await?;
            return Ok(storage);
        }
        Err(invalid("use file://DIR, memory:// or s3://BUCKET/PREFIX").into())
    }

    /// Storage over an existing object store, with manifests in the same store (tests use this
    /// to wrap a store with faults).
    pub fn over(objects: Arc<dyn ObjectStore>, root: Path, url: &str) -> Storage {
        let keys = Keys::new(root);
        let manifests = Arc::new(ObjectManifestStore::new(objects.clone(), keys.clone()));
        Storage {
            objects,
            keys,
            manifests,
            clock: Arc::new(SystemClock),
            url: url.to_string(),
        }
    }

    /// The same storage with another clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Storage {
        self.clock = clock;
        self
    }
}

/// silt's defaults for S3 options the caller did not set. `aws_unsigned_payload`: SigV4 would
/// hash every segment body (a tenth of a producer's CPU in `silt bench`); segments carry their
/// own crc32c, checked on every read, and TLS protects the bytes on real S3. Set
/// `AWS_UNSIGNED_PAYLOAD=false` to sign payloads anyway.
fn with_defaults(options: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut options: Vec<(String, String)> = options.into_iter().collect();
    if !options
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("aws_unsigned_payload"))
    {
        options.push(("aws_unsigned_payload".into(), "true".into()));
    }
    options
}
