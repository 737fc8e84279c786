//! Records ⇄ Arrow record batches in the cold-segment schema (see the module table).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, Int32Array, Int64Array, ListArray, RecordBatch, StringArray,
    StructArray, TimestampMicrosecondArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;

use super::corrupt;
use crate::error::Result;
use crate::ids::{Offset, PartitionId, TopicName};
use crate::record::{Header, Record};

/// Index of the `offset` column (a leaf, so also its Parquet column index).
pub(super) const OFFSET_COLUMN: usize = 2;
/// Index of the `timestamp` column.
pub(super) const TIMESTAMP_COLUMN: usize = 3;
/// Index of the `value` column (a leaf).
pub(super) const VALUE_COLUMN: usize = 5;
/// Leaf columns of the schema (`headers` has two).
pub(super) const LEAF_COLUMNS: usize = 8;

fn header_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Binary, false),
    ])
}

fn headers_item() -> Arc<Field> {
    Arc::new(Field::new(
        "element",
        DataType::Struct(header_fields()),
        false,
    ))
}

/// The Arrow schema of every cold segment.
pub fn arrow_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("topic", DataType::Utf8, false),
        Field::new("partition", DataType::Int32, false),
        Field::new("offset", DataType::Int64, false),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("key", DataType::Binary, true),
        Field::new("value", DataType::Binary, true),
        Field::new("headers", DataType::List(headers_item()), false),
    ]))
}

/// One batch of rows. Fails only on values Parquet cannot hold: an offset past `i64::MAX` or a
/// timestamp whose microseconds overflow an `i64` (beyond the year 294 000).
pub(super) fn batch_of(
    topic: &TopicName,
    partition: PartitionId,
    rows: &[(Offset, Record)],
    location: &str,
) -> Result<RecordBatch> {
    let out_of_range = |what: &str, offset: Offset| {
        corrupt(
            location,
            format!("the {what} at offset {offset} does not fit Parquet's int64"),
        )
    };
    let mut offsets = Vec::with_capacity(rows.len());
    let mut micros = Vec::with_capacity(rows.len());
    for (offset, r) in rows {
        offsets.push(i64::try_from(offset.0).map_err(|_| out_of_range("offset", *offset))?);
        let us = r.timestamp_ms.checked_mul(1000);
        micros.push(us.ok_or_else(|| out_of_range("timestamp", *offset))?);
    }
    fn bytes(b: &Option<Bytes>) -> Option<&[u8]> {
        b.as_deref()
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![topic.as_str(); rows.len()])),
        Arc::new(Int32Array::from(vec![partition.0 as i32; rows.len()])),
        Arc::new(Int64Array::from(offsets)),
        Arc::new(TimestampMicrosecondArray::from(micros).with_timezone("UTC")),
        Arc::new(BinaryArray::from_iter(
            rows.iter().map(|(_, r)| bytes(&r.key)),
        )),
        Arc::new(BinaryArray::from_iter(
            rows.iter().map(|(_, r)| bytes(&r.value)),
        )),
        Arc::new(headers_of(rows)),
    ];
    RecordBatch::try_new(arrow_schema(), columns).map_err(|e| corrupt(location, e.to_string()))
}

fn headers_of(rows: &[(Offset, Record)]) -> ListArray {
    let all = rows.iter().flat_map(|(_, r)| r.headers.iter());
    let keys: StringArray = all.clone().map(|h| Some(h.key.as_str())).collect();
    let values: BinaryArray = all.map(|h| Some(h.value.as_ref())).collect();
    let entries = StructArray::new(
        header_fields(),
        vec![Arc::new(keys), Arc::new(values)],
        None,
    );
    let lengths = rows.iter().map(|(_, r)| r.headers.len());
    ListArray::new(
        headers_item(),
        OffsetBuffer::from_lengths(lengths),
        Arc::new(entries),
        None,
    )
}

/// The records of a batch read back (any projection holding at least `offset` and
/// `timestamp`; missing columns read as empty), with their offsets.
pub(super) fn records_of(batch: &RecordBatch, location: &str) -> Result<Vec<(Offset, Record)>> {
    let column = |name: &str| batch.column_by_name(name);
    let wrong = |name: &str| corrupt(location, format!("column `{name}` has the wrong type"));
    let offsets = column("offset").and_then(|c| c.as_any().downcast_ref::<Int64Array>());
    let offsets = offsets.ok_or_else(|| wrong("offset"))?;
    let ts = column("timestamp");
    let ts = ts.and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>());
    let ts = ts.ok_or_else(|| wrong("timestamp"))?;
    let binary = |name: &str| match column(name) {
        None => Ok(None),
        Some(c) => c
            .as_any()
            .downcast_ref::<BinaryArray>()
            .map(Some)
            .ok_or_else(|| wrong(name)),
    };
    let (keys, values) = (binary("key")?, binary("value")?);
    let headers = match column("headers") {
        None => None,
        Some(c) => Some(HeaderColumn::of(c).ok_or_else(|| wrong("headers"))?),
    };
    let cell = |col: Option<&BinaryArray>, i: usize| {
        col.filter(|c| c.is_valid(i))
            .map(|c| Bytes::copy_from_slice(c.value(i)))
    };
    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let offset = u64::try_from(offsets.value(i)).map_err(|_| wrong("offset"))?;
        let record = Record {
            key: cell(keys, i),
            value: cell(values, i),
            timestamp_ms: ts.value(i).div_euclid(1000),
            headers: headers.as_ref().map(|h| h.row(i)).unwrap_or_default(),
        };
        out.push((Offset(offset), record));
    }
    Ok(out)
}

/// The `headers` column, taken apart once.
struct HeaderColumn<'a> {
    list: &'a ListArray,
    keys: &'a StringArray,
    values: &'a BinaryArray,
}

impl<'a> HeaderColumn<'a> {
    fn of(column: &'a ArrayRef) -> Option<HeaderColumn<'a>> {
        let list = column.as_any().downcast_ref::<ListArray>()?;
        let entries = list.values().as_any().downcast_ref::<StructArray>()?;
        let keys = entries.column(0).as_any().downcast_ref::<StringArray>()?;
        let values = entries.column(1).as_any().downcast_ref::<BinaryArray>()?;
        Some(HeaderColumn { list, keys, values })
    }

    fn row(&self, i: usize) -> Vec<Header> {
        let offsets = self.list.value_offsets();
        let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
        (start..end)
            .map(|j| Header {
                key: self.keys.value(j).to_string(),
                value: Bytes::copy_from_slice(self.values.value(j)),
            })
            .collect()
    }
}
