//! Topic settings as the command line (`topic create` and `topic alter`) and the HTTP API
//! spell them: Kafka's `-1` unsets a limit (forever, unlimited, never); any other value below a setting's minimum
//! is refused naming the field and the values allowed, before anything is written.

use silt_core::error::InvalidInput;
use silt_core::topic::{CleanupPolicy, DELETE_RETENTION_MS, TopicSettings};

/// A setting that `-1` unsets.
#[derive(Debug)]
pub struct Unsettable {
    pub field: &'static str,
    min: i64,
    rule: &'static str,
}

pub const RETENTION_MS: Unsettable = Unsettable {
    field: "retention_ms",
    min: 1,
    rule: "-1 (keep forever) or at least 1",
};

pub const RETENTION_BYTES: Unsettable = Unsettable {
    field: "retention_bytes",
    min: 1,
    rule: "-1 (no size limit) or at least 1",
};

pub const SEAL_AFTER_MS: Unsettable = Unsettable {
    field: "seal_after_ms",
    min: 0,
    rule: "-1 (never seal) or at least 0",
};

impl Unsettable {
    /// The setting a given value means: `None` for -1, the value when allowed.
    pub fn parse(&self, value: i64) -> Result<Option<i64>, InvalidInput> {
        match value {
            -1 => Ok(None),
            v if v >= self.min => Ok(Some(v)),
            v => Err(InvalidInput::Setting {
                field: self.field,
                value: v.to_string(),
                rule: self.rule,
            }),
        }
    }

    /// Like [`Unsettable::parse`] for an option that may be absent (`None`: not given).
    pub fn given(&self, value: Option<i64>) -> Result<Option<Option<i64>>, InvalidInput> {
        value.map(|v| self.parse(v)).transpose()
    }
}

/// A byte count known to be at least 1 (checked by [`RETENTION_BYTES`]).
pub fn bytes(v: Option<i64>) -> Option<u64> {
    v.and_then(|b| u64::try_from(b).ok())
}

/// `retention_ms=..., retention_bytes=...` and the compaction and sealing settings in use.
pub fn settings_text(s: &TopicSettings) -> String {
    let or_none = |v: Option<String>, none: &str| v.unwrap_or_else(|| none.to_string());
    let mut text = format!(
        "retention_ms={}, retention_bytes={}",
        or_none(s.retention_ms.map(|v| v.to_string()), "forever"),
        or_none(s.retention_bytes.map(|v| v.to_string()), "unlimited")
    );
    if s.cleanup_policy == CleanupPolicy::Compact {
        let lag = s.min_compaction_lag_ms.unwrap_or(0);
        let tombstones = s.delete_retention_ms.unwrap_or(DELETE_RETENTION_MS);
        text.push_str(&format!(
            ", cleanup_policy=compact, min_compaction_lag_ms={lag}, delete_retention_ms={tombstones}"
        ));
    }
    if let Some(ms) = s.seal_after_ms {
        text.push_str(&format!(", seal_after_ms={ms}"));
    }
    if let Some(size) = s.manifest_group_size {
        text.push_str(&format!(", manifest_group_size={size}"));
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use super::*;

    #[test]
    fn minus_one_unsets_and_other_negatives_are_refused() {
        assert_eq!(RETENTION_MS.parse(-1), Ok(None));
        assert_eq!(RETENTION_MS.parse(5), Ok(Some(5)));
        assert_eq!(SEAL_AFTER_MS.parse(0), Ok(Some(0)));
        for (setting, value) in [
            (&RETENTION_MS, -2),
            (&RETENTION_BYTES, -5),
            (&SEAL_AFTER_MS, -7),
        ] {
            let e = setting.parse(value).unwrap_err().to_string();
            assert!(e.contains(setting.field) && e.contains(setting.rule), "{e}");
        }
        assert!(RETENTION_BYTES.parse(0).is_err(), "0 bytes keeps nothing");
    }
}
