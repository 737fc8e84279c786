//! `file://` with compare-and-swap. `object_store`'s `LocalFileSystem` refuses
//! `PutMode::Update`, so this wrapper adds it: take an exclusive lock file next to the object,
//! check the current ETag, then write through the inner store (temp file + atomic rename,
//! fsynced). Every other call goes straight to `LocalFileSystem`. Safe across threads and
//! processes on one machine (flock), which is what the embedded default needs.

use std::fmt;
use std::fs::File;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

/// A local directory with conditional updates.
#[derive(Debug, Clone)]
pub struct LocalCasStore {
    dir: PathBuf,
    inner: Arc<LocalFileSystem>,
}

impl LocalCasStore {
    /// Objects under `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Result<LocalCasStore> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| generic(format!("cannot create {}: {e}", dir.display())))?;
        let inner = LocalFileSystem::new_with_prefix(&dir)?.with_fsync(true);
        Ok(LocalCasStore {
            dir,
            inner: Arc::new(inner),
        })
    }

    fn lock_path(&self, location: &Path) -> PathBuf {
        self.dir.join(format!("{location}.lock"))
    }

    async fn update(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
        expected: Option<String>,
    ) -> Result<PutResult> {
        let lock_path = self.lock_path(location);
        let lock = tokio::task::spawn_blocking(move || lock_exclusive(lock_path))
            .await
            .map_err(|e| generic(e.to_string()))??;
        let current = match self.inner.head(location).await {
            Ok(meta) => meta.e_tag,
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        if current.is_none() || current != expected {
            return Err(object_store::Error::Precondition {
                path: location.to_string(),
                source: "the object changed since it was read (ETag differs)".into(),
            });
        }
        let opts = PutOptions {
            mode: PutMode::Overwrite,
            ..opts
        };
        let result = self.inner.put_opts(location, payload, opts).await;
        drop(lock); // closing the file releases the lock
        result
    }
}

fn lock_exclusive(path: PathBuf) -> Result<File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| generic(e.to_string()))?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| generic(format!("cannot open lock {}: {e}", path.display())))?;
    file.lock()
        .map_err(|e| generic(format!("cannot lock {}: {e}", path.display())))?;
    Ok(file)
}

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: "LocalCasStore",
        source: message.into(),
    }
}

impl fmt::Display for LocalCasStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalCasStore({})", self.dir.display())
    }
}

#[async_trait]
impl ObjectStore for LocalCasStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        match &opts.mode {
            PutMode::Update(v) => {
                let expected = v.e_tag.clone();
                self.update(location, payload, opts, expected).await
            }
            _ => self.inner.put_opts(location, payload, opts).await,
        }
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
