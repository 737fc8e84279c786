//! Topic configuration items: `pk = <namespace>/<prefix>/topics`, `sk = <topic name>`, the
//! configuration JSON in `doc`. Created with `attribute_not_exists`, replaced only when `doc`
//! is still the document read, listed with a consistent query.

use super::metered::{self, Metered};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoManifestStore;
use super::items::{Fields, Item, s};
use crate::error::Result;
use crate::ids::TopicName;
use crate::topic::TopicConfig;

impl DynamoManifestStore {
    pub(super) async fn put_topic(&self, config: &TopicConfig) -> Result<TopicConfig> {
        let item = self.topic_item_of(config);
        let read = async || self.get_topic(&config.name).await;
        self.put_new(item, config.clone(), read).await
    }

    pub(super) async fn get_topic(&self, name: &TopicName) -> Result<Option<TopicConfig>> {
        Ok(self.topic_item(name).await?.map(|(_, config)| config))
    }

    /// Replaces the topic item holding `current` with `next`, conditioned on the stored
    /// document being the one read.
    pub(super) async fn replace_topic_item(
        &self,
        current: &TopicConfig,
        next: &TopicConfig,
    ) -> Result<bool> {
        let Some((doc, stored)) = self.topic_item(&current.name).await? else {
            return Ok(false);
        };
        if &stored != current {
            return Ok(false);
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.topic_item_of(next)))
            .condition_expression("#doc = :read")
            .expression_attribute_names("#doc", "doc")
            .expression_attribute_values(":read", s(doc))
            .send()
            .metered(metered::PUT)
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(self.failed("PutItem", e)),
        }
    }

    /// A topic item: its stored document and the configuration it decodes to.
    async fn topic_item(&self, name: &TopicName) -> Result<Option<(String, TopicConfig)>> {
        let pk = self.keys.topics_pk(&self.namespace);
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .key("sk", s(name))
            .consistent_read(true)
            .send()
            .metered(metered::GET)
            .await
            .map_err(|e| self.failed("GetItem", e))?;
        let Some(item) = got.item else {
            return Ok(None);
        };
        let location = format!("{}/{name}", self.location(&pk));
        let fields = Fields {
            item: &item,
            location: &location,
        };
        let doc = fields.text("doc")?;
        let config = TopicConfig::decode(doc.as_bytes(), name, &location)?;
        Ok(Some((doc.to_string(), config)))
    }

    fn topic_item_of(&self, config: &TopicConfig) -> Item {
        let doc = String::from_utf8_lossy(&config.encode()).into_owned();
        Item::from([
            ("pk".to_string(), s(self.keys.topics_pk(&self.namespace))),
            ("sk".to_string(), s(&config.name)),
            ("doc".to_string(), AttributeValue::S(doc)),
        ])
    }

    pub(super) async fn topic_names(&self) -> Result<Vec<TopicName>> {
        let pk = self.keys.topics_pk(&self.namespace);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(&pk))
            .projection_expression("sk");
        let mut names: Vec<TopicName> = self
            .query_all(query)
            .await?
            .iter()
            .filter_map(|item| match item.get("sk") {
                Some(AttributeValue::S(name)) => TopicName::new(name).ok(),
                _ => None,
            })
            .collect();
        names.sort();
        Ok(names)
    }
}
