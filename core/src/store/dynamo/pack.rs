//! The pure half of grouped commits (see `group`, docs/design.md §19): which queued commits the
//! next `TransactWriteItems` takes, what each member's share of a cancelled transaction's
//! reasons makes of it, and the group's idempotency token. No I/O, so each rule is tested on
//! plain values.

use super::verdict::{CANCELLED, fine};
use crate::limits::TRANSACTION_ITEMS_MAX;

/// A queued commit as packing sees it: its partition's key and how many items it writes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Queued<'a> {
    pub(super) pk: &'a str,
    pub(super) items: usize,
}

/// The positions in `queue` (ascending) of the commits the next transaction takes: the oldest
/// always (a commit fits a transaction alone), then, in queue order, each one that still fits
/// in [`TRANSACTION_ITEMS_MAX`] items and whose partition has no commit in it yet (a
/// transaction may not touch one item twice). The others wait for the next transaction, so a
/// commit waits at most as many transactions as there are commits ahead of it.
pub(super) fn pack(queue: &[Queued<'_>]) -> Vec<usize> {
    let mut taken: Vec<usize> = Vec::new();
    let mut items = 0;
    for (i, q) in queue.iter().enumerate() {
        let fits = taken.is_empty() || items + q.items <= TRANSACTION_ITEMS_MAX;
        if fits && !taken.iter().any(|&t| queue[t].pk == q.pk) {
            taken.push(i);
            items += q.items;
        }
    }
    taken
}

/// What becomes of one member of a transaction that failed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Fate<'a> {
    /// Told what a lone transaction would have been told, from these reasons of its own
    /// items (empty when DynamoDB gave none, or none that can be matched to the members).
    Alone(Vec<Option<&'a str>>),
    /// Its items were all fine and another member's were not: nothing of it was at fault, so
    /// it can be sent again without reading anything. Its own reasons, for when it is not.
    Innocent(Vec<Option<&'a str>>),
}

/// The fate of each member of a transaction that failed with error `code` and cancellation
/// `reasons` (one per item, in request order), its members writing `sizes` items each, in
/// order. Only a cancelled transaction whose reasons cover every item and blame some member
/// has innocents; any other failure (throttling, a server error, a timeout) leaves each
/// member to learn its outcome as a lone transaction would, by reading its head.
pub(super) fn fates<'a>(
    sizes: &[usize],
    code: Option<&str>,
    reasons: &'a [Option<String>],
) -> Vec<Fate<'a>> {
    let total: usize = sizes.iter().sum();
    if code != Some(CANCELLED) || reasons.len() != total {
        return sizes.iter().map(|_| Fate::Alone(Vec::new())).collect();
    }
    let mut shares = Vec::with_capacity(sizes.len());
    let mut start = 0;
    for &n in sizes {
        let share: Vec<Option<&str>> = reasons[start..start + n]
            .iter()
            .map(Option::as_deref)
            .collect();
        shares.push(share);
        start += n;
    }
    let innocent = |share: &[Option<&str>]| share.iter().all(|r| fine(*r));
    let blamed = shares.iter().any(|share| !innocent(share));
    shares
        .into_iter()
        .map(|share| match blamed && innocent(&share) {
            true => Fate::Innocent(share),
            false => Fate::Alone(share),
        })
        .collect()
}

/// The client request token of a transaction of members with `tokens` (in order): a member's
/// own token when alone, so a group of one is exactly the lone transaction; else a hash of
/// them all (32 hex digits, DynamoDB takes at most 36), so the same members resent in the same
/// order make the same request again, as an SDK retry does.
pub(super) fn group_token(tokens: &[&str]) -> String {
    if let [only] = tokens {
        return only.to_string();
    }
    let hash = |seed: u64| {
        let bytes = tokens.iter().flat_map(|t| t.bytes().chain([0u8]));
        bytes.fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        hash(0xcbf2_9ce4_8422_2325),
        hash(0x6c62_272e_07bb_0142)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pk: &str, items: usize) -> Queued<'_> {
        Queued { pk, items }
    }

    #[test]
    fn packs_oldest_first_one_commit_per_partition_within_the_item_limit() {
        let queue = [q("a", 2), q("b", 2), q("a", 2), q("c", 2)];
        assert_eq!(pack(&queue), vec![0, 1, 3], "the second of a waits");
        let queue = [q("a", 60), q("b", 50), q("c", 40), q("d", 1)];
        assert_eq!(pack(&queue), vec![0, 2], "first fit, 100 items at most");
        let queue = [q("a", 99), q("b", 1), q("c", 1)];
        assert_eq!(pack(&queue), vec![0, 1]);
        assert_eq!(pack(&[q("a", 100), q("b", 1)]), vec![0]);
        assert_eq!(pack(&[]), Vec::<usize>::new());
        let many: Vec<Queued<'_>> = ["p"; 60].iter().map(|p| q(p, 2)).collect();
        assert_eq!(pack(&many), vec![0], "all of one partition: one at a time");
        let names: Vec<String> = (0..60).map(|i| format!("p{i}")).collect();
        let many: Vec<Queued<'_>> = names.iter().map(|p| q(p, 2)).collect();
        assert_eq!(pack(&many), (0..50).collect::<Vec<_>>(), "50 of two items");
    }

    fn reasons(codes: &[Option<&str>]) -> Vec<Option<String>> {
        codes.iter().map(|c| c.map(String::from)).collect()
    }

    #[test]
    fn only_the_blamed_member_is_told_and_the_innocent_are_resent() {
        let check = Some("ConditionalCheckFailed");
        let got = reasons(&[Some("None"), None, check, None, None, None]);
        assert_eq!(
            fates(&[2, 2, 2], Some(CANCELLED), &got),
            vec![
                Fate::Innocent(vec![Some("None"), None]),
                Fate::Alone(vec![check, None]),
                Fate::Innocent(vec![None, None]),
            ]
        );
        let segment = reasons(&[None, None, None, check]);
        assert_eq!(
            fates(&[2, 2], Some(CANCELLED), &segment),
            vec![
                Fate::Innocent(vec![None, None]),
                Fate::Alone(vec![None, check])
            ]
        );
    }

    #[test]
    fn without_reasons_to_match_every_member_reads_as_a_lone_commit_would() {
        let alone = || vec![Fate::Alone(Vec::new()), Fate::Alone(Vec::new())];
        assert_eq!(fates(&[2, 3], Some(CANCELLED), &[]), alone(), "no reasons");
        let short = reasons(&[Some("ConditionalCheckFailed"), None]);
        assert_eq!(fates(&[2, 3], Some(CANCELLED), &short), alone());
        let five = reasons(&[Some("ConditionalCheckFailed"), None, None, None, None]);
        for other in [
            Some("ThrottlingException"),
            Some("InternalServerError"),
            None,
        ] {
            assert_eq!(fates(&[2, 3], other, &five), alone(), "{other:?}");
        }
        let none = reasons(&[None, None, Some("None")]);
        assert_eq!(
            fates(&[1, 2], Some(CANCELLED), &none),
            vec![
                Fate::Alone(vec![None]),
                Fate::Alone(vec![None, Some("None")])
            ],
            "nobody blamed: nobody is innocent either"
        );
    }

    #[test]
    fn a_group_token_is_deterministic_short_and_a_single_members_own() {
        assert_eq!(group_token(&["abc"]), "abc");
        let t = group_token(&["a", "b"]);
        assert_eq!(t.len(), 32);
        assert!(t.len() <= 36 && t.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(t, group_token(&["a", "b"]));
        assert_ne!(t, group_token(&["b", "a"]), "order matters");
        assert_ne!(group_token(&["ab", "c"]), group_token(&["a", "bc"]));
    }
}
