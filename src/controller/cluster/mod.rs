//! EcsCluster controller: creates the cluster, keeps its settings, configuration, capacity
//! providers and tags as the spec says, and deletes it only once no services or tasks remain.
//! Observe (DescribeClusters) -> [`plan`] (pure) -> apply, as the stages of [`Kind`].

pub mod plan;

use kube::ResourceExt;

use self::plan::{Answer, CleanupObserved, Desired, Observed, Step};
use super::Context;
use super::error::ReconcileError;
use super::pipeline::{Call, CleanupPlan, Kind, KindPlan, Note, Progress, Timing};
use super::runner::Managed;
use crate::api::cluster::EcsClusterStatus;
use crate::api::{DeletionPolicy, EcsCluster, EcsService, ReconcileStatus};
use crate::aws::gone_is_done;
use crate::translate::{cluster, tags};

/// Finalizer that keeps an object until its cluster is dealt with.
pub const FINALIZER: &str = "ecs.operator.dev/cluster";

impl Managed for EcsCluster {
    type Status = EcsClusterStatus;
    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn reconcile_status(status: &mut Self::Status) -> &mut ReconcileStatus {
        &mut status.reconcile
    }
}

/// The EcsCluster controller.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clusters;

impl Kind for Clusters {
    type Object = EcsCluster;
    type Lookups = ();
    type Desired = Desired;
    type Observed = Observed;
    /// `None` when retained.
    type CleanupObserved = Option<CleanupObserved>;
    type Step = Step;
    type Answer = Answer;
    const KIND: &'static str = "cluster";
    const FINALIZER: &'static str = FINALIZER;

    fn validate(object: &EcsCluster) -> Result<(), ReconcileError> {
        cluster::validate(&object.name_any(), &object.spec).into_result()?;
        Ok(())
    }

    async fn lookups(
        &self,
        _object: &EcsCluster,
        _ctx: &Context,
        _status: &EcsClusterStatus,
    ) -> Result<(), ReconcileError> {
        Ok(())
    }

    fn desired(object: &EcsCluster, _lookups: ()) -> Result<Desired, ReconcileError> {
        let uid = object.uid().unwrap_or_default();
        let owner_tags = tags::ownership(
            &uid,
            &object.namespace().unwrap_or_default(),
            &object.name_any(),
            None,
        );
        let name = cluster::cluster_name(&object.name_any(), &object.spec).to_owned();
        let spec = &object.spec;
        let settings = cluster::settings(spec);
        Ok(Desired {
            create: cluster::create_request(&object.name_any(), spec, &owner_tags),
            update: cluster::UpdateClusterRequest {
                cluster: name.clone(),
                settings: (!settings.is_empty()).then_some(settings),
                configuration: spec.configuration.clone(),
                service_connect_defaults: spec.service_connect_defaults.clone(),
            },
            // Only when the spec manages the providers (validation requires them with a
            // strategy): PutClusterCapacityProviders replaces both lists.
            capacity: spec.capacity_providers.as_ref().map(|providers| {
                cluster::PutClusterCapacityProvidersRequest {
                    cluster: name.clone(),
                    capacity_providers: providers.clone(),
                    default_capacity_provider_strategy: spec
                        .default_capacity_provider_strategy
                        .clone()
                        .unwrap_or_default(),
                }
            }),
            container_insights: spec
                .settings
                .as_ref()
                .and_then(|s| s.container_insights)
                .map(|c| c.as_str().to_owned()),
            groups: cluster::group_hashes(spec),
            tags: spec.tags.clone().unwrap_or_default(),
            owner_tags,
            uid,
            adopt: crate::controller::adoption_of(object),
            name,
        })
    }

    async fn observe(
        &self,
        _object: &EcsCluster,
        ctx: &Context,
        desired: &Desired,
        _status: &EcsClusterStatus,
    ) -> Result<Observed, ReconcileError> {
        let cluster = ctx
            .aws
            .ecs
            .describe_cluster(&desired.name)
            .await?
            .filter(|c| c.status != "INACTIVE");
        let other_owner = match &cluster {
            Some(found) => {
                ctx.claimed_by_other::<EcsCluster>(&found.tags, &desired.uid)
                    .await?
            }
            None => None,
        };
        // Taking over a cluster the operator did not create: read it as ECS wrote it once, so
        // the groups it already holds are not written again.
        let held = match &cluster {
            Some(found)
                if desired.adopt.allows(tags::value(&found.tags, tags::OWNER))
                    && !tags::is_owned_by(&found.tags, &desired.uid)
                    && other_owner.is_none() =>
            {
                match ctx.aws.ecs.describe_cluster_raw(&desired.name).await? {
                    Some(described) => plan::held_groups(desired, &described, found),
                    None => Default::default(),
                }
            }
            _ => Default::default(),
        };
        Ok(Observed {
            cluster,
            other_owner,
            held,
        })
    }

    fn plan(
        desired: &Desired,
        observed: &Observed,
        status: &EcsClusterStatus,
        timing: Timing,
    ) -> KindPlan<Self> {
        plan::plan(desired, observed, status, timing)
    }

    async fn apply(&self, ctx: &Context, step: &Step) -> Result<Answer, ReconcileError> {
        let ecs = &ctx.aws.ecs;
        Ok(match step {
            Step::Create { request, .. } => {
                Answer::Cluster(Box::new(ecs.create_cluster(request).await?))
            }
            Step::Update { request, .. } => {
                Answer::Cluster(Box::new(ecs.update_cluster(request).await?))
            }
            Step::PutCapacityProviders { request, .. } => {
                Answer::Cluster(Box::new(ecs.put_cluster_capacity_providers(request).await?))
            }
            Step::Retag { arn, change } => {
                ecs.retag(arn, change).await?;
                Answer::Done
            }
            Step::Delete { name } => {
                gone_is_done(ecs.delete_cluster(name).await)?;
                Answer::Done
            }
        })
    }

    fn calls(step: &Step) -> Vec<Call> {
        match step {
            Step::Create { request, .. } => vec![Call::new(
                "ecs:CreateCluster",
                &request.cluster_name,
                request,
            )],
            Step::Update { request, .. } => {
                vec![Call::new("ecs:UpdateCluster", &request.cluster, request)]
            }
            Step::PutCapacityProviders { request, .. } => vec![Call::new(
                "ecs:PutClusterCapacityProviders",
                &request.cluster,
                request,
            )],
            Step::Retag { arn, change } => Call::tag_change(arn, change),
            Step::Delete { name } => vec![Call::bare("ecs:DeleteCluster", name)],
        }
    }

    fn commit(step: Step, answer: Answer, status: &mut EcsClusterStatus, notes: &mut Vec<Note>) {
        plan::commit(step, answer, status, notes);
    }

    fn finish(outcome: Progress, status: &EcsClusterStatus, timing: Timing) -> Progress {
        plan::finish(outcome, status, timing)
    }

    async fn observe_cleanup(
        &self,
        object: &EcsCluster,
        ctx: &Context,
        status: &EcsClusterStatus,
    ) -> Result<Option<CleanupObserved>, ReconcileError> {
        if ctx
            .deletion_policy(
                object.spec.deletion_policy,
                &object.namespace().unwrap_or_default(),
            )
            .await?
            == DeletionPolicy::Retain
        {
            return Ok(None);
        }
        let name = status
            .cluster_name
            .clone()
            .unwrap_or_else(|| cluster::cluster_name(&object.name_any(), &object.spec).to_owned());
        let uid = object.uid().unwrap_or_default();
        // Only a cluster this object created (or adopted) is deleted: one it was refused (a
        // same-named cluster of someone else's) is left alone.
        let Some(found) = ctx
            .aws
            .ecs
            .describe_cluster(&name)
            .await?
            .filter(|c| c.status != "INACTIVE" && tags::is_owned_by(&c.tags, &uid))
        else {
            return Ok(Some(CleanupObserved::default()));
        };
        let service_arns = ctx.aws.ecs.list_services_in(&found.arn).await?;
        let task_arns = ctx.aws.ecs.running_tasks_in(&found.arn).await?;
        let namespace = object.namespace().unwrap_or_default();
        let services = if service_arns.is_empty() {
            Vec::new()
        } else {
            let api: kube::Api<EcsService> = kube::Api::namespaced(ctx.client.clone(), &namespace);
            let owners = api.list(&kube::api::ListParams::default()).await?.items;
            service_arns
                .iter()
                .map(|arn| {
                    let owner = owners
                        .iter()
                        .find(|s| {
                            s.status.as_ref().and_then(|s| s.service_arn.as_deref())
                                == Some(arn.as_str())
                        })
                        .map(|s| format!("{namespace}/{}", s.name_any()));
                    (arn.rsplit('/').next().unwrap_or(arn).to_owned(), owner)
                })
                .collect()
        };
        let tasks = task_arns
            .into_iter()
            .map(|(arn, started_by)| {
                (
                    arn.rsplit('/').next().unwrap_or(&arn).to_owned(),
                    started_by,
                )
            })
            .collect();
        let providers = ctx
            .aws
            .ecs
            .cluster_capacity_providers(&found.arn)
            .await?
            .into_iter()
            .filter(|p| {
                p.kind.as_deref() == Some("MANAGED_INSTANCES")
                    && matches!(p.status.as_str(), "ACTIVE" | "PROVISIONING")
            })
            .map(|p| {
                let owner = crate::translate::tags::value(&p.tags, crate::translate::tags::OWNER)
                    .map(str::to_owned);
                (p.name, owner)
            })
            .collect();
        Ok(Some(CleanupObserved {
            cluster: Some(found),
            services,
            tasks,
            providers,
        }))
    }

    fn plan_cleanup(
        _object: &EcsCluster,
        observed: &Option<CleanupObserved>,
        status: &EcsClusterStatus,
        timing: Timing,
    ) -> CleanupPlan<Self> {
        plan::cleanup_plan(observed.as_ref(), status, timing)
    }
}
