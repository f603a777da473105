//! Client-side rate limits that adapt: one token bucket per ECS throttling category, starting at
//! the rate ECS documents, growing while AWS accepts calls and halving when it throttles, never
//! above a ceiling (by default the documented rate itself; raised for accounts with raised
//! quotas), and back to the documented rate after a quiet period.
//!
//! Why not the AWS SDK's adaptive retry mode: its rate limiter is shared by every operation of a
//! service (one bucket for all of ECS, keyed by the retry partition), and ECS throttles per action
//! category, so a throttled RegisterTaskDefinition would slow DescribeServices too. It also only
//! switches on after the first throttle, so it cannot keep the operator inside a documented budget.
//! The buckets here follow the same idea (slow start, multiplicative decrease) per category.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The throttling categories ECS applies ("All API actions in a category share the same token
/// bucket", ECS API reference, Request throttling), plus one for Application Auto Scaling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApiCategory {
    /// DescribeClusters, ListClusters.
    ClusterRead,
    /// CreateCluster, DeleteCluster, UpdateCluster, PutClusterCapacityProviders.
    ClusterModify,
    /// DescribeTasks, ListTasks (and the other container-instance reads).
    ClusterResourceRead,
    /// RunTask, StopTask (and the other container-instance writes).
    ClusterResourceModify,
    /// DescribeCapacityProviders.
    CapacityProviderRead,
    /// CreateCapacityProvider, UpdateCapacityProvider, DeleteCapacityProvider.
    CapacityProviderModify,
    /// DescribeServices, ListServices.
    ServiceRead,
    /// CreateService, UpdateService, DeleteService.
    ServiceWrite,
    /// DescribeServiceDeployments, ListServiceDeployments.
    ServiceDeploymentRead,
    /// DescribeTaskDefinition, ListTaskDefinitions.
    TaskDefinitionRead,
    /// RegisterTaskDefinition, DeregisterTaskDefinition.
    TaskDefinitionWrite,
    /// TagResource, UntagResource.
    TagWrite,
    /// ListTagsForResource.
    TagRead,
    /// Every Application Auto Scaling call.
    AutoScaling,
}

impl ApiCategory {
    /// Every category, for configuration and metrics.
    pub const ALL: [ApiCategory; 14] = [
        Self::ClusterRead,
        Self::ClusterModify,
        Self::ClusterResourceRead,
        Self::ClusterResourceModify,
        Self::CapacityProviderRead,
        Self::CapacityProviderModify,
        Self::ServiceRead,
        Self::ServiceWrite,
        Self::ServiceDeploymentRead,
        Self::TaskDefinitionRead,
        Self::TaskDefinitionWrite,
        Self::TagWrite,
        Self::TagRead,
        Self::AutoScaling,
    ];

    /// Name used in flags and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ClusterRead => "cluster-read",
            Self::ClusterModify => "cluster-modify",
            Self::ClusterResourceRead => "cluster-resource-read",
            Self::ClusterResourceModify => "cluster-resource-modify",
            Self::CapacityProviderRead => "capacity-provider-read",
            Self::CapacityProviderModify => "capacity-provider-modify",
            Self::ServiceRead => "service-read",
            Self::ServiceWrite => "service-write",
            Self::ServiceDeploymentRead => "service-deployment-read",
            Self::TaskDefinitionRead => "task-definition-read",
            Self::TaskDefinitionWrite => "task-definition-write",
            Self::TagWrite => "tag-write",
            Self::TagRead => "tag-read",
            Self::AutoScaling => "autoscaling",
        }
    }

    /// The category named `name` (as [`ApiCategory::as_str`] spells it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// The budget of one category.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    /// Sustained calls per second to start with (and never to drop far below: AWS guarantees it).
    pub start_per_second: f64,
    /// Calls per second never exceeded, however willing AWS is.
    pub max_per_second: f64,
    /// Calls allowed at once after a quiet period.
    pub burst: f64,
}

/// The ECS figures ("Request throttling for the Amazon ECS API": bucket maximum capacity is the
/// burst, refill rate the sustained rate, per account and Region). Without `ceiling` each
/// category's ceiling is its documented refill rate, so the operator never sends more than AWS
/// promises to accept; an account whose quotas were raised sets `ceiling` (every category) and the
/// rate grows past the documented one while AWS accepts, up to it. Application Auto Scaling
/// publishes no request rates; 10/s is assumed.
pub fn default_budgets(ceiling: Option<f64>) -> BTreeMap<ApiCategory, Budget> {
    let budget = |start_per_second: f64, burst: f64| Budget {
        start_per_second,
        max_per_second: ceiling.map_or(start_per_second, |c| c.max(start_per_second)),
        burst,
    };
    BTreeMap::from([
        (ApiCategory::ClusterRead, budget(20.0, 50.0)),
        (ApiCategory::ClusterModify, budget(1.0, 20.0)),
        (ApiCategory::ClusterResourceRead, budget(20.0, 100.0)),
        (ApiCategory::ClusterResourceModify, budget(40.0, 100.0)),
        (ApiCategory::CapacityProviderRead, budget(20.0, 50.0)),
        (ApiCategory::CapacityProviderModify, budget(1.0, 10.0)),
        (ApiCategory::ServiceRead, budget(20.0, 100.0)),
        (ApiCategory::ServiceWrite, budget(5.0, 50.0)),
        (ApiCategory::ServiceDeploymentRead, budget(20.0, 50.0)),
        (ApiCategory::TaskDefinitionRead, budget(20.0, 50.0)),
        (ApiCategory::TaskDefinitionWrite, budget(1.0, 20.0)),
        (ApiCategory::TagWrite, budget(10.0, 20.0)),
        (ApiCategory::TagRead, budget(20.0, 50.0)),
        (ApiCategory::AutoScaling, budget(10.0, 20.0)),
    ])
}

/// After a decrease, further throttles within this window are answers to calls sent at the old
/// rate, not news: one decrease per window (as TCP reacts once per round trip).
const DECREASE_HOLD: Duration = Duration::from_millis(500);
/// How much a throttle cuts the rate.
const DECREASE_FACTOR: f64 = 0.5;

/// One adaptive bucket.
#[derive(Debug)]
struct Bucket {
    budget: Budget,
    rate: f64,
    tokens: f64,
    refilled: Instant,
    /// True until the first throttle: the rate grows fast to find what AWS allows.
    slow_start: bool,
    /// Whether the rate is what holds callers back (one had to wait, or AWS throttled) since the
    /// bucket was last full; only then do accepted calls tell that AWS takes more.
    limiting: bool,
    /// When a caller last asked for a token.
    last_asked: Instant,
    last_decrease: Option<Instant>,
}

impl Bucket {
    fn new(budget: Budget, now: Instant) -> Self {
        Self {
            budget,
            rate: budget.start_per_second.max(0.01),
            tokens: budget.burst.max(1.0),
            refilled: now,
            slow_start: true,
            limiting: false,
            last_asked: now,
            last_decrease: None,
        }
    }

    fn floor(&self) -> f64 {
        (self.budget.start_per_second / 2.0).max(0.1)
    }

    /// How long without a call AWS's own bucket takes to fill at the documented rate.
    fn quiet_period(&self) -> Duration {
        Duration::from_secs_f64(self.budget.burst.max(1.0) / self.budget.start_per_second.max(0.01))
    }

    /// Adds the tokens earned since the last call. After a quiet period (no caller for as long
    /// as AWS's bucket takes to fill) the burst that follows spends AWS's tokens, and after it
    /// AWS grants what it grants now: the rate goes back to the documented one and slow start
    /// finds the rest again. Steady use below the rate is not quiet: the rate stays.
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        let full = self.budget.burst.max(1.0);
        self.tokens = (self.tokens + elapsed * self.rate).min(full);
        self.refilled = now;
        if self.tokens >= full {
            self.limiting = false;
        }
        if now.saturating_duration_since(self.last_asked) >= self.quiet_period() {
            self.rate = self.budget.start_per_second.max(0.01);
            self.slow_start = true;
        }
    }

    /// Takes a token, or says how long to wait for one.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        self.last_asked = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            self.limiting = true;
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }

    fn on_success(&mut self) {
        // A call paid from the burst says nothing about the sustained rate AWS accepts (AWS
        // paid it from its own burst): only calls made while the rate holds callers back grow it.
        if !self.limiting {
            return;
        }
        let step = if self.slow_start {
            // Slow start: each accepted call adds at least one call per second (the rate at
            // least doubles every second under load), faster once the rate is high.
            (self.rate * 0.1).max(1.0)
        } else {
            // Congestion avoidance: about one more call per second, per second of full use.
            1.0 / self.rate.max(1.0)
        };
        self.rate = (self.rate + step).min(self.budget.max_per_second);
    }

    fn on_throttle(&mut self, now: Instant) {
        self.slow_start = false;
        if self
            .last_decrease
            .is_some_and(|at| now.saturating_duration_since(at) < DECREASE_HOLD)
        {
            return;
        }
        self.last_decrease = Some(now);
        self.rate = (self.rate * DECREASE_FACTOR).max(self.floor());
        self.tokens = self.tokens.min(0.0);
        self.limiting = true;
    }
}

/// One adaptive bucket per category; cloning shares them. A category without a budget is not
/// limited (emulators in tests).
#[derive(Clone, Debug, Default)]
pub struct RateLimits {
    buckets: Arc<BTreeMap<ApiCategory, Mutex<Bucket>>>,
}

impl RateLimits {
    /// Buckets with the given budgets.
    pub fn new(budgets: &BTreeMap<ApiCategory, Budget>) -> Self {
        let now = Instant::now();
        Self {
            buckets: Arc::new(
                budgets
                    .iter()
                    .filter(|(_, budget)| budget.max_per_second > 0.0)
                    .map(|(category, budget)| (*category, Mutex::new(Bucket::new(*budget, now))))
                    .collect(),
            ),
        }
    }

    /// No limits at all (tests against emulators).
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// Waits until a call of `category` is within budget.
    pub async fn acquire(&self, category: ApiCategory) {
        let Some(bucket) = self.buckets.get(&category) else {
            return;
        };
        loop {
            let wait = match bucket.lock() {
                Ok(mut bucket) => bucket.take(Instant::now()),
                Err(_) => return,
            };
            match wait {
                Ok(()) => return,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// AWS accepted a call of `category`.
    pub fn on_success(&self, category: ApiCategory) {
        if let Some(Ok(mut bucket)) = self.buckets.get(&category).map(Mutex::lock) {
            bucket.on_success();
        }
    }

    /// AWS throttled a call of `category`.
    pub fn on_throttle(&self, category: ApiCategory) {
        if let Some(Ok(mut bucket)) = self.buckets.get(&category).map(Mutex::lock) {
            bucket.on_throttle(Instant::now());
        }
    }

    /// The current sustained rate of `category` (None when unlimited), for metrics and tests.
    pub fn rate(&self, category: ApiCategory) -> Option<f64> {
        self.buckets
            .get(&category)
            .and_then(|b| b.lock().ok().map(|b| b.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(start: f64, max: f64, burst: f64) -> Budget {
        Budget {
            start_per_second: start,
            max_per_second: max,
            burst,
        }
    }

    #[test]
    fn a_burst_passes_then_calls_wait_for_tokens() {
        let now = Instant::now();
        let mut bucket = Bucket::new(budget(2.0, 2.0, 3.0), now);
        for i in 0..3 {
            assert_eq!(bucket.take(now), Ok(()), "call {i} of the burst");
        }
        let wait = bucket.take(now).expect_err("bucket empty");
        assert!(
            (wait.as_secs_f64() - 0.5).abs() < 1e-6,
            "one token at 2/s: {wait:?}"
        );
        assert_eq!(bucket.take(now + Duration::from_millis(500)), Ok(()));
    }

    #[test]
    fn slow_start_doubles_at_least_until_the_ceiling() {
        let mut bucket = Bucket::new(budget(1.0, 100.0, 20.0), Instant::now());
        bucket.on_success();
        assert_eq!(bucket.rate, 1.0, "paid from the burst: no growth");
        bucket.limiting = true;
        bucket.on_success();
        assert_eq!(bucket.rate, 2.0);
        bucket.on_success();
        assert_eq!(bucket.rate, 3.0);
        for _ in 0..200 {
            bucket.on_success();
        }
        assert_eq!(bucket.rate, 100.0, "capped at the ceiling");
    }

    #[test]
    fn a_throttle_halves_once_per_window_and_ends_slow_start() {
        let start = Instant::now();
        let mut bucket = Bucket::new(budget(1.0, 100.0, 20.0), start);
        bucket.limiting = true;
        for _ in 0..30 {
            bucket.on_success();
        }
        let before = bucket.rate;
        bucket.on_throttle(start);
        assert_eq!(bucket.rate, before / 2.0);
        bucket.on_throttle(start + Duration::from_millis(100));
        assert_eq!(bucket.rate, before / 2.0, "same window: no second cut");
        bucket.on_throttle(start + Duration::from_millis(600));
        assert_eq!(bucket.rate, before / 4.0);
        let after = bucket.rate;
        bucket.on_success();
        assert!(
            bucket.rate - after < 1.0,
            "additive growth after a throttle: {} -> {}",
            after,
            bucket.rate
        );
        for _ in 0..100 {
            bucket.on_throttle(start + Duration::from_secs(100));
            bucket.on_throttle(start + Duration::from_secs(200));
        }
        assert!(bucket.rate >= 0.5, "never below half the documented rate");
    }

    /// Calls granted by `bucket` to a caller that takes a token whenever one is there, in steps
    /// of 1 ms from `from` for `seconds`, each accepted by AWS.
    fn granted(bucket: &mut Bucket, from: Instant, seconds: u64) -> usize {
        (0..seconds * 1000)
            .map(|ms| from + Duration::from_millis(ms))
            .filter(|now| {
                let ok = bucket.take(*now).is_ok();
                if ok {
                    bucket.on_success();
                }
                ok
            })
            .count()
    }

    #[test]
    fn by_default_no_category_exceeds_its_documented_refill_rate() {
        let start = Instant::now();
        for (category, budget) in default_budgets(None) {
            let mut bucket = Bucket::new(budget, start);
            // Busy, then quiet for a minute, then busy again: after each burst, the documented
            // refill rate at most (what AWS's own bucket grants).
            let busy = granted(&mut bucket, start, 10);
            let again = granted(&mut bucket, start + Duration::from_secs(70), 10);
            for calls in [busy, again] {
                let allowed = budget.burst + budget.start_per_second * 10.0;
                assert!(
                    calls as f64 <= allowed + 1.0,
                    "{}: {calls} calls in 10 s, AWS grants {allowed}",
                    category.as_str()
                );
            }
            assert!(
                bucket.rate <= budget.start_per_second,
                "{}",
                category.as_str()
            );
        }
    }

    #[test]
    fn a_rate_grown_past_the_documented_one_returns_to_it_after_a_quiet_period() {
        let start = Instant::now();
        let documented = budget(20.0, 1000.0, 50.0);
        let mut bucket = Bucket::new(documented, start);
        granted(&mut bucket, start, 10);
        assert!(bucket.rate > 100.0, "grew while accepted: {}", bucket.rate);
        // Quiet: the bucket fills. The burst that follows is AWS's burst too, and does not
        // grow the rate; after it, the documented rate.
        let after_quiet = start + Duration::from_secs(70);
        for call in 0..50 {
            assert_eq!(bucket.take(after_quiet), Ok(()), "burst call {call}");
            bucket.on_success();
        }
        assert_eq!(bucket.rate, 20.0);
        let wait = bucket.take(after_quiet).expect_err("burst spent");
        assert!(
            (wait.as_secs_f64() - 1.0 / 20.0).abs() < 1e-6,
            "the next token at 20/s: {wait:?}"
        );
    }

    #[test]
    fn steady_use_below_a_grown_rate_is_not_a_quiet_period() {
        let start = Instant::now();
        let mut bucket = Bucket::new(budget(20.0, 1000.0, 50.0), start);
        granted(&mut bucket, start, 5);
        let grown = bucket.rate;
        assert!(grown > 100.0, "{grown}");
        // A call every 100 ms for a minute: the bucket fills, but callers keep coming.
        for tick in 1..=600 {
            let now = start + Duration::from_secs(5) + Duration::from_millis(100 * tick);
            assert_eq!(bucket.take(now), Ok(()));
            bucket.on_success();
        }
        assert_eq!(
            bucket.rate, grown,
            "not reset, and not grown (never limiting)"
        );
    }

    #[test]
    fn a_throttled_rate_returns_to_the_documented_one_after_a_quiet_period() {
        let start = Instant::now();
        let mut bucket = Bucket::new(budget(20.0, 20.0, 50.0), start);
        bucket.on_throttle(start);
        assert_eq!(bucket.rate, 10.0);
        assert_eq!(bucket.take(start + Duration::from_secs(10)), Ok(()));
        assert_eq!(
            bucket.rate, 20.0,
            "50 tokens at 20/s: 2.5 s of quiet is enough"
        );
    }

    #[test]
    fn a_ceiling_for_every_category_is_never_below_the_documented_rate() {
        let budgets = default_budgets(Some(30.0));
        assert_eq!(budgets[&ApiCategory::ServiceRead].max_per_second, 30.0);
        assert_eq!(
            budgets[&ApiCategory::ClusterResourceModify].max_per_second,
            40.0
        );
        assert_eq!(
            default_budgets(None)[&ApiCategory::ServiceWrite].max_per_second,
            5.0
        );
    }

    #[tokio::test]
    async fn categories_without_a_budget_are_not_limited() {
        let limits = RateLimits::new(&BTreeMap::from([(
            ApiCategory::ServiceWrite,
            budget(1.0, 1.0, 1.0),
        )]));
        let started = Instant::now();
        for _ in 0..1000 {
            limits.acquire(ApiCategory::ClusterRead).await;
        }
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(limits.rate(ApiCategory::ClusterRead), None);
        assert_eq!(limits.rate(ApiCategory::ServiceWrite), Some(1.0));
    }
}
