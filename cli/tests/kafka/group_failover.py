"""A consumer-group member for the coordinator failover case (cli/tests/kafka/failover.rs):

    python group_failover.py commit TOPIC GROUP N   # read N records, commit after them, leave
    python group_failover.py resume TOPIC GROUP N   # read N records; print their offsets

Both through the agents in SILT_KAFKA_BOOTSTRAP; `resume` runs after the test killed the
group's coordinator, so it waits for the agent left to take the group over."""

import json
import sys

from confluent import consumer
from harness import wait_until

phase, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
# Patience for the takeover: the dead agent stays in the registry for 30 s.
c = consumer(group, {"heartbeat.interval.ms": 500, "session.timeout.ms": 6000,
                     "reconnect.backoff.max.ms": 500, "enable.partition.eof": False})
c.subscribe([topic])
read = []


def step():
    msg = c.poll(0.5)
    if msg is not None and not msg.error():
        read.append(msg)
    return len(read) >= count


wait_until(f"{count} records ({phase})", step, patience=150)
if phase == "commit":
    c.commit(message=read[-1], asynchronous=False)
c.close()
print(json.dumps([m.offset() for m in read]))
