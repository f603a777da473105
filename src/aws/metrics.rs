//! Counters of AWS calls by service, operation and outcome, for the metrics endpoint and for tests
//! that assert how many calls a reconcile cost.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Key of one counter: (service, operation, outcome), e.g. ("ecs", "DescribeServices", "ok").
pub type CallKey = (&'static str, &'static str, &'static str);

/// Shared call counters; cloning shares them.
#[derive(Clone, Debug, Default)]
pub struct CallCounters {
    counts: Arc<Mutex<BTreeMap<CallKey, u64>>>,
}

impl CallCounters {
    /// Counts one call.
    pub fn record(&self, service: &'static str, operation: &'static str, outcome: &'static str) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry((service, operation, outcome)).or_insert(0) += 1;
        }
    }

    /// All counters now.
    pub fn snapshot(&self) -> BTreeMap<CallKey, u64> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Calls of one operation, whatever their outcome.
    pub fn calls(&self, service: &str, operation: &str) -> u64 {
        self.snapshot()
            .iter()
            .filter(|((s, o, _), _)| *s == service && *o == operation)
            .map(|(_, n)| n)
            .sum()
    }
}
