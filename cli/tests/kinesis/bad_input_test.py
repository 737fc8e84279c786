"""Bad input no SDK sends, as raw HTTP requests signed with SigV4: malformed JSON, a wrong or
missing X-Amz-Target, an unknown action, bad base64, oversize data and batches, a forged
iterator. Each is answered 400 with Kinesis' error type, and the stream's records are
unchanged. (An expired iterator needs a clock that can be moved: the agent's own Rust tests
cover it.)"""

import base64
import json

from harness import MIB, KinesisTest, shard_id

KINESIS = "Kinesis_20131202."


def b64(data):
    return base64.b64encode(data).decode()


def body(**fields):
    return json.dumps(fields).encode()


class BadInput(KinesisTest):
    def setUp(self):
        self.name = self.stream(shards=2)
        self.before = self.put_some(self.name)

    def unchanged(self):
        self.assertEqual(self.read_all(self.name), self.before)

    def test_malformed_json(self):
        with self.kinesis_behaviour():
            self.raw_refused(
                "SerializationException",
                b'{"StreamName": "' + self.name.encode() + b'", "PartitionKey": ',
                target=KINESIS + "PutRecord",
            )
        self.unchanged()

    def test_json_that_is_not_an_object(self):
        with self.kinesis_behaviour():
            self.raw_refused("SerializationException", b'["PutRecord"]', target=KINESIS + "PutRecord")
        self.unchanged()

    def test_unknown_action(self):
        with self.kinesis_behaviour():
            self.raw_refused(
                "UnknownOperationException",
                body(StreamName=self.name),
                target=KINESIS + "DropAllRecords",
            )
        self.unchanged()

    def test_wrong_target(self):
        with self.kinesis_behaviour():
            self.raw_refused(
                "UnknownOperationException",
                body(StreamName=self.name, PartitionKey="k", Data=b64(b"x")),
                target="DynamoDB_20120810.PutRecord",
            )
            self.unchanged()

    def test_missing_target(self):
        with self.kinesis_behaviour():
            self.raw_refused(
                "UnknownOperationException",
                body(StreamName=self.name, PartitionKey="k", Data=b64(b"x")),
                target=None,
            )
        self.unchanged()

    def test_bad_base64_data(self):
        with self.kinesis_behaviour():
            self.raw_refused(
                "SerializationException",
                body(StreamName=self.name, PartitionKey="k", Data="not base64!"),
                target=KINESIS + "PutRecord",
            )
            self.unchanged()

    def test_bad_base64_in_put_records(self):
        records = [
            {"PartitionKey": "good", "Data": b64(b"fine")},
            {"PartitionKey": "bad", "Data": "%%%"},
        ]
        with self.kinesis_behaviour():
            self.raw_refused(
                "SerializationException",
                body(StreamName=self.name, Records=records),
                target=KINESIS + "PutRecords",
            )
            self.unchanged()

    def test_oversize_data_in_put_records(self):
        records = [
            {"PartitionKey": "good", "Data": b64(b"fine")},
            {"PartitionKey": "big", "Data": b64(b"x" * (MIB + 1))},
        ]
        self.raw_refused(
            "ValidationException",
            body(StreamName=self.name, Records=records),
            target=KINESIS + "PutRecords",
        )
        self.unchanged()

    def test_501_records_in_put_records(self):
        records = [{"PartitionKey": f"k{i}", "Data": b64(b"x")} for i in range(501)]
        self.raw_refused(
            "ValidationException",
            body(StreamName=self.name, Records=records),
            target=KINESIS + "PutRecords",
        )
        self.unchanged()

    def test_put_records_over_5_mib(self):
        record = {"PartitionKey": "k", "Data": b64(b"y" * (MIB - 1024))}
        self.raw_refused(
            "InvalidArgumentException",
            body(StreamName=self.name, Records=[record] * 6),
            target=KINESIS + "PutRecords",
        )
        self.unchanged()

    def test_forged_iterator(self):
        forged = b64(b"silt iterator" * 8)
        with self.kinesis_behaviour():
            self.raw_refused(
                "InvalidArgumentException",
                body(ShardIterator=forged),
                target=KINESIS + "GetRecords",
            )
        self.unchanged()

    def test_iterator_that_is_not_base64(self):
        with self.kinesis_behaviour():
            self.raw_refused(
                "InvalidArgumentException",
                body(ShardIterator="!" * 64),
                target=KINESIS + "GetRecords",
            )
        self.unchanged()

    def test_missing_required_member(self):
        with self.kinesis_behaviour():
            self.raw_refused(
                "ValidationException",
                body(StreamName=self.name, Data=b64(b"x")),
                target=KINESIS + "PutRecord",
            )
        self.unchanged()

    def test_iterator_type_unknown(self):
        with self.kinesis_behaviour():
            self.raw_refused(
                "ValidationException",
                body(StreamName=self.name, ShardId=shard_id(0), ShardIteratorType="SOMEWHERE"),
                target=KINESIS + "GetShardIterator",
            )
        self.unchanged()
