//! EcsCapacityProvider controller: creates the provider (an Auto Scaling group's, or ECS Managed
//! Instances in a cluster), updates what ECS lets change, keeps its tags, and deletes it once no
//! cluster lists it. Lookups (a referenced EcsCluster) -> observe -> [`plan`] (pure) -> apply.

pub mod plan;

use kube::ResourceExt;

use self::plan::{Answer, CleanupObserved, Desired, Observed, Step};
use super::Context;
use super::error::ReconcileError;
use super::pipeline::{Call, CleanupPlan, Kind, KindPlan, Note, Progress, Timing};
use super::runner::Managed;
use crate::api::capacity_provider::EcsCapacityProviderStatus;
use crate::api::{DeletionPolicy, EcsCapacityProvider, ReconcileStatus};
use crate::aws::gone_is_done;
use crate::translate::{capacity_provider, tags};

/// Finalizer that keeps an object until its capacity provider is dealt with.
pub const FINALIZER: &str = "ecs.operator.dev/capacity-provider";

impl Managed for EcsCapacityProvider {
    type Status = EcsCapacityProviderStatus;
    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn reconcile_status(status: &mut Self::Status) -> &mut ReconcileStatus {
        &mut status.reconcile
    }
}

/// The EcsCapacityProvider controller.
#[derive(Clone, Copy, Debug, Default)]
pub struct CapacityProviders;

impl Kind for CapacityProviders {
    type Object = EcsCapacityProvider;
    /// The cluster a Managed Instances provider belongs to, resolved.
    type Lookups = Option<String>;
    type Desired = Desired;
    type Observed = Observed;
    /// `None` when retained.
    type CleanupObserved = Option<CleanupObserved>;
    type Step = Step;
    type Answer = Answer;
    const KIND: &'static str = "capacity_provider";
    const FINALIZER: &'static str = FINALIZER;

    fn validate(object: &EcsCapacityProvider) -> Result<(), ReconcileError> {
        capacity_provider::validate(&object.name_any(), &object.spec).into_result()?;
        Ok(())
    }

    async fn lookups(
        &self,
        object: &EcsCapacityProvider,
        ctx: &Context,
        status: &EcsCapacityProviderStatus,
    ) -> Result<Option<String>, ReconcileError> {
        let spec = &object.spec;
        if let Some(cluster) = &spec.cluster {
            return Ok(Some(cluster.clone()));
        }
        let Some(reference) = &spec.cluster_ref else {
            return Ok(None);
        };
        if let Some(cluster) = &status.cluster {
            // Immutable once created: the provider stays in the cluster it was made in.
            return Ok(Some(cluster.clone()));
        }
        let namespace = object.namespace().unwrap_or_default();
        Ok(super::ready_cluster(ctx, &namespace, reference)
            .await?
            .cluster_name)
    }

    fn desired(
        object: &EcsCapacityProvider,
        cluster: Option<String>,
    ) -> Result<Desired, ReconcileError> {
        let uid = object.uid().unwrap_or_default();
        let owner_tags = tags::ownership(
            &uid,
            &object.namespace().unwrap_or_default(),
            &object.name_any(),
            None,
        );
        let spec = &object.spec;
        let name = capacity_provider::provider_name(&object.name_any(), spec).to_owned();
        Ok(Desired {
            kind: if spec.managed_instances_provider.is_some() {
                "MANAGED_INSTANCES"
            } else {
                "EC2_AUTOSCALING"
            },
            auto_scaling_group: spec
                .auto_scaling_group_provider
                .as_ref()
                .map(|g| g.auto_scaling_group_arn.clone()),
            create: capacity_provider::create_request(
                &object.name_any(),
                spec,
                cluster.as_deref(),
                &owner_tags,
            ),
            update: capacity_provider::update_request(&object.name_any(), spec, cluster.as_deref()),
            hash: capacity_provider::settings_hash(spec),
            tags: spec.tags.clone().unwrap_or_default(),
            owner_tags,
            adopt: crate::controller::adoption_of(object),
            uid,
            name,
        })
    }

    async fn observe(
        &self,
        _object: &EcsCapacityProvider,
        ctx: &Context,
        desired: &Desired,
        _status: &EcsCapacityProviderStatus,
    ) -> Result<Observed, ReconcileError> {
        let provider = ctx
            .aws
            .ecs
            .describe_capacity_provider(&desired.name)
            .await?
            .filter(|p| p.status != "INACTIVE");
        let other_owner = match &provider {
            Some(found) => {
                ctx.claimed_by_other::<EcsCapacityProvider>(&found.tags, &desired.uid)
                    .await?
            }
            None => None,
        };
        Ok(Observed {
            provider,
            other_owner,
        })
    }

    fn plan(
        desired: &Desired,
        observed: &Observed,
        status: &EcsCapacityProviderStatus,
        timing: Timing,
    ) -> KindPlan<Self> {
        plan::plan(desired, observed, status, timing)
    }

    async fn apply(&self, ctx: &Context, step: &Step) -> Result<Answer, ReconcileError> {
        let ecs = &ctx.aws.ecs;
        Ok(match step {
            Step::Create { request, .. } => {
                Answer::Provider(Box::new(ecs.create_capacity_provider(request).await?))
            }
            Step::Update { request, .. } => {
                Answer::Provider(Box::new(ecs.update_capacity_provider(request).await?))
            }
            Step::Retag { arn, change } => {
                ecs.retag(arn, change).await?;
                Answer::Done
            }
            Step::Delete { name, cluster } => {
                gone_is_done(ecs.delete_capacity_provider(name, cluster.as_deref()).await)?;
                Answer::Done
            }
        })
    }

    fn calls(step: &Step) -> Vec<Call> {
        match step {
            Step::Create { request, .. } => vec![Call::new(
                "ecs:CreateCapacityProvider",
                &request.name,
                request,
            )],
            Step::Update { request, .. } => vec![Call::new(
                "ecs:UpdateCapacityProvider",
                &request.name,
                request,
            )],
            Step::Retag { arn, change } => Call::tag_change(arn, change),
            Step::Delete { name, cluster } => vec![Call::new(
                "ecs:DeleteCapacityProvider",
                name,
                serde_json::json!({ "capacityProvider": name, "cluster": cluster }),
            )],
        }
    }

    fn commit(
        step: Step,
        answer: Answer,
        status: &mut EcsCapacityProviderStatus,
        notes: &mut Vec<Note>,
    ) {
        plan::commit(step, answer, status, notes);
    }

    fn finish(outcome: Progress, status: &EcsCapacityProviderStatus, timing: Timing) -> Progress {
        plan::finish(outcome, status, timing)
    }

    async fn observe_cleanup(
        &self,
        object: &EcsCapacityProvider,
        ctx: &Context,
        _status: &EcsCapacityProviderStatus,
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
        let object_name = object.name_any();
        let name = capacity_provider::provider_name(&object_name, &object.spec);
        let uid = object.uid().unwrap_or_default();
        // Only a provider this object created (or adopted) is deleted.
        let Some(provider) = ctx
            .aws
            .ecs
            .describe_capacity_provider(name)
            .await?
            .filter(|p| p.status == "ACTIVE" || p.status == "PROVISIONING")
            .filter(|p| tags::is_owned_by(&p.tags, &uid))
        else {
            return Ok(Some(CleanupObserved::default()));
        };
        let clusters = ctx.aws.ecs.clusters_with_provider(&provider.name).await?;
        Ok(Some(CleanupObserved {
            provider: Some(provider),
            clusters,
        }))
    }

    fn plan_cleanup(
        _object: &EcsCapacityProvider,
        observed: &Option<CleanupObserved>,
        status: &EcsCapacityProviderStatus,
        timing: Timing,
    ) -> CleanupPlan<Self> {
        plan::cleanup_plan(observed.as_ref(), status, timing)
    }
}
