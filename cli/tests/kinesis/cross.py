"""The Kinesis side of cli/tests/kinesis.rs's cross-protocol test, one JSON line per record:

    cross.py put STREAM SHARDS COUNT   creates STREAM, puts COUNT records with boto3 (PutRecords
                                       and PutRecord) and prints where each went:
                                       {"shard", "seq", "key", "data"}
    cross.py read STREAM SHARD         prints every record of SHARD from TRIM_HORIZON:
                                       {"seq", "key", "data", "arrival_ms"}

Data is base64. The endpoint is SILT_KINESIS_ENDPOINT, as for suite.py.
"""

import base64
import json
import os
import sys

import boto3

MAX_READS = 100


def client():
    return boto3.client(
        "kinesis", endpoint_url=os.environ["SILT_KINESIS_ENDPOINT"], region_name="us-east-1"
    )


def b64(data):
    return base64.b64encode(data).decode()


def put(stream, shards, count):
    k = client()
    k.create_stream(StreamName=stream, ShardCount=int(shards))
    k.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
    entries = [
        {"PartitionKey": f"kinesis-{i}", "Data": f"from kinesis {i}".encode()}
        for i in range(int(count) - 1)
    ]
    out = k.put_records(StreamName=stream, Records=entries)["Records"]
    last = {"PartitionKey": "kinesis-last", "Data": b"\x00\xff binary"}
    entries.append(last)
    out.append(k.put_record(StreamName=stream, **last))
    for entry, result in zip(entries, out):
        line = {
            "shard": result["ShardId"],
            "seq": result["SequenceNumber"],
            "key": entry["PartitionKey"],
            "data": b64(entry["Data"]),
        }
        print(json.dumps(line))


def read(stream, shard):
    k = client()
    it = k.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    for _ in range(MAX_READS):
        out = k.get_records(ShardIterator=it)
        for r in out["Records"]:
            line = {
                "seq": r["SequenceNumber"],
                "key": r["PartitionKey"],
                "data": b64(r["Data"]),
                "arrival_ms": round(r["ApproximateArrivalTimestamp"].timestamp() * 1000),
            }
            print(json.dumps(line))
        if not out["Records"] and out["MillisBehindLatest"] == 0:
            return
        it = out["NextShardIterator"]
    sys.exit(f"no empty answer at the tip of {shard} after {MAX_READS} reads")


if __name__ == "__main__":
    {"put": put, "read": read}[sys.argv[1]](*sys.argv[2:])
