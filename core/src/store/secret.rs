//! The secret every agent of a store shares (`<root>/_agent/secret`): what seals the tokens an
//! agent hands to clients and another agent must trust later, such as Kinesis shard iterators.
//! The first agent to need it creates it with a conditional create; every other one, and every
//! later start, reads the one that won. Anyone who can read the store can read it: it proves
//! that a token came from an agent of this store and was not changed, not who holds it.

use bytes::Bytes;
use object_store::{ObjectStoreExt, PutMode, PutOptions};

use crate::error::{Corruption, Error, Result};
use crate::store::Storage;

/// Bytes of the shared secret.
pub const SECRET_BYTES: usize = 32;

impl Storage {
    /// The store's shared agent secret, created from `candidate` (fresh random bytes) if the
    /// store has none yet.
    pub async fn agent_secret(&self, candidate: [u8; SECRET_BYTES]) -> Result<[u8; SECRET_BYTES]> {
        let path = self.keys.agent_secret();
        let create = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let payload = Bytes::copy_from_slice(&candidate);
        match self.objects.put_opts(&path, payload.into(), create).await {
            Ok(_) => return Ok(candidate),
            // Another agent won (or our own earlier try did): use what is stored.
            Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let got = self.objects.get(&path).await?;
        if got.meta.size != SECRET_BYTES as u64 {
            return Err(damaged(&path, got.meta.size));
        }
        let stored = got.bytes().await?;
        <[u8; SECRET_BYTES]>::try_from(stored.as_ref())
            .map_err(|_| damaged(&path, stored.len() as u64))
    }
}

fn damaged(path: &object_store::path::Path, size: u64) -> Error {
    Corruption {
        what: "agent secret",
        location: path.to_string(),
        reason: format!("{size} bytes, not {SECRET_BYTES}"),
    }
    .into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[tokio::test]
    async fn the_first_secret_created_is_the_one_every_agent_uses() {
        let storage = Storage::open("memory://").await.unwrap();
        assert_eq!(storage.agent_secret([1; 32]).await.unwrap(), [1; 32]);
        assert_eq!(storage.agent_secret([2; 32]).await.unwrap(), [1; 32]);
    }

    #[tokio::test]
    async fn a_damaged_secret_is_refused_by_name() {
        let storage = Storage::open("memory://").await.unwrap();
        let path = storage.keys.agent_secret();
        storage.objects.put(&path, "short".into()).await.unwrap();
        let e = storage.agent_secret([1; 32]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert!(e.to_string().contains("agent secret"), "{e}");
    }
}
