"""The Kafka suite's harness: where the agents are, unique topics created through the HTTP
API, the log as the HTTP API reads it (the ground truth a Kafka client is checked against),
`silt produce` for placement, clients that fail fast, and bounded waits.

Configured by the environment (cli/tests/kafka.rs sets it):
  SILT_KAFKA_BOOTSTRAP  the agents' Kafka listeners, `127.0.0.1:P1,127.0.0.1:P2`
  SILT_KAFKA_HTTP       one agent's HTTP API, `http://127.0.0.1:P`
  SILT_KAFKA_HTTP_ALL   every agent's HTTP API, separated by spaces (for their metrics)
  SILT_BIN              the `silt` binary; SILT_STORE and AWS_* reach the same store
"""

import base64
import json
import os
import subprocess
import time
import unittest
import urllib.error
import urllib.request
import uuid

BOOTSTRAP = os.environ["SILT_KAFKA_BOOTSTRAP"]
HTTP = os.environ["SILT_KAFKA_HTTP"]
HTTP_ALL = os.environ["SILT_KAFKA_HTTP_ALL"].split()
# Topics and groups of this run are named RUN-...
RUN = "k" + uuid.uuid4().hex[:8]
# How long a client may take to see what the test waits for, in seconds.
PATIENCE = 60


def http(method, path, body=None):
    """(status, parsed JSON) of `method path` on the agent's HTTP API."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(HTTP + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as answer:
        return answer.code, json.loads(answer.read() or b"null")


def tail_cache_reads(topic):
    """{"hit": n, "miss": m}: segment reads of `topic` looked up in the agents' tail caches,
    summed over every agent's `/metrics`."""
    reads = {"hit": 0.0, "miss": 0.0}
    for agent in HTTP_ALL:
        with urllib.request.urlopen(agent + "/metrics", timeout=60) as answer:
            text = answer.read().decode()
        for line in text.splitlines():
            if line.startswith("silt_tail_cache_reads_total{") and f'topic="{topic}"' in line:
                labels, value = line.rsplit(" ", 1)
                for result in reads:
                    if f'result="{result}"' in labels:
                        reads[result] += float(value)
    return reads


def unb64(text):
    return None if text is None else base64.b64decode(text)


def read_log(topic, partition):
    """Every record of a partition as the HTTP API reads it: a list of
    (offset, key, value, [(header name, header value)], timestamp ms), bytes as bytes."""
    records, offset = [], 0
    for _ in range(1000):
        status, page = http("GET", f"/v1/topics/{topic}/partitions/{partition}/records"
                                   f"?offset={offset}&max_records=1000")
        assert status == 200, page
        for r in page["records"]:
            headers = [(h["key"], unb64(h["value"])) for h in r["headers"]]
            records.append((r["offset"], unb64(r.get("key")), unb64(r.get("value")),
                            headers, r["timestamp"]))
        offset = page["next_offset"]
        if offset >= page["tail"]:
            return records
    raise AssertionError(f"{topic}/{partition}: not at the tail after 1000 pages")


def next_offset(topic, partition):
    status, tail = http("GET", f"/v1/topics/{topic}/partitions/{partition}/tail")
    assert status == 200, tail
    return tail["next_offset"]


def silt_produce_keys(topic, keys):
    """Appends one record per key with `silt produce` (placement by the topic's partitioner);
    returns {key: partition}."""
    lines = "".join(json.dumps({"key": k, "value": f"placed {k}"}) + "\n" for k in keys)
    out = subprocess.run(
        [os.environ["SILT_BIN"], "produce", topic, "--format", "jsonl", "--print-acks"],
        input=lines.encode(), capture_output=True, timeout=PATIENCE, check=False)
    assert out.returncode == 0, out.stderr.decode()
    placed = {}
    # `--print-acks`: input line number, partition, offset.
    for ack in out.stdout.decode().splitlines():
        line, partition, _ = ack.split("\t")
        placed[keys[int(line)]] = int(partition)
    assert len(placed) == len(keys), out.stdout
    return placed


def wait_until(what, done, patience=PATIENCE):
    """Calls done() until it returns something true (returned), for at most `patience` s;
    `what` (text, or a function giving it) says what was awaited."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        value = done()
        if value:
            return value
    raise AssertionError(f"not within {patience} s: {what() if callable(what) else what}")


class KafkaTest(unittest.TestCase):
    """A test with its own topics (`self.topic`) and groups (`self.group`)."""

    def topic(self, partitions=1, suffix=""):
        name = f"{RUN}-{self._testMethodName[5:]}{suffix}"[:200]
        status, body = http("POST", "/v1/topics", {"name": name, "partitions": partitions})
        self.assertEqual(status, 201, body)
        return name

    def group(self, suffix=""):
        return f"{RUN}-{self._testMethodName[5:]}{suffix}"

    def assert_log(self, topic, partition, expected):
        """The partition holds exactly `expected`: [(offset, key, value, headers, ts)]."""
        self.assertEqual(read_log(topic, partition), sorted(expected))
