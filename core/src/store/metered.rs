//! Counts every request sent to the object store, by operation, and every failure, by class
//! (`silt_store_requests_total`, `silt_store_errors_total`: see [`crate::metrics`]). Always
//! on: [`super::Storage::open`] wraps every store it opens in one, under the manifest store
//! and every layer above, so writers, readers and jobs are all counted. With no metrics
//! recorder installed each count is a no-op. Every call is forwarded to the inner store's own
//! method, as in `counting`.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};

use crate::metrics::{self, op};

/// Wraps an `ObjectStore` and records its requests and errors as metrics.
#[derive(Debug)]
pub struct MeteredStore {
    inner: Arc<dyn ObjectStore>,
}

impl MeteredStore {
    /// Records the requests sent to `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>) -> MeteredStore {
        MeteredStore { inner }
    }
}

/// Counts one request of `op` and, if it failed, its error.
fn counted<T>(op: &'static str, n: u64, result: Result<T>) -> Result<T> {
    metrics::store_requests(op, n);
    if let Err(e) = &result {
        failed(op, e);
    }
    result
}

fn failed(op: &'static str, e: &object_store::Error) {
    if let Some(kind) = metrics::store_error_kind(e) {
        metrics::store_error(op, kind);
    }
}

/// Counts one listing, and an error if one of its pages fails.
fn counted_listing(
    listing: BoxStream<'static, Result<ObjectMeta>>,
) -> BoxStream<'static, Result<ObjectMeta>> {
    metrics::store_requests(op::LIST, 1);
    listing
        .inspect(|item| {
            if let Err(e) = item {
                failed(op::LIST, e);
            }
        })
        .boxed()
}

impl fmt::Display for MeteredStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MeteredStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for MeteredStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let op = match opts.mode {
            PutMode::Overwrite => op::PUT,
            PutMode::Create | PutMode::Update(_) => op::CONDITIONAL_PUT,
        };
        counted(op, 1, self.inner.put_opts(location, payload, opts).await)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let started = self.inner.put_multipart_opts(location, opts).await;
        counted(op::PUT_MULTIPART, 1, started)
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let op = if options.head { op::HEAD } else { op::GET };
        counted(op, 1, self.inner.get_opts(location, options).await)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let got = self.inner.get_ranges(location, ranges).await;
        counted(op::GET, ranges.len() as u64, got)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let sent = locations
            .inspect(|_| metrics::store_requests(op::DELETE, 1))
            .boxed();
        self.inner
            .delete_stream(sent)
            .inspect(|deleted| {
                if let Err(e) = deleted {
                    failed(op::DELETE, e);
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        counted_listing(self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        counted_listing(self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        counted(op::LIST, 1, self.inner.list_with_delimiter(prefix).await)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        counted(op::COPY, 1, self.inner.copy_opts(from, to, options).await)
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        counted(op::COPY, 1, self.inner.rename_opts(from, to, options).await)
    }
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
    use object_store::memory::InMemory;
    use object_store::{ObjectStoreExt, UpdateVersion};

    use super::*;
    use crate::metrics::{STORE_ERRORS, STORE_REQUESTS};
    use crate::store::Storage;
    use crate::testing::{Call, Fault, FlakyStore, Rule};

    /// The counters recorded since the last call, as `name{label=value,...}` → value.
    fn counters(snapshotter: &Snapshotter) -> Vec<(String, u64)> {
        let mut found = Vec::new();
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let DebugValue::Counter(n) = value else {
                continue;
            };
            let key = key.key();
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            found.push((format!("{}{{{}}}", key.name(), labels.join(",")), n));
        }
        found.sort();
        found
    }

    fn pair(name: &str, labels: &str, n: u64) -> (String, u64) {
        (format!("{name}{{{labels}}}"), n)
    }

    #[tokio::test]
    async fn every_kind_of_request_is_counted_once() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _local = ::metrics::set_default_local_recorder(&recorder);
        let store = MeteredStore::new(Arc::new(InMemory::new()));
        let path = Path::from("t/00000/manifest");
        let put = store
            .put(&path, PutPayload::from_static(b"a"))
            .await
            .unwrap();
        let create = PutOptions::from(PutMode::Create);
        let exists = store.put_opts(&path, "b".into(), create).await;
        assert!(exists.is_err(), "{exists:?}");
        let update = PutMode::Update(UpdateVersion::from(put));
        store
            .put_opts(&path, "c".into(), update.into())
            .await
            .unwrap();
        store.get(&path).await.unwrap().bytes().await.unwrap();
        store.head(&path).await.unwrap();
        assert!(store.get(&Path::from("nothing")).await.is_err());
        let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
        assert_eq!(listed.len(), 1);
        store.delete(&path).await.unwrap();

        let expected = [
            pair(STORE_ERRORS, "op=conditional_put,kind=conflict", 1),
            pair(STORE_ERRORS, "op=get,kind=not_found", 1),
            pair(STORE_REQUESTS, "op=conditional_put", 2),
            pair(STORE_REQUESTS, "op=delete", 1),
            pair(STORE_REQUESTS, "op=get", 2),
            pair(STORE_REQUESTS, "op=head", 1),
            pair(STORE_REQUESTS, "op=list", 1),
            pair(STORE_REQUESTS, "op=put", 1),
        ];
        assert_eq!(counters(&snapshotter), expected);
    }

    #[tokio::test]
    async fn an_injected_failure_moves_the_error_counter_by_its_class() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _local = ::metrics::set_default_local_recorder(&recorder);
        let flaky = FlakyStore::new(Arc::new(InMemory::new()), 7);
        let store = MeteredStore::new(flaky.clone());
        let path = Path::from("t/00000/seg/x.seg");
        flaky.set_rules(vec![Rule::new(Call::PutOverwrite, Fault::ErrorBefore, 1.0)]);
        assert!(store.put(&path, "a".into()).await.is_err());
        flaky.set_rules(vec![Rule::new(Call::Get, Fault::Denied, 1.0)]);
        assert!(store.get(&path).await.is_err());
        flaky.set_rules(Vec::new());
        store.put(&path, "a".into()).await.unwrap();

        let expected = [
            pair(STORE_ERRORS, "op=get,kind=config", 1),
            pair(STORE_ERRORS, "op=put,kind=retryable", 1),
            pair(STORE_REQUESTS, "op=get", 1),
            pair(STORE_REQUESTS, "op=put", 2),
        ];
        assert_eq!(counters(&snapshotter), expected);
    }

    #[tokio::test]
    async fn a_revalidation_answered_not_modified_is_no_error() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _local = ::metrics::set_default_local_recorder(&recorder);
        let store = MeteredStore::new(Arc::new(InMemory::new()));
        let path = Path::from("m");
        let put = store.put(&path, "a".into()).await.unwrap();
        let options = GetOptions {
            if_none_match: put.e_tag,
            ..GetOptions::default()
        };
        let unchanged = store.get_opts(&path, options).await;
        assert!(matches!(
            unchanged,
            Err(object_store::Error::NotModified { .. })
        ));
        let expected = [
            pair(STORE_REQUESTS, "op=get", 1),
            pair(STORE_REQUESTS, "op=put", 1),
        ];
        assert_eq!(counters(&snapshotter), expected);
    }

    #[tokio::test]
    async fn storage_opened_from_a_url_is_metered() {
        let dir = tempfile::tempdir().unwrap();
        for url in [
            "memory://".to_string(),
            format!("file://{}", dir.path().display()),
        ] {
            let recorder = DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            let _local = ::metrics::set_default_local_recorder(&recorder);
            let storage = Storage::open(&url).await.unwrap();
            storage
                .objects
                .put(&Path::from("x"), "a".into())
                .await
                .unwrap();
            let expected = [pair(STORE_REQUESTS, "op=put", 1)];
            assert_eq!(counters(&snapshotter), expected, "{url}");
        }
    }
}
