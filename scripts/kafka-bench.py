#!/usr/bin/env python3
"""Kafka-protocol throughput of `silt agent`, next to the native paths, in one run
(docs/benchmarks.md, "The Kafka path"). Not part of the test command.

    scripts/kafka-bench.py --silt target/release/silt [--seconds 10] [--record-bytes 1024]
        [--payload random|text] [--partitions 1] [--json FILE]

With the store in SILT_STORE and AWS_* (as for `silt bench`), it:
  1. starts `silt agent --listen 127.0.0.1:0 --kafka-listen 127.0.0.1:0` on that store;
  2. runs `silt bench --agent URL` (the library path and the agent's HTTP path, with the raw
     store figures), same record size, payload and duration;
  3. produces through the agent's Kafka listener with confluent-kafka (librdkafka: lz4,
     linger 20 ms, batches up to 1 MiB, acks=all) for the same duration, measuring payload
     MiB/s, records/s and the delivery-report latency, then reads everything back from
     offset 0 by assignment (catch-up MiB/s);
  4. prints one table and stops the agent (by its PID).
Needs confluent-kafka (scripts/servers.sh installs it into .test-servers/venv).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
import urllib.request

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

LEVELS = ["INFO", "INFO", "INFO", "WARN", "DEBUG", "ERROR"]


def payload_pool(kind, size, count=4096):
    """`count` record values: random bytes, or log-like text lines (as `silt bench` makes)."""
    rng = random.Random(7)
    if kind == "random":
        return [rng.randbytes(size) for _ in range(count)]
    values = []
    for _ in range(count):
        text = ""
        while len(text) < size:
            text += (f"2026-12-06T04:{rng.randrange(60):02}:{rng.randrange(60):02}Z "
                     f"{rng.choice(LEVELS)} service=orders region=eu-west-1 "
                     f"user_id={rng.randrange(100000)} order_id={rng.randrange(10**7)} "
                     f"action={rng.choice(['click', 'view', 'purchase'])} "
                     f"latency_ms={rng.randrange(500)} status=200\n")
        values.append(text[:size].encode())
    return values


def start_agent(silt):
    agent = subprocess.Popen([silt, "agent", "--listen", "127.0.0.1:0", "--kafka-listen",
                              "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    url = agent.stdout.readline().strip().removeprefix("listening on ")
    kafka = agent.stdout.readline().strip().removeprefix("kafka listening on ")
    assert url.startswith("http://") and ":" in kafka, f"the agent did not start: {url} {kafka}"
    return agent, url, kafka


def create_topic(url, name, partitions):
    body = json.dumps({"name": name, "partitions": partitions}).encode()
    request = urllib.request.Request(url + "/v1/topics", data=body, method="POST",
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status == 201


def produce(bootstrap, topic, partitions, values, seconds):
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": "lz4", "linger.ms": 20,
                  "batch.size": 1 << 20, "batch.num.messages": 100_000, "acks": "all",
                  "queue.buffering.max.kbytes": 256 * 1024, "message.timeout.ms": 120_000})
    latencies, failed, sent = [], [], [0, 0]

    def report(err, msg, at):
        if err is not None:
            failed.append(err)
        else:
            latencies.append(time.monotonic() - at)

    start = time.monotonic()
    i = 0
    while time.monotonic() - start < seconds:
        value = values[i % len(values)]
        try:
            p.produce(topic, value=value, partition=i % partitions,
                      on_delivery=lambda err, msg, at=time.monotonic(): report(err, msg, at))
        except BufferError:
            p.poll(0.005)
            continue
        sent[0] += 1
        sent[1] += len(value)
        i += 1
        if i % 1000 == 0:
            p.poll(0)
    p.flush(120)
    elapsed = time.monotonic() - start
    assert not failed, failed[:3]
    latencies.sort()
    pct = lambda q: round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)
    return {"records": sent[0], "mib_s": round(sent[1] / elapsed / 2**20, 1),
            "records_s": round(sent[0] / elapsed), "ack_p50_ms": pct(0.5),
            "ack_p99_ms": pct(0.99), "seconds": round(elapsed, 1)}


def catch_up(bootstrap, topic, partitions, records):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{topic}",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "fetch.max.bytes": 64 << 20, "max.partition.fetch.bytes": 16 << 20})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    start, read, size, ended = time.monotonic(), 0, 0, set()
    while read < records or len(ended) < partitions:
        for msg in c.consume(10_000, 1.0):
            if msg.error():
                assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
                ended.add(msg.partition())
            else:
                read, size = read + 1, size + len(msg.value())
        assert time.monotonic() - start < 600, f"read {read} of {records} in 10 minutes"
    elapsed = time.monotonic() - start
    c.close()
    return {"records": read, "mib_s": round(size / elapsed / 2**20, 1),
            "seconds": round(elapsed, 1)}


def main():
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--silt", required=True)
    args.add_argument("--seconds", type=int, default=10)
    args.add_argument("--record-bytes", type=int, default=1024)
    args.add_argument("--payload", choices=["random", "text"], default="random")
    args.add_argument("--partitions", type=int, default=1)
    args.add_argument("--json")
    a = args.parse_args()
    agent, url, kafka = start_agent(a.silt)
    try:
        native = subprocess.run(
            [a.silt, "bench", "--agent", url, "--seconds", str(a.seconds), "--payload",
             a.payload, "--record-bytes", str(a.record_bytes), "--partitions",
             str(a.partitions), "--json", "/dev/stdout"], capture_output=True, text=True,
            check=True)
        print(native.stderr, file=sys.stderr)
        topic = f"bench-kafka-{os.getpid()}-{int(time.time())}"
        create_topic(url, topic, a.partitions)
        values = payload_pool(a.payload, a.record_bytes)
        produced = produce(kafka, topic, a.partitions, values, a.seconds)
        read = catch_up(kafka, topic, a.partitions, produced["records"])
    finally:
        agent.terminate()
        agent.wait(60)
    result = {"settings": vars(a), "kafka": {"produce": produced, "catch_up": read},
              "silt_bench": native.stdout}
    print(json.dumps(result["kafka"], indent=2))
    if a.json:
        with open(a.json, "w") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
