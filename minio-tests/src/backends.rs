//! The backends a scenario runs on. Each call gives a fresh, empty store.

use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::path::Path;
use silt_core::store::Storage;
use tempfile::TempDir;

/// A store plus whatever must live as long as it (a temporary directory).
#[derive(Debug)]
pub struct Backend {
    /// The store.
    pub storage: Storage,
    _dir: Option<TempDir>,
}

/// A fresh `memory://` store.
pub fn memory() -> Backend {
    Backend {
        storage: Storage::over(Arc::new(InMemory::new()), Path::default(), "memory://"),
        _dir: None,
    }
}

/// A fresh `file://` store in a temporary directory.
pub async fn local() -> Backend {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("file://{}", dir.path().display());
    let storage = Storage::open(&url).await.expect("open local store");
    Backend {
        storage,
        _dir: Some(dir),
    }
}
