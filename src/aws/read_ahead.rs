//! The read-ahead cache of DescribeServices: which services the controllers follow per cluster,
//! the answers read ahead for them, and which services are due soonest, so that a describe of
//! fewer than ten names is filled up with neighbours whose passes come next.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::ecs::DESCRIBE_SERVICES_MAX;
use super::types::ServiceObservation;

/// Answers read ahead, and the services the controllers follow per cluster: a DescribeServices
/// call for fewer than 10 names is filled up with followed services of the same cluster that are
/// due soonest (whose last answer was used longest ago), and their answers wait here for the pass
/// that needs them. Each answer serves one pass. So settled services are read ten to a call even
/// when their resyncs do not coincide.
#[derive(Default)]
pub(super) struct ServiceCache {
    /// Answers read ahead and not used yet, with when they were read.
    pub(super) answers: HashMap<(String, String), (Instant, Option<ServiceObservation>)>,
    /// When a pass last used an answer of the service.
    pub(super) used: HashMap<(String, String), Instant>,
    pub(super) followed: HashMap<String, BTreeSet<String>>,
    /// How old an answer may be when a pass uses it (the last age asked for).
    pub(super) max_age: Duration,
    /// Services whose answer a DescribeServices call in flight is reading ahead.
    pub(super) pending: HashSet<(String, String)>,
    /// When the operator last wrote each service: an answer read ahead by a call that started
    /// before the write is stale (it would show a service just created as missing) and is dropped.
    pub(super) written: HashMap<(String, String), Instant>,
    /// Passes served from read-ahead answers, and passes that had to read.
    pub(super) hits: u64,
    pub(super) misses: u64,
}

/// What the read-ahead cache has for a pass.
pub(super) enum Waiting {
    /// An answer read ahead, fresh enough.
    Hit(Box<Option<ServiceObservation>>),
    /// A call in flight reads the service ahead.
    InFlight,
    /// Nothing: read now.
    Miss,
}

impl ServiceCache {
    /// Follows a service: its answers are read ahead with its cluster's other services.
    pub(super) fn follow(&mut self, cluster: &str, service: &str) {
        self.followed
            .entry(cluster.to_owned())
            .or_default()
            .insert(service.to_owned());
    }

    /// Stops following a service and forgets its answer.
    pub(super) fn unfollow(&mut self, cluster: &str, service: &str) {
        if let Some(names) = self.followed.get_mut(cluster) {
            names.remove(service);
        }
        let key = (cluster.to_owned(), service.to_owned());
        self.answers.remove(&key);
        self.used.remove(&key);
    }

    /// Forgets the answer of a service being written, and remembers when it was written.
    pub(super) fn forget(&mut self, cluster: &str, service: &str) {
        let key = (cluster.to_owned(), service.to_owned());
        self.answers.remove(&key);
        let now = Instant::now();
        if self.written.len() > 10_000 {
            // Only writes newer than the calls in flight matter.
            self.written
                .retain(|_, at| now.duration_since(*at) < Duration::from_secs(300));
        }
        self.written.insert(key, now);
    }

    /// What the cache has for a pass of `key` that accepts answers up to `max_age` old; `used`
    /// marks the pass's first look (the service's due time).
    pub(super) fn take(
        &mut self,
        key: &(String, String),
        max_age: Duration,
        used: bool,
    ) -> Waiting {
        self.max_age = max_age;
        if used {
            self.used.insert(key.clone(), Instant::now());
        }
        if let Some((_, answer)) = self
            .answers
            .remove(key)
            .filter(|(at, _)| at.elapsed() <= max_age)
        {
            self.hits += 1;
            return Waiting::Hit(Box::new(answer));
        }
        if self.pending.contains(key) {
            return Waiting::InFlight;
        }
        self.misses += 1;
        Waiting::Miss
    }
}

/// `names` plus followed services of `cluster` with no answer waiting, due soonest first (their
/// last answer used longest ago), up to 10.
pub(super) fn fill_up(cache: &Mutex<ServiceCache>, cluster: &str, names: &[String]) -> Vec<String> {
    let mut all = names.to_vec();
    let Ok(cache) = cache.lock() else {
        return all;
    };
    let Some(followed) = cache.followed.get(cluster) else {
        return all;
    };
    let mut due: Vec<(Option<Instant>, &String)> = followed
        .iter()
        .filter(|name| !names.contains(name))
        // A waiting answer too old to be used is no answer.
        .filter(|name| {
            cache
                .answers
                .get(&(cluster.to_owned(), (*name).clone()))
                .is_none_or(|(at, _)| at.elapsed() > cache.max_age)
        })
        .map(|name| {
            let used = cache.used.get(&(cluster.to_owned(), name.clone())).copied();
            (used, name)
        })
        .collect();
    due.sort();
    let room = DESCRIBE_SERVICES_MAX.saturating_sub(all.len());
    all.extend(due.into_iter().take(room).map(|(_, name)| name.clone()));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_filled_with_the_services_due_soonest() {
        let cache = Mutex::new(ServiceCache::default());
        let key = |n: &str| ("prod".to_owned(), n.to_owned());
        {
            let mut c = cache.lock().expect("lock");
            let names: BTreeSet<String> = (0..15).map(|i| format!("s{i:02}")).collect();
            c.followed.insert("prod".into(), names);
            let start = Instant::now();
            // s00..s09 were used in this order; s10..s14 never; s03 has an answer waiting.
            for i in 0..10 {
                c.used
                    .insert(key(&format!("s{i:02}")), start + Duration::from_millis(i));
            }
            c.answers.insert(key("s03"), (start, None));
            c.max_age = Duration::from_secs(60);
        }
        let all = fill_up(&cache, "prod", &["s05".to_owned()]);
        assert_eq!(all.len(), 10);
        assert_eq!(all[0], "s05", "the asked-for name first");
        assert!(
            all[1..6].iter().all(|n| n.as_str() >= "s10"),
            "never used: due first: {all:?}"
        );
        assert_eq!(
            &all[6..],
            ["s00", "s01", "s02", "s04"],
            "then the oldest use, skipping waiting answers"
        );
        assert_eq!(
            fill_up(&cache, "dev", &["x".to_owned()]),
            ["x"],
            "other clusters untouched"
        );
    }
}
