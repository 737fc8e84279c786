//! The compare-and-swap on DynamoDB (`crate::store::cas`): a record is an item of the manifest
//! table with `pk = <namespace>/<scope>`, `sk = <name>`, the document in `doc` and a fresh
//! version in `v` (a ULID per write, so a version never comes back). Created with
//! `attribute_not_exists(pk)`, replaced with `v = :v`, read with consistent reads (DynamoDB
//! has no conditional GET: a revalidation is a read compared by `v`).

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use object_store::path::Path;

use super::DynamoManifestStore;
use super::items::{Fields, Item, s};
use super::metered::{self, Metered};
use crate::clock::Clock;
use crate::error::{Corruption, Error, Result};
use crate::keys::Keys;
use crate::store::WriteFailed;
use crate::store::cas::{CasKey, CasStore, CasVersion, Condition, Revalidated, Versioned};

/// Records as items of the DynamoDB manifest table.
#[derive(Debug, Clone)]
pub struct DynamoCas {
    table: DynamoManifestStore,
    clock: Arc<dyn Clock>,
}

impl DynamoCas {
    /// Records in the table (and namespace) of `table`; versions are ULIDs from `clock`.
    pub fn new(table: DynamoManifestStore, clock: Arc<dyn Clock>) -> DynamoCas {
        DynamoCas { table, clock }
    }

    fn pk(&self, scope: &Path) -> String {
        Keys::scope_pk(&self.table.namespace, scope)
    }

    fn versioned(&self, key: &CasKey, item: &Item) -> Result<Versioned> {
        let location = self.location(key);
        let fields = Fields {
            item,
            location: &location,
        };
        let body = Bytes::from(fields.text("doc")?.to_string());
        let version = CasVersion {
            e_tag: Some(fields.text("v")?.to_string()),
            object_version: None,
        };
        Ok(Versioned { body, version })
    }
}

#[async_trait]
impl CasStore for DynamoCas {
    async fn get(&self, key: &CasKey) -> Result<Option<Versioned>> {
        let got = self
            .table
            .client
            .get_item()
            .table_name(&self.table.table)
            .key("pk", s(self.pk(&key.scope)))
            .key("sk", s(&key.name))
            .consistent_read(true)
            .send()
            .metered(metered::GET)
            .await
            .map_err(|e| self.table.failed("GetItem", e))?;
        got.item.map(|item| self.versioned(key, &item)).transpose()
    }

    async fn get_if_changed(&self, key: &CasKey, known: &CasVersion) -> Result<Revalidated> {
        Ok(match self.get(key).await? {
            Some(found) if found.version == *known => Revalidated::Unchanged,
            Some(found) => Revalidated::Changed(found),
            None => Revalidated::Gone,
        })
    }

    async fn put_once(
        &self,
        key: &CasKey,
        body: Bytes,
        condition: &Condition,
    ) -> Result<Result<CasVersion, WriteFailed>> {
        let doc = String::from_utf8(body.to_vec()).map_err(|e| {
            Error::from(Corruption {
                what: "group record",
                location: self.location(key),
                reason: format!("not UTF-8 text: {e}"),
            })
        })?;
        let version = self.clock.new_ulid().to_string();
        let item = Item::from([
            ("pk".to_string(), s(self.pk(&key.scope))),
            ("sk".to_string(), s(&key.name)),
            ("doc".to_string(), AttributeValue::S(doc)),
            ("v".to_string(), s(&version)),
        ]);
        let put = self
            .table
            .client
            .put_item()
            .table_name(&self.table.table)
            .set_item(Some(item));
        let put = match condition {
            Condition::Absent => put.condition_expression("attribute_not_exists(pk)"),
            Condition::Matches(known) => put
                .condition_expression("v = :v")
                .expression_attribute_values(":v", s(known.e_tag.clone().unwrap_or_default())),
        };
        let sent = put.send().metered(metered::PUT).await;
        let e = match sent {
            Ok(_) => {
                return Ok(Ok(CasVersion {
                    e_tag: Some(version),
                    object_version: None,
                }));
            }
            Err(e) => e,
        };
        match e.code() {
            Some("ResourceNotFoundException" | "ValidationException") => {
                Err(self.table.failed("PutItem", e))
            }
            code => {
                let refused =
                    matches!(code, Some("AccessDeniedException")).then(|| Error::Dynamo {
                        operation: "PutItem",
                        table: self.table.table.clone(),
                        message: super::describe(&e),
                        source: None,
                    });
                Ok(Err(WriteFailed {
                    lost_race: code == Some("ConditionalCheckFailedException"),
                    cause: super::describe(&e),
                    refused,
                }))
            }
        }
    }

    async fn delete(&self, key: &CasKey) -> Result<()> {
        self.table
            .client
            .delete_item()
            .table_name(&self.table.table)
            .key("pk", s(self.pk(&key.scope)))
            .key("sk", s(&key.name))
            .send()
            .metered(metered::DELETE)
            .await
            .map_err(|e| self.table.failed("DeleteItem", e))?;
        Ok(())
    }

    async fn list(&self, scope: &Path, prefix: &str) -> Result<Vec<String>> {
        let query = self
            .table
            .client
            .query()
            .table_name(&self.table.table)
            .expression_attribute_values(":pk", s(self.pk(scope)))
            .projection_expression("sk");
        // DynamoDB refuses an empty string in a key condition: no prefix, no begins_with.
        let query = match prefix {
            "" => query.key_condition_expression("pk = :pk"),
            _ => query
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", s(prefix)),
        };
        let mut names: Vec<String> = self
            .table
            .query_all(query)
            .await?
            .iter()
            .filter_map(|item| match item.get("sk") {
                Some(AttributeValue::S(name)) => Some(name.clone()),
                _ => None,
            })
            .collect();
        names.sort();
        Ok(names)
    }

    fn location(&self, key: &CasKey) -> String {
        format!(
            "dynamodb://{}/{} {}",
            self.table.table,
            self.pk(&key.scope),
            key.name
        )
    }
}
