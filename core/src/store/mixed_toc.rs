//! Reading a mixed object's table of contents (docs/design.md §19): which partitions it holds
//! a segment of, so GC's holder check knows whose manifests to ask, and the missing-manifest
//! guard (`missing`) whether a partition without folders of its own holds data. One suffix GET
//! reads the trailer and, for up to about 200 parts, the whole toc; a longer toc takes a
//! second GET of exactly its length.

use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore};

use crate::error::{Corruption, Error};
use crate::segment::MixedToc;

/// Bytes read from a mixed object's end at first: its toc for up to about 200 parts.
const TOC_SUFFIX_BYTES: u64 = 4096;

/// The toc of the mixed object at `path`: one suffix GET, a second when the toc is longer;
/// `None` when the object is not there.
pub async fn read_mixed_toc(
    objects: &dyn ObjectStore,
    path: &Path,
) -> Result<Option<MixedToc>, Error> {
    let mut n = TOC_SUFFIX_BYTES;
    for _ in 0..2 {
        let options = GetOptions {
            range: Some(GetRange::Suffix(n)),
            ..GetOptions::default()
        };
        let got = match objects.get_opts(path, options).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(Error::from(e)),
        };
        let size = got.meta.size;
        match MixedToc::parse(got.bytes().await?, size, path.as_ref())? {
            Ok(toc) => return Ok(Some(toc)),
            Err(needed) => n = needed,
        }
    }
    Err(Error::Corrupt(Corruption {
        what: "mixed object",
        location: path.to_string(),
        reason: "its toc length changed between two reads".into(),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail by panicking

    use std::sync::Arc;

    use bytes::Bytes;
    use object_store::memory::InMemory;
    use object_store::{ObjectStoreExt, PutPayload};
    use ulid::Ulid;

    use super::*;
    use crate::ids::{PartitionId, TopicId};
    use crate::segment::encode_mixed;
    use crate::store::Storage;

    fn storage() -> Storage {
        Storage::over(Arc::new(InMemory::new()), Path::default(), "memory://")
    }

    /// A mixed object of `parts` one-byte parts, stored at `path`.
    async fn put_mixed(storage: &Storage, path: &Path, parts: u32) -> MixedToc {
        let topic_id = TopicId(Ulid::from_parts(1, 1));
        let segments = (0..parts)
            .map(|p| (PartitionId(p), Bytes::from_static(b"s")))
            .collect();
        let (chunks, toc) = encode_mixed(topic_id, segments);
        let payload: PutPayload = chunks.into_iter().collect();
        storage.objects.put(path, payload).await.unwrap();
        toc
    }

    #[tokio::test]
    async fn the_toc_reads_back_in_one_get_or_two_and_a_missing_object_is_none() {
        let storage = storage();
        for parts in [1, 3, 1_000] {
            let path = Path::from(format!("mixed/{parts}.mix"));
            let toc = put_mixed(&storage, &path, parts).await;
            let read = read_mixed_toc(storage.objects.as_ref(), &path).await;
            assert_eq!(read.unwrap(), Some(toc));
        }
        let missing = Path::from("mixed/none.mix");
        let read = read_mixed_toc(storage.objects.as_ref(), &missing).await;
        assert_eq!(read.unwrap(), None);
    }
}
