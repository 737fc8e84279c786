//! `GET /metrics` as a Prometheus scraper reads it (`prometheus-parse`), and the check that
//! counters moved by what a known workload should have made them move. An expectation marked
//! optional is checked only once its metric is exported (library metrics land separately).

use prometheus_parse::{Scrape, Value};

use crate::common::agent::Agent;

/// One scrape of an agent.
pub(crate) struct Metrics(pub(crate) Scrape);

/// Scrapes `agent`: every line must be a `# HELP`/`# TYPE` comment or one sample.
pub(crate) fn scrape(agent: &Agent) -> Metrics {
    let answer = agent.get("/metrics");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let content_type = answer.header("content-type").unwrap_or("");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    for line in answer.body.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split(' ').next().unwrap_or("");
            assert!(kind == "HELP" || kind == "TYPE", "a bad comment: {line:?}");
            continue;
        }
        let one = Scrape::parse(std::iter::once(Ok(line.to_string()))).unwrap();
        assert_eq!(one.samples.len(), 1, "not one sample: {line:?}");
    }
    let lines = answer.body.lines().map(|l| Ok(l.to_string()));
    Metrics(Scrape::parse(lines).unwrap())
}

impl Metrics {
    /// Whether any sample of `metric` is exported.
    pub(crate) fn has(&self, metric: &str) -> bool {
        self.0.samples.iter().any(|s| s.metric == metric)
    }

    /// Panics unless every sample of `metric` is of `kind` (`counter`, `gauge`, ...), as its
    /// `# TYPE` line says.
    pub(crate) fn assert_kind(&self, metric: &str, kind: &str) {
        for s in self.0.samples.iter().filter(|s| s.metric == metric) {
            let found = match s.value {
                Value::Counter(_) => "counter",
                Value::Gauge(_) => "gauge",
                Value::Histogram(_) => "histogram",
                Value::Summary(_) => "summary",
                Value::Untyped(_) => "untyped",
            };
            assert_eq!(found, kind, "{metric}{:?}", s.labels);
        }
    }

    /// The sum of `metric`'s counter or gauge samples whose labels include `labels` (0 when
    /// none).
    pub(crate) fn value(&self, metric: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .samples
            .iter()
            .filter(|s| s.metric == metric)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
                _ => panic!("{metric} is not a counter or a gauge: {:?}", s.value),
            })
            .sum()
    }
}

/// How much a counter must have moved between two scrapes.
pub(crate) struct Moved {
    pub(crate) metric: &'static str,
    pub(crate) labels: Vec<(&'static str, String)>,
    pub(crate) by: f64,
    /// Checked only when the metric is exported (a library metric not recorded yet).
    pub(crate) optional: bool,
}

impl Moved {
    pub(crate) fn by(metric: &'static str, labels: &[(&'static str, &str)], by: f64) -> Moved {
        Moved {
            metric,
            labels: labels.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            by,
            optional: false,
        }
    }

    /// The same, checked only once the metric is exported.
    pub(crate) fn once_exported(self) -> Moved {
        Moved {
            optional: true,
            ..self
        }
    }
}

/// Checks every expectation; returns the metrics that were checked.
pub(crate) fn check_moved(before: &Metrics, after: &Metrics, expected: &[Moved]) -> Vec<String> {
    let mut checked = Vec::new();
    for e in expected {
        if e.optional && !after.has(e.metric) {
            continue;
        }
        let labels: Vec<(&str, &str)> = e.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let moved = after.value(e.metric, &labels) - before.value(e.metric, &labels);
        assert_eq!(moved, e.by, "{}{:?} moved by {moved}", e.metric, e.labels);
        checked.push(e.metric.to_string());
    }
    checked
}
