"""Records as a Kinesis producer and consumer see them: PutRecord and PutRecords placed by the
MD5 of the partition key (hash-key ranges computed here) or by ExplicitHashKey, every shard
iterator type, GetRecords paging, and reading every shard from TRIM_HORIZON."""

import datetime

from harness import (
    HASH_SPACE,
    KinesisTest,
    even_ranges,
    md5_hash_key,
    ranges_of,
    shard_id,
    shard_of,
)

# Keys of every shape a producer sends: ASCII, UTF-8 beyond ASCII, the longest (256).
KEYS = [f"user-{i}" for i in range(40)] + ["ключ-🔑", "k" * 256, " "]


class Placement(KinesisTest):
    def test_put_record_places_by_md5_of_partition_key(self):
        name = self.stream(shards=3)
        ranges = ranges_of(self.shards(name))
        self.assertEqual(ranges, even_ranges(3))
        placed = set()
        for key in KEYS:
            out = self.k.put_record(StreamName=name, PartitionKey=key, Data=key.encode())
            expected = shard_id(shard_of(md5_hash_key(key), ranges))
            self.assertEqual(out["ShardId"], expected, key)
            placed.add(out["ShardId"])
        self.assertEqual(placed, {shard_id(i) for i in range(3)}, "every shard got a key")
        for shard, records in self.read_all(name).items():
            for _, key, data in records:
                self.assertEqual(shard_id(shard_of(md5_hash_key(key), ranges)), shard)
                self.assertEqual(data, key.encode())

    def test_put_records_places_by_md5_and_explicit_hash_key(self):
        name = self.stream(shards=4)
        ranges = ranges_of(self.shards(name))
        entries = [{"PartitionKey": k, "Data": k.encode()} for k in KEYS]
        explicit = [(i, str(lo + (hi - lo) // 3)) for i, (lo, hi) in enumerate(ranges)]
        entries += [
            {"PartitionKey": "same-key", "ExplicitHashKey": h, "Data": f"explicit {i}".encode()}
            for i, h in explicit
        ]
        out = self.k.put_records(StreamName=name, Records=entries)
        self.assertEqual(out.get("FailedRecordCount", 0), 0)
        self.assertEqual(len(out["Records"]), len(entries))
        for entry, result in zip(entries, out["Records"]):
            if "ExplicitHashKey" in entry:
                expected = shard_of(int(entry["ExplicitHashKey"]), ranges)
            else:
                expected = shard_of(md5_hash_key(entry["PartitionKey"]), ranges)
            self.assertEqual(result["ShardId"], shard_id(expected), entry["PartitionKey"])
            self.assertTrue(result["SequenceNumber"].isdigit())

    def test_explicit_hash_key_overrides_partition_key(self):
        name = self.stream(shards=4)
        for i, (lo, hi) in enumerate(ranges_of(self.shards(name))):
            for h in (lo, (lo + hi) // 2):
                out = self.k.put_record(
                    StreamName=name, PartitionKey="same-key", ExplicitHashKey=str(h), Data=b"x"
                )
                self.assertEqual(out["ShardId"], shard_id(i), h)

    def test_explicit_hash_key_at_range_end(self):
        name = self.stream(shards=4)
        with self.kinesis_behaviour():
            for i, (_, hi) in enumerate(ranges_of(self.shards(name))):
                out = self.k.put_record(
                    StreamName=name, PartitionKey="k", ExplicitHashKey=str(hi), Data=b"x"
                )
                self.assertEqual(out["ShardId"], shard_id(i), hi)
            self.assertEqual(hi, HASH_SPACE - 1)


class Reading(KinesisTest):
    def test_put_record_read_back_in_order(self):
        name = self.stream()
        sequence, put = None, []
        for i in range(5):
            args = {"StreamName": name, "PartitionKey": f"p{i}", "Data": bytes([i, 0, 255])}
            if sequence:
                args["SequenceNumberForOrdering"] = sequence
            out = self.k.put_record(**args)
            self.assertEqual(out["ShardId"], shard_id(0))
            if sequence:
                self.assertGreater(int(out["SequenceNumber"]), int(sequence))
            sequence = out["SequenceNumber"]
            put.append((sequence, f"p{i}", bytes([i, 0, 255])))
        records = self.read_shard(name, shard_id(0))
        self.assertEqual([(r["SequenceNumber"], r["PartitionKey"], r["Data"]) for r in records], put)
        arrivals = [r["ApproximateArrivalTimestamp"] for r in records]
        for a in arrivals:
            self.assertIsInstance(a, datetime.datetime)
        self.assertEqual(arrivals, sorted(arrivals))

    def test_put_records_500_read_back_exactly_once_in_order(self):
        name = self.stream(shards=4)
        entries = [{"PartitionKey": f"k{i}", "Data": f"record {i}".encode()} for i in range(500)]
        out = self.k.put_records(StreamName=name, Records=entries)
        self.assertEqual(out.get("FailedRecordCount", 0), 0)
        expected = {
            (r["ShardId"], r["SequenceNumber"], e["PartitionKey"], e["Data"])
            for e, r in zip(entries, out["Records"])
        }
        self.assertEqual(len(expected), 500)
        read = set()
        for shard, records in self.read_all(name).items():
            sequences = [int(s) for s, _, _ in records]
            self.assertEqual(sequences, sorted(sequences), f"{shard} in sequence order")
            self.assertEqual(len(set(sequences)), len(sequences), f"{shard} once each")
            read |= {(shard, s, k, d) for s, k, d in records}
        self.assertEqual(read, expected)

    def test_get_records_limit_and_next_shard_iterator(self):
        name = self.stream()
        put = [self.k.put_record(StreamName=name, PartitionKey="k", Data=bytes([i])) for i in range(10)]
        it = self.iterator(name, shard_id(0))
        sizes = []
        for _ in range(4):
            out = self.k.get_records(ShardIterator=it, Limit=3)
            sizes.append(len(out["Records"]))
            it = out["NextShardIterator"]
        self.assertEqual(sizes, [3, 3, 3, 1])
        self.assertEqual(out["MillisBehindLatest"], 0)
        self.assertEqual(out["Records"][0]["SequenceNumber"], put[-1]["SequenceNumber"])
        # The default Limit (10 000) returns them all; Limit 10 000 is accepted.
        everything = self.k.get_records(ShardIterator=self.iterator(name, shard_id(0)), Limit=10000)
        self.assertEqual([r["Data"] for r in everything["Records"]], [bytes([i]) for i in range(10)])

    def test_get_records_at_the_tip_is_empty_and_continues(self):
        name = self.stream()
        out = self.k.get_records(ShardIterator=self.iterator(name, shard_id(0)))
        self.assertEqual(out["Records"], [])
        self.assertEqual(out["MillisBehindLatest"], 0)
        self.assertTrue(out["NextShardIterator"])
        self.k.put_record(StreamName=name, PartitionKey="k", Data=b"later")
        later = self.k.get_records(ShardIterator=out["NextShardIterator"])
        self.assertEqual([r["Data"] for r in later["Records"]], [b"later"])

    def test_latest_iterator_reads_only_what_comes_after(self):
        name = self.stream()
        self.put_some(name, 2)
        latest = self.iterator(name, shard_id(0), "LATEST")
        self.assertEqual(self.k.get_records(ShardIterator=latest)["Records"], [])
        self.k.put_record(StreamName=name, PartitionKey="k", Data=b"new")
        self.assertEqual([r["Data"] for r in self.read(latest)], [b"new"])

    def test_at_and_after_sequence_number(self):
        name = self.stream()
        seqs = [
            self.k.put_record(StreamName=name, PartitionKey="k", Data=bytes([i]))["SequenceNumber"]
            for i in range(6)
        ]
        at = self.read_shard(name, shard_id(0), "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
        self.assertEqual([r["SequenceNumber"] for r in at], seqs[2:])
        after = self.read_shard(
            name, shard_id(0), "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2]
        )
        self.assertEqual([r["SequenceNumber"] for r in after], seqs[3:])
        last = self.read_shard(
            name, shard_id(0), "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[-1]
        )
        self.assertEqual(last, [])

    def test_replay_from_a_sequence_number(self):
        name = self.stream(shards=2)
        self.k.put_records(
            StreamName=name,
            Records=[{"PartitionKey": f"k{i}", "Data": f"d{i}".encode()} for i in range(30)],
        )
        for shard, records in self.read_all(name).items():
            self.assertGreater(len(records), 3, shard)
            middle = records[len(records) // 2][0]
            replay = self.read_shard(name, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=middle)
            self.assertEqual(
                [(r["SequenceNumber"], r["PartitionKey"], r["Data"]) for r in replay],
                records[len(records) // 2 :],
            )

    def test_at_timestamp(self):
        name = self.stream()
        before = self.put_some(name, 3)[shard_id(0)]
        first = self.read_shard(name, shard_id(0))
        newest = max(r["ApproximateArrivalTimestamp"] for r in first)
        # Put until a record arrives 2 ms after the first ones (no sleep: each put takes time).
        later = None
        for i in range(1000):
            out = self.k.put_record(StreamName=name, PartitionKey="k", Data=f"later {i}".encode())
            [record] = self.read_shard(
                name, shard_id(0), "AT_SEQUENCE_NUMBER", StartingSequenceNumber=out["SequenceNumber"]
            )
            if record["ApproximateArrivalTimestamp"] >= newest + datetime.timedelta(milliseconds=2):
                later = record
                break
        self.assertIsNotNone(later, "no put arrived 2 ms after another")
        cut = newest + datetime.timedelta(milliseconds=1)
        since = self.read_shard(name, shard_id(0), "AT_TIMESTAMP", Timestamp=cut)
        self.assertEqual(since[-1]["SequenceNumber"], later["SequenceNumber"])
        all_records = self.read_shard(name, shard_id(0))
        self.assertEqual(since, all_records[len(all_records) - len(since) :], "a suffix")
        self.assertTrue({s for s, _, _ in before}.isdisjoint(r["SequenceNumber"] for r in since))
        # A time before the stream existed starts at its oldest record.
        old = self.read_shard(
            name, shard_id(0), "AT_TIMESTAMP", Timestamp=datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc)
        )
        self.assertEqual(old, all_records)

    def test_partition_key_and_data_returned_as_put(self):
        name = self.stream(shards=2)
        data = bytes(range(256)) * 4
        for key in ["ключ-🔑", "k" * 256, "a b\tc"]:
            out = self.k.put_record(StreamName=name, PartitionKey=key, Data=data)
            [r] = self.read_shard(
                name, out["ShardId"], "AT_SEQUENCE_NUMBER", StartingSequenceNumber=out["SequenceNumber"]
            )[:1]
            self.assertEqual((r["PartitionKey"], r["Data"]), (key, data))

    def test_large_records_accepted(self):
        name = self.stream()
        data = b"\x07" * (1024 * 1024 - 1024)
        out = self.k.put_records(
            StreamName=name, Records=[{"PartitionKey": "big", "Data": data} for _ in range(4)]
        )
        self.assertEqual(out.get("FailedRecordCount", 0), 0)
        records = self.read_shard(name, shard_id(0))
        self.assertEqual([r["Data"] for r in records], [data] * 4)
