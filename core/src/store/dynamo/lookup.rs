//! Reads beyond the head: segment items by offset and by timestamp (queries on the sort key
//! `S#<base offset>`, strongly consistent so a just-committed segment is always found).
//!
//! A lookup by timestamp is bounded: DynamoDB itself skips the items whose newest record is
//! older (a filter expression), the key condition stops at the manifest's next offset, and one
//! lookup reads at most [`TIMESTAMP_LOOKUP_PAGES_MAX`] pages (of up to 1 MB of items each, a
//! few thousand segments), then fails naming the limit rather than read on.

use super::metered::{self, Metered};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;

use super::DynamoManifestStore;
use super::items::{Item, n, s};
use crate::error::{InvalidInput, Result};
use crate::ids::{Offset, PartitionId, TopicName};
use crate::keys::{Keys, SEGMENT_SK_PREFIX};
use crate::manifest::{Manifest, SegmentEntry};

/// Segment items read per query page when scanning forward.
const PAGE_ITEMS: i32 = 500;

/// Pages of segment items one lookup by timestamp reads at most. A page holds up to 1 MB of
/// items read (about 5 000 segments), so a lookup reads at most about 64 MB.
pub const TIMESTAMP_LOOKUP_PAGES_MAX: usize = 64;

/// How much one lookup by timestamp may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupLimits {
    /// Query pages, at most.
    pub pages_max: usize,
    /// Items DynamoDB reads per page (`Limit`); `None`: as many as fit in 1 MB.
    pub items_per_page: Option<i32>,
}

impl Default for LookupLimits {
    fn default() -> Self {
        LookupLimits {
            pages_max: TIMESTAMP_LOOKUP_PAGES_MAX,
            items_per_page: None,
        }
    }
}

impl DynamoManifestStore {
    /// Up to `max` segments of `m`, from the one holding `from` (or the first after it).
    pub(super) async fn query_from(
        &self,
        topic: &TopicName,
        p: PartitionId,
        m: &Manifest,
        from: Offset,
        max: usize,
    ) -> Result<Vec<SegmentEntry>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let start = self.holder_base(topic, p, from).await?.unwrap_or(from);
        let mut out = Vec::new();
        let page = i32::try_from(max.saturating_add(1)).map_or(PAGE_ITEMS, |n| n.min(PAGE_ITEMS));
        self.scan_segments(topic, p, m, start, page, |e| {
            if e.end_offset() > from {
                out.push(e);
            }
            out.len() < max
        })
        .await?;
        Ok(out)
    }

    /// The first segment of `m` ending after `from` whose newest record is at or after `ts_ms`:
    /// DynamoDB filters out the older items, and the lookup reads at most `lookup.pages_max`
    /// pages of them.
    pub(super) async fn query_reaching(
        &self,
        topic: &TopicName,
        p: PartitionId,
        m: &Manifest,
        ts_ms: i64,
        from: Offset,
    ) -> Result<Option<SegmentEntry>> {
        let Some(last) = m.next_offset.0.checked_sub(1).map(Offset) else {
            return Ok(None); // no segment committed yet
        };
        let start = self.holder_base(topic, p, from).await?.unwrap_or(from);
        let pk = self.pk(topic, p);
        let location = self.location(&pk);
        let query = self
            .segment_query(&pk, Keys::segment_sk(start), Keys::segment_sk(last))
            .filter_expression("#max_ts >= :ts")
            .expression_attribute_names("#max_ts", "max_ts")
            .expression_attribute_values(":ts", n(ts_ms))
            .set_limit(self.lookup.items_per_page);
        let mut after: Option<Item> = None;
        for _ in 0..self.lookup.pages_max {
            let page = query
                .clone()
                .set_exclusive_start_key(after.take())
                .send()
                .metered(metered::QUERY)
                .await
                .map_err(|e| self.failed("Query", e))?;
            for item in page.items.unwrap_or_default() {
                let e = super::items::segment_of(&item, &location)?;
                if e.end_offset() > from && e.max_ts >= ts_ms {
                    return Ok(Some(e));
                }
            }
            match page.last_evaluated_key {
                Some(key) => after = Some(key),
                None => return Ok(None),
            }
        }
        Err(InvalidInput::TimestampLookupTooLong {
            ts_ms,
            location,
            pages: self.lookup.pages_max,
        }
        .into())
    }

    /// The same store with lookups by timestamp bounded by `limits` (tests and tuning).
    pub fn with_lookup_limits(mut self, limits: LookupLimits) -> DynamoManifestStore {
        self.lookup = limits;
        self
    }

    /// The segment of `m` holding `offset`: one query, newest first from `offset` down.
    pub(super) async fn query_at(
        &self,
        topic: &TopicName,
        p: PartitionId,
        m: &Manifest,
        offset: Offset,
    ) -> Result<Option<SegmentEntry>> {
        let last = self.last_starting_at_or_before(topic, p, offset).await?;
        Ok(last.filter(|e| e.end_offset() > offset && e.base_offset < m.next_offset))
    }

    async fn holder_base(
        &self,
        topic: &TopicName,
        p: PartitionId,
        offset: Offset,
    ) -> Result<Option<Offset>> {
        let last = self.last_starting_at_or_before(topic, p, offset).await?;
        Ok(last.map(|e| e.base_offset))
    }

    /// The last segment starting at or before `offset`.
    async fn last_starting_at_or_before(
        &self,
        topic: &TopicName,
        p: PartitionId,
        offset: Offset,
    ) -> Result<Option<SegmentEntry>> {
        let pk = self.pk(topic, p);
        let page = self
            .segment_query(&pk, SEGMENT_SK_PREFIX.into(), Keys::segment_sk(offset))
            .scan_index_forward(false)
            .limit(1)
            .send()
            .metered(metered::QUERY)
            .await
            .map_err(|e| self.failed("Query", e))?;
        let location = self.location(&pk);
        let first = page.items.unwrap_or_default().into_iter().next();
        first
            .map(|item| super::items::segment_of(&item, &location))
            .transpose()
    }

    /// Every item `query` finds, following its pages (strongly consistent).
    pub(super) async fn query_all(&self, query: QueryFluentBuilder) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut after: Option<Item> = None;
        loop {
            let page = query
                .clone()
                .consistent_read(true)
                .set_exclusive_start_key(after.take())
                .send()
                .metered(metered::QUERY)
                .await
                .map_err(|e| self.failed("Query", e))?;
            items.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) => after = Some(key),
                None => return Ok(items),
            }
        }
    }

    /// A consistent query of the segment items of `pk` with sort keys in `lo..=hi`.
    fn segment_query(&self, pk: &str, lo: String, hi: String) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":lo", s(lo))
            .expression_attribute_values(":hi", s(hi))
            .consistent_read(true)
    }

    /// Calls `visit` on each segment of `m` from base offset `start` on, in offset order,
    /// until it returns false or the segments end (those committed after `m` are not visited).
    async fn scan_segments(
        &self,
        topic: &TopicName,
        p: PartitionId,
        m: &Manifest,
        start: Offset,
        page_items: i32,
        mut visit: impl FnMut(SegmentEntry) -> bool,
    ) -> Result<()> {
        let pk = self.pk(topic, p);
        let location = self.location(&pk);
        let mut after: Option<Item> = None;
        loop {
            let (lo, hi) = (Keys::segment_sk(start), Keys::segment_sk(Offset(u64::MAX)));
            let page = self
                .segment_query(&pk, lo, hi)
                .limit(page_items)
                .set_exclusive_start_key(after.take())
                .send()
                .metered(metered::QUERY)
                .await
                .map_err(|e| self.failed("Query", e))?;
            for item in page.items.unwrap_or_default() {
                let e = super::items::segment_of(&item, &location)?;
                if e.base_offset >= m.next_offset || !visit(e) {
                    return Ok(());
                }
            }
            match page.last_evaluated_key {
                Some(key) => after = Some(key),
                None => return Ok(()),
            }
        }
    }
}
