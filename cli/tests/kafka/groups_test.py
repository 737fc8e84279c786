"""Consumer groups through the Kafka group protocol (FindCoordinator, JoinGroup, SyncGroup,
Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch) with librdkafka's consumer: a restarted
member resumes after its group's committed offset; two members split the partitions and the
one left takes them all when the other leaves."""

from confluent import as_record, consumer, produce, record
from harness import KafkaTest, wait_until

# Rebalances in seconds: a member learns of one at its next heartbeat.
QUICK = {"heartbeat.interval.ms": 300, "session.timeout.ms": 6000}


def assigned(c):
    """The partitions assigned to `c` now, after serving its callbacks."""
    c.poll(0.1)
    return {tp.partition for tp in c.assignment()}


class Groups(KafkaTest):
    def test_restarted_consumer_resumes_after_committed_offset(self):
        topic = self.topic()
        delivered = produce(topic, [record(i) for i in range(10)], partition=0)[0]
        group = self.group()
        first = consumer(group, QUICK)
        first.subscribe([topic])
        read = []

        def read_six():
            msg = first.poll(0.5)
            if msg is not None and not msg.error():
                read.append(msg)
            return len(read) >= 6

        wait_until("6 records", read_six)
        first.commit(message=read[5], asynchronous=False)  # commits offset 6
        first.close()
        self.assertEqual([as_record(m) for m in read[:6]], delivered[:6])

        second = consumer(group, QUICK)
        second.subscribe([topic])
        rest = []

        def read_rest():
            msg = second.poll(0.5)
            if msg is not None and not msg.error():
                rest.append(as_record(msg))
            return len(rest) >= 4

        try:
            wait_until("the 4 records after the committed offset", read_rest)
            self.assertEqual(rest, delivered[6:], "resumed at offset 6, nothing twice")
        finally:
            second.close()

    def test_two_consumers_split_partitions_and_rebalance_when_one_leaves(self):
        topic = self.topic(partitions=4)
        group = self.group()
        one, two = consumer(group, QUICK), consumer(group, QUICK)
        one.subscribe([topic])
        try:
            wait_until("the only member holds all 4", lambda: assigned(one) == {0, 1, 2, 3})
            two.subscribe([topic])

            seen = []

            def split():
                a, b = assigned(one), assigned(two)
                if not seen or seen[-1] != (a, b):
                    seen.append((a, b))
                return len(a) == 2 and len(b) == 2 and a | b == {0, 1, 2, 3} and (a, b)

            a, b = wait_until(lambda: f"two members hold 2 partitions each (held: {seen})",
                              split)
            self.assertFalse(a & b)
            two.close()  # LeaveGroup
            two = None
            wait_until("the member left holds all 4 again",
                       lambda: assigned(one) == {0, 1, 2, 3})
        finally:
            one.close()
            if two is not None:
                two.close()
