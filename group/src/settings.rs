//! How a member behaves: its timings (Kafka's defaults), its identity, and where it starts a
//! partition with no committed offset. Checked by [`GroupSettings::validate`], with errors
//! naming the field.

use std::time::Duration;

use silt_core::error::InvalidInput;

/// Where a partition with no committed offset starts (Kafka's `auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// The log start.
    Earliest,
    /// The next offset: only records committed from now on.
    Latest,
    /// Refuse: the application must commit or reset offsets first.
    None,
}

/// A member's settings.
#[derive(Debug, Clone)]
pub struct GroupSettings {
    /// How often a member writes its heartbeat and looks at its group (3 s).
    pub heartbeat_ms: u64,
    /// How long a member's heartbeat may stay unchanged before a peer removes it (45 s; at
    /// least 3 heartbeats).
    pub session_timeout_ms: u64,
    /// How long a new owner waits for a live old owner to release a partition (30 s).
    pub handoff_timeout_ms: u64,
    /// How often polled positions are committed (5 s); `None` turns auto-commit off.
    pub auto_commit_ms: Option<u64>,
    /// How long the application may go without polling before the member leaves (5 min).
    pub max_poll_interval_ms: u64,
    /// Where a partition with no committed offset starts (`Latest`, as Kafka).
    pub auto_offset_reset: OffsetReset,
    /// A static member's instance id: a restart within the session timeout keeps its
    /// partitions. `[a-zA-Z0-9._-]{1,249}`.
    pub instance_id: Option<String>,
    /// The client's name, shown by describe.
    pub client_id: String,
    /// Where it runs, shown by describe.
    pub host: String,
}

impl Default for GroupSettings {
    fn default() -> GroupSettings {
        GroupSettings {
            heartbeat_ms: 3_000,
            session_timeout_ms: 45_000,
            handoff_timeout_ms: 30_000,
            auto_commit_ms: Some(5_000),
            max_poll_interval_ms: 300_000,
            auto_offset_reset: OffsetReset::Latest,
            instance_id: None,
            client_id: "silt".into(),
            host: String::new(),
        }
    }
}

impl GroupSettings {
    /// The heartbeat interval.
    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms)
    }

    /// The session timeout.
    pub fn session(&self) -> Duration {
        Duration::from_millis(self.session_timeout_ms)
    }

    /// The handoff timeout.
    pub fn handoff(&self) -> Duration {
        Duration::from_millis(self.handoff_timeout_ms)
    }

    /// Checks every field, naming the first that is wrong.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        let invalid = |field, value: u64, rule| InvalidInput::Setting {
            field,
            value: value.to_string(),
            rule,
        };
        if self.heartbeat_ms < 10 {
            return Err(invalid("heartbeat_ms", self.heartbeat_ms, "at least 10 ms"));
        }
        if self.session_timeout_ms < 3 * self.heartbeat_ms {
            let rule = "at least 3 heartbeat intervals";
            return Err(invalid("session_timeout_ms", self.session_timeout_ms, rule));
        }
        if self.handoff_timeout_ms < self.heartbeat_ms {
            let rule = "at least one heartbeat interval";
            return Err(invalid("handoff_timeout_ms", self.handoff_timeout_ms, rule));
        }
        if self.max_poll_interval_ms < self.heartbeat_ms {
            let rule = "at least one heartbeat interval";
            return Err(invalid(
                "max_poll_interval_ms",
                self.max_poll_interval_ms,
                rule,
            ));
        }
        if let Some(ms) = self.auto_commit_ms
            && ms == 0
        {
            return Err(invalid("auto_commit_ms", ms, "more than 0 (or off)"));
        }
        if let Some(id) = &self.instance_id
            && silt_core::ids::GroupName::new(id.as_str()).is_err()
        {
            return Err(InvalidInput::Setting {
                field: "instance_id",
                value: id.clone(),
                rule: "1 to 249 characters from [a-zA-Z0-9._-], not \".\" or \"..\"",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_the_field_that_is_wrong() {
        assert!(GroupSettings::default().validate().is_ok());
        let cases = [
            (
                GroupSettings {
                    session_timeout_ms: 5_000,
                    ..Default::default()
                },
                "session_timeout_ms",
            ),
            (
                GroupSettings {
                    heartbeat_ms: 1,
                    ..Default::default()
                },
                "heartbeat_ms",
            ),
            (
                GroupSettings {
                    instance_id: Some("a b".into()),
                    ..Default::default()
                },
                "instance_id",
            ),
        ];
        for (settings, field) in cases {
            let err = settings.validate().unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
        }
    }
}
