//! Reading a cold segment by offset or timestamp with ranged reads: the footer (metadata and
//! page index, one suffix read plus the index), then only the pages of the one row group that
//! hold the offset or time asked for.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, RowSelection, RowSelector};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::statistics::Statistics;

use super::parquet_error;
use super::schema::{OFFSET_COLUMN, TIMESTAMP_COLUMN, records_of};
use crate::error::Result;
use crate::ids::Offset;
use crate::record::Record;

/// Bytes read from the end of a file in the first request (footer and, usually, page index).
const FOOTER_HINT: usize = 64 * 1024;

/// The records of one page run, from some offset on.
#[derive(Debug)]
pub struct Window {
    /// The offset of the first row after the window; `None` when the file ends there.
    pub end: Option<Offset>,
    /// The records from the offset asked for to `end`, in offset order.
    pub records: Vec<(Offset, Record)>,
}

/// The rows of the page of `column` that holds the first value at or above `target`.
struct Rows {
    row_group: usize,
    rows: Range<usize>,
    /// The first offset after these rows, if the file has more.
    next: Option<Offset>,
}

type Builder = ParquetRecordBatchStreamBuilder<FileReader>;

/// Ranged reads of one file of known size, for the Parquet reader.
#[derive(Debug)]
struct FileReader {
    objects: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

fn store_error(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for FileReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let got = self.objects.get_range(&self.path, range);
        async move { got.await.map_err(store_error) }.boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            let got = self.objects.get_ranges(&self.path, &ranges).await;
            got.map_err(store_error)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .with_prefetch_hint(Some(FOOTER_HINT))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

async fn open(objects: Arc<dyn ObjectStore>, path: &Path, size: u64) -> Result<Builder> {
    let reader = FileReader {
        objects,
        path: path.clone(),
        size,
    };
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
    let builder = ParquetRecordBatchStreamBuilder::new_with_options(reader, options).await;
    builder.map_err(|e| parquet_error(e, path.as_ref()))
}

/// The records of `path` (a cold segment of `size` bytes) from `offset` to the end of the
/// page holding it.
pub async fn read_window(
    objects: Arc<dyn ObjectStore>,
    path: &Path,
    size: u64,
    offset: Offset,
) -> Result<Window> {
    let builder = open(objects, path, size).await?;
    let target = i64::try_from(offset.0).unwrap_or(i64::MAX);
    let Some(at) = locate(builder.metadata(), OFFSET_COLUMN, target) else {
        return Ok(Window {
            end: None,
            records: Vec::new(),
        });
    };
    let next = at.next;
    let records = read_rows(builder, at, None, path).await?;
    let records = records.into_iter().filter(|(o, _)| *o >= offset).collect();
    Ok(Window { end: next, records })
}

/// The offset of the first record of `path` whose timestamp is at or after `ts_ms`, if any.
pub async fn first_offset_at(
    objects: Arc<dyn ObjectStore>,
    path: &Path,
    size: u64,
    ts_ms: i64,
) -> Result<Option<Offset>> {
    let builder = open(objects, path, size).await?;
    let target = ts_ms.saturating_mul(1000);
    let Some(at) = locate(builder.metadata(), TIMESTAMP_COLUMN, target) else {
        return Ok(None);
    };
    let leaves = [OFFSET_COLUMN, TIMESTAMP_COLUMN];
    let mask = ProjectionMask::leaves(builder.parquet_schema(), leaves);
    let records = read_rows(builder, at, Some(mask), path).await?;
    let hit = records.into_iter().find(|(_, r)| r.timestamp_ms >= ts_ms);
    Ok(hit.map(|(o, _)| o))
}

async fn read_rows(
    builder: Builder,
    at: Rows,
    mask: Option<ProjectionMask>,
    path: &Path,
) -> Result<Vec<(Offset, Record)>> {
    let selection = RowSelection::from(vec![
        RowSelector::skip(at.rows.start),
        RowSelector::select(at.rows.len()),
    ]);
    let builder = builder
        .with_row_groups(vec![at.row_group])
        .with_row_selection(selection)
        .with_batch_size(at.rows.len().max(1));
    let builder = match mask {
        Some(mask) => builder.with_projection(mask),
        None => builder,
    };
    let location = path.as_ref();
    let stream = builder.build().map_err(|e| parquet_error(e, location))?;
    let batches: Vec<_> = stream
        .try_collect()
        .await
        .map_err(|e| parquet_error(e, location))?;
    let mut out = Vec::new();
    for batch in &batches {
        out.extend(records_of(batch, location)?);
    }
    Ok(out)
}

/// Finds the first row group whose `column` (an int64 leaf, sorted for `offset`) reaches
/// `target`, and in it the first page that does (the whole row group without a page index).
fn locate(meta: &ParquetMetaData, column: usize, target: i64) -> Option<Rows> {
    let groups = meta.row_groups();
    let reaches = |rg: usize| int64_stat(meta, rg, column, false).is_some_and(|max| max >= target);
    let row_group = (0..groups.len()).find(|&rg| reaches(rg))?;
    let group_rows = groups[row_group].num_rows() as usize;
    let next_group = (row_group + 1 < groups.len())
        .then(|| int64_stat(meta, row_group + 1, OFFSET_COLUMN, true))
        .flatten();
    let index = meta.page_index_for_row_group(row_group);
    let pages = index.offset_index(column).map(|o| o.page_locations());
    let maxima = match index.column_index(column) {
        Some(ColumnIndexMetaData::INT64(c)) => Some(c),
        _ => None,
    };
    let (Some(pages), Some(maxima)) = (pages, maxima) else {
        let rows = 0..group_rows;
        return Some(Rows {
            row_group,
            rows,
            next: next_group.map(to_offset),
        });
    };
    let page = (0..pages.len()).find(|&p| maxima.max_value(p).is_some_and(|m| *m >= target))?;
    let start = pages[page].first_row_index as usize;
    let end = pages
        .get(page + 1)
        .map_or(group_rows, |p| p.first_row_index as usize);
    // Pages of `column` need not line up with those of `offset`: the next row's offset is
    // read from the offset column's page index when they do, else from the next row group.
    let offsets = index
        .offset_index(OFFSET_COLUMN)
        .map(|o| o.page_locations());
    let offset_mins = match index.column_index(OFFSET_COLUMN) {
        Some(ColumnIndexMetaData::INT64(c)) => Some(c),
        _ => None,
    };
    let next_in_group = offsets.zip(offset_mins).and_then(|(locations, mins)| {
        let at = locations
            .iter()
            .position(|l| l.first_row_index as usize == end)?;
        mins.min_value(at).copied()
    });
    let (end, next) = match next_in_group {
        Some(next) if end < group_rows => (end, Some(next)),
        _ => (group_rows, next_group),
    };
    Some(Rows {
        row_group,
        rows: start..end,
        next: next.map(to_offset),
    })
}

fn int64_stat(meta: &ParquetMetaData, rg: usize, column: usize, min: bool) -> Option<i64> {
    match meta.row_group(rg).column(column).statistics()? {
        Statistics::Int64(s) if min => s.min_opt().copied(),
        Statistics::Int64(s) => s.max_opt().copied(),
        _ => None,
    }
}

fn to_offset(v: i64) -> Offset {
    Offset(v.max(0) as u64)
}
