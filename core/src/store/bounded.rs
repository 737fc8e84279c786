//! Whole-object reads of documents (manifests, index chunks, topic configurations) with their
//! size checked before the body is read: a damaged or foreign object that claims gigabytes is
//! refused by name instead of filling a job's memory.

use bytes::Bytes;
use object_store::GetResult;

use crate::error::{Corruption, Result};
use crate::limits::DOCUMENT_BYTES_MAX;

/// The body of `got`, a `what` read from `location`, if it is at most [`DOCUMENT_BYTES_MAX`].
pub(super) async fn document_body(
    got: GetResult,
    what: &'static str,
    location: &str,
) -> Result<Bytes> {
    let size = got.meta.size;
    if size > DOCUMENT_BYTES_MAX {
        let reason = format!("{size} bytes, more than the {DOCUMENT_BYTES_MAX} a {what} may hold");
        let location = location.to_string();
        return Err(Corruption {
            what,
            location,
            reason,
        }
        .into());
    }
    Ok(got.bytes().await?)
}

#[cfg(test)]
mod tests {
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;
    use object_store::path::Path;

    use super::*;
    use crate::error::ErrorKind;

    #[tokio::test]
    async fn a_document_over_the_limit_is_refused_before_its_body_is_read() {
        let store = InMemory::new();
        let path = Path::from("t/00000/manifest");
        let oversized = vec![b' '; DOCUMENT_BYTES_MAX as usize + 1];
        store.put(&path, oversized.into()).await.unwrap();
        let got = store.get(&path).await.unwrap();
        let err = document_body(got, "manifest", path.as_ref())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert!(err.to_string().contains("t/00000/manifest"), "{err}");
        assert!(err.to_string().contains("more than the"), "{err}");

        store
            .put(&path, Bytes::from_static(b"{}").into())
            .await
            .unwrap();
        let got = store.get(&path).await.unwrap();
        let body = document_body(got, "manifest", path.as_ref()).await.unwrap();
        assert_eq!(body.as_ref(), b"{}");
    }
}
