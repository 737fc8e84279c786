//! Consumer groups over HTTP with a real client: `groups.py` (Python's urllib, no silt code)
//! drives two members of a group against the shared agent: they split a topic, poll and
//! commit; one leaves and the other resumes its partitions from the committed offsets.
//! Python is `SILT_TEST_PYTHON` (`./scripts/test` sets it); without it the case says it is
//! skipped.

use std::io::Write;
use std::process::Command;

use crate::common::agent::Agent;

on_every_agent!(two_python_members_split_a_topic_and_hand_it_over);

fn two_python_members_split_a_topic_and_hand_it_over(agent: &Agent) {
    let Ok(python) = std::env::var("SILT_TEST_PYTHON") else {
        let _ = writeln!(
            std::io::stderr(),
            "skipped on groups: SILT_TEST_PYTHON is not set (./scripts/test sets it)"
        );
        return;
    };
    let out = Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/agent/groups.py"
        ))
        .arg(&agent.url)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "groups.py failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("group members over http: "), "{stdout}");
    let _ = writeln!(std::io::stderr(), "{last} ({})", agent.backend.store);
}
