//! Account-wide listings shared by every pass of a resync window, so settled objects are checked
//! for drift at a few calls per window instead of one per object: one paged ListTaskDefinitions of
//! ACTIVE revisions answers "is this revision still registered?" for every task definition, one
//! paged DescribeScalableTargets answers for every scalable target.
//!
//! A listing is only worth taking when enough passes use it: when the last listing took more
//! pages than the passes of the last window would have read one by one (an account with many
//! revisions the operator does not manage), the next window reads directly, until its direct reads
//! have cost as much as the listing's pages (then it lists), and the choice is made again at the
//! end of each window. An entry the operator wrote after the listing was taken, or while it was
//! being taken, is not answered from it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::error::AwsError;

/// What a listing says about one key.
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup<V> {
    /// Listed, with its value.
    Found(V),
    /// Not in a complete listing (confirm directly before acting on it: it may be newer than the
    /// listing).
    Absent,
    /// No usable listing (not worth one this window, or written since): read directly.
    Unknown,
}

enum Mode<V> {
    /// A listing started at `taken` and finished at `done`, and the passes that used it.
    Listing {
        taken: Instant,
        done: Instant,
        entries: Arc<HashMap<String, V>>,
        uses: u64,
    },
    /// Passes read directly since `since` (never: the first pass starts a window), counted;
    /// `failed`: because a listing failed (not tried again until the window ends).
    Direct {
        since: Option<Instant>,
        uses: u64,
        failed: bool,
    },
}

struct State<V> {
    mode: Mode<V>,
    /// Pages the last listing took.
    last_pages: u64,
}

/// One shared listing; cloning shares it.
pub struct Snapshot<V> {
    state: Arc<tokio::sync::Mutex<State<V>>>,
    written: Arc<Mutex<HashMap<String, Instant>>>,
    /// Keys the operator created (AWS answered Ok), when, and their value: a listing started
    /// before then cannot show them, and they exist as of that answer.
    created: Arc<Mutex<HashMap<String, (Instant, V)>>>,
    /// (listings taken, passes answered from a listing), for metrics and tests.
    stats: Arc<Mutex<(u64, u64)>>,
}

impl<V> Clone for Snapshot<V> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            written: self.written.clone(),
            created: self.created.clone(),
            stats: self.stats.clone(),
        }
    }
}

impl<V> Default for Snapshot<V> {
    fn default() -> Self {
        Self {
            state: Arc::new(tokio::sync::Mutex::new(State {
                mode: Mode::Direct {
                    since: None,
                    uses: 0,
                    failed: false,
                },
                last_pages: 0,
            })),
            written: Arc::new(Mutex::new(HashMap::new())),
            created: Arc::new(Mutex::new(HashMap::new())),
            stats: Arc::new(Mutex::new((0, 0))),
        }
    }
}

impl<V: Clone> Snapshot<V> {
    /// What the listing of the current window (taken now through `list` if there is none and one
    /// is worth it) says about `key`. `list` returns every entry and the number of pages read.
    /// Passes waiting for a listing being taken share it.
    pub async fn lookup<F, Fut>(
        &self,
        key: &str,
        window: Duration,
        list: F,
    ) -> Result<Lookup<V>, AwsError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(HashMap<String, V>, u64), AwsError>>,
    {
        let mut guard = self.state.lock().await;
        let state = &mut *guard;
        let now = Instant::now();
        // A listing answers for `window` after it finished: one whose pages took longer than
        // the window (thousands of revisions, a slow or throttled API) still serves the passes
        // that waited for it, instead of sending every one of them to a direct read.
        let (expired, uses, reading_directly) = match &mut state.mode {
            Mode::Listing { done, uses, .. } => (now.duration_since(*done) > window, uses, false),
            Mode::Direct {
                since,
                uses,
                failed,
            } => (
                since.is_none_or(|since| now.duration_since(since) > window),
                uses,
                !*failed,
            ),
        };
        // The passes so far (of the last window, or of this one when it reads directly) cost at
        // least as many direct reads as a listing costs pages.
        let worth_listing = *uses + 1 >= state.last_pages;
        let window_over = expired || (reading_directly && worth_listing);
        if !window_over {
            *uses += 1;
        } else if worth_listing {
            // Take a listing: at the start of a window after a busy one, or as soon as a
            // window reading directly turns out busy (the passes of a resync come in bursts, so
            // the last window's count can be far below this one's: 190 policies read one by one
            // in a window after a quiet one, where 20 pages would have answered them all). It is
            // stamped with its start: a write made while its pages were read may be missing
            // from them.
            match list().await {
                Ok((entries, pages)) => {
                    state.last_pages = pages;
                    state.mode = Mode::Listing {
                        taken: now,
                        done: Instant::now(),
                        entries: Arc::new(entries),
                        uses: 1,
                    };
                    if let Ok(mut stats) = self.stats.lock() {
                        stats.0 += 1;
                    }
                }
                Err(error) => {
                    // The listing is only a shortcut: this window's passes read directly (the
                    // passes queued behind this one do not each retry the whole listing).
                    tracing::warn!(%error, "account-wide listing failed; reading directly this window");
                    // The window starts when the failure came, as a listing's starts when
                    // it was done: a failure slower than the window (throttled pages) must not
                    // let the passes queued behind it each try the listing again.
                    state.mode = Mode::Direct {
                        since: Some(Instant::now()),
                        uses: 1,
                        failed: true,
                    };
                }
            }
        } else {
            state.mode = Mode::Direct {
                since: Some(now),
                uses: 1,
                failed: false,
            };
        }
        let Mode::Listing { taken, entries, .. } = &state.mode else {
            return Ok(Lookup::Unknown);
        };
        let written_since = self
            .written
            .lock()
            .map(|w| w.get(key).is_some_and(|at| at >= taken))
            .unwrap_or(true);
        if written_since {
            return Ok(Lookup::Unknown);
        }
        if let Ok(mut stats) = self.stats.lock() {
            stats.1 += 1;
        }
        if let Some(value) = entries.get(key) {
            return Ok(Lookup::Found(value.clone()));
        }
        let created = self.created.lock().ok().and_then(|c| {
            c.get(key)
                .filter(|(at, _)| at >= taken)
                .map(|(_, v)| v.clone())
        });
        Ok(match created {
            Some(value) => Lookup::Found(value),
            None => Lookup::Absent,
        })
    }

    /// The operator created `key` (AWS answered Ok): until a listing started after now shows
    /// it, it is found with `value` (a later [`Snapshot::written`] of it wins).
    pub fn created(&self, key: &str, value: V) {
        if let Ok(mut created) = self.created.lock() {
            let now = Instant::now();
            if created.len() > 10_000 {
                created.retain(|_, (at, _)| now.duration_since(*at) < Duration::from_secs(3600));
            }
            created.insert(key.to_owned(), (now, value));
        }
    }

    /// The operator is about to change `key`: listings taken before now no longer answer for it,
    /// nor, once the returned stamp is dropped (when the write is over, whatever its outcome),
    /// listings taken while the write was in flight (their pages may predate it).
    pub fn written(&self, key: &str) -> WriteStamp {
        stamp(&self.written, key);
        WriteStamp {
            written: self.written.clone(),
            key: key.to_owned(),
        }
    }

    /// (listings taken, passes answered from a listing) since start.
    pub fn stats(&self) -> (u64, u64) {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }
}

/// A write of one key under way; dropped when it is over, it stamps the key written again.
#[must_use = "keep the stamp until the write is over: dropping it stamps the key again"]
pub struct WriteStamp {
    written: Arc<Mutex<HashMap<String, Instant>>>,
    key: String,
}

impl Drop for WriteStamp {
    fn drop(&mut self) {
        stamp(&self.written, &self.key);
    }
}

fn stamp(written: &Mutex<HashMap<String, Instant>>, key: &str) {
    if let Ok(mut written) = written.lock() {
        let now = Instant::now();
        if written.len() > 10_000 {
            written.retain(|_, at| now.duration_since(*at) < Duration::from_secs(3600));
        }
        written.insert(key.to_owned(), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn listing(
        calls: &AtomicU64,
        keys: &[&str],
        pages: u64,
    ) -> Result<(HashMap<String, u32>, u64), AwsError> {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok((keys.iter().map(|k| ((*k).to_owned(), 1)).collect(), pages))
    }

    #[tokio::test]
    async fn one_listing_answers_a_window_and_writes_are_not_answered_from_it() {
        let snapshot = Snapshot::<u32>::default();
        let calls = AtomicU64::new(0);
        let window = Duration::from_secs(60);
        for _ in 0..50 {
            let found = snapshot
                .lookup("a", window, || async { listing(&calls, &["a", "b"], 1) })
                .await
                .expect("lookup");
            assert_eq!(found, Lookup::Found(1));
        }
        let absent = snapshot
            .lookup("c", window, || async { listing(&calls, &["a"], 1) })
            .await
            .expect("lookup");
        assert_eq!(absent, Lookup::Absent);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "one listing for the window"
        );
        drop(snapshot.written("a"));
        let after_write = snapshot
            .lookup("a", window, || async { listing(&calls, &["a"], 1) })
            .await
            .expect("lookup");
        assert_eq!(after_write, Lookup::Unknown);
        assert_eq!(snapshot.stats(), (1, 51));
    }

    #[tokio::test]
    async fn a_listing_dearer_than_its_passes_waits_until_the_direct_reads_cost_as_much() {
        let snapshot = Snapshot::<u32>::default();
        let calls = AtomicU64::new(0);
        let window = Duration::from_millis(500);
        // The first window lists (nothing known yet): 100 pages for 2 passes.
        for _ in 0..2 {
            snapshot
                .lookup("a", window, || async { listing(&calls, &["a"], 100) })
                .await
                .expect("lookup");
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
        let next = snapshot
            .lookup("a", window, || async { listing(&calls, &["a"], 100) })
            .await
            .expect("lookup");
        assert_eq!(next, Lookup::Unknown, "two passes do not pay for 100 pages");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // The window reading directly turns out busy: once its direct reads have cost as much
        // as the listing's pages, it lists, and the passes after that are answered from it.
        for _ in 1..99 {
            let direct = snapshot
                .lookup("a", window, || async { listing(&calls, &["a"], 100) })
                .await
                .expect("lookup");
            assert_eq!(direct, Lookup::Unknown);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "99 direct reads so far");
        for _ in 0..50 {
            let listed = snapshot
                .lookup("a", window, || async { listing(&calls, &["a"], 100) })
                .await
                .expect("lookup");
            assert_eq!(listed, Lookup::Found(1));
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "one listing for the busy window"
        );
        // A listing's window that stays quiet sends the next one to direct reads again.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let quiet = snapshot
            .lookup("a", window, || async { listing(&calls, &["a"], 100) })
            .await
            .expect("lookup");
        assert_eq!(quiet, Lookup::Unknown, "50 passes do not pay for 100 pages");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_listing_slower_than_its_window_serves_the_passes_that_waited_for_it() {
        let snapshot = Snapshot::<u32>::default();
        let calls = AtomicU64::new(0);
        let window = Duration::from_millis(200);
        let slow = || async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            listing(&calls, &["a", "b"], 45)
        };
        let (first, second) = tokio::join!(
            snapshot.lookup("a", window, slow),
            snapshot.lookup("b", window, slow)
        );
        assert_eq!(first.expect("lookup"), Lookup::Found(1));
        assert_eq!(
            second.expect("lookup"),
            Lookup::Found(1),
            "waited for the listing and is answered by it, not sent to a direct read"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_key_created_after_the_listing_started_is_found_and_a_later_write_wins() {
        let snapshot = Snapshot::<u32>::default();
        let calls = AtomicU64::new(0);
        let window = Duration::from_secs(60);
        let absent = snapshot
            .lookup("new", window, || async { listing(&calls, &["a"], 1) })
            .await
            .expect("lookup");
        assert_eq!(absent, Lookup::Absent);
        snapshot.created("new", 7);
        let found = snapshot
            .lookup("new", window, || async { listing(&calls, &["a"], 1) })
            .await
            .expect("lookup");
        assert_eq!(found, Lookup::Found(7), "created after the listing: found");
        drop(snapshot.written("new"));
        let written = snapshot
            .lookup("new", window, || async { listing(&calls, &["a"], 1) })
            .await
            .expect("lookup");
        assert_eq!(written, Lookup::Unknown, "changed since: read it");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_listing_sends_the_window_to_direct_reads_instead_of_failing_passes() {
        let snapshot = Snapshot::<u32>::default();
        let calls = AtomicU64::new(0);
        let window = Duration::from_secs(60);
        for _ in 0..5 {
            let seen = snapshot
                .lookup("a", window, || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err::<(HashMap<String, u32>, u64), _>(AwsError {
                        kind: crate::aws::AwsErrorKind::Throttled,
                        operation: "ListTaskDefinitions".into(),
                        code: Some("ThrottlingException".into()),
                        message: "Rate exceeded".into(),
                    })
                })
                .await
                .expect("a pass does not fail because the shortcut did");
            assert_eq!(seen, Lookup::Unknown, "confirm with a direct read");
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "one failed listing per window"
        );
    }
    #[tokio::test]
    async fn a_listing_taken_while_a_write_was_in_flight_does_not_answer_for_it() {
        let snapshot = Snapshot::<u32>::default();
        let calls = AtomicU64::new(0);
        let window = Duration::from_secs(60);
        let deregistering = snapshot.written("a");
        // Another pass lists while the write is under way: its pages still show "a".
        let other = snapshot
            .lookup("b", window, || async { listing(&calls, &["a", "b"], 1) })
            .await
            .expect("lookup");
        assert_eq!(other, Lookup::Found(1));
        drop(deregistering);
        let after = snapshot
            .lookup("a", window, || async { listing(&calls, &["a", "b"], 1) })
            .await
            .expect("lookup");
        assert_eq!(after, Lookup::Unknown, "the listing may predate the write");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
