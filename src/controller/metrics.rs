//! Reconcile metrics, in one Prometheus registry the admin server serves. Labels carry kinds,
//! results, conditions, error classes and AWS operations only, never object names or error text
//! (unbounded cardinality).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::error::ErrorClass;
use crate::aws::{ApiCategory, CallCounters, RateLimits};

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct ObjectLabels {
    kind: &'static str,
    /// The object's namespace. Not `namespace`: Prometheus gives the scraped pod's namespace
    /// that label (and the chart's alerts tell installs apart by it); a metric's own
    /// `namespace` would be renamed `exported_namespace` or, with honorLabels, overwrite it.
    object_namespace: String,
    condition: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    service: &'static str,
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CategoryLabels {
    category: &'static str,
}

/// The controllers' metrics; cloning shares them.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    passes: Family<PassLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    durations: Family<KindLabels, Histogram>,
    in_flight: Family<KindLabels, Gauge>,
    live: Arc<Mutex<Live>>,
}

/// What is true now about the objects, computed at scrape time: each object's condition and
/// when its next reconcile is due.
#[derive(Debug, Default)]
struct Live {
    conditions: HashMap<String, ObjectLabels>,
    due: HashMap<String, (&'static str, Instant)>,
}

#[derive(Debug)]
struct LiveCollector(Arc<Mutex<Live>>);

impl Collector for LiveCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (objects, queued) = match self.0.lock() {
            Ok(live) => {
                let mut objects: BTreeMap<ObjectLabels, i64> = BTreeMap::new();
                for labels in live.conditions.values() {
                    *objects.entry(labels.clone()).or_insert(0) += 1;
                }
                let now = Instant::now();
                let mut queued: BTreeMap<&'static str, i64> = BTreeMap::new();
                for (kind, at) in live.due.values() {
                    if *at <= now {
                        *queued.entry(kind).or_insert(0) += 1;
                    }
                }
                (objects, queued)
            }
            Err(_) => return Ok(()),
        };
        let mut family = encoder.encode_descriptor(
            "objects",
            "Objects by kind, namespace and condition (ready, reconciling, stalled, paused, deleting)",
            None,
            MetricType::Gauge,
        )?;
        for (labels, count) in &objects {
            ConstGauge::new(*count).encode(family.encode_family(labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "queue_depth",
            "Objects whose reconcile is due (a change or a requeue) and has not started",
            None,
            MetricType::Gauge,
        )?;
        for (kind, count) in &queued {
            ConstGauge::new(*count).encode(family.encode_family(&KindLabels { kind })?)?;
        }
        Ok(())
    }
}

#[derive(Debug)]
struct AwsCollector {
    counters: CallCounters,
    limits: RateLimits,
}

impl Collector for AwsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            "aws_calls",
            "AWS API calls by service, operation and outcome",
            None,
            MetricType::Counter,
        )?;
        for ((service, operation, outcome), count) in self.counters.snapshot() {
            let labels = CallLabels {
                service,
                operation,
                outcome,
            };
            ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "aws_rate_limit",
            "Current adaptive rate limit of each AWS API category, in calls per second",
            None,
            MetricType::Gauge,
        )?;
        for category in ApiCategory::ALL {
            if let Some(rate) = self.limits.rate(category) {
                let labels = CategoryLabels {
                    category: category.as_str(),
                };
                ConstGauge::new(rate).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// Counts a reconcile as in flight until dropped (so every early return is counted out).
#[derive(Debug)]
pub struct InFlight {
    gauge: Gauge,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.gauge.dec();
    }
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
            "Reconcile passes by kind and result (ready, progressing, stalled, error, deleting, deleted)",
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
        let in_flight = Family::<KindLabels, Gauge>::default();
        registry.register(
            "reconciles_in_flight",
            "Reconcile passes running now, by kind",
            in_flight.clone(),
        );
        let live = Arc::new(Mutex::new(Live::default()));
        registry.register_collector(Box::new(LiveCollector(live.clone())));
        Self {
            registry: Arc::new(Mutex::new(registry)),
            passes,
            errors,
            durations,
            in_flight,
            live,
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

    /// Adds the AWS layer's call counters and rate limits to the metrics.
    pub fn watch_aws(&self, counters: CallCounters, limits: RateLimits) {
        if let Ok(mut registry) = self.registry.lock() {
            registry.register_collector(Box::new(AwsCollector { counters, limits }));
        }
    }

    /// A reconcile of `uid` is due at `at` (a change seen now, or a requeue); the earliest wins.
    pub fn due(&self, kind: &'static str, uid: &str, at: Instant) {
        if let Ok(mut live) = self.live.lock() {
            live.due
                .entry(uid.to_owned())
                .and_modify(|(_, due)| *due = (*due).min(at))
                .or_insert((kind, at));
        }
    }

    /// A reconcile of `uid` starts: it leaves the queue and counts as in flight until the guard
    /// drops.
    pub fn start(&self, kind: &'static str, uid: &str) -> InFlight {
        if let Ok(mut live) = self.live.lock() {
            live.due.remove(uid);
        }
        let gauge = self.in_flight.get_or_create(&KindLabels { kind }).clone();
        gauge.inc();
        InFlight { gauge }
    }

    /// The condition `uid` (in `namespace`) is in after a pass. The namespace is a label so a
    /// platform team can tell which tenant's objects are stalled; object names never are (one
    /// series per object would not scale).
    pub fn set_condition(
        &self,
        kind: &'static str,
        namespace: &str,
        uid: &str,
        condition: &'static str,
    ) {
        if let Ok(mut live) = self.live.lock() {
            live.conditions.insert(
                uid.to_owned(),
                ObjectLabels {
                    kind,
                    object_namespace: namespace.to_owned(),
                    condition,
                },
            );
        }
    }

    /// `uid` is gone from Kubernetes.
    pub fn forget(&self, uid: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.conditions.remove(uid);
            live.due.remove(uid);
        }
    }

    /// Forgets the objects of `kind` whose uid is not in `present` (after a re-list).
    pub fn retain(&self, kind: &'static str, present: &std::collections::HashSet<String>) {
        if let Ok(mut live) = self.live.lock() {
            live.conditions
                .retain(|uid, labels| labels.kind != kind || present.contains(uid));
            live.due
                .retain(|uid, (due_kind, _)| *due_kind != kind || present.contains(uid));
        }
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

    #[test]
    fn live_figures_are_computed_at_scrape_time() {
        let metrics = Metrics::default();
        let now = Instant::now();
        metrics.set_condition("service", "team-a", "a", "ready");
        metrics.set_condition("service", "team-a", "b", "ready");
        metrics.set_condition("service", "team-b", "c", "stalled");
        metrics.due("service", "a", now);
        metrics.due("service", "b", now + Duration::from_secs(600));
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"ecs_operator_objects{kind="service",object_namespace="team-a",condition="ready"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"ecs_operator_objects{kind="service",object_namespace="team-b",condition="stalled"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"ecs_operator_queue_depth{kind="service"} 1"#),
            "{text}"
        );

        let guard = metrics.start("service", "a");
        let text = metrics.encode();
        assert!(
            text.contains(r#"ecs_operator_reconciles_in_flight{kind="service"} 1"#),
            "{text}"
        );
        assert!(
            !text.contains(r#"ecs_operator_queue_depth{kind="service"} 1"#),
            "{text}"
        );
        drop(guard);
        metrics.forget("c");
        metrics.retain("service", &["a".to_owned()].into_iter().collect());
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"ecs_operator_objects{kind="service",object_namespace="team-a",condition="ready"} 1"#
            ),
            "{text}"
        );
        let text = metrics.encode();
        assert!(
            text.contains(r#"ecs_operator_reconciles_in_flight{kind="service"} 0"#),
            "{text}"
        );
        assert!(!text.contains(r#"condition="stalled""#), "{text}");
    }

    #[test]
    fn aws_calls_and_rates_are_exported() {
        let metrics = Metrics::default();
        let counters = CallCounters::default();
        counters.record("ecs", "DescribeServices", "ok");
        counters.record("ecs", "DescribeServices", "ok");
        counters.record("ecs", "CreateService", "throttled");
        let budgets = crate::aws::limits::default_budgets(None);
        metrics.watch_aws(counters, RateLimits::new(&budgets));
        let text = metrics.encode();
        assert!(text.contains(r#"ecs_operator_aws_calls_total{service="ecs",operation="DescribeServices",outcome="ok"} 2"#), "{text}");
        assert!(text.contains(r#"ecs_operator_aws_calls_total{service="ecs",operation="CreateService",outcome="throttled"} 1"#), "{text}");
        assert!(
            text.contains(r#"ecs_operator_aws_rate_limit{category="service-read"}"#),
            "{text}"
        );
    }
}
