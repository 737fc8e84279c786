//! Reads beyond the head: segment items by offset and by timestamp (queries on the sort key
//! `S#<base offset>`, strongly consistent so a just-committed segment is always found).

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;

use super::DynamoManifestStore;
use super::items::{Item, s};
use crate::error::Result;
use crate::ids::{Offset, PartitionId, TopicName};
use crate::keys::{Keys, SEGMENT_SK_PREFIX};
use crate::manifest::{Manifest, SegmentEntry};

/// Segment items read per query page when scanning forward.
const PAGE_ITEMS: i32 = 500;

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

    /// The first segment of `m` ending after `from` whose newest record is at or after `ts_ms`.
    pub(super) async fn query_reaching(
        &self,
        topic: &TopicName,
        p: PartitionId,
        m: &Manifest,
        ts_ms: i64,
        from: Offset,
    ) -> Result<Option<SegmentEntry>> {
        let start = self.holder_base(topic, p, from).await?.unwrap_or(from);
        let mut found = None;
        self.scan_segments(topic, p, m, start, PAGE_ITEMS, |e| {
            if e.end_offset() > from && e.max_ts >= ts_ms {
                found = Some(e);
            }
            found.is_none()
        })
        .await?;
        Ok(found)
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
