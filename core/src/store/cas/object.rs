//! The compare-and-swap on an object store: a record is the object `<scope>/<name>`, created
//! with `PutMode::Create` (If-None-Match: *) and replaced with `PutMode::Update` (If-Match on
//! its ETag); a conditional read is a GET with If-None-Match. Any store that holds manifests
//! holds these (`file://` through `LocalCasStore`).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};

use super::{CasKey, CasStore, CasVersion, Condition, Revalidated, Versioned};
use crate::error::{Error, ErrorKind, Result};
use crate::store::WriteFailed;
use crate::store::bounded::document_body;

/// Records as objects of an object store.
#[derive(Debug, Clone)]
pub struct ObjectCas {
    objects: Arc<dyn ObjectStore>,
}

impl ObjectCas {
    /// Records in `objects`, which must honour `PutMode::Create` and `PutMode::Update`.
    pub fn new(objects: Arc<dyn ObjectStore>) -> ObjectCas {
        ObjectCas { objects }
    }

    fn path(key: &CasKey) -> Path {
        Path::from(format!("{}/{}", key.scope, key.name))
    }

    async fn get_with(&self, key: &CasKey, options: GetOptions) -> Result<Option<Versioned>> {
        let path = Self::path(key);
        let got = match self.objects.get_opts(&path, options).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let version = CasVersion {
            e_tag: got.meta.e_tag.clone(),
            object_version: got.meta.version.clone(),
        };
        let body = document_body(got, "group record", path.as_ref()).await?;
        Ok(Some(Versioned { body, version }))
    }
}

#[async_trait]
impl CasStore for ObjectCas {
    async fn get(&self, key: &CasKey) -> Result<Option<Versioned>> {
        self.get_with(key, GetOptions::default()).await
    }

    async fn get_if_changed(&self, key: &CasKey, known: &CasVersion) -> Result<Revalidated> {
        let options = GetOptions {
            if_none_match: known.e_tag.clone(),
            ..GetOptions::default()
        };
        match self.get_with(key, options).await {
            Err(Error::Store(e)) if matches!(*e, object_store::Error::NotModified { .. }) => {
                Ok(Revalidated::Unchanged)
            }
            Ok(Some(found)) if found.version == *known => Ok(Revalidated::Unchanged),
            Ok(Some(found)) => Ok(Revalidated::Changed(found)),
            Ok(None) => Ok(Revalidated::Gone),
            Err(e) => Err(e),
        }
    }

    async fn put_once(
        &self,
        key: &CasKey,
        body: Bytes,
        condition: &Condition,
    ) -> Result<Result<CasVersion, WriteFailed>> {
        let mode = match condition {
            Condition::Absent => PutMode::Create,
            Condition::Matches(v) => PutMode::Update(UpdateVersion {
                e_tag: v.e_tag.clone(),
                version: v.object_version.clone(),
            }),
        };
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        Ok(
            match self
                .objects
                .put_opts(&Self::path(key), body.into(), opts)
                .await
            {
                Ok(put) => Ok(CasVersion {
                    e_tag: put.e_tag,
                    object_version: put.version,
                }),
                Err(e) => Err(WriteFailed {
                    lost_race: matches!(
                        e,
                        object_store::Error::Precondition { .. }
                            | object_store::Error::AlreadyExists { .. }
                    ),
                    cause: e.to_string(),
                    refused: refused(e),
                }),
            },
        )
    }

    async fn delete(&self, key: &CasKey) -> Result<()> {
        match self.objects.delete(&Self::path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(&self, scope: &Path, prefix: &str) -> Result<Vec<String>> {
        let listed: Vec<_> = self.objects.list(Some(scope)).try_collect().await?;
        let scope_text = format!("{scope}/");
        let mut names: Vec<String> = listed
            .iter()
            .filter_map(|meta| meta.location.as_ref().strip_prefix(&scope_text))
            .filter(|name| name.starts_with(prefix))
            .map(str::to_string)
            .collect();
        names.sort();
        Ok(names)
    }

    fn location(&self, key: &CasKey) -> String {
        Self::path(key).to_string()
    }
}

/// A write the store refused for good: retrying cannot make it land.
fn refused(e: object_store::Error) -> Option<Error> {
    let e = Error::from(e);
    (e.kind() == ErrorKind::Config).then_some(e)
}
