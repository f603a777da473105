//! The machinery every controller shares, so a controller is only its own observe, plan and apply:
//! the watch with its trigger filter, the finalizer, the error classes' reactions, the single
//! status write per pass, Events, backoff and metrics.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType};
use kube::runtime::reflector::{self, Store};
use kube::runtime::utils::{PredicateConfig, WatchStreamExt};
use kube::runtime::watcher::{self, watcher};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::Context;
use super::conditions::{self, Health};
use super::error::{ReconcileError, Timing, react};
use crate::api::ReconcileStatus;

/// A kind the operator manages: a namespaced custom resource with a status that embeds the shared
/// [`ReconcileStatus`].
pub trait Managed:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The kind's status.
    type Status: Clone + Debug + Default + PartialEq + Serialize + Send + Sync + 'static;
    /// The status as last written.
    fn status(&self) -> Option<&Self::Status>;
    /// The shared part of a status (observedGeneration, conditions).
    fn reconcile_status(status: &mut Self::Status) -> &mut ReconcileStatus;
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

/// What one pass builds up: the status to write (kind-specific fields; the runner fills in
/// observedGeneration and conditions) and the Events of what it did. A pass that fails part way
/// still writes what it did, so work done is never forgotten (and never repeated).
#[derive(Clone, Debug, Default)]
pub struct Pass<S> {
    /// The status to write.
    pub status: S,
    notes: Vec<Note>,
}

impl<S> Pass<S> {
    /// A pass starting from the status as last written.
    pub fn new(status: S) -> Self {
        Self {
            status,
            notes: Vec::new(),
        }
    }

    /// Records a Normal Event.
    pub fn normal(&mut self, reason: &str, note: impl Into<String>) {
        self.note(EventType::Normal, reason, note);
    }

    /// Records a Warning Event.
    pub fn warning(&mut self, reason: &str, note: impl Into<String>) {
        self.note(EventType::Warning, reason, note);
    }

    fn note(&mut self, type_: EventType, reason: &str, note: impl Into<String>) {
        self.notes.push(Note {
            type_,
            reason: reason.to_owned(),
            note: note.into(),
        });
    }

    /// The Events recorded so far.
    pub fn notes(&self) -> &[Note] {
        &self.notes
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
}

/// One controller: what it does for its kind. Everything else is the runner's.
pub trait Reconciler: Send + Sync + Sized + 'static {
    /// The kind.
    type Object: Managed;
    /// Label of the kind in metrics and logs (`task_definition`).
    const KIND: &'static str;
    /// The finalizer that keeps an object until its AWS resources are dealt with.
    const FINALIZER: &'static str;

    /// Makes AWS match the object: observe, plan, apply. Records what it did in `pass`.
    fn reconcile(
        &self,
        object: &Self::Object,
        ctx: &Context,
        pass: &mut Pass<<Self::Object as Managed>::Status>,
    ) -> impl Future<Output = Result<Progress, ReconcileError>> + Send;

    /// Deals with the AWS resources of an object being deleted (its deletion policy).
    fn cleanup(
        &self,
        object: &Self::Object,
        ctx: &Context,
        pass: &mut Pass<<Self::Object as Managed>::Status>,
    ) -> impl Future<Output = Result<Cleanup, ReconcileError>> + Send;

    /// More triggers than the kind's own changes (another kind the objects depend on).
    fn watches(
        &self,
        controller: Controller<Self::Object>,
        _ctx: &Arc<Context>,
    ) -> Controller<Self::Object> {
        controller
    }
}

struct Shared<R> {
    reconciler: R,
    ctx: Arc<Context>,
}

/// Runs `reconciler` until `shutdown` completes; in-flight reconciles finish first.
pub async fn run<R: Reconciler>(
    reconciler: R,
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let api: Api<R::Object> = match &ctx.config.namespace {
        Some(namespace) => Api::namespaced(ctx.client.clone(), namespace),
        None => Api::all(ctx.client.clone()),
    };
    let (reader, writer) = reflector::store();
    track_sync(&ctx, &reader);
    let gone = ctx.metrics.clone();
    let queued = ctx.metrics.clone();
    let listed = reader.clone();
    // Reconcile on spec changes, our finalizer appearing and deletion only: the operator's own
    // status writes (and label edits) must not trigger reconciles, or every status write would
    // cost another round of AWS reads. Drift is caught by the periodic resync instead.
    let changes = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .inspect(move |event| match event {
            Ok(watcher::Event::Delete(object)) => {
                gone.forget(&object.uid().unwrap_or_default());
            }
            // A re-list misses the deletions made while the watch was down: keep only what the
            // fresh list holds.
            Ok(watcher::Event::InitDone) => {
                let present = listed.state().iter().filter_map(|o| o.uid()).collect();
                gone.retain(R::KIND, &present);
            }
            _ => {}
        })
        .applied_objects()
        .predicate_filter(
            |object: &R::Object| trigger_key(object, R::FINALIZER),
            PredicateConfig::default(),
        )
        .inspect(move |change| {
            if let Ok(object) = change {
                queued.due(R::KIND, &object.uid().unwrap_or_default(), Instant::now());
            }
        });
    let config = kube::runtime::controller::Config::default().concurrency(ctx.config.concurrency);
    let controller = Controller::for_stream(changes, reader)
        .with_config(config)
        .graceful_shutdown_on(shutdown);
    let controller = reconciler.watches(controller, &ctx);
    let shared = Arc::new(Shared { reconciler, ctx });
    controller
        .run(reconcile::<R>, error_policy::<R>, shared)
        .for_each(|result| async move {
            use kube::runtime::controller::Error;
            match result {
                Ok(_) => {}
                // A watch that fails (RBAC, a CRD missing, the API server away) stops all work
                // on the kind: say so loudly; the watcher retries with backoff.
                Err(error @ (Error::QueueError(_) | Error::RunnerError(_))) => {
                    tracing::warn!(kind = R::KIND, %error, "watch failed; retrying");
                }
                Err(error) => {
                    tracing::debug!(kind = R::KIND, %error, "reconcile did not finish");
                }
            }
        })
        .await;
}

/// Counts `store` among the caches the readiness probe waits for.
pub fn track_sync<K>(ctx: &Context, store: &Store<K>)
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    ctx.caches.started();
    let store = store.clone();
    let caches = ctx.caches.clone();
    tokio::spawn(async move {
        if synced(&store).await {
            caches.synced();
        }
    });
}

/// Waits until `store` holds its first full list (false: its watch is gone). A controller that
/// decides from another kind's cache waits for it: an empty cache right after start would read
/// as "nothing refers to this" (a service would take back the desired count its autoscaler owns).
pub async fn synced<K>(store: &Store<K>) -> bool
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    // The store's readiness is a oneshot shared behind a mutex: with the controller waiting on
    // it too, only the last poller's waker is kept, so look again every half second instead of
    // trusting a wake-up.
    loop {
        match tokio::time::timeout(Duration::from_millis(500), store.wait_until_ready()).await {
            Ok(Ok(())) => return true,
            Ok(Err(_)) => return false,
            Err(_) => {}
        }
    }
}

/// What identifies a change worth a reconcile: the generation (spec), whether our finalizer is
/// there (the first pass adds it and continues on its echo), and whether deletion started.
pub fn trigger_key<K: Resource>(object: &K, finalizer: &str) -> Option<u64> {
    let generation = object
        .meta()
        .generation
        .and_then(|g| u64::try_from(g).ok())?;
    let finalized = u64::from(has_finalizer(object, finalizer));
    let deleting = u64::from(object.meta().deletion_timestamp.is_some());
    Some(
        generation
            .wrapping_mul(4)
            .wrapping_add(finalized * 2)
            .wrapping_add(deleting),
    )
}

fn has_finalizer<K: Resource>(object: &K, finalizer: &str) -> bool {
    object
        .meta()
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == finalizer)
}

/// Errors that escape a pass (status or finalizer writes failing): back off and try again.
fn error_policy<R: Reconciler>(
    object: Arc<R::Object>,
    error: &ReconcileError,
    shared: Arc<Shared<R>>,
) -> Action {
    let key = object.uid().unwrap_or_default();
    let wait = shared.ctx.next_backoff(&key);
    tracing::info!(kind = R::KIND, name = %object.name_any(), %error, ?wait, "retrying");
    requeue_after(&shared.ctx, R::KIND, &key, wait)
}

/// Looks again after `wait`, noting when the object will be due (the queue-depth metric).
fn requeue_after(ctx: &Context, kind: &'static str, key: &str, wait: Duration) -> Action {
    ctx.metrics.due(kind, key, Instant::now() + wait);
    Action::requeue(wait)
}

async fn reconcile<R: Reconciler>(
    object: Arc<R::Object>,
    shared: Arc<Shared<R>>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let ctx = &shared.ctx;
    let api: Api<R::Object> =
        Api::namespaced(ctx.client.clone(), &object.namespace().unwrap_or_default());
    let key = object.uid().unwrap_or_default();
    let _in_flight = ctx.metrics.start(R::KIND, &key);
    let mut pass = Pass::new(object.status().cloned().unwrap_or_default());

    if object.meta().deletion_timestamp.is_some() {
        if !has_finalizer(object.as_ref(), R::FINALIZER) {
            return Ok(Action::await_change());
        }
        let outcome = shared.reconciler.cleanup(&object, ctx, &mut pass).await;
        let (health, action, failure) = match outcome {
            Ok(Cleanup::Done) => {
                publish(ctx, object.as_ref(), pass.notes()).await;
                remove_finalizer(&api, object.as_ref(), R::FINALIZER).await?;
                ctx.reset_backoff(&key);
                ctx.metrics.forget(&key);
                ctx.metrics
                    .record_pass(R::KIND, "deleted", None, started.elapsed());
                return Ok(Action::await_change());
            }
            Ok(Cleanup::Waiting {
                reason,
                message,
                requeue,
            }) => (
                Health::Reconciling { reason, message },
                requeue_after(ctx, R::KIND, &key, requeue),
                None,
            ),
            Err(error) => {
                let reaction = react(&error, timing(ctx), || ctx.next_backoff(&key));
                let action = reaction.requeue.map_or_else(Action::await_change, |wait| {
                    requeue_after(ctx, R::KIND, &key, wait)
                });
                (reaction.health, action, Some((error, reaction.event)))
            }
        };
        finish::<R>(
            ctx, &api, &object, pass, &health, failure, "deleting", started,
        )
        .await?;
        return Ok(action);
    }

    if !has_finalizer(object.as_ref(), R::FINALIZER) {
        // The echo of this write (a new trigger key) starts the first real pass.
        add_finalizer(&api, object.as_ref(), R::FINALIZER).await?;
        return Ok(Action::await_change());
    }

    let outcome = shared.reconciler.reconcile(&object, ctx, &mut pass).await;
    let (health, action, failure, result) = match outcome {
        Ok(Progress::Ready { reason, message }) => {
            ctx.reset_backoff(&key);
            (
                Health::Ready { reason, message },
                requeue_after(ctx, R::KIND, &key, jittered(ctx.config.resync)),
                None,
                "ready",
            )
        }
        Ok(Progress::Progressing {
            reason,
            message,
            requeue,
        }) => {
            ctx.reset_backoff(&key);
            (
                Health::Reconciling { reason, message },
                requeue_after(ctx, R::KIND, &key, requeue),
                None,
                "progressing",
            )
        }
        Ok(Progress::Stalled {
            reason,
            message,
            requeue,
        }) => {
            ctx.reset_backoff(&key);
            let error = ReconcileError::blocked(&reason, message.clone());
            (
                Health::Stalled { reason, message },
                requeue_after(ctx, R::KIND, &key, requeue),
                Some((error, EventType::Warning)),
                "stalled",
            )
        }
        Err(error) => {
            let reaction = react(&error, timing(ctx), || ctx.next_backoff(&key));
            tracing::info!(kind = R::KIND, name = %object.name_any(), %error, class = error.class().as_str(), "reconcile failed");
            let action = reaction.requeue.map_or_else(Action::await_change, |wait| {
                requeue_after(ctx, R::KIND, &key, wait)
            });
            (
                reaction.health,
                action,
                Some((error, reaction.event)),
                "error",
            )
        }
    };
    finish::<R>(ctx, &api, &object, pass, &health, failure, result, started).await?;
    Ok(action)
}

/// The end of every pass: one status write, the pass's Events, the failure's Event when the
/// conditions changed (so a retry loop does not repeat it), metrics.
#[allow(clippy::too_many_arguments)]
async fn finish<R: Reconciler>(
    ctx: &Context,
    api: &Api<R::Object>,
    object: &R::Object,
    pass: Pass<<R::Object as Managed>::Status>,
    health: &Health,
    failure: Option<(ReconcileError, EventType)>,
    result: &'static str,
    started: Instant,
) -> Result<(), ReconcileError> {
    let Pass { status, notes } = pass;
    let changed = write_status(api, object, status, health).await?;
    let condition = match health {
        _ if result == "deleting" => "deleting",
        Health::Ready { .. } => "ready",
        Health::Reconciling { .. } => "reconciling",
        Health::Stalled { .. } => "stalled",
    };
    ctx.metrics
        .set_condition(R::KIND, &object.uid().unwrap_or_default(), condition);
    publish(ctx, object, &notes).await;
    let class = failure.as_ref().map(|(error, _)| error.class());
    if let Some((error, type_)) = failure
        && changed
    {
        let note = Note {
            type_,
            reason: error.reason(),
            note: error.to_string(),
        };
        publish(ctx, object, std::slice::from_ref(&note)).await;
    }
    ctx.metrics
        .record_pass(R::KIND, result, class, started.elapsed());
    Ok(())
}

fn timing(ctx: &Context) -> Timing {
    Timing {
        resync: jittered(ctx.config.resync),
        poll: ctx.config.poll,
    }
}

/// `period` plus up to 10 % more, so objects created together do not resync together.
pub fn jittered(period: Duration) -> Duration {
    period + period.mul_f64(0.1 * fastrand::f64())
}

/// Writes `status` with the conditions for `health` and `observedGeneration`, replacing the whole
/// status (so fields that became empty are removed); returns whether the conditions or the
/// observed generation changed, i.e. whether this is news worth an Event.
async fn write_status<K: Managed>(
    api: &Api<K>,
    object: &K,
    mut status: K::Status,
    health: &Health,
) -> Result<bool, ReconcileError> {
    let generation = object.meta().generation;
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let shared = K::reconcile_status(&mut status);
    let changed_conditions = conditions::apply(&mut shared.conditions, health, generation, &now);
    let changed_generation = shared.observed_generation != generation;
    shared.observed_generation = generation;
    if object.status() != Some(&status) {
        let operations = json!([{"op": "add", "path": "/status", "value": status}]);
        let patch: json_patch::Patch = serde_json::from_value(operations)
            .map_err(|e| ReconcileError::blocked("InternalError", e.to_string()))?;
        api.patch_status(
            &object.name_any(),
            &PatchParams::default(),
            &Patch::<()>::Json(patch),
        )
        .await?;
    }
    Ok(changed_conditions || changed_generation)
}

/// Adds `finalizer`, failing (409/422) if the list changed since `object` was read.
async fn add_finalizer<K: Managed>(
    api: &Api<K>,
    object: &K,
    finalizer: &str,
) -> Result<(), ReconcileError> {
    let operations = match &object.meta().finalizers {
        None => json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": [finalizer]},
        ]),
        Some(current) => json!([
            {"op": "test", "path": "/metadata/finalizers", "value": current},
            {"op": "add", "path": "/metadata/finalizers/-", "value": finalizer},
        ]),
    };
    json_patch(api, object, operations).await
}

/// Removes `finalizer`, failing if it moved since `object` was read.
async fn remove_finalizer<K: Managed>(
    api: &Api<K>,
    object: &K,
    finalizer: &str,
) -> Result<(), ReconcileError> {
    let Some(index) = object
        .meta()
        .finalizers
        .iter()
        .flatten()
        .position(|f| f == finalizer)
    else {
        return Ok(());
    };
    let path = format!("/metadata/finalizers/{index}");
    let operations = json!([
        {"op": "test", "path": path, "value": finalizer},
        {"op": "remove", "path": path},
    ]);
    match json_patch(api, object, operations).await {
        // Already gone with its last finalizer: what we wanted.
        Err(ReconcileError::Kube(kube::Error::Api(status))) if status.code == 404 => Ok(()),
        other => other,
    }
}

async fn json_patch<K: Managed>(
    api: &Api<K>,
    object: &K,
    operations: serde_json::Value,
) -> Result<(), ReconcileError> {
    let patch: json_patch::Patch = serde_json::from_value(operations)
        .map_err(|e| ReconcileError::blocked("InternalError", e.to_string()))?;
    api.patch(
        &object.name_any(),
        &PatchParams::default(),
        &Patch::<()>::Json(patch),
    )
    .await?;
    Ok(())
}

/// Publishes Events through the shared recorder (which aggregates repeats into series).
async fn publish<K: Managed>(ctx: &Context, object: &K, notes: &[Note]) {
    let reference = object.object_ref(&());
    for note in notes {
        let event = Event {
            type_: note.type_,
            reason: note.reason.clone(),
            note: Some(note.note.clone()),
            action: note.reason.clone(),
            secondary: None,
        };
        if let Err(error) = ctx.recorder.publish(&event, &reference).await {
            tracing::warn!(%error, "could not publish an Event");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EcsTaskDefinition;

    fn object(generation: i64, finalizers: &[&str], deleting: bool) -> EcsTaskDefinition {
        let mut object: EcsTaskDefinition = serde_json::from_value(json!({
            "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition",
            "metadata": {"name": "x", "generation": generation},
            "spec": {"containerDefinitions": [{"name": "app"}]}
        }))
        .expect("object");
        object.metadata.finalizers = Some(finalizers.iter().map(|f| f.to_string()).collect());
        if deleting {
            object.metadata.deletion_timestamp =
                Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        }
        object
    }

    #[test]
    fn triggers_are_generation_finalizer_and_deletion_only() {
        let base = trigger_key(&object(3, &[], false), "f");
        assert_ne!(base, trigger_key(&object(4, &[], false), "f"));
        assert_ne!(base, trigger_key(&object(3, &["f"], false), "f"));
        assert_ne!(
            trigger_key(&object(3, &["f"], false), "f"),
            trigger_key(&object(3, &["f"], true), "f")
        );
        assert_eq!(
            base,
            trigger_key(&object(3, &["other"], false), "f"),
            "someone else's finalizer is not our business"
        );
        let mut with_status = object(3, &[], false);
        with_status.status = Some(Default::default());
        assert_eq!(
            base,
            trigger_key(&with_status, "f"),
            "status writes do not trigger"
        );
    }

    #[test]
    fn resync_jitter_is_at_most_a_tenth() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(100));
            assert!(d >= Duration::from_secs(100) && d <= Duration::from_secs(110));
        }
    }
}
