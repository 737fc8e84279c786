"""Consumer groups over the agent's HTTP API, as a client in another language uses them:
Python's standard library (urllib) only. cli/tests/agent/groups.rs runs it:

    python groups.py http://127.0.0.1:PORT

Two members of one group share a 4-partition topic, each polls (long-polls) its records and
commits the offset after them; one leaves and the other takes its partitions, from the
offsets it committed. The last line is `group members over http: ...` with the counts.
Every wait is a long-poll of the agent, bounded by a deadline: no sleeps.
"""

import json
import sys
import time
import urllib.error
import urllib.request

BASE = sys.argv[1]
TOPIC = "py-groups"
GROUP = "py-billing"
PARTITIONS = 4
DEADLINE_S = 60


def call(method, path, body=None):
    """(status, parsed JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=90) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    return status, (json.loads(raw) if raw else None)


def ok(method, path, body=None, expect=200):
    status, answer = call(method, path, body)
    assert status == expect, f"{method} {path}: {status} {answer}"
    return answer


def produce(tag):
    """One record per partition: `<tag>-p<partition>`."""
    records = [{"value": f"{tag}-p{p}", "partition": p} for p in range(PARTITIONS)]
    ok("POST", f"/v1/topics/{TOPIC}/records?encoding=utf8", {"records": records})


class Member:
    def __init__(self, name):
        body = {
            "topics": [TOPIC],
            "client_id": name,
            "auto_offset_reset": "earliest",
            "auto_commit": False,
            "heartbeat_ms": 100,
            "session_timeout_ms": 1000,
        }
        joined = ok("POST", f"/v1/groups/{GROUP}/members", body, expect=201)
        assert joined["auto_commit"] is False and joined["heartbeat_ms"] == 100, joined
        self.path = joined["path"]
        self.seen = []
        self.polls = 0
        self.refused = 0

    def held(self):
        return {a["partition"] for a in ok("GET", self.path)["assignment"]}

    def poll(self):
        """One long-poll (returns early on records or assignment events); commits after the
        records it returned, as an application does once it processed them."""
        polled = ok("GET", self.path + "/records?encoding=utf8&wait=1")
        self.polls += 1
        after = {}
        for r in polled["records"]:
            assert r["topic"] == TOPIC, r
            self.seen.append(r["value"])
            after[r["partition"]] = r["offset"] + 1
        if after:
            offsets = [
                {"topic": TOPIC, "partition": p, "offset": o, "metadata": "py"}
                for p, o in after.items()
            ]
            status, answer = call("POST", self.path + "/offsets", {"offsets": offsets})
            if status != 204:
                # The partition moved to the other member since this poll: refused, typed.
                assert status in (400, 409), (status, answer)
                assert answer["code"] in ("not_owner", "fenced"), answer
                self.refused += 1
        return polled

    def leave(self):
        ok("DELETE", self.path, expect=204)


def until(what, done, *members):
    deadline = time.monotonic() + DEADLINE_S
    while not done():
        assert time.monotonic() < deadline, f"not within {DEADLINE_S} s: {what}"
        for m in members:
            m.poll()


def main():
    started = time.monotonic()
    ok("POST", "/v1/topics", {"name": TOPIC, "partitions": PARTITIONS}, expect=201)
    for i in range(5):
        produce(f"r{i}")
    first, second = Member("py-first"), Member("py-second")
    until(
        "the members split the partitions and read every record",
        lambda: first.held() | second.held() == set(range(PARTITIONS))
        and len(first.held()) == len(second.held()) == 2
        and len(set(first.seen + second.seen)) == 5 * PARTITIONS,
        first,
        second,
    )
    before = len(first.seen) + len(second.seen)

    second.leave()
    since_leave = len(first.seen)
    status, answer = call("GET", second.path + "/records")
    assert status == 404 and answer["code"] == "unknown_member", (status, answer)
    until("the first member takes every partition", lambda: len(first.held()) == 4, first)
    produce("after")
    until("the first member reads the new records", lambda: sum(
        v.startswith("after-") for v in first.seen) == PARTITIONS, first)
    resumed = first.seen[since_leave:]
    if first.refused + second.refused == 0:
        # Every poll was committed: the partitions resume after what the leaver committed.
        assert sorted(resumed) == [f"after-p{p}" for p in range(PARTITIONS)], resumed
    first.leave()
    duplicates = before + len(resumed) - len(set(first.seen + second.seen))
    print(
        f"group members over http: {before + len(resumed)} records read "
        f"({duplicates} twice), {first.polls + second.polls} polls, "
        f"{first.refused + second.refused} commits refused after a rebalance, "
        f"{time.monotonic() - started:.1f} s"
    )


main()
