"""kafka-python, a second Kafka client written independently of librdkafka (its own protocol
code, version negotiation, record batches and group coordinator client): produce and
consume, records kept exactly, keyed placement as `silt produce` places, an idempotent
producer, and a consumer group whose commits a new member resumes from."""

from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition

from harness import BOOTSTRAP, PATIENCE, KafkaTest, read_log, silt_produce_keys, wait_until


def producer(**config):
    return KafkaProducer(bootstrap_servers=BOOTSTRAP.split(","), acks="all",
                         request_timeout_ms=30000, **config)


def send_all(p, topic, records, partition=None):
    """Sends records [(key, value, headers, ts)], waits for each; returns
    {partition: [(offset, key, value, headers, ts)]}."""
    futures = [(r, p.send(topic, key=r[0], value=r[1], headers=r[2], timestamp_ms=r[3],
                          partition=partition)) for r in records]
    p.flush(PATIENCE)
    delivered = {}
    for r, future in futures:
        meta = future.get(timeout=PATIENCE)
        delivered.setdefault(meta.partition, []).append((meta.offset, *r))
    return delivered


def records(n):
    """Keyless records, tombstones (kafka-python refuses a record with neither), empty and
    repeated values, headers."""
    return [(None if i % 3 == 0 else f"key-{i}".encode(),
             None if i % 15 == 4 else f"value {i}".encode() * (i % 7),
             [("n", str(i).encode()), ("bin", bytes([i, 0, 255]))][: i % 3],
             1_650_000_000_000 + i * 1000)
            for i in range(n)]


class KafkaPython(KafkaTest):
    def consume(self, topic, partitions, total):
        c = KafkaConsumer(bootstrap_servers=BOOTSTRAP.split(","), enable_auto_commit=False,
                          request_timeout_ms=30000, consumer_timeout_ms=1000)
        c.assign([TopicPartition(topic, p) for p in partitions])
        c.seek_to_beginning()
        got = {}

        def step():
            for batch in c.poll(timeout_ms=500).values():
                for m in batch:
                    headers = [(k, v) for k, v in m.headers]
                    got.setdefault(m.partition, []).append(
                        (m.offset, m.key, m.value, headers, m.timestamp))
            return sum(map(len, got.values())) >= total

        try:
            wait_until(f"{total} records through kafka-python", step)
        finally:
            c.close()
        return got

    def test_produce_and_consume(self):
        topic = self.topic(partitions=2)
        delivered = {}
        for compression in (None, "gzip"):
            p = producer(compression_type=compression, linger_ms=10)
            for partition, got in send_all(p, topic, records(50)).items():
                delivered.setdefault(partition, []).extend(got)
            p.close()
        self.assertEqual(sum(map(len, delivered.values())), 100)
        read = self.consume(topic, [0, 1], 100)
        self.assertEqual(read, {p: sorted(rs) for p, rs in delivered.items()})
        for partition, got in read.items():
            self.assertEqual(got, read_log(topic, partition))

    def test_keyed_placement_agrees_with_silt_produce(self):
        topic = self.topic(partitions=5)
        keys = [f"order-{i}" for i in range(40)]
        p = producer()  # its default partitioner is Java's murmur2
        delivered = send_all(p, topic, [(k.encode(), b"v", [], None) for k in keys])
        p.close()
        by_kafka = {r[1].decode(): partition for partition, rs in delivered.items()
                    for r in rs}
        self.assertEqual(by_kafka, silt_produce_keys(topic, keys))

    def test_idempotent_producer(self):
        topic = self.topic()
        p = producer(enable_idempotence=True, max_in_flight_requests_per_connection=5,
                     linger_ms=2, batch_size=512)
        sent = records(80)
        delivered = send_all(p, topic, sent, partition=0)
        p.close()
        self.assertEqual([o for o, *_ in delivered[0]], list(range(80)))
        self.assertEqual(read_log(topic, 0), delivered[0])

    def test_group_member_commits_and_a_new_member_resumes(self):
        topic = self.topic(partitions=2)
        p = producer()
        delivered = send_all(p, topic, records(30))
        p.close()
        group = self.group()

        def member():
            return KafkaConsumer(topic, bootstrap_servers=BOOTSTRAP.split(","), group_id=group,
                                 auto_offset_reset="earliest", enable_auto_commit=False,
                                 request_timeout_ms=30000, session_timeout_ms=10000,
                                 heartbeat_interval_ms=500)

        first, got = member(), []

        def read_all():
            for batch in first.poll(timeout_ms=500).values():
                got.extend((m.partition, m.offset) for m in batch)
            return len(got) >= 30

        try:
            wait_until("30 records through a kafka-python group member", read_all)
            self.assertEqual(sorted(got), sorted((part, o) for part, rs in delivered.items()
                                                 for o, *_ in rs))
            ends = {TopicPartition(topic, part): OffsetAndMetadata(len(rs), "", -1)
                    for part, rs in delivered.items()}
            first.commit(ends)
        finally:
            first.close()
        second = member()
        try:
            for tp, end in ends.items():
                self.assertEqual(second.committed(tp), end.offset, tp)
        finally:
            second.close()
