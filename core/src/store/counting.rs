//! Counts every request an `ObjectStore` serves, by kind, with bytes moved and objects listed.
//! `silt bench` wraps its store in one so request costs are measured, not estimated; tests wrap
//! one to prove a job's requests stay bounded. Every call is forwarded to the inner store's
//! own method (`list_with_offset` too: the trait's default would list everything and filter).

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

/// Request counts, read with [`CountingStore::counts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RequestCounts {
    /// Plain PUTs (segment uploads).
    pub put_overwrite: u64,
    /// Conditional creates (If-None-Match).
    pub put_create: u64,
    /// Conditional updates (If-Match: manifest commits).
    pub put_update: u64,
    /// Bytes sent by all PUTs.
    pub put_bytes: u64,
    /// GETs (ranged or whole) and HEADs.
    pub get: u64,
    /// Bytes received by GETs.
    pub get_bytes: u64,
    /// LIST calls (one per listing, however many pages it takes).
    pub list: u64,
    /// Objects the listings returned (a page of an S3 LIST holds up to 1 000).
    pub listed: u64,
    /// Objects deleted.
    pub delete: u64,
}

impl RequestCounts {
    /// All PUTs.
    pub fn puts(&self) -> u64 {
        self.put_overwrite + self.put_create + self.put_update
    }

    /// The counts since `earlier`.
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        RequestCounts {
            put_overwrite: self.put_overwrite - earlier.put_overwrite,
            put_create: self.put_create - earlier.put_create,
            put_update: self.put_update - earlier.put_update,
            put_bytes: self.put_bytes - earlier.put_bytes,
            get: self.get - earlier.get,
            get_bytes: self.get_bytes - earlier.get_bytes,
            list: self.list - earlier.list,
            listed: self.listed - earlier.listed,
            delete: self.delete - earlier.delete,
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    slowest_put_us: AtomicU64,
    slowest_get_us: AtomicU64,
    put_overwrite: AtomicU64,
    put_create: AtomicU64,
    put_update: AtomicU64,
    put_bytes: AtomicU64,
    get: AtomicU64,
    get_bytes: AtomicU64,
    list: AtomicU64,
    listed: AtomicU64,
    delete: AtomicU64,
    puts_in_flight: AtomicU64,
    puts_in_flight_max: AtomicU64,
}

/// Wraps an `ObjectStore` and counts its requests.
#[derive(Debug)]
pub struct CountingStore {
    inner: Arc<dyn ObjectStore>,
    counters: Arc<Counters>,
}

impl CountingStore {
    /// Counts the requests sent to `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>) -> CountingStore {
        CountingStore {
            inner,
            counters: Arc::default(),
        }
    }

    /// The slowest PUT and GET (ms) since the last call, then starts over: tells a stall in
    /// the store from one in silt.
    pub fn take_slowest_ms(&self) -> (f64, f64) {
        let take = |a: &AtomicU64| a.swap(0, Ordering::Relaxed) as f64 / 1000.0;
        (
            take(&self.counters.slowest_put_us),
            take(&self.counters.slowest_get_us),
        )
    }

    /// The counts so far.
    pub fn counts(&self) -> RequestCounts {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RequestCounts {
            put_overwrite: load(&c.put_overwrite),
            put_create: load(&c.put_create),
            put_update: load(&c.put_update),
            put_bytes: load(&c.put_bytes),
            get: load(&c.get),
            get_bytes: load(&c.get_bytes),
            list: load(&c.list),
            listed: load(&c.listed),
            delete: load(&c.delete),
        }
    }

    /// The most PUTs (multipart uploads included) that were in flight at once so far.
    pub fn puts_in_flight_max(&self) -> u64 {
        self.counters.puts_in_flight_max.load(Ordering::Relaxed)
    }

    /// Counts the objects `listing` yields.
    fn counted(
        &self,
        listing: BoxStream<'static, Result<ObjectMeta>>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        add(&self.counters.list, 1);
        let counters = self.counters.clone();
        listing
            .inspect(move |item| {
                if item.is_ok() {
                    add(&counters.listed, 1);
                }
            })
            .boxed()
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// One PUT in flight, from its start until it is dropped.
struct PutInFlight(Arc<Counters>);

impl PutInFlight {
    fn start(counters: &Arc<Counters>) -> PutInFlight {
        let now = counters.puts_in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        counters
            .puts_in_flight_max
            .fetch_max(now, Ordering::Relaxed);
        PutInFlight(counters.clone())
    }
}

impl Drop for PutInFlight {
    fn drop(&mut self) {
        self.0.puts_in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl fmt::Display for CountingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountingStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let c = &self.counters;
        add(
            match opts.mode {
                PutMode::Overwrite => &c.put_overwrite,
                PutMode::Create => &c.put_create,
                PutMode::Update(_) => &c.put_update,
            },
            1,
        );
        add(&c.put_bytes, payload.content_length() as u64);
        let _in_flight = PutInFlight::start(c);
        let started = tokio::time::Instant::now();
        let result = self.inner.put_opts(location, payload, opts).await;
        c.slowest_put_us
            .fetch_max(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        result
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        add(&self.counters.put_overwrite, 1);
        let _in_flight = PutInFlight::start(&self.counters);
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        add(&self.counters.get, 1);
        let started = tokio::time::Instant::now();
        let head = options.head;
        let result = self.inner.get_opts(location, options).await;
        if let Ok(got) = &result
            && !head
        {
            add(&self.counters.get_bytes, got.range.end - got.range.start);
        }
        let elapsed = started.elapsed().as_micros() as u64;
        self.counters
            .slowest_get_us
            .fetch_max(elapsed, Ordering::Relaxed);
        result
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        add(&self.counters.get, ranges.len() as u64);
        let bytes: u64 = ranges.iter().map(|r| r.end - r.start).sum();
        add(&self.counters.get_bytes, bytes);
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let counters = self.counters.clone();
        let counted = locations.inspect(move |_| add(&counters.delete, 1)).boxed();
        self.inner.delete_stream(counted)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.counted(self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.counted(self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        add(&self.counters.list, 1);
        let listed = self.inner.list_with_delimiter(prefix).await?;
        add(&self.counters.listed, listed.objects.len() as u64);
        Ok(listed)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    use super::*;

    #[tokio::test]
    async fn a_listing_from_an_offset_is_forwarded_not_filtered() {
        let counting = CountingStore::new(Arc::new(InMemory::new()));
        for key in ["dir/a", "dir/b", "dir/c"] {
            counting
                .put(&Path::from(key), PutPayload::from_static(b"x"))
                .await
                .unwrap();
        }
        let prefix = Path::from("dir");
        let listed: Vec<ObjectMeta> = counting
            .list_with_offset(Some(&prefix), &Path::from("dir/b"))
            .try_collect()
            .await
            .unwrap();
        let names: Vec<_> = listed.iter().map(|m| m.location.to_string()).collect();
        assert_eq!(names, ["dir/c"]);
        // The trait's default would have listed (and counted) all three, then filtered.
        let counts = counting.counts();
        assert_eq!((counts.list, counts.listed), (1, 1), "{counts:?}");
        assert_eq!(counting.puts_in_flight_max(), 1);
    }
}
