//! The Application Auto Scaling calls the operator makes for ECS services.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};

use super::batch::{BatchResult, Batcher};
use super::ecs::{call, collect_pages};
use super::error::AwsError;
use super::limits::{ApiCategory, RateLimits};
use super::metrics::CallCounters;
use super::types::{
    ScalableTargetObservation, ScalingPolicyObservation, ScheduledActionObservation,
};

/// Most resource ids one DescribeScalableTargets call may name.
pub const DESCRIBE_TARGETS_MAX: usize = 50;

/// Application Auto Scaling for ECS services; cloning shares client, limits, counters and batches.
#[derive(Clone)]
pub struct AutoScalingApi {
    client: aas::Client,
    limits: RateLimits,
    counters: CallCounters,
    targets: Batcher<ScalableTargetObservation>,
}

impl AutoScalingApi {
    /// Wraps a client; `batch_window` is how long a describe waits for others to share its call.
    pub fn new(
        client: aas::Client,
        limits: RateLimits,
        counters: CallCounters,
        batch_window: Duration,
    ) -> Self {
        let (fetch_client, fetch_limits, fetch_counters) =
            (client.clone(), limits.clone(), counters.clone());
        let targets = Batcher::new(
            DESCRIBE_TARGETS_MAX,
            batch_window,
            Arc::new(move |_namespace, ids| {
                let (client, limits, counters) = (
                    fetch_client.clone(),
                    fetch_limits.clone(),
                    fetch_counters.clone(),
                );
                Box::pin(async move { describe_targets(&client, &limits, &counters, ids).await })
            }),
        );
        Self {
            client,
            limits,
            counters,
            targets,
        }
    }

    /// Registers (or updates) a scalable target; returns its ARN when AWS reports one.
    pub async fn register_scalable_target(
        &self,
        input: aas::operation::register_scalable_target::builders::RegisterScalableTargetInputBuilder,
    ) -> Result<Option<String>, AwsError> {
        let send = input.send_with(&self.client);
        let output = call(
            &self.limits,
            &self.counters,
            ApiCategory::AutoScaling,
            "RegisterScalableTarget",
            send,
        )
        .await?;
        Ok(output.scalable_target_arn().map(str::to_owned))
    }

    /// The scalable target of an ECS service, or `None`. Concurrent calls share
    /// DescribeScalableTargets calls of up to 50 resource ids.
    pub async fn describe_scalable_target(
        &self,
        resource_id: &str,
    ) -> Result<Option<ScalableTargetObservation>, AwsError> {
        self.targets.get("ecs", resource_id).await
    }

    /// Deregisters a scalable target (AWS deletes its policies and scheduled actions with it).
    pub async fn deregister_scalable_target(&self, resource_id: &str) -> Result<(), AwsError> {
        let send = self
            .client
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(resource_id)
            .send();
        call(
            &self.limits,
            &self.counters,
            ApiCategory::AutoScaling,
            "DeregisterScalableTarget",
            send,
        )
        .await
        .map(|_| ())
    }

    /// Creates or updates a scaling policy.
    pub async fn put_scaling_policy(
        &self,
        input: aas::operation::put_scaling_policy::builders::PutScalingPolicyInputBuilder,
    ) -> Result<ScalingPolicyObservation, AwsError> {
        let name = input.get_policy_name().clone().unwrap_or_default();
        let policy_type = input
            .get_policy_type()
            .as_ref()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default();
        let send = input.send_with(&self.client);
        let output = call(
            &self.limits,
            &self.counters,
            ApiCategory::AutoScaling,
            "PutScalingPolicy",
            send,
        )
        .await?;
        Ok(ScalingPolicyObservation {
            name,
            arn: output.policy_arn().to_owned(),
            policy_type,
            alarm_names: output
                .alarms()
                .iter()
                .map(|a| a.alarm_name().to_owned())
                .collect(),
        })
    }

    /// Every scaling policy of a service (all pages).
    pub async fn describe_scaling_policies(
        &self,
        resource_id: &str,
    ) -> Result<Vec<ScalingPolicyObservation>, AwsError> {
        collect_pages(|next_token| {
            let send = self
                .client
                .describe_scaling_policies()
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .resource_id(resource_id)
                .set_next_token(next_token)
                .send();
            async move {
                let output = call(
                    &self.limits,
                    &self.counters,
                    ApiCategory::AutoScaling,
                    "DescribeScalingPolicies",
                    send,
                )
                .await?;
                let policies = output
                    .scaling_policies()
                    .iter()
                    .map(|p| ScalingPolicyObservation {
                        name: p.policy_name().to_owned(),
                        arn: p.policy_arn().to_owned(),
                        policy_type: p.policy_type().as_str().to_owned(),
                        alarm_names: p
                            .alarms()
                            .iter()
                            .map(|a| a.alarm_name().to_owned())
                            .collect(),
                    })
                    .collect();
                Ok((policies, output.next_token().map(str::to_owned)))
            }
        })
        .await
    }

    /// Deletes a scaling policy.
    pub async fn delete_scaling_policy(
        &self,
        resource_id: &str,
        policy_name: &str,
    ) -> Result<(), AwsError> {
        let send = self
            .client
            .delete_scaling_policy()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(resource_id)
            .policy_name(policy_name)
            .send();
        call(
            &self.limits,
            &self.counters,
            ApiCategory::AutoScaling,
            "DeleteScalingPolicy",
            send,
        )
        .await
        .map(|_| ())
    }

    /// Creates or updates a scheduled action.
    pub async fn put_scheduled_action(
        &self,
        input: aas::operation::put_scheduled_action::builders::PutScheduledActionInputBuilder,
    ) -> Result<(), AwsError> {
        let send = input.send_with(&self.client);
        call(
            &self.limits,
            &self.counters,
            ApiCategory::AutoScaling,
            "PutScheduledAction",
            send,
        )
        .await
        .map(|_| ())
    }

    /// Every scheduled action of a service (all pages).
    pub async fn describe_scheduled_actions(
        &self,
        resource_id: &str,
    ) -> Result<Vec<ScheduledActionObservation>, AwsError> {
        collect_pages(|next_token| {
            let send = self
                .client
                .describe_scheduled_actions()
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .resource_id(resource_id)
                .set_next_token(next_token)
                .send();
            async move {
                let output = call(
                    &self.limits,
                    &self.counters,
                    ApiCategory::AutoScaling,
                    "DescribeScheduledActions",
                    send,
                )
                .await?;
                let actions = output
                    .scheduled_actions()
                    .iter()
                    .map(|a| ScheduledActionObservation {
                        name: a.scheduled_action_name().to_owned(),
                        arn: a.scheduled_action_arn().to_owned(),
                        schedule: a.schedule().to_owned(),
                        min_capacity: a.scalable_target_action().and_then(|t| t.min_capacity()),
                        max_capacity: a.scalable_target_action().and_then(|t| t.max_capacity()),
                    })
                    .collect();
                Ok((actions, output.next_token().map(str::to_owned)))
            }
        })
        .await
    }

    /// Deletes a scheduled action.
    pub async fn delete_scheduled_action(
        &self,
        resource_id: &str,
        name: &str,
    ) -> Result<(), AwsError> {
        let send = self
            .client
            .delete_scheduled_action()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(resource_id)
            .scheduled_action_name(name)
            .send();
        call(
            &self.limits,
            &self.counters,
            ApiCategory::AutoScaling,
            "DeleteScheduledAction",
            send,
        )
        .await
        .map(|_| ())
    }
}

async fn describe_targets(
    client: &aas::Client,
    limits: &RateLimits,
    counters: &CallCounters,
    ids: Vec<String>,
) -> BatchResult<ScalableTargetObservation> {
    let send = client
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .set_resource_ids(Some(ids))
        .send();
    let output = call(
        limits,
        counters,
        ApiCategory::AutoScaling,
        "DescribeScalableTargets",
        send,
    )
    .await?;
    Ok(output
        .scalable_targets()
        .iter()
        .map(|t| {
            (
                t.resource_id().to_owned(),
                ScalableTargetObservation {
                    resource_id: t.resource_id().to_owned(),
                    arn: t.scalable_target_arn().map(str::to_owned),
                    min_capacity: t.min_capacity(),
                    max_capacity: t.max_capacity(),
                    role_arn: t.role_arn().to_owned(),
                },
            )
        })
        .collect::<HashMap<_, _>>())
}
