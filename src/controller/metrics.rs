//! Reconcile metrics, in one Prometheus registry the admin server serves. Labels carry kinds,
//! results and error classes only, never object names or error text (unbounded cardinality).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::error::ErrorClass;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PassLabels {
    kind: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    kind: &'static str,
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// The controllers' metrics; cloning shares them.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    passes: Family<PassLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    durations: Family<KindLabels, Histogram>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ecs_operator");
        let passes = Family::<PassLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let durations = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            // 5 ms to about 40 s.
            Histogram::new(exponential_buckets(0.005, 2.0, 14))
        });
        registry.register(
            "reconciles",
            "Reconcile passes by kind and result (ready, progressing, error, deleting, deleted)",
            passes.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Failed reconcile passes by kind and error class",
            errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Duration of reconcile passes by kind",
            durations.clone(),
        );
        Self {
            registry: Arc::new(Mutex::new(registry)),
            passes,
            errors,
            durations,
        }
    }
}

impl Metrics {
    /// Counts one pass of `kind` with its result, error class (when it failed) and duration.
    pub fn record_pass(
        &self,
        kind: &'static str,
        result: &'static str,
        class: Option<ErrorClass>,
        duration: Duration,
    ) {
        self.passes
            .get_or_create(&PassLabels { kind, result })
            .inc();
        if let Some(class) = class {
            self.errors
                .get_or_create(&ErrorLabels {
                    kind,
                    class: class.as_str(),
                })
                .inc();
        }
        self.durations
            .get_or_create(&KindLabels { kind })
            .observe(duration.as_secs_f64());
    }

    /// Passes of `kind` that ended with `result`, for tests.
    pub fn passes(&self, kind: &'static str, result: &'static str) -> u64 {
        self.passes
            .get_or_create(&PassLabels { kind, result })
            .get()
    }

    /// Failed passes of `kind` in `class`, for tests.
    pub fn errors(&self, kind: &'static str, class: ErrorClass) -> u64 {
        self.errors
            .get_or_create(&ErrorLabels {
                kind,
                class: class.as_str(),
            })
            .get()
    }

    /// The registry, so the runtime can add its own metrics and serve all of them.
    pub fn registry(&self) -> Arc<Mutex<Registry>> {
        self.registry.clone()
    }

    /// Everything in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Ok(registry) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_and_errors_are_counted_by_label() {
        let metrics = Metrics::default();
        metrics.record_pass("service", "ready", None, Duration::from_millis(3));
        metrics.record_pass(
            "service",
            "error",
            Some(ErrorClass::Terminal),
            Duration::from_millis(3),
        );
        assert_eq!(metrics.passes("service", "ready"), 1);
        assert_eq!(metrics.errors("service", ErrorClass::Terminal), 1);
        let text = metrics.encode();
        assert!(
            text.contains(r#"ecs_operator_reconciles_total{kind="service",result="ready"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"ecs_operator_reconcile_errors_total{kind="service",class="terminal"} 1"#
            )
        );
    }
}
