//! EcsTaskDefinition controller: one new revision per change of content, tags changed in place,
//! adoption of revisions a crash left unrecorded, drift repair, history, deletion policy.
//! Observe (AWS reads) -> [`plan`] (pure) -> apply (AWS writes), as the stages of
//! [`Kind`]; the runner does the rest.

pub mod plan;

use std::collections::BTreeMap;

use kube::ResourceExt;

use self::plan::{Answer, CurrentState, Desired, Observed, OwnedRevision, RevisionUser, Step};
use super::Context;
use super::error::ReconcileError;
use super::pipeline::{Call, CleanupPlan, Kind, KindPlan, Note, Progress, Timing};
use super::runner::Managed;
use crate::api::common::{ADOPT_REVISION_ANNOTATION, Tag};
use crate::api::task_definition::EcsTaskDefinitionStatus;
use crate::api::{DeletionPolicy, EcsService, EcsTaskDefinition, ReconcileStatus};
use crate::aws::gone_is_done;
use crate::aws::snapshot::Lookup;
use crate::aws::types::RevisionStatus;
use crate::translate::{described, short_hash, tags, task_definition};

/// Finalizer that keeps an object until its revisions are dealt with.
pub const FINALIZER: &str = "ecs.operator.dev/task-definition";

/// How many of the newest unrecorded revisions of a family are read (one DescribeTaskDefinition
/// each) when looking for ones this object registered but never recorded.
pub const ADOPTION_SCAN_LIMIT: usize = 20;

impl Managed for EcsTaskDefinition {
    type Status = EcsTaskDefinitionStatus;
    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn reconcile_status(status: &mut Self::Status) -> &mut ReconcileStatus {
        &mut status.reconcile
    }
}

/// The EcsTaskDefinition controller.
#[derive(Clone, Copy, Debug, Default)]
pub struct TaskDefinitions;

impl Kind for TaskDefinitions {
    type Object = EcsTaskDefinition;
    type Lookups = ();
    type Desired = (Desired, Vec<crate::api::common::Tag>);
    type Observed = Observed;
    /// `None` when retained; else the unrecorded revisions of ours and the live services' uses.
    type CleanupObserved = Option<(Vec<OwnedRevision>, Vec<RevisionUser>)>;
    type Step = Step;
    type Answer = Answer;
    const KIND: &'static str = "task_definition";
    const FINALIZER: &'static str = FINALIZER;

    fn validate(object: &EcsTaskDefinition) -> Result<(), ReconcileError> {
        task_definition::validate(&object.name_any(), &object.spec).into_result()?;
        Ok(())
    }

    async fn lookups(
        &self,
        _object: &EcsTaskDefinition,
        _ctx: &Context,
        _status: &EcsTaskDefinitionStatus,
    ) -> Result<(), ReconcileError> {
        Ok(())
    }

    fn desired(object: &EcsTaskDefinition, _lookups: ()) -> Result<Self::Desired, ReconcileError> {
        let desired = desired(object)?;
        let owner = tags::ownership(
            &object.uid().unwrap_or_default(),
            &object.namespace().unwrap_or_default(),
            &object.name_any(),
            Some(&desired.hash),
        );
        Ok((desired, owner))
    }

    async fn observe(
        &self,
        object: &EcsTaskDefinition,
        ctx: &Context,
        (desired, owner): &Self::Desired,
        status: &EcsTaskDefinitionStatus,
    ) -> Result<Observed, ReconcileError> {
        observe(object, ctx, desired, owner, status).await
    }

    fn plan(
        (desired, owner): &Self::Desired,
        observed: &Observed,
        status: &EcsTaskDefinitionStatus,
        _timing: Timing,
    ) -> KindPlan<Self> {
        plan::pipeline_plan(
            desired,
            owner,
            plan::plan(desired, owner, observed, status),
            status,
        )
    }

    async fn apply(&self, ctx: &Context, step: &Step) -> Result<Answer, ReconcileError> {
        let ecs = &ctx.aws.ecs;
        match step {
            Step::Register {
                request,
                owner_tags,
                ..
            } => {
                let registered = ecs.register_task_definition(request, owner_tags).await?;
                Ok(Answer::Registered {
                    arn: registered.arn,
                    revision: registered.revision,
                })
            }
            Step::Retag { arn, change, .. } => {
                ecs.retag(arn, change).await?;
                Ok(Answer::Done)
            }
            Step::Deregister { arn, .. } => {
                // One already deregistered (or unknown) is done, not a failure.
                gone_is_done(ecs.deregister_task_definition(arn).await)?;
                Ok(Answer::Done)
            }
        }
    }

    fn calls(step: &Step) -> Vec<Call> {
        match step {
            Step::Register {
                request,
                owner_tags,
                family,
                ..
            } => {
                let mut input = serde_json::to_value(request.as_ref()).unwrap_or_default();
                let mut tags = request.tags.clone().unwrap_or_default();
                tags.retain(|t| !owner_tags.iter().any(|o| o.key == t.key));
                tags.extend(owner_tags.iter().cloned());
                if let Some(members) = input.as_object_mut() {
                    members.insert("tags".into(), serde_json::json!(tags));
                }
                vec![Call::new("ecs:RegisterTaskDefinition", family, input)]
            }
            Step::Retag { arn, change, .. } => Call::tag_change(arn, change),
            Step::Deregister { arn, .. } => vec![Call::bare("ecs:DeregisterTaskDefinition", arn)],
        }
    }

    fn commit(
        step: Step,
        answer: Answer,
        status: &mut EcsTaskDefinitionStatus,
        notes: &mut Vec<Note>,
    ) {
        plan::commit(step, answer, status, notes);
    }

    fn finish(outcome: Progress, status: &EcsTaskDefinitionStatus, _timing: Timing) -> Progress {
        match outcome {
            Progress::Ready { reason, .. } => Progress::Ready {
                reason,
                message: format!(
                    "revision {} of family {} is registered",
                    status.revision.unwrap_or_default(),
                    status.family.as_deref().unwrap_or_default()
                ),
            },
            other => other,
        }
    }

    async fn observe_cleanup(
        &self,
        object: &EcsTaskDefinition,
        ctx: &Context,
        status: &EcsTaskDefinitionStatus,
    ) -> Result<Self::CleanupObserved, ReconcileError> {
        let namespace = object.namespace().unwrap_or_default();
        if ctx
            .deletion_policy(object.spec.deletion_policy, &namespace)
            .await?
            == DeletionPolicy::Retain
        {
            return Ok(None);
        }
        let family = cleanup_family(object, status);
        let unrecorded = scan_unrecorded(object, ctx, &family, status).await?;
        Ok(Some((unrecorded, revision_users(object, ctx).await?)))
    }

    fn plan_cleanup(
        object: &EcsTaskDefinition,
        observed: &Self::CleanupObserved,
        status: &EcsTaskDefinitionStatus,
        timing: Timing,
    ) -> CleanupPlan<Self> {
        let (unrecorded, in_use) = observed
            .as_ref()
            .map_or((&[][..], &[][..]), |(u, i)| (u.as_slice(), i.as_slice()));
        plan::cleanup_plan(
            observed.is_none(),
            &cleanup_family(object, status),
            unrecorded,
            in_use,
            status,
            timing,
        )
    }
}

/// The task definitions the live EcsServices of the object's namespace run or roll to, as their
/// status records them (one list of the namespace's services, only when deleting).
async fn revision_users(
    object: &EcsTaskDefinition,
    ctx: &Context,
) -> Result<Vec<RevisionUser>, ReconcileError> {
    let namespace = object.namespace().unwrap_or_default();
    let api: kube::Api<EcsService> = kube::Api::namespaced(ctx.client.clone(), &namespace);
    let services = api.list(&kube::api::ListParams::default()).await?;
    Ok(services
        .items
        .iter()
        .filter(|service| service.metadata.deletion_timestamp.is_none())
        .flat_map(|service| {
            let name = format!("{namespace}/{}", service.name_any());
            let status = service.status.as_ref();
            [
                status.and_then(|s| s.task_definition_arn.clone()),
                status.and_then(|s| s.desired_task_definition_arn.clone()),
            ]
            .into_iter()
            .flatten()
            .map(move |reference| RevisionUser {
                service: name.clone(),
                reference,
            })
        })
        .collect())
}

/// The family a deletion deregisters revisions of: the recorded one, else the spec's.
fn cleanup_family(object: &EcsTaskDefinition, status: &EcsTaskDefinitionStatus) -> String {
    status
        .family
        .clone()
        .unwrap_or_else(|| task_definition::family(&object.name_any(), &object.spec).to_owned())
}

/// What the spec asks for; an invalid spec fails here, before any AWS call.
fn desired(object: &EcsTaskDefinition) -> Result<Desired, ReconcileError> {
    let request = task_definition::assemble_request(&object.name_any(), &object.spec);
    let tags = request.tags.clone().unwrap_or_default();
    let sorted: BTreeMap<&str, Option<&str>> = tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_deref()))
        .collect();
    let tags_hash = short_hash(&serde_json::to_vec(&sorted).unwrap_or_default(), 8);
    Ok(Desired {
        hash: task_definition::content_hash(&request),
        family: request.family.clone().unwrap_or_else(|| object.name_any()),
        tags,
        tags_hash,
        history_limit: usize::try_from(object.spec.revision_history_limit.max(1)).unwrap_or(1),
        request,
    })
}

/// Reads what the plan needs and nothing more: the recorded current revision when it should hold
/// the desired content (its tags only when they may need changing), and the unrecorded revisions
/// of ours when something must be registered (so a crash never makes us register twice).
async fn observe(
    object: &EcsTaskDefinition,
    ctx: &Context,
    desired: &Desired,
    owner_tags: &[Tag],
    status: &EcsTaskDefinitionStatus,
) -> Result<Observed, ReconcileError> {
    let mut observed = Observed::default();
    if plan::recorded_matches(desired, status)
        && let Some(arn) = &status.task_definition_arn
    {
        let tags_stale = plan::tags_stale(desired, status);
        // A settled revision is checked against the account's shared listing of ACTIVE
        // revisions; only a revision missing from it (or tags to compare) costs a describe.
        let listed = if tags_stale {
            Lookup::Unknown
        } else {
            ctx.aws
                .ecs
                .revision_listed(arn, ctx.listing_window())
                .await?
        };
        observed.current = Some(match listed {
            Lookup::Found(()) => CurrentState::Active { tags: None },
            Lookup::Absent | Lookup::Unknown => {
                match ctx.aws.ecs.describe_task_definition(arn).await? {
                    Some((revision, found)) if revision.status == RevisionStatus::Active => {
                        CurrentState::Active {
                            tags: tags_stale.then_some(found),
                        }
                    }
                    _ => CurrentState::Gone,
                }
            }
        });
    }
    if !matches!(observed.current, Some(CurrentState::Active { .. })) {
        let adoption = crate::controller::adoption_of(object);
        let adopting = adoption.is_on() && status.task_definition_arn.is_none();
        observed.unrecorded = if adopting {
            let named = object
                .annotations()
                .get(ADOPT_REVISION_ANNOTATION)
                .and_then(|r| r.trim().parse::<i32>().ok());
            scan_adoptable(object, ctx, desired, owner_tags, named, &adoption).await?
        } else if crate::controller::pipeline::first_pass()
            && status.task_definition_arn.is_none()
            && status.registered_revisions.is_empty()
        {
            // Nothing of this object's can be in AWS yet: no revision to find.
            Vec::new()
        } else {
            scan_unrecorded(object, ctx, &desired.family, status).await?
        };
    }
    Ok(observed)
}

/// For an object with the adopt annotation that records no revision yet: the newest ACTIVE
/// revisions of its family (at most [`ADOPTION_SCAN_LIMIT`]; only revision `named` when the
/// adopt-revision annotation names one) that carry its UID, or that carry no live owner (none,
/// or an object that no longer exists) and hold exactly the desired content (registered by hand or by another tool), newest first. Each
/// is read once, as ECS wrote it. Revisions of its own come back alone when there are any;
/// otherwise at most one unowned revision (the newest holding the content), so the plan never
/// tracks (and later deregisters) unowned revisions it did not adopt.
async fn scan_adoptable(
    object: &EcsTaskDefinition,
    ctx: &Context,
    desired: &Desired,
    owner_tags: &[Tag],
    named: Option<i32>,
    adoption: &tags::Adoption,
) -> Result<Vec<OwnedRevision>, ReconcileError> {
    let uid = object.uid().unwrap_or_default();
    let arns = match named {
        Some(revision) => vec![format!("{}:{revision}", desired.family)],
        None => {
            ctx.aws
                .ecs
                .active_revisions_above(&desired.family, 0, ADOPTION_SCAN_LIMIT)
                .await?
        }
    };
    let mut found = Vec::new();
    let mut unowned: Option<OwnedRevision> = None;
    for arn in arns {
        let Some(raw) = ctx.aws.ecs.describe_task_definition_raw(&arn).await? else {
            continue;
        };
        let described = &raw["taskDefinition"];
        if described["status"] != "ACTIVE" {
            continue;
        }
        let revision_tags: Vec<Tag> =
            serde_json::from_value(raw["tags"].clone()).unwrap_or_default();
        let owned = tags::is_owned_by(&revision_tags, &uid);
        let same_and_free = !owned
            && unowned.is_none()
            && adoption.allows(tags::value(&revision_tags, tags::OWNER))
            && described::task_definition_body(described)
                .is_ok_and(|body| described::same_task_definition(&desired.request, &body))
            // Free: no owner, or an owner that is gone (deleted with deletionPolicy: Retain,
            // or its cluster rebuilt) and so cannot manage it too.
            && (tags::value(&revision_tags, tags::OWNER_UID).is_none()
                || ctx
                    .claimed_by_other::<EcsTaskDefinition>(&revision_tags, &uid)
                    .await?
                    .is_none());
        if !owned && !same_and_free {
            continue;
        }
        let revision = OwnedRevision {
            arn: described["taskDefinitionArn"]
                .as_str()
                .unwrap_or(&arn)
                .to_owned(),
            revision: described["revision"]
                .as_i64()
                .and_then(|r| i32::try_from(r).ok())
                .unwrap_or_else(|| task_definition::revision_of_arn(&arn)),
            content_hash: if owned {
                tags::value(&revision_tags, tags::CONTENT_HASH).map(str::to_owned)
            } else {
                Some(desired.hash.clone())
            },
            missing_owner_tags: if owned {
                Vec::new()
            } else {
                owner_tags.to_vec()
            },
            tags: revision_tags,
        };
        if owned {
            found.push(revision);
        } else {
            unowned = Some(revision);
        }
    }
    if found.is_empty() {
        found.extend(unowned);
    }
    Ok(found)
}

/// Revisions of `family` newer than every recorded one that carry this object's UID, newest first
/// (at most the [`ADOPTION_SCAN_LIMIT`] newest are read).
async fn scan_unrecorded(
    object: &EcsTaskDefinition,
    ctx: &Context,
    family: &str,
    status: &EcsTaskDefinitionStatus,
) -> Result<Vec<OwnedRevision>, ReconcileError> {
    let uid = object.uid().unwrap_or_default();
    let known_max = status
        .registered_revisions
        .iter()
        .map(|r| r.revision)
        .chain(status.revision)
        .max()
        .unwrap_or(0);
    let arns = ctx
        .aws
        .ecs
        .active_revisions_above(family, known_max, ADOPTION_SCAN_LIMIT)
        .await?;
    let mut found = Vec::new();
    for arn in arns {
        if let Some((revision, revision_tags)) = ctx.aws.ecs.describe_task_definition(&arn).await?
            && tags::is_owned_by(&revision_tags, &uid)
            && revision.status == RevisionStatus::Active
        {
            found.push(OwnedRevision {
                arn: revision.arn,
                revision: revision.revision,
                content_hash: tags::value(&revision_tags, tags::CONTENT_HASH).map(str::to_owned),
                tags: revision_tags,
                missing_owner_tags: Vec::new(),
            });
        }
    }
    Ok(found)
}
