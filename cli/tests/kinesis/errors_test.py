"""Requests an SDK sends that Kinesis refuses, each with its documented error type and
nothing changed; and the actions silt does not have (resharding, enhanced fan-out, tags),
which silt refuses with a message that names silt."""

from botocore.exceptions import ClientError

from harness import HASH_SPACE, MIB, KinesisTest, error_code, shard_id


class Errors(KinesisTest):
    def test_unknown_shard_is_not_found(self):
        name = self.stream(shards=2)
        for shard in [shard_id(2), shard_id(99), "shardId-nonsense"]:
            self.refused(
                "ResourceNotFoundException",
                self.k.get_shard_iterator,
                StreamName=name,
                ShardId=shard,
                ShardIteratorType="TRIM_HORIZON",
            )

    def test_tampered_iterator_is_invalid(self):
        name = self.stream()
        before = self.put_some(name)
        it = self.iterator(name, shard_id(0))
        middle = len(it) // 2
        tampered = it[:middle] + ("A" if it[middle] != "A" else "B") + it[middle + 1 :]
        with self.kinesis_behaviour():
            self.refused("InvalidArgumentException", self.k.get_records, ShardIterator=tampered)
        self.assertEqual(self.read_all(name), before)

    def test_sequence_number_of_another_shard_is_invalid(self):
        name = self.stream(shards=2)
        on_first = self.k.put_record(
            StreamName=name, PartitionKey="k", ExplicitHashKey="0", Data=b"x"
        )
        self.assertEqual(on_first["ShardId"], shard_id(0))
        with self.kinesis_behaviour():
            self.refused(
                "InvalidArgumentException",
                self.k.get_shard_iterator,
                StreamName=name,
                ShardId=shard_id(1),
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                StartingSequenceNumber=on_first["SequenceNumber"],
            )

    def test_get_records_limit_over_10000_is_invalid(self):
        name = self.stream()
        it = self.iterator(name, shard_id(0))
        with self.kinesis_behaviour():
            self.refused("InvalidArgumentException", self.k.get_records, ShardIterator=it, Limit=10001)

    def test_put_record_data_over_1_mib_is_refused(self):
        name = self.stream()
        before = self.put_some(name)
        with self.kinesis_behaviour():
            self.refused(
                "ValidationException",
                self.k.put_record,
                StreamName=name,
                PartitionKey="big",
                Data=b"x" * (MIB + 1),
            )
            self.assertEqual(self.read_all(name), before)

    def test_partition_key_over_256_characters_is_refused(self):
        name = self.stream()
        before = self.put_some(name)
        with self.kinesis_behaviour():
            self.refused(
                "ValidationException",
                self.k.put_record,
                StreamName=name,
                PartitionKey="k" * 257,
                Data=b"x",
            )
        self.assertEqual(self.read_all(name), before)

    def test_explicit_hash_key_beyond_2_128_is_invalid(self):
        name = self.stream(shards=2)
        before = self.put_some(name)
        self.refused(
            "InvalidArgumentException",
            self.k.put_record,
            StreamName=name,
            PartitionKey="k",
            ExplicitHashKey=str(HASH_SPACE),
            Data=b"x",
        )
        self.assertEqual(self.read_all(name), before)

    def test_put_records_501_is_refused_nothing_written(self):
        name = self.stream(shards=2)
        self.refused(
            "ValidationException",
            self.k.put_records,
            StreamName=name,
            Records=[{"PartitionKey": f"k{i}", "Data": b"x"} for i in range(501)],
        )
        self.assertEqual(self.read_all(name), {shard_id(0): [], shard_id(1): []})

    def test_list_shards_next_token_with_stream_name_is_invalid(self):
        name = self.stream(shards=3)
        token = self.k.list_shards(StreamName=name, MaxResults=1)["NextToken"]
        with self.kinesis_behaviour():
            self.refused(
                "InvalidArgumentException",
                self.k.list_shards,
                StreamName=name,
                NextToken=token,
            )

    def not_in_silt(self, call, **args):
        """silt refuses an action it does not have, saying so."""
        with self.assertRaises(ClientError) as caught:
            call(**args)
        e = caught.exception
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 400, e.response)
        self.assertIn(
            error_code(e), ("InvalidArgumentException", "UnknownOperationException"), e.response
        )
        self.assertIn("silt", e.response["Error"]["Message"], e.response)

    def test_update_shard_count(self):
        name = self.stream(shards=2)
        if self.diverges():
            self.not_in_silt(
                self.k.update_shard_count,
                StreamName=name,
                TargetShardCount=4,
                ScalingType="UNIFORM_SCALING",
            )
            self.assertEqual(len(self.shards(name)), 2)
            return
        out = self.k.update_shard_count(
            StreamName=name, TargetShardCount=4, ScalingType="UNIFORM_SCALING"
        )
        self.assertEqual((out["CurrentShardCount"], out["TargetShardCount"]), (2, 4))

    def test_merge_shards(self):
        name = self.stream(shards=2)
        if self.diverges():
            self.not_in_silt(
                self.k.merge_shards,
                StreamName=name,
                ShardToMerge=shard_id(0),
                AdjacentShardToMerge=shard_id(1),
            )
            self.assertEqual(len(self.shards(name)), 2)
            return
        self.k.merge_shards(
            StreamName=name, ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(1)
        )
        self.assertEqual(len(self.shards(name)), 3, "two closed parents and their child")

    def test_register_stream_consumer(self):
        name = self.stream()
        arn = self.k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
            "StreamARN"
        ]
        if self.diverges():
            self.not_in_silt(self.k.register_stream_consumer, StreamARN=arn, ConsumerName="c")
            return
        out = self.k.register_stream_consumer(StreamARN=arn, ConsumerName="c")
        self.assertEqual(out["Consumer"]["ConsumerName"], "c")

    def test_add_tags_to_stream(self):
        name = self.stream()
        if self.diverges():
            self.not_in_silt(self.k.add_tags_to_stream, StreamName=name, Tags={"team": "a"})
            self.assertEqual(self.k.list_tags_for_stream(StreamName=name)["Tags"], [])
            return
        self.k.add_tags_to_stream(StreamName=name, Tags={"team": "a"})
        tags = self.k.list_tags_for_stream(StreamName=name)["Tags"]
        self.assertEqual(tags, [{"Key": "team", "Value": "a"}])

