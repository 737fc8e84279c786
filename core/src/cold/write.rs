//! Writing one cold segment: records in offset order in, a Parquet file streamed to the object
//! store out (a multipart upload; about one row group is held in memory). On the way out every
//! page is checksummed, and the checksums and the trailer of format 2 are added (see
//! `integrity`).

use std::sync::Arc;

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use tokio::io::AsyncWriteExt;

use super::integrity::{PAGE_CRCS_KEY, encode_crcs, page_ranges, with_trailer};
use super::pages::PageScanner;
use super::schema::{OFFSET_COLUMN, arrow_schema, batch_of};
use super::tail::TAIL_BYTES_MAX;
use super::{ColdOptions, FORMAT_VERSION, PAGE_BYTES, parquet_error};
use crate::error::{Error, Result};
use crate::ids::{Day, ObjectId, Offset, PartitionId, TopicId, TopicName};
use crate::keys::Keys;
use crate::record::Record;

/// What a cold segment is: where it belongs, and the offsets it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColdFile {
    /// Topic name.
    pub topic: TopicName,
    /// Topic incarnation.
    pub topic_id: TopicId,
    /// Partition.
    pub partition: PartitionId,
    /// Object id (the file name's unique suffix).
    pub id: ObjectId,
    /// Its day folder.
    pub day: Day,
    /// First offset covered.
    pub first: Offset,
    /// Last offset covered.
    pub last: Offset,
}

impl ColdFile {
    /// Its object key.
    pub fn path(&self, keys: &Keys) -> Path {
        keys.cold_segment(
            &self.topic,
            self.partition,
            self.day,
            self.first,
            self.last,
            self.id,
        )
    }

    fn metadata(&self) -> Vec<KeyValue> {
        let kv = |k: &str, v: String| KeyValue::new(format!("silt.{k}"), v);
        vec![
            kv("format_version", FORMAT_VERSION.to_string()),
            kv("topic", self.topic.to_string()),
            kv("topic_id", self.topic_id.to_string()),
            kv("partition", self.partition.to_string()),
            kv("first_offset", self.first.to_string()),
            kv("last_offset", self.last.to_string()),
        ]
    }
}

/// Streams the records of one cold segment into its file.
pub struct ColdWriter {
    file: ColdFile,
    location: String,
    /// Encodes into memory; [`ColdWriter::upload`] moves what it wrote to `upload`.
    writer: ArrowWriter<Vec<u8>>,
    upload: BufWriter,
    /// Bytes moved to `upload` so far.
    uploaded: u64,
    pages: PageScanner,
    rows: Vec<(Offset, Record)>,
    /// The offset of the last record pushed.
    last: Option<Offset>,
    rows_bytes: usize,
    page_rows: usize,
}

impl std::fmt::Debug for ColdWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColdWriter")
            .field("file", &self.file)
            .finish()
    }
}

impl ColdWriter {
    /// Starts the file (nothing is visible until [`ColdWriter::finish`]).
    pub fn new(
        objects: Arc<dyn ObjectStore>,
        keys: &Keys,
        file: ColdFile,
        options: &ColdOptions,
    ) -> Result<ColdWriter> {
        let path = file.path(keys);
        let location = path.to_string();
        let zstd = ZstdLevel::try_new(3).map_err(|e| parquet_error(e, &location))?;
        let page_rows = options.page_rows.max(1);
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(zstd))
            .set_max_row_group_bytes(Some(options.row_group_bytes.max(1)))
            .set_max_row_group_row_count(None)
            .set_data_page_row_count_limit(page_rows)
            .set_write_batch_size(page_rows)
            .set_statistics_enabled(EnabledStatistics::Page)
            // Offsets and timestamps never repeat, keys and values may not: a dictionary
            // would add a page (up to 1 MiB) that every read of the column fetches; zstd
            // catches the repeats instead.
            .set_column_dictionary_enabled(ColumnPath::from("offset"), false)
            .set_column_dictionary_enabled(ColumnPath::from("timestamp"), false)
            .set_column_dictionary_enabled(ColumnPath::from("key"), false)
            .set_column_dictionary_enabled(ColumnPath::from("value"), false)
            // Min/max of opaque values prune nothing and weigh on the page index.
            .set_column_statistics_enabled(ColumnPath::from("value"), EnabledStatistics::None)
            .set_sorting_columns(Some(vec![SortingColumn {
                column_idx: OFFSET_COLUMN as i32,
                descending: false,
                nulls_first: false,
            }]))
            .set_key_value_metadata(Some(file.metadata()))
            .build();
        let upload = BufWriter::new(objects, path);
        let writer = ArrowWriter::try_new(Vec::new(), arrow_schema(), Some(props))
            .map_err(|e| parquet_error(e, &location))?;
        Ok(ColdWriter {
            file,
            location,
            writer,
            upload,
            uploaded: 0,
            pages: PageScanner::default(),
            rows: Vec::new(),
            last: None,
            rows_bytes: 0,
            page_rows,
        })
    }

    /// Adds the next record; offsets must increase and stay within the file's range.
    pub async fn push(&mut self, offset: Offset, record: Record) -> Result<()> {
        let out_of_order = self.last.is_some_and(|last| offset <= last);
        if offset < self.file.first || offset > self.file.last || out_of_order {
            // The caller's mistake (a bug in sealing), not a damaged file.
            return Err(Error::Internal {
                doing: "writing a cold segment",
                reason: format!(
                    "offset {offset} pushed out of order or outside the file's range {}..={} ({})",
                    self.file.first, self.file.last, self.location
                ),
                source: None,
            });
        }
        self.last = Some(offset);
        self.rows_bytes += record.payload_bytes();
        self.rows.push((offset, record));
        // A batch ends a page when it is full: by rows, or by bytes for large records (so a
        // read of one record never fetches a thousand large ones).
        if self.rows.len() >= self.page_rows || self.rows_bytes >= PAGE_BYTES {
            self.flush_rows().await?;
        }
        Ok(())
    }

    async fn flush_rows(&mut self) -> Result<()> {
        let rows = std::mem::take(&mut self.rows);
        self.rows_bytes = 0;
        let batch = batch_of(&self.file.topic, self.file.partition, &rows, &self.location)?;
        let groups = self.writer.flushed_row_groups().len();
        let written = self.writer.write(&batch);
        written.map_err(|e| parquet_error(e, &self.location))?;
        if self.writer.flushed_row_groups().len() != groups {
            self.upload().await?;
        }
        Ok(())
    }

    /// Moves what the Parquet writer encoded so far to the upload, checksumming its pages.
    async fn upload(&mut self) -> Result<()> {
        let bytes = std::mem::take(self.writer.inner_mut());
        let scanned = self.pages.scan(&bytes);
        scanned.map_err(|reason| self.internal(reason))?;
        self.uploaded += bytes.len() as u64;
        let put = self.upload.put(Bytes::from(bytes)).await;
        Ok(put?)
    }

    /// Writes the page checksums, the page index, the trailer and the footer, and completes
    /// the upload; returns the file's size in bytes.
    pub async fn finish(mut self) -> Result<u64> {
        if !self.rows.is_empty() {
            self.flush_rows().await?;
        }
        let location = self.location.clone();
        let flushed = self.writer.flush().and_then(|()| Ok(self.writer.sync()?));
        flushed.map_err(|e| parquet_error(e, &location))?;
        self.upload().await?;
        if self.uploaded != self.writer.bytes_written() as u64 {
            return Err(self.internal("bytes left behind in the Parquet writer".into()));
        }
        let tail = self.tail()?;
        let size = self.uploaded + tail.len() as u64;
        self.upload.put(Bytes::from(tail)).await?;
        let completed = self.upload.shutdown().await;
        completed.map_err(|e| {
            let store = "multipart upload";
            Error::from(object_store::Error::Generic {
                store,
                source: Box::new(e),
            })
        })?;
        Ok(size)
    }

    /// Once every page is uploaded: the page checksums into the footer, then the page index,
    /// the trailer and the footer as they end the file.
    fn tail(&mut self) -> Result<Vec<u8>> {
        let pages = std::mem::take(&mut self.pages).finish();
        let pages = pages.map_err(|reason| self.internal(reason))?;
        let crcs: Vec<u32> = pages.iter().map(|(_, crc)| *crc).collect();
        let kv = KeyValue::new(PAGE_CRCS_KEY.to_string(), encode_crcs(&crcs));
        self.writer.append_key_value_metadata(kv);
        let meta = self.writer.finish();
        let meta = meta.map_err(|e| parquet_error(e, &self.location))?;
        // What the reader will take from the footer must be what was written.
        let scanned: Vec<_> = pages.into_iter().map(|(range, _)| range).collect();
        if page_ranges(&meta, 4..self.uploaded).ok() != Some(scanned) {
            let reason = "the pages written differ from those the footer lists";
            return Err(self.internal(reason.into()));
        }
        let tail = std::mem::take(self.writer.inner_mut());
        let tail = with_trailer(&tail, self.uploaded).map_err(|reason| self.internal(reason))?;
        // Readers refuse a longer tail: better no file (the upload is never completed).
        if tail.len() as u64 > TAIL_BYTES_MAX {
            let reason = format!(
                "a tail of {} bytes, over readers' limit of {TAIL_BYTES_MAX}: seal fewer records \
                 per file",
                tail.len()
            );
            return Err(self.internal(reason));
        }
        Ok(tail)
    }

    fn internal(&self, reason: String) -> Error {
        Error::Internal {
            doing: "writing a cold segment",
            reason: format!("{reason} ({})", self.location),
            source: None,
        }
    }
}
