//! The function's configuration, read once from its environment (a Lambda function has no
//! arguments): which job, which store, which topics, how much work per invocation.

use std::fmt;

use silt_control::RetentionOptions;
use silt_core::ids::TopicName;

/// The jobs this function can run, chosen by `SILT_JOB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobKind {
    /// `retention`: [`silt_control::run_retention`].
    Retention,
}

/// Everything a job needs, from the environment.
#[derive(Debug, Clone)]
pub(crate) struct JobConfig {
    /// `SILT_JOB`.
    pub(crate) job: JobKind,
    /// `SILT_STORE`, required (a function has no local directory worth keeping a log in).
    pub(crate) store: String,
    /// `SILT_MANIFEST` (unset: manifests in the store).
    pub(crate) manifest: Option<String>,
    /// `SILT_TOPICS` (comma-separated; unset: every topic), `SILT_MAX_PARTITIONS`,
    /// `SILT_DRY_RUN` (`true` or `false`).
    pub(crate) retention: RetentionOptions,
}

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

impl JobConfig {
    /// Reads the configuration through `var` (the process environment in production).
    pub(crate) fn from_vars(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<JobConfig, ConfigError> {
        let error = |variable, problem: String| ConfigError { variable, problem };
        let job = match var("SILT_JOB").as_deref() {
            Some("retention") => JobKind::Retention,
            Some(other) => {
                return Err(error(
                    "SILT_JOB",
                    format!("unknown job {other:?}; use retention"),
                ));
            }
            None => return Err(error("SILT_JOB", "not set; set it to retention".into())),
        };
        let topics = var("SILT_TOPICS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| TopicName::new(t).map_err(|e| error("SILT_TOPICS", e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let mut retention = RetentionOptions {
            topics,
            ..RetentionOptions::default()
        };
        if let Some(max) = var("SILT_MAX_PARTITIONS") {
            retention.max_partitions = max
                .parse()
                .map_err(|_| error("SILT_MAX_PARTITIONS", format!("{max:?} is not a count")))?;
        }
        if let Some(dry) = var("SILT_DRY_RUN") {
            retention.dry_run = dry
                .parse()
                .map_err(|_| error("SILT_DRY_RUN", format!("{dry:?}; use true or false")))?;
        }
        let store = var("SILT_STORE")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| error("SILT_STORE", "not set; set it to s3://BUCKET/PREFIX".into()))?;
        Ok(JobConfig {
            job,
            store,
            manifest: var("SILT_MANIFEST").filter(|m| !m.is_empty()),
            retention,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<JobConfig, ConfigError> {
        JobConfig::from_vars(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn reads_every_setting() {
        let c = config(&[
            ("SILT_JOB", "retention"),
            ("SILT_STORE", "s3://b/p"),
            ("SILT_MANIFEST", "dynamodb://t"),
            ("SILT_TOPICS", "a, b"),
            ("SILT_MAX_PARTITIONS", "7"),
            ("SILT_DRY_RUN", "true"),
        ])
        .unwrap();
        assert_eq!((c.job, c.store.as_str()), (JobKind::Retention, "s3://b/p"));
        assert_eq!(c.manifest.as_deref(), Some("dynamodb://t"));
        let topics: Vec<&str> = c.retention.topics.iter().map(|t| t.as_str()).collect();
        assert_eq!(topics, ["a", "b"]);
        assert_eq!((c.retention.max_partitions, c.retention.dry_run), (7, true));
    }

    #[test]
    fn names_the_variable_that_is_wrong() {
        let wrong = [
            (vec![], "SILT_JOB"),
            (vec![("SILT_JOB", "vacuum")], "SILT_JOB"),
            (vec![("SILT_JOB", "retention")], "SILT_STORE"),
            (
                vec![("SILT_JOB", "retention"), ("SILT_TOPICS", "bad name")],
                "SILT_TOPICS",
            ),
            (
                vec![("SILT_JOB", "retention"), ("SILT_MAX_PARTITIONS", "-1")],
                "SILT_MAX_PARTITIONS",
            ),
            (
                vec![("SILT_JOB", "retention"), ("SILT_DRY_RUN", "yes")],
                "SILT_DRY_RUN",
            ),
        ];
        for (mut vars, variable) in wrong {
            if variable != "SILT_JOB" && variable != "SILT_STORE" {
                vars.extend([("SILT_JOB", "retention"), ("SILT_STORE", "memory://")]);
            }
            let e = config(&vars).unwrap_err();
            assert_eq!(e.variable, variable, "{e}");
        }
    }
}
