//! Why a reconcile did not finish, and the one place that decides what each kind of failure leads
//! to: the conditions, the Event, when to try again, and the metric label.

use std::time::Duration;

use kube::runtime::events::EventType;

use super::conditions::Health;
use crate::aws::{AwsError, AwsErrorKind};
use crate::translate::TranslateError;

/// The class of a failure. Every failure has exactly one, and the class alone decides the reaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The spec is wrong: Stalled, a Warning Event, and no retry until the spec changes.
    InvalidSpec,
    /// AWS refused for a reason outside the spec (access denied, a quota, a missing dependency, a
    /// name taken by someone else): Stalled, a Warning Event, and another try at the resync
    /// interval, since the fix (IAM, quota, the other resource) happens outside Kubernetes.
    Terminal,
    /// Throttling, a 5xx, a lost connection, a conflict, a Kubernetes API hiccup: Reconciling,
    /// and another try after a jittered exponential backoff.
    Retryable,
    /// Waiting for something that will happen without anyone's help (a reference becoming Ready,
    /// a service draining): Reconciling, and a short requeue.
    Waiting,
}

impl ErrorClass {
    /// Label used in metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::InvalidSpec => "invalid_spec",
            Self::Terminal => "terminal",
            Self::Retryable => "retryable",
            Self::Waiting => "waiting",
        }
    }
}

/// Why a reconcile did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The spec cannot be turned into AWS requests.
    #[error(transparent)]
    Invalid(#[from] TranslateError),
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A Kubernetes call failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// Progress waits for something outside this object that will come by itself.
    #[error("{message}")]
    Waiting {
        /// CamelCase reason for the condition and Event (`TaskDefinitionNotReady`).
        reason: String,
        /// What is awaited, for people.
        message: String,
    },
    /// Progress needs a human: the situation is outside the spec's reach or needs a decision
    /// (a same-named ECS service owned by someone else, a field ECS cannot change).
    #[error("{message}")]
    Blocked {
        /// CamelCase reason for the condition and Event (`AlreadyExists`).
        reason: String,
        /// What is wrong and what to do, for people.
        message: String,
    },
}

impl ReconcileError {
    /// A wait for `what`, with a CamelCase `reason`.
    pub fn waiting(reason: &str, message: impl Into<String>) -> Self {
        Self::Waiting {
            reason: reason.to_owned(),
            message: message.into(),
        }
    }

    /// A block that needs a human, with a CamelCase `reason`.
    pub fn blocked(reason: &str, message: impl Into<String>) -> Self {
        Self::Blocked {
            reason: reason.to_owned(),
            message: message.into(),
        }
    }

    /// The class of this failure.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Invalid(_) => ErrorClass::InvalidSpec,
            Self::Aws(error) => match error.kind {
                AwsErrorKind::InvalidRequest => ErrorClass::InvalidSpec,
                AwsErrorKind::Throttled | AwsErrorKind::Transient | AwsErrorKind::Conflict => {
                    ErrorClass::Retryable
                }
                // NotFound reaches here only from a write to something observed a moment ago
                // (an UpdateService answered ServiceNotFoundException / ServiceNotActiveException:
                // deleted outside the operator since): the next pass observes afresh and
                // creates it again, so look again at once rather than stalling until the resync.
                AwsErrorKind::Pending | AwsErrorKind::NotFound => ErrorClass::Waiting,
                AwsErrorKind::Terminal
                | AwsErrorKind::MissingDependency
                | AwsErrorKind::InUse
                | AwsErrorKind::AlreadyExists => ErrorClass::Terminal,
            },
            Self::Kube(error) => match kube_status(error) {
                // RBAC (fix the Role) or a write the API server will never accept as it is.
                Some(403 | 422) => ErrorClass::Terminal,
                _ => ErrorClass::Retryable,
            },
            Self::Waiting { .. } => ErrorClass::Waiting,
            Self::Blocked { .. } => ErrorClass::Terminal,
        }
    }

    /// The CamelCase reason shown in the condition and the Event.
    pub fn reason(&self) -> String {
        match self {
            Self::Invalid(_) => "InvalidSpec".into(),
            Self::Aws(error) => match error.kind {
                AwsErrorKind::InvalidRequest => "InvalidSpec",
                AwsErrorKind::Terminal => "AwsRejected",
                AwsErrorKind::MissingDependency => "MissingDependency",
                AwsErrorKind::InUse => "ResourceInUse",
                AwsErrorKind::AlreadyExists => "AlreadyExists",
                AwsErrorKind::NotFound => "NotFound",
                AwsErrorKind::Throttled => "Throttled",
                AwsErrorKind::Transient => "AwsUnavailable",
                AwsErrorKind::Conflict => "Conflict",
                AwsErrorKind::Pending => "AwsPending",
            }
            .into(),
            Self::Kube(error) => match kube_status(error) {
                Some(403) => "Forbidden".into(),
                _ => "KubernetesError".into(),
            },
            Self::Waiting { reason, .. } | Self::Blocked { reason, .. } => reason.clone(),
        }
    }
}

fn kube_status(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// What a failure leads to.
#[derive(Clone, Debug, PartialEq)]
pub struct Reaction {
    /// The conditions to write.
    pub health: Health,
    /// When to try again (`None`: only when the spec changes).
    pub requeue: Option<Duration>,
    /// The Event type to publish when the conditions changed.
    pub event: EventType,
}

/// The timings the reaction depends on.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Resync interval (terminal failures are retried this often).
    pub resync: Duration,
    /// Short requeue for waits.
    pub poll: Duration,
}

/// The reaction to `error`; `backoff` is this object's next retry delay (only used for retryable
/// failures, so it is only counted when used).
pub fn react(
    error: &ReconcileError,
    timing: Timing,
    backoff: impl FnOnce() -> Duration,
) -> Reaction {
    let reason = error.reason();
    let message = error.to_string();
    match error.class() {
        ErrorClass::InvalidSpec => Reaction {
            health: Health::Stalled { reason, message },
            requeue: None,
            event: EventType::Warning,
        },
        ErrorClass::Terminal => Reaction {
            health: Health::Stalled { reason, message },
            requeue: Some(timing.resync),
            event: EventType::Warning,
        },
        ErrorClass::Retryable => Reaction {
            health: Health::Reconciling { reason, message },
            requeue: Some(backoff()),
            event: EventType::Warning,
        },
        ErrorClass::Waiting => Reaction {
            health: Health::Reconciling { reason, message },
            requeue: Some(timing.poll),
            event: EventType::Normal,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::{FieldErrors, TranslateError};

    fn aws(kind: AwsErrorKind) -> ReconcileError {
        ReconcileError::Aws(AwsError::local(kind, "ecs:X", "m"))
    }

    const TIMING: Timing = Timing {
        resync: Duration::from_secs(600),
        poll: Duration::from_secs(5),
    };

    #[test]
    fn invalid_specs_stall_until_the_spec_changes() {
        let mut errors = FieldErrors::default();
        errors.push("spec.cpu", "bad");
        for error in [
            ReconcileError::Invalid(TranslateError::Invalid(errors)),
            aws(AwsErrorKind::InvalidRequest),
        ] {
            let reaction = react(&error, TIMING, || unreachable!("no backoff"));
            assert!(
                matches!(reaction.health, Health::Stalled { ref reason, .. } if reason == "InvalidSpec")
            );
            assert_eq!(reaction.requeue, None);
            assert_eq!(reaction.event, EventType::Warning);
            assert_eq!(error.class().as_str(), "invalid_spec");
        }
    }

    #[test]
    fn terminal_aws_errors_stall_and_retry_at_the_resync_interval() {
        for (kind, reason) in [
            (AwsErrorKind::Terminal, "AwsRejected"),
            (AwsErrorKind::MissingDependency, "MissingDependency"),
            (AwsErrorKind::AlreadyExists, "AlreadyExists"),
            (AwsErrorKind::InUse, "ResourceInUse"),
        ] {
            let reaction = react(&aws(kind), TIMING, || unreachable!("no backoff"));
            assert_eq!(
                reaction.health,
                Health::Stalled {
                    reason: reason.into(),
                    message: "ecs:X failed: m".into()
                }
            );
            assert_eq!(reaction.requeue, Some(TIMING.resync), "{kind:?}");
        }
    }

    #[test]
    fn retryable_errors_back_off_and_waits_poll() {
        for kind in [
            AwsErrorKind::Throttled,
            AwsErrorKind::Transient,
            AwsErrorKind::Conflict,
        ] {
            let reaction = react(&aws(kind), TIMING, || Duration::from_secs(7));
            assert!(matches!(reaction.health, Health::Reconciling { .. }));
            assert_eq!(reaction.requeue, Some(Duration::from_secs(7)));
        }
        for error in [
            aws(AwsErrorKind::Pending),
            aws(AwsErrorKind::NotFound),
            ReconcileError::waiting("TaskDefinitionNotReady", "web is not Ready"),
        ] {
            let reaction = react(&error, TIMING, || unreachable!("no backoff"));
            assert!(matches!(reaction.health, Health::Reconciling { .. }));
            assert_eq!(reaction.requeue, Some(TIMING.poll));
            assert_eq!(reaction.event, EventType::Normal);
        }
        let blocked = ReconcileError::blocked("AlreadyExists", "taken");
        assert_eq!(blocked.class(), ErrorClass::Terminal);
        assert_eq!(blocked.reason(), "AlreadyExists");
    }
}
