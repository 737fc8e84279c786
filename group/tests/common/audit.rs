//! An `ObjectStore` wrapper that records every lease write the store accepted, in the order
//! it accepted them: the history the simulation checks its invariants on. It sits under the
//! fault injector, so a write whose answer was lost is recorded too.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};
use silt_group::records::Lease;

/// Accepted lease writes per key, in order.
pub(crate) type History = BTreeMap<String, Vec<Lease>>;

#[derive(Debug)]
pub(crate) struct AuditStore {
    inner: Arc<dyn ObjectStore>,
    pub(crate) leases: Mutex<History>,
}

impl AuditStore {
    pub(crate) fn new(inner: Arc<dyn ObjectStore>) -> Arc<AuditStore> {
        Arc::new(AuditStore {
            inner,
            leases: Mutex::new(History::new()),
        })
    }
}

impl fmt::Display for AuditStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for AuditStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let body: Vec<u8> = payload.iter().flat_map(|b| b.to_vec()).collect();
        let put = self.inner.put_opts(location, payload, opts).await?;
        if location.as_ref().contains("/offsets/") {
            let lease: Lease = serde_json::from_slice(&body).expect("a lease");
            let mut leases = self.leases.lock().unwrap();
            leases.entry(location.to_string()).or_default().push(lease);
        }
        Ok(put)
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

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// Checks the lease invariants of docs/consumer-groups.md §2 on every key's history: epochs
/// never go down, one owner per epoch, the committed offset never goes backwards.
pub(crate) fn check_leases(history: &History) {
    for (key, writes) in history {
        let mut owners: BTreeMap<u64, Option<String>> = BTreeMap::new();
        for pair in writes.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(
                b.lease_epoch >= a.lease_epoch,
                "{key}: epoch went from {} to {}",
                a.lease_epoch,
                b.lease_epoch
            );
            assert!(
                b.offset >= a.offset,
                "{key}: offset went from {:?} to {:?} (epochs {} -> {})",
                a.offset,
                b.offset,
                a.lease_epoch,
                b.lease_epoch
            );
        }
        for w in writes {
            let owner = w.owner.as_ref().map(|o| o.member_id.0.clone());
            let first = owners.entry(w.lease_epoch).or_insert_with(|| owner.clone());
            assert_eq!(
                *first, owner,
                "{key}: two owners at epoch {}",
                w.lease_epoch
            );
        }
    }
}
