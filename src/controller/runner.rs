//! The machinery every controller shares, so a kind is only its pipeline stages
//! ([`pipeline::Kind`]): the watch with its trigger filter, the finalizer, the stages in order,
//! the error classes' reactions, the single status write per pass, Events, backoff and metrics.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::BoxStream;
use k8s_openapi::NamespaceResourceScope;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::EventType;
use kube::runtime::reflector::{self, Store};
use kube::runtime::utils::{PredicateConfig, WatchStreamExt};
use kube::runtime::watcher::{self, watcher};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::conditions::{self, Health};
use super::error::{ReconcileError, react};
use super::own_writes::OwnWrites;
use super::pipeline::{self, Cleanup, Kind, Note, Progress, Ran, StatusOf};
pub use super::writes::{FIELD_MANAGER, status_patch};
use super::writes::{add_finalizer, remove_finalizer, write_status};
use super::{Context, gates};
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

struct Shared<R: Kind> {
    reconciler: R,
    ctx: Arc<Context>,
    own: OwnWrites<R::Object>,
}

/// Runs `reconciler` until `shutdown` completes; in-flight reconciles finish first.
pub async fn run<R: Kind>(
    reconciler: R,
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let api: Api<R::Object> = ctx.watched_api();
    let (reader, writer) = reflector::store();
    track_sync(&ctx, &reader);
    let gone = ctx.metrics.clone();
    let waits = ctx.waits.clone();
    let own = OwnWrites::<R::Object>::default();
    let caught_up = own.clone();
    let queued = ctx.metrics.clone();
    let listed = reader.clone();
    // Reconcile on spec changes, our finalizer appearing and deletion only: the operator's own
    // status writes (and label edits) must not trigger reconciles, or every status write would
    // cost another round of AWS reads. Drift is caught by the periodic resync instead.
    let changes = watcher(api, ctx.watch_config())
        .default_backoff()
        .modify(forget_managed_fields)
        .reflect(writer)
        .inspect(move |event| match event {
            Ok(watcher::Event::Delete(object)) => {
                let uid = object.uid().unwrap_or_default();
                gone.forget(&uid);
                waits.ended(&uid);
                caught_up.forget(&uid);
            }
            Ok(watcher::Event::Apply(object) | watcher::Event::InitApply(object)) => {
                caught_up.seen(object);
            }
            // A re-list misses the deletions made while the watch was down: keep only what the
            // fresh list holds.
            Ok(watcher::Event::InitDone) => {
                let present = listed.state().iter().filter_map(|o| o.uid()).collect();
                gone.retain(R::KIND, &present);
                waits.retain(R::KIND, &present);
                caught_up.retain(&present);
            }
            _ => {}
        })
        .applied_objects()
        .predicate_filter(
            |object: &R::Object| trigger_key(object, R::FINALIZER, object.status().is_some()),
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
    let shared = Arc::new(Shared {
        reconciler,
        ctx,
        own,
    });
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

/// Where a pass writes its object: its API, and the record of the operator's own writes that
/// lets the next pass start from them before the watch cache has them.
type Writer<'a, K> = (&'a Api<K>, &'a OwnWrites<K>);

/// The changes of another kind that a controller depends on, with its cache.
pub type Dependency<K> = (Store<K>, BoxStream<'static, Result<K, watcher::Error>>);

/// Watches kind `K` (what `ctx` watches) for a controller that depends on it: its cache, counted
/// for the readiness probe, and the stream of changes that matter: those that change `key`, or
/// with no key every change, deletions included.
pub fn watch_dependency<K>(ctx: &Context, key: Option<fn(&K) -> Option<u64>>) -> Dependency<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store();
    // Not narrowed by `--selector`: a reference names an object whatever install reconciles it,
    // and "no policy owns this count" must not be concluded from a policy another install holds.
    let changes = watcher(ctx.watched_api::<K>(), watcher::Config::default())
        .default_backoff()
        .modify(forget_managed_fields)
        .reflect(writer);
    let stream = match key {
        Some(key) => changes
            .applied_objects()
            .predicate_filter(key, PredicateConfig::default())
            .boxed(),
        None => changes.touched_objects().boxed(),
    };
    track_sync(ctx, &store);
    (store, stream)
}

/// Drops an object's `managedFields` before it is cached: no stage reads them, and they are
/// often the largest part of a small object (a cache of thousands holds them all).
pub fn forget_managed_fields<K: Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
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

/// What identifies a change worth a reconcile: the generation (spec), whether deletion started,
/// our finalizer gone from an object a pass has already reported on (`reported`: it has a
/// status; someone removed it, and a deletion now would leak what it made), and the operator's
/// own annotations (`ecs.operator.dev/...`, such as the adopt annotation: an edit of them acts at
/// once, not at the next resync). Not our finalizer appearing: the pass that adds it goes on in
/// the same pass, so its echo is no news.
pub fn trigger_key<K: Resource>(object: &K, finalizer: &str, reported: bool) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let generation = object.meta().generation?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    generation.hash(&mut hasher);
    (reported && !has_finalizer(object, finalizer)).hash(&mut hasher);
    object.meta().deletion_timestamp.is_some().hash(&mut hasher);
    for (key, value) in object.meta().annotations.iter().flatten() {
        if key.starts_with(OPERATOR_ANNOTATION_PREFIX) {
            (key, value).hash(&mut hasher);
        }
    }
    Some(hasher.finish())
}

/// The prefix of the annotations that tell the operator something.
pub const OPERATOR_ANNOTATION_PREFIX: &str = "ecs.operator.dev/";

fn has_finalizer<K: Resource>(object: &K, finalizer: &str) -> bool {
    object
        .meta()
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == finalizer)
}

/// What [`refuse`] reports on: the object's API, the object, its status, its key and whether
/// it is paused.
type Refused<'a, R> = (
    Writer<'a, <R as Kind>::Object>,
    &'a <R as Kind>::Object,
    StatusOf<R>,
    &'a str,
    &'a Option<(&'static str, String)>,
);

/// Ends a pass before it starts, on `error` (no AWS identity for the namespace, or another one
/// than the object's resources live under): Stalled (or still Paused, retried at the resync).
async fn refuse<R: Kind>(
    ctx: &Context,
    (api, object, status, key, paused): Refused<'_, R>,
    error: ReconcileError,
    started: Instant,
) -> Result<Action, ReconcileError> {
    let (health, action, failure, result) = match paused {
        // Still paused: nothing runs, so nothing to retry sooner than a resync.
        Some((reason, why)) => (
            Health::Paused {
                in_sync: false,
                reason: (*reason).to_owned(),
                message: format!("{why}; {}: {error}", error.reason()),
            },
            requeue_after(ctx, R::KIND, key, jittered(ctx.config.resync)),
            None,
            "paused",
        ),
        None => {
            let (health, action, failure) = failed(ctx, R::KIND, key, error);
            (health, action, failure, "error")
        }
    };
    finish::<R>(
        ctx,
        api,
        object,
        (status, Vec::new()),
        &health,
        failure,
        result,
        started,
    )
    .await?;
    Ok(action)
}

/// Errors that escape a pass (status or finalizer writes failing): back off and try again.
fn error_policy<R: Kind>(
    object: Arc<R::Object>,
    error: &ReconcileError,
    shared: Arc<Shared<R>>,
) -> Action {
    let key = object.uid().unwrap_or_default();
    let wait = shared.ctx.next_backoff(&key);
    tracing::info!(kind = R::KIND, namespace = %object.namespace().unwrap_or_default(), name = %object.name_any(), %error, ?wait, "retrying");
    requeue_after(&shared.ctx, R::KIND, &key, wait)
}

/// Looks again after `wait`, noting when the object will be due (the queue-depth metric).
fn requeue_after(ctx: &Context, kind: &'static str, key: &str, wait: Duration) -> Action {
    ctx.metrics.due(kind, key, Instant::now() + wait);
    Action::requeue(wait)
}

/// One pass, in a span naming the object, so every line logged during it (the AWS layer's
/// included) says which object of which namespace it is about.
async fn reconcile<R: Kind>(
    object: Arc<R::Object>,
    shared: Arc<Shared<R>>,
) -> Result<Action, ReconcileError> {
    use tracing::Instrument;
    let span = tracing::info_span!(
        "reconcile",
        kind = R::KIND,
        namespace = %object.namespace().unwrap_or_default(),
        object = %object.name_any(),
    );
    reconcile_object::<R>(object, shared).instrument(span).await
}

async fn reconcile_object<R: Kind>(
    object: Arc<R::Object>,
    shared: Arc<Shared<R>>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    // A pass started by a dependency's change may be ahead of the watch cache's copy of this
    // object: it starts from the operator's own last write instead (see `own_writes`).
    let object = shared.own.newest(object);
    let object = gates::with_default_adoption(&shared.ctx, object);
    let namespace = object.namespace().unwrap_or_default();
    let api: Api<R::Object> = Api::namespaced(shared.ctx.client.clone(), &namespace);
    let writer = (&api, &shared.own);
    let key = object.uid().unwrap_or_default();
    let _in_flight = shared.ctx.metrics.start(R::KIND, &key);
    let status = object.status().cloned().unwrap_or_default();
    let paused = gates::paused(&shared.ctx, object.as_ref());

    // The namespace's AWS identity (its own role, Region): every AWS call of the pass uses it.
    let deleting = object.meta().deletion_timestamp.is_some();
    let touches_no_aws = deleting
        && (!has_finalizer(object.as_ref(), R::FINALIZER)
            || paused.is_some()
            || shared.ctx.config.read_only);
    let own_identity = match shared.ctx.for_object_namespace(&namespace).await {
        Ok(own) => own,
        // Releasing without cleanup, or a deletion that waits for writes: nothing to refuse.
        Err(_) if touches_no_aws => None,
        Err(error) => {
            tracing::info!(kind = R::KIND, namespace = %namespace, name = %object.name_any(), %error, "no AWS identity for the namespace");
            let refused = (writer, object.as_ref(), status, key.as_str(), &paused);
            return refuse::<R>(&shared.ctx, refused, error, started).await;
        }
    };
    let ctx: &Context = own_identity.as_ref().unwrap_or(&shared.ctx);
    // What the object made lives under the identity its status recorded: under another one (the
    // namespace's role or Region changed) a pass would make it all again in that account, or
    // clean up nothing there, so the object stops until a person decides.
    let recorded = {
        let mut status = status.clone();
        <R::Object as Managed>::reconcile_status(&mut status)
            .aws_identity
            .clone()
    };
    if let Some(error) =
        super::identity::changed(recorded.as_deref(), &ctx.aws_identity, &namespace)
        && !touches_no_aws
    {
        let refused = (writer, object.as_ref(), status, key.as_str(), &paused);
        return refuse::<R>(ctx, refused, error, started).await;
    }
    if object.meta().deletion_timestamp.is_some() {
        if !has_finalizer(object.as_ref(), R::FINALIZER) {
            return Ok(Action::await_change());
        }
        if ctx.config.read_only {
            // A freeze keeps the cleanup for later: the finalizer stays until the operator runs
            // with writes again (and a read-only second install never takes another's).
            let health = Health::Paused {
                in_sync: false,
                reason: "ReadOnly".into(),
                message: "deletion waits: the operator runs with --read-only, so it neither cleans up in AWS nor releases the object".into(),
            };
            finish::<R>(
                ctx,
                writer,
                &object,
                (status, Vec::new()),
                &health,
                None,
                "paused",
                started,
            )
            .await?;
            return Ok(Action::await_change());
        }
        if let Some((reason, why)) = &paused {
            // No AWS writes: the object goes, what it made in AWS stays (as with Retain).
            let note = Note::normal(
                reason,
                format!("{why}: deleted without touching AWS (its resources are left as they are)"),
            );
            publish(ctx, object.as_ref(), std::slice::from_ref(&note)).await;
            remove_finalizer(&api, object.as_ref(), R::FINALIZER).await?;
            ctx.metrics.forget(&key);
            ctx.waits.ended(&key);
            ctx.metrics
                .record_pass(R::KIND, "deleted", None, started.elapsed());
            return Ok(Action::await_change());
        }
        let ran = cleanup(&shared.reconciler, ctx, &object, status).await;
        let (health, action, failure) = match ran.outcome {
            Ok(Cleanup::Done) => {
                publish(ctx, object.as_ref(), &ran.notes).await;
                remove_finalizer(&api, object.as_ref(), R::FINALIZER).await?;
                ctx.reset_backoff(&key);
                ctx.metrics.forget(&key);
                ctx.waits.ended(&key);
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
            Ok(Cleanup::Stalled {
                reason,
                message,
                requeue,
            }) => {
                let error = ReconcileError::blocked(&reason, message.clone());
                (
                    Health::Stalled { reason, message },
                    requeue_after(ctx, R::KIND, &key, requeue),
                    Some((error, EventType::Warning)),
                )
            }
            Err(error) => failed(ctx, R::KIND, &key, error),
        };
        finish::<R>(
            ctx,
            writer,
            &object,
            (ran.status, ran.notes),
            &health,
            failure,
            "deleting",
            started,
        )
        .await?;
        return Ok(action);
    }

    // The first pass after a pause treats the spec as changed: the generations seen while paused
    // were observed, not applied.
    let mut status = status;
    if paused.is_none() && was_paused::<R>(&status) {
        <R::Object as Managed>::reconcile_status(&mut status).observed_generation = None;
    }
    let mut object = object;
    let (ran, calls) = match paused {
        // Observe and report only. No finalizer is added: there is nothing to clean up.
        Some(_) => observe_only(&shared.reconciler, ctx, &object, status).await,
        None => {
            if has_finalizer(object.as_ref(), R::FINALIZER) {
                (
                    pass(&shared.reconciler, ctx, &object, status).await,
                    Vec::new(),
                )
            } else {
                // The pass goes on with the object as the finalizer's write returned it (the
                // status write's precondition needs its resourceVersion). No earlier pass of
                // this object can have written to AWS (writes need the finalizer), which the
                // stages may use to skip the reads that look for what a crash left unrecorded.
                let mut patched = add_finalizer(&api, object.as_ref(), R::FINALIZER).await?;
                forget_managed_fields(&mut patched);
                let patched = Arc::new(patched);
                shared.own.wrote(object.as_ref(), patched.clone());
                object = gates::with_default_adoption(&shared.ctx, patched);
                let first = pipeline::FIRST_PASS
                    .scope(true, pass(&shared.reconciler, ctx, &object, status));
                (first.await, Vec::new())
            }
        }
    };
    let Ran {
        status: mut new_status,
        notes,
        outcome,
    } = ran;
    if paused.is_none() {
        <R::Object as Managed>::reconcile_status(&mut new_status).aws_identity =
            Some(ctx.aws_identity.clone());
    }
    let (health, action, failure, result) = match (paused, outcome) {
        (Some((reason, why)), outcome) => {
            ctx.reset_backoff(&key);
            // Still paused when a read or a reference fails: nothing runs, so nothing to retry
            // sooner than a resync (a reference's change triggers a pass anyway).
            let health = match outcome {
                Ok(progress) => paused_health(reason, &why, &progress, &calls),
                Err(error) => Health::Paused {
                    in_sync: false,
                    reason: reason.to_owned(),
                    message: format!("{why}; {}: {error}", error.reason()),
                },
            };
            (
                health,
                requeue_after(ctx, R::KIND, &key, jittered(ctx.config.resync)),
                None,
                "paused",
            )
        }
        (_, outcome) => match outcome {
            Ok(Progress::Ready { reason, message }) => {
                ctx.reset_backoff(&key);
                (
                    Health::Ready { reason, message },
                    requeue_after(ctx, R::KIND, &key, jittered(ctx.config.resync)),
                    None,
                    "ready",
                )
            }
            Ok(Progress::ReadyFor {
                reason,
                message,
                requeue,
            }) => {
                ctx.reset_backoff(&key);
                (
                    Health::Ready { reason, message },
                    requeue_after(ctx, R::KIND, &key, requeue),
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
                tracing::info!(kind = R::KIND, namespace = %object.namespace().unwrap_or_default(), name = %object.name_any(), %error, class = error.class().as_str(), "reconcile failed");
                let (health, action, failure) = failed(ctx, R::KIND, &key, error);
                (health, action, failure, "error")
            }
        },
    };
    finish::<R>(
        ctx,
        writer,
        &object,
        (new_status, notes),
        &health,
        failure,
        result,
        started,
    )
    .await?;
    Ok(action)
}

/// What a failed pass leads to, by the error's class: the conditions, when to look again, and
/// the failure with its Event type.
fn failed(
    ctx: &Context,
    kind: &'static str,
    key: &str,
    error: ReconcileError,
) -> (Health, Action, Option<(ReconcileError, EventType)>) {
    let reaction = react(&error, error_timing(ctx), || ctx.next_backoff(key));
    let action = reaction.requeue.map_or_else(Action::await_change, |wait| {
        requeue_after(ctx, kind, key, wait)
    });
    (reaction.health, action, Some((error, reaction.event)))
}

/// The stages of one pass in order. A stage that fails before the plan keeps the status as last
/// written; after the plan, the status holds what observation showed and every write AWS
/// accepted.
async fn pass<R: Kind>(
    kind: &R,
    ctx: &Context,
    object: &R::Object,
    status: StatusOf<R>,
) -> Ran<StatusOf<R>, Progress> {
    let timing = plan_timing(ctx);
    let plan = match pipeline::plan_pass(kind, ctx, object, &status, timing).await {
        Ok(plan) => plan,
        Err(error) => {
            return Ran {
                status,
                notes: Vec::new(),
                outcome: Err(error),
            };
        }
    };
    let mut ran = pipeline::run_steps(kind, ctx, plan).await;
    ran.outcome = ran
        .outcome
        .map(|outcome| R::finish(outcome, &ran.status, timing));
    ran
}

/// The conditions of a paused object: Ready when AWS matches the spec and nothing is under way,
/// and the calls applying the spec would make.
fn paused_health(reason: &str, why: &str, progress: &Progress, calls: &[pipeline::Call]) -> Health {
    let standing = match progress {
        Progress::Ready { .. } | Progress::ReadyFor { .. } => None,
        Progress::Progressing {
            reason, message, ..
        }
        | Progress::Stalled {
            reason, message, ..
        } => Some(format!("{reason}: {message}")),
    };
    let in_sync = calls.is_empty() && standing.is_none();
    let message = if calls.is_empty() {
        let stands = standing.map(|s| format!(" ({s})")).unwrap_or_default();
        format!("{why}; AWS calls that applying the spec needs: none{stands}")
    } else {
        let named: Vec<String> = calls
            .iter()
            .map(|c| format!("{} {}", c.operation, c.target))
            .collect();
        format!(
            "{why}; AWS calls that applying the spec needs: {} (`ecs-operator diff` shows their inputs)",
            named.join(", ")
        )
    };
    Health::Paused {
        in_sync,
        reason: reason.to_owned(),
        message,
    }
}

/// Whether the last status written says the object was paused.
fn was_paused<R: Kind>(status: &StatusOf<R>) -> bool {
    let mut status = status.clone();
    <R::Object as Managed>::reconcile_status(&mut status)
        .conditions
        .iter()
        .any(|c| c.type_ == conditions::PAUSED && c.status == "True")
}

/// The stages of a pass up to the plan, without its steps. The status is written back as it was
/// (only the conditions change): a plan's status may hold what it records just before a write
/// (an EcsTask's run, a service's client token), which must not stand for a write never sent.
/// The calls are what the steps would send.
async fn observe_only<R: Kind>(
    kind: &R,
    ctx: &Context,
    object: &R::Object,
    status: StatusOf<R>,
) -> (Ran<StatusOf<R>, Progress>, Vec<pipeline::Call>) {
    let before = |status: StatusOf<R>, error: ReconcileError| Ran {
        status,
        notes: Vec::new(),
        outcome: Err(error),
    };
    match super::preview::plan_ahead(kind, ctx, object, &status).await {
        Ok(ahead) => (
            Ran {
                status,
                notes: Vec::new(),
                outcome: ahead.outcome,
            },
            ahead.calls,
        ),
        Err(error) => (before(status, error), Vec::new()),
    }
}

/// The stages of a deletion pass: observe, plan, the steps.
async fn cleanup<R: Kind>(
    kind: &R,
    ctx: &Context,
    object: &R::Object,
    status: StatusOf<R>,
) -> Ran<StatusOf<R>, Cleanup> {
    let observed = match kind.observe_cleanup(object, ctx, &status).await {
        Ok(observed) => observed,
        Err(error) => {
            return Ran {
                status,
                notes: Vec::new(),
                outcome: Err(error),
            };
        }
    };
    let plan = R::plan_cleanup(object, &observed, &status, plan_timing(ctx));
    pipeline::run_steps(kind, ctx, plan).await
}

/// The end of every pass: one status write, the pass's Events, the failure's Event when the
/// conditions changed (so a retry loop does not repeat it) or, for a wait for another object,
/// once the wait has lasted `--wait-event-after-seconds`; metrics.
#[allow(clippy::too_many_arguments)]
async fn finish<R: Kind>(
    ctx: &Context,
    (api, own): Writer<'_, R::Object>,
    object: &R::Object,
    (status, notes): (StatusOf<R>, Vec<Note>),
    health: &Health,
    failure: Option<(ReconcileError, EventType)>,
    result: &'static str,
    started: Instant,
) -> Result<(), ReconcileError> {
    let (changed, written) = write_status(api, object, status, health).await?;
    if let Some(mut written) = written {
        forget_managed_fields(&mut written);
        own.wrote(object, Arc::new(written));
    }
    let condition = match health {
        _ if result == "deleting" => "deleting",
        Health::Ready { .. } => "ready",
        Health::Reconciling { .. } => "reconciling",
        Health::Stalled { .. } => "stalled",
        Health::Paused { .. } => "paused",
    };
    ctx.metrics.set_condition(
        R::KIND,
        &object.namespace().unwrap_or_default(),
        &object.uid().unwrap_or_default(),
        condition,
    );
    publish(ctx, object, &notes).await;
    let class = failure.as_ref().map(|(error, _)| error.class());
    let uid = object.uid().unwrap_or_default();
    // A wait for another object is told once it has lasted (see `waits`); any other failure
    // when the conditions changed.
    let tell = match &failure {
        Some((ReconcileError::Waiting { reason, .. }, _)) => {
            ctx.waits.tell(R::KIND, &uid, reason, Instant::now())
        }
        _ => {
            ctx.waits.ended(&uid);
            changed
        }
    };
    if let Some((error, type_)) = failure
        && tell
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

fn plan_timing(ctx: &Context) -> pipeline::Timing {
    pipeline::Timing {
        poll: ctx.config.poll,
        resync: ctx.config.resync,
    }
}

fn error_timing(ctx: &Context) -> super::error::Timing {
    super::error::Timing {
        resync: jittered(ctx.config.resync),
        poll: ctx.config.poll,
    }
}

/// `period` plus up to 10 % more, so objects created together do not resync together.
pub fn jittered(period: Duration) -> Duration {
    period + period.mul_f64(RESYNC_JITTER * fastrand::f64())
}

/// The latest a resync of `period` comes (see [`jittered`]): read-ahead answers for it are read
/// no earlier than they would still serve it.
pub fn latest_resync(period: Duration) -> Duration {
    period + period.mul_f64(RESYNC_JITTER)
}

/// The share of the resync period added at random to each resync.
const RESYNC_JITTER: f64 = 0.1;

/// Publishes Events through the shared recorder (which aggregates repeats into series).
async fn publish<K: Managed>(ctx: &Context, object: &K, notes: &[Note]) {
    let reference = object.object_ref(&());
    for note in notes {
        if let Err(error) = ctx.recorder.publish(&note.event(), &reference).await {
            tracing::warn!(namespace = %object.namespace().unwrap_or_default(), name = %object.name_any(), %error, "could not publish an Event");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EcsTaskDefinition;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::json;

    #[test]
    fn distinct_messages_are_distinct_events_and_repeats_aggregate() {
        let a = Note::normal("ServiceEvent", "has started 2 tasks").event();
        let b = Note::normal("ServiceEvent", "has reached a steady state").event();
        let again = Note::normal("ServiceEvent", "has started 2 tasks").event();
        assert_ne!(a.action, b.action);
        assert_eq!(a.action, again.action);
        assert!(a.action.starts_with("ServiceEvent") && a.action.len() <= 128);
    }

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
    fn triggers_are_generation_deletion_a_lost_finalizer_and_our_annotations_only() {
        let trigger_key = |object: &EcsTaskDefinition| trigger_key(object, "f", false);
        let base = trigger_key(&object(3, &[], false));
        assert_ne!(base, trigger_key(&object(4, &[], false)));
        assert_eq!(
            base,
            trigger_key(&object(3, &["f"], false)),
            "the finalizer's echo: the pass that added it went on"
        );
        assert_ne!(
            trigger_key(&object(3, &["f"], false)),
            trigger_key(&object(3, &["f"], true))
        );
        assert_eq!(
            super::trigger_key(&object(3, &["f"], false), "f", true),
            base,
            "the status write's echo is no news either"
        );
        assert_ne!(
            super::trigger_key(&object(3, &[], false), "f", true),
            base,
            "our finalizer removed from a reported object: put it back now"
        );
        assert_eq!(
            base,
            trigger_key(&object(3, &["other"], false)),
            "someone else's finalizer is not our business"
        );
        let mut adopt = object(3, &[], false);
        adopt.metadata.annotations = Some(
            [(crate::api::ADOPT_ANNOTATION.to_owned(), "true".to_owned())]
                .into_iter()
                .collect(),
        );
        assert_ne!(
            base,
            trigger_key(&adopt),
            "the operator's annotations trigger"
        );
        let mut other = object(3, &[], false);
        other.metadata.annotations = Some(
            [("team.example.com/owner".to_owned(), "x".to_owned())]
                .into_iter()
                .collect(),
        );
        assert_eq!(base, trigger_key(&other), "other annotations do not");
        let mut with_status = object(3, &[], false);
        with_status.status = Some(Default::default());
        assert_eq!(
            base,
            trigger_key(&with_status),
            "status writes do not trigger"
        );
    }

    #[test]
    fn resync_jitter_is_at_most_a_tenth() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(100));
            assert!(d >= Duration::from_secs(100) && d <= Duration::from_secs(110));
            assert!(d <= latest_resync(Duration::from_secs(100)));
        }
        assert_eq!(
            latest_resync(Duration::from_secs(100)),
            Duration::from_secs(110)
        );
    }
}
