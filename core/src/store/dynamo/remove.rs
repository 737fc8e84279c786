//! GC of a deleted topic on DynamoDB: every item of a partition marked deleted (segment and
//! graveyard items first, the head last), so a run cut short leaves a head that still says
//! "deleted" and is finished by the next run. The head's delete is conditioned on it being
//! this incarnation's and marked deleted, so a re-created topic's partition is never touched.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoManifestStore;
use super::items::{Item, s};
use super::metered::{self, Metered};
use crate::error::Result;
use crate::ids::{PartitionId, TopicId, TopicName};
use crate::keys::HEAD_SK;

impl DynamoManifestStore {
    pub(super) async fn remove_partition_items(
        &self,
        topic: &TopicName,
        p: PartitionId,
        topic_id: TopicId,
    ) -> Result<u64> {
        let Some(head) = self.head(topic, p).await? else {
            return Ok(0);
        };
        if head.topic_id != topic_id || head.deleted_ms.is_none() {
            return Ok(0);
        }
        let pk = self.pk(topic, p);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(&pk))
            .projection_expression("sk");
        let mut removed = 0;
        for item in self.query_all(query).await? {
            let Some(AttributeValue::S(sk)) = item.get("sk") else {
                continue;
            };
            if sk != HEAD_SK {
                self.delete_item(&pk, sk, None).await?;
                removed += 1;
            }
        }
        self.delete_item(&pk, HEAD_SK, Some(topic_id)).await?;
        Ok(removed + 1)
    }

    /// Deletes one item; the head only while it is marked deleted and of `topic_id`.
    async fn delete_item(&self, pk: &str, sk: &str, head_of: Option<TopicId>) -> Result<()> {
        let key = Item::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))]);
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key));
        if let Some(id) = head_of {
            delete = delete
                .condition_expression("attribute_exists(#deleted) AND #topic_id = :id")
                .expression_attribute_names("#deleted", "deleted_ms")
                .expression_attribute_names("#topic_id", "topic_id")
                .expression_attribute_values(":id", s(id.0));
        }
        match delete.send().metered(metered::DELETE).await {
            Ok(_) => Ok(()),
            // Gone, or no longer the deleted incarnation's head: nothing of ours to remove.
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(()),
            Err(e) => Err(self.failed("DeleteItem", e)),
        }
    }
}
