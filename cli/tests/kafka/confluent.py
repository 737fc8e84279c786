"""confluent-kafka (librdkafka) helpers shared by the suite's modules: producing a list of
records and collecting delivery reports, and consuming partitions by assignment."""

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from harness import BOOTSTRAP, PATIENCE, wait_until

# Fail fast: a refused request surfaces in seconds, not after librdkafka's 5-minute default.
FAST = {"bootstrap.servers": BOOTSTRAP, "socket.timeout.ms": 30000}


def producer(config=None):
    return Producer({**FAST, "message.timeout.ms": PATIENCE * 1000, **(config or {})})


def record(i, prefix="r"):
    """The i-th test record: (key, value, headers, timestamp ms), every shape a producer
    sends: no key, an empty key, binary keys and values, a tombstone, repeated and binary
    headers, timestamps out of order."""
    key = [None, b"", f"{prefix}-key-{i}".encode(), bytes([i % 256, 0, 255])][i % 4]
    value = [f"{prefix}-value-{i}".encode(), b"", bytes(range(256)) * 4, None][i % 4]
    if key is None and value is None:
        value = b"a value, since a tombstone needs a key"
    headers = [[], [("h", b"one")], [("h", b"1"), ("h", b"2"), ("bin", bytes([0, 1, 254]))]][i % 3]
    timestamp = 1_700_000_000_000 + (i * 7919 % 1000) * 1000
    return key, value, headers, timestamp


def produce(topic, records, partition=None, config=None):
    """Produces `records` [(key, value, headers, ts)] in order and waits for every delivery
    report; returns {partition: [(offset, key, value, headers, ts)]} as delivered."""
    p = producer(config)
    delivered, failed = {}, []

    def report(err, msg, r):
        if err is not None:
            failed.append((err, r))
        else:
            delivered.setdefault(msg.partition(), []).append((msg.offset(), *r))

    extra = {} if partition is None else {"partition": partition}
    for r in records:
        key, value, headers, ts = r
        p.produce(topic, key=key, value=value, headers=headers, timestamp=ts,
                  on_delivery=lambda err, msg, r=r: report(err, msg, r), **extra)
        p.poll(0)
    left = p.flush(PATIENCE)
    assert left == 0 and not failed, f"{left} not delivered; failures: {failed[:3]}"
    return delivered


def consumer(group, config=None):
    return Consumer({**FAST, "group.id": group, "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", "enable.partition.eof": True,
                     **(config or {})})


def as_record(msg):
    """(offset, key, value, headers, ts) of a consumed message."""
    headers = [(k, v) for k, v in (msg.headers() or [])]
    kind, ts = msg.timestamp()
    assert kind != 0, f"no timestamp at offset {msg.offset()}"
    return msg.offset(), msg.key(), msg.value(), headers, ts


def consume_assigned(topic, starts, group):
    """Reads partitions by assignment from {partition: start offset} to their ends;
    returns {partition: [(offset, key, value, headers, ts)]}."""
    c = consumer(group)
    c.assign([TopicPartition(topic, p, o) for p, o in starts.items()])
    return drain(c, set(starts), close=True)


def drain(c, partitions, close=False):
    """Polls `c` until every partition in `partitions` reported its end; returns the
    records read, per partition."""
    got, ended = {}, set()

    def step():
        msg = c.poll(0.5)
        if msg is None:
            return False
        if msg.error():
            assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
            ended.add(msg.partition())
            return ended >= partitions
        got.setdefault(msg.partition(), []).append(as_record(msg))
        return False

    try:
        wait_until(f"the end of partitions {sorted(partitions)}", step)
    finally:
        if close:
            c.close()
    return got


__all__ = ["OFFSET_BEGINNING", "TopicPartition"]
