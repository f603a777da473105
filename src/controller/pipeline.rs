//! The reconcile pipeline every kind follows, as types the runner drives:
//!
//! ```text
//! validate -> lookups -> desired -> observe -> plan -> for each step: apply, commit -> finish
//!   pure      reads       pure       reads      pure        AWS write   pure            pure
//! ```
//!
//! A kind declares each stage; only `lookups`, `observe` and `apply` do I/O. The plan returns the
//! status that observation alone justifies, the writes in order, and the outcome once they all
//! succeed. Each write's effect on status (an ARN, an applied-settings hash, a removed policy) is
//! written by `commit`, which the runner calls only after AWS answered Ok to that write: a pass
//! that fails part way keeps what succeeded and nothing else, so the next pass sends the rest
//! again. Deletion is planned the same way (`observe_cleanup` -> `plan_cleanup` -> the same
//! steps).

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Controller;
use kube::runtime::events::{Event, EventType};

use serde::Serialize;

use super::Context;
use super::error::ReconcileError;
use super::runner::Managed;
use crate::translate::tags::TagChange;

tokio::task_local! {
    /// Set (true) around the pass that added the object's finalizer: see [`first_pass`].
    pub static FIRST_PASS: bool;
}

/// Whether this pass is the one that added the object's finalizer. No pass before it can have
/// written to AWS (every write waits for the finalizer), so nothing in AWS carries the object's
/// UID yet and `observe` may skip the reads that look for what a crash left unrecorded.
pub fn first_pass() -> bool {
    FIRST_PASS.try_with(|first| *first).unwrap_or(false)
}

/// An Event a pass wants published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Normal or Warning.
    pub type_: EventType,
    /// CamelCase reason.
    pub reason: String,
    /// The message.
    pub note: String,
}

impl Note {
    /// A Normal Event.
    pub fn normal(reason: &str, note: impl Into<String>) -> Self {
        Self {
            type_: EventType::Normal,
            reason: reason.to_owned(),
            note: note.into(),
        }
    }

    /// A Warning Event.
    pub fn warning(reason: &str, note: impl Into<String>) -> Self {
        Self {
            type_: EventType::Warning,
            reason: reason.to_owned(),
            note: note.into(),
        }
    }

    /// Whether this is a Warning.
    pub fn is_warning(&self) -> bool {
        self.type_ == EventType::Warning
    }

    /// The Kubernetes Event. The recorder aggregates Events by reason and action (not by
    /// message), so the action carries a short hash of the message: a repeat of the same message
    /// counts up one Event (`x2`), a different message under the same reason is an Event of its
    /// own.
    pub fn event(&self) -> Event {
        Event {
            type_: self.type_,
            reason: self.reason.clone(),
            note: Some(self.note.clone()),
            action: format!(
                "{}-{}",
                self.reason.chars().take(110).collect::<String>(),
                crate::translate::short_hash(self.note.as_bytes(), 4)
            ),
            secondary: None,
        }
    }
}

/// One AWS call a step makes, as `ecs-operator diff` shows it: the plan's steps are the calls the
/// controller would make, so a preview is exactly what a pass would do.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Call {
    /// `service:Operation`, as IAM names it (`ecs:UpdateService`).
    pub operation: String,
    /// What it acts on: a name or an ARN.
    pub target: String,
    /// The members sent, in the AWS API's shape (`null` when the call takes only the target).
    pub input: serde_json::Value,
    /// What the call changes against what AWS holds, when that was compared (`path: before ->
    /// after`, e.g. a new revision's content against the family's latest).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

impl Call {
    /// A call of `operation` on `target` sending `input`.
    pub fn new(operation: &str, target: impl Into<String>, input: impl Serialize) -> Self {
        Self {
            operation: operation.to_owned(),
            target: target.into(),
            input: serde_json::to_value(input).unwrap_or(serde_json::Value::Null),
            changes: Vec::new(),
        }
    }

    /// A call that sends nothing but its target.
    pub fn bare(operation: &str, target: impl Into<String>) -> Self {
        Self::new(operation, target, serde_json::Value::Null)
    }

    /// The UntagResource and TagResource calls of an ECS tag change (removals first, each only
    /// when it has something to do).
    pub fn tag_change(arn: &str, change: &TagChange) -> Vec<Self> {
        let mut calls = Vec::new();
        if !change.remove.is_empty() {
            calls.push(Self::new(
                "ecs:UntagResource",
                arn,
                serde_json::json!({ "tagKeys": change.remove }),
            ));
        }
        if !change.set.is_empty() {
            calls.push(Self::new(
                "ecs:TagResource",
                arn,
                serde_json::json!({ "tags": change.set }),
            ));
        }
        calls
    }
}

/// Where a pass that did not fail leaves the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// AWS matches the spec: Ready, and a look again at the resync interval.
    Ready {
        /// CamelCase reason.
        reason: String,
        /// For people.
        message: String,
    },
    /// As `Ready`, but looked at again after `requeue` rather than the resync interval (a
    /// finished run whose `ttlSecondsAfterFinished` runs out then).
    ReadyFor {
        /// CamelCase reason.
        reason: String,
        /// For people.
        message: String,
        /// When to look again.
        requeue: Duration,
    },
    /// AWS is working on it by itself (a rollout): Reconciling, and a look again after `requeue`.
    Progressing {
        /// CamelCase reason.
        reason: String,
        /// For people (the progress so far).
        message: String,
        /// When to look again.
        requeue: Duration,
    },
    /// The pass did its work but the outcome needs a human (a rollout failed or was rolled back):
    /// Stalled, a Warning Event when that is news, and a look again after `requeue`.
    Stalled {
        /// CamelCase reason.
        reason: String,
        /// What happened and what to do.
        message: String,
        /// When to look again.
        requeue: Duration,
    },
}

/// Where a deletion pass leaves the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cleanup {
    /// Everything in AWS is dealt with: the finalizer goes.
    Done,
    /// AWS is still deleting (a service draining): keep the finalizer, look again after `requeue`.
    Waiting {
        /// CamelCase reason.
        reason: String,
        /// For people.
        message: String,
        /// When to look again.
        requeue: Duration,
    },
    /// The deletion needs something else to go first, which a human decides (a cluster that
    /// still holds services): keep the finalizer, Stalled with a Warning when that is news, and
    /// look again after `requeue` (the blocker may go by itself meanwhile).
    Stalled {
        /// CamelCase reason.
        reason: String,
        /// What blocks it and the ways out.
        message: String,
        /// When to look again.
        requeue: Duration,
    },
}

/// The timing a plan may use for its requeues; a value, so plans stay pure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How soon to look again while waiting.
    pub poll: Duration,
    /// How often a settled object is looked at again.
    pub resync: Duration,
}

/// What one pass will do: the pure result of `plan` or `plan_cleanup`.
#[derive(Debug)]
pub struct Plan<S, T, O> {
    /// The status that observation alone justifies (true whatever the writes do).
    pub status: S,
    /// The AWS writes, in order. A failure stops the pass; the writes before it stay committed.
    pub steps: Vec<T>,
    /// Events about what was observed, published whatever the writes do.
    pub notes: Vec<Note>,
    /// Events published only when every write succeeded.
    pub done_notes: Vec<Note>,
    /// Where the object stands once every write succeeded (or why it cannot go on).
    pub outcome: Result<O, ReconcileError>,
}

impl<S, T, O> Plan<S, T, O> {
    /// A plan of `steps` from `status` ending in `outcome`, with no Events.
    pub fn new(status: S, steps: Vec<T>, outcome: Result<O, ReconcileError>) -> Self {
        Self {
            status,
            steps,
            notes: Vec::new(),
            done_notes: Vec::new(),
            outcome,
        }
    }

    /// A plan that writes nothing and ends in `outcome`.
    pub fn only(status: S, outcome: Result<O, ReconcileError>) -> Self {
        Self::new(status, Vec::new(), outcome)
    }

    /// Adds an Event about what was observed.
    pub fn note(mut self, note: Note) -> Self {
        self.notes.push(note);
        self
    }

    /// Adds an Event published once every write succeeded.
    pub fn when_done(mut self, note: Note) -> Self {
        self.done_notes.push(note);
        self
    }
}

/// The status type of a kind.
pub type StatusOf<K> = <<K as Kind>::Object as Managed>::Status;

/// A kind's reconcile plan.
pub type KindPlan<K> = Plan<StatusOf<K>, <K as Kind>::Step, Progress>;

/// A kind's cleanup plan.
pub type CleanupPlan<K> = Plan<StatusOf<K>, <K as Kind>::Step, Cleanup>;

/// One managed kind: the stages of its pipeline. Everything else (watch, finalizer, the step
/// loop, the status write, Events, backoff, metrics) is the runner's.
pub trait Kind: Send + Sync + Sized + 'static {
    /// The custom resource.
    type Object: Managed;
    /// What `lookups` reads (other objects, AWS) for `desired`.
    type Lookups: Send;
    /// What the spec asks for, resolved and validated.
    type Desired: Send + Sync;
    /// What `observe` read of AWS.
    type Observed: Send;
    /// What `observe_cleanup` read of AWS.
    type CleanupObserved: Send;
    /// One AWS write, carrying everything it needs and everything its commit records.
    type Step: Debug + Send + Sync;
    /// What AWS answered to a step.
    type Answer: Send;

    /// Label of the kind in metrics and logs (`task_definition`).
    const KIND: &'static str;
    /// The finalizer that keeps an object until its AWS resources are dealt with.
    const FINALIZER: &'static str;

    /// Checks the spec alone (no reads); an invalid spec stops the pass here with field paths.
    fn validate(object: &Self::Object) -> Result<(), ReconcileError>;

    /// The only reads of other objects and of AWS that `desired` depends on.
    fn lookups(
        &self,
        object: &Self::Object,
        ctx: &Context,
        status: &StatusOf<Self>,
    ) -> impl Future<Output = Result<Self::Lookups, ReconcileError>> + Send;

    /// What the spec asks for (pure).
    fn desired(
        object: &Self::Object,
        lookups: Self::Lookups,
    ) -> Result<Self::Desired, ReconcileError>;

    /// Reads what AWS holds, as much as the plan needs and no more.
    fn observe(
        &self,
        object: &Self::Object,
        ctx: &Context,
        desired: &Self::Desired,
        status: &StatusOf<Self>,
    ) -> impl Future<Output = Result<Self::Observed, ReconcileError>> + Send;

    /// The writes and the outcome (pure).
    fn plan(
        desired: &Self::Desired,
        observed: &Self::Observed,
        status: &StatusOf<Self>,
        timing: Timing,
    ) -> KindPlan<Self>;

    /// Runs one write; makes no decision.
    fn apply(
        &self,
        ctx: &Context,
        step: &Self::Step,
    ) -> impl Future<Output = Result<Self::Answer, ReconcileError>> + Send;

    /// The AWS calls `step` makes (pure), for `ecs-operator diff`.
    fn calls(step: &Self::Step) -> Vec<Call>;

    /// Records a write AWS accepted (pure): its effect on status and its Events.
    fn commit(
        step: Self::Step,
        answer: Self::Answer,
        status: &mut StatusOf<Self>,
        notes: &mut Vec<Note>,
    );

    /// The outcome once every write succeeded, seeing the committed status (pure; the default
    /// keeps the planned outcome).
    fn finish(outcome: Progress, _status: &StatusOf<Self>, _timing: Timing) -> Progress {
        outcome
    }

    /// Reads what deleting the object's AWS resources needs.
    fn observe_cleanup(
        &self,
        object: &Self::Object,
        ctx: &Context,
        status: &StatusOf<Self>,
    ) -> impl Future<Output = Result<Self::CleanupObserved, ReconcileError>> + Send;

    /// The writes that carry out the deletion policy, and the outcome (pure).
    fn plan_cleanup(
        object: &Self::Object,
        observed: &Self::CleanupObserved,
        status: &StatusOf<Self>,
        timing: Timing,
    ) -> CleanupPlan<Self>;

    /// The watches behind the caches `lookups` reads, for a run without a controller (a preview):
    /// a future that keeps them filled. `None` when the kind reads no cache.
    fn drive_dependencies(&self) -> Option<futures::future::BoxFuture<'static, ()>> {
        None
    }

    /// More triggers than the kind's own changes (another kind the objects depend on).
    fn watches(
        &self,
        controller: Controller<Self::Object>,
        _ctx: &Arc<Context>,
    ) -> Controller<Self::Object> {
        controller
    }
}

/// What running a plan's steps left: the status with every accepted write committed, the Events,
/// and the outcome (the first failure, or the planned outcome).
pub struct Ran<S, O> {
    /// The status to write.
    pub status: S,
    /// The Events to publish.
    pub notes: Vec<Note>,
    /// The outcome.
    pub outcome: Result<O, ReconcileError>,
}

/// The stages of a pass before its writes, in order: validate, lookups, desired, observe, plan.
/// A pass, a paused pass and a preview all plan through this, so they cannot disagree.
pub async fn plan_pass<K: Kind>(
    kind: &K,
    ctx: &Context,
    object: &K::Object,
    status: &StatusOf<K>,
    timing: Timing,
) -> Result<KindPlan<K>, ReconcileError> {
    K::validate(object)?;
    let lookups = kind.lookups(object, ctx, status).await?;
    let desired = K::desired(object, lookups)?;
    let observed = kind.observe(object, ctx, &desired, status).await?;
    Ok(K::plan(&desired, &observed, status, timing))
}

/// Runs `plan`'s steps in order, committing each one AWS accepted; stops at the first failure.
pub async fn run_steps<K: Kind, O>(
    kind: &K,
    ctx: &Context,
    plan: Plan<StatusOf<K>, K::Step, O>,
) -> Ran<StatusOf<K>, O> {
    let Plan {
        mut status,
        steps,
        mut notes,
        done_notes,
        outcome,
    } = plan;
    for step in steps {
        match kind.apply(ctx, &step).await {
            Ok(answer) => K::commit(step, answer, &mut status, &mut notes),
            Err(error) => {
                return Ran {
                    status,
                    notes,
                    outcome: Err(error),
                };
            }
        }
    }
    if outcome.is_ok() {
        notes.extend(done_notes);
    }
    Ran {
        status,
        notes,
        outcome,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::*;
    use crate::api::EcsTaskDefinition;
    use crate::api::task_definition::EcsTaskDefinitionStatus;
    use crate::aws::{AwsClients, AwsSettings};
    use crate::controller::ControllerConfig;

    /// A kind whose writes succeed or fail as told, recording the calls; its plan is three
    /// steps (1, 2, 3) that end Ready.
    #[derive(Default)]
    pub(crate) struct Fake {
        pub(crate) fail_at: Option<usize>,
        pub(crate) calls: Mutex<Vec<usize>>,
        /// Lookups that never finish (a watch that never fills).
        pub(crate) hang_lookups: bool,
    }

    impl Kind for Fake {
        type Object = EcsTaskDefinition;
        type Lookups = ();
        type Desired = ();
        type Observed = ();
        type CleanupObserved = ();
        type Step = usize;
        type Answer = i32;
        const KIND: &'static str = "fake";
        const FINALIZER: &'static str = "fake";

        fn validate(_: &EcsTaskDefinition) -> Result<(), ReconcileError> {
            Ok(())
        }
        async fn lookups(
            &self,
            _: &EcsTaskDefinition,
            _: &Context,
            _: &EcsTaskDefinitionStatus,
        ) -> Result<(), ReconcileError> {
            if self.hang_lookups {
                futures::future::pending::<()>().await;
            }
            Ok(())
        }
        fn desired(_: &EcsTaskDefinition, _: ()) -> Result<(), ReconcileError> {
            Ok(())
        }
        async fn observe(
            &self,
            _: &EcsTaskDefinition,
            _: &Context,
            _: &(),
            _: &EcsTaskDefinitionStatus,
        ) -> Result<(), ReconcileError> {
            Ok(())
        }
        fn plan(_: &(), _: &(), status: &EcsTaskDefinitionStatus, _: Timing) -> KindPlan<Self> {
            Plan::new(
                status.clone(),
                vec![1, 2, 3],
                Ok(Progress::Ready {
                    reason: "Done".into(),
                    message: String::new(),
                }),
            )
        }
        async fn apply(&self, _: &Context, step: &usize) -> Result<i32, ReconcileError> {
            if let Ok(mut calls) = self.calls.lock() {
                calls.push(*step);
            }
            if Some(*step) == self.fail_at {
                return Err(ReconcileError::waiting("Failed", format!("step {step}")));
            }
            Ok(i32::try_from(*step).unwrap_or_default() * 10)
        }
        fn calls(step: &usize) -> Vec<Call> {
            vec![Call::bare("fake:Write", step.to_string())]
        }
        fn commit(
            step: usize,
            answer: i32,
            status: &mut EcsTaskDefinitionStatus,
            notes: &mut Vec<Note>,
        ) {
            status.revision = Some(answer);
            notes.push(Note::normal("Committed", format!("step {step}")));
        }
        async fn observe_cleanup(
            &self,
            _: &EcsTaskDefinition,
            _: &Context,
            _: &EcsTaskDefinitionStatus,
        ) -> Result<(), ReconcileError> {
            Ok(())
        }
        fn plan_cleanup(
            _: &EcsTaskDefinition,
            _: &(),
            status: &EcsTaskDefinitionStatus,
            _: Timing,
        ) -> CleanupPlan<Self> {
            Plan::only(status.clone(), Ok(Cleanup::Done))
        }
    }

    pub(crate) async fn context() -> Context {
        let aws = AwsClients::connect(&AwsSettings {
            region: Some("us-east-1".into()),
            endpoint_url: Some("http://127.0.0.1:9".into()),
            max_attempts: 1,
            static_credentials: Some(("k".into(), "s".into())),
            budgets: BTreeMap::new(),
            batch_window: Duration::from_millis(1),
        })
        .await;
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("url"));
        let client = kube::Client::try_from(config).expect("client");
        let ctx = Context::new(client, aws, ControllerConfig::default(), "test");
        ctx.know_namespace("apps");
        ctx
    }

    fn three_steps() -> KindPlan<Fake> {
        Plan::new(
            EcsTaskDefinitionStatus::default(),
            vec![1, 2, 3],
            Ok(Progress::Ready {
                reason: "Done".into(),
                message: String::new(),
            }),
        )
        .note(Note::normal("Observed", "always"))
        .when_done(Note::normal("AllDone", "only when every step succeeded"))
    }

    #[tokio::test]
    async fn every_step_succeeding_commits_all_and_keeps_the_outcome() {
        let ctx = context().await;
        let fake = Fake::default();
        let ran = run_steps(&fake, &ctx, three_steps()).await;
        assert_eq!(ran.status.revision, Some(30));
        let reasons: Vec<&str> = ran.notes.iter().map(|n| n.reason.as_str()).collect();
        assert_eq!(
            reasons,
            ["Observed", "Committed", "Committed", "Committed", "AllDone"]
        );
        assert!(matches!(ran.outcome, Ok(Progress::Ready { .. })));
    }

    #[tokio::test]
    async fn a_failed_step_commits_nothing_of_itself_and_stops_the_pass() {
        let ctx = context().await;
        let fake = Fake {
            fail_at: Some(2),
            ..Fake::default()
        };
        let ran = run_steps(&fake, &ctx, three_steps()).await;
        assert_eq!(
            ran.status.revision,
            Some(10),
            "only the first step's effect is recorded"
        );
        assert_eq!(
            fake.calls.lock().map(|c| c.clone()).unwrap_or_default(),
            [1, 2],
            "nothing runs after a failure"
        );
        let reasons: Vec<&str> = ran.notes.iter().map(|n| n.reason.as_str()).collect();
        assert_eq!(reasons, ["Observed", "Committed"]);
        assert!(matches!(ran.outcome, Err(ReconcileError::Waiting { .. })));
    }
}
