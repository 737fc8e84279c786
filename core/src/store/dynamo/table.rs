//! The manifest table: created by `silt manifest init` (or the template in `infra/`), checked
//! when a store opens so a missing or foreign table fails at once with a clear error.

use super::metered::{self, Metered};
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
};

use super::DynamoManifestStore;
use crate::error::{Error, Result};

/// The key schema silt needs: `pk` (string, partition key) and `sk` (string, sort key).
pub const TABLE_KEY_SCHEMA: &str = "pk (S, HASH), sk (S, RANGE)";

/// How long `init` waits for a new table to become active.
const ACTIVE_WAIT: Duration = Duration::from_secs(120);

impl DynamoManifestStore {
    pub(super) fn missing_table(&self) -> Error {
        let table = &self.table;
        Error::ManifestTable {
            table: table.clone(),
            reason: format!(
                "it does not exist; create it with `silt --manifest dynamodb://{table} manifest init` or deploy infra/"
            ),
        }
    }

    /// Creates the table (on-demand billing, [`TABLE_KEY_SCHEMA`]) unless it exists, waits
    /// until it is active, and checks its schema. Returns true if it created the table.
    pub async fn init(&self) -> Result<bool> {
        let invalid = |e: aws_sdk_dynamodb::error::BuildError| Error::ManifestTable {
            table: self.table.clone(),
            reason: e.to_string(),
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(invalid)
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(invalid)
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(attribute("pk")?)
            .attribute_definitions(attribute("sk")?)
            .send()
            .metered(metered::CREATE_TABLE)
            .await;
        let created = match created {
            Ok(_) => true,
            Err(e) if e.code() == Some("ResourceInUseException") => false,
            Err(e) => return Err(self.failed("CreateTable", e)),
        };
        let started = tokio::time::Instant::now();
        while !self.check().await? {
            if started.elapsed() > ACTIVE_WAIT {
                return Err(Error::ManifestTable {
                    table: self.table.clone(),
                    reason: format!("not active after {} s", ACTIVE_WAIT.as_secs()),
                });
            }
            crate::clock::sleep(Duration::from_millis(500)).await;
        }
        Ok(created)
    }

    /// Checks that the table exists with [`TABLE_KEY_SCHEMA`]; false while it is not active yet.
    pub async fn check(&self) -> Result<bool> {
        let described = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .metered(metered::DESCRIBE_TABLE)
            .await;
        let table = match described {
            Ok(out) => match out.table {
                Some(table) => table,
                None => return Ok(false),
            },
            Err(e) => return Err(self.failed("DescribeTable", e)),
        };
        let schema: Vec<String> = table
            .key_schema()
            .iter()
            .map(|k| format!("{} {}", k.attribute_name(), k.key_type().as_str()))
            .collect();
        let types: Vec<String> = table
            .attribute_definitions()
            .iter()
            .map(|a| format!("{} {}", a.attribute_name(), a.attribute_type().as_str()))
            .collect();
        let key_ok = schema == ["pk HASH", "sk RANGE"];
        let types_ok = types
            .iter()
            .filter(|t| *t == "pk S" || *t == "sk S")
            .count()
            == 2;
        if !key_ok || !types_ok {
            return Err(Error::ManifestTable {
                table: self.table.clone(),
                reason: format!(
                    "its key schema is [{}] with types [{}]; silt needs {TABLE_KEY_SCHEMA}: use another table",
                    schema.join(", "),
                    types.join(", ")
                ),
            });
        }
        Ok(table.table_status() == Some(&TableStatus::Active))
    }
}
