"""Streams as a Kinesis user manages them: create and its waiter, describe (with paging), the
summary, list streams and shards (with paging), addressing by ARN, retention, delete and its
waiter."""

import datetime

from botocore.exceptions import WaiterError

from harness import (
    REGION,
    KinesisTest,
    arn_pattern,
    even_ranges,
    ranges_of,
    shard_id,
)


class Streams(KinesisTest):
    def test_create_stream_is_active_with_even_hash_key_ranges(self):
        name = self.stream(shards=3)
        d = self.k.describe_stream(StreamName=name)["StreamDescription"]
        self.assertEqual(d["StreamName"], name)
        self.assertEqual(d["StreamStatus"], "ACTIVE")
        self.assertRegex(d["StreamARN"], arn_pattern(name))
        self.assertEqual(d["RetentionPeriodHours"], 24)
        self.assertIsInstance(d["StreamCreationTimestamp"], datetime.datetime)
        self.assertFalse(d["HasMoreShards"])
        self.assertEqual([s["ShardId"] for s in d["Shards"]], [shard_id(i) for i in range(3)])
        self.assertEqual(ranges_of(d["Shards"]), even_ranges(3))
        for s in d["Shards"]:
            self.assertIn("StartingSequenceNumber", s["SequenceNumberRange"])
            self.assertNotIn("EndingSequenceNumber", s["SequenceNumberRange"], "shard is open")

    def test_describe_stream_summary(self):
        name = self.stream(shards=2)
        s = self.k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        self.assertEqual(s["StreamName"], name)
        self.assertEqual(s["StreamStatus"], "ACTIVE")
        self.assertEqual(s["OpenShardCount"], 2)
        self.assertEqual(s["RetentionPeriodHours"], 24)
        self.assertRegex(s["StreamARN"], arn_pattern(name))
        self.assertIsInstance(s["StreamCreationTimestamp"], datetime.datetime)

    def test_describe_stream_paging(self):
        name = self.stream(shards=5)
        first = self.k.describe_stream(StreamName=name, Limit=2)["StreamDescription"]
        self.assertEqual([s["ShardId"] for s in first["Shards"]], [shard_id(0), shard_id(1)])
        self.assertTrue(first["HasMoreShards"])
        with self.kinesis_behaviour():
            seen, last, pages = [], first["Shards"][-1]["ShardId"], 1
            seen += [s["ShardId"] for s in first["Shards"]]
            while pages < 10:
                page = self.k.describe_stream(
                    StreamName=name, Limit=2, ExclusiveStartShardId=last
                )["StreamDescription"]
                pages += 1
                seen += [s["ShardId"] for s in page["Shards"]]
                if not page["HasMoreShards"]:
                    break
                last = page["Shards"][-1]["ShardId"]
            self.assertEqual(seen, [shard_id(i) for i in range(5)])
            self.assertEqual(pages, 3)

    def test_list_streams_paging_by_exclusive_start_name(self):
        names = [self.stream(suffix=f"-{i}") for i in range(3)]
        listed = self.all_stream_names()
        for n in names:
            self.assertEqual(listed.count(n), 1, f"{n} in {listed}")

    def test_list_streams_paging_by_next_token(self):
        names = [self.stream(suffix=f"-{i}") for i in range(3)]
        page = self.k.list_streams(Limit=1)
        listed = list(page["StreamNames"])
        self.assertEqual(len(listed), 1)
        with self.kinesis_behaviour():
            for _ in range(1000):
                if not page["HasMoreStreams"]:
                    break
                page = self.k.list_streams(NextToken=page["NextToken"], Limit=1)
                listed += page["StreamNames"]
            for n in names:
                self.assertEqual(listed.count(n), 1, f"{n} in {listed}")
            summaries = self.k.list_streams()["StreamSummaries"]
            self.assertIn(names[0], [s["StreamName"] for s in summaries])

    def test_list_shards_paging_by_next_token(self):
        name = self.stream(shards=5)
        page = self.k.list_shards(StreamName=name, MaxResults=2)
        self.assertEqual([s["ShardId"] for s in page["Shards"]], [shard_id(0), shard_id(1)])
        self.assertTrue(page.get("NextToken"))
        listed = [s["ShardId"] for s in page["Shards"]]
        with self.kinesis_behaviour():
            for _ in range(10):
                if not page.get("NextToken"):
                    break
                page = self.k.list_shards(NextToken=page["NextToken"], MaxResults=2)
                listed += [s["ShardId"] for s in page["Shards"]]
            self.assertEqual(listed, [shard_id(i) for i in range(5)])
        everything = self.k.list_shards(StreamName=name)
        self.assertEqual(ranges_of(everything["Shards"]), even_ranges(5))
        self.assertFalse(everything.get("NextToken"))

    def test_list_shards_exclusive_start_shard_id(self):
        name = self.stream(shards=4)
        page = self.k.list_shards(StreamName=name, ExclusiveStartShardId=shard_id(1))
        with self.kinesis_behaviour():
            self.assertEqual([s["ShardId"] for s in page["Shards"]], [shard_id(2), shard_id(3)])

    def test_stream_addressed_by_arn(self):
        name = self.stream(shards=2)
        arn = self.k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
            "StreamARN"
        ]
        self.assertEqual(arn.split(":")[3], REGION)
        by_arn = self.k.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]
        self.assertEqual(by_arn["StreamName"], name)
        put = self.k.put_record(StreamARN=arn, PartitionKey="p", Data=b"by arn")
        self.assertEqual(len(self.k.list_shards(StreamARN=arn)["Shards"]), 2)
        it = self.k.get_shard_iterator(
            StreamARN=arn, ShardId=put["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = self.k.get_records(ShardIterator=it, StreamARN=arn)["Records"]
        self.assertEqual([r["Data"] for r in records], [b"by arn"])
        self.k.delete_stream(StreamARN=arn)
        self.refused("ResourceNotFoundException", self.k.describe_stream_summary, StreamName=name)

    def test_increase_and_decrease_retention(self):
        name = self.stream()

        def hours():
            return self.k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
                "RetentionPeriodHours"
            ]

        self.k.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=168)
        self.assertEqual(hours(), 168)
        self.k.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
        self.assertEqual(hours(), 48)
        self.k.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8760)
        self.assertEqual(hours(), 8760)
        self.k.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=24)
        self.assertEqual(hours(), 24)

    def test_retention_errors(self):
        name = self.stream()
        self.k.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
        cases = [
            (self.k.increase_stream_retention_period, 8761),  # beyond 365 days
            (self.k.increase_stream_retention_period, 24),  # shorter than now: use decrease
            (self.k.decrease_stream_retention_period, 72),  # longer than now: use increase
            (self.k.decrease_stream_retention_period, 23),  # below 24 hours
        ]
        for call, value in cases:
            self.refused(
                "InvalidArgumentException", call, StreamName=name, RetentionPeriodHours=value
            )
        self.assertEqual(
            self.k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
                "RetentionPeriodHours"
            ],
            48,
        )
        self.refused(
            "ResourceNotFoundException",
            self.k.increase_stream_retention_period,
            StreamName=name + "-none",
            RetentionPeriodHours=48,
        )

    def test_delete_stream_and_waiter(self):
        name = self.stream(shards=2)
        self.put_some(name)
        self.k.delete_stream(StreamName=name)
        self.k.get_waiter("stream_not_exists").wait(
            StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
        )
        self.refused("ResourceNotFoundException", self.k.describe_stream, StreamName=name)
        self.refused(
            "ResourceNotFoundException",
            self.k.put_record,
            StreamName=name,
            PartitionKey="k",
            Data=b"after delete",
        )
        self.refused("ResourceNotFoundException", self.k.delete_stream, StreamName=name)

    def test_recreate_deleted_stream(self):
        # Once the waiter says a deleted stream is gone, its name makes a new stream, without
        # the old records.
        name = self.stream(shards=2)
        self.put_some(name)
        self.k.delete_stream(StreamName=name)
        self.k.get_waiter("stream_not_exists").wait(
            StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
        )
        if self.diverges():
            message = self.refused(
                "ResourceInUseException", self.k.create_stream, StreamName=name, ShardCount=1
            )
            self.assertIn("silt gc run", message)
            return
        self.k.create_stream(StreamName=name, ShardCount=1)
        self.k.get_waiter("stream_exists").wait(
            StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
        )
        self.assertEqual(self.read_all(name), {shard_id(0): []})

    def test_create_existing_stream_is_in_use(self):
        name = self.stream(shards=2)
        self.refused("ResourceInUseException", self.k.create_stream, StreamName=name, ShardCount=1)
        self.assertEqual(len(self.shards(name)), 2)

    def test_unknown_stream_is_not_found(self):
        name = f"{self.stream()}-none"
        for call, args in [
            (self.k.describe_stream, {}),
            (self.k.describe_stream_summary, {}),
            (self.k.list_shards, {}),
            (self.k.delete_stream, {}),
            (self.k.put_record, {"PartitionKey": "k", "Data": b"x"}),
            (self.k.put_records, {"Records": [{"PartitionKey": "k", "Data": b"x"}]}),
            (self.k.get_shard_iterator, {"ShardId": shard_id(0), "ShardIteratorType": "LATEST"}),
        ]:
            with self.subTest(call=call.__name__):
                self.refused("ResourceNotFoundException", call, StreamName=name, **args)

    def test_waiter_on_a_stream_that_does_not_exist(self):
        with self.assertRaises(WaiterError) as caught:
            self.k.get_waiter("stream_exists").wait(
                StreamName=f"{self.stream()}-never", WaiterConfig={"Delay": 0.01, "MaxAttempts": 2}
            )
        self.assertIn("ResourceNotFoundException", str(caught.exception))

    def test_deleted_stream_gone_from_listing(self):
        names = [self.stream(suffix=f"-{i}") for i in range(2)]
        self.k.delete_stream(StreamName=names[0])
        listed = self.all_stream_names()
        self.assertNotIn(names[0], listed)
        self.assertIn(names[1], listed)

    def test_iterator_of_a_deleted_stream_is_not_found(self):
        name = self.stream()
        self.put_some(name)
        it = self.iterator(name, shard_id(0))
        self.k.delete_stream(StreamName=name)
        self.refused("ResourceNotFoundException", self.k.get_records, ShardIterator=it)

    def all_stream_names(self):
        listed, start = [], None
        for _ in range(1000):  # a shared server may hold other runs' streams
            args = {"Limit": 2}
            if start:
                args["ExclusiveStartStreamName"] = start
            page = self.k.list_streams(**args)
            self.assertLessEqual(len(page["StreamNames"]), 2)
            listed += page["StreamNames"]
            if not page["HasMoreStreams"]:
                return listed
            start = page["StreamNames"][-1]
        self.fail("ListStreams never said HasMoreStreams false")
