//! The function's configuration, read once from its environment (a Lambda function has no
//! arguments): which store, where its manifests live, and how the writer batches.

use std::fmt;
use std::str::FromStr;

use silt_writer::WriterSettings;

/// Everything the agent function needs, from the environment.
#[derive(Debug, Clone)]
pub(crate) struct AgentConfig {
    /// `SILT_STORE`, required (a function has no local directory worth keeping a log in).
    pub(crate) store: String,
    /// `SILT_MANIFEST` (unset: manifests in the store).
    pub(crate) manifest: Option<String>,
    /// The writer's settings: `SILT_LINGER_MS` (default 0, see [`LINGER_MS_DEFAULT`]),
    /// `SILT_SEGMENT_BYTES`, `SILT_INFLIGHT_BYTES` (the writer's defaults).
    pub(crate) writer: WriterSettings,
}

/// Lambda hands a container one invocation at a time, so no other request can join a
/// segment while one lingers: the function writes at once instead of waiting 10 ms for
/// nothing. Each invocation is its own batch (infra/README.md says what that costs).
pub(crate) const LINGER_MS_DEFAULT: u64 = 0;

/// A variable that is missing or malformed, named with what it should hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigError {
    variable: &'static str,
    problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "environment variable {}: {}",
            self.variable, self.problem
        )
    }
}

impl std::error::Error for ConfigError {}

impl AgentConfig {
    /// Reads the configuration through `var` (the process environment in production).
    pub(crate) fn from_vars(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<AgentConfig, ConfigError> {
        let store = var("SILT_STORE")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ConfigError {
                variable: "SILT_STORE",
                problem: "not set; set it to s3://BUCKET/PREFIX".into(),
            })?;
        let defaults = WriterSettings::default();
        let writer = WriterSettings {
            linger_ms: parse(&var, "SILT_LINGER_MS", "milliseconds")?.unwrap_or(LINGER_MS_DEFAULT),
            segment_bytes_max: parse(&var, "SILT_SEGMENT_BYTES", "a size in bytes")?
                .unwrap_or(defaults.segment_bytes_max),
            inflight_bytes_max: parse(&var, "SILT_INFLIGHT_BYTES", "a size in bytes")?
                .unwrap_or(defaults.inflight_bytes_max),
            ..defaults
        };
        Ok(AgentConfig {
            store,
            manifest: var("SILT_MANIFEST").filter(|m| !m.is_empty()),
            writer,
        })
    }
}

/// Variable `name` parsed, if set; `what` says what it should hold.
fn parse<T: FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    what: &str,
) -> Result<Option<T>, ConfigError> {
    let Some(text) = var(name) else {
        return Ok(None);
    };
    text.trim().parse().map(Some).map_err(|_| ConfigError {
        variable: name,
        problem: format!("{text:?} is not {what}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<AgentConfig, ConfigError> {
        AgentConfig::from_vars(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn reads_every_setting() {
        let c = config(&[
            ("SILT_STORE", "s3://b/p"),
            ("SILT_MANIFEST", "dynamodb://t"),
            ("SILT_LINGER_MS", "5"),
            ("SILT_SEGMENT_BYTES", "4096"),
            ("SILT_INFLIGHT_BYTES", "16777216"),
        ])
        .unwrap();
        assert_eq!(c.store, "s3://b/p");
        assert_eq!(c.manifest.as_deref(), Some("dynamodb://t"));
        let w = &c.writer;
        assert_eq!(
            (w.linger_ms, w.segment_bytes_max, w.inflight_bytes_max),
            (5, 4096, 16 * 1024 * 1024)
        );
    }

    #[test]
    fn writes_without_lingering_by_default() {
        let c = config(&[("SILT_STORE", "s3://b/p"), ("SILT_MANIFEST", "")]).unwrap();
        assert_eq!(c.manifest, None);
        assert_eq!(
            c.writer,
            WriterSettings {
                linger_ms: 0,
                ..WriterSettings::default()
            }
        );
    }

    #[test]
    fn names_the_variable_that_is_wrong() {
        let store = ("SILT_STORE", "s3://b/p");
        let wrong = [
            (vec![], "SILT_STORE"),
            (vec![("SILT_STORE", "")], "SILT_STORE"),
            (vec![store, ("SILT_LINGER_MS", "soon")], "SILT_LINGER_MS"),
            (vec![store, ("SILT_LINGER_MS", "-1")], "SILT_LINGER_MS"),
            (
                vec![store, ("SILT_SEGMENT_BYTES", "8M")],
                "SILT_SEGMENT_BYTES",
            ),
            (
                vec![store, ("SILT_INFLIGHT_BYTES", "")],
                "SILT_INFLIGHT_BYTES",
            ),
        ];
        for (vars, variable) in wrong {
            let e = config(&vars).unwrap_err();
            assert_eq!(e.variable, variable, "{e}");
            assert!(e.to_string().contains(variable), "{e}");
        }
    }
}
