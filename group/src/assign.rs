//! The target assignment (docs/consumer-groups.md §3): a pure function every member computes
//! the same way, so whoever writes a membership change writes the same target.
//!
//! Per topic (in name order), over the members subscribed to it (in id order): each gets
//! `n / m` partitions and the `n % m` extra ones go to the members with the lowest load so far,
//! then to those that held more of the topic before, then by id. Each member first keeps what
//! it held, up to its quota; the rest go in partition order to members still below quota. With
//! equal subscriptions every member ends within one partition of every other.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use silt_core::ids::TopicName;

use crate::ids::MemberId;
use crate::records::{MemberInfo, Target};

/// The target for `members` over `partitions` (count per topic), sticky to `previous`.
pub fn assign(
    members: &[MemberInfo],
    partitions: &BTreeMap<TopicName, u32>,
    previous: &Target,
) -> Target {
    let mut load: BTreeMap<&MemberId, usize> = members.iter().map(|m| (&m.member_id, 0)).collect();
    let mut target = Target::new();
    for (topic, &count) in partitions {
        let mut subscribed: Vec<&MemberId> = members
            .iter()
            .filter(|m| m.topics.contains(topic))
            .map(|m| &m.member_id)
            .collect();
        subscribed.sort();
        subscribed.dedup();
        let owners = assign_topic(&subscribed, count as usize, previous.get(topic), &load);
        for id in owners.iter().flatten() {
            if let Some(l) = load.get_mut(id) {
                *l += 1;
            }
        }
        target.insert(topic.clone(), owners);
    }
    target
}

/// Owners of one topic's `n` partitions among `subscribed` (sorted by id).
fn assign_topic(
    subscribed: &[&MemberId],
    n: usize,
    previous: Option<&Vec<Option<MemberId>>>,
    load: &BTreeMap<&MemberId, usize>,
) -> Vec<Option<MemberId>> {
    let mut owners: Vec<Option<MemberId>> = vec![None; n];
    if subscribed.is_empty() {
        return owners;
    }
    let held_before = |id: &MemberId| {
        previous.map_or(0, |prev| {
            prev.iter()
                .take(n)
                .filter(|o| o.as_ref() == Some(id))
                .count()
        })
    };
    let mut order = subscribed.to_vec();
    order.sort_by_key(|id| {
        (
            load.get(*id).copied().unwrap_or(0),
            Reverse(held_before(id)),
            (*id).clone(),
        )
    });
    let (base, extra) = (n / subscribed.len(), n % subscribed.len());
    let quota: BTreeMap<&MemberId, usize> = order
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, base + usize::from(i < extra)))
        .collect();
    let mut given: BTreeMap<&MemberId, usize> = subscribed.iter().map(|id| (*id, 0)).collect();
    let below_quota = |given: &BTreeMap<&MemberId, usize>, id: &MemberId| {
        given.get(id).copied().unwrap_or(0) < quota.get(id).copied().unwrap_or(0)
    };
    for (p, owner) in previous.into_iter().flatten().enumerate().take(n) {
        if let Some(id) = owner
            && below_quota(&given, id)
            && let Some(count) = given.get_mut(id)
        {
            *count += 1;
            owners[p] = Some(id.clone());
        }
    }
    for slot in owners.iter_mut().filter(|o| o.is_none()) {
        if let Some(id) = subscribed.iter().find(|id| below_quota(&given, id))
            && let Some(count) = given.get_mut(*id)
        {
            *count += 1;
            *slot = Some((*id).clone());
        }
    }
    owners
}

#[cfg(test)]
mod tests;
