//! EcsTaskDefinition controller: one new revision per change of content, adoption of revisions a
//! crash left unrecorded, drift repair, history, deletion policy, kstatus conditions and Events.

use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType};
use kube::runtime::finalizer::{self, finalizer};
use kube::runtime::reflector;
use kube::runtime::utils::{PredicateConfig, WatchStreamExt};
use kube::runtime::watcher::{self, watcher};
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::conditions::{self, Health};
use super::{Context, ReconcileError};
use crate::api::task_definition::{EcsTaskDefinitionStatus, RegisteredRevision};
use crate::api::{DeletionPolicy, EcsTaskDefinition};
use crate::aws::ecs::RevisionStatus;
use crate::aws::tags;
use crate::aws::types::TaskDefinitionRevision;
use crate::translate::{sdk, task_definition};

/// Finalizer that keeps an object until its revisions are dealt with.
pub const FINALIZER: &str = "ecs.operator.dev/task-definition";

/// How many of the newest unrecorded revisions of a family are checked for ones this object
/// registered but never recorded (a crash between RegisterTaskDefinition and the status write).
pub const ADOPTION_SCAN_LIMIT: usize = 20;

/// Runs the controller until `shutdown` completes.
pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
    let api: Api<EcsTaskDefinition> = match &ctx.config.namespace {
        Some(namespace) => Api::namespaced(ctx.client.clone(), namespace),
        None => Api::all(ctx.client.clone()),
    };
    let (reader, writer) = reflector::store();
    // Reconcile on spec changes and deletion only: the operator's own status writes (and label
    // edits) must not trigger reconciles, or every status write would cost another round of AWS
    // reads. Drift is caught by the periodic resync instead.
    let changes = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(spec_or_deletion, PredicateConfig::default());
    Controller::for_stream(changes, reader)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "task definition reconcile did not finish");
            }
        })
        .await;
}

/// Changes that matter: a new generation (spec), our finalizer appearing (the first reconcile adds
/// it and continues on its echo), or the start of deletion.
fn spec_or_deletion(object: &EcsTaskDefinition) -> Option<u64> {
    let generation = object
        .metadata
        .generation
        .and_then(|g| u64::try_from(g).ok())?;
    let finalized = u64::from(object.finalizers().iter().any(|f| f == FINALIZER));
    let deleting = u64::from(object.metadata.deletion_timestamp.is_some());
    Some(
        generation
            .wrapping_mul(4)
            .wrapping_add(finalized * 2)
            .wrapping_add(deleting),
    )
}

fn error_policy(
    object: Arc<EcsTaskDefinition>,
    error: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    let wait = ctx.next_backoff(&object.uid().unwrap_or_default());
    tracing::info!(name = %object.name_any(), %error, ?wait, "retrying");
    Action::requeue(wait)
}

/// One reconcile of one object.
pub async fn reconcile(
    object: Arc<EcsTaskDefinition>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let namespace = object.namespace().unwrap_or_default();
    let api: Api<EcsTaskDefinition> = Api::namespaced(ctx.client.clone(), &namespace);
    let result = finalizer(&api, FINALIZER, object.clone(), |event| async {
        match event {
            finalizer::Event::Apply(object) => apply(&object, &ctx, &api).await,
            finalizer::Event::Cleanup(object) => cleanup(&object, &ctx).await,
        }
    })
    .await;
    match result {
        Ok(action) => {
            ctx.reset_backoff(&object.uid().unwrap_or_default());
            Ok(action)
        }
        Err(finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e)) => Err(e),
        Err(finalizer::Error::AddFinalizer(e) | finalizer::Error::RemoveFinalizer(e)) => {
            Err(ReconcileError::Kube(e))
        }
        Err(other) => Err(ReconcileError::Finalizer(other.to_string())),
    }
}

/// What one reconcile did, for Events and status.
#[derive(Debug, Default)]
struct Outcome {
    status: EcsTaskDefinitionStatus,
    events: Vec<(EventType, &'static str, String)>,
}

async fn apply(
    object: &EcsTaskDefinition,
    ctx: &Context,
    api: &Api<EcsTaskDefinition>,
) -> Result<Action, ReconcileError> {
    let name = object.name_any();
    let status = object.status.clone().unwrap_or_default();

    let request = match task_definition::register_request(&name, &object.spec) {
        Ok(request) => request,
        Err(error) => {
            let message = error.to_string();
            let health = Health::Stalled {
                reason: "InvalidSpec".into(),
                message: message.clone(),
            };
            if write_health(api, object, status, &health).await? {
                publish(ctx, object, EventType::Warning, "InvalidSpec", message).await;
            }
            // Nothing to retry until the spec changes; the next edit triggers a reconcile.
            return Ok(Action::await_change());
        }
    };

    match converge(object, ctx, api, &request, status.clone()).await {
        Ok(outcome) => {
            for (type_, reason, note) in outcome.events {
                publish(ctx, object, type_, reason, note).await;
            }
            let revision = outcome.status.revision.unwrap_or_default();
            let health = Health::Ready {
                reason: "Registered".into(),
                message: format!(
                    "revision {revision} of family {} is registered",
                    outcome.status.family.clone().unwrap_or_default()
                ),
            };
            write_health(api, object, outcome.status, &health).await?;
            Ok(Action::requeue(ctx.config.resync))
        }
        Err(ReconcileError::Aws(error)) if !error.is_retryable() => {
            let health = Health::Stalled {
                reason: "AwsRejected".into(),
                message: error.to_string(),
            };
            if write_health(api, object, status, &health).await? {
                publish(
                    ctx,
                    object,
                    EventType::Warning,
                    "AwsRejected",
                    error.to_string(),
                )
                .await;
            }
            Ok(Action::await_change())
        }
        Err(error) => {
            let health = Health::Reconciling {
                reason: "Retrying".into(),
                message: error.to_string(),
            };
            let current = api
                .get_status(&name)
                .await
                .ok()
                .and_then(|o| o.status)
                .unwrap_or(status);
            write_health(api, object, current, &health).await?;
            Err(error)
        }
    }
}

/// Makes AWS hold the revision of the desired content and trims history; returns the new status.
async fn converge(
    object: &EcsTaskDefinition,
    ctx: &Context,
    api: &Api<EcsTaskDefinition>,
    request: &crate::api::task_definition::TaskDefinitionBody,
    mut status: EcsTaskDefinitionStatus,
) -> Result<Outcome, ReconcileError> {
    let ecs = &ctx.aws.ecs;
    let hash = task_definition::content_hash(request);
    let family = request.family.clone().unwrap_or_else(|| object.name_any());
    let mut outcome = Outcome::default();

    let steady = status.content_hash.as_deref() == Some(hash.as_str())
        && status.task_definition_arn.is_some();
    let current = if steady {
        let arn = status.task_definition_arn.clone().unwrap_or_default();
        match ecs.describe_task_definition(&arn).await? {
            Some((revision, _)) if revision.status == "ACTIVE" => Some(revision),
            _ => {
                let registered = register(object, ctx, request, &hash).await?;
                outcome.events.push((
                    EventType::Warning,
                    "Drift",
                    format!("{arn} was deregistered outside the operator; registered the same content again as revision {}", registered.revision),
                ));
                Some(registered)
            }
        }
    } else {
        None
    };
    let current = match current {
        Some(revision) => revision,
        None => match find_unrecorded(object, ctx, &family, &status, Some(&hash))
            .await?
            .into_iter()
            .next()
        {
            Some(adopted) => {
                outcome.events.push((
                    EventType::Normal,
                    "Adopted",
                    format!(
                        "adopted revision {} registered earlier for this content",
                        adopted.revision
                    ),
                ));
                adopted
            }
            None => {
                let registered = register(object, ctx, request, &hash).await?;
                outcome.events.push((
                    EventType::Normal,
                    "Registered",
                    format!(
                        "registered revision {} ({})",
                        registered.revision, registered.arn
                    ),
                ));
                registered
            }
        },
    };

    let changed_current = status.task_definition_arn.as_deref() != Some(current.arn.as_str());
    status.task_definition_arn = Some(current.arn.clone());
    status.family = Some(current.family.clone());
    status.revision = Some(current.revision);
    status.content_hash = Some(hash.clone());
    status.registered_revisions.retain(|r| r.arn != current.arn);
    status.registered_revisions.insert(
        0,
        RegisteredRevision {
            arn: current.arn.clone(),
            revision: current.revision,
            content_hash: hash,
        },
    );
    status
        .registered_revisions
        .sort_by_key(|r| std::cmp::Reverse(r.revision));
    if changed_current {
        // Record the new revision before anything else can fail, so it is never registered twice.
        patch_status(api, &object.name_any(), &status).await?;
    }

    let limit = usize::try_from(object.spec.revision_history_limit.max(1)).unwrap_or(1);
    let (keep, expired) = split_history(&status.registered_revisions, &current.arn, limit);
    for revision in &expired {
        deregister(ctx, &revision.arn).await?;
        outcome.events.push((
            EventType::Normal,
            "Deregistered",
            format!(
                "deregistered revision {} (history limit {limit})",
                revision.revision
            ),
        ));
    }
    status.registered_revisions = keep;
    outcome.status = status;
    Ok(outcome)
}

/// Which recorded revisions stay (the current one always, then the newest up to `limit` in all)
/// and which are deregistered.
pub fn split_history(
    revisions: &[RegisteredRevision],
    current_arn: &str,
    limit: usize,
) -> (Vec<RegisteredRevision>, Vec<RegisteredRevision>) {
    let mut ordered: Vec<RegisteredRevision> = revisions.to_vec();
    ordered.sort_by(|a, b| {
        (b.arn == current_arn)
            .cmp(&(a.arn == current_arn))
            .then(b.revision.cmp(&a.revision))
    });
    let expired = ordered.split_off(limit.min(ordered.len()));
    ordered.sort_by_key(|r| std::cmp::Reverse(r.revision));
    (ordered, expired)
}

async fn register(
    object: &EcsTaskDefinition,
    ctx: &Context,
    request: &crate::api::task_definition::TaskDefinitionBody,
    hash: &str,
) -> Result<TaskDefinitionRevision, ReconcileError> {
    let owner = tags::ownership(
        &object.uid().unwrap_or_default(),
        &object.namespace().unwrap_or_default(),
        &object.name_any(),
        Some(hash),
    );
    let input = sdk::register_task_definition(request, &owner)?;
    Ok(ctx.aws.ecs.register_task_definition(input).await?)
}

async fn deregister(ctx: &Context, arn: &str) -> Result<(), ReconcileError> {
    match ctx.aws.ecs.deregister_task_definition(arn).await {
        Ok(_) => Ok(()),
        // Already gone: what we wanted.
        Err(e) if e.kind == crate::aws::AwsErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Revisions of `family` newer than every recorded one that carry this object's UID (and, when
/// given, the content hash), newest first.
async fn find_unrecorded(
    object: &EcsTaskDefinition,
    ctx: &Context,
    family: &str,
    status: &EcsTaskDefinitionStatus,
    hash: Option<&str>,
) -> Result<Vec<TaskDefinitionRevision>, ReconcileError> {
    let uid = object.uid().unwrap_or_default();
    let known_max = status
        .registered_revisions
        .iter()
        .map(|r| r.revision)
        .max()
        .unwrap_or(0);
    let mut arns = ctx
        .aws
        .ecs
        .list_task_definitions(family, RevisionStatus::Active)
        .await?;
    arns.reverse();
    let mut found = Vec::new();
    for arn in arns
        .into_iter()
        .filter(|arn| revision_of_arn(arn) > known_max)
        .take(ADOPTION_SCAN_LIMIT)
    {
        if let Some((revision, revision_tags)) = ctx.aws.ecs.describe_task_definition(&arn).await? {
            let hash_matches =
                hash.is_none_or(|h| tags::value(&revision_tags, tags::CONTENT_HASH) == Some(h));
            if tags::is_owned_by(&revision_tags, &uid) && hash_matches {
                found.push(revision);
            }
        }
    }
    Ok(found)
}

fn revision_of_arn(arn: &str) -> i32 {
    arn.rsplit(':')
        .next()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

async fn cleanup(object: &EcsTaskDefinition, ctx: &Context) -> Result<Action, ReconcileError> {
    if object.spec.deletion_policy == DeletionPolicy::Retain {
        publish(
            ctx,
            object,
            EventType::Normal,
            "Retained",
            "deletionPolicy is Retain: revisions stay registered".into(),
        )
        .await;
        return Ok(Action::await_change());
    }
    let status = object.status.clone().unwrap_or_default();
    let family = status
        .family
        .clone()
        .unwrap_or_else(|| task_definition::family(&object.name_any(), &object.spec).to_owned());
    let mut arns: Vec<String> = status
        .registered_revisions
        .iter()
        .map(|r| r.arn.clone())
        .collect();
    arns.extend(
        find_unrecorded(object, ctx, &family, &status, None)
            .await?
            .into_iter()
            .map(|r| r.arn),
    );
    for arn in &arns {
        deregister(ctx, arn).await?;
    }
    publish(
        ctx,
        object,
        EventType::Normal,
        "Deregistered",
        format!("deregistered {} revision(s) of family {family}", arns.len()),
    )
    .await;
    Ok(Action::await_change())
}

/// Writes status with the conditions for `health`; returns whether anything changed (and so
/// whether an Event is news).
async fn write_health(
    api: &Api<EcsTaskDefinition>,
    object: &EcsTaskDefinition,
    mut status: EcsTaskDefinitionStatus,
    health: &Health,
) -> Result<bool, ReconcileError> {
    let generation = object.metadata.generation;
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let changed_conditions =
        conditions::apply(&mut status.reconcile.conditions, health, generation, &now);
    let changed_generation = status.reconcile.observed_generation != generation;
    status.reconcile.observed_generation = generation;
    let changed_fields = object.status.as_ref() != Some(&status);
    if changed_conditions || changed_generation || changed_fields {
        patch_status(api, &object.name_any(), &status).await?;
        Ok(changed_conditions || changed_generation)
    } else {
        Ok(false)
    }
}

async fn patch_status(
    api: &Api<EcsTaskDefinition>,
    name: &str,
    status: &EcsTaskDefinitionStatus,
) -> Result<(), ReconcileError> {
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await?;
    Ok(())
}

async fn publish(
    ctx: &Context,
    object: &EcsTaskDefinition,
    type_: EventType,
    reason: &str,
    note: String,
) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: reason.to_owned(),
        secondary: None,
    };
    if let Err(error) = ctx.recorder.publish(&event, &object.object_ref(&())).await {
        tracing::warn!(%error, "could not publish an Event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(n: i32) -> RegisteredRevision {
        RegisteredRevision {
            arn: format!("arn:aws:ecs:us-east-1:1:task-definition/f:{n}"),
            revision: n,
            content_hash: format!("h{n}"),
        }
    }

    #[test]
    fn history_keeps_the_newest_and_always_the_current() {
        let all = vec![
            revision(5),
            revision(4),
            revision(3),
            revision(2),
            revision(1),
        ];
        let (keep, expired) = split_history(&all, &revision(5).arn, 3);
        assert_eq!(
            keep.iter().map(|r| r.revision).collect::<Vec<_>>(),
            [5, 4, 3]
        );
        assert_eq!(
            expired.iter().map(|r| r.revision).collect::<Vec<_>>(),
            [2, 1]
        );
        // The current revision survives even when it is not the newest (an adopted older one).
        let (keep, expired) = split_history(&all, &revision(1).arn, 2);
        assert_eq!(keep.iter().map(|r| r.revision).collect::<Vec<_>>(), [5, 1]);
        assert_eq!(
            expired.iter().map(|r| r.revision).collect::<Vec<_>>(),
            [4, 3, 2]
        );
        let (keep, expired) = split_history(&all[..2], &revision(5).arn, 5);
        assert_eq!((keep.len(), expired.len()), (2, 0));
    }

    #[test]
    fn revision_numbers_from_arns() {
        assert_eq!(
            revision_of_arn("arn:aws:ecs:us-east-1:1:task-definition/web:12"),
            12
        );
        assert_eq!(revision_of_arn("garbage"), 0);
    }
}
