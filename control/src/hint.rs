//! Small hint objects a job keeps next to what it works on, saying where its next run picks
//! up: GC's `orphans-swept` per partition (see `gc::sweep_hint`) and `mixed-swept` per topic
//! (see `gc::mixed_sweep`), and key compaction's `cleaned-to` (see `compact::checkpoint`). A
//! hint is only an optimisation and never what makes a delete or a removal safe: a missing,
//! damaged, oversized or foreign one is ignored (the job then starts from the beginning, as
//! without hints), and two runs at once may overwrite each other's (plain PUTs; each hint is
//! consistent on its own).

use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::Serialize;
use serde::de::DeserializeOwned;
use silt_core::error::{Error, Result};
use silt_core::store::Storage;

/// A hint larger than this is not one silt wrote: it is ignored unread.
const HINT_BYTES_MAX: u64 = 1024 * 1024;

/// The hint at `path`; `None` when there is none or it cannot be used. A storage error other
/// than "not found" is returned: the caller's run fails and the next one retries.
pub(crate) async fn read<T: DeserializeOwned>(storage: &Storage, path: &Path) -> Result<Option<T>> {
    let got = match storage.objects.get(path).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(Error::from(e)),
    };
    if got.meta.size > HINT_BYTES_MAX {
        let size = got.meta.size;
        tracing::warn!("ignoring the hint {path}: {size} bytes, over {HINT_BYTES_MAX}");
        return Ok(None);
    }
    let bytes = got.bytes().await?;
    match serde_json::from_slice(&bytes) {
        Ok(hint) => Ok(Some(hint)),
        Err(e) => {
            tracing::warn!("ignoring the damaged hint {path}: {e}");
            Ok(None)
        }
    }
}

/// Stores `hint` at `path`, replacing any.
pub(crate) async fn write<T: Serialize>(storage: &Storage, path: &Path, hint: &T) -> Result<()> {
    // Plain structs of numbers, ids and strings: serialising them cannot fail.
    let body = serde_json::to_vec(hint).expect("a hint serialises to JSON");
    storage.objects.put(path, body.into()).await?;
    Ok(())
}
