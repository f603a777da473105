//! EcsService controller: creates the ECS service (idempotently), follows its task definition,
//! updates exactly what the spec changed, leaves the desired count to an autoscaler when one
//! exists, reports the rollout, publishes ECS service events, and deletes or retains the service.
//! Observe (Kubernetes stores, DescribeServices) -> [`plan`] (pure) -> apply; the runner does the
//! rest.

pub mod plan;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use futures::stream::BoxStream;
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::utils::{PredicateConfig, WatchStreamExt};
use kube::runtime::watcher::{self, watcher};
use kube::{Resource, ResourceExt};
use sha2::{Digest, Sha256};

use self::plan::{Desired, Health, Observed, Step, TaskDefinitionTarget};
use super::Context;
use super::error::ReconcileError;
use super::runner::{self, Cleanup, Managed, Pass, Progress, Reconciler};
use crate::api::service::{DeploymentStrategy, EcsServiceStatus};
use crate::api::{
    DeletionPolicy, EcsScalingPolicy, EcsService, EcsTaskDefinition, ReconcileStatus,
};
use crate::aws::AwsErrorKind;
use crate::translate::{scaling, service, tags};

/// Finalizer that keeps an object until its ECS service is dealt with.
pub const FINALIZER: &str = "ecs.operator.dev/service";

impl Managed for EcsService {
    type Status = EcsServiceStatus;
    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn reconcile_status(status: &mut Self::Status) -> &mut ReconcileStatus {
        &mut status.reconcile
    }
}

type Streams = (
    BoxStream<'static, Result<EcsTaskDefinition, watcher::Error>>,
    BoxStream<'static, Result<EcsScalingPolicy, watcher::Error>>,
);

/// The EcsService controller, with the caches of the kinds it depends on.
pub struct Services {
    task_definitions: Store<EcsTaskDefinition>,
    policies: Store<EcsScalingPolicy>,
    streams: Mutex<Option<Streams>>,
}

impl Services {
    /// The controller, watching EcsTaskDefinitions (a new revision rolls the services that
    /// reference it at once) and EcsScalingPolicies (which own the desired count).
    pub fn new(ctx: &Context) -> Self {
        let (task_definitions, td_writer) = reflector::store();
        let (policies, policy_writer) = reflector::store();
        let td_api: Api<EcsTaskDefinition> = scoped(ctx);
        let policy_api: Api<EcsScalingPolicy> = scoped(ctx);
        // A task definition matters when its current revision or readiness changes.
        let td_stream = watcher(td_api, watcher::Config::default())
            .default_backoff()
            .reflect(td_writer)
            .applied_objects()
            .predicate_filter(revision_key, PredicateConfig::default())
            .boxed();
        // Policies: every change, deletions included (they hand the desired count back).
        let policy_stream = watcher(policy_api, watcher::Config::default())
            .default_backoff()
            .reflect(policy_writer)
            .touched_objects()
            .boxed();
        runner::track_sync(ctx, &task_definitions);
        runner::track_sync(ctx, &policies);
        Self {
            task_definitions,
            policies,
            streams: Mutex::new(Some((td_stream, policy_stream))),
        }
    }
}

fn scoped<K>(ctx: &Context) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    match &ctx.config.namespace {
        Some(namespace) => Api::namespaced(ctx.client.clone(), namespace),
        None => Api::all(ctx.client.clone()),
    }
}

/// What identifies a task definition change that matters to services: its current ARN and
/// whether it is Ready at its generation.
fn revision_key(td: &EcsTaskDefinition) -> Option<u64> {
    let mut hasher = Sha256::new();
    let status = td.status.as_ref();
    hasher.update(
        status
            .and_then(|s| s.task_definition_arn.as_deref())
            .unwrap_or_default(),
    );
    hasher.update([u8::from(task_definition_ready(td).is_some())]);
    let digest = hasher.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    Some(u64::from_le_bytes(bytes))
}

/// The ARN of a task definition that is Ready at its current generation.
fn task_definition_ready(td: &EcsTaskDefinition) -> Option<&str> {
    let status = td.status.as_ref()?;
    let ready = status
        .reconcile
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    (ready && status.reconcile.observed_generation == td.metadata.generation)
        .then_some(status.task_definition_arn.as_deref())
        .flatten()
}

impl Reconciler for Services {
    type Object = EcsService;
    const KIND: &'static str = "service";
    const FINALIZER: &'static str = FINALIZER;

    fn watches(
        &self,
        controller: Controller<EcsService>,
        _ctx: &Arc<Context>,
    ) -> Controller<EcsService> {
        let Some((td_stream, policy_stream)) = self.streams.lock().ok().and_then(|mut s| s.take())
        else {
            return controller;
        };
        let services = controller.store();
        let by_reference = services.clone();
        controller
            .watches_stream(td_stream, move |td| {
                let namespace = td.namespace();
                let name = td.name_any();
                by_reference
                    .state()
                    .into_iter()
                    .filter(|s| {
                        s.namespace() == namespace
                            && s.spec
                                .task_definition_ref
                                .as_ref()
                                .is_some_and(|r| r.name == name)
                    })
                    .map(|s| ObjectRef::from_obj(s.as_ref()))
                    .collect::<Vec<_>>()
            })
            .watches_stream(policy_stream, move |policy| {
                services
                    .state()
                    .into_iter()
                    .filter(|s| scales(&policy, s))
                    .map(|s| ObjectRef::from_obj(s.as_ref()))
                    .collect::<Vec<_>>()
            })
    }

    async fn reconcile(
        &self,
        object: &EcsService,
        ctx: &Context,
        pass: &mut Pass<EcsServiceStatus>,
    ) -> Result<Progress, ReconcileError> {
        // Decisions read both caches (is the desired count the autoscaler's? which revision?).
        runner::synced(&self.task_definitions).await;
        runner::synced(&self.policies).await;
        let desired = self.desired(object, ctx, &pass.status).await?;
        let observed = observe(object, ctx, &desired, &pass.status).await?;
        let plan = plan::plan(&desired, &observed, &pass.status);
        pass.status = plan.status.clone();
        apply(ctx, &desired, plan, pass).await
    }

    async fn cleanup(
        &self,
        object: &EcsService,
        ctx: &Context,
        pass: &mut Pass<EcsServiceStatus>,
    ) -> Result<Cleanup, ReconcileError> {
        let cluster = object.spec.cluster.clone();
        let name = service::service_name(&object.name_any(), &object.spec).to_owned();
        if object.spec.deletion_policy == DeletionPolicy::Retain {
            ctx.aws.ecs.unfollow_service(&cluster, &name);
            pass.normal(
                "Retained",
                format!("deletionPolicy is Retain: the ECS service {name} keeps running"),
            );
            return Ok(Cleanup::Done);
        }
        let found = match ctx.aws.ecs.describe_service(&cluster, &name).await {
            Ok(found) => found,
            // The cluster is gone: so is the service.
            Err(e) if e.kind == AwsErrorKind::MissingDependency => None,
            Err(e) => return Err(e.into()),
        };
        let waiting = |message: String| Cleanup::Waiting {
            reason: "Deleting".into(),
            message,
            requeue: ctx.config.poll,
        };
        match found {
            None => {}
            Some(service) if service.status == "INACTIVE" => {}
            Some(service) if service.status == "DRAINING" => {
                return Ok(waiting(format!(
                    "ECS service {name} is DRAINING; waiting until it is INACTIVE"
                )));
            }
            Some(service) => {
                let uid = object.uid().unwrap_or_default();
                let ours = pass.status.service_arn.as_deref() == Some(service.arn.as_str())
                    || tags::is_owned_by(&service.tags, &uid);
                if !ours {
                    pass.normal(
                        "NotOwned",
                        format!(
                            "the ECS service {} was not created by this object; left alone",
                            service.arn
                        ),
                    );
                } else {
                    // "If true, allows you to delete a service even if it wasn't scaled down to
                    // zero tasks."
                    match ctx.aws.ecs.delete_service(&cluster, &name, true).await {
                        Ok(_) => {
                            pass.normal(
                                "Deleting",
                                format!("deleted ECS service {name}; it drains"),
                            );
                            return Ok(waiting(format!(
                                "ECS service {name} is deleting; waiting until it is INACTIVE"
                            )));
                        }
                        Err(e) if e.kind == AwsErrorKind::NotFound => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        ctx.aws.ecs.unfollow_service(&cluster, &name);
        pass.normal("Deleted", format!("ECS service {name} is gone"));
        Ok(Cleanup::Done)
    }
}

/// Whether `policy` scales `service` (by reference, or by the resource id it names).
fn scales(policy: &EcsScalingPolicy, service: &EcsService) -> bool {
    if policy.namespace() != service.namespace() {
        return false;
    }
    match (&policy.spec.service_ref, &policy.spec.resource_id) {
        (Some(reference), _) => reference.name == service.name_any(),
        (None, Some(id)) => {
            *id == scaling::resource_id(
                &service.spec.cluster,
                service::service_name(&service.name_any(), &service.spec),
            )
        }
        (None, None) => false,
    }
}

impl Services {
    /// What the spec asks for, its task definition resolved; waits for a referenced
    /// EcsTaskDefinition that is not Ready.
    async fn desired(
        &self,
        object: &EcsService,
        ctx: &Context,
        status: &EcsServiceStatus,
    ) -> Result<Desired, ReconcileError> {
        let name = object.name_any();
        let namespace = object.namespace().unwrap_or_default();
        let spec = &object.spec;
        service::validate(&name, spec).into_result()?;
        let target = match (&spec.task_definition_ref, &spec.task_definition) {
            (Some(reference), _) => {
                let key = ObjectRef::new(&reference.name).within(&namespace);
                let Some(td) = self.task_definitions.get(&key) else {
                    return Err(ReconcileError::waiting(
                        "TaskDefinitionNotFound",
                        format!(
                            "waiting for EcsTaskDefinition {} (spec.taskDefinitionRef) in namespace {namespace}: it does not exist",
                            reference.name
                        ),
                    ));
                };
                match task_definition_ready(&td) {
                    Some(arn) => TaskDefinitionTarget::Arn(arn.to_owned()),
                    None => {
                        let why = td
                            .status
                            .as_ref()
                            .and_then(|s| {
                                s.reconcile.conditions.iter().find(|c| c.type_ == "Ready")
                            })
                            .map(|c| c.message.clone())
                            .filter(|m| !m.is_empty())
                            .unwrap_or_else(|| "no revision registered yet".into());
                        return Err(ReconcileError::waiting(
                            "TaskDefinitionNotReady",
                            format!(
                                "waiting for EcsTaskDefinition {} (spec.taskDefinitionRef) to be Ready: {why}",
                                reference.name
                            ),
                        ));
                    }
                }
            }
            (None, Some(literal)) => literal_target(ctx, object, literal, status).await?,
            (None, None) => {
                return Err(ReconcileError::Invalid(
                    crate::translate::TranslateError::Unresolved {
                        path: "spec.taskDefinitionRef".into(),
                        message: "set taskDefinitionRef or taskDefinition".into(),
                    },
                ));
            }
        };
        let policy = self
            .policies
            .state()
            .into_iter()
            .find(|p| p.metadata.deletion_timestamp.is_none() && scales(p, object));
        let autoscaled = policy.is_some();
        let uid = object.uid().unwrap_or_default();
        let owner_tags = tags::ownership(&uid, &namespace, &name, None);
        let create_count = policy
            .as_ref()
            .map_or(service::DEFAULT_DESIRED_COUNT_AT_CREATE, |p| {
                p.spec.min_capacity
            });
        let create = service::create_request(
            &name,
            spec,
            Some(&target.reference()),
            create_count,
            &owner_tags,
        )?;
        let generation = object.metadata.generation.unwrap_or_default();
        Ok(Desired {
            create,
            target,
            user_tags: spec.settings.tags.clone().unwrap_or_default(),
            owner_tags,
            spec_desired_count: spec.desired_count,
            autoscaled,
            force_token: spec.force_new_deployment.clone(),
            recreate: spec.recreate_on_immutable_change.unwrap_or(false),
            progress_deadline: Duration::from_secs(
                u64::try_from(spec.progress_deadline_seconds.unwrap_or(600).max(1)).unwrap_or(600),
            ),
            client_token: client_token(&uid, generation),
            uid,
            adopt: object
                .annotations()
                .get(plan::ADOPT_ANNOTATION)
                .is_some_and(|v| v == "true"),
        })
    }
}

/// A literal task definition: an ARN as it is, `family:revision` as it is, a bare family resolved
/// to its latest ACTIVE revision once per spec change ("If a revision is not specified, the latest
/// ACTIVE revision is used").
async fn literal_target(
    ctx: &Context,
    object: &EcsService,
    literal: &str,
    status: &EcsServiceStatus,
) -> Result<TaskDefinitionTarget, ReconcileError> {
    if literal.starts_with("arn:") {
        return Ok(TaskDefinitionTarget::Arn(literal.to_owned()));
    }
    if let Some((family, revision)) = literal.split_once(':')
        && let Ok(revision) = revision.parse::<i32>()
    {
        return Ok(TaskDefinitionTarget::FamilyRevision {
            family: family.to_owned(),
            revision,
        });
    }
    let unchanged = status.reconcile.observed_generation == object.metadata.generation;
    if unchanged
        && let Some(arn) = &status.desired_task_definition_arn
        && crate::aws::ecs::family_of_arn(arn) == Some(literal)
    {
        return Ok(TaskDefinitionTarget::Arn(arn.clone()));
    }
    match ctx.aws.ecs.latest_active_revision(literal).await? {
        Some(arn) => Ok(TaskDefinitionTarget::Arn(arn)),
        None => Err(ReconcileError::blocked(
            "TaskDefinitionNotFound",
            format!(
                "spec.taskDefinition: the family {literal} has no ACTIVE revision; register one or name another"
            ),
        )),
    }
}

/// The CreateService idempotency token of an object's generation (36 characters at most).
pub fn client_token(uid: &str, generation: i64) -> String {
    let digest = Sha256::digest(format!("{uid}:{generation}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the ECS service: fresh while anything is in motion, from the read-ahead cache when the
/// service is settled and the spec unchanged (so settled services cost a tenth of a
/// DescribeServices call per resync).
async fn observe(
    object: &EcsService,
    ctx: &Context,
    desired: &Desired,
    status: &EcsServiceStatus,
) -> Result<Observed, ReconcileError> {
    let cluster = &desired.create.cluster;
    let name = &desired.create.service_name;
    ctx.aws.ecs.follow_service(cluster, name);
    let unchanged = status.reconcile.observed_generation == object.metadata.generation;
    let service = if unchanged && plan::settled(status) {
        ctx.aws
            .ecs
            .describe_service_cached(cluster, name, ctx.config.resync / 2)
            .await?
    } else {
        ctx.aws.ecs.describe_service(cluster, name).await?
    };
    let strategy = desired
        .create
        .settings
        .deployment_configuration
        .as_ref()
        .and_then(|c| c.strategy)
        .unwrap_or(DeploymentStrategy::Rolling);
    // The lifecycle of a BLUE_GREEN/LINEAR/CANARY deployment (bake time included) is read once
    // its tasks run, until it is seen finished for this deployment.
    let primary = service
        .as_ref()
        .and_then(|s| s.deployments.first())
        .map(|d| d.id.clone());
    let ready = status
        .reconcile
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let lifecycle_done = ready && primary.is_some() && primary == status.primary_deployment_id;
    let service_deployment = match &service {
        Some(s)
            if strategy != DeploymentStrategy::Rolling
                && !lifecycle_done
                && s.deployments.len() == 1
                && s.running_count == s.desired_count =>
        {
            ctx.aws.ecs.latest_service_deployment(cluster, name).await?
        }
        _ => None,
    };
    Ok(Observed {
        service,
        service_deployment,
        lifecycle_done,
        now: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    })
}

/// Carries out the plan's step and tag changes, publishes its Events, and says where the
/// service stands.
async fn apply(
    ctx: &Context,
    desired: &Desired,
    plan: plan::Plan,
    pass: &mut Pass<EcsServiceStatus>,
) -> Result<Progress, ReconcileError> {
    for note in &plan.notes {
        if note.warning {
            pass.warning(note.reason, note.message.clone());
        } else {
            pass.normal(note.reason, note.message.clone());
        }
    }
    let poll = ctx.config.poll;
    let cluster = &desired.create.cluster;
    let name = &desired.create.service_name;
    match &plan.step {
        Step::RecordToken(_) => {
            // The token is in the status this pass writes; the create follows at once.
            return Ok(Progress::Progressing {
                reason: "Creating".into(),
                message: format!("creating ECS service {name} in cluster {cluster}"),
                requeue: Duration::from_millis(100),
            });
        }
        Step::Create(request) => {
            let created = ctx.aws.ecs.create_service(request).await?;
            pass.normal(
                "Created",
                format!(
                    "created ECS service {} with {}",
                    created.arn,
                    plan::short(&request.task_definition)
                ),
            );
            pass.status.service_arn = Some(created.arn);
            pass.status.cluster_arn = Some(created.cluster_arn);
        }
        Step::WaitDraining | Step::Nothing => {}
        Step::Delete => {
            match ctx.aws.ecs.delete_service(cluster, name, true).await {
                Ok(_)
                | Err(crate::aws::AwsError {
                    kind: AwsErrorKind::NotFound,
                    ..
                }) => {}
                Err(e) => return Err(e.into()),
            }
            pass.status.service_arn = None;
        }
        Step::Update(request) => {
            let updated = ctx.aws.ecs.update_service(request).await?;
            if let Some(task_definition) = &request.task_definition {
                pass.normal(
                    "Deploying",
                    format!(
                        "rolling {} to {}",
                        updated.name,
                        plan::short(task_definition)
                    ),
                );
            }
        }
        Step::Blocked { reason, message } => {
            return Err(ReconcileError::blocked(reason, message.clone()));
        }
    }
    if let (Some(change), Some(arn)) = (&plan.retag, pass.status.service_arn.clone()) {
        // Removals first: near the 50-tag limit, a rename must free its slot before it is used.
        if !change.remove.is_empty() {
            ctx.aws.ecs.untag_resource(&arn, &change.remove).await?;
        }
        if !change.set.is_empty() {
            ctx.aws.ecs.tag_resource(&arn, &change.set).await?;
        }
    }
    Ok(match plan.health {
        Health::Ready(message) => Progress::Ready {
            reason: "RolloutComplete".into(),
            message,
        },
        Health::Progressing { reason, message } => Progress::Progressing {
            reason: reason.into(),
            message,
            // A create or update has just started a deployment (or a scale change).
            requeue: match &plan.step {
                Step::Create(_) | Step::Update(_) => plan::progress_poll(poll, Some(0)),
                _ => plan::progress_poll(poll, plan.deployment_age),
            },
        },
        Health::Stalled { reason, message } => Progress::Stalled {
            reason: reason.into(),
            message,
            // A stuck rollout may still finish, another object's service may be draining: look
            // again soon. A rollback needs a new spec or task definition, which triggers a pass.
            requeue: if matches!(reason, "ProgressDeadlineExceeded" | "AlreadyExists") {
                poll.saturating_mul(6)
            } else {
                ctx.config.resync
            },
        },
    })
}
