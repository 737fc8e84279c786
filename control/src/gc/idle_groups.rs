//! GC's last step: consumer groups with no members whose last commit and last membership
//! change are older than `group_idle_ms` are deleted (`silt_group::admin::GroupAdmin::
//! delete_idle`), so abandoned groups do not keep their offsets forever.

use std::time::Duration;

use silt_core::store::Storage;
use silt_group::admin::GroupAdmin;

use super::{GcOptions, GcReport};

/// Deletes the idle groups (in a dry run: counts them); a failure is reported, not fatal.
pub(super) async fn sweep(storage: &Storage, options: &GcOptions, report: &mut GcReport) {
    let idle = Duration::from_millis(u64::try_from(options.group_idle_ms).unwrap_or(0));
    match GroupAdmin::new(storage)
        .delete_idle(idle, options.dry_run)
        .await
    {
        Ok(groups) => report.groups_deleted = groups.len() as u64,
        Err(e) => report.failed.push(format!("consumer groups: {e}")),
    }
}
