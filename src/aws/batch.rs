//! Coalescing of concurrent reads: callers ask for one item each, and the batcher sends one request
//! per group (an ECS cluster, say) for up to `max_batch` items, so 100 concurrent describes of
//! services in one cluster cost 10 `DescribeServices` calls, not 100.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::error::{AwsError, AwsErrorKind};

/// What one batched fetch returns: found items by key; keys absent from the map do not exist.
pub type BatchResult<T> = Result<HashMap<String, T>, AwsError>;

/// The call a batcher makes for one group and at most `max_batch` distinct keys.
pub type FetchFn<T> = Arc<
    dyn Fn(String, Vec<String>) -> Pin<Box<dyn Future<Output = BatchResult<T>> + Send>>
        + Send
        + Sync,
>;

type Waiter<T> = (String, oneshot::Sender<Result<Option<T>, AwsError>>);

struct Group<T> {
    waiters: Vec<Waiter<T>>,
    flushing: bool,
}

struct Inner<T> {
    groups: Mutex<HashMap<String, Group<T>>>,
    fetch: FetchFn<T>,
    max_batch: usize,
    window: Duration,
}

/// A coalescing reader; cloning shares the queue.
pub struct Batcher<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Batcher<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Clone + Send + 'static> Batcher<T> {
    /// A batcher that calls `fetch` with at most `max_batch` keys, after waiting `window` for more
    /// callers to join a batch.
    pub fn new(max_batch: usize, window: Duration, fetch: FetchFn<T>) -> Self {
        Self {
            inner: Arc::new(Inner {
                groups: Mutex::new(HashMap::new()),
                fetch,
                max_batch: max_batch.max(1),
                window,
            }),
        }
    }

    /// The item `key` of `group`, or `None` when it does not exist.
    pub async fn get(&self, group: &str, key: &str) -> Result<Option<T>, AwsError> {
        let (sender, receiver) = oneshot::channel();
        let start_flusher = {
            let mut groups = self.lock()?;
            let entry = groups.entry(group.to_owned()).or_insert_with(|| Group {
                waiters: Vec::new(),
                flushing: false,
            });
            entry.waiters.push((key.to_owned(), sender));
            !std::mem::replace(&mut entry.flushing, true)
        };
        if start_flusher {
            let inner = self.inner.clone();
            let group = group.to_owned();
            tokio::spawn(async move { flush(inner, group).await });
        }
        receiver.await.map_err(|_| AwsError {
            kind: AwsErrorKind::Transient,
            operation: "batch".into(),
            code: None,
            message: "the batched request was abandoned".into(),
        })?
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Group<T>>>, AwsError> {
        self.inner.groups.lock().map_err(|_| AwsError {
            kind: AwsErrorKind::Transient,
            operation: "batch".into(),
            code: None,
            message: "batch queue poisoned".into(),
        })
    }
}

async fn flush<T: Clone + Send + 'static>(inner: Arc<Inner<T>>, group: String) {
    tokio::time::sleep(inner.window).await;
    loop {
        let waiters = {
            let Ok(mut groups) = inner.groups.lock() else {
                return;
            };
            let Some(entry) = groups.get_mut(&group) else {
                return;
            };
            if entry.waiters.is_empty() {
                entry.flushing = false;
                groups.remove(&group);
                return;
            }
            std::mem::take(&mut entry.waiters)
        };
        let keys: Vec<String> = waiters
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let calls = keys
            .chunks(inner.max_batch)
            .map(|chunk| (inner.fetch)(group.clone(), chunk.to_vec()));
        let results = futures::future::join_all(calls).await;
        let mut found: HashMap<String, Result<Option<T>, AwsError>> = HashMap::new();
        for (chunk, result) in keys.chunks(inner.max_batch).zip(results) {
            for key in chunk {
                let value = match &result {
                    Ok(items) => Ok(items.get(key).cloned()),
                    Err(error) => Err(error.clone()),
                };
                found.insert(key.clone(), value);
            }
        }
        for (key, sender) in waiters {
            if let Some(value) = found.get(&key) {
                let _ = sender.send(value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counting_batcher(calls: Arc<AtomicUsize>, fail: bool) -> Batcher<String> {
        Batcher::new(
            10,
            Duration::from_millis(5),
            Arc::new(move |group, keys| {
                calls.fetch_add(1, Ordering::SeqCst);
                Box::pin(async move {
                    assert!(keys.len() <= 10);
                    if fail {
                        return Err(AwsError {
                            kind: AwsErrorKind::Throttled,
                            operation: "ecs:DescribeServices".into(),
                            code: Some("ThrottlingException".into()),
                            message: "Rate exceeded".into(),
                        });
                    }
                    Ok(keys
                        .into_iter()
                        .filter(|k| !k.starts_with("missing"))
                        .map(|k| (k.clone(), format!("{group}/{k}")))
                        .collect())
                })
            }),
        )
    }

    #[tokio::test]
    async fn hundred_concurrent_gets_cost_ten_fetches() {
        let calls = Arc::new(AtomicUsize::new(0));
        let batcher = counting_batcher(calls.clone(), false);
        let gets = (0..100).map(|i| {
            let batcher = batcher.clone();
            async move { batcher.get("prod", &format!("svc-{i}")).await }
        });
        let results = futures::future::join_all(gets).await;
        assert_eq!(calls.load(Ordering::SeqCst), 10);
        for (i, result) in results.into_iter().enumerate() {
            assert_eq!(result.expect("ok"), Some(format!("prod/svc-{i}")));
        }
    }

    #[tokio::test]
    async fn missing_items_and_errors_reach_every_caller() {
        let calls = Arc::new(AtomicUsize::new(0));
        let batcher = counting_batcher(calls.clone(), false);
        assert_eq!(batcher.get("prod", "missing-1").await.expect("ok"), None);
        let failing = counting_batcher(Arc::new(AtomicUsize::new(0)), true);
        let (a, b) = tokio::join!(failing.get("prod", "a"), failing.get("prod", "b"));
        assert_eq!(a.expect_err("throttled").kind, AwsErrorKind::Throttled);
        assert_eq!(b.expect_err("throttled").kind, AwsErrorKind::Throttled);
    }

    #[tokio::test]
    async fn groups_are_fetched_separately_and_duplicates_once() {
        let calls = Arc::new(AtomicUsize::new(0));
        let batcher = counting_batcher(calls.clone(), false);
        let (a, b, c) = tokio::join!(
            batcher.get("prod", "x"),
            batcher.get("prod", "x"),
            batcher.get("dev", "x")
        );
        assert_eq!(a.expect("a"), Some("prod/x".into()));
        assert_eq!(b.expect("b"), Some("prod/x".into()));
        assert_eq!(c.expect("c"), Some("dev/x".into()));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // After a batch completes, later callers start a new one.
        assert_eq!(
            batcher.get("prod", "y").await.expect("y"),
            Some("prod/y".into())
        );
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
