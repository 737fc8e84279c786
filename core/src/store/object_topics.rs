//! Topic configurations in object stores: `topics/<name>/topic.json`, created with a
//! conditional create, changed only with If-Match on the version read, listed by prefix.

use bytes::Bytes;
use object_store::{ObjectStoreExt, PutMode, PutOptions, UpdateVersion};

use super::ObjectManifestStore;
use super::bounded::document_body;
use crate::error::{Error, Result};
use crate::ids::TopicName;
use crate::topic::TopicConfig;

impl ObjectManifestStore {
    pub(super) async fn put_topic(&self, config: &TopicConfig) -> Result<TopicConfig> {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let path = self.keys.topic_config(&config.name);
        let body = Bytes::from(config.encode());
        match self.objects.put_opts(&path, body.into(), opts).await {
            Ok(_) => Ok(config.clone()),
            // Possibly our own retried create: the caller compares topic ids.
            Err(object_store::Error::AlreadyExists { .. }) => self
                .get_topic(&config.name)
                .await?
                .ok_or_else(|| Error::TopicExists(config.name.clone())),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn replace_topic_config(
        &self,
        current: &TopicConfig,
        next: &TopicConfig,
    ) -> Result<bool> {
        let Some((stored, version)) = self.topic_object(&current.name).await? else {
            return Ok(false);
        };
        if &stored != current {
            return Ok(false);
        }
        let opts = PutOptions {
            mode: PutMode::Update(version),
            ..PutOptions::default()
        };
        let path = self.keys.topic_config(&current.name);
        let body = Bytes::from(next.encode());
        match self.objects.put_opts(&path, body.into(), opts).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn get_topic(&self, name: &TopicName) -> Result<Option<TopicConfig>> {
        Ok(self.topic_object(name).await?.map(|(config, _)| config))
    }

    /// `topic.json` of `name`: the configuration and the version to condition a change on.
    async fn topic_object(&self, name: &TopicName) -> Result<Option<(TopicConfig, UpdateVersion)>> {
        let path = self.keys.topic_config(name);
        let got = match self.objects.get(&path).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let version = UpdateVersion {
            e_tag: got.meta.e_tag.clone(),
            version: got.meta.version.clone(),
        };
        let bytes = document_body(got, "topic config", path.as_ref()).await?;
        let config = TopicConfig::decode(&bytes, name, path.as_ref())?;
        Ok(Some((config, version)))
    }

    pub(super) async fn topic_names(&self) -> Result<Vec<TopicName>> {
        let listed = self
            .objects
            .list_with_delimiter(Some(&self.keys.topics()))
            .await?;
        let mut names: Vec<TopicName> = listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().and_then(|n| TopicName::new(n).ok()))
            .collect();
        names.sort();
        Ok(names)
    }
}
