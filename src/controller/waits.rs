//! When a wait for another object becomes news worth an Event.
//!
//! Objects applied together (as `kubectl apply -f dir/` and GitOps tools apply them) wait for
//! each other for a moment: a service for its task definition, a policy for its service. The
//! condition says so at once (`Reconciling`, naming what is awaited), which is what health
//! checks read. An Event for each such wait told nothing the dependency's own Events do not, and
//! cost a Kubernetes write per object: 407 of the 2,896 Events of a cold start of 2,200 objects.
//! So a wait is told as an Event once it has lasted a while (`--wait-event-after-seconds`): then
//! it is news (the dependency is stuck, or missing for good).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The waits under way, by object UID; cloning shares them.
#[derive(Clone, Debug)]
pub struct WaitNotices {
    after: Duration,
    waits: Arc<Mutex<HashMap<String, Wait>>>,
}

/// One object's wait: its kind, since when it has waited (whatever for), and the reasons told.
#[derive(Clone, Debug)]
struct Wait {
    kind: &'static str,
    since: Instant,
    told: Vec<String>,
}

impl WaitNotices {
    /// Waits are told once they have lasted `after` (at once when zero).
    pub fn new(after: Duration) -> Self {
        Self {
            after,
            waits: Arc::default(),
        }
    }

    /// A pass of the object `key` (of `kind`) ended waiting for `reason` at `now`: whether to
    /// publish the wait's Event now. Each reason is told once per wait, when the wait has lasted
    /// `after`; the runner looks again at the poll interval, so a wait is told within a poll of
    /// that.
    pub fn tell(&self, kind: &'static str, key: &str, reason: &str, now: Instant) -> bool {
        let Ok(mut waits) = self.waits.lock() else {
            return false;
        };
        let wait = waits.entry(key.to_owned()).or_insert(Wait {
            kind,
            since: now,
            told: Vec::new(),
        });
        if now.saturating_duration_since(wait.since) < self.after
            || wait.told.iter().any(|told| told == reason)
        {
            return false;
        }
        wait.told.push(reason.to_owned());
        true
    }

    /// A pass of `key` ended otherwise (or the object is gone): its next wait starts afresh.
    pub fn ended(&self, key: &str) {
        if let Ok(mut waits) = self.waits.lock() {
            waits.remove(key);
        }
    }

    /// A fresh list of `kind` holds only the objects `present`: the others were deleted while
    /// the watch was down, with no deletion seen.
    pub fn retain(&self, kind: &'static str, present: &HashSet<String>) {
        if let Ok(mut waits) = self.waits.lock() {
            waits.retain(|uid, wait| wait.kind != kind || present.contains(uid));
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
    const K: &str = "EcsService";

    #[test]
    fn a_wait_is_told_once_when_it_has_lasted_long_enough() {
        let notices = WaitNotices::new(AFTER);
        let start = Instant::now();
        assert!(!notices.tell(K, "a", "TaskDefinitionNotReady", start));
        assert!(!notices.tell(K, "a", "TaskDefinitionNotReady", start + AFTER / 2));
        assert!(notices.tell(K, "a", "TaskDefinitionNotReady", start + AFTER));
        assert!(!notices.tell(K, "a", "TaskDefinitionNotReady", start + AFTER * 2));
        // Another object's wait has its own clock.
        assert!(!notices.tell(K, "b", "ServiceNotReady", start + AFTER * 2));
    }

    #[test]
    fn a_new_reason_of_a_long_wait_is_told_and_an_ended_wait_starts_afresh() {
        let notices = WaitNotices::new(AFTER);
        let start = Instant::now();
        assert!(!notices.tell(K, "a", "TaskDefinitionNotFound", start));
        assert!(notices.tell(K, "a", "TaskDefinitionNotFound", start + AFTER));
        assert!(notices.tell(K, "a", "TaskDefinitionNotReady", start + AFTER * 2));
        // Back to a reason told already: not again.
        assert!(!notices.tell(K, "a", "TaskDefinitionNotFound", start + AFTER * 2));
        notices.ended("a");
        assert!(notices.is_empty());
        assert!(!notices.tell(K, "a", "TaskDefinitionNotReady", start + AFTER * 3));
        assert_eq!(notices.len(), 1);
    }

    #[test]
    fn a_fresh_list_drops_the_waits_of_its_kind_that_are_gone() {
        let notices = WaitNotices::new(AFTER);
        let start = Instant::now();
        notices.tell(K, "gone", "TaskDefinitionNotReady", start);
        notices.tell(K, "here", "TaskDefinitionNotReady", start);
        notices.tell("EcsScalingPolicy", "policy", "ServiceNotReady", start);
        notices.retain(K, &HashSet::from(["here".to_owned()]));
        assert_eq!(notices.len(), 2, "the other kind's wait stays");
        notices.ended("here");
        notices.ended("policy");
        assert!(notices.is_empty());
    }

    #[test]
    fn with_no_delay_a_wait_is_told_at_its_first_pass_only() {
        let notices = WaitNotices::new(Duration::ZERO);
        let start = Instant::now();
        assert!(notices.tell(K, "a", "ServiceNotReady", start));
        assert!(!notices.tell(K, "a", "ServiceNotReady", start + AFTER));
    }
}
