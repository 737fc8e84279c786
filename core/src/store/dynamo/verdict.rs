//! What a failed `TransactWriteItems` means for one commit in it (docs/design.md §6.3). A
//! commit's transaction is sent alone or with other partitions' commits (see `group`); either
//! way this decides, from the error's code and the commit's own share of the cancellation
//! reasons, what the commit loop (`resolve`) is told: a definite refusal, or "read the head and
//! decide". [`verdict`] is pure, tested on reason-code lists rather than SDK errors;
//! `judged` turns a verdict into what the commit loop is told.

use super::DynamoManifestStore;
use super::group::Failure;
use crate::error::{Corruption, Error, Rejection, Result};
use crate::ids::{PartitionId, TopicName};
use crate::manifest::Edit;
use crate::store::{Snapshot, WriteFailed};

/// The error code of a cancelled transaction.
pub(super) const CANCELLED: &str = "TransactionCanceledException";

/// What one commit's failed transaction says.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// No such table, or a request DynamoDB refused outright: definite, and sending again
    /// will not help.
    Refused,
    /// DynamoDB refused an item (too large, say); the reasons per item.
    Invalid(String),
    /// A job's segment items changed since it read them.
    Stale,
    /// The head's conditions held but a segment item already exists where the log ends: the
    /// head and its segment items disagree.
    SegmentExists,
    /// Not applied, or perhaps applied: read the head and decide. `lost_race` when the head's
    /// condition failed (another write got there first).
    ReadAndDecide { lost_race: bool },
}

/// The verdict on a commit of `edit` whose transaction failed with error `code`, given the
/// reason codes of the commit's own items (head first; empty when DynamoDB gave none).
pub(super) fn verdict(code: Option<&str>, reasons: &[Option<&str>], edit: &Edit) -> Verdict {
    let job = matches!(edit, Edit::Bury { .. } | Edit::Replace(_));
    match code {
        Some("ResourceNotFoundException" | "ValidationException") => Verdict::Refused,
        Some(CANCELLED) => match cancelled(reasons) {
            Cancelled::Invalid(reasons) => Verdict::Invalid(reasons),
            Cancelled::SegmentExists if job => Verdict::Stale,
            Cancelled::SegmentExists => Verdict::SegmentExists,
            Cancelled::LostRace => Verdict::ReadAndDecide { lost_race: true },
            Cancelled::Other => Verdict::ReadAndDecide { lost_race: false },
        },
        _ => Verdict::ReadAndDecide { lost_race: false },
    }
}

/// What a cancelled transaction says, from its reasons (one per item, the head's first).
#[derive(Debug, PartialEq, Eq)]
enum Cancelled {
    /// The head's condition failed, or another transaction held it (or no reasons were
    /// given): the head moved; read it and decide.
    LostRace,
    /// DynamoDB refused an item (too large, say): sending it again cannot help.
    Invalid(String),
    /// The head's conditions held but a segment item's condition failed.
    SegmentExists,
    /// Anything else (throttling): nothing applied; read and decide.
    Other,
}

/// Whether a reason code says the item's own part was fine (`None`, or "None").
pub(super) fn fine(code: Option<&str>) -> bool {
    matches!(code, None | Some("None"))
}

/// Classifies the reason codes of a cancelled transaction.
fn cancelled(codes: &[Option<&str>]) -> Cancelled {
    let codes: Vec<Option<&str>> = codes.iter().map(|c| c.filter(|c| !fine(Some(c)))).collect();
    if codes.contains(&Some("ValidationError")) {
        let codes: Vec<&str> = codes.iter().map(|c| c.unwrap_or("None")).collect();
        return Cancelled::Invalid(codes.join(", "));
    }
    match codes.split_first() {
        None | Some((Some("ConditionalCheckFailed" | "TransactionConflict"), _)) => {
            Cancelled::LostRace
        }
        Some((None, segments)) if segments.contains(&Some("ConditionalCheckFailed")) => {
            Cancelled::SegmentExists
        }
        Some(_) => Cancelled::Other,
    }
}

impl DynamoManifestStore {
    /// What the commit loop is told of a commit whose transaction failed with `failure`, by
    /// the `verdict` on the commit's own items.
    pub(super) fn judged(
        &self,
        topic: &TopicName,
        p: PartitionId,
        current: &Snapshot,
        failure: &Failure,
        verdict: Verdict,
    ) -> Result<Result<Snapshot, WriteFailed>> {
        let refused = |message: String| Error::Dynamo {
            operation: "TransactWriteItems",
            table: self.table.clone(),
            message,
            source: failure.source.clone(),
        };
        match verdict {
            Verdict::Refused if failure.code.as_deref() == Some("ResourceNotFoundException") => {
                Err(self.missing_table())
            }
            Verdict::Refused => Err(refused(failure.cause.clone())),
            Verdict::Invalid(reasons) => Err(refused(format!(
                "an item was refused (reasons per item: {reasons})"
            ))),
            Verdict::Stale => Err(Rejection::Stale {
                partition: p,
                what: "the segment items the job read".into(),
            }
            .into()),
            Verdict::SegmentExists => Err(Corruption {
                what: "DynamoDB manifest item",
                location: self.location(&self.pk(topic, p)),
                reason: format!(
                    "a segment item exists at the head's next offset {}",
                    current.manifest.next_offset
                ),
            }
            .into()),
            Verdict::ReadAndDecide { lost_race } => Ok(Err(WriteFailed {
                lost_race,
                cause: failure.cause.clone(),
                refused: None,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Append;

    const CHECK: &str = "ConditionalCheckFailed";

    fn append() -> Edit {
        Edit::Append(Append {
            segments: Vec::new(),
            leader_epoch: None,
            expect_next_offset: None,
            lease_until_ms: None,
            seal: None,
        })
    }

    #[test]
    fn cancellation_reasons_decide_what_to_do() {
        assert_eq!(cancelled(&[]), Cancelled::LostRace);
        assert_eq!(cancelled(&[Some(CHECK), None]), Cancelled::LostRace);
        assert_eq!(
            cancelled(&[Some("TransactionConflict"), Some("None")]),
            Cancelled::LostRace
        );
        assert_eq!(
            cancelled(&[Some("None"), None, Some(CHECK)]),
            Cancelled::SegmentExists
        );
        assert_eq!(
            cancelled(&[Some("ValidationError"), None]),
            Cancelled::Invalid("ValidationError, None".into())
        );
        assert_eq!(
            cancelled(&[Some("ThrottlingError"), None]),
            Cancelled::Other
        );
        assert_eq!(cancelled(&[Some("None"), None]), Cancelled::Other);
    }

    #[test]
    fn a_commit_is_told_what_its_own_reasons_say() {
        let lost = Verdict::ReadAndDecide { lost_race: true };
        let unknown = Verdict::ReadAndDecide { lost_race: false };
        let cancel = Some(CANCELLED);
        assert_eq!(verdict(cancel, &[Some(CHECK), None], &append()), lost);
        assert_eq!(verdict(cancel, &[], &append()), lost, "no reasons given");
        assert_eq!(
            verdict(cancel, &[None, Some(CHECK)], &append()),
            Verdict::SegmentExists
        );
        let bury = Edit::Bury {
            entries: Vec::new(),
        };
        assert_eq!(verdict(cancel, &[None, Some(CHECK)], &bury), Verdict::Stale);
        assert_eq!(
            verdict(cancel, &[Some("ValidationError")], &append()),
            Verdict::Invalid("ValidationError".into())
        );
        assert_eq!(verdict(cancel, &[Some("None"), None], &append()), unknown);
        for refused in ["ResourceNotFoundException", "ValidationException"] {
            assert_eq!(verdict(Some(refused), &[], &append()), Verdict::Refused);
        }
        for other in [
            Some("ThrottlingException"),
            Some("InternalServerError"),
            None,
        ] {
            assert_eq!(verdict(other, &[Some(CHECK)], &append()), unknown);
        }
    }
}
