//! Manifests in DynamoDB (`dynamodb://TABLE`, docs/design.md §6.3): a small head item per partition
//! and one item per segment (see `items`), changed only by `TransactWriteItems` conditioned on the
//! attributes each edit read (see `write`), and read with strongly consistent reads. The commit
//! loop is the one every store shares (`resolve`): after any failed or ambiguous write, a
//! consistent read of the head decides. Segments stay in the object store.
//!
//! One table serves many stores: item keys start with the store's namespace (`s3://bucket`)
//! and key prefix. The table's schema is [`TABLE_KEY_SCHEMA`]; `silt manifest init` creates it.

mod cas;
mod group;
#[cfg(feature = "test-util")]
pub(crate) mod item_codecs;
mod items;
mod lookup;
mod metered;
mod pack;
mod remove;
mod table;
mod topics;
mod upkeep;
mod verdict;
mod write;

pub use cas::DynamoCas;
pub use lookup::{LookupLimits, TIMESTAMP_LOOKUP_PAGES_MAX};
pub use table::TABLE_KEY_SCHEMA;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::missing::{check_topic_id, manifest_vanished};
use super::resolve::{COMMIT_RESOLVE_TIMEOUT, ConditionalWrite, WriteFailed, commit_with};
use super::{Committed, ManifestStore, Snapshot};
use crate::error::{Error, Result};
use crate::ids::{Offset, PartitionId, TopicId, TopicName};
use crate::keys::{HEAD_SK, Keys};
use crate::manifest::{Commit, Edit, Manifest, SegmentEntry, SegmentIndex, Tombstone};
use crate::topic::TopicConfig;
use group::{Grouper, Member, Outcome};
use items::{Item, s, snapshot};
use metered::Metered;

/// Manifests in a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoManifestStore {
    client: Client,
    table: String,
    namespace: String,
    keys: Keys,
    resolve_timeout: Duration,
    lookup: LookupLimits,
    /// Packs writers' appends into shared transactions; shared by clones, replaced with the
    /// client.
    grouper: Arc<Grouper>,
}

impl DynamoManifestStore {
    /// Manifests of the store `namespace` (such as `s3://bucket`) laid out by `keys`, in
    /// `table`, reached through `client`.
    pub fn new(client: Client, table: &str, namespace: &str, keys: Keys) -> DynamoManifestStore {
        DynamoManifestStore {
            grouper: Grouper::new(client.clone(), true),
            client,
            table: table.to_string(),
            namespace: namespace.to_string(),
            keys,
            resolve_timeout: COMMIT_RESOLVE_TIMEOUT,
            lookup: LookupLimits::default(),
        }
    }

    /// A client configured from the usual AWS chain (`AWS_REGION`, credentials,
    /// `AWS_ENDPOINT_URL_DYNAMODB` or `AWS_ENDPOINT_URL`), or `endpoint` when given.
    pub async fn client(endpoint: Option<&str>) -> Client {
        let shared = aws_config::load_from_env().await;
        let mut config = aws_sdk_dynamodb::config::Builder::from(&shared);
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint);
        }
        Client::from_conf(config.build())
    }

    /// The DynamoDB table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The same store with another key layout (another prefix of the same namespace).
    pub fn with_keys(mut self, keys: Keys) -> DynamoManifestStore {
        self.keys = keys;
        self
    }

    /// The same store with its client replaced (tests add fault-injecting interceptors).
    pub fn with_client(mut self, client: Client) -> DynamoManifestStore {
        self.grouper = Grouper::new(client.clone(), self.grouper.grouped());
        self.client = client;
        self
    }

    /// The same store with writers' appends to different partitions sharing transactions
    /// (`true`, the default; docs/design.md §19) or each sent alone (`false`).
    pub fn with_grouped_commits(mut self, grouped: bool) -> DynamoManifestStore {
        self.grouper = Grouper::new(self.client.clone(), grouped);
        self
    }

    /// The client it uses.
    pub fn client_ref(&self) -> &Client {
        &self.client
    }

    /// The partition key of a partition's items (its head has sort key [`HEAD_SK`]).
    pub fn pk(&self, topic: &TopicName, p: PartitionId) -> String {
        self.keys.partition_pk(&self.namespace, topic, p)
    }

    /// The error of a failed call: the missing table named as such, else what DynamoDB said.
    fn failed<E>(&self, operation: &'static str, e: SdkError<E>) -> Error
    where
        E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    {
        if e.code() == Some("ResourceNotFoundException") {
            return self.missing_table();
        }
        Error::Dynamo {
            operation,
            table: self.table.clone(),
            message: describe(&e),
            source: Some(Arc::new(e)),
        }
    }

    /// Reads a partition's head item, strongly consistent.
    async fn head_item(&self, pk: &str) -> Result<Option<Item>> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(HEAD_SK))
            .consistent_read(true)
            .send()
            .metered(metered::GET)
            .await
            .map_err(|e| self.failed("GetItem", e))?;
        Ok(got.item)
    }

    /// Reads a partition's head, strongly consistent.
    async fn head(&self, topic: &TopicName, p: PartitionId) -> Result<Option<Manifest>> {
        let pk = self.pk(topic, p);
        let item = self.head_item(&pk).await?;
        item.map(|item| items::manifest_of(&item, &self.location(&pk)))
            .transpose()
    }

    fn location(&self, pk: &str) -> String {
        format!("dynamodb://{}/{pk}", self.table)
    }

    /// Size in bytes of a partition's head item as DynamoDB counts it (names plus values),
    /// or `None` without one. The head must stay small however long the log grows.
    pub async fn head_item_bytes(
        &self,
        topic: &TopicName,
        p: PartitionId,
    ) -> Result<Option<usize>> {
        let item = self.head_item(&self.pk(topic, p)).await?;
        Ok(item.as_ref().map(items::item_bytes))
    }

    /// Puts `item` unless an item with its key exists. Returns `created` when the put took;
    /// otherwise (the key was taken, or the outcome is unknown) what `read` finds stored.
    async fn put_new<T>(
        &self,
        item: Item,
        created: T,
        read: impl AsyncFnOnce() -> Result<Option<T>>,
    ) -> Result<T> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .metered(metered::PUT)
            .await;
        let cause = match put {
            Ok(_) => return Ok(created),
            Err(e) if e.code() == Some("ResourceNotFoundException") => {
                return Err(self.failed("PutItem", e));
            }
            // Exists already, or possibly applied: what is there now decides.
            Err(e) => describe(&e),
        };
        match read().await? {
            Some(stored) => Ok(stored),
            None => Err(Error::Dynamo {
                operation: "PutItem",
                table: self.table.clone(),
                message: format!("{cause}, then not found by a consistent read; retry"),
                source: None,
            }),
        }
    }
}

/// What DynamoDB said (`Code: message`), or the whole error chain when it said nothing (a
/// timeout, a connection refused).
fn describe<E>(e: &SdkError<E>) -> String
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => DisplayErrorContext(e).to_string(),
    }
}

#[async_trait]
impl ConditionalWrite for DynamoManifestStore {
    async fn write_next(
        &self,
        topic: &TopicName,
        p: PartitionId,
        current: &Snapshot,
        mut next: Manifest,
        commit: &Commit,
    ) -> Result<Result<Snapshot, WriteFailed>> {
        let pk = self.pk(topic, p);
        let tx = write::transaction(&self.table, &pk, &current.manifest, &next, commit)?;
        let member = Member {
            pk,
            items: tx.items,
            token: tx.token,
        };
        let outcome = match commit.edit {
            Edit::Append(_) => self.grouper.join(member).await,
            _ => self.grouper.alone(member).await,
        };
        match outcome {
            Outcome::Applied => {
                next.segments.clear();
                next.graveyard.clear();
                Ok(Ok(snapshot(next)))
            }
            Outcome::Failed { failure, reasons } => {
                let reasons: Vec<Option<&str>> = reasons.iter().map(Option::as_deref).collect();
                let verdict = verdict::verdict(failure.code.as_deref(), &reasons, &commit.edit);
                self.judged(topic, p, current, &failure, verdict)
            }
        }
    }

    async fn read_current(&self, topic: &TopicName, p: PartitionId) -> Result<Option<Snapshot>> {
        Ok(self.head(topic, p).await?.map(snapshot))
    }

    fn could_still_land(&self, commit: &Commit, attempted: &Manifest, now: &Manifest) -> bool {
        write::could_still_land(commit, attempted, now)
    }
}

#[async_trait]
impl ManifestStore for DynamoManifestStore {
    async fn create(
        &self,
        topic: &TopicName,
        p: PartitionId,
        topic_id: TopicId,
    ) -> Result<Snapshot> {
        let mut manifest = Manifest::new(topic_id, p);
        manifest.index = SegmentIndex::External {
            segments: 0,
            bytes: 0,
        };
        let item = items::head_item(&self.pk(topic, p), &manifest);
        let read = async || self.read_current(topic, p).await;
        let existing = self.put_new(item, snapshot(manifest), read).await?;
        check_topic_id(topic, p, topic_id, &existing.manifest)?;
        Ok(existing)
    }

    fn commits_are_exact(&self) -> bool {
        false
    }

    fn segments_per_commit_max(&self) -> usize {
        crate::limits::DYNAMO_SEGMENTS_PER_COMMIT_MAX
    }

    fn manifest_location(&self, topic: &TopicName, p: PartitionId) -> String {
        self.location(&self.pk(topic, p))
    }

    async fn read(&self, topic: &TopicName, p: PartitionId) -> Result<Option<Snapshot>> {
        self.read_current(topic, p).await
    }

    async fn read_if_changed(
        &self,
        topic: &TopicName,
        p: PartitionId,
        known: &Snapshot,
    ) -> Result<Option<Snapshot>> {
        let version = known.manifest.version;
        match self.read_current(topic, p).await? {
            Some(s) => Ok(Some(s).filter(|s| s.manifest.version != version)),
            // Heads are never deleted: one read before and gone now is damage.
            None => Err(manifest_vanished(self, topic, p, known)),
        }
    }

    async fn commit(
        &self,
        topic: &TopicName,
        p: PartitionId,
        base: &Snapshot,
        commit: &Commit,
    ) -> Result<Committed> {
        commit_with(self, topic, p, base, commit, self.resolve_timeout).await
    }

    async fn segments_from(
        &self,
        topic: &TopicName,
        p: PartitionId,
        snapshot: &Snapshot,
        from: Offset,
        max: usize,
    ) -> Result<Vec<SegmentEntry>> {
        self.query_from(topic, p, &snapshot.manifest, from, max)
            .await
    }

    /// The graveyard lives in items of its own (the head holds none).
    async fn graveyard(
        &self,
        topic: &TopicName,
        p: PartitionId,
        _snapshot: &Snapshot,
    ) -> Result<Vec<Tombstone>> {
        self.query_graveyard(topic, p).await
    }

    async fn segment_at(
        &self,
        topic: &TopicName,
        p: PartitionId,
        snapshot: &Snapshot,
        offset: Offset,
    ) -> Result<Option<SegmentEntry>> {
        self.query_at(topic, p, &snapshot.manifest, offset).await
    }

    async fn first_segment_reaching(
        &self,
        topic: &TopicName,
        p: PartitionId,
        snapshot: &Snapshot,
        ts_ms: i64,
        from: Offset,
    ) -> Result<Option<SegmentEntry>> {
        self.query_reaching(topic, p, &snapshot.manifest, ts_ms, from)
            .await
    }

    async fn create_topic(&self, config: &TopicConfig) -> Result<TopicConfig> {
        self.put_topic(config).await
    }

    async fn read_topic(&self, name: &TopicName) -> Result<Option<TopicConfig>> {
        self.get_topic(name).await
    }

    async fn replace_topic(&self, current: &TopicConfig, next: &TopicConfig) -> Result<bool> {
        self.replace_topic_item(current, next).await
    }

    async fn list_topics(&self) -> Result<Vec<TopicName>> {
        self.topic_names().await
    }

    async fn remove_deleted(
        &self,
        topic: &TopicName,
        p: PartitionId,
        topic_id: TopicId,
    ) -> Result<u64> {
        self.remove_partition_items(topic, p, topic_id).await
    }
}
