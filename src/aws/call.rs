//! How every AWS call is sent: within its category's adaptive budget, counted, classified, and
//! retried here (not inside the SDK) so each throttle teaches the budget and a non-idempotent write
//! is never sent twice by accident.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

use super::error::{AwsError, AwsErrorKind};
use super::limits::{ApiCategory, RateLimits};
use super::metrics::CallCounters;

/// Whether sending a call twice has the effect of sending it once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// Reads, updates to a target state, deletes, creates with a client token: a retry after a
    /// lost answer is harmless.
    Safe,
    /// RegisterTaskDefinition: a retry after a lost answer (the first may have succeeded) makes a
    /// second revision. Only answers that prove AWS did nothing (throttling, a concurrency
    /// rejection) are retried; anything else goes back to the controller, which looks for the
    /// revision by its tags before registering again.
    Unsafe,
}

/// Sends calls for one AWS service; cloning shares budgets and counters.
#[derive(Clone, Debug)]
pub struct Caller {
    /// `ecs` or `application-autoscaling`, as in metrics and error messages.
    pub service: &'static str,
    /// The adaptive budgets.
    pub limits: RateLimits,
    /// Call counters.
    pub counters: CallCounters,
    /// Attempts per call (1: no retry here; the controllers' own backoff still applies).
    pub max_attempts: u32,
}

impl Caller {
    /// Sends `make()` (a fresh request future per attempt) until it succeeds, fails for a reason a
    /// retry cannot fix, or runs out of attempts.
    pub async fn send<T, E, F, Fut>(
        &self,
        category: ApiCategory,
        operation: &'static str,
        repeat: Repeat,
        make: F,
    ) -> Result<T, AwsError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut attempt = 1;
        loop {
            self.limits.acquire(category).await;
            let error = match make().await {
                Ok(output) => {
                    self.limits.on_success(category);
                    self.counters.record(self.service, operation, "ok");
                    return Ok(output);
                }
                Err(error) => AwsError::from_sdk(&format!("{}:{operation}", self.service), error),
            };
            self.counters
                .record(self.service, operation, error.kind.as_str());
            if error.kind == AwsErrorKind::Throttled {
                self.limits.on_throttle(category);
            }
            let retry = match error.kind {
                // AWS refused before doing anything.
                AwsErrorKind::Throttled | AwsErrorKind::Conflict => true,
                AwsErrorKind::Transient => repeat == Repeat::Safe,
                _ => false,
            };
            if !retry || attempt >= self.max_attempts {
                tracing::debug!(%error, attempt, "AWS call failed");
                return Err(error);
            }
            tokio::time::sleep(retry_delay(attempt)).await;
            attempt += 1;
        }
    }
}

/// Full-jitter exponential delay between attempts of one call: up to 0.2 s, 0.4 s, ... 5 s.
pub fn retry_delay(attempt: u32) -> Duration {
    let ceiling = Duration::from_millis(200)
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(10)))
        .min(Duration::from_secs(5));
    ceiling.mul_f64(fastrand::f64())
}

/// Every item of a paginated read: `fetch` gets the previous page's token (`None` first) and
/// returns one page's items and the next token; an absent or empty token ends the listing. A
/// token handed out twice would page forever (and hold every repeated page in memory): that is
/// a Transient error naming `operation`, never a listing taken as complete.
pub(crate) async fn collect_pages<T, F, Fut>(
    operation: &str,
    mut fetch: F,
) -> Result<Vec<T>, AwsError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), AwsError>>,
{
    let mut items = Vec::new();
    let mut token = None;
    let mut seen = HashSet::new();
    loop {
        let (page, next) = fetch(token).await?;
        items.extend(page);
        match next_page_token(operation, &mut seen, next.as_deref())? {
            Some(next) => token = Some(next),
            None => return Ok(items),
        }
    }
}

/// The token for the next page of a listing, `None` at its end (absent or empty token); a token
/// seen before in this listing is a Transient error naming `operation` (paging on would never end).
pub(crate) fn next_page_token(
    operation: &str,
    seen: &mut HashSet<String>,
    next: Option<&str>,
) -> Result<Option<String>, AwsError> {
    match next {
        Some(next) if !next.is_empty() => {
            if !seen.insert(next.to_owned()) {
                return Err(AwsError {
                    kind: AwsErrorKind::Transient,
                    operation: operation.to_owned(),
                    code: None,
                    message: format!(
                        "the listing handed out the page token {next:?} a second time; stopped paging"
                    ),
                });
            }
            Ok(Some(next.to_owned()))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_are_collected_until_the_token_runs_out() {
        let pages = [
            (vec![1, 2], Some("a")),
            (vec![3], Some("")),
            (vec![99], None),
        ];
        let mut calls = Vec::new();
        let items = collect_pages("List", |token| {
            calls.push(token.clone());
            let index = calls.len() - 1;
            let (page, next) = pages[index].clone();
            async move { Ok::<_, AwsError>((page, next.map(str::to_owned))) }
        })
        .await
        .expect("pages");
        assert_eq!(items, [1, 2, 3], "an empty token ends the listing");
        assert_eq!(calls, [None, Some("a".to_owned())]);
    }

    #[tokio::test]
    async fn a_page_token_handed_out_twice_stops_the_listing_with_an_error() {
        // What moto 5.2.5's DescribeScalableTargets does past the second page.
        let mut calls = 0;
        let error = collect_pages("DescribeScalableTargets", |_token| {
            calls += 1;
            async move { Ok::<_, AwsError>((vec![calls], Some("49".to_owned()))) }
        })
        .await
        .expect_err("a repeated token");
        assert_eq!(error.kind, AwsErrorKind::Transient);
        assert_eq!(error.operation, "DescribeScalableTargets");
        assert!(error.message.contains("\"49\""), "{}", error.message);
        assert_eq!(calls, 2);
    }

    #[test]
    fn retry_delays_grow_and_are_capped() {
        for attempt in 1..20 {
            let ceiling = Duration::from_millis(200 * (1u64 << (attempt - 1).min(10)))
                .min(Duration::from_secs(5));
            assert!(retry_delay(attempt) <= ceiling);
        }
    }
}
