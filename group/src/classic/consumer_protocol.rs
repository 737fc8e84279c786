//! The consumer protocol's embedded formats (Kafka's `ConsumerProtocolSubscription` and
//! `ConsumerProtocolAssignment`, versions 0–3), read only so that `silt group describe` can
//! show which topics a Kafka member reads and which partitions it was assigned. Anything
//! malformed reads as nothing: these bytes are the clients', never trusted.

use crate::ids::TopicPartition;
use silt_core::ids::{PartitionId, TopicName};

/// Most entries read from one array (a malformed count must not allocate).
const ENTRIES_MAX: usize = 100_000;

/// The topics a member's subscription metadata names.
pub fn subscribed_topics(metadata: &[u8]) -> Vec<TopicName> {
    read_subscription(&mut Reader(metadata)).unwrap_or_default()
}

/// The partitions an assignment gives.
pub fn assigned_partitions(assignment: &[u8]) -> Vec<TopicPartition> {
    read_assignment(&mut Reader(assignment)).unwrap_or_default()
}

fn read_subscription(r: &mut Reader<'_>) -> Option<Vec<TopicName>> {
    r.i16()?;
    let count = r.count()?;
    let mut topics = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        topics.extend(TopicName::new(r.string()?).ok());
    }
    Some(topics)
}

fn read_assignment(r: &mut Reader<'_>) -> Option<Vec<TopicPartition>> {
    r.i16()?;
    let mut out = Vec::new();
    for _ in 0..r.count()? {
        let topic = TopicName::new(r.string()?).ok();
        for _ in 0..r.count()? {
            let partition = PartitionId(u32::try_from(r.i32()?).ok()?);
            if let Some(topic) = &topic {
                let topic = topic.clone();
                out.push(TopicPartition { topic, partition });
            }
        }
    }
    Some(out)
}

/// Big-endian reads that stop (`None`) at the end of the bytes.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn i16(&mut self) -> Option<i16> {
        self.take::<2>().map(i16::from_be_bytes)
    }

    fn i32(&mut self) -> Option<i32> {
        self.take::<4>().map(i32::from_be_bytes)
    }

    /// An array's length (-1, a null array, reads as 0).
    fn count(&mut self) -> Option<usize> {
        let n = self.i32()?;
        let n = usize::try_from(n.max(0)).ok()?;
        (n <= ENTRIES_MAX).then_some(n)
    }

    fn string(&mut self) -> Option<String> {
        let len = usize::try_from(self.i16()?).ok()?;
        let bytes = self.0.get(..len)?;
        self.0 = &self.0[len..];
        String::from_utf8(bytes.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str) -> Vec<u8> {
        let mut out = (s.len() as i16).to_be_bytes().to_vec();
        out.extend_from_slice(s.as_bytes());
        out
    }

    #[test]
    fn reads_what_a_consumer_sends_and_nothing_from_garbage() {
        let mut sub = 1i16.to_be_bytes().to_vec();
        sub.extend(2i32.to_be_bytes());
        sub.extend(string("orders"));
        sub.extend(string("bad name!"));
        sub.extend((-1i32).to_be_bytes()); // user data: null
        let topics: Vec<String> = subscribed_topics(&sub)
            .iter()
            .map(|t| t.to_string())
            .collect();
        assert_eq!(topics, ["orders"]);
        let mut asg = 0i16.to_be_bytes().to_vec();
        asg.extend(1i32.to_be_bytes());
        asg.extend(string("orders"));
        asg.extend(2i32.to_be_bytes());
        asg.extend(3i32.to_be_bytes());
        asg.extend(5i32.to_be_bytes());
        let parts: Vec<u32> = assigned_partitions(&asg)
            .iter()
            .map(|p| p.partition.0)
            .collect();
        assert_eq!(parts, [3, 5]);
        assert!(
            assigned_partitions(&asg[..asg.len() - 2]).is_empty(),
            "truncated"
        );
        assert!(
            assigned_partitions(&[0, 0, 0x7f, 0xff, 0xff, 0xff]).is_empty(),
            "huge count"
        );
    }
}
