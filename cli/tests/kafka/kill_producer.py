"""An idempotent librdkafka producer for the SIGKILL case (cli/tests/kafka/crash.rs):

    python kill_producer.py TOPIC TOTAL IN_FLIGHT

produces TOTAL records (values `c0-b<i>-r0`, unique, keyed over 16 keys) to the agents in
SILT_KAFKA_BOOTSTRAP, keeping up to IN_FLIGHT unacknowledged, and prints `acked N` each time
another 25 are acknowledged (the test kills an agent meanwhile). Then it waits for every
delivery report and prints one line `result {"acked": {value: [partition, offset]},
"errors": {error: count}}`: a value not in "acked" was not acknowledged (it may or may not
be in the log).
"""

import json
import sys

from confluent_kafka import Producer

from harness import BOOTSTRAP, PATIENCE

topic, total, in_flight = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
acked, errors = {}, {}


def report(err, msg):
    if err is not None:
        errors[str(err)] = errors.get(str(err), 0) + 1
        return
    acked[msg.value().decode()] = [msg.partition(), msg.offset()]
    if len(acked) % 25 == 0:
        print(f"acked {len(acked)}", flush=True)


producer = Producer({
    "bootstrap.servers": BOOTSTRAP,
    "enable.idempotence": True,
    "linger.ms": 2,
    "batch.num.messages": 20,
    # Long enough to outlive a dead agent's place in the registry: records sent to it are
    # retried (same producer id and sequences) through the agent left.
    "message.timeout.ms": 4 * PATIENCE * 1000,
    "reconnect.backoff.max.ms": 500,
    "topic.metadata.refresh.interval.ms": 1000,
})
for i in range(total):
    producer.produce(topic, key=f"key-{i % 16}".encode(), value=f"c0-b{i}-r0".encode(),
                     on_delivery=report)
    while len(producer) >= in_flight:
        producer.poll(0.01)
    producer.poll(0)
left = producer.flush(5 * PATIENCE)
if left:
    errors["not reported by the end of flush"] = left
print("result " + json.dumps({"acked": acked, "errors": errors}), flush=True)
