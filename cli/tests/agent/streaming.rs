//! Reads that go on: an event stream resumed with `Last-Event-ID`, and a long-poll woken by
//! an append well before its `wait` runs out.

#![allow(clippy::disallowed_methods)] // the long-poll's latency is measured in real time

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::agent::{Agent, call, open_events};
use crate::{assert_error, values_of};

on_every_agent!(
    an_event_stream_resumes_after_its_last_event_id,
    a_long_poll_returns_as_soon_as_a_record_is_appended,
);

fn an_event_stream_resumes_after_its_last_event_id(agent: &Agent) {
    agent.create("stream-resume", 1);
    let values = ["a", "b", "c", "d", "e"];
    for value in values {
        agent.append_text("stream-resume", 0, &[value]);
    }
    let url = agent
        .at("/v1/topics/stream-resume/partitions/0/records?offset=0&max_records=2&encoding=utf8");
    let mut events = open_events(&url, &[]).unwrap();
    let first = events.next_event().unwrap();
    assert_eq!(first.name, "batch", "{first:?}");
    assert_eq!(
        first.id.as_deref(),
        Some("2"),
        "the id is the offset to read on from"
    );
    assert_eq!(values_of(&first.json()), ["a", "b"]);
    assert_eq!(first.json()["tail"], 5);
    let second = events.next_event().unwrap();
    assert_eq!(values_of(&second.json()), ["c", "d"]);
    drop(events); // the client goes away after two events

    // Resumed from the first event's id: the stream goes on where that event ended, whatever
    // the query says, and then follows the appends as they come.
    let mut events = open_events(&url, &[("last-event-id", "2")]).unwrap();
    let resumed = events.next_event().unwrap();
    assert_eq!(values_of(&resumed.json()), ["c", "d"]);
    let next = events.next_event().unwrap();
    assert_eq!(
        (next.id.as_deref(), values_of(&next.json())),
        (Some("5"), vec!["e".to_string()])
    );
    agent.append_text("stream-resume", 0, &["live"]);
    let live = events.next_event().unwrap();
    assert_eq!(live.name, "batch", "{live:?}");
    assert_eq!(live.id.as_deref(), Some("6"));
    assert_eq!(values_of(&live.json()), ["live"]);
    drop(events);

    let past = open_events(&url, &[("last-event-id", "99")]).err().unwrap();
    assert_error(&past, 416, "offset_out_of_range", "");
    assert_eq!(past.json()["next_offset"], 6);
}

fn a_long_poll_returns_as_soon_as_a_record_is_appended(agent: &Agent) {
    agent.create("stream-poll", 1);
    let url =
        agent.at("/v1/topics/stream-poll/partitions/0/records?offset=0&wait=30&encoding=utf8");
    let open_before = long_polls_open(agent);
    let started = Instant::now();
    let poll = std::thread::spawn(move || call("GET", &url, &[], b""));
    // Append once the poll waits (as far as the gauge tells: other cases poll too); then
    // the poll must still be waiting, with nothing to return.
    if (0..2_000).any(|_| long_polls_open(agent) > open_before) {
        assert!(
            !poll.is_finished(),
            "the long-poll returned before any append"
        );
    }
    agent.append_text("stream-poll", 0, &["woken"]);
    let polled = poll.join().unwrap();
    let took = started.elapsed();
    assert_eq!(polled.status, 200, "{}", polled.body);
    assert_eq!(values_of(&polled.json()), ["woken"]);
    assert_eq!(polled.json()["next_offset"], 1);
    assert!(
        took < Duration::from_secs(10),
        "the long-poll took {took:?} of its 30 s"
    );
    let empty = agent.get("/v1/topics/stream-poll/partitions/0/records?offset=1&wait=0");
    assert_eq!(empty.json()["records"], json!([]));
}

/// The agent's `silt_long_polls_open` gauge.
fn long_polls_open(agent: &Agent) -> f64 {
    let metrics = agent.get("/metrics").body;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("silt_long_polls_open "))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}
