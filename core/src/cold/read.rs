//! Reading a cold segment by offset or timestamp with ranged reads: the tail (page index and
//! footer, checked once per [`ColdReader`], see `tail`), then only the pages of the one row
//! group that hold the offset or time asked for, each verified against its checksum before
//! Parquet decodes it. A file whose metadata names another topic incarnation or partition, or
//! whose schema is not silt's, is reported as corrupt.

use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, RowSelection, RowSelector,
};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};

use super::integrity::PageSums;
use super::locate::{Rows, locate, value_page_end};
use super::schema::{LEAF_COLUMNS, OFFSET_COLUMN, TIMESTAMP_COLUMN, arrow_schema, records_of};
use super::{corrupt, parquet_error, tail};
use crate::error::Result;
use crate::ids::{Offset, PartitionId, TopicId};
use crate::record::Record;

/// The records of one page run, from some offset on.
#[derive(Debug)]
pub struct Window {
    /// The offset of the first row after the window; `None` when the file ends there.
    pub end: Option<Offset>,
    /// The records from the offset asked for to `end`, in offset order.
    pub records: Vec<(Offset, Record)>,
}

/// Ranged reads of one file, each checked against the page checksums (format 2 on).
#[derive(Clone)]
struct FileReader {
    objects: Arc<dyn ObjectStore>,
    path: Path,
    meta: Arc<ParquetMetaData>,
    pages: Option<Arc<PageSums>>,
}

fn store_error(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl FileReader {
    /// `bytes` read from `range`, if they are what was written there.
    fn checked(&self, range: &Range<u64>, bytes: Bytes) -> parquet::errors::Result<Bytes> {
        let Some(pages) = &self.pages else {
            return Ok(bytes);
        };
        match pages.verify(range, &bytes) {
            Ok(()) => Ok(bytes),
            Err(reason) => Err(ParquetError::External(Box::new(corrupt(
                self.path.as_ref(),
                reason,
            )))),
        }
    }
}

impl AsyncFileReader for FileReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            let got = self.objects.get_range(&self.path, range.clone()).await;
            self.checked(&range, got.map_err(store_error)?)
        }
        .boxed()
    }

    /// One ranged GET per range, in parallel: exactly the pages asked for (an object store's
    /// own `get_ranges` would merge ranges up to 1 MiB apart, fetching the gaps too).
    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            let gets = ranges
                .iter()
                .map(|range| self.objects.get_range(&self.path, range.clone()));
            let got = futures::future::try_join_all(gets).await;
            let got = got.map_err(store_error)?;
            let pairs = ranges.iter().zip(got);
            pairs
                .map(|(range, bytes)| self.checked(range, bytes))
                .collect()
        }
        .boxed()
    }

    /// The metadata read when the file was opened (the reader is always built with it).
    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        let meta = self.meta.clone();
        async move { Ok(meta) }.boxed()
    }
}

/// The topic incarnation and partition a file must belong to.
pub type Owner = (TopicId, PartitionId);

/// One cold segment, opened: its footer and page index read and checked once for every read
/// of it. A cursor keeps the one it reads.
pub struct ColdReader {
    reader: FileReader,
    meta: ArrowReaderMetadata,
    size: u64,
}

impl std::fmt::Debug for ColdReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColdReader")
            .field("path", &self.reader.path)
            .field("size", &self.size)
            .field("checked", &self.reader.pages.is_some())
            .finish()
    }
}

impl ColdReader {
    /// Opens the file at `path`, of `size` bytes, which must belong to `owner`.
    pub async fn open(
        objects: Arc<dyn ObjectStore>,
        path: &Path,
        size: u64,
        owner: Owner,
    ) -> Result<ColdReader> {
        let location = path.as_ref();
        let opened = tail::open(objects.as_ref(), path, size).await?;
        let meta = Arc::new(opened.meta);
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let arrow = ArrowReaderMetadata::try_new(meta.clone(), options);
        let arrow = arrow.map_err(|e| parquet_error(e, location))?;
        check_schema(&arrow, location)?;
        let kv = meta.file_metadata().key_value_metadata();
        let value = |key: &str| kv?.iter().find(|kv| kv.key == key)?.value.clone();
        let (topic_id, partition) = (owner.0.to_string(), owner.1.to_string());
        if value("silt.topic_id") != Some(topic_id) || value("silt.partition") != Some(partition) {
            return Err(corrupt(location, "written for another topic or partition"));
        }
        let reader = FileReader {
            objects,
            path: path.clone(),
            meta,
            pages: opened.pages.map(Arc::new),
        };
        Ok(ColdReader {
            reader,
            meta: arrow,
            size,
        })
    }

    /// The file it reads.
    pub fn path(&self) -> &Path {
        &self.reader.path
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The records from `offset` to the end of the `value` page holding it, and at most to
    /// the end of its `offset` page: the offset page (to find the row), then a page per column.
    pub async fn read_window(&self, offset: Offset) -> Result<Window> {
        let target = i64::try_from(offset.0).unwrap_or(i64::MAX);
        let Some(page) = locate(self.metadata(), OFFSET_COLUMN, target) else {
            return Ok(Window {
                end: None,
                records: Vec::new(),
            });
        };
        // The offsets of the page: where the row is, and the offset after the value page.
        let offsets = self.rows(&page, self.offsets_only()).await?;
        let Some(skip) = offsets.iter().position(|(o, _)| *o >= offset) else {
            return Ok(Window {
                end: page.next,
                records: Vec::new(),
            });
        };
        let row = page.rows.start + skip;
        let value_end = value_page_end(self.metadata(), page.row_group, row);
        let end = value_end.map_or(page.rows.end, |v| v.min(page.rows.end));
        let end = end.max(row + 1);
        let next = match offsets.get(end - page.rows.start) {
            Some((o, _)) => Some(*o),
            None => page.next,
        };
        let window = Rows {
            row_group: page.row_group,
            rows: row..end,
            next,
        };
        let records = self.rows(&window, ProjectionMask::all()).await?;
        Ok(Window { end: next, records })
    }

    /// The offset of the first record whose timestamp is at or after `ts_ms`, if any.
    pub async fn first_offset_at(&self, ts_ms: i64) -> Result<Option<Offset>> {
        let target = ts_ms.saturating_mul(1000);
        let Some(at) = locate(self.metadata(), TIMESTAMP_COLUMN, target) else {
            return Ok(None);
        };
        let records = self.rows(&at, self.offsets_only()).await?;
        let hit = records.into_iter().find(|(_, r)| r.timestamp_ms >= ts_ms);
        Ok(hit.map(|(o, _)| o))
    }

    fn metadata(&self) -> &ParquetMetaData {
        self.meta.metadata()
    }

    /// The records of `at`, of the columns in `mask`.
    async fn rows(&self, at: &Rows, mask: ProjectionMask) -> Result<Vec<(Offset, Record)>> {
        let builder = ParquetRecordBatchStreamBuilder::new_with_metadata(
            self.reader.clone(),
            self.meta.clone(),
        );
        let selection = RowSelection::from(vec![
            RowSelector::skip(at.rows.start),
            RowSelector::select(at.rows.len()),
        ]);
        let builder = builder
            .with_projection(mask)
            .with_row_groups(vec![at.row_group])
            .with_row_selection(selection)
            .with_batch_size(at.rows.len().max(1));
        let location = self.reader.path.as_ref();
        let stream = builder.build().map_err(|e| parquet_error(e, location))?;
        let decoded = AssertUnwindSafe(stream.try_collect::<Vec<_>>()).catch_unwind();
        let batches = match decoded.await {
            Ok(batches) => batches.map_err(|e| parquet_error(e, location))?,
            // Unverified pages (format 1) may be damaged in ways the parquet crate does not
            // survive. Verified ones passed a crc32c, which catches damage but not a file
            // crafted to pass it: a decoder panic is corruption either way, never a crash.
            Err(_) => {
                let reason = match self.reader.pages {
                    None => "the Parquet decoder failed on its pages (format 1: no checksums)",
                    Some(_) => "the Parquet decoder failed on pages that pass their checksums",
                };
                return Err(corrupt(location, reason));
            }
        };
        let mut out = Vec::new();
        for batch in &batches {
            out.extend(records_of(batch, location)?);
        }
        Ok(out)
    }

    /// A mask of the `offset` and `timestamp` columns.
    fn offsets_only(&self) -> ProjectionMask {
        let leaves = [OFFSET_COLUMN, TIMESTAMP_COLUMN];
        ProjectionMask::leaves(self.meta.parquet_schema(), leaves)
    }
}

/// Refuses a file whose columns are not silt's: names, types and nullability.
fn check_schema(meta: &ArrowReaderMetadata, location: &str) -> Result<()> {
    let ours = arrow_schema();
    let same = meta.parquet_schema().num_columns() == LEAF_COLUMNS
        && meta.schema().fields().len() == ours.fields().len()
        && meta
            .schema()
            .fields()
            .iter()
            .zip(ours.fields())
            .all(|(theirs, ours)| {
                theirs.name() == ours.name()
                    && theirs.data_type() == ours.data_type()
                    && theirs.is_nullable() == ours.is_nullable()
            });
    match same {
        true => Ok(()),
        false => Err(corrupt(location, "not the cold-segment schema")),
    }
}

/// The records of `path` (a cold segment of `size` bytes, of `owner`) from `offset` on: see
/// [`ColdReader::read_window`]. Opens the file for this one read.
pub async fn read_window(
    objects: Arc<dyn ObjectStore>,
    path: &Path,
    size: u64,
    owner: Owner,
    offset: Offset,
) -> Result<Window> {
    let reader = ColdReader::open(objects, path, size, owner).await?;
    reader.read_window(offset).await
}

/// The offset of the first record of `path` whose timestamp is at or after `ts_ms`, if any:
/// see [`ColdReader::first_offset_at`]. Opens the file for this one read.
pub async fn first_offset_at(
    objects: Arc<dyn ObjectStore>,
    path: &Path,
    size: u64,
    owner: Owner,
    ts_ms: i64,
) -> Result<Option<Offset>> {
    let reader = ColdReader::open(objects, path, size, owner).await?;
    reader.first_offset_at(ts_ms).await
}
