//! `file://` with compare-and-swap. `object_store`'s `LocalFileSystem` refuses
//! `PutMode::Update`, so this wrapper adds it: take an exclusive lock file next to the object,
//! check the current ETag, then write through the inner store (temp file + atomic rename,
//! fsynced). Every other call goes straight to `LocalFileSystem`. Safe across threads and
//! processes on one machine (flock), which is what the embedded default needs.
//!
//! A write the operating system refuses (no permission, a read-only or immutable file or
//! directory) comes back as `object_store::Error::PermissionDenied` naming the path: it is
//! definite, and the commit loop fails at once instead of resolving an outcome that cannot be
//! anything but "not written".

use std::fmt;
use std::fs::{File, TryLockError};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
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
        std::fs::create_dir_all(&dir).map_err(|e| io_error("cannot create", &dir, e))?;
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
        let lock = blocking(move || lock_exclusive(lock_path)).await?;
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
        let file = self.dir.join(location.as_ref());
        let before = file.clone();
        let old_mtime = blocking(move || modified(&before)).await?;
        let opts = PutOptions {
            mode: PutMode::Overwrite,
            ..opts
        };
        let mut put = self
            .inner
            .put_opts(location, payload, opts)
            .await
            .map_err(|e| classified(location, e))?;
        blocking(move || advance_mtime(&file, old_mtime)).await?;
        let meta = self.inner.head(location).await?;
        drop(lock); // closing the file releases the lock
        put.e_tag = meta.e_tag;
        Ok(put)
    }
}

/// Longest a commit waits for another process's lock on the same manifest.
const LOCK_WAIT_MS: u64 = 30_000;
const LOCK_POLL_MS: u64 = 2;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| generic(e.to_string()))?
}

fn lock_exclusive(path: PathBuf) -> Result<File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_error("cannot create", parent, e))?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_error("cannot open lock", &path, e))?;
    for _ in 0..LOCK_WAIT_MS / LOCK_POLL_MS {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) => {
                crate::clock::sleep_blocking(Duration::from_millis(LOCK_POLL_MS))
            }
            Err(TryLockError::Error(e)) => {
                return Err(generic(format!("cannot lock {}: {e}", path.display())));
            }
        }
    }
    Err(generic(format!(
        "{} stayed locked by another process for {LOCK_WAIT_MS} ms",
        path.display()
    )))
}

fn modified(file: &std::path::Path) -> Result<SystemTime> {
    std::fs::metadata(file)
        .and_then(|m| m.modified())
        .map_err(|e| generic(format!("cannot read {}: {e}", file.display())))
}

/// `LocalFileSystem`'s ETag is inode, mtime (µs) and size; a replaced file's inode can be reused
/// and two writes can share a clock tick. Making every version's mtime strictly later than the
/// previous one means no two versions of an object ever share an ETag (no ABA).
fn advance_mtime(file: &std::path::Path, old: SystemTime) -> Result<()> {
    let micros = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0)
    };
    if micros(modified(file)?) > micros(old) {
        return Ok(());
    }
    let later = old + Duration::from_micros(1);
    let set = File::options().write(true).open(file).and_then(|f| {
        f.set_modified(later)?;
        f.sync_all()
    });
    set.map_err(|e| generic(format!("cannot set the time of {}: {e}", file.display())))
}

/// An I/O failure on `path`: `PermissionDenied` when the system refused it for good (no
/// permission, read-only), else `Generic`.
fn io_error(doing: &str, path: &std::path::Path, e: std::io::Error) -> object_store::Error {
    match refused(&e) {
        true => object_store::Error::PermissionDenied {
            path: path.display().to_string(),
            source: Box::new(e),
        },
        false => generic(format!("{doing} {}: {e}", path.display())),
    }
}

/// Whether the system refused an operation for a reason retrying will not change.
fn refused(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem
    )
}

/// `LocalFileSystem` reports every I/O failure as `Generic`; one the system refused for good
/// becomes `PermissionDenied` on `location`, so callers can tell it from a passing failure.
fn classified(location: &Path, e: object_store::Error) -> object_store::Error {
    let object_store::Error::Generic { source, .. } = &e else {
        return e;
    };
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
    while let Some(c) = cause {
        if c.downcast_ref::<std::io::Error>().is_some_and(refused) {
            return object_store::Error::PermissionDenied {
                path: location.to_string(),
                source: e.to_string().into(),
            };
        }
        cause = c.source();
    }
    e
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
            _ => (self.inner.put_opts(location, payload, opts).await)
                .map_err(|e| classified(location, e)),
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

    /// In key order, as S3 lists: a directory lists in its own order, and a caller that stops
    /// at a key (GC's orphan sweep stops at the orphan floor) relies on the order.
    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let listing = self.inner.list_with_offset(prefix, offset);
        let sorted = async move {
            let mut all: Vec<ObjectMeta> = listing.try_collect().await?;
            all.sort_by(|a, b| a.location.cmp(&b.location));
            Ok::<_, object_store::Error>(futures::stream::iter(all.into_iter().map(Ok)))
        };
        futures::stream::once(sorted).try_flatten().boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
