//! When a wait for another object becomes news worth an Event.
//!
//! Objects applied together (as `kubectl apply -f dir/` and GitOps tools apply them) wait for
//! each other for a moment: a service for its task definition, a policy for its service. The
//! condition says so at once (`Reconciling`, naming what is awaited), which is what health
//! checks read. An Event for each such wait told nothing the dependency's own Events do not, and
//! cost a Kubernetes write per object: 407 of the 2,896 Events of a cold start of 2,200 objects.
//! So a wait is told as an Event once it has lasted a while (`--wait-event-after-seconds`): then
//! it is news (the dependency is stuck, or missing for good).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The waits under way, by object UID; cloning shares them.
#[derive(Clone, Debug)]
pub struct WaitNotices {
    after: Duration,
    waits: Arc<Mutex<HashMap<String, Wait>>>,
}

/// One object's wait: since when it has waited (whatever for), and the last reason told.
#[derive(Clone, Debug)]
struct Wait {
    since: Instant,
    told: Option<String>,
}

impl WaitNotices {
    /// Waits are told once they have lasted `after` (at once when zero).
    pub fn new(after: Duration) -> Self {
        Self {
            after,
            waits: Arc::default(),
        }
    }

    /// A pass of the object `key` ended waiting for `reason` at `now`: whether to publish the
    /// wait's Event now. Each reason is told once per wait, when the wait has lasted `after`;
    /// the runner looks again at the poll interval, so a wait is told within a poll of that.
    pub fn tell(&self, key: &str, reason: &str, now: Instant) -> bool {
        let Ok(mut waits) = self.waits.lock() else {
            return true;
        };
        let wait = waits.entry(key.to_owned()).or_insert(Wait {
            since: now,
            told: None,
        });
        if now.saturating_duration_since(wait.since) < self.after
            || wait.told.as_deref() == Some(reason)
        {
            return false;
        }
        wait.told = Some(reason.to_owned());
        true
    }

    /// A pass of `key` ended otherwise (or the object is gone): its next wait starts afresh.
    pub fn ended(&self, key: &str) {
        if let Ok(mut waits) = self.waits.lock() {
            waits.remove(key);
        }
    }

    /// How many objects are waiting (memory held here).
    pub fn len(&self) -> usize {
        self.waits.lock().map(|w| w.len()).unwrap_or(0)
    }

    /// Whether no object is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AFTER: Duration = Duration::from_secs(30);

    #[test]
    fn a_wait_is_told_once_when_it_has_lasted_long_enough() {
        let notices = WaitNotices::new(AFTER);
        let start = Instant::now();
        assert!(!notices.tell("a", "TaskDefinitionNotReady", start));
        assert!(!notices.tell("a", "TaskDefinitionNotReady", start + AFTER / 2));
        assert!(notices.tell("a", "TaskDefinitionNotReady", start + AFTER));
        assert!(!notices.tell("a", "TaskDefinitionNotReady", start + AFTER * 2));
        // Another object's wait has its own clock.
        assert!(!notices.tell("b", "ServiceNotReady", start + AFTER * 2));
    }

    #[test]
    fn a_new_reason_of_a_long_wait_is_told_and_an_ended_wait_starts_afresh() {
        let notices = WaitNotices::new(AFTER);
        let start = Instant::now();
        assert!(!notices.tell("a", "TaskDefinitionNotFound", start));
        assert!(notices.tell("a", "TaskDefinitionNotFound", start + AFTER));
        assert!(notices.tell("a", "TaskDefinitionNotReady", start + AFTER * 2));
        notices.ended("a");
        assert!(notices.is_empty());
        assert!(!notices.tell("a", "TaskDefinitionNotReady", start + AFTER * 3));
        assert_eq!(notices.len(), 1);
    }

    #[test]
    fn with_no_delay_a_wait_is_told_at_its_first_pass_only() {
        let notices = WaitNotices::new(Duration::ZERO);
        let start = Instant::now();
        assert!(notices.tell("a", "ServiceNotReady", start));
        assert!(!notices.tell("a", "ServiceNotReady", start + AFTER));
    }
}
