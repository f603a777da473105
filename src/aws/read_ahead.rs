//! The read-ahead cache of DescribeServices: which services the controllers follow per cluster,
//! the answers read ahead for them, and which services are due soonest, so that a describe of
//! fewer than ten names is filled up with neighbours whose passes come next.

use std::collections::{BTreeSet, HashMap};
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
    /// Answers read ahead and not used yet.
    pub(super) answers: HashMap<(String, String), ReadAhead>,
    /// When a pass last used an answer of the service.
    pub(super) used: HashMap<(String, String), Instant>,
    /// The next poll of each service whose rollout runs: a neighbour's call shortly before it
    /// is due reads it ahead, and the poll takes that answer (see [`PollDue::read_for_it`]).
    pub(super) polls: HashMap<(String, String), PollDue>,
    /// When a settled service's next pass (its resync) is due at the latest: a call reads it
    /// ahead only once its answer would still be young enough then (see [`fill_up`]).
    pub(super) resyncs: HashMap<(String, String), Instant>,
    pub(super) followed: HashMap<String, BTreeSet<String>>,
    /// How old an answer may be when a pass uses it (the last age asked for).
    pub(super) max_age: Duration,
    /// How late a rollout's poll may come and still take the answer read for it (the last limit
    /// a poll asked for; see [`Wanted::Poll`]).
    pub(super) poll_late_limit: Duration,
    /// Services whose answer a DescribeServices call in flight is reading ahead, with when the
    /// call started.
    pub(super) pending: HashMap<(String, String), Instant>,
    /// When the operator last wrote each service: an answer read ahead by a call that started
    /// before the write is stale (it would show a service just created as missing) and is dropped.
    pub(super) written: HashMap<(String, String), Instant>,
    /// From when a call's answer serves the rollout poll of a service the operator wrote: its
    /// last write plus [`AFTER_UPDATE`], or the write itself for a create.
    pub(super) polls_from: HashMap<(String, String), Instant>,
    /// Passes served from read-ahead answers, and passes that had to read.
    pub(super) hits: u64,
    pub(super) misses: u64,
}

/// How far ahead of a rollout's poll a neighbour's call reads it, and how old an answer a poll
/// that comes on time (or early) takes; a late one takes the answer read for it up to its late
/// limit (see [`Wanted::Poll`]). During a cold start the polls of the new services came a second
/// apart each and read fresh, two or three names a call, while the neighbours' calls filled their
/// batches with settled services whose next pass was a resync away (1,279 DescribeServices for
/// 1,000 services).
pub const ROLLOUT_ANSWER_AGE: Duration = Duration::from_secs(1);

/// How long after the operator's update of a service (UpdateService, DeleteService, a retag, a
/// deployment's continue or rollback) a call must start for its answer to serve the service's
/// rollout poll: as late as the first poll after the write reads for itself. ECS reads are
/// eventually consistent, and an answer read a moment after an update may show the service as it
/// was, which for a drift-checked member sends the update again. After a CreateService any answer
/// read after it returned serves: one that predates it shows no service, and the plan waits for
/// a service it created to be listed. Calls do not read a service ahead before its answer could
/// serve.
pub const AFTER_UPDATE: Duration = Duration::from_secs(1);

/// When a followed service's next pass is due, as its pass tells the read-ahead cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextPass {
    /// A rollout's poll, this long from now: neighbours' calls read it ahead from
    /// [`ROLLOUT_ANSWER_AGE`] before, or later should its pass be late.
    Poll(Duration),
    /// A settled service's resync, at the latest this long from now (jitter included): read
    /// ahead only when its answer will still be young enough for the pass then. Read ahead
    /// earlier, it was read again: at 10,000 objects calls filled their spare names with services
    /// whose resync was further off than the answers were kept, so those answers expired unused,
    /// their passes missed and read again, filling further ahead (1,441 of 4,279 services read
    /// twice in one resync, half of them about 30 s apart).
    Resync(Duration),
}

/// Which answers a pass takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wanted {
    /// A settled service's pass: an answer at most this old, which is also how long answers
    /// read ahead for settled services are kept.
    Settled(Duration),
    /// A rollout's poll: an answer read at most [`ROLLOUT_ANSWER_AGE`] before the poll was due,
    /// however late its pass comes, up to `late_limit` old (the operator's poll interval); a
    /// pass that comes early (its object changed) takes any answer under a second old. Either
    /// way, when the pass before set the poll, only an answer of a call started after that. On
    /// the real control plane a busy operator's polls
    /// came late (a median of 0.13 s, one in ten by over 0.8 s), so the answers read for them were
    /// too old by then and the polls read again: 662 DescribeServices in a cold start of 2,200
    /// objects against 342 on the emulator.
    Poll {
        /// The oldest answer a late poll takes.
        late_limit: Duration,
    },
}

/// A rollout's next poll, as the pass before it set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PollDue {
    /// When the pass before set it, after its read: an answer of a call started earlier may be
    /// no newer than what that pass saw (a call in flight while it read for itself, say), so it
    /// is not taken.
    pub(super) set: Instant,
    /// When the poll is due.
    pub(super) due: Instant,
}

impl PollDue {
    /// Whether `answer` was read for this poll: by a call started after the pass before, arriving
    /// at most [`ROLLOUT_ANSWER_AGE`] before the poll was due, and at most `late_limit` before
    /// `now`.
    fn read_for_it(&self, answer: &ReadAhead, now: Instant, late_limit: Duration) -> bool {
        answer.started >= self.set
            && answer.arrived + ROLLOUT_ANSWER_AGE >= self.due
            && now.saturating_duration_since(answer.arrived) <= late_limit
    }
}

/// An answer read ahead for a pass.
pub(super) struct ReadAhead {
    /// When the call that read it started.
    pub(super) started: Instant,
    /// When it arrived (its age).
    pub(super) arrived: Instant,
    /// The service, or `None`: the call found none.
    pub(super) service: Option<ServiceObservation>,
}

impl ReadAhead {
    /// An answer of a call that started at `started` and arrived now.
    pub(super) fn new(started: Instant, service: Option<ServiceObservation>) -> Self {
        Self {
            started,
            arrived: Instant::now(),
            service,
        }
    }
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
        self.polls.remove(&key);
        self.resyncs.remove(&key);
    }

    /// A service's next pass is `next` from `now`.
    pub(super) fn expect_pass(
        &mut self,
        cluster: &str,
        service: &str,
        next: NextPass,
        now: Instant,
    ) {
        let key = (cluster.to_owned(), service.to_owned());
        match next {
            NextPass::Poll(after) => {
                self.resyncs.remove(&key);
                self.polls.insert(
                    key,
                    PollDue {
                        set: now,
                        due: now + after,
                    },
                );
            }
            NextPass::Resync(after) => {
                self.polls.remove(&key);
                self.resyncs.insert(key, now + after);
            }
        }
    }

    /// Forgets the answer of a service being written, and remembers when it was written; answers
    /// serve its polls from `settle` after (see [`AFTER_UPDATE`]).
    pub(super) fn forget(&mut self, cluster: &str, service: &str, settle: Duration) {
        let now = Instant::now();
        if self.written.len() > 10_000 {
            // Only writes newer than the calls in flight matter.
            self.written
                .retain(|_, at| now.duration_since(*at) < Duration::from_secs(300));
            self.polls_from
                .retain(|_, from| now.saturating_duration_since(*from) < Duration::from_secs(300));
        }
        // The cache's key is the cluster as the spec names it (a name or an ARN, or none for
        // `default`); a write known by the service's ARN names it by name.
        let mut clusters: Vec<String> = self
            .followed
            .keys()
            .filter(|followed| same_cluster(followed, cluster))
            .cloned()
            .collect();
        if !clusters.iter().any(|c| c == cluster) {
            clusters.push(cluster.to_owned());
        }
        for cluster in clusters {
            let key = (cluster, service.to_owned());
            self.answers.remove(&key);
            // After a write the next pass is a poll, not a resync.
            self.resyncs.remove(&key);
            self.written.insert(key.clone(), now);
            // A create just after an update of the same name does not shorten the update's wait.
            let from = self.polls_from.entry(key).or_insert(now);
            *from = (*from).max(now + settle);
        }
    }

    /// What the cache has for a pass of `key` that takes the answers `wanted` says; `used` marks
    /// the pass's first look (the service's due time). A settled service's pass sets the age its
    /// read-ahead answers are kept for; a rollout's poll sets how late polls take theirs.
    pub(super) fn take(&mut self, key: &(String, String), wanted: Wanted, used: bool) -> Waiting {
        let settled = match wanted {
            Wanted::Settled(max_age) => {
                self.max_age = max_age;
                true
            }
            Wanted::Poll { late_limit } => {
                self.poll_late_limit = late_limit;
                false
            }
        };
        let now = Instant::now();
        let mut poll = None;
        if used {
            self.used.insert(key.clone(), now);
            // This is the poll: no other call needs to read it ahead (the pass sets the next).
            poll = self.polls.remove(key);
        }
        // A rollout's poll takes only an answer whose call started after the operator's last
        // write of the service settled (see `AFTER_UPDATE`; a settled service's pass is guarded
        // by the call's start alone, when the answer arrives).
        let from = self.polls_from.get(key).copied();
        if let Some(answer) = self.answers.remove(key).filter(|answer| match wanted {
            Wanted::Settled(max_age) => now.saturating_duration_since(answer.arrived) <= max_age,
            Wanted::Poll { late_limit } => {
                serves_poll(from, answer.started) && read_for_poll(answer, poll, now, late_limit)
            }
        }) {
            self.hits += 1;
            return Waiting::Hit(Box::new(answer.service));
        }
        // A call in flight serves a poll only if its answer could (see `AFTER_UPDATE`) and it
        // started after the pass before (its answer arrives now: young enough after the wait).
        if let Some(started) = self.pending.get(key)
            && (settled
                || serves_poll(from, *started) && poll.is_none_or(|poll| *started >= poll.set))
        {
            return Waiting::InFlight;
        }
        self.misses += 1;
        Waiting::Miss
    }
}

/// Whether the answer of a call started at `started` serves a poll of a service whose answers
/// serve polls `from` then (see [`AFTER_UPDATE`]).
fn serves_poll(from: Option<Instant>, started: Instant) -> bool {
    from.is_none_or(|from| started >= from)
}

/// Whether `answer` is recent enough for a rollout's poll looking now: read at most
/// [`ROLLOUT_ANSWER_AGE`] ago, or for the poll set by the pass before (see [`Wanted::Poll`]); and
/// by a call started after that pass, when one set it.
fn read_for_poll(
    answer: &ReadAhead,
    poll: Option<PollDue>,
    now: Instant,
    late_limit: Duration,
) -> bool {
    let young = now.saturating_duration_since(answer.arrived) <= ROLLOUT_ANSWER_AGE;
    match poll {
        Some(poll) => {
            answer.started >= poll.set && young || poll.read_for_it(answer, now, late_limit)
        }
        None => young,
    }
}

/// `names` plus up to 10 followed services of `cluster` whose pass has no answer waiting for it:
/// first those whose rollout poll is due within [`ROLLOUT_ANSWER_AGE`], or overdue by no more than
/// a late poll waits for its answer (soonest first), then settled ones, due soonest first (their
/// last answer used longest ago). A rollout whose poll is further off is left out: the answer
/// would be too old for it; so is a settled service whose resync is due later than answers are
/// kept, or overdue by longer (see [`NextPass::Resync`]), and one updated less than
/// [`AFTER_UPDATE`] ago: its next pass could not use the answer.
pub(super) fn fill_up(cache: &Mutex<ServiceCache>, cluster: &str, names: &[String]) -> Vec<String> {
    let mut all = names.to_vec();
    let Ok(cache) = cache.lock() else {
        return all;
    };
    let Some(followed) = cache.followed.get(cluster) else {
        return all;
    };
    let now = Instant::now();
    // (0, poll due) for a rollout's poll, (1, last used) for the rest.
    let mut due: Vec<((u8, Option<Instant>), &String)> = followed
        .iter()
        .filter(|name| !names.contains(name))
        .filter_map(|name| {
            let key = (cluster.to_owned(), name.clone());
            if cache.pending.contains_key(&key) {
                // Another call in flight reads it already.
                return None;
            }
            let waiting = cache
                .answers
                .get(&key)
                .map(|answer| now.saturating_duration_since(answer.arrived));
            let polls_from = cache.polls_from.get(&key).copied();
            let late_limit = cache.poll_late_limit.max(ROLLOUT_ANSWER_AGE);
            match cache.polls.get(&key) {
                // A poll overdue by more than a late poll takes its answer is no poll: its pass
                // failed before it set the next, or the operator is that far behind; ranked with
                // the rest.
                Some(poll) if now.saturating_duration_since(poll.due) <= late_limit => {
                    let soon = poll.due.saturating_duration_since(now) <= ROLLOUT_ANSWER_AGE;
                    // An answer read for this poll waits: its pass takes it, however late.
                    let read_for_it = cache.answers.get(&key).is_some_and(|answer| {
                        serves_poll(polls_from, answer.started)
                            && poll.read_for_it(answer, now, late_limit)
                    });
                    let usable = serves_poll(polls_from, now);
                    (soon && !read_for_it && usable).then_some(((0, Some(poll.due)), name))
                }
                _ => {
                    // A waiting answer too old to be used is no answer.
                    let fresh = waiting.is_some_and(|age| age <= cache.max_age);
                    // An answer read now would be too old by the service's resync; or the
                    // resync is overdue by longer than answers are kept: its passes stopped (a
                    // lookup failing before the read, say), and reading it ahead is waste.
                    let off_schedule = cache.resyncs.get(&key).is_some_and(|due| {
                        due.saturating_duration_since(now) > cache.max_age
                            || now.saturating_duration_since(*due) > cache.max_age
                    });
                    let used = cache.used.get(&key).copied();
                    // A service no pass has used yet is read ahead once: should its pass never
                    // come (paused, or failing before it reads), its expired answer stays and it
                    // is not read again, ahead of services whose passes do come.
                    let unclaimed = used.is_none() && waiting.is_some();
                    // Written a moment ago: its next pass could not use the answer.
                    let usable = serves_poll(polls_from, now);
                    (!fresh && !off_schedule && !unclaimed && usable).then_some(((1, used), name))
                }
            }
        })
        .collect();
    due.sort();
    let room = DESCRIBE_SERVICES_MAX.saturating_sub(all.len());
    all.extend(due.into_iter().take(room).map(|(_, name)| name.clone()));
    all
}

/// Whether two names of a cluster (a name, an ARN `...:cluster/NAME`, or empty for `default`)
/// name the same one.
fn same_cluster(a: &str, b: &str) -> bool {
    fn short(cluster: &str) -> &str {
        match cluster.rsplit_once(":cluster/") {
            Some((_, name)) => name,
            None if cluster.is_empty() => "default",
            None => cluster,
        }
    }
    short(a) == short(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A poll due at `due`, set by a pass long before.
    fn due_at(due: Instant) -> PollDue {
        PollDue {
            set: due - Duration::from_secs(10),
            due,
        }
    }

    /// A rollout's poll, as the controller asks with a 5 s poll interval.
    const POLL: Wanted = Wanted::Poll {
        late_limit: Duration::from_secs(5),
    };

    /// An answer of no service, read at `at`.
    fn read_at(at: Instant) -> ReadAhead {
        ReadAhead {
            started: at,
            arrived: at,
            service: None,
        }
    }

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
            c.answers.insert(key("s03"), read_at(start));
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

    #[test]
    fn rollout_polls_due_within_a_second_come_first_and_later_ones_wait() {
        let cache = Mutex::new(ServiceCache::default());
        let key = |n: &str| ("prod".to_owned(), n.to_owned());
        let now = Instant::now();
        {
            let mut c = cache.lock().expect("lock");
            let names: BTreeSet<String> =
                ["a", "due-soon", "due-later", "late", "polled", "settled"]
                    .into_iter()
                    .map(String::from)
                    .collect();
            c.followed.insert("prod".into(), names);
            c.max_age = Duration::from_secs(30);
            c.polls
                .insert(key("due-soon"), due_at(now + Duration::from_millis(500)));
            c.polls
                .insert(key("due-later"), due_at(now + Duration::from_secs(5)));
            // Overdue by far more than a late poll takes its answer: ranked as settled.
            c.polls
                .insert(key("late"), due_at(now - Duration::from_secs(10)));
            c.used.insert(key("late"), now - Duration::from_secs(1));
            c.used.insert(key("settled"), now - Duration::from_secs(20));
            // Its poll is due, but an answer read a moment ago waits for it.
            c.polls
                .insert(key("polled"), due_at(now + Duration::from_millis(200)));
            c.answers.insert(key("polled"), read_at(now));
        }
        let all = fill_up(&cache, "prod", &["a".to_owned()]);
        assert_eq!(all, ["a", "due-soon", "settled", "late"]);
        cache.lock().expect("lock").expect_pass(
            "prod",
            "due-later",
            NextPass::Resync(Duration::from_secs(10)),
            now,
        );
        let all = fill_up(&cache, "prod", &["a".to_owned()]);
        assert_eq!(
            all,
            ["a", "due-soon", "due-later", "settled", "late"],
            "settled now: ranked by last use (never used first)"
        );
    }

    #[test]
    fn a_settled_service_is_read_ahead_only_when_its_answer_would_serve_its_resync() {
        let cache = Mutex::new(ServiceCache::default());
        let key = |n: &str| ("prod".to_owned(), n.to_owned());
        let now = Instant::now();
        {
            let mut c = cache.lock().expect("lock");
            let names: BTreeSet<String> = ["a", "due-soon", "due-late", "unknown", "written"]
                .into_iter()
                .map(String::from)
                .collect();
            c.followed.insert("prod".into(), names);
            c.max_age = Duration::from_secs(30);
            let resync = |after| NextPass::Resync(Duration::from_secs(after));
            c.expect_pass("prod", "due-soon", resync(20), now);
            // Its answer would be 36 s old by its resync, older than answers are kept.
            c.expect_pass("prod", "due-late", resync(66), now);
            c.expect_pass("prod", "written", resync(66), now);
            // A write: the next pass is a poll, whenever the resync was due.
            c.forget("prod", "written", Duration::ZERO);
            c.expect_pass("prod", "updated-now", resync(20), now);
            c.forget("prod", "updated-now", AFTER_UPDATE);
            // Its resync was due 31 s ago: its passes stopped.
            c.resyncs
                .insert(key("stopped"), now - Duration::from_secs(31));
            c.followed
                .get_mut("prod")
                .expect("followed")
                .extend(["updated-now".to_owned(), "stopped".to_owned()]);
        }
        assert_eq!(
            fill_up(&cache, "prod", &["a".to_owned()]),
            ["a", "due-soon", "unknown", "written"],
            "never used: by name; not one updated a moment ago, nor one whose passes stopped"
        );
        cache.lock().expect("lock").expect_pass(
            "prod",
            "due-late",
            NextPass::Poll(Duration::from_millis(500)),
            now,
        );
        assert_eq!(
            fill_up(&cache, "prod", &["a".to_owned()])[1],
            "due-late",
            "a poll due now comes first"
        );
    }

    #[test]
    fn a_service_no_pass_used_is_read_ahead_once() {
        let cache = Mutex::new(ServiceCache::default());
        let key = |n: &str| ("prod".to_owned(), n.to_owned());
        let long_ago = Instant::now() - Duration::from_secs(60);
        {
            let mut c = cache.lock().expect("lock");
            let names: BTreeSet<String> = ["a", "passed", "never-passed"]
                .into_iter()
                .map(String::from)
                .collect();
            c.followed.insert("prod".into(), names);
            c.max_age = Duration::from_secs(30);
            // Both were read ahead a minute ago; only one's pass has ever used an answer.
            c.used.insert(key("passed"), long_ago);
            c.answers.insert(key("passed"), read_at(long_ago));
            c.answers.insert(key("never-passed"), read_at(long_ago));
        }
        assert_eq!(fill_up(&cache, "prod", &["a".to_owned()]), ["a", "passed"]);
        // Its pass comes at last: the expired answer is no hit, and it is read ahead again.
        let mut c = cache.lock().expect("lock");
        assert!(matches!(
            c.take(
                &key("never-passed"),
                Wanted::Settled(Duration::from_secs(30)),
                true
            ),
            Waiting::Miss
        ));
        c.used.insert(key("never-passed"), long_ago);
        drop(c);
        assert_eq!(
            fill_up(&cache, "prod", &["a".to_owned()]),
            ["a", "never-passed", "passed"]
        );
    }

    #[test]
    fn a_late_poll_takes_the_answer_read_for_it_up_to_the_poll_interval() {
        let key = ("prod".to_owned(), "web".to_owned());
        let now = Instant::now();
        let secs = Duration::from_secs_f64;
        let poll_with = |set: Instant, due: Instant, started: Instant, arrived: Instant| {
            let mut cache = ServiceCache::default();
            cache.polls.insert(key.clone(), PollDue { set, due });
            let answer = ReadAhead {
                started,
                arrived,
                service: None,
            };
            cache.answers.insert(key.clone(), answer);
            matches!(cache.take(&key, POLL, true), Waiting::Hit(_))
        };
        let read = |at| poll_with(now - secs(7.0), now - secs(2.0), at, at);
        assert!(
            read(now - secs(2.5)),
            "read half a second before the poll was due; the pass came 2 s late"
        );
        assert!(
            !read(now - secs(3.5)),
            "read further ahead than a poll takes"
        );
        let long_due = now - secs(6.0);
        assert!(
            !poll_with(now - secs(9.0), long_due, long_due, long_due),
            "older than the poll interval: read again"
        );
        assert!(
            poll_with(
                now - secs(1.0),
                now + secs(2.0),
                now - secs(0.5),
                now - secs(0.5)
            ),
            "a pass before its poll was due (its object changed) takes an answer under a second old"
        );
        assert!(
            !poll_with(
                now - secs(0.3),
                now + secs(0.7),
                now - secs(0.5),
                now - secs(0.2)
            ),
            "a call started before the pass before it: no newer than what that pass saw"
        );
        let mut cache = ServiceCache::default();
        cache.answers.insert(key.clone(), read_at(now - secs(1.5)));
        assert!(
            matches!(cache.take(&key, POLL, true), Waiting::Miss),
            "no poll set: only the answer's age counts"
        );
        // Read for the poll, which came a second late, but by a call started a moment after the
        // operator's update (less than AFTER_UPDATE).
        let mut cache = ServiceCache::default();
        cache.polls_from.insert(key.clone(), now - secs(2.0));
        cache.polls.insert(
            key.clone(),
            PollDue {
                set: now - secs(3.0),
                due: now - secs(1.0),
            },
        );
        let answer = ReadAhead {
            started: now - secs(2.5),
            arrived: now - secs(1.5),
            service: None,
        };
        cache.answers.insert(key.clone(), answer);
        assert!(matches!(cache.take(&key, POLL, true), Waiting::Miss));
        // A call in flight serves a poll only if it started after the pass before.
        for (started, waits) in [(now - secs(1.5), false), (now - secs(0.5), true)] {
            let mut cache = ServiceCache::default();
            cache.polls.insert(
                key.clone(),
                PollDue {
                    set: now - secs(1.0),
                    due: now,
                },
            );
            cache.pending.insert(key.clone(), started);
            assert_eq!(
                matches!(cache.take(&key, POLL, true), Waiting::InFlight),
                waits
            );
        }
    }

    #[test]
    fn a_late_poll_with_its_answer_waiting_is_not_read_again() {
        let cache = Mutex::new(ServiceCache::default());
        let key = |n: &str| ("prod".to_owned(), n.to_owned());
        let now = Instant::now();
        let secs = Duration::from_secs_f64;
        {
            let mut c = cache.lock().expect("lock");
            let names: BTreeSet<String> = [
                "a",
                "late-read",
                "late-unread",
                "leftover",
                "read-too-early",
                "settled",
            ]
            .into_iter()
            .map(String::from)
            .collect();
            for name in &names {
                c.used.insert(key(name), now - secs(20.0));
            }
            c.followed.insert("prod".into(), names);
            c.max_age = Duration::from_secs(30);
            c.poll_late_limit = Duration::from_secs(5);
            let mut poll = |name: &str, set: f64, due: Instant| {
                let poll = PollDue {
                    set: now - secs(set),
                    due,
                };
                c.polls.insert(key(name), poll);
            };
            poll("late-read", 1.5, now - secs(0.5));
            poll("late-unread", 3.0, now - secs(2.0));
            poll("leftover", 0.3, now + secs(0.7));
            poll("read-too-early", 0.6, now + secs(0.8));
            // Read 0.8 s before its poll was due, which is half a second past: 1.3 s old.
            c.answers.insert(key("late-read"), read_at(now - secs(1.3)));
            // Started before the pass before it.
            let leftover = ReadAhead {
                started: now - secs(0.5),
                arrived: now - secs(0.2),
                service: None,
            };
            c.answers.insert(key("leftover"), leftover);
            // After the pass before it, but 1.3 s before its poll is due.
            c.answers
                .insert(key("read-too-early"), read_at(now - secs(0.5)));
        }
        assert_eq!(
            fill_up(&cache, "prod", &["a".to_owned()]),
            ["a", "late-unread", "leftover", "read-too-early", "settled"],
            "polls by due time, then the settled one; not the late poll whose answer waits"
        );
    }

    #[test]
    fn a_rollout_poll_does_not_change_how_long_settled_answers_are_kept() {
        let mut cache = ServiceCache::default();
        let key = ("prod".to_owned(), "web".to_owned());
        cache.answers.insert(key.clone(), read_at(Instant::now()));
        assert!(matches!(
            cache.take(&key, Wanted::Settled(Duration::from_secs(30)), true),
            Waiting::Hit(_)
        ));
        assert_eq!(cache.max_age, Duration::from_secs(30));
        assert!(matches!(cache.take(&key, POLL, true), Waiting::Miss));
        assert_eq!(cache.max_age, Duration::from_secs(30));
    }

    #[test]
    fn a_write_known_by_arn_forgets_the_answer_under_any_name_of_its_cluster() {
        let mut cache = ServiceCache::default();
        let arn = "arn:aws:ecs:us-east-1:123456789012:cluster/prod";
        for cluster in [arn, "staging", ""] {
            cache.follow(cluster, "web");
            cache.answers.insert(
                (cluster.to_owned(), "web".to_owned()),
                read_at(Instant::now()),
            );
        }
        cache.forget("prod", "web", AFTER_UPDATE);
        cache.forget("default", "web", AFTER_UPDATE);
        assert!(
            !cache
                .answers
                .contains_key(&(arn.to_owned(), "web".to_owned()))
        );
        assert!(
            !cache
                .answers
                .contains_key(&(String::new(), "web".to_owned()))
        );
        assert!(
            cache
                .answers
                .contains_key(&("staging".to_owned(), "web".to_owned())),
            "another cluster's service of the same name"
        );
        assert!(
            cache
                .written
                .contains_key(&(arn.to_owned(), "web".to_owned()))
        );
    }

    #[test]
    fn a_poll_takes_only_answers_read_a_second_after_an_update_and_any_after_a_create() {
        let mut cache = ServiceCache::default();
        let key = ("prod".to_owned(), "web".to_owned());
        cache.forget("prod", "web", AFTER_UPDATE);
        let written = cache.written[&key];
        let read = |started: Instant| ReadAhead {
            started,
            arrived: Instant::now(),
            service: None,
        };
        cache
            .answers
            .insert(key.clone(), read(written + Duration::from_millis(100)));
        assert!(
            matches!(cache.take(&key, POLL, true), Waiting::Miss),
            "read a moment after an update: the poll reads for itself"
        );
        cache
            .answers
            .insert(key.clone(), read(written + Duration::from_millis(100)));
        assert!(
            matches!(
                cache.take(&key, Wanted::Settled(Duration::from_secs(30)), true),
                Waiting::Hit(_)
            ),
            "a settled pass's answer is guarded by the call's start, as before"
        );
        cache
            .answers
            .insert(key.clone(), read(written + AFTER_UPDATE));
        assert!(matches!(cache.take(&key, POLL, true), Waiting::Hit(_)));
        // A call in flight that started too soon after the update: the poll does not wait for it.
        cache.forget("prod", "web", AFTER_UPDATE);
        let updated = cache.written[&key];
        cache.pending.insert(key.clone(), updated);
        assert!(matches!(cache.take(&key, POLL, true), Waiting::Miss));
        assert!(
            matches!(
                cache.take(&key, Wanted::Settled(Duration::from_secs(30)), true),
                Waiting::InFlight
            ),
            "a settled pass waits for it"
        );
        cache.pending.clear();
        // A create a moment after the update does not shorten the update's wait.
        cache.forget("prod", "web", Duration::ZERO);
        assert!(cache.polls_from[&key] >= updated + AFTER_UPDATE);
        // A create: any call started after it returned.
        let mut cache = ServiceCache::default();
        cache.forget("prod", "web", Duration::ZERO);
        let created = cache.written[&key];
        cache.answers.insert(key.clone(), read(created));
        assert!(matches!(cache.take(&key, POLL, true), Waiting::Hit(_)));
    }

    #[test]
    fn a_service_updated_a_moment_ago_is_not_read_ahead_for_its_poll() {
        let cache = Mutex::new(ServiceCache::default());
        let key = |n: &str| ("prod".to_owned(), n.to_owned());
        let now = Instant::now();
        {
            let mut c = cache.lock().expect("lock");
            let names: BTreeSet<String> = ["a", "updated-now", "updated-before", "created-now"]
                .into_iter()
                .map(String::from)
                .collect();
            c.followed.insert("prod".into(), names);
            for name in ["updated-now", "updated-before", "created-now"] {
                c.polls
                    .insert(key(name), due_at(now + Duration::from_millis(500)));
            }
            c.forget("prod", "updated-now", AFTER_UPDATE);
            c.forget("prod", "created-now", Duration::ZERO);
            c.polls_from
                .insert(key("updated-before"), now - Duration::from_millis(1));
        }
        assert_eq!(
            fill_up(&cache, "prod", &["a".to_owned()]),
            ["a", "created-now", "updated-before"],
            "due at the same time: by name"
        );
    }
}
