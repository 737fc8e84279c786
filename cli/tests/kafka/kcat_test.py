"""kcat (Debian's package; librdkafka built in): -L lists the agents and a topic's partitions,
-P produces keyed records with headers, -C -o beginning|end|N|-N -e reads (from the tail cache
of the agent that took the records), and -G consumes as a group member whose commits a second
run resumes from."""

import json
import shutil
import subprocess
import unittest

from harness import BOOTSTRAP, PATIENCE, KafkaTest, read_log, tail_cache_reads

KCAT = shutil.which("kcat")
FORMAT = "%p|%o|%k|%s|%h\\n"


def kcat(*args, stdin=b""):
    out = subprocess.run([KCAT, "-b", BOOTSTRAP, *args], input=stdin, capture_output=True,
                         timeout=PATIENCE, check=False)
    assert out.returncode == 0, f"kcat {args}: {out.returncode}\n{out.stderr.decode()}"
    return out.stdout.decode()


def lines(text):
    """kcat's -f FORMAT lines as (partition, offset, key, value, headers)."""
    parsed = []
    for line in text.splitlines():
        p, o, k, v, h = line.split("|")
        parsed.append((int(p), int(o), k, v, h))
    return parsed


@unittest.skipIf(KCAT is None, "kcat is not installed (./scripts/test installs it with apt)")
class Kcat(KafkaTest):
    def produce(self, topic, text, *args):
        kcat("-P", "-t", topic, "-K", ":", *args, stdin=text.encode())

    def test_list_brokers_and_topic(self):
        topic = self.topic(partitions=3)
        meta = json.loads(kcat("-L", "-J", "-t", topic))
        self.assertEqual(len(meta["brokers"]), 2, meta)
        ids = {b["id"] for b in meta["brokers"]}
        [described] = meta["topics"]
        self.assertEqual(described["topic"], topic)
        self.assertEqual([p["partition"] for p in described["partitions"]], [0, 1, 2])
        for p in described["partitions"]:
            self.assertIn(p["leader"], ids, p)

    def test_produce_with_keys_and_headers(self):
        topic = self.topic()
        self.produce(topic, "k1:hello\nk2:world\n", "-p", "0", "-H", "source=kcat",
                     "-H", "n=1")
        log = read_log(topic, 0)
        self.assertEqual([(o, k, v, h) for o, k, v, h, _ in log],
                         [(0, b"k1", b"hello", [("source", b"kcat"), ("n", b"1")]),
                          (1, b"k2", b"world", [("source", b"kcat"), ("n", b"1")])])

    def test_consume_from_beginning_end_and_an_offset(self):
        topic = self.topic()
        self.produce(topic, "".join(f"key{i}:value{i}\n" for i in range(6)), "-p", "0")
        every = [(0, i, f"key{i}", f"value{i}", "") for i in range(6)]

        def read(offset):
            return lines(kcat("-C", "-t", topic, "-p", "0", "-o", offset, "-e", "-f", FORMAT))

        self.assertEqual(read("beginning"), every)
        self.assertEqual(read("end"), [])
        self.assertEqual(read("4"), every[4:])
        self.assertEqual(read("-2"), every[4:], "relative to the end")
        # The agent that took the records served kcat's fetches from its tail cache (only
        # kcat reads this topic): no segment was fetched from the store.
        reads = tail_cache_reads(topic)
        self.assertGreater(reads["hit"], 0, reads)
        self.assertEqual(reads["miss"], 0, reads)

    def test_balanced_consumer_resumes_from_its_commits(self):
        topic = self.topic(partitions=2)
        for p in (0, 1):
            self.produce(topic, f"a{p}:first {p}\nb{p}:second {p}\n", "-p", str(p))
        group = self.group()

        def member():
            return sorted(lines(kcat("-G", group, "-X", "auto.offset.reset=earliest", "-e",
                                     "-f", FORMAT, topic)))

        self.assertEqual(member(), [(0, 0, "a0", "first 0", ""), (0, 1, "b0", "second 0", ""),
                                    (1, 0, "a1", "first 1", ""), (1, 1, "b1", "second 1", "")])
        self.assertEqual(member(), [], "the group committed what it read")
        self.produce(topic, "c1:third 1\n", "-p", "1")
        self.assertEqual(member(), [(1, 2, "c1", "third 1", "")])
