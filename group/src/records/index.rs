//! A group's entry in the list of groups (`<root>/group-index/<group>`): created when the group
//! document is first written, deleted last when the group is. `silt group list` and the idle
//! group sweep read the list from here, on both stores (a DynamoDB table cannot list the groups'
//! partition keys without a scan).

use serde::{Deserialize, Serialize};

use silt_core::error::Result;
use silt_core::store::cas::CasKey;

use super::{Outcome, Record, Records, Stamp};

/// A group's entry in the list of groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Version and write id.
    #[serde(flatten)]
    pub stamp: Stamp,
    /// When the group was first joined (the joiner's clock; informational, and where the idle
    /// time of a group never used since starts).
    pub created_at_ms: i64,
}

impl Record for IndexEntry {
    const WHAT: &'static str = "group index entry";
    fn stamp(&self) -> &Stamp {
        &self.stamp
    }
    fn stamp_mut(&mut self) -> &mut Stamp {
        &mut self.stamp
    }
}

impl Records {
    /// Enters a group in the list of groups (`key`: `GroupKeys::index`); already listed is fine.
    pub(crate) async fn register(&self, key: &CasKey) -> Result<()> {
        let entry = IndexEntry {
            stamp: Stamp::default(),
            created_at_ms: self.clock.now_ms(),
        };
        match self.write(key, None, entry).await? {
            Outcome::Written(_) | Outcome::Lost(_) => Ok(()),
        }
    }
}
