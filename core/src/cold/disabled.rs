//! Cold segments in a build without the `cold` feature (no arrow, no parquet). A reader that
//! meets a sealed offset gets [`Error::FeatureDisabled`] naming the file, never records
//! skipped or the end of the log. The types mirror those of `read`, so the reader's code is
//! the same in both builds.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path;

use crate::error::{Error, Result};
use crate::ids::{Offset, PartitionId, TopicId};
use crate::record::Record;

/// The topic incarnation and partition a file must belong to.
pub type Owner = (TopicId, PartitionId);

/// The records of one page run, from some offset on.
#[derive(Debug)]
pub struct Window {
    /// The offset of the first row after the window; `None` when the file ends there.
    pub end: Option<Offset>,
    /// The records from the offset asked for to `end`, in offset order.
    pub records: Vec<(Offset, Record)>,
}

/// A cold segment opened for reading: never, in this build.
#[derive(Debug)]
pub struct ColdReader {
    never: std::convert::Infallible,
}

impl ColdReader {
    /// Refuses: this build cannot read cold segments.
    pub async fn open(
        _objects: Arc<dyn ObjectStore>,
        path: &Path,
        _size: u64,
        _owner: Owner,
    ) -> Result<ColdReader> {
        Err(unsupported(path))
    }

    /// The file it reads.
    pub fn path(&self) -> &Path {
        match self.never {}
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        match self.never {}
    }

    /// The records from `offset` on.
    pub async fn read_window(&self, _offset: Offset) -> Result<Window> {
        match self.never {}
    }

    /// The offset of the first record at or after `ts_ms`.
    pub async fn first_offset_at(&self, _ts_ms: i64) -> Result<Option<Offset>> {
        match self.never {}
    }
}

/// Refuses: this build cannot read cold segments.
pub async fn read_window(
    _objects: Arc<dyn ObjectStore>,
    path: &Path,
    _size: u64,
    _owner: Owner,
    _offset: Offset,
) -> Result<Window> {
    Err(unsupported(path))
}

/// Refuses: this build cannot read cold segments.
pub async fn first_offset_at(
    _objects: Arc<dyn ObjectStore>,
    path: &Path,
    _size: u64,
    _owner: Owner,
    _ts_ms: i64,
) -> Result<Option<Offset>> {
    Err(unsupported(path))
}

fn unsupported(path: &Path) -> Error {
    Error::FeatureDisabled {
        feature: "cold",
        what: format!("reading the cold segment {path}"),
    }
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;
    use ulid::Ulid;

    use super::*;

    #[tokio::test]
    async fn a_sealed_offset_is_a_typed_error_naming_the_feature() {
        let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let path = Path::from("tables/topic=t/partition=0/dt=2026-01-01/x.parquet");
        let owner = (TopicId(Ulid::from_parts(1, 1)), PartitionId(0));
        let read = read_window(objects.clone(), &path, 10, owner, Offset(3)).await;
        let Err(Error::FeatureDisabled { feature, what }) = read else {
            panic!("expected FeatureDisabled, got {read:?}");
        };
        assert_eq!(feature, "cold");
        assert!(what.contains("x.parquet"), "{what}");
        let at = first_offset_at(objects, &path, 10, owner, 0).await;
        assert!(matches!(at, Err(Error::FeatureDisabled { .. })), "{at:?}");
    }
}
