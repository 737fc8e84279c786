//! Opening storage from a URL (docs/design.md §10): `file:///dir` or `file://./dir` (the embedded
//! default), `memory://` (tests), `s3://bucket/prefix` with the standard `AWS_*` variables;
//! manifests in the same store, or in DynamoDB with a manifest URL `dynamodb://TABLE`.
//!
//! Commands that only read or tend an existing log open it with [`Storage::open_existing`]:
//! a `file://` directory that is not there is "no silt store", never created by a typo. A
//! setup that cannot work (an `s3://` URL without a bucket, a plain-HTTP endpoint without
//! `AWS_ALLOW_HTTP`, no AWS credentials) is refused in one line that says what to set.

use std::fmt;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;

#[cfg(feature = "dynamodb")]
use super::DynamoManifestStore;
use super::GroupedManifestStore;
use super::cas::{CasStore, ObjectCas};
use super::metered::MeteredStore;
use super::missing::Guarded;
use super::{
    CommitNews, LocalCasStore, ManifestStore, ObjectManifestStore, TailCache,
    probe_conditional_writes, s3_setup,
};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, InvalidInput, Result};
use crate::ids::ObjectId;
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
    /// Where manifests live. Reads refuse a manifest missing next to its partition's
    /// objects (`Error::ManifestMissing`, see `missing`).
    pub manifests: Arc<dyn ManifestStore>,
    /// Wall-clock time.
    pub clock: Arc<dyn Clock>,
    /// The URL it was opened from (for messages).
    pub url: String,
    /// Commits made through this storage (and its clones), for cursors waiting at a tail.
    pub commit_news: CommitNews,
    /// Segments this process just uploaded, for its cursors at the tail (empty unless given a
    /// budget with [`Storage::with_tail_cache`]).
    pub tail_cache: TailCache,
    /// The `manifest_group_size` of topics created through this storage whose settings leave
    /// it unset ([`Storage::with_manifest_groups`]); `None`: one manifest object per partition.
    pub manifest_group_size: Option<u32>,
    /// The DynamoDB manifest store, when manifests live there rather than in `objects`.
    #[cfg(feature = "dynamodb")]
    pub manifest_table: Option<DynamoManifestStore>,
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
        let opening = Opening {
            probe: true,
            create: true,
        };
        Storage::open_objects(url, options, opening).await
    }

    /// Opens `url` (with the `AWS_*` environment) with manifests at `manifest_url`: in the
    /// store itself when it is `None` or empty, or in DynamoDB for `dynamodb://TABLE` (the
    /// table must exist: see [`Storage::init_manifests`]). A DynamoDB manifest needs no
    /// conditional writes from the object store, so none are probed.
    pub async fn open_with_manifests(url: &str, manifest_url: Option<&str>) -> Result<Storage> {
        Storage::open_env(url, manifest_url, true).await
    }

    /// Like [`Storage::open_with_manifests`] for a store that must exist already: a `file://`
    /// directory that is missing is refused ("no silt store at ..."), not created.
    pub async fn open_existing(url: &str, manifest_url: Option<&str>) -> Result<Storage> {
        Storage::open_env(url, manifest_url, false).await
    }

    async fn open_env(url: &str, manifest_url: Option<&str>, create: bool) -> Result<Storage> {
        let env = std::env::vars().filter(|(k, _)| k.starts_with("AWS_"));
        let Some(manifest_url) = manifest_url.filter(|m| !m.is_empty()) else {
            return Storage::open_objects(
                url,
                env,
                Opening {
                    probe: true,
                    create,
                },
            )
            .await;
        };
        let table = dynamo_table(manifest_url)?;
        #[cfg(not(feature = "dynamodb"))]
        return Err(dynamodb_disabled(table));
        #[cfg(feature = "dynamodb")]
        return {
            let client = DynamoManifestStore::client(None).await;
            credentials(manifest_url).await?;
            let opening = Opening {
                probe: false,
                create,
            };
            let storage = Storage::open_objects(url, env, opening)
                .await?
                .with_dynamodb(client, table);
            if let Some(manifests) = &storage.manifest_table {
                manifests.check().await?;
            }
            Ok(storage)
        };
    }

    /// Prepares the manifest store at `manifest_url` for `url`: creates the DynamoDB table
    /// unless it exists; nothing to do for manifests in the object store. Says what it did.
    pub async fn init_manifests(url: &str, manifest_url: Option<&str>) -> Result<String> {
        let Some(manifest_url) = manifest_url.filter(|m| !m.is_empty()) else {
            return Ok(format!("manifests live in {url}: nothing to create"));
        };
        let table = dynamo_table(manifest_url)?;
        #[cfg(not(feature = "dynamodb"))]
        return Err(dynamodb_disabled(table));
        #[cfg(feature = "dynamodb")]
        return {
            let client = DynamoManifestStore::client(None).await;
            credentials(manifest_url).await?;
            let keys = Keys::new(Path::default()); // init touches the table, not its items
            let created = DynamoManifestStore::new(client, table, &namespace(url), keys)
                .init()
                .await?;
            let verb = if created {
                "created"
            } else {
                "checked existing"
            };
            Ok(format!(
                "{verb} DynamoDB table {table} ({})",
                super::TABLE_KEY_SCHEMA
            ))
        };
    }

    /// The same storage with manifests (and topic configurations) in DynamoDB `table`,
    /// reached through `client`.
    #[cfg(feature = "dynamodb")]
    pub fn with_dynamodb(self, client: aws_sdk_dynamodb::Client, table: &str) -> Storage {
        let keys = self.keys.clone();
        let store = DynamoManifestStore::new(client, table, &namespace(&self.url), keys);
        self.with_manifest_table(store)
    }

    /// The same storage with manifests (and topic configurations) in `table`.
    #[cfg(feature = "dynamodb")]
    pub fn with_manifest_table(mut self, table: DynamoManifestStore) -> Storage {
        let (objects, keys) = (self.objects.clone(), self.keys.clone());
        self.manifests = Guarded::wrap(Arc::new(table.clone()), objects, keys);
        self.manifest_table = Some(table);
        self
    }

    /// The same storage over another object store (tests wrap one with faults); manifests
    /// kept in the object store move with it, DynamoDB manifests stay.
    pub fn with_objects(&self, objects: Arc<dyn ObjectStore>) -> Storage {
        self.rooted(objects, self.keys.root().clone())
    }

    /// The same storage over `objects` with every key under `root` instead (the bench runs
    /// in a scratch prefix), manifests included.
    pub fn rooted(&self, objects: Arc<dyn ObjectStore>, root: Path) -> Storage {
        let mut moved = Storage::over(objects, root, &self.url).with_clock(self.clock.clone());
        moved.manifest_group_size = self.manifest_group_size;
        #[cfg(feature = "dynamodb")]
        if let Some(table) = &self.manifest_table {
            let table = table.clone().with_keys(moved.keys.clone());
            return moved.with_manifest_table(table);
        }
        moved
    }

    async fn open_objects(
        url: &str,
        options: impl IntoIterator<Item = (String, String)>,
        opening: Opening,
    ) -> Result<Storage> {
        let invalid = |reason: &str| InvalidInput::StoreUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if url == "memory://" || url == "memory:///" {
            let store = MeteredStore::new(Arc::new(InMemory::new()));
            return Ok(Storage::over(Arc::new(store), Path::default(), url));
        }
        if let Some(dir) = url.strip_prefix("file://") {
            if dir.is_empty() {
                return Err(invalid(
                    "give a directory, as in file:///var/lib/silt or file://./silt-data",
                )
                .into());
            }
            if !opening.create && !std::path::Path::new(dir).is_dir() {
                return Err(invalid(&format!(
                    "no silt store at {dir} (no such directory): check --store, or create a topic there first"
                ))
                .into());
            }
            let store = LocalCasStore::new(dir).map_err(Error::from)?;
            let store = MeteredStore::new(Arc::new(store));
            return Ok(Storage::over(Arc::new(store), Path::default(), url));
        }
        if url.starts_with("s3://") || url.starts_with("s3a://") {
            let parsed = url::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(invalid("give a bucket, as in s3://BUCKET/PREFIX").into());
            }
            let options = with_defaults(options);
            s3_setup::check(url, &options)?;
            let (store, root) =
                object_store::parse_url_opts(&parsed, options.clone()).map_err(Error::from)?;
            let store = MeteredStore::new(Arc::from(store));
            let storage = Storage::over(Arc::new(store), root, url);
            if opening.probe {
                probe_conditional_writes(storage.objects.as_ref(), &storage.keys, url)
                    .await
                    .map_err(|e| s3_setup::explain(url, &options, e))?;
            }
            return Ok(storage);
        }
        Err(invalid("use file://DIR, memory:// or s3://BUCKET/PREFIX").into())
    }

    /// Storage over an existing object store, with manifests in the same store (tests use this
    /// to wrap a store with faults). Its requests are not counted in the store metrics unless
    /// `objects` is a [`super::MeteredStore`]: the `open` functions wrap what they open in one.
    pub fn over(objects: Arc<dyn ObjectStore>, root: Path, url: &str) -> Storage {
        let keys = Keys::new(root);
        let single = ObjectManifestStore::new(objects.clone(), keys.clone());
        let manifests = GroupedManifestStore::new(objects.clone(), keys.clone(), single);
        let manifests = Guarded::wrap(Arc::new(manifests), objects.clone(), keys.clone());
        Storage {
            objects,
            keys,
            manifests,
            clock: Arc::new(SystemClock),
            url: url.to_string(),
            commit_news: CommitNews::default(),
            tail_cache: TailCache::default(),
            manifest_group_size: None,
            #[cfg(feature = "dynamodb")]
            manifest_table: None,
        }
    }

    /// The same storage, creating topics whose settings leave `manifest_group_size` unset
    /// with manifests kept `size` partitions to an object (docs/design.md §19).
    pub fn with_manifest_groups(mut self, size: u32) -> Storage {
        self.manifest_group_size = Some(size);
        self
    }

    /// The `manifest_group_size` a topic created through this storage gets when its settings
    /// leave it unset: none with manifests in DynamoDB, whose commits share transactions.
    pub fn default_manifest_group_size(&self) -> Option<u32> {
        #[cfg(feature = "dynamodb")]
        if self.manifest_table.is_some() {
            return None;
        }
        self.manifest_group_size
    }

    /// The same storage with another clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Storage {
        self.clock = clock;
        self
    }

    /// The compare-and-swap store of small records (consumer groups): the DynamoDB manifest
    /// table when manifests live there, else the object store.
    pub fn cas(&self) -> Arc<dyn CasStore> {
        #[cfg(feature = "dynamodb")]
        if let Some(table) = &self.manifest_table {
            return Arc::new(super::DynamoCas::new(table.clone(), self.clock.clone()));
        }
        Arc::new(ObjectCas::new(self.objects.clone()))
    }

    /// A fresh id for an object about to be uploaded. Its time part comes from the clock: the
    /// orphan floor compares it with the GC's clock (docs/design.md §6 rule 8).
    pub fn new_object_id(&self) -> ObjectId {
        ObjectId(self.clock.new_ulid())
    }
}

/// How a store is opened.
#[derive(Debug, Clone, Copy)]
struct Opening {
    /// Check that `s3://` honours conditional writes (manifests kept in the store).
    probe: bool,
    /// Create a `file://` directory that is missing.
    create: bool,
}

/// Refuses a DynamoDB manifest when the SDK finds no AWS credentials, in one line (the SDK's
/// own error is a chain of debug dumps).
#[cfg(feature = "dynamodb")]
async fn credentials(manifest_url: &str) -> Result<()> {
    use aws_sdk_dynamodb::config::ProvideCredentials;
    let found = match aws_config::load_from_env().await.credentials_provider() {
        Some(provider) => provider.provide_credentials().await.is_ok(),
        None => false,
    };
    match found {
        true => Ok(()),
        false => Err(Error::NoCredentials {
            what: manifest_url.to_string(),
        }),
    }
}

/// The table of a manifest URL `dynamodb://TABLE`.
fn dynamo_table(manifest_url: &str) -> Result<&str> {
    manifest_url
        .strip_prefix("dynamodb://")
        .map(|t| t.trim_end_matches('/'))
        .filter(|t| !t.is_empty() && !t.contains('/'))
        .ok_or_else(|| {
            InvalidInput::StoreUrl {
                url: manifest_url.to_string(),
                reason: "a manifest URL is dynamodb://TABLE".into(),
            }
            .into()
        })
}

/// A DynamoDB manifest asked of a build without the `dynamodb` feature.
#[cfg(not(feature = "dynamodb"))]
fn dynamodb_disabled(table: &str) -> Error {
    Error::FeatureDisabled {
        feature: "dynamodb",
        what: format!("keeping manifests in DynamoDB table {table}"),
    }
}

/// What tells this store's items apart in a shared DynamoDB table: `s3://bucket` for S3 (the
/// key prefix is part of every key already), the whole URL otherwise.
#[cfg(feature = "dynamodb")]
fn namespace(url: &str) -> String {
    let s3 = url
        .strip_prefix("s3://")
        .or_else(|| url.strip_prefix("s3a://"));
    match s3 {
        Some(rest) => format!("s3://{}", rest.split('/').next().unwrap_or_default()),
        None => url.trim_end_matches('/').to_string(),
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

#[cfg(all(test, not(feature = "dynamodb")))]
mod without_dynamodb {
    use super::*;

    #[tokio::test]
    async fn a_dynamodb_manifest_is_a_typed_error_naming_the_feature() {
        let opened = Storage::open_with_manifests("memory://", Some("dynamodb://t")).await;
        let Err(Error::FeatureDisabled { feature, what }) = opened else {
            panic!("expected FeatureDisabled, got {opened:?}");
        };
        assert_eq!(feature, "dynamodb");
        assert!(what.contains("table t"), "{what}");
        let init = Storage::init_manifests("memory://", Some("dynamodb://t")).await;
        assert!(
            matches!(init, Err(Error::FeatureDisabled { .. })),
            "{init:?}"
        );
        let plain = Storage::open_with_manifests("memory://", None).await;
        assert!(plain.is_ok(), "manifests in the store need no feature");
    }
}
