"""The Kinesis suite's harness: the boto3 client, unique streams, reading shards, expected
errors, signed raw requests, and the known-divergence helpers that apply suite.py's
KNOWN_DIVERGENCES table to the target under test (silt's agent or moto's Kinesis).

Configured by the environment: SILT_KINESIS_ENDPOINT (URL) and SILT_KINESIS_TARGET ("silt"
or "moto"); credentials and region are the usual AWS_* variables (any key on a loopback agent).
"""

import contextlib
import hashlib
import json
import os
import re
import unittest
import urllib.error
import urllib.request
import uuid

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["SILT_KINESIS_ENDPOINT"]
TARGET = os.environ["SILT_KINESIS_TARGET"]
REGION = "us-east-1"
HASH_SPACE = 2**128
MIB = 1024 * 1024
# Streams of this run are named RUN-...: a shared server (moto) keeps other runs' streams.
RUN = "k" + uuid.uuid4().hex[:8]
# GetRecords calls a read may make before the suite calls it stuck.
MAX_READS = 200

# Set by suite.py: {test_name: (target, reason)}.
DIVERGENCES = {}
# Names of the tests whose listed divergence was exercised on this target.
DIVERGED = set()


def client(**overrides):
    """A boto3 Kinesis client for the target, failing fast (one retry) so a refused request
    does not wait out the SDK's backoff."""
    config = Config(
        retries={"mode": "standard", "max_attempts": 2},
        connect_timeout=5,
        read_timeout=60,
    )
    return boto3.client(
        "kinesis", endpoint_url=ENDPOINT, region_name=REGION, config=config, **overrides
    )


def shard_id(i):
    return f"shardId-{i:012d}"


def even_ranges(n):
    """The hash-key ranges of a new stream of n shards, as Kinesis documents them: equal
    contiguous ranges from 0, the last one up to 2^128 - 1."""
    step = HASH_SPACE // n
    return [(i * step, HASH_SPACE - 1 if i == n - 1 else (i + 1) * step - 1) for i in range(n)]


def md5_hash_key(partition_key):
    """A partition key's hash key: its UTF-8 bytes' MD5 as a big-endian 128-bit number."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


def shard_of(hash_key, ranges):
    """The index of the shard whose (inclusive) range holds hash_key."""
    [index] = [i for i, (lo, hi) in enumerate(ranges) if lo <= hash_key <= hi]
    return index


def ranges_of(shards):
    """(start, end) hash keys of DescribeStream's or ListShards' shards."""
    return [
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in shards
    ]


def error_code(e):
    """A ClientError's Kinesis type, without a `namespace#` prefix."""
    return e.response["Error"]["Code"].split("#")[-1]


class KinesisTest(unittest.TestCase):
    """A test against the target: `self.k` is the client; streams made with `self.stream`
    are deleted when the test ends."""

    @classmethod
    def setUpClass(cls):
        cls.k = client()

    # --- known divergences -------------------------------------------------------------

    def diverges(self):
        """True when KNOWN_DIVERGENCES lists this test for the target under test: the test
        then checks the documented divergence instead of Kinesis' behaviour."""
        entry = DIVERGENCES.get(self._testMethodName)
        if entry is None or entry[0] != TARGET:
            return False
        DIVERGED.add(self._testMethodName)
        return True

    @contextlib.contextmanager
    def kinesis_behaviour(self):
        """Runs a block asserting Kinesis' documented behaviour. On a target for which this
        test is listed, the block must fail (and is then skipped over): a listed divergence
        that no longer diverges fails the test, so the table stays true."""
        if not self.diverges():
            yield
            return
        try:
            yield
        except Exception:  # the documented divergence: ignored for this target only
            return
        self.fail(
            f"KNOWN_DIVERGENCES lists {self._testMethodName} for {TARGET}, "
            "but it behaves as Kinesis documents: remove the entry"
        )

    # --- streams -----------------------------------------------------------------------

    def stream(self, shards=1, suffix=""):
        """Creates a stream for this test, waits for it with the SDK's waiter, and deletes
        it when the test ends."""
        name = f"{RUN}-{self._testMethodName[5:]}{suffix}"[:128]
        self.k.create_stream(StreamName=name, ShardCount=shards)
        self.k.get_waiter("stream_exists").wait(
            StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
        )
        self.addCleanup(self.delete_quietly, name)
        return name

    def delete_quietly(self, name):
        try:
            self.k.delete_stream(StreamName=name)
        except ClientError as e:
            if error_code(e) != "ResourceNotFoundException":
                raise

    def shards(self, name):
        return self.k.list_shards(StreamName=name)["Shards"]

    # --- reading -----------------------------------------------------------------------

    def iterator(self, name, shard, kind="TRIM_HORIZON", **position):
        return self.k.get_shard_iterator(
            StreamName=name, ShardId=shard, ShardIteratorType=kind, **position
        )["ShardIterator"]

    def read(self, iterator, limit=None):
        """Follows NextShardIterator from `iterator` until an empty answer at the tip
        (MillisBehindLatest 0); returns the records, checking each answer's shape."""
        records = []
        for _ in range(MAX_READS):
            args = {"ShardIterator": iterator}
            if limit is not None:
                args["Limit"] = limit
            out = self.k.get_records(**args)
            self.assertIsInstance(out["MillisBehindLatest"], int)
            self.assertGreaterEqual(out["MillisBehindLatest"], 0)
            if limit is not None:
                self.assertLessEqual(len(out["Records"]), limit)
            records += out["Records"]
            iterator = out["NextShardIterator"]
            self.assertTrue(iterator, "an open shard always has a NextShardIterator")
            if not out["Records"] and out["MillisBehindLatest"] == 0:
                return records
        self.fail(f"no empty answer at the tip after {MAX_READS} GetRecords")

    def read_shard(self, name, shard, kind="TRIM_HORIZON", **position):
        return self.read(self.iterator(name, shard, kind, **position))

    def read_all(self, name):
        """Every shard from TRIM_HORIZON: {shard id: [(sequence number, key, data)]}."""
        return {
            s["ShardId"]: [
                (r["SequenceNumber"], r["PartitionKey"], r["Data"])
                for r in self.read_shard(name, s["ShardId"])
            ]
            for s in self.shards(name)
        }

    def put_some(self, name, count=3):
        """Puts `count` small records; returns what read_all should find."""
        for i in range(count):
            self.k.put_record(StreamName=name, PartitionKey=f"key-{i}", Data=f"r{i}".encode())
        return self.read_all(name)

    # --- errors ------------------------------------------------------------------------

    def refused(self, code, call, **args):
        """Calls `call(**args)`, which must fail with HTTP 400 and Kinesis error type `code`
        and a message; returns the message."""
        with self.assertRaises(ClientError) as caught:
            call(**args)
        e = caught.exception
        self.assertEqual(error_code(e), code, e.response)
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 400, e.response)
        message = e.response["Error"].get("Message", "")
        self.assertTrue(message, f"{code} without a message: {e.response}")
        return message

    def raw(self, body, target="Kinesis_20131202.ListStreams", headers=None, signed=True):
        """POSTs `body` (bytes) to the endpoint, signed with SigV4 as the SDKs sign (unless
        `signed` is false), with X-Amz-Target `target` (none when None); returns (status,
        parsed JSON or None)."""
        head = {"Content-Type": "application/x-amz-json-1.1"}
        if target is not None:
            head["X-Amz-Target"] = target
        head.update(headers or {})
        request = AWSRequest(method="POST", url=ENDPOINT + "/", data=body, headers=head)
        if signed:
            credentials = boto3.Session().get_credentials().get_frozen_credentials()
            SigV4Auth(credentials, "kinesis", REGION).add_auth(request)
        sent = urllib.request.Request(
            ENDPOINT + "/", data=body, headers=dict(request.headers), method="POST"
        )
        try:
            with urllib.request.urlopen(sent, timeout=60) as answer:
                status, text = answer.status, answer.read()
        except urllib.error.HTTPError as answer:
            status, text = answer.code, answer.read()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, None

    def raw_refused(self, code, body, **kw):
        """A raw request answered 400 with Kinesis error type `code` and a message."""
        status, answer = self.raw(body, **kw)
        self.assertEqual(status, 400, answer)
        self.assertIsInstance(answer, dict, f"not a JSON error: {status}")
        self.assertEqual(answer.get("__type", "").split("#")[-1], code, answer)
        message = answer.get("message") or answer.get("Message")
        self.assertTrue(message, f"{code} without a message: {answer}")


def arn_pattern(name):
    return rf"^arn:aws:kinesis:{REGION}:\d{{12}}:stream/{re.escape(name)}$"
