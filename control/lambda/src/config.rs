//! The function's configuration, read once from its environment (a Lambda function has no
//! arguments): which job, which store, which topics, how much work per invocation.

use std::fmt;
use std::str::FromStr;

use silt_control::{CompactOptions, GcOptions, RetentionOptions, Scope};
use silt_core::cold::ColdOptions;
use silt_core::ids::TopicName;
use tokio::time::Instant;

/// The jobs this function can run, chosen by `SILT_JOB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobKind {
    /// `retention`: [`silt_control::run_retention`].
    Retention,
    /// `compaction`: [`silt_control::run_compaction`].
    Compaction,
    /// `gc`: [`silt_control::run_gc`].
    Gc,
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
    /// `SILT_TOPICS` (comma-separated; unset: every topic) and `SILT_MAX_PARTITIONS`.
    pub(crate) scope: Scope,
    /// `SILT_DRY_RUN` (`true` or `false`).
    pub(crate) dry_run: bool,
    /// `SILT_GRACE_MS`, GC only: overrides both grace periods.
    pub(crate) grace_ms: Option<i64>,
    /// `SILT_TARGET_BYTES`, compaction only: the merged segment size.
    pub(crate) target_bytes: Option<u64>,
    /// `SILT_ROW_GROUP_BYTES`, compaction only: the size of sealed Parquet row groups.
    pub(crate) row_group_bytes: Option<usize>,
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

const JOBS: &str = "retention, compaction or gc";

impl JobConfig {
    /// Reads the configuration through `var` (the process environment in production).
    pub(crate) fn from_vars(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<JobConfig, ConfigError> {
        let error = |variable, problem: String| ConfigError { variable, problem };
        let job = match var("SILT_JOB").as_deref() {
            Some("retention") => JobKind::Retention,
            Some("compaction") => JobKind::Compaction,
            Some("gc") => JobKind::Gc,
            Some(other) => {
                return Err(error(
                    "SILT_JOB",
                    format!("unknown job {other:?}; use {JOBS}"),
                ));
            }
            None => return Err(error("SILT_JOB", format!("not set; set it to {JOBS}"))),
        };
        let topics = var("SILT_TOPICS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| TopicName::new(t).map_err(|e| error("SILT_TOPICS", e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let mut scope = Scope {
            topics,
            ..Scope::default()
        };
        if let Some(max) = parse(&var, "SILT_MAX_PARTITIONS", "a count")? {
            scope.max_partitions = max;
        }
        let store = var("SILT_STORE")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| error("SILT_STORE", "not set; set it to s3://BUCKET/PREFIX".into()))?;
        let grace_ms: Option<i64> = parse(&var, "SILT_GRACE_MS", "milliseconds")?;
        if let Some(ms) = grace_ms.filter(|ms| *ms < 0) {
            return Err(error("SILT_GRACE_MS", format!("{ms} is negative")));
        }
        Ok(JobConfig {
            job,
            store,
            manifest: var("SILT_MANIFEST").filter(|m| !m.is_empty()),
            scope,
            dry_run: parse(&var, "SILT_DRY_RUN", "true or false")?.unwrap_or(false),
            grace_ms,
            target_bytes: parse(&var, "SILT_TARGET_BYTES", "a size in bytes")?,
            row_group_bytes: parse(&var, "SILT_ROW_GROUP_BYTES", "a size in bytes")?,
        })
    }

    /// The same configuration with the scope's deadline set.
    pub(crate) fn until(&self, deadline: Instant) -> JobConfig {
        let mut config = self.clone();
        config.scope.deadline = Some(deadline);
        config
    }

    /// Options of a retention run.
    pub(crate) fn retention(&self) -> RetentionOptions {
        RetentionOptions {
            scope: self.scope.clone(),
            dry_run: self.dry_run,
        }
    }

    /// Options of a compaction run.
    pub(crate) fn compaction(&self) -> CompactOptions {
        let defaults = CompactOptions::default();
        CompactOptions {
            scope: self.scope.clone(),
            dry_run: self.dry_run,
            target_bytes: self.target_bytes.unwrap_or(defaults.target_bytes),
            cold: ColdOptions {
                row_group_bytes: self
                    .row_group_bytes
                    .unwrap_or(defaults.cold.row_group_bytes),
                ..defaults.cold
            },
            ..defaults
        }
    }

    /// Options of a GC run.
    pub(crate) fn gc(&self) -> GcOptions {
        let defaults = GcOptions::default();
        GcOptions {
            scope: self.scope.clone(),
            dry_run: self.dry_run,
            reader_grace_ms: self.grace_ms.unwrap_or(defaults.reader_grace_ms),
            orphan_grace_ms: self.grace_ms.unwrap_or(defaults.orphan_grace_ms),
            ..defaults
        }
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
        let topics: Vec<&str> = c.scope.topics.iter().map(|t| t.as_str()).collect();
        assert_eq!(topics, ["a", "b"]);
        assert_eq!((c.scope.max_partitions, c.dry_run), (7, true));
        assert_eq!(c.retention().scope.max_partitions, 7);
    }

    #[test]
    fn gc_and_compaction_take_their_own_settings() {
        let base = [("SILT_STORE", "s3://b/p")];
        let gc = config(&[base[0], ("SILT_JOB", "gc"), ("SILT_GRACE_MS", "0")]).unwrap();
        assert_eq!(gc.job, JobKind::Gc);
        assert_eq!((gc.gc().reader_grace_ms, gc.gc().orphan_grace_ms), (0, 0));
        let defaults = config(&[base[0], ("SILT_JOB", "gc")]).unwrap().gc();
        let expected = (silt_control::READER_GRACE_MS, silt_control::ORPHAN_GRACE_MS);
        assert_eq!(
            (defaults.reader_grace_ms, defaults.orphan_grace_ms),
            expected
        );
        let compact = [
            base[0],
            ("SILT_JOB", "compaction"),
            ("SILT_TARGET_BYTES", "1024"),
        ];
        let compact = config(&compact).unwrap();
        assert_eq!(
            (compact.job, compact.compaction().target_bytes),
            (JobKind::Compaction, 1024)
        );
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
            (vec![("SILT_GRACE_MS", "-5")], "SILT_GRACE_MS"),
            (vec![("SILT_GRACE_MS", "soon")], "SILT_GRACE_MS"),
            (vec![("SILT_TARGET_BYTES", "8M")], "SILT_TARGET_BYTES"),
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
