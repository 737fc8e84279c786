//! The CAS on `memory://`, with injected faults: every ambiguous outcome is decided by reading
//! back, never guessed.

use std::sync::Arc;
use std::time::Duration;

use object_store::memory::InMemory;

use super::*;
use crate::testing::{Call, Fault, FlakyStore, Rule};

/// Documents `"<write id>:<version>"`: ours when the write id matches, unchanged while the
/// version is the one conditioned on.
struct ById {
    write_id: &'static str,
    base: Option<&'static str>,
}

impl Witness for ById {
    fn seen(&self, stored: Option<&Versioned>) -> Result<Seen> {
        let Some(stored) = stored else {
            return Ok(match self.base {
                None => Seen::Unchanged,
                Some(_) => Seen::MovedOn,
            });
        };
        let text = std::str::from_utf8(&stored.body).unwrap();
        let (id, version) = text.split_once(':').unwrap();
        Ok(if id == self.write_id {
            Seen::Ours
        } else if Some(version) == self.base {
            Seen::Unchanged
        } else {
            Seen::MovedOn
        })
    }
}

fn key() -> CasKey {
    CasKey {
        scope: Path::from("groups/g"),
        name: "offsets/t/00000".into(),
    }
}

async fn put(
    store: &dyn CasStore,
    body: &'static str,
    condition: &Condition,
    witness: &ById,
) -> Written {
    let timeout = Duration::from_secs(5);
    write(
        store,
        &key(),
        Bytes::from(body),
        condition,
        witness,
        timeout,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn creates_and_replaces_only_on_their_condition() {
    let store = ObjectCas::new(Arc::new(InMemory::new()));
    let first = ById {
        write_id: "a",
        base: None,
    };
    let Written::Landed(v1) = put(&store, "a:1", &Condition::Absent, &first).await else {
        panic!("the first create lands");
    };
    let second = ById {
        write_id: "b",
        base: None,
    };
    let lost = put(&store, "b:1", &Condition::Absent, &second).await;
    assert!(matches!(lost, Written::Lost(Some(_))), "{lost:?}");

    let replace = ById {
        write_id: "c",
        base: Some("1"),
    };
    let matches = Condition::Matches(v1.clone());
    assert!(matches!(
        put(&store, "c:2", &matches, &replace).await,
        Written::Landed(_)
    ));
    let stale = ById {
        write_id: "d",
        base: Some("1"),
    };
    let lost = put(&store, "d:2", &matches, &stale).await;
    let Written::Lost(Some(now)) = lost else {
        panic!("a write on a stale version loses: {lost:?}");
    };
    assert_eq!(now.body.as_ref(), b"c:2");

    assert!(matches!(
        store.get_if_changed(&key(), &v1).await.unwrap(),
        Revalidated::Changed(_)
    ));
    assert!(matches!(
        store.get_if_changed(&key(), &now.version).await.unwrap(),
        Revalidated::Unchanged
    ));
    assert_eq!(
        store.list(&key().scope, "offsets/").await.unwrap(),
        ["offsets/t/00000"]
    );
    store.delete(&key()).await.unwrap();
    assert!(matches!(
        store.get_if_changed(&key(), &now.version).await.unwrap(),
        Revalidated::Gone
    ));
}

#[tokio::test]
async fn a_lost_answer_is_decided_by_reading_back() {
    for fault in [
        Fault::ErrorAfter,
        Fault::PreconditionAfter,
        Fault::ConflictAfter,
        Fault::ErrorBefore,
    ] {
        let flaky = FlakyStore::new(Arc::new(InMemory::new()), 7);
        let store = ObjectCas::new(flaky.clone());
        flaky.set_rules(vec![
            Rule::new(Call::PutCreate, fault, 1.0),
            Rule::new(Call::PutUpdate, fault, 0.5),
        ]);
        let create = ById {
            write_id: "a",
            base: None,
        };
        let written = write(
            &store,
            &key(),
            Bytes::from("a:1"),
            &Condition::Absent,
            &create,
            Duration::from_millis(200),
        )
        .await;
        match fault {
            // Never reaches the store: unknown until the deadline, then said so.
            Fault::ErrorBefore => {
                let err = written.unwrap_err();
                assert_eq!(err.kind(), crate::error::ErrorKind::Indeterminate, "{err}");
                assert!(
                    err.to_string().contains("groups/g/offsets/t/00000"),
                    "{err}"
                );
            }
            _ => assert!(
                matches!(written, Ok(Written::Landed(_))),
                "{fault:?}: {written:?}"
            ),
        }
        assert!(flaky.injected() >= 1);
    }
}
