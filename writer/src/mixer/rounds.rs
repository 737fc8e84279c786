//! The mixer's bookkeeping, pure (no I/O, times passed in): which partitions' batches go into
//! which object, and when an object closes.
//!
//! A partition whose batch begins *joins* a round (one member per partition per round; a
//! partition already in every open round starts a new one behind them). The front round is
//! the open object: it closes when its linger ends (adaptive linger judged on the whole
//! object's rate, §10), when its bytes reach `segment_bytes_max` or a member's batch is full,
//! or when every member has already delivered its part, and only while fewer than
//! `uploads_in_flight_max` objects are being collected or uploaded. Closing *signals* every
//! member still filling its batch to deliver it now; once every member delivered (or left:
//! its batch failed or its task ended) the round is an object ready to upload.

use std::collections::VecDeque;
use std::time::Duration;

use silt_core::ids::PartitionId;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::WriterSettings;
use crate::partition::hold_until;

/// One partition's place in a round.
#[derive(Debug)]
enum Member<P> {
    /// Still filling its batch; told to deliver when the round closes.
    Filling(Option<oneshot::Sender<()>>),
    /// Its part, delivered.
    Delivered(P),
}

/// The batches of one future object.
#[derive(Debug)]
struct Round<P> {
    members: Vec<(PartitionId, Member<P>)>,
    started: Instant,
    deadline: Instant,
    judged: bool,
    bytes: usize,
    full: bool,
}

impl<P> Round<P> {
    fn filling(&mut self, partition: PartitionId) -> Option<&mut Member<P>> {
        self.members
            .iter_mut()
            .find(|(p, m)| *p == partition && matches!(m, Member::Filling(_)))
            .map(|(_, m)| m)
    }

    fn has_filling(&self, partition: PartitionId) -> bool {
        let filling =
            |(p, m): &(PartitionId, Member<P>)| *p == partition && matches!(m, Member::Filling(_));
        self.members.iter().any(filling)
    }

    fn delivered_all(&self) -> bool {
        self.members
            .iter()
            .all(|(_, m)| matches!(m, Member::Delivered(_)))
    }

    /// Whether it should close at `now`. When its linger ends, adaptive linger may hold it
    /// once, by the object's rate.
    fn due(&mut self, now: Instant, settings: &WriterSettings) -> bool {
        if self.full || self.bytes >= settings.segment_bytes_max || self.delivered_all() {
            return true;
        }
        if self.deadline > now {
            return false;
        }
        if !self.judged {
            self.judged = true;
            if let Some(later) = hold_until(settings, self.started, self.bytes, now) {
                self.deadline = later;
                return false;
            }
        }
        true
    }

    /// Tells every member still filling to deliver now.
    fn signal(&mut self) {
        for (_, member) in &mut self.members {
            if let Member::Filling(signal) = member
                && let Some(signal) = signal.take()
            {
                let _ = signal.send(());
            }
        }
    }

    fn into_parts(self) -> Vec<P> {
        let parts = self.members.into_iter().filter_map(|(_, m)| match m {
            Member::Delivered(part) => Some(part),
            Member::Filling(_) => None,
        });
        parts.collect()
    }
}

/// Every round of one mixer: those collecting their parts, then the open one and those
/// queued behind it.
#[derive(Debug)]
pub(super) struct Rounds<P> {
    settings: WriterSettings,
    collecting: Vec<Round<P>>,
    queued: VecDeque<Round<P>>,
    uploading: usize,
}

impl<P> Rounds<P> {
    pub(super) fn new(settings: WriterSettings) -> Rounds<P> {
        Rounds {
            settings,
            collecting: Vec::new(),
            queued: VecDeque::new(),
            uploading: 0,
        }
    }

    /// `partition` began a batch at `now`; `signal` tells it when to deliver.
    pub(super) fn join(
        &mut self,
        partition: PartitionId,
        signal: oneshot::Sender<()>,
        now: Instant,
    ) {
        let member = (partition, Member::Filling(Some(signal)));
        let free = self
            .queued
            .iter_mut()
            .find(|r| r.members.iter().all(|(p, _)| *p != partition));
        match free {
            Some(round) => round.members.push(member),
            None => self.queued.push_back(Round {
                members: vec![member],
                started: now,
                deadline: now + Duration::from_millis(self.settings.linger_ms),
                judged: false,
                bytes: 0,
                full: false,
            }),
        }
    }

    /// The round `partition`'s batch is filling in (a partition fills one batch at a time).
    fn filling_round(&mut self, partition: PartitionId) -> Option<&mut Round<P>> {
        let mut rounds = self.collecting.iter_mut().chain(self.queued.iter_mut());
        rounds.find(|r| r.has_filling(partition))
    }

    /// `partition`'s batch grew by `bytes`; `full` once it holds all a segment may.
    pub(super) fn grow(&mut self, partition: PartitionId, bytes: usize, full: bool) {
        if let Some(round) = self.filling_round(partition) {
            round.bytes += bytes;
            round.full |= full;
        }
    }

    /// `partition` delivers its batch as `part`. False if it had not joined (a bug upstream:
    /// the caller answers the part itself).
    pub(super) fn deliver(&mut self, partition: PartitionId, part: P) -> Result<(), P> {
        match self
            .filling_round(partition)
            .and_then(|r| r.filling(partition))
        {
            Some(member) => {
                *member = Member::Delivered(part);
                Ok(())
            }
            None => Err(part),
        }
    }

    /// `partition`'s batch will not come (it failed, or its task ended).
    pub(super) fn leave(&mut self, partition: PartitionId) {
        if let Some(round) = self.filling_round(partition) {
            round
                .members
                .retain(|(p, m)| *p != partition || !matches!(m, Member::Filling(_)));
        }
    }

    /// An object finished uploading: its slot is free.
    pub(super) fn uploaded(&mut self) {
        self.uploading = self.uploading.saturating_sub(1);
    }

    fn slot_free(&self) -> bool {
        self.collecting.len() + self.uploading < self.settings.uploads_in_flight_max
    }

    /// Closes what is due at `now` and returns the objects now complete, each one's parts in
    /// join order (never empty).
    pub(super) fn tick(&mut self, now: Instant) -> Vec<Vec<P>> {
        loop {
            let free = self.slot_free();
            let Some(front) = self.queued.front_mut() else {
                break;
            };
            let close = front.members.is_empty() || (free && front.due(now, &self.settings));
            if !close {
                break;
            }
            if let Some(mut round) = self.queued.pop_front() {
                round.signal();
                self.collecting.push(round);
            }
        }
        let mut ready = Vec::new();
        let mut i = 0;
        while i < self.collecting.len() {
            if self.collecting[i].delivered_all() {
                let parts = self.collecting.remove(i).into_parts();
                if !parts.is_empty() {
                    self.uploading += 1;
                    ready.push(parts);
                }
            } else {
                i += 1;
            }
        }
        ready
    }

    /// When the open round's time is up, if it may close then.
    pub(super) fn next_wake(&self) -> Option<Instant> {
        let front = self.queued.front().filter(|_| self.slot_free())?;
        Some(front.deadline)
    }

    /// Nothing joined, collecting or uploading.
    pub(super) fn idle(&self) -> bool {
        self.queued.is_empty() && self.collecting.is_empty() && self.uploading == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P0: PartitionId = PartitionId(0);
    const P1: PartitionId = PartitionId(1);

    fn settings() -> WriterSettings {
        WriterSettings {
            linger_ms: 10,
            linger_budget_ms: 0,
            segment_bytes_max: 1024,
            uploads_in_flight_max: 1,
            ..WriterSettings::default()
        }
    }

    fn join(
        rounds: &mut Rounds<&'static str>,
        p: PartitionId,
        now: Instant,
    ) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        rounds.join(p, tx, now);
        rx
    }

    #[test]
    fn a_round_closes_at_its_linger_and_holds_one_part_per_partition() {
        let mut rounds = Rounds::new(settings());
        let t0 = Instant::now();
        let mut s0 = join(&mut rounds, P0, t0);
        let mut s1 = join(&mut rounds, P1, t0);
        assert!(rounds.tick(t0 + Duration::from_millis(5)).is_empty());
        assert!(
            s0.try_recv().is_err(),
            "not signalled before the linger ends"
        );
        assert_eq!(rounds.next_wake(), Some(t0 + Duration::from_millis(10)));
        assert!(rounds.tick(t0 + Duration::from_millis(10)).is_empty());
        assert!(s0.try_recv().is_ok() && s1.try_recv().is_ok());
        rounds.deliver(P1, "p1").unwrap();
        assert!(
            rounds.tick(t0 + Duration::from_millis(11)).is_empty(),
            "waits for p0"
        );
        rounds.deliver(P0, "p0").unwrap();
        let objects = rounds.tick(t0 + Duration::from_millis(12));
        assert_eq!(objects, vec![vec!["p0", "p1"]], "join order");
        assert!(!rounds.idle());
        rounds.uploaded();
        assert!(rounds.idle());
    }

    #[test]
    fn a_partition_that_delivered_early_joins_the_next_round() {
        let mut rounds = Rounds::new(settings());
        let t0 = Instant::now();
        let _s0 = join(&mut rounds, P0, t0);
        let _s1 = join(&mut rounds, P1, t0);
        rounds.deliver(P0, "p0 early").unwrap();
        let mut again = join(&mut rounds, P0, t0);
        rounds.grow(P0, 10, false);
        let first = rounds.tick(t0 + Duration::from_millis(10));
        assert!(first.is_empty() && again.try_recv().is_err());
        rounds.deliver(P1, "p1").unwrap();
        assert_eq!(
            rounds.tick(t0 + Duration::from_millis(10)),
            vec![vec!["p0 early", "p1"]]
        );
        // One object in flight (the limit): the next round waits for its slot.
        assert!(rounds.tick(t0 + Duration::from_millis(30)).is_empty());
        assert_eq!(rounds.next_wake(), None);
        rounds.uploaded();
        assert!(rounds.tick(t0 + Duration::from_millis(30)).is_empty());
        assert!(again.try_recv().is_ok());
        rounds.deliver(P0, "p0 late").unwrap();
        assert_eq!(
            rounds.tick(t0 + Duration::from_millis(30)),
            vec![vec!["p0 late"]]
        );
    }

    #[test]
    fn size_a_full_batch_or_every_part_delivered_close_a_round_early() {
        let t0 = Instant::now();
        let mut rounds = Rounds::new(settings());
        let mut s0 = join(&mut rounds, P0, t0);
        rounds.grow(P0, 600, false);
        let _s1 = join(&mut rounds, P1, t0);
        rounds.grow(P1, 600, false);
        assert!(rounds.tick(t0).is_empty());
        assert!(s0.try_recv().is_ok(), "1200 bytes reach segment_bytes_max");

        let mut rounds = Rounds::new(settings());
        let mut s0 = join(&mut rounds, P0, t0);
        rounds.grow(P0, 1, true);
        rounds.tick(t0);
        assert!(s0.try_recv().is_ok(), "a full batch closes its round");

        let mut rounds = Rounds::new(settings());
        let _s0 = join(&mut rounds, P0, t0);
        rounds.deliver(P0, "p0").unwrap();
        assert_eq!(
            rounds.tick(t0),
            vec![vec!["p0"]],
            "nothing more to wait for"
        );
        assert_eq!(rounds.deliver(P1, "stray"), Err("stray"));
    }

    #[test]
    fn members_that_leave_are_not_waited_for() {
        let t0 = Instant::now();
        let mut rounds = Rounds::new(settings());
        let _s0 = join(&mut rounds, P0, t0);
        let _s1 = join(&mut rounds, P1, t0);
        rounds.tick(t0 + Duration::from_millis(10));
        rounds.deliver(P0, "p0").unwrap();
        rounds.leave(P1);
        assert_eq!(
            rounds.tick(t0 + Duration::from_millis(10)),
            vec![vec!["p0"]]
        );
        rounds.uploaded();
        let _s1 = join(&mut rounds, P1, t0);
        rounds.leave(P1);
        assert!(rounds.tick(t0).is_empty());
        assert!(rounds.idle(), "an emptied round is dropped, no upload");
    }
}
