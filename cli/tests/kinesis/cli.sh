#!/usr/bin/env bash
# The AWS CLI (v1, from PyPI) against a Kinesis endpoint, as the docs' lines use it:
#   cli.sh ENDPOINT_URL
# with SILT_TEST_AWS_CLI the `aws` executable and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
# set. Creates a stream, waits for it, checks its summary and shards, puts records, reads them
# back by sequence number and from TRIM_HORIZON (decoding the base64 Data), deletes it and
# waits for it to go. The last line is `kinesis AWS CLI on TARGET: N commands checked`
# (TARGET: SILT_KINESIS_TARGET, else the endpoint).
set -euo pipefail

endpoint=${1:?usage: cli.sh ENDPOINT_URL}
aws=${SILT_TEST_AWS_CLI:?set SILT_TEST_AWS_CLI to the aws executable}
# No profile, config or credentials file of the machine's user: only the environment.
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_DEFAULT_PROFILE
stream="cli-$$-$RANDOM"
# Commands run, one line each (most run in a $(...) subshell, so not a shell variable).
commands=$(mktemp)
trap 'rm -f "$commands"' EXIT

k() {
  echo "$1" >>"$commands"
  "$aws" --endpoint-url "$endpoint" --output text kinesis "$@"
}

fail() {
  echo "cli.sh: $*" >&2
  exit 1
}

expect() { # expect WHAT GOT WANT
  [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}

# The shard Kinesis places a partition key in, on a stream of 2 shards: the MD5's top bit.
shard_of_key() {
  local first
  first=$(printf '%s' "$1" | md5sum | cut -c1)
  if [ $((16#$first)) -ge 8 ]; then echo shardId-000000000001; else echo shardId-000000000000; fi
}

k create-stream --stream-name "$stream" --shard-count 2
k wait stream-exists --stream-name "$stream"
expect "summary" \
  "$(k describe-stream-summary --stream-name "$stream" \
    --query 'StreamDescriptionSummary.[StreamName,StreamStatus,OpenShardCount,RetentionPeriodHours]')" \
  "$stream	ACTIVE	2	24"
expect "shards" "$(k list-shards --stream-name "$stream" --query 'Shards[].ShardId')" \
  "shardId-000000000000	shardId-000000000001"
expect "hash-key ranges" \
  "$(k describe-stream --stream-name "$stream" --query 'StreamDescription.Shards[].HashKeyRange.[StartingHashKey,EndingHashKey]')" \
  "0	170141183460469231731687303715884105727
170141183460469231731687303715884105728	340282366920938463463374607431768211455"

# The CLI v1 sends --data as given (it base64-encodes the text for the wire).
for key in user-7 user-8 user-9; do
  read -r shard seq <<<"$(k put-record --stream-name "$stream" --partition-key "$key" \
    --data "hello $key" --query '[ShardId,SequenceNumber]')"
  expect "shard of $key" "$shard" "$(shard_of_key "$key")"
  iterator=$(k get-shard-iterator --stream-name "$stream" --shard-id "$shard" \
    --shard-iterator-type AT_SEQUENCE_NUMBER --starting-sequence-number "$seq" \
    --query ShardIterator)
  read -r got_seq got_key data <<<"$(k get-records --shard-iterator "$iterator" --limit 1 \
    --query 'Records[0].[SequenceNumber,PartitionKey,Data]')"
  expect "sequence number of $key" "$got_seq" "$seq"
  expect "partition key" "$got_key" "$key"
  expect "data of $key" "$(printf '%s' "$data" | base64 -d)" "hello $key"
done

# Every record once, reading both shards from TRIM_HORIZON.
all=""
for shard in shardId-000000000000 shardId-000000000001; do
  iterator=$(k get-shard-iterator --stream-name "$stream" --shard-id "$shard" \
    --shard-iterator-type TRIM_HORIZON --query ShardIterator)
  for data in $(k get-records --shard-iterator "$iterator" --query 'Records[].Data'); do
    all+="$(printf '%s' "$data" | base64 -d)"$'\n'
  done
done
expect "every record" "$(sort <<<"$all" | sed '/^$/d')" "hello user-7
hello user-8
hello user-9"

k delete-stream --stream-name "$stream"
k wait stream-not-exists --stream-name "$stream"
if error=$(k describe-stream-summary --stream-name "$stream" 2>&1); then
  fail "describe-stream-summary after delete-stream answered: $error"
fi
case "$error" in
*ResourceNotFoundException*) ;;
*) fail "describe-stream-summary after delete-stream: $error" ;;
esac
echo "kinesis AWS CLI on ${SILT_KINESIS_TARGET:-$endpoint}: $(wc -l <"$commands") commands checked"
