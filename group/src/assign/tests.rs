use super::*;

fn topic(name: &str) -> TopicName {
    TopicName::new(name).unwrap()
}

fn members(ids: &[&str], topics: &[&str]) -> Vec<MemberInfo> {
    ids.iter()
        .map(|id| MemberInfo {
            member_id: MemberId(id.to_string()),
            instance_id: None,
            client_id: "c".into(),
            host: "h".into(),
            topics: topics.iter().map(|t| topic(t)).collect(),
        })
        .collect()
}

fn loads(target: &Target) -> BTreeMap<MemberId, usize> {
    let mut loads = BTreeMap::new();
    for owner in target.values().flatten().flatten() {
        *loads.entry(owner.clone()).or_insert(0) += 1;
    }
    loads
}

fn moved(before: &Target, after: &Target) -> usize {
    before
        .iter()
        .map(|(t, owners)| {
            owners
                .iter()
                .zip(&after[t])
                .filter(|(a, b)| a.is_some() && a != b)
                .count()
        })
        .sum()
}

#[test]
fn every_partition_has_one_owner_and_loads_differ_by_at_most_one() {
    let ids = ["a", "b", "c", "d", "e", "f", "g"];
    for m in 1..=ids.len() {
        for topics in [&["x"][..], &["x", "y"], &["x", "y", "z"]] {
            for n in 1..=13u32 {
                let group = members(&ids[..m], topics);
                let partitions: BTreeMap<_, _> = topics
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (topic(t), n + i as u32))
                    .collect();
                let target = assign(&group, &partitions, &Target::new());
                let total: u32 = partitions.values().sum();
                assert!(target.values().flatten().all(Option::is_some));
                let loads = loads(&target);
                assert_eq!(loads.values().sum::<usize>(), total as usize);
                let (lo, hi) = (
                    (0..m)
                        .map(|i| loads.get(&MemberId(ids[i].into())).copied().unwrap_or(0))
                        .min()
                        .unwrap(),
                    loads.values().copied().max().unwrap(),
                );
                assert!(hi - lo <= 1, "m={m} n={n} {topics:?}: {loads:?}");
            }
        }
    }
}

#[test]
fn a_join_or_a_leave_moves_only_what_it_must() {
    let partitions = BTreeMap::from([(topic("x"), 12)]);
    let three = members(&["a", "b", "c"], &["x"]);
    let before = assign(&three, &partitions, &Target::new());
    // A fourth member takes 3: exactly 3 partitions move, all to it.
    let four = members(&["a", "b", "c", "d"], &["x"]);
    let after = assign(&four, &partitions, &before);
    assert_eq!(moved(&before, &after), 3);
    assert_eq!(loads(&after)[&MemberId("d".into())], 3);
    // It leaves again: only its 3 move.
    let back = assign(&three, &partitions, &after);
    assert_eq!(moved(&after, &back), 3);
    // The same inputs give the same target, whatever the members' order.
    let mut shuffled = four.clone();
    shuffled.reverse();
    assert_eq!(assign(&shuffled, &partitions, &before), after);
}

#[test]
fn only_subscribers_get_a_topic() {
    let mut group = members(&["a"], &["x"]);
    group.extend(members(&["b"], &["y"]));
    let partitions = BTreeMap::from([(topic("x"), 3), (topic("y"), 2), (topic("z"), 1)]);
    let target = assign(&group, &partitions, &Target::new());
    assert!(
        target[&topic("x")]
            .iter()
            .all(|o| o == &Some(MemberId("a".into())))
    );
    assert!(
        target[&topic("y")]
            .iter()
            .all(|o| o == &Some(MemberId("b".into())))
    );
    assert_eq!(target[&topic("z")], vec![None]);
}
