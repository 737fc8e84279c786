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
import resource
import subprocess
import tempfile
import time
import urllib.request

import confluent_kafka
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


def cpu_seconds(pid=None):
    """CPU time (user + system) of this process, or of process `pid` from /proc."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Cpu:
    """CPU seconds the client and the agent spent over a `with` block, as shares of its wall
    time (1.0 = one core busy)."""

    def __init__(self, agent_pid):
        self.agent_pid = agent_pid

    def __enter__(self):
        self.start = (time.monotonic(), cpu_seconds(), cpu_seconds(self.agent_pid))
        return self

    def __exit__(self, *_):
        wall = time.monotonic() - self.start[0]
        self.client = round((cpu_seconds() - self.start[1]) / wall, 2)
        self.agent = round((cpu_seconds(self.agent_pid) - self.start[2]) / wall, 2)


def store_requests(url):
    """The agent's store requests so far, by operation (`silt_store_requests_total`)."""
    with urllib.request.urlopen(url + "/metrics", timeout=60) as answer:
        text = answer.read().decode()
    counts = {}
    for line in text.splitlines():
        if line.startswith("silt_store_requests_total{"):
            labels, value = line.rsplit(" ", 1)
            method = labels.split('op="', 1)[1].split('"', 1)[0]
            counts[method] = counts.get(method, 0) + float(value)
    return counts


def per_gib(before, after, payload_bytes):
    """Store requests per GiB of payload between two `store_requests` readings."""
    gib = payload_bytes / 2**30
    return {m: round((after.get(m, 0) - before.get(m, 0)) / gib, 1) for m in after
            if after.get(m, 0) > before.get(m, 0)}


def create_topic(url, name, partitions):
    body = json.dumps({"name": name, "partitions": partitions}).encode()
    request = urllib.request.Request(url + "/v1/topics", data=body, method="POST",
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status == 201


def produce(bootstrap, topic, partitions, values, seconds, batch_mib):
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": "lz4", "linger.ms": 20,
                  "batch.size": batch_mib << 20, "message.max.bytes": (batch_mib + 1) << 20,
                  "batch.num.messages": 1_000_000, "acks": "all",
                  "queue.buffering.max.kbytes": 64 * 1024, "message.timeout.ms": 120_000})
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

    def pct(q):
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)

    return {"records": sent[0], "mib_s": round(sent[1] / elapsed / 2**20, 1),
            "records_s": round(sent[0] / elapsed), "ack_p50_ms": pct(0.5),
            "ack_p99_ms": pct(0.99), "seconds": round(elapsed, 1)}


def catch_up(bootstrap, topic, partitions, records, fetch_mib):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{topic}",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "fetch.max.bytes": max(fetch_mib, 50) << 20,
                  "max.partition.fetch.bytes": fetch_mib << 20})
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


def native_bench(a, url):
    """`silt bench --agent URL`: the raw store, the library and the HTTP path; (its table,
    its JSON)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        native = subprocess.run(
            [a.silt, "bench", "--agent", url, "--seconds", str(a.seconds), "--payload",
             a.payload, "--record-bytes", str(a.record_bytes), "--partitions",
             str(a.partitions), "--json", report.name], capture_output=True, text=True,
            check=False)
        assert native.returncode == 0, native.stderr
        return native.stdout, json.load(open(report.name))


def main():
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--silt", required=True)
    args.add_argument("--seconds", type=int, default=10)
    args.add_argument("--record-bytes", type=int, default=1024)
    args.add_argument("--payload", choices=["random", "text"], default="random")
    args.add_argument("--partitions", type=int, default=1)
    args.add_argument("--batch-mib", type=int, default=4, help="librdkafka's batch.size")
    args.add_argument("--fetch-mib", type=int, default=16,
                      help="the consumer's max.partition.fetch.bytes (librdkafka's default: 1)")
    args.add_argument("--skip-native", action="store_true", help="only the Kafka path")
    args.add_argument("--json")
    a = args.parse_args()
    agent, url, kafka = start_agent(a.silt)
    try:
        table, native = ("", None) if a.skip_native else native_bench(a, url)
        topic = f"bench-kafka-{os.getpid()}-{int(time.time())}"
        create_topic(url, topic, a.partitions)
        values = payload_pool(a.payload, a.record_bytes)
        requests = [store_requests(url)]
        with Cpu(agent.pid) as cpu:
            produced = produce(kafka, topic, a.partitions, values, a.seconds, a.batch_mib)
        produced["cores"] = {"client": cpu.client, "agent": cpu.agent}
        requests.append(store_requests(url))
        with Cpu(agent.pid) as cpu:
            read = catch_up(kafka, topic, a.partitions, produced["records"], a.fetch_mib)
        read["cores"] = {"client": cpu.client, "agent": cpu.agent}
        requests.append(store_requests(url))
        size = produced["records"] * a.record_bytes
        produced["store_requests_per_gib"] = per_gib(requests[0], requests[1], size)
        read["store_requests_per_gib"] = per_gib(requests[1], requests[2], size)
    finally:
        agent.terminate()
        agent.wait(60)
    print(table)
    print(f"kafka (librdkafka {confluent_kafka.libversion()[0]}, lz4, linger 20 ms, "
          f"batch {a.batch_mib} MiB, acks=all):")
    print(f"  produce  {produced['mib_s']} MiB/s ({produced['records_s']} records/s), "
          f"ack p50 {produced['ack_p50_ms']} ms, p99 {produced['ack_p99_ms']} ms, "
          f"cores busy {produced['cores']}, store requests/GiB "
          f"{produced['store_requests_per_gib']}")
    print(f"  catch-up {read['mib_s']} MiB/s ({read['records']} records), "
          f"cores busy {read['cores']}, store requests/GiB {read['store_requests_per_gib']}")
    if a.json:
        with open(a.json, "w") as out:
            json.dump({"settings": vars(a), "kafka": {"produce": produced, "catch_up": read},
                       "silt_bench": native}, out, indent=2)


if __name__ == "__main__":
    main()
