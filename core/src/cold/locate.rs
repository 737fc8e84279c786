//! Where in a cold segment an offset or a time is, from its statistics and page index alone:
//! the row group, and in it the page run, to read.

use std::ops::Range;

use parquet::file::metadata::ParquetMetaData;
use parquet::file::metadata::page_index::RowGroupPageIndex;
use parquet::file::page_index::column_index::{ColumnIndexMetaData, PrimitiveColumnIndex};
use parquet::file::page_index::offset_index::PageLocation;
use parquet::file::statistics::Statistics;

use super::schema::{OFFSET_COLUMN, VALUE_COLUMN};
use crate::ids::Offset;

/// The rows of the page of `column` that holds the first value at or above `target`.
pub(super) struct Rows {
    pub(super) row_group: usize,
    pub(super) rows: Range<usize>,
    /// The first offset after these rows, if the file has more.
    pub(super) next: Option<Offset>,
}

/// Finds the first row group whose `column` (an int64 leaf, sorted for `offset`) reaches
/// `target`, and in it the first page that does (the whole row group without a page index).
pub(super) fn locate(meta: &ParquetMetaData, column: usize, target: i64) -> Option<Rows> {
    let groups = meta.row_groups();
    let reaches = |rg: usize| int64_stat(meta, rg, column, false).is_some_and(|max| max >= target);
    let row_group = (0..groups.len()).find(|&rg| reaches(rg))?;
    let group_rows = usize::try_from(groups[row_group].num_rows()).unwrap_or(0);
    let next_group = (row_group + 1 < groups.len())
        .then(|| int64_stat(meta, row_group + 1, OFFSET_COLUMN, true))
        .flatten();
    let whole = Rows {
        row_group,
        rows: 0..group_rows,
        next: next_group.map(to_offset),
    };
    let index = meta.page_index_for_row_group(row_group);
    let Some((pages, stats)) = int64_pages(&index, column) else {
        return Some(whole);
    };
    let page = (0..pages.len()).find(|&p| stats.max_value(p).is_some_and(|m| *m >= target))?;
    let start = row_index(&pages[page]);
    let end = pages.get(page + 1).map_or(group_rows, row_index);
    // Pages of `column` need not line up with those of `offset`: the next row's offset is
    // read from the offset column's page index when they do, else from the next row group.
    let next_in_group = int64_pages(&index, OFFSET_COLUMN).and_then(|(locations, mins)| {
        let at = locations.iter().position(|l| row_index(l) == end)?;
        mins.min_value(at).copied()
    });
    match next_in_group {
        Some(next) if end < group_rows && start < end => Some(Rows {
            row_group,
            rows: start..end,
            next: Some(to_offset(next)),
        }),
        _ if start < group_rows => Some(Rows {
            rows: start..group_rows,
            ..whole
        }),
        _ => Some(whole),
    }
}

/// One past the last row of the `value` page holding `row`, if the page index says.
pub(super) fn value_page_end(
    meta: &ParquetMetaData,
    row_group: usize,
    row: usize,
) -> Option<usize> {
    let index = meta.page_index_for_row_group(row_group);
    let pages = index.offset_index(VALUE_COLUMN)?.page_locations();
    let next = pages.iter().find(|p| row_index(p) > row)?;
    Some(row_index(next))
}

/// The page locations and int64 page statistics of `column`, when both indexes agree.
fn int64_pages(
    index: &RowGroupPageIndex,
    column: usize,
) -> Option<(&[PageLocation], &PrimitiveColumnIndex<i64>)> {
    let pages = index.offset_index(column)?.page_locations();
    match index.column_index(column)? {
        ColumnIndexMetaData::INT64(stats) if stats.num_pages() as usize == pages.len() => {
            Some((pages, stats))
        }
        _ => None,
    }
}

fn row_index(page: &PageLocation) -> usize {
    usize::try_from(page.first_row_index).unwrap_or(0)
}

fn int64_stat(meta: &ParquetMetaData, rg: usize, column: usize, min: bool) -> Option<i64> {
    match meta.row_group(rg).columns().get(column)?.statistics()? {
        Statistics::Int64(s) if min => s.min_opt().copied(),
        Statistics::Int64(s) => s.max_opt().copied(),
        _ => None,
    }
}

fn to_offset(v: i64) -> Offset {
    Offset(v.max(0) as u64)
}
