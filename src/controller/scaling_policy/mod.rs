//! EcsScalingPolicy controller: one object owns a service's scalable target and every policy and
//! scheduled action on it. Observe (the EcsService store, DescribeScalableTargets) -> [`plan`]
//! (pure) -> apply; the runner does the rest.

pub mod plan;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::stream::BoxStream;
use kube::ResourceExt;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;

use self::plan::{Answer, CleanupObserved, Desired, Observed, Write};
use super::Context;
use super::error::ReconcileError;
use super::pipeline::{Call, CleanupPlan, Kind, KindPlan, Note, Progress, Timing};
use super::runner::{self, Managed};
use crate::api::scaling_policy::EcsScalingPolicyStatus;
use crate::api::service::SchedulingStrategy;
use crate::api::{DeletionPolicy, EcsScalingPolicy, EcsService, ReconcileStatus};
use crate::aws::snapshot::Lookup;
use crate::aws::types::ServiceStatus;
use crate::aws::{AwsErrorKind, gone_is_done};
use crate::translate::{scaling, service, tags};

/// Finalizer that keeps an object until its scalable target is dealt with.
pub const FINALIZER: &str = "ecs.operator.dev/scaling-policy";

impl Managed for EcsScalingPolicy {
    type Status = EcsScalingPolicyStatus;
    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn reconcile_status(status: &mut Self::Status) -> &mut ReconcileStatus {
        &mut status.reconcile
    }
}

/// The EcsScalingPolicy controller, with the cache of the services it scales.
pub struct ScalingPolicies {
    services: Store<EcsService>,
    stream: Mutex<Option<BoxStream<'static, Result<EcsService, watcher::Error>>>>,
}

impl ScalingPolicies {
    /// The controller, watching EcsServices (a policy waits until its service exists in ECS).
    pub fn new(ctx: &Context) -> Self {
        let (services, stream) = runner::watch_dependency::<EcsService>(
            ctx,
            Some(|s| {
                // A service matters to its policy when its ECS service appears or goes.
                let created = s
                    .status
                    .as_ref()
                    .and_then(|st| st.service_arn.as_ref())
                    .is_some();
                let generation = s.metadata.generation.unwrap_or_default();
                Some(u64::try_from(generation).unwrap_or_default() * 2 + u64::from(created))
            }),
        );
        Self {
            services,
            stream: Mutex::new(Some(stream)),
        }
    }

    /// The resource id of the service the policy scales; waits for a referenced service.
    async fn resource_id(
        &self,
        object: &EcsScalingPolicy,
        ctx: &Context,
    ) -> Result<String, ReconcileError> {
        let spec = &object.spec;
        let namespace = object.namespace().unwrap_or_default();
        match (&spec.service_ref, &spec.resource_id) {
            (Some(reference), _) => {
                let key = ObjectRef::new(&reference.name).within(&namespace);
                let Some(target) = self.services.get(&key) else {
                    return Err(ReconcileError::waiting(
                        "ServiceNotFound",
                        format!(
                            "waiting for EcsService {} (spec.serviceRef) in namespace {namespace}: it does not exist",
                            reference.name
                        ),
                    ));
                };
                if target.spec.settings.scheduling_strategy == Some(SchedulingStrategy::Daemon) {
                    return Err(ReconcileError::blocked(
                        "DaemonNotScalable",
                        format!(
                            "spec.serviceRef: EcsService {} is a DAEMON service (one task per instance); Service Auto Scaling does not apply to it",
                            reference.name
                        ),
                    ));
                }
                if target
                    .status
                    .as_ref()
                    .and_then(|s| s.service_arn.as_ref())
                    .is_none()
                {
                    return Err(ReconcileError::waiting(
                        "ServiceNotReady",
                        format!(
                            "waiting for EcsService {} (spec.serviceRef) to create its ECS service",
                            reference.name
                        ),
                    ));
                }
                Ok(scaling::resource_id(
                    service::cluster_of(&target).unwrap_or_default(),
                    service::service_name(&target.name_any(), &target.spec),
                ))
            }
            (None, Some(id)) => {
                let (cluster, name) = id
                    .strip_prefix("service/")
                    .and_then(|rest| rest.split_once('/'))
                    .unwrap_or_default();
                let found = ctx.aws.ecs.describe_service(cluster, name).await;
                match found {
                    Ok(Some(s)) if s.status == ServiceStatus::Active => {}
                    Ok(_)
                    | Err(crate::aws::AwsError {
                        kind: AwsErrorKind::MissingDependency,
                        ..
                    }) => {
                        return Err(ReconcileError::waiting(
                            "ServiceNotFound",
                            format!("waiting for the ECS service {id} (spec.resourceId) to exist"),
                        ));
                    }
                    Err(e) => return Err(e.into()),
                }
                Ok(id.clone())
            }
            (None, None) => Err(ReconcileError::Invalid(
                crate::translate::TranslateError::Unresolved {
                    path: "spec.serviceRef".into(),
                    message: "set serviceRef or resourceId".into(),
                },
            )),
        }
    }
}

/// What the spec asks for, its resource id resolved (pure).
fn desired(object: &EcsScalingPolicy, resource_id: String) -> Result<Desired, ReconcileError> {
    let spec = &object.spec;
    let namespace = object.namespace().unwrap_or_default();
    let uid = object.uid().unwrap_or_default();
    let owner_tags: BTreeMap<String, String> =
        tags::ownership(&uid, &namespace, &object.name_any(), None)
            .into_iter()
            .map(|t| (t.key, t.value.unwrap_or_default()))
            .collect();
    Ok(Desired {
        requests: scaling::assemble_requests(spec, Some(&resource_id), &owner_tags)?,
        owner_tags,
        uid,
        adopt: crate::controller::adoption_of(object),
    })
}

impl Kind for ScalingPolicies {
    type Object = EcsScalingPolicy;
    type Lookups = String;
    type Desired = Desired;
    type Observed = Observed;
    type CleanupObserved = CleanupObserved;
    type Step = Write;
    type Answer = Answer;
    const KIND: &'static str = "scaling_policy";
    const FINALIZER: &'static str = FINALIZER;

    fn drive_dependencies(&self) -> Option<futures::future::BoxFuture<'static, ()>> {
        use futures::{FutureExt, StreamExt};
        let stream = self.stream.lock().ok().and_then(|mut s| s.take())?;
        Some(stream.for_each(|_| async {}).boxed())
    }

    fn watches(
        &self,
        controller: Controller<EcsScalingPolicy>,
        _ctx: &Arc<Context>,
    ) -> Controller<EcsScalingPolicy> {
        let Some(stream) = self.stream.lock().ok().and_then(|mut s| s.take()) else {
            return controller;
        };
        let policies = controller.store();
        controller.watches_stream(stream, move |service| {
            policies
                .state()
                .into_iter()
                .filter(|p| scaling::scales(p, &service))
                .map(|p| ObjectRef::from_obj(p.as_ref()))
                .collect::<Vec<_>>()
        })
    }

    fn validate(object: &EcsScalingPolicy) -> Result<(), ReconcileError> {
        scaling::validate(&object.spec).into_result()?;
        Ok(())
    }

    async fn lookups(
        &self,
        object: &EcsScalingPolicy,
        ctx: &Context,
        _status: &EcsScalingPolicyStatus,
    ) -> Result<String, ReconcileError> {
        runner::synced(&self.services).await;
        self.resource_id(object, ctx).await
    }

    fn desired(object: &EcsScalingPolicy, resource_id: String) -> Result<Desired, ReconcileError> {
        desired(object, resource_id)
    }

    async fn observe(
        &self,
        _object: &EcsScalingPolicy,
        ctx: &Context,
        desired: &Desired,
        status: &EcsScalingPolicyStatus,
    ) -> Result<Observed, ReconcileError> {
        let autoscaling = &ctx.aws.autoscaling;
        let resource_id = &desired.requests.target.resource_id;
        // A settled target is read from the window's shared listing of every ECS scalable target.
        let target = match autoscaling
            .scalable_target_listed(resource_id, ctx.listing_window())
            .await?
        {
            Lookup::Found(target) => Some(target),
            Lookup::Absent | Lookup::Unknown => {
                autoscaling.describe_scalable_target(resource_id).await?
            }
        };
        let mut observed = Observed {
            target_tags: match &target {
                Some(t) if t.arn.is_some() && t.arn != status.scalable_target_arn => Some(
                    autoscaling
                        .list_tags(t.arn.as_deref().unwrap_or_default())
                        .await?,
                ),
                _ => None,
            },
            target,
            ..Default::default()
        };
        if desired.adopt.is_on()
            && let Some(tags) = &observed.target_tags
        {
            observed.other_owner = ctx
                .live_other_owner::<EcsScalingPolicy>(
                    tags.get(tags::OWNER_UID).map(String::as_str),
                    tags.get(tags::OWNER).map(String::as_str),
                    &desired.uid,
                )
                .await?;
        }
        let read_directly = if observed.target.is_none() {
            false
        } else if plan::needs_policy_read(desired, status, observed.target.as_ref()) {
            true
        } else {
            // Settled: drift made outside the operator (a policy or scheduled action deleted or
            // changed) is looked for in the window's listings of the whole ECS namespace, and
            // confirmed with direct reads only where they show something amiss.
            match autoscaling
                .policies_and_actions_listed(resource_id, ctx.listing_window())
                .await?
            {
                Some((policies, actions)) => !plan::holds_everything(desired, &policies, &actions),
                None => true,
            }
        };
        if read_directly {
            observed.policies = Some(autoscaling.describe_scaling_policies(resource_id).await?);
            observed.actions = Some(autoscaling.describe_scheduled_actions(resource_id).await?);
        }
        Ok(observed)
    }

    fn plan(
        desired: &Desired,
        observed: &Observed,
        status: &EcsScalingPolicyStatus,
        _timing: Timing,
    ) -> KindPlan<Self> {
        plan::pipeline_plan(desired, observed, status)
    }

    async fn apply(&self, ctx: &Context, write: &Write) -> Result<Answer, ReconcileError> {
        let autoscaling = &ctx.aws.autoscaling;
        Ok(match write {
            Write::Register { request, .. } => {
                Answer::Registered(autoscaling.register_scalable_target(request).await?)
            }
            Write::Tag { arn, tags } => {
                autoscaling.tag_resource(arn, tags).await?;
                Answer::Done
            }
            Write::DeletePolicy { resource_id, name } => {
                gone_is_done(autoscaling.delete_scaling_policy(resource_id, name).await)?;
                Answer::Done
            }
            Write::PutPolicy(request) => {
                Answer::Policy(Box::new(autoscaling.put_scaling_policy(request).await?))
            }
            Write::DeleteAction { resource_id, name } => {
                gone_is_done(autoscaling.delete_scheduled_action(resource_id, name).await)?;
                Answer::Done
            }
            Write::PutActions {
                resource_id,
                requests,
            } => {
                for request in requests {
                    autoscaling.put_scheduled_action(request).await?;
                }
                Answer::Actions(autoscaling.describe_scheduled_actions(resource_id).await?)
            }
            Write::Deregister { resource_id } => {
                gone_is_done(autoscaling.deregister_scalable_target(resource_id).await)?;
                Answer::Done
            }
        })
    }

    fn calls(write: &Write) -> Vec<Call> {
        const ECS_COUNT: &str = "ecs:service:DesiredCount";
        let named = |resource_id: &str, member: &str, name: &str| {
            serde_json::json!({
                "ServiceNamespace": "ecs",
                "ResourceId": resource_id,
                "ScalableDimension": ECS_COUNT,
                member: name,
            })
        };
        match write {
            Write::Register { request, .. } => vec![Call::new(
                "application-autoscaling:RegisterScalableTarget",
                &request.resource_id,
                request,
            )],
            Write::Tag { arn, tags } => vec![Call::new(
                "application-autoscaling:TagResource",
                arn,
                serde_json::json!({ "ResourceARN": arn, "Tags": tags }),
            )],
            Write::DeletePolicy { resource_id, name } => vec![Call::new(
                "application-autoscaling:DeleteScalingPolicy",
                name,
                named(resource_id, "PolicyName", name),
            )],
            Write::PutPolicy(request) => vec![Call::new(
                "application-autoscaling:PutScalingPolicy",
                &request.policy_name,
                request,
            )],
            Write::DeleteAction { resource_id, name } => vec![Call::new(
                "application-autoscaling:DeleteScheduledAction",
                name,
                named(resource_id, "ScheduledActionName", name),
            )],
            Write::PutActions { requests, .. } => requests
                .iter()
                .map(|request| {
                    Call::new(
                        "application-autoscaling:PutScheduledAction",
                        &request.scheduled_action_name,
                        request,
                    )
                })
                .collect(),
            Write::Deregister { resource_id } => vec![Call::new(
                "application-autoscaling:DeregisterScalableTarget",
                resource_id,
                serde_json::json!({
                    "ServiceNamespace": "ecs",
                    "ResourceId": resource_id,
                    "ScalableDimension": ECS_COUNT,
                }),
            )],
        }
    }

    fn commit(
        write: Write,
        answer: Answer,
        status: &mut EcsScalingPolicyStatus,
        notes: &mut Vec<Note>,
    ) {
        plan::commit(write, answer, status, notes);
    }

    fn finish(outcome: Progress, status: &EcsScalingPolicyStatus, _timing: Timing) -> Progress {
        let Progress::Ready { reason, .. } = outcome else {
            return outcome;
        };
        let step_arns: Vec<String> = status
            .policies
            .iter()
            .filter(|p| p.policy_type == "StepScaling")
            .map(|p| p.policy_arn.clone())
            .collect();
        let mut message = format!(
            "scalable target {} with {}..{} tasks, {} polic(ies), {} scheduled action(s)",
            status.resource_id.as_deref().unwrap_or_default(),
            status.min_capacity.unwrap_or_default(),
            status.max_capacity.unwrap_or_default(),
            status.policies.len(),
            status.scheduled_actions.len()
        );
        if !step_arns.is_empty() {
            message.push_str(&format!(
                "; step scaling acts only when a CloudWatch alarm you own calls it: point alarm actions at {}",
                step_arns.join(", ")
            ));
        }
        Progress::Ready { reason, message }
    }

    async fn observe_cleanup(
        &self,
        object: &EcsScalingPolicy,
        ctx: &Context,
        status: &EcsScalingPolicyStatus,
    ) -> Result<CleanupObserved, ReconcileError> {
        let retain = ctx
            .deletion_policy(
                object.spec.deletion_policy,
                &object.namespace().unwrap_or_default(),
            )
            .await?
            == DeletionPolicy::Retain;
        let mut observed = CleanupObserved {
            retain,
            resource_id: status.resource_id.clone(),
            exists: false,
            ours: false,
        };
        let Some(resource_id) = status.resource_id.as_deref().filter(|_| !observed.retain) else {
            return Ok(observed);
        };
        let autoscaling = &ctx.aws.autoscaling;
        let Some(target) = autoscaling.describe_scalable_target(resource_id).await? else {
            return Ok(observed);
        };
        observed.exists = true;
        let uid = object.uid().unwrap_or_default();
        observed.ours = target.arn.is_some() && target.arn == status.scalable_target_arn
            || match target.arn.as_deref() {
                Some(arn) => autoscaling
                    .list_tags(arn)
                    .await?
                    .get(tags::OWNER_UID)
                    .is_some_and(|owner| *owner == uid),
                None => false,
            };
        Ok(observed)
    }

    fn plan_cleanup(
        _object: &EcsScalingPolicy,
        observed: &CleanupObserved,
        status: &EcsScalingPolicyStatus,
        _timing: Timing,
    ) -> CleanupPlan<Self> {
        plan::cleanup_plan(observed, status)
    }
}
