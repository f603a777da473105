//! EcsScalingPolicy controller: one object owns a service's scalable target and every policy and
//! scheduled action on it. Observe (the EcsService store, DescribeScalableTargets) -> [`plan`]
//! (pure) -> apply; the runner does the rest.

pub mod plan;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::stream::BoxStream;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::utils::{PredicateConfig, WatchStreamExt};
use kube::runtime::watcher::{self, watcher};

use self::plan::{Desired, Observed};
use super::Context;
use super::error::ReconcileError;
use super::runner::{self, Cleanup, Managed, Pass, Progress, Reconciler};
use crate::api::scaling_policy::EcsScalingPolicyStatus;
use crate::api::service::SchedulingStrategy;
use crate::api::{DeletionPolicy, EcsScalingPolicy, EcsService, ReconcileStatus};
use crate::aws::AwsErrorKind;
use crate::aws::snapshot::Lookup;
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
        let (services, writer) = reflector::store();
        let api: Api<EcsService> = match &ctx.config.namespace {
            Some(namespace) => Api::namespaced(ctx.client.clone(), namespace),
            None => Api::all(ctx.client.clone()),
        };
        let stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .reflect(writer)
            .applied_objects()
            .predicate_filter(
                |s: &EcsService| {
                    // A service matters to its policy when its ECS service appears or goes.
                    let created = s
                        .status
                        .as_ref()
                        .and_then(|st| st.service_arn.as_ref())
                        .is_some();
                    let generation = s.metadata.generation.unwrap_or_default();
                    Some(u64::try_from(generation).unwrap_or_default() * 2 + u64::from(created))
                },
                PredicateConfig::default(),
            )
            .boxed();
        runner::track_sync(ctx, &services);
        Self {
            services,
            stream: Mutex::new(Some(stream)),
        }
    }

    /// What the spec asks for, with the resource id resolved; waits for a referenced service.
    async fn desired(
        &self,
        object: &EcsScalingPolicy,
        ctx: &Context,
    ) -> Result<Desired, ReconcileError> {
        let spec = &object.spec;
        scaling::validate(spec).into_result()?;
        let namespace = object.namespace().unwrap_or_default();
        let resource_id = match (&spec.service_ref, &spec.resource_id) {
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
                scaling::resource_id(
                    &target.spec.cluster,
                    service::service_name(&target.name_any(), &target.spec),
                )
            }
            (None, Some(id)) => {
                let (cluster, name) = id
                    .strip_prefix("service/")
                    .and_then(|rest| rest.split_once('/'))
                    .unwrap_or_default();
                let found = ctx.aws.ecs.describe_service(cluster, name).await;
                match found {
                    Ok(Some(s)) if s.status == "ACTIVE" => {}
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
                id.clone()
            }
            (None, None) => {
                return Err(ReconcileError::Invalid(
                    crate::translate::TranslateError::Unresolved {
                        path: "spec.serviceRef".into(),
                        message: "set serviceRef or resourceId".into(),
                    },
                ));
            }
        };
        let uid = object.uid().unwrap_or_default();
        let owner_tags: BTreeMap<String, String> =
            tags::ownership(&uid, &namespace, &object.name_any(), None)
                .into_iter()
                .map(|t| (t.key, t.value.unwrap_or_default()))
                .collect();
        Ok(Desired {
            requests: scaling::requests(spec, Some(&resource_id), &owner_tags)?,
            owner_tags,
            uid,
            adopt: object
                .annotations()
                .get(plan::ADOPT_ANNOTATION)
                .is_some_and(|v| v == "true"),
        })
    }
}

/// Whether the policy `policy` names `service` (by reference or by its resource id).
fn names_service(policy: &EcsScalingPolicy, service: &EcsService) -> bool {
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

impl Reconciler for ScalingPolicies {
    type Object = EcsScalingPolicy;
    const KIND: &'static str = "scaling_policy";
    const FINALIZER: &'static str = FINALIZER;

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
                .filter(|p| names_service(p, &service))
                .map(|p| ObjectRef::from_obj(p.as_ref()))
                .collect::<Vec<_>>()
        })
    }

    async fn reconcile(
        &self,
        object: &EcsScalingPolicy,
        ctx: &Context,
        pass: &mut Pass<EcsScalingPolicyStatus>,
    ) -> Result<Progress, ReconcileError> {
        runner::synced(&self.services).await;
        let desired = self.desired(object, ctx).await?;
        let autoscaling = &ctx.aws.autoscaling;
        let resource_id = desired.requests.target.resource_id.clone();
        // A settled target is read from the window's shared listing of every ECS scalable target.
        let target = match autoscaling
            .scalable_target_listed(&resource_id, ctx.listing_window())
            .await?
        {
            Lookup::Found(target) => Some(target),
            Lookup::Absent | Lookup::Unknown => {
                autoscaling.describe_scalable_target(&resource_id).await?
            }
        };
        let mut observed = Observed {
            target_tags: match &target {
                Some(t) if t.arn.is_some() && t.arn != pass.status.scalable_target_arn => Some(
                    autoscaling
                        .list_tags(t.arn.as_deref().unwrap_or_default())
                        .await?,
                ),
                _ => None,
            },
            target,
            ..Default::default()
        };
        if observed.target.is_some()
            && plan::needs_policy_read(&desired, &pass.status, observed.target.as_ref())
        {
            observed.policies = Some(autoscaling.describe_scaling_policies(&resource_id).await?);
            observed.actions = Some(autoscaling.describe_scheduled_actions(&resource_id).await?);
        }
        let plan = plan::plan(&desired, &observed, &pass.status);
        pass.status = plan.status.clone();
        if let Some((reason, message)) = &plan.blocked {
            return Err(ReconcileError::blocked(reason, message.clone()));
        }
        apply(ctx, &desired, &plan, pass).await?;
        let step_arns: Vec<String> = pass
            .status
            .policies
            .iter()
            .filter(|p| p.policy_type == "StepScaling")
            .map(|p| p.policy_arn.clone())
            .collect();
        let mut message = format!(
            "scalable target {resource_id} with {}..{} tasks, {} polic(ies), {} scheduled action(s)",
            desired.requests.target.min_capacity,
            desired.requests.target.max_capacity,
            pass.status.policies.len(),
            pass.status.scheduled_actions.len()
        );
        if !step_arns.is_empty() {
            message.push_str(&format!(
                "; step scaling acts only when a CloudWatch alarm you own calls it: point alarm actions at {}",
                step_arns.join(", ")
            ));
        }
        Ok(Progress::Ready {
            reason: "Applied".into(),
            message,
        })
    }

    async fn cleanup(
        &self,
        object: &EcsScalingPolicy,
        ctx: &Context,
        pass: &mut Pass<EcsScalingPolicyStatus>,
    ) -> Result<Cleanup, ReconcileError> {
        if object.spec.deletion_policy == DeletionPolicy::Retain {
            pass.normal(
                "Retained",
                "deletionPolicy is Retain: the scalable target and its policies stay",
            );
            return Ok(Cleanup::Done);
        }
        let Some(resource_id) = pass.status.resource_id.clone() else {
            return Ok(Cleanup::Done);
        };
        let autoscaling = &ctx.aws.autoscaling;
        let Some(target) = autoscaling.describe_scalable_target(&resource_id).await? else {
            return Ok(Cleanup::Done);
        };
        let uid = object.uid().unwrap_or_default();
        let ours = target.arn.is_some() && target.arn == pass.status.scalable_target_arn
            || match target.arn.as_deref() {
                Some(arn) => autoscaling
                    .list_tags(arn)
                    .await?
                    .get(tags::OWNER_UID)
                    .is_some_and(|owner| *owner == uid),
                None => false,
            };
        if !ours {
            pass.normal(
                "NotOwned",
                format!("the scalable target of {resource_id} was not registered by this object; left alone"),
            );
            return Ok(Cleanup::Done);
        }
        for policy in pass.status.policies.clone() {
            done_if_missing(
                autoscaling
                    .delete_scaling_policy(&resource_id, &policy.policy_name)
                    .await,
            )?;
        }
        for action in pass.status.scheduled_actions.clone() {
            done_if_missing(
                autoscaling
                    .delete_scheduled_action(&resource_id, &action.name)
                    .await,
            )?;
        }
        done_if_missing(autoscaling.deregister_scalable_target(&resource_id).await)?;
        pass.normal(
            "Deregistered",
            format!("deregistered the scalable target of {resource_id} with its policies and scheduled actions"),
        );
        Ok(Cleanup::Done)
    }
}

/// ObjectNotFound while deleting is what we wanted.
fn done_if_missing(result: Result<(), crate::aws::AwsError>) -> Result<(), ReconcileError> {
    match result {
        Err(e) if e.kind == AwsErrorKind::NotFound => Ok(()),
        other => other.map_err(ReconcileError::from),
    }
}

/// Carries out the plan in order (target, tags, policy deletions, puts, actions), recording each
/// result in the pass's status as it succeeds.
async fn apply(
    ctx: &Context,
    desired: &Desired,
    plan: &plan::Plan,
    pass: &mut Pass<EcsScalingPolicyStatus>,
) -> Result<(), ReconcileError> {
    let autoscaling = &ctx.aws.autoscaling;
    let resource_id = &desired.requests.target.resource_id;
    if let Some(register) = &plan.register {
        let arn = autoscaling.register_scalable_target(register).await?;
        if let Some(arn) = arn {
            pass.status.scalable_target_arn = Some(arn);
        }
        pass.status.applied.insert(
            plan::TARGET_KEY.into(),
            plan::target_hash(&desired.requests.target),
        );
        pass.normal(
            "Registered",
            format!(
                "scalable target {resource_id}: {}..{} tasks",
                register.min_capacity, register.max_capacity
            ),
        );
    }
    if let (Some(tags), Some(arn)) = (&plan.tag, pass.status.scalable_target_arn.clone()) {
        autoscaling.tag_resource(&arn, tags).await?;
        pass.normal("Adopted", format!("took over the scalable target {arn}"));
    }
    for name in &plan.delete_policies {
        done_if_missing(autoscaling.delete_scaling_policy(resource_id, name).await)?;
        pass.status.policies.retain(|p| p.policy_name != *name);
    }
    for request in &plan.put_policies {
        let put = autoscaling.put_scaling_policy(request).await?;
        plan::record_policy(&mut pass.status, request, &put);
        if request.policy_type == "StepScaling" {
            pass.warning(
                "AlarmNeeded",
                format!(
                    "step scaling policy {} acts only when a CloudWatch alarm calls it: point an alarm action at {}",
                    request.policy_name, put.arn
                ),
            );
        } else {
            pass.normal(
                "PolicyApplied",
                format!("scaling policy {}", request.policy_name),
            );
        }
    }
    for name in &plan.delete_actions {
        done_if_missing(autoscaling.delete_scheduled_action(resource_id, name).await)?;
    }
    if !plan.put_actions.is_empty() {
        for request in &plan.put_actions {
            autoscaling.put_scheduled_action(request).await?;
        }
        let described = autoscaling.describe_scheduled_actions(resource_id).await?;
        for request in &plan.put_actions {
            plan::record_action(&mut pass.status, request, &described);
        }
    }
    Ok(())
}
