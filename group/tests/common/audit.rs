//! Records every lease write the store accepted, in the order it accepted them: the history
//! the simulation checks its invariants on. It observes the fault injector's inner store, so
//! a write whose answer was lost is recorded too.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use silt_core::testing::FlakyStore;
use silt_group::records::Lease;

/// Accepted lease writes per key, in order.
pub(crate) type History = BTreeMap<String, Vec<Lease>>;

/// Starts recording the lease writes `store` accepts; read the history at the end.
pub(crate) fn audit_leases(store: &FlakyStore) -> Arc<Mutex<History>> {
    let history = Arc::new(Mutex::new(History::new()));
    let record = history.clone();
    store.observe_puts(move |location, body| {
        if location.as_ref().contains("/offsets/") {
            let lease: Lease = serde_json::from_slice(body).expect("a lease");
            let mut leases = record.lock().unwrap();
            leases.entry(location.to_string()).or_default().push(lease);
        }
    });
    history
}

/// Checks the lease invariants of docs/consumer-groups.md §2 on every key's history: epochs
/// never go down, one owner per epoch, the committed offset never goes backwards.
pub(crate) fn check_leases(history: &History) {
    // Checks over an empty history would pass whatever the leases did.
    assert!(
        history.values().any(|writes| writes.len() > 1),
        "the audit saw no lease changed: is it observing the store?"
    );
    for (key, writes) in history {
        let mut owners: BTreeMap<u64, Option<String>> = BTreeMap::new();
        for pair in writes.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(
                b.lease_epoch >= a.lease_epoch,
                "{key}: epoch went from {} to {}",
                a.lease_epoch,
                b.lease_epoch
            );
            assert!(
                b.offset >= a.offset,
                "{key}: offset went from {:?} to {:?} (epochs {} -> {})",
                a.offset,
                b.offset,
                a.lease_epoch,
                b.lease_epoch
            );
        }
        for w in writes {
            let owner = w.owner.as_ref().map(|o| o.member_id.0.clone());
            let first = owners.entry(w.lease_epoch).or_insert_with(|| owner.clone());
            assert_eq!(
                *first, owner,
                "{key}: two owners at epoch {}",
                w.lease_epoch
            );
        }
    }
}
