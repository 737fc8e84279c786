"""confluent-kafka (librdkafka) as a Kafka user meets silt: produce with every compression
codec and with idempotence, consume by assignment and by subscription with commits, records
kept exactly (keys, values, headers, timestamps), ListOffsets, and keyed placement that
agrees with `silt produce`; topics created, described and deleted through the admin API,
and an unknown topic left uncreated."""

import time

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, TopicPartition
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from confluent import FAST, consume_assigned, consumer, drain, produce, record
from harness import RUN, PATIENCE, KafkaTest, http, read_log, silt_produce_keys, wait_until

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


class Produce(KafkaTest):
    def test_every_codec_keeps_records_exactly(self):
        for codec in CODECS:
            with self.subTest(codec=codec):
                topic = self.topic(partitions=2, suffix=codec)
                records = [record(i, codec) for i in range(60)]
                delivered = produce(topic, records,
                                    config={"compression.type": codec, "linger.ms": 20})
                self.assertEqual(sum(map(len, delivered.values())), len(records))
                for partition, expected in delivered.items():
                    # As stored (the HTTP API) and as read back through Kafka.
                    self.assert_log(topic, partition, expected)
                read = consume_assigned(topic, {0: OFFSET_BEGINNING, 1: OFFSET_BEGINNING},
                                        self.group(codec))
                self.assertEqual(read, {p: sorted(r) for p, r in delivered.items()})

    def test_idempotent_producer_writes_each_record_once_in_order(self):
        topic = self.topic(partitions=3)
        records = [(f"k{i % 10}".encode(), f"v{i}".encode(), [], 1_700_000_000_000 + i)
                   for i in range(300)]
        delivered = produce(topic, records, config={
            "enable.idempotence": True, "linger.ms": 5, "batch.num.messages": 17})
        for partition, got in delivered.items():
            offsets = [o for o, *_ in got]
            self.assertEqual(offsets, list(range(len(got))), "dense, in send order")
            self.assert_log(topic, partition, got)
        self.assertEqual(sum(map(len, delivered.values())), 300)

    def test_keyed_placement_agrees_with_silt_produce(self):
        topic = self.topic(partitions=7)
        keys = [f"user-{i}" for i in range(60)] + ["ключ", "k" * 300]
        records = [(k.encode(), b"from librdkafka", [], 1_700_000_000_000) for k in keys]
        # librdkafka's Java-compatible partitioner (its default is CRC32-based).
        delivered = produce(topic, records, config={"partitioner": "murmur2_random"})
        by_kafka = {r[1].decode(): p for p, rs in delivered.items() for r in rs}
        self.assertEqual(by_kafka, silt_produce_keys(topic, keys))
        self.assertGreater(len(set(by_kafka.values())), 4, "keys spread over partitions")


class Consume(KafkaTest):
    def test_assign_from_an_offset_and_list_offsets(self):
        topic = self.topic(partitions=2)
        records = [record(i) for i in range(40)]
        delivered = produce(topic, records[:20], partition=0)
        delivered.update(produce(topic, records[20:], partition=1))
        read = consume_assigned(topic, {0: OFFSET_BEGINNING, 1: 7}, self.group())
        self.assertEqual(read[0], delivered[0])
        self.assertEqual(read[1], delivered[1][7:])
        c = consumer(self.group("offsets"))
        try:
            self.assertEqual(c.get_watermark_offsets(TopicPartition(topic, 1), PATIENCE),
                             (0, 20))
            # ListOffsets by timestamp: the first record at or after it.
            stamps = sorted((ts, o) for o, _, _, _, ts in delivered[0])
            ts, offset = stamps[len(stamps) // 2]
            earliest = min(o for t, o in stamps if t >= ts)
            [found] = c.offsets_for_times([TopicPartition(topic, 0, ts)], PATIENCE)
            self.assertEqual(found.offset, earliest)
            [beyond] = c.offsets_for_times([TopicPartition(topic, 0, stamps[-1][0] + 1)],
                                           PATIENCE)
            self.assertEqual(beyond.offset, OFFSET_END, "no record that late: the end")
        finally:
            c.close()

    def test_subscribe_and_commit(self):
        topic = self.topic(partitions=3)
        delivered = produce(topic, [record(i) for i in range(45)])
        group = self.group()
        c = consumer(group)
        c.subscribe([topic])
        read = drain(c, {0, 1, 2})
        self.assertEqual(read, delivered)
        ends = [TopicPartition(topic, p, len(rs)) for p, rs in delivered.items()]
        c.commit(offsets=ends, asynchronous=False)
        c.close()
        # What the group committed, as a new member of it fetches it (OffsetFetch).
        other = consumer(group)
        try:
            committed = other.committed([TopicPartition(topic, p) for p in range(3)], PATIENCE)
            self.assertEqual({(t.partition, t.offset) for t in committed},
                             {(t.partition, t.offset) for t in ends})
        finally:
            other.close()

    def test_records_read_back_exactly(self):
        topic = self.topic()
        records = [record(i, "exact") for i in range(24)]
        records.append((b"k", b"v" * 100_000, [("big", b"h" * 10_000)], 1))
        delivered = produce(topic, records, partition=0)
        read = consume_assigned(topic, {0: OFFSET_BEGINNING}, self.group())
        self.assertEqual(read[0], delivered[0])
        self.assertEqual([r[1:] for r in read[0]], records, "in send order")
        self.assertEqual(read_log(topic, 0), read[0])


    def test_a_waiting_fetch_is_woken_by_an_append(self):
        topic = self.topic()
        # Each fetch may wait 20 s at the end: a record appended meanwhile must come sooner.
        c = consumer(self.group(), {"fetch.wait.max.ms": 20000, "fetch.min.bytes": 1})
        c.assign([TopicPartition(topic, 0, 0)])
        try:
            # 3 s of polls: its first fetch is waiting in the agent (for 17 s more at least).
            polled = time.monotonic()
            while time.monotonic() - polled < 3:
                msg = c.poll(0.2)
                self.assertTrue(msg is None or msg.error(), "an empty partition")
            status, body = http("POST", f"/v1/topics/{topic}/partitions/0/records",
                                {"records": [{"value": "d2FrZSB1cA=="}]})
            self.assertEqual(status, 200, body)
            appended = time.monotonic()
            msg = wait_until("the appended record",
                             lambda: (m := c.poll(0.2)) is not None and not m.error() and m)
            self.assertEqual(msg.value(), b"wake up")
            self.assertLess(time.monotonic() - appended, 10, "woken, not timed out")
        finally:
            c.close()


class Topics(KafkaTest):
    def test_metadata_lists_both_agents_and_the_topic(self):
        topic = self.topic(partitions=5)
        admin = AdminClient(FAST)
        meta = wait_until("metadata with 2 brokers",
                          lambda: (m := admin.list_topics(topic, timeout=PATIENCE))
                          and len(m.brokers) == 2 and m)
        partitions = meta.topics[topic].partitions
        self.assertEqual(sorted(partitions), list(range(5)))
        for p in partitions.values():
            self.assertIn(p.leader, meta.brokers)

    def test_admin_creates_describes_and_deletes_topics(self):
        admin = AdminClient(FAST)
        name = f"{RUN}-admin"
        new = NewTopic(name, num_partitions=3, replication_factor=1,
                       config={"retention.ms": "3600000", "cleanup.policy": "compact"})
        admin.create_topics([new])[name].result(PATIENCE)
        status, topic = http("GET", f"/v1/topics/{name}")
        self.assertEqual(status, 200, topic)
        self.assertEqual(len(topic["partitions"]), 3, topic)
        with self.assertRaises(KafkaException) as again:
            admin.create_topics([NewTopic(name, 1)])[name].result(PATIENCE)
        self.assertEqual(again.exception.args[0].code(), KafkaError.TOPIC_ALREADY_EXISTS)

        resource = ConfigResource(ConfigResource.Type.TOPIC, name)
        configs = admin.describe_configs([resource])[resource].result(PATIENCE)
        self.assertEqual(configs["retention.ms"].value, "3600000")
        self.assertEqual(configs["cleanup.policy"].value, "compact")

        admin.delete_topics([name])[name].result(PATIENCE)
        status, body = http("GET", f"/v1/topics/{name}")
        self.assertEqual(status, 404, body)

    def test_unknown_topic_is_not_created(self):
        name = f"{RUN}-never-created"
        meta = AdminClient(FAST).list_topics(name, timeout=PATIENCE)
        self.assertEqual(meta.topics[name].error.code(), KafkaError.UNKNOWN_TOPIC_OR_PART)
        status, body = http("GET", f"/v1/topics/{name}")
        self.assertEqual(status, 404, body)
