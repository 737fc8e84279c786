//! Injected store faults on every call the write path makes: errors before and after the call
//! took effect, 412 and 409 after our own success, delays. Nothing acknowledged may be lost,
//! duplicated, moved or reordered, and nothing reported as not written may appear.

use std::sync::Arc;
use std::time::Duration;

use silt_core::store::Storage;
use silt_core::testing::{Call, Fault, FlakyStore, Rule};
use silt_writer::Writer;

use super::{produce_in_waves, quick, topic};
use crate::checker::{History, check};

/// The fault mix: every call type of the write path, every kind of fault.
pub(crate) fn write_path_faults() -> Vec<Rule> {
    let manifest = |fault, p| Rule::new(Call::PutUpdate, fault, p).on_keys("/manifest");
    vec![
        manifest(Fault::PreconditionAfter, 0.08),
        manifest(Fault::ConflictAfter, 0.04),
        manifest(Fault::ErrorAfter, 0.08),
        manifest(Fault::ErrorBefore, 0.08),
        manifest(Fault::Delay(Duration::from_millis(20)), 0.05),
        Rule::new(Call::Get, Fault::ErrorBefore, 0.08).on_keys("/manifest"),
        Rule::new(Call::PutOverwrite, Fault::ErrorBefore, 0.03).on_keys("/seg/"),
        Rule::new(Call::PutOverwrite, Fault::ErrorAfter, 0.03).on_keys("/seg/"),
        Rule::new(
            Call::PutOverwrite,
            Fault::Delay(Duration::from_millis(15)),
            0.05,
        )
        .on_keys("/seg/"),
    ]
}

/// Three writers on two partitions through a faulty store; the checker must find nothing.
pub async fn ambiguous_commits_lose_nothing(storage: Storage) {
    let flaky = FlakyStore::new(storage.objects.clone(), 7);
    let faulty = Storage::over(flaky.clone(), storage.keys.root().clone(), &storage.url);
    let name = topic(&faulty, "faults", 2).await;
    flaky.set_rules(write_path_faults());
    let mut tasks = Vec::new();
    for w in 0..3 {
        let writer = Arc::new(Writer::open(faulty.clone(), &name, quick()).await.unwrap());
        tasks.push(tokio::spawn(async move {
            produce_in_waves(writer, &format!("w{w}"), 300, None, 5).await
        }));
    }
    let mut history = History::default();
    for t in tasks {
        history.extend(t.await.unwrap());
    }
    flaky.set_rules(Vec::new());
    assert!(
        flaky.injected() > 20,
        "only {} faults injected",
        flaky.injected()
    );
    assert!(
        history.acked() > 300,
        "only {} of 900 acknowledged",
        history.acked()
    );
    let report = check(&storage, &name, &history).await;
    eprintln!(
        "faults: {} injected; {} of 900 acknowledged; {} read back; {}",
        flaky.injected(),
        history.acked(),
        report.read,
        history.summary()
    );
    report.assert_clean();
}
