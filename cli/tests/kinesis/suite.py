"""The Kinesis API suite: boto3 (and raw signed HTTP for what boto3 cannot send) against
Amazon Kinesis' documented behaviour, run against silt's agent and, as a differential check,
against moto's Kinesis. cli/tests/kinesis.rs runs it:

    SILT_KINESIS_ENDPOINT=http://127.0.0.1:PORT SILT_KINESIS_TARGET=silt|moto python suite.py [NAMES]

NAMES (optional) are unittest names (`auth_test`, `records_test.Reading`). The last line of
the output is `kinesis suite on TARGET: N tests, M known divergences[, K skipped]`.

Every place where a target differs from Kinesis' documentation is listed in
KNOWN_DIVERGENCES, with the reason; the test then checks (or skips) only that assertion on
that target, and fails if the listed divergence no longer happens. Everything not listed
must pass on both targets.
"""

import os
import sys
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

# {test name: (target, reason)}: where moto, or silt deliberately, differs from Kinesis' docs.
KNOWN_DIVERGENCES = {
    # moto 5.2.5
    "test_describe_stream_paging": (
        "moto",
        "DescribeStream ignores ExclusiveStartShardId: every page starts at the first shard",
    ),
    "test_list_shards_exclusive_start_shard_id": (
        "moto",
        "ListShards ignores ExclusiveStartShardId",
    ),
    "test_list_shards_paging_by_next_token": (
        "moto",
        "ListShards takes a NextToken only with the StreamName it was issued for "
        "(InvalidToken); Kinesis wants NextToken alone",
    ),
    "test_list_shards_next_token_with_stream_name_is_invalid": (
        "moto",
        "ListShards accepts StreamName together with NextToken",
    ),
    "test_list_streams_paging_by_next_token": (
        "moto",
        "ListStreams returns no NextToken (it pages by ExclusiveStartStreamName only)",
    ),
    "test_explicit_hash_key_at_range_end": (
        "moto",
        "a shard's EndingHashKey is treated as outside it (start <= key < end): "
        "PutRecord fails with HTTP 500",
    ),
    "test_get_records_limit_over_10000_is_invalid": ("moto", "GetRecords does not check Limit"),
    "test_partition_key_over_256_characters_is_refused": (
        "moto",
        "answers InvalidArgumentException, not the ValidationException of a member "
        "beyond its model bound",
    ),
    "test_put_record_data_over_1_mib_is_refused": (
        "moto",
        "PutRecord does not check the data size (only PutRecords does)",
    ),
    "test_sequence_number_of_another_shard_is_invalid": (
        "moto",
        "numbers each shard's records 1, 2, ...: a sequence number is valid in every shard",
    ),
    "test_tampered_iterator_is_invalid": (
        "moto",
        "shard iterators are plain base64 of stream:shard:position, not tamper-evident",
    ),
    "test_forged_iterator": ("moto", "an iterator it did not issue fails with HTTP 500"),
    "test_iterator_that_is_not_base64": ("moto", "fails with HTTP 500"),
    "test_iterator_type_unknown": (
        "moto",
        "answers InvalidArgumentException, not the ValidationException of a value "
        "outside the model's enum",
    ),
    "test_bad_base64_data": ("moto", "bad base64 in Data fails with HTTP 500"),
    "test_bad_base64_in_put_records": (
        "moto",
        "decodes bad base64 leniently and writes the records",
    ),
    "test_malformed_json": (
        "moto",
        "reads malformed JSON as an empty request (ResourceNotFoundException)",
    ),
    "test_json_that_is_not_an_object": (
        "moto",
        "reads a JSON array as an empty request (ResourceNotFoundException)",
    ),
    "test_missing_required_member": (
        "moto",
        "answers InvalidArgumentException for a missing PartitionKey, not ValidationException",
    ),
    "test_missing_target": ("moto", "a POST without X-Amz-Target is answered 404"),
    "test_unknown_action": ("moto", "an unknown action fails with HTTP 500"),
    "test_wrong_target": (
        "moto",
        "routes by the signature's service and ignores the target's prefix: the record is "
        "written",
    ),
    # silt, deliberately (docs/kinesis.md, "Not supported")
    "test_update_shard_count": ("silt", "no resharding: a stream keeps its shards"),
    "test_merge_shards": ("silt", "no resharding: a stream keeps its shards"),
    "test_register_stream_consumer": (
        "silt",
        "no enhanced fan-out: every reader reads from the object store",
    ),
    "test_add_tags_to_stream": ("silt", "no tags: ListTagsForStream is always empty"),
    "test_recreate_deleted_stream": (
        "silt",
        "a deleted stream's name is free again once `silt gc run` has purged its data, after "
        "the 15-minute reader grace (docs/design.md 4.1); until then CreateStream is "
        "ResourceInUseException saying so",
    ),
}

MODULES = ["streams_test", "records_test", "errors_test", "bad_input_test", "auth_test"]


def main(names):
    assert harness.TARGET in ("silt", "moto"), f"SILT_KINESIS_TARGET={harness.TARGET}"
    harness.DIVERGENCES = KNOWN_DIVERGENCES
    loader = unittest.TestLoader()
    suite = loader.loadTestsFromNames(names or MODULES)
    listed = {n for n, (target, _) in KNOWN_DIVERGENCES.items() if target == harness.TARGET}
    run = {t.id().split(".")[-1] for t in iter_tests(suite)}
    unknown = {n for n, _ in KNOWN_DIVERGENCES.items()} - {
        t.id().split(".")[-1] for t in iter_tests(loader.loadTestsFromNames(MODULES))
    }
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    ok = result.wasSuccessful()
    if unknown:
        print(f"KNOWN_DIVERGENCES names tests that do not exist: {sorted(unknown)}")
        ok = False
    unexercised = (listed & run) - harness.DIVERGED
    if result.wasSuccessful() and unexercised:
        print(f"listed divergences that no test exercised: {sorted(unexercised)}")
        ok = False
    skipped = f", {len(result.skipped)} skipped" if result.skipped else ""
    print(
        f"kinesis suite on {harness.TARGET}: {result.testsRun} tests, "
        f"{len(harness.DIVERGED)} known divergences{skipped}"
    )
    return 0 if ok else 1


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
