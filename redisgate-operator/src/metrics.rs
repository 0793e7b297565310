//! Prometheus metrics of the reconciler: how many reconciles ran, how many failed (labelled by
//! [`Error::metric_label`](crate::Error::metric_label), a small fixed set, never the instance name, so
//! the series count stays bounded), and how long they took.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::Error;

/// Labels of a failure.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// [`Error::metric_label`].
    pub error: String,
}

/// The operator's metrics and the registry that exposes them.
#[derive(Clone)]
pub struct Metrics {
    reconciles: Counter,
    failures: Family<FailureLabels, Counter>,
    duration: Histogram,
    registry: Arc<Registry>,
}

impl Default for Metrics {
    fn default() -> Self {
        let reconciles = Counter::default();
        let failures = Family::<FailureLabels, Counter>::default();
        let duration = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        let mut registry = Registry::with_prefix("redisgate_operator");
        registry.register("reconciles", "Reconciles started", reconciles.clone());
        registry.register("reconcile_failures", "Reconciles that failed, by cause", failures.clone());
        registry.register("reconcile_duration_seconds", "How long reconciles took", duration.clone());
        Self { reconciles, failures, duration, registry: Arc::new(registry) }
    }
}

impl Metrics {
    /// Counts a reconcile that took `elapsed`.
    pub fn reconciled(&self, elapsed: Duration) {
        self.reconciles.inc();
        self.duration.observe(elapsed.as_secs_f64());
    }

    /// Counts a failure.
    pub fn failed(&self, error: &Error) {
        self.failures.get_or_create(&FailureLabels { error: error.metric_label().to_owned() }).inc();
    }

    /// Reconciles so far.
    #[must_use]
    pub fn reconciles(&self) -> u64 {
        self.reconciles.get()
    }

    /// Failures so far with `label`.
    #[must_use]
    pub fn failures(&self, label: &str) -> u64 {
        self.failures.get(&FailureLabels { error: label.to_owned() }).map_or(0, |c| c.get())
    }

    /// The OpenMetrics text exposition.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_by_label_and_exposed() {
        let metrics = Metrics::default();
        metrics.failed(&Error::Timeout("x".into()));
        metrics.reconciled(Duration::from_millis(3));
        assert_eq!(metrics.failures("timeout"), 1);
        assert_eq!(metrics.failures("kube"), 0);
        let text = metrics.encode();
        assert!(text.contains(r#"redisgate_operator_reconcile_failures_total{error="timeout"} 1"#), "{text}");
        assert!(text.contains("redisgate_operator_reconciles_total 1"), "{text}");
    }
}
