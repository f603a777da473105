//! The controllers: one submodule per kind, each observe -> desired -> plan -> apply -> status.
//! Shared here: the context every reconcile gets, the error type with its retry class, backoff.

pub mod conditions;
pub mod task_definition;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kube::runtime::events::{Recorder, Reporter};

use crate::aws::{AwsClients, AwsError};
use crate::translate::TranslateError;

/// Settings of the controllers.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Watch only this namespace (all when `None`).
    pub namespace: Option<String>,
    /// How often a settled object is checked again for drift in AWS.
    pub resync: Duration,
    /// Longest wait between retries of a failing object.
    pub max_backoff: Duration,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            namespace: None,
            resync: Duration::from_secs(600),
            max_backoff: Duration::from_secs(300),
        }
    }
}

/// What every reconcile shares.
pub struct Context {
    /// Kubernetes.
    pub client: kube::Client,
    /// AWS.
    pub aws: AwsClients,
    /// One recorder per process, so repeated events aggregate into series.
    pub recorder: Recorder,
    /// Settings.
    pub config: ControllerConfig,
    retries: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// A context; `reporter` names the controller in Events.
    pub fn new(
        client: kube::Client,
        aws: AwsClients,
        config: ControllerConfig,
        reporter: &str,
    ) -> Self {
        let recorder = Recorder::new(client.clone(), Reporter::from(reporter));
        Self {
            client,
            aws,
            recorder,
            config,
            retries: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a failed attempt for `key` and returns how long to wait before the next one.
    pub fn next_backoff(&self, key: &str) -> Duration {
        let attempt = self
            .retries
            .lock()
            .map(|mut retries| {
                let n = retries.entry(key.to_owned()).or_insert(0);
                *n += 1;
                *n
            })
            .unwrap_or(1);
        backoff(attempt, self.config.max_backoff)
    }

    /// Forgets the failures of `key` after a success.
    pub fn reset_backoff(&self, key: &str) {
        if let Ok(mut retries) = self.retries.lock() {
            retries.remove(key);
        }
    }
}

/// Exponential backoff from 1 s, capped, with full jitter in its upper half so that many objects
/// failing together (a throttled account) do not retry together.
pub fn backoff(attempt: u32, max: Duration) -> Duration {
    let exponential = Duration::from_secs(1)
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16)));
    let capped = exponential.min(max);
    let half = capped / 2;
    half + half.mul_f64(fastrand::f64())
}

/// Why a reconcile did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A Kubernetes call failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The spec cannot be translated.
    #[error(transparent)]
    Translate(#[from] TranslateError),
    /// The finalizer machinery failed.
    #[error("finalizer: {0}")]
    Finalizer(String),
}

impl ReconcileError {
    /// Whether retrying later (with backoff) can succeed without a spec change.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Aws(e) => e.is_retryable(),
            Self::Kube(_) | Self::Finalizer(_) => true,
            Self::Translate(e) => e.is_retryable(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let max = Duration::from_secs(60);
        for attempt in 1..20 {
            let wait = backoff(attempt, max);
            let ceiling = Duration::from_secs(1 << (attempt - 1).min(16)).min(max);
            assert!(
                wait >= ceiling / 2 && wait <= ceiling,
                "attempt {attempt}: {wait:?}"
            );
        }
    }
}
