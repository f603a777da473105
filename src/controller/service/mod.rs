//! EcsService controller: creates the ECS service (idempotently), follows its task definition,
//! updates exactly what the spec changed, leaves the desired count to an autoscaler when one
//! exists, reports the rollout, publishes ECS service events, and deletes or retains the service.
//! Observe (Kubernetes stores, DescribeServices) -> [`plan`] (pure) -> apply; the runner does the
//! rest.

pub mod deployment;
mod diff;
mod observation;
pub mod plan;
pub mod pre_deploy;
mod writes;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::stream::BoxStream;
use kube::ResourceExt;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;

use self::plan::{Desired, Observed, TaskDefinitionTarget};
use self::writes::{Answer, CleanupObserved, Write};
use super::Context;
use super::error::ReconcileError;
use super::pipeline::{Call, CleanupPlan, Kind, KindPlan, Note, Timing};
use super::runner::{self, Managed};
use crate::api::service::{DeploymentControllerType, DeploymentStrategy, EcsServiceStatus};
use crate::api::{
    DeletionPolicy, EcsCluster, EcsScalingPolicy, EcsService, EcsTaskDefinition, ReconcileStatus,
};
use crate::aws::ecs::NextPass;
use crate::aws::tasks::TaskFilter;
use crate::aws::{AwsErrorKind, gone_is_done};
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
    BoxStream<'static, Result<crate::api::EcsTask, watcher::Error>>,
);

/// The EcsService controller, with the caches of the kinds it depends on.
pub struct Services {
    task_definitions: Store<EcsTaskDefinition>,
    policies: Store<EcsScalingPolicy>,
    pre_deploy_tasks: Store<crate::api::EcsTask>,
    streams: Mutex<Option<Streams>>,
    /// The controller's own cache of EcsServices, for [`Services::seed_read_ahead`].
    own: OnceLock<Store<EcsService>>,
    /// The (namespace, cluster) pairs whose services were followed at their first pass.
    seeded: Mutex<HashSet<(String, String)>>,
}

impl Services {
    /// The controller, watching EcsTaskDefinitions (a new revision rolls the services that
    /// reference it at once) and EcsScalingPolicies (which own the desired count).
    pub fn new(ctx: &Context) -> Self {
        // A task definition matters when its current revision or readiness changes.
        let (task_definitions, td_stream) = runner::watch_dependency(ctx, Some(revision_key));
        // Policies: every change, deletions included (they hand the desired count back).
        let (policies, policy_stream) = runner::watch_dependency::<EcsScalingPolicy>(ctx, None);
        // Pre-deploy runs: a phase change moves the rollout that waits for it.
        let (pre_deploy_tasks, task_stream) = runner::watch_dependency(ctx, Some(task_phase_key));
        Self {
            task_definitions,
            policies,
            pre_deploy_tasks,
            streams: Mutex::new(Some((td_stream, policy_stream, task_stream))),
            own: OnceLock::new(),
            seeded: Mutex::new(HashSet::new()),
        }
    }

    /// At the first pass of a namespace's cluster since start, follows every other EcsService
    /// of the namespace in that cluster that has a service, so that the first DescribeServices
    /// of the cluster reads ten of them ahead and the passes that follow find their answers
    /// waiting. Without it a restart followed only services already passed: at 10,000 objects
    /// it made 3,952 DescribeServices of 1.6 names each for 4,500 services.
    fn seed_read_ahead(&self, ctx: &Context, object: &EcsService, cluster: &str) {
        let namespace = object.namespace().unwrap_or_default();
        let first = self
            .seeded
            .lock()
            .is_ok_and(|mut seeded| seeded.insert((namespace.clone(), cluster.to_owned())));
        let Some(services) = self.own.get().filter(|_| first) else {
            return;
        };
        for sibling in services.state() {
            let exists = sibling
                .status
                .as_ref()
                .is_some_and(|s| s.service_arn.is_some());
            if exists
                && sibling.metadata.deletion_timestamp.is_none()
                && sibling.namespace().as_deref() == Some(namespace.as_str())
                && service::cluster_of(&sibling) == Some(cluster)
            {
                let name = sibling.name_any();
                let name = service::service_name(&name, &sibling.spec);
                ctx.aws.ecs.follow_service(cluster, name);
            }
        }
    }
}

/// What identifies a task definition change that matters to services: its current ARN and
/// whether it is Ready at its generation.
fn revision_key(td: &EcsTaskDefinition) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    td.status
        .as_ref()
        .and_then(|s| s.task_definition_arn.as_deref())
        .hash(&mut hasher);
    task_definition_ready(td).is_some().hash(&mut hasher);
    Some(hasher.finish())
}

/// What identifies an EcsTask change that matters to the service it runs for: its phase.
fn task_phase_key(task: &crate::api::EcsTask) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let status = task.status.as_ref();
    status.and_then(|s| s.phase).hash(&mut hasher);
    // A run stuck before it ran (RunTask refused) holds the rollout just as a failed one.
    status
        .is_some_and(|s| {
            s.reconcile
                .conditions
                .iter()
                .any(|c| c.type_ == "Stalled" && c.status == "True")
        })
        .hash(&mut hasher);
    Some(hasher.finish())
}

/// Whether `value` may be a label value (63 characters at most).
fn name_fits_label(value: &str) -> bool {
    value.len() <= 63
}

/// The ARN of a task definition that is Ready at its current generation.
fn task_definition_ready(td: &EcsTaskDefinition) -> Option<&str> {
    super::is_ready(td)
        .then(|| td.status.as_ref()?.task_definition_arn.as_deref())
        .flatten()
}

/// What an EcsService's desired state depends on besides its spec: the task definition resolved
/// and the autoscaler that owns the desired count, if any.
pub struct Lookups {
    /// The cluster (`spec.cluster`, or the referenced EcsCluster's).
    cluster: String,
    /// `None` for an EXTERNAL service.
    target: Option<TaskDefinitionTarget>,
    /// `minCapacity` of the EcsScalingPolicy that scales the service.
    policy_min_capacity: Option<i32>,
}

impl Kind for Services {
    type Object = EcsService;
    type Lookups = Lookups;
    type Desired = Desired;
    type Observed = Observed;
    type CleanupObserved = CleanupObserved;
    type Step = Write;
    type Answer = Answer;
    const KIND: &'static str = "service";
    const FINALIZER: &'static str = FINALIZER;

    fn watches(
        &self,
        controller: Controller<EcsService>,
        _ctx: &Arc<Context>,
    ) -> Controller<EcsService> {
        let Some((td_stream, policy_stream, task_stream)) =
            self.streams.lock().ok().and_then(|mut s| s.take())
        else {
            return controller;
        };
        let services = controller.store();
        let _ = self.own.set(services.clone());
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
                    .filter(|s| scaling::scales(&policy, s))
                    .map(|s| ObjectRef::from_obj(s.as_ref()))
                    .collect::<Vec<_>>()
            })
            .watches_stream(task_stream, |task| {
                let namespace = task.namespace().unwrap_or_default();
                task.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .filter(|o| {
                        o.kind == "EcsService" && o.api_version.starts_with("ecs.operator.dev/")
                    })
                    .map(|o| ObjectRef::<EcsService>::new(&o.name).within(&namespace))
                    .collect::<Vec<_>>()
            })
    }

    fn drive_dependencies(&self) -> Option<futures::future::BoxFuture<'static, ()>> {
        use futures::{FutureExt, StreamExt};
        let (td_stream, policy_stream, task_stream) =
            self.streams.lock().ok().and_then(|mut s| s.take())?;
        Some(
            futures::stream::select(
                futures::stream::select(td_stream.map(|_| ()), policy_stream.map(|_| ())),
                task_stream.map(|_| ()),
            )
            .for_each(|()| async {})
            .boxed(),
        )
    }

    fn validate(object: &EcsService) -> Result<(), ReconcileError> {
        service::validate(&object.name_any(), &object.spec).into_result()?;
        Ok(())
    }

    async fn lookups(
        &self,
        object: &EcsService,
        ctx: &Context,
        status: &EcsServiceStatus,
    ) -> Result<Lookups, ReconcileError> {
        // Decisions read the caches (is the desired count the autoscaler's? which revision?).
        runner::synced(&self.task_definitions).await;
        runner::synced(&self.policies).await;
        // Which pre-deploy runs exist (and which still run) decides whether to start one.
        if object.spec.pre_deploy.is_some() {
            runner::synced(&self.pre_deploy_tasks).await;
        }
        let cluster = service_cluster(object, ctx, status).await?;
        let target = self.target(object, ctx, status).await?;
        let policy_min_capacity = self
            .policies
            .state()
            .into_iter()
            .find(|p| p.metadata.deletion_timestamp.is_none() && scaling::scales(p, object))
            .map(|p| p.spec.min_capacity);
        Ok(Lookups {
            cluster,
            target,
            policy_min_capacity,
        })
    }

    fn desired(object: &EcsService, lookups: Lookups) -> Result<Desired, ReconcileError> {
        desired(object, lookups)
    }

    async fn observe(
        &self,
        object: &EcsService,
        ctx: &Context,
        desired: &Desired,
        status: &EcsServiceStatus,
    ) -> Result<Observed, ReconcileError> {
        if !desired.create.cluster.is_empty() {
            self.seed_read_ahead(ctx, object, &desired.create.cluster);
        }
        observe(object, &self.pre_deploy_tasks, ctx, desired, status).await
    }

    fn plan(
        desired: &Desired,
        observed: &Observed,
        status: &EcsServiceStatus,
        timing: Timing,
    ) -> KindPlan<Self> {
        writes::pipeline_plan(desired, observed, status, timing)
    }

    async fn apply(&self, ctx: &Context, write: &Write) -> Result<Answer, ReconcileError> {
        let ecs = &ctx.aws.ecs;
        match write {
            Write::Create { request, .. } => {
                let created = match ecs.create_service(request).await {
                    // A namesake is there: created without looking (the first pass), or one of
                    // ours a crash left unrecorded and not listed yet, now under another
                    // generation's token. The next pass, soon, describes it and says whose it is.
                    Err(error) if error.kind == AwsErrorKind::AlreadyExists => {
                        return Err(ReconcileError::waiting(
                            "NameTaken",
                            format!(
                                "ECS has a service named {} in cluster {} already; looking at it",
                                request.service_name, request.cluster
                            ),
                        ));
                    }
                    other => other?,
                };
                Ok(Answer::Created {
                    arn: created.arn,
                    cluster_arn: created.cluster_arn,
                    at: epoch_seconds(),
                })
            }
            Write::Update { request, .. } => {
                let service = ecs.update_service(request).await?;
                Ok(Answer::Updated {
                    service_deployment: service.current_service_deployment,
                })
            }
            // "If true, allows you to delete a service even if it wasn't scaled down to zero
            // tasks."
            Write::Delete { cluster, name, .. } => {
                gone_is_done(ecs.delete_service(cluster, name, true).await)?;
                Ok(Answer::Done)
            }
            Write::Retag { arn, change, .. } => {
                ecs.retag(arn, change).await?;
                Ok(Answer::Done)
            }
            Write::Unfollow { cluster, name } => {
                ecs.unfollow_service(cluster, name);
                Ok(Answer::Done)
            }
            Write::RunPreDeploy(task) => {
                let api: kube::Api<crate::api::EcsTask> = kube::Api::namespaced(
                    ctx.client.clone(),
                    task.metadata.namespace.as_deref().unwrap_or_default(),
                );
                match api.create(&kube::api::PostParams::default(), task).await {
                    // Made by a pass whose status write was lost: the same run.
                    Err(kube::Error::Api(status)) if status.code == 409 => {}
                    other => {
                        other?;
                    }
                }
                Ok(Answer::Done)
            }
            Write::Deployment(deployment::Action::Continue { arn, hook_id }) => {
                ecs.continue_service_deployment(arn, hook_id, false).await?;
                Ok(Answer::Done)
            }
            Write::Deployment(deployment::Action::Rollback { arn }) => {
                ecs.roll_back_service_deployment(arn).await?;
                Ok(Answer::Done)
            }
        }
    }

    fn calls(write: &Write) -> Vec<Call> {
        match write {
            Write::Create { request, .. } => vec![Call::new(
                "ecs:CreateService",
                &request.service_name,
                request,
            )],
            Write::Update { request, .. } => {
                vec![Call::new("ecs:UpdateService", &request.service, request)]
            }
            Write::Delete { cluster, name, .. } => vec![Call::new(
                "ecs:DeleteService",
                name,
                serde_json::json!({ "cluster": cluster, "service": name, "force": true }),
            )],
            Write::Retag { arn, change, .. } => Call::tag_change(arn, change),
            // A Kubernetes write (the EcsTask then makes its own calls).
            Write::RunPreDeploy(task) => vec![Call::new(
                "kubernetes:CreateEcsTask",
                task.metadata.name.clone().unwrap_or_default(),
                &task.spec,
            )],
            Write::Deployment(deployment::Action::Continue { arn, hook_id }) => vec![Call::new(
                "ecs:ContinueServiceDeployment",
                deployment::id_of(arn),
                serde_json::json!({
                    "serviceDeploymentArn": arn, "hookId": hook_id, "action": "CONTINUE"
                }),
            )],
            Write::Deployment(deployment::Action::Rollback { arn }) => vec![Call::new(
                "ecs:StopServiceDeployment",
                deployment::id_of(arn),
                serde_json::json!({ "serviceDeploymentArn": arn, "stopType": "ROLLBACK" }),
            )],
            // Bookkeeping of the read-ahead, not a call.
            Write::Unfollow { .. } => Vec::new(),
        }
    }

    fn commit(write: Write, answer: Answer, status: &mut EcsServiceStatus, notes: &mut Vec<Note>) {
        writes::commit(write, answer, status, notes);
    }

    async fn observe_cleanup(
        &self,
        object: &EcsService,
        ctx: &Context,
        status: &EcsServiceStatus,
    ) -> Result<CleanupObserved, ReconcileError> {
        let cluster = match (&object.spec.cluster, &status.cluster_arn) {
            (Some(cluster), _) | (None, Some(cluster)) => Some(cluster.clone()),
            // clusterRef, and no creation recorded (a CreateService whose answer was lost
            // included): the referenced EcsCluster's cluster, if it still exists.
            (None, None) => match &object.spec.cluster_ref {
                Some(reference) => {
                    let api: kube::Api<EcsCluster> = kube::Api::namespaced(
                        ctx.client.clone(),
                        &object.namespace().unwrap_or_default(),
                    );
                    api.get_opt(&reference.name)
                        .await?
                        .and_then(|c| c.status)
                        .and_then(|s| s.cluster_arn)
                }
                None => None,
            },
        };
        let Some(cluster) = cluster else {
            // The cluster was never there: neither is the service.
            return Ok(CleanupObserved {
                retain: true,
                cluster: String::new(),
                name: service::service_name(&object.name_any(), &object.spec).to_owned(),
                uid: object.uid().unwrap_or_default(),
                service: None,
            });
        };
        let name = service::service_name(&object.name_any(), &object.spec).to_owned();
        let retain = ctx
            .deletion_policy(
                object.spec.deletion_policy,
                &object.namespace().unwrap_or_default(),
            )
            .await?
            == DeletionPolicy::Retain;
        let service = if retain {
            None
        } else {
            match ctx.aws.ecs.describe_service(&cluster, &name).await {
                Ok(found) => found,
                // The cluster is gone: so is the service.
                Err(e) if e.kind == AwsErrorKind::MissingDependency => None,
                Err(e) => return Err(e.into()),
            }
        };
        Ok(CleanupObserved {
            retain,
            cluster,
            name,
            uid: object.uid().unwrap_or_default(),
            service,
        })
    }

    fn plan_cleanup(
        _object: &EcsService,
        observed: &CleanupObserved,
        status: &EcsServiceStatus,
        timing: Timing,
    ) -> CleanupPlan<Self> {
        writes::cleanup_plan(observed, status, timing)
    }
}

impl Services {
    /// The task definition the spec names, resolved; waits for a referenced EcsTaskDefinition
    /// that is not Ready.
    async fn target(
        &self,
        object: &EcsService,
        ctx: &Context,
        status: &EcsServiceStatus,
    ) -> Result<Option<TaskDefinitionTarget>, ReconcileError> {
        let namespace = object.namespace().unwrap_or_default();
        let spec = &object.spec;
        let external = spec
            .settings
            .deployment_controller
            .as_ref()
            .is_some_and(|c| c.r#type == DeploymentControllerType::External);
        if external {
            // Its task sets name their task definitions.
            return Ok(None);
        }
        match (&spec.task_definition_ref, &spec.task_definition) {
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
                    Some(arn) => Ok(Some(TaskDefinitionTarget::Arn(arn.to_owned()))),
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
                        Err(ReconcileError::waiting(
                            "TaskDefinitionNotReady",
                            format!(
                                "waiting for EcsTaskDefinition {} (spec.taskDefinitionRef) to be Ready: {why}",
                                reference.name
                            ),
                        ))
                    }
                }
            }
            (None, Some(literal)) => literal_target(ctx, object, literal, status).await.map(Some),
            (None, None) => Err(ReconcileError::Invalid(
                crate::translate::TranslateError::Unresolved {
                    path: "spec.taskDefinitionRef".into(),
                    message: "set taskDefinitionRef or taskDefinition".into(),
                },
            )),
        }
    }
}

/// What the spec asks for, given what it depends on (pure).
fn desired(object: &EcsService, lookups: Lookups) -> Result<Desired, ReconcileError> {
    let name = object.name_any();
    let namespace = object.namespace().unwrap_or_default();
    let spec = &object.spec;
    let Lookups {
        cluster,
        target,
        policy_min_capacity,
    } = lookups;
    let autoscaled = policy_min_capacity.is_some();
    let uid = object.uid().unwrap_or_default();
    let owner_tags = tags::ownership(&uid, &namespace, &name, None);
    let create_count = policy_min_capacity.unwrap_or(service::DEFAULT_DESIRED_COUNT_AT_CREATE);
    let mut create = service::assemble_create_request(
        &name,
        spec,
        target
            .as_ref()
            .map(TaskDefinitionTarget::reference)
            .as_deref(),
        create_count,
        &owner_tags,
    )?;
    create.cluster = cluster;
    let generation = object.metadata.generation.unwrap_or_default();
    let pre_deploy = target.as_ref().and_then(|target| {
        let target = target.reference();
        let name = crate::translate::pre_deploy::task_name(&name, spec, &target)?;
        let task_spec = crate::translate::pre_deploy::task_spec(spec, &target)?;
        let mut task = crate::api::EcsTask::new(&name, task_spec);
        task.metadata.namespace = Some(namespace.clone());
        // The service's labels (a sharded install's selector must see the run too), and which
        // service it runs for (when the name fits a label value).
        let mut labels = object.labels().clone();
        if name_fits_label(&object.name_any()) {
            labels.insert(
                crate::translate::pre_deploy::PRE_DEPLOY_OF_LABEL.to_owned(),
                object.name_any(),
            );
        }
        task.metadata.labels = Some(labels);
        // Owned, so it goes with the service object; not blocking its deletion (that would
        // need the finalizers subresource too).
        task.metadata.owner_references = Some(vec![
            k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                api_version: "ecs.operator.dev/v1alpha1".into(),
                kind: "EcsService".into(),
                name: object.name_any(),
                uid: uid.clone(),
                controller: Some(true),
                block_owner_deletion: None,
            },
        ]);
        Some(pre_deploy::PreDeployRun { task, target })
    });
    Ok(Desired {
        scale_selector: service::scale_selector(&name),
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
        pre_deploy,
        control: deployment::Control {
            continue_id: object
                .annotations()
                .get(deployment::CONTINUE_ANNOTATION)
                .cloned(),
            rollback_id: object
                .annotations()
                .get(deployment::ROLLBACK_ANNOTATION)
                .cloned(),
            namespace: namespace.clone(),
            name: name.clone(),
        },
        uid,
        adopt: crate::controller::adoption_of(object),
    })
}

/// The cluster a service runs in: `spec.cluster`; with `clusterRef`, the cluster recorded at
/// creation (immutable since), else the referenced EcsCluster's once it is Ready.
async fn service_cluster(
    object: &EcsService,
    ctx: &Context,
    status: &EcsServiceStatus,
) -> Result<String, ReconcileError> {
    if let Some(cluster) = &object.spec.cluster {
        return Ok(cluster.clone());
    }
    if let Some(cluster) = &status.cluster_arn {
        return Ok(cluster.clone());
    }
    let Some(reference) = &object.spec.cluster_ref else {
        return Ok(String::new());
    };
    let namespace = object.namespace().unwrap_or_default();
    Ok(super::ready_cluster(ctx, &namespace, reference)
        .await?
        .cluster_arn
        .unwrap_or_default())
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
        && crate::translate::task_definition::family_of_arn(arn) == Some(literal)
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
    crate::translate::short_hash(format!("{uid}:{generation}").as_bytes(), 16)
}

/// Reads the ECS service: fresh after a spec change; during a rollout, an answer a neighbour's call
/// read just before the poll was due; when the service is settled and the spec unchanged, from the
/// read-ahead cache (so settled services cost a tenth of a DescribeServices call per resync).
async fn observe(
    object: &EcsService,
    pre_deploy_tasks: &Store<crate::api::EcsTask>,
    ctx: &Context,
    desired: &Desired,
    status: &EcsServiceStatus,
) -> Result<Observed, ReconcileError> {
    let cluster = &desired.create.cluster;
    let name = &desired.create.service_name;
    // A service in the default cluster is known by the cluster's ARN once created (`""` until
    // then): followed under that key only, or the first key would stay followed for good.
    let follow = !cluster.is_empty();
    if follow {
        ctx.aws.ecs.follow_service(cluster, name);
    }
    let unchanged = status.reconcile.observed_generation == object.metadata.generation;
    // The pass that added the finalizer creates without looking: no service of this object's
    // can exist yet, and a namesake (someone else's, or one still draining) makes the create
    // fail, after which the next pass looks (see `apply`). Adoption looks first.
    let unseen = crate::controller::pipeline::first_pass()
        && !desired.adopt.is_on()
        && status.service_arn.is_none();
    let service = if unseen {
        None
    } else if unchanged && plan::settled(status) {
        ctx.aws
            .ecs
            .describe_service_cached(cluster, name, ctx.config.resync / 2)
            .await?
    } else if unchanged && status.service_arn.is_some() {
        // A rollout's poll: an answer a neighbour's call read just before it was due will do,
        // when the pass comes late too (up to a poll interval).
        ctx.aws
            .ecs
            .describe_service_polled(cluster, name, ctx.config.poll)
            .await?
    } else {
        ctx.aws.ecs.describe_service(cluster, name).await?
    };
    if follow {
        let next = plan::next_poll(service.as_ref(), ctx.config.poll, epoch_seconds()).map_or(
            NextPass::Resync(crate::controller::runner::latest_resync(ctx.config.resync)),
            NextPass::Poll,
        );
        ctx.aws.ecs.expect_pass(cluster, name, next);
    }
    let strategy = desired.strategy();
    // The lifecycle of a BLUE_GREEN/LINEAR/CANARY deployment (stages, hooks, traffic, bake
    // time) is read while it runs, until it is seen finished: a deployment seen in a final
    // state is not read again while ECS still names it current.
    let primary = service
        .as_ref()
        .and_then(|s| s.deployments.first())
        .map(|d| d.id.clone());
    let ready = status
        .reconcile
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let seen_final = |s: &crate::aws::types::ServiceObservation| {
        status.deployment.as_ref().is_some_and(|d| {
            deployment::is_final(d) && s.current_service_deployment.as_deref() == Some(&d.arn)
        })
    };
    // Done when seen Ready for this deployment, or when ECS still names current the deployment
    // last seen SUCCESSFUL (a crashed task or a scale change later is the service's own matter).
    let lifecycle_done = (ready && primary.is_some() && primary == status.primary_deployment_id)
        || matches!(&service, Some(s) if seen_final(s)
            && status.deployment.as_ref().is_some_and(|d| d.status == "SUCCESSFUL"));
    let lifecycle_read = matches!(&service, Some(s)
        if strategy != DeploymentStrategy::Rolling
            && !lifecycle_done
            && !seen_final(s));
    // ECS runs another revision than the one sent: rolled back, or changed by someone else?
    // Only the service deployments still say so once the rollback is over.
    let rollback_check = service
        .as_ref()
        .is_some_and(|s| plan::rollback_in_question(desired, status, s));
    let current_arn = service
        .as_ref()
        .and_then(|s| s.current_service_deployment.clone());
    // Listed only to tell a rollback, or to find the newest deployment when DescribeServices
    // names none.
    let deployments = if rollback_check || (lifecycle_read && current_arn.is_none()) {
        ctx.aws.ecs.service_deployments(cluster, name).await?
    } else {
        Vec::new()
    };
    let service_deployment = if lifecycle_read {
        let arn = current_arn.or_else(|| {
            deployments
                .iter()
                .max_by_key(|d| d.created_at)
                .map(|d| d.arn.clone())
        });
        match arn {
            Some(arn) => ctx.aws.ecs.describe_service_deployment(&arn).await?,
            None => None,
        }
    } else {
        None
    };
    let rolled_back = if rollback_check {
        plan::rollback_of(&deployments, status.service_deployment_arn.as_deref())
    } else {
        None
    };
    let other_owner = match &service {
        Some(s)
            if desired.adopt.is_on()
                && !plan::is_ours(status.service_arn.as_deref(), s, &desired.uid) =>
        {
            ctx.live_other_owner::<EcsService>(
                tags::value(&s.tags, tags::OWNER_UID),
                tags::value(&s.tags, tags::OWNER),
                &desired.uid,
            )
            .await?
        }
        _ => None,
    };
    // The troubleshooting read: only while the service is troubled, never for a healthy one.
    let stopped_tasks = match &service {
        Some(s) if plan::troubled(s, epoch_seconds()) => {
            let filter = TaskFilter {
                service_name: Some(name.clone()),
                stopped: true,
                ..Default::default()
            };
            let arns = ctx.aws.ecs.list_tasks(cluster, &filter).await?;
            if arns.is_empty() {
                Vec::new()
            } else {
                ctx.aws.ecs.describe_tasks(cluster, &arns).await?
            }
        }
        _ => Vec::new(),
    };
    let namespace = object.namespace().unwrap_or_default();
    let pre_deploy_task = desired.pre_deploy.as_ref().and_then(|run| {
        pre_deploy_tasks
            .get(&ObjectRef::new(run.name()).within(&namespace))
            .map(|t| (*t).clone())
    });
    // Another run of this service still going: two migrations must never run at once.
    let pre_deploy_running = desired
        .pre_deploy
        .as_ref()
        .and_then(|run| {
            pre_deploy_tasks.state().into_iter().find(|t| {
                t.namespace().as_deref() == Some(namespace.as_str())
                    && t.metadata.name.as_deref() != Some(run.name())
                    && pre_deploy::owned_by(t, &desired.uid)
                    && pre_deploy::running(t)
            })
        })
        .and_then(|t| t.metadata.name.clone());
    Ok(Observed {
        pre_deploy_task,
        pre_deploy_running,
        service,
        service_deployment,
        lifecycle_done,
        other_owner,
        rolled_back,
        stopped_tasks,
        now: epoch_seconds(),
    })
}

fn epoch_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
