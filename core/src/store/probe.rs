//! The conditional-write capability probe (docs/design.md §6.1): some S3 emulators accept
//! `If-None-Match`/`If-Match` and ignore them, which would let two writers both "win" a commit.
//! Before silt keeps a manifest on a store, it checks the store refuses what it must refuse.

use bytes::Bytes;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::ids::ObjectId;
use crate::keys::Keys;

/// Writes and removes one scratch object under `<root>/_probe/`, failing with
/// [`Error::ConditionalWritesUnsupported`] naming the first check the store got wrong.
pub async fn probe_conditional_writes(
    objects: &dyn ObjectStore,
    keys: &Keys,
    url: &str,
) -> Result<()> {
    let path = keys.probe(ObjectId(SystemClock.new_ulid())); // a scratch name
    let unsupported = |check: &str| Error::ConditionalWritesUnsupported {
        url: url.to_string(),
        check: check.to_string(),
    };
    let put = |mode: PutMode, body: &'static str| {
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        objects.put_opts(&path, Bytes::from_static(body.as_bytes()).into(), opts)
    };
    let first = put(PutMode::Create, "1").await?;
    let outcome = async {
        match put(PutMode::Create, "2").await {
            Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(object_store::Error::NotImplemented { .. }) | Ok(_) => {
                return Err(unsupported(
                    "a second If-None-Match: * create of one key succeeded",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let stale = UpdateVersion {
            e_tag: Some("\"silt-probe-stale\"".into()),
            version: None,
        };
        match put(PutMode::Update(stale), "3").await {
            Err(object_store::Error::Precondition { .. }) => {}
            Err(object_store::Error::NotImplemented { .. }) | Ok(_) => {
                return Err(unsupported(
                    "an If-Match update with a stale ETag succeeded or is not supported",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let fresh = UpdateVersion {
            e_tag: first.e_tag.clone(),
            version: first.version.clone(),
        };
        put(PutMode::Update(fresh), "4").await.map_err(|e| {
            unsupported(&format!(
                "an If-Match update with the current ETag failed: {e}"
            ))
        })?;
        Ok(())
    }
    .await;
    // Best effort: a leftover probe object is harmless.
    let _ = objects.delete(&path).await;
    outcome
}
