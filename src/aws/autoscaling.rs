//! The Application Auto Scaling calls the operator makes for ECS services. Every call here is
//! safe to repeat: registers and puts set a target state, deletes of a missing object answer
//! ObjectNotFoundException.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};

use super::batch::{BatchResult, Batcher};
use super::call::{Caller, Repeat, collect_pages};
use super::error::AwsError;
use super::limits::ApiCategory;
use super::sdk;
use super::snapshot::{Lookup, Snapshot};
use super::types::{
    PolicyFigures, ScalableTargetObservation, ScalingPolicyObservation, ScheduledActionObservation,
};
use crate::translate::scaling::{
    PutScalingPolicyRequest, PutScheduledActionRequest, RegisterScalableTargetRequest,
};

/// Most resource ids one DescribeScalableTargets call may name.
pub const DESCRIBE_TARGETS_MAX: usize = 50;

/// Application Auto Scaling for ECS services; cloning shares client, limits, counters and batches.
#[derive(Clone)]
pub struct AutoScalingApi {
    pub(super) client: aas::Client,
    pub(super) caller: Caller,
    targets: Batcher<ScalableTargetObservation>,
    listing: Snapshot<ScalableTargetObservation>,
    /// Every ECS scaling policy, by resource id (drift of settled objects at resync).
    policy_listing: Snapshot<Vec<ScalingPolicyObservation>>,
    /// Every ECS scheduled action, by resource id.
    action_listing: Snapshot<Vec<ScheduledActionObservation>>,
}

impl AutoScalingApi {
    /// Wraps a client; `batch_window` is how long a describe waits for others to share its call.
    pub fn new(client: aas::Client, caller: Caller, batch_window: Duration) -> Self {
        let (fetch_client, fetch_caller) = (client.clone(), caller.clone());
        let targets = Batcher::new(
            DESCRIBE_TARGETS_MAX,
            batch_window,
            Arc::new(move |_namespace, ids| {
                let (client, caller) = (fetch_client.clone(), fetch_caller.clone());
                Box::pin(async move { describe_targets(&client, &caller, ids).await })
            }),
        );
        Self {
            client,
            caller,
            targets,
            listing: Snapshot::default(),
            policy_listing: Snapshot::default(),
            action_listing: Snapshot::default(),
        }
    }

    /// The scaling policies and scheduled actions of `resource_id` as the window's listings of
    /// every ECS policy and action show them (one paged DescribeScalingPolicies and one
    /// DescribeScheduledActions for the whole service namespace, shared by the window's passes),
    /// or `None` when there is no usable listing (read them directly). A resource absent from a
    /// listing is reported with none: confirm before acting on it.
    pub async fn policies_and_actions_listed(
        &self,
        resource_id: &str,
        window: Duration,
    ) -> Result<
        Option<(
            Vec<ScalingPolicyObservation>,
            Vec<ScheduledActionObservation>,
        )>,
        AwsError,
    > {
        let Some(policies) = listed(
            self.policy_listing
                .lookup(resource_id, window, || self.list_all_policies())
                .await?,
        ) else {
            return Ok(None);
        };
        let Some(actions) = listed(
            self.action_listing
                .lookup(resource_id, window, || self.list_all_actions())
                .await?,
        ) else {
            return Ok(None);
        };
        Ok(Some((policies, actions)))
    }

    async fn list_all_policies(
        &self,
    ) -> Result<(HashMap<String, Vec<ScalingPolicyObservation>>, u64), AwsError> {
        let mut pages = 0;
        let all = collect_pages("DescribeScalingPolicies", |next_token| {
            pages += 1;
            async move {
                let output = self
                    .send("DescribeScalingPolicies", || {
                        self.client
                            .describe_scaling_policies()
                            .service_namespace(ServiceNamespace::Ecs)
                            // "This value can be between 1 and 10."
                            .max_results(10)
                            .set_next_token(next_token.clone())
                            .send()
                    })
                    .await?;
                let page: Vec<(String, ScalingPolicyObservation)> = output
                    .scaling_policies()
                    .iter()
                    .filter(|p| {
                        p.scalable_dimension() == &ScalableDimension::EcsServiceDesiredCount
                    })
                    .map(|p| (p.resource_id().to_owned(), policy_of(p)))
                    .collect();
                Ok((page, output.next_token().map(str::to_owned)))
            }
        })
        .await?;
        Ok((group(all), pages))
    }

    async fn list_all_actions(
        &self,
    ) -> Result<(HashMap<String, Vec<ScheduledActionObservation>>, u64), AwsError> {
        let mut pages = 0;
        let all = collect_pages("DescribeScheduledActions", |next_token| {
            pages += 1;
            async move {
                let output = self
                    .send("DescribeScheduledActions", || {
                        self.client
                            .describe_scheduled_actions()
                            .service_namespace(ServiceNamespace::Ecs)
                            .max_results(50)
                            .set_next_token(next_token.clone())
                            .send()
                    })
                    .await?;
                let page: Vec<(String, ScheduledActionObservation)> = output
                    .scheduled_actions()
                    .iter()
                    .filter(|a| {
                        a.scalable_dimension() == Some(&ScalableDimension::EcsServiceDesiredCount)
                    })
                    .map(|a| (a.resource_id().to_owned(), action_of(a)))
                    .collect();
                Ok((page, output.next_token().map(str::to_owned)))
            }
        })
        .await?;
        Ok((group(all), pages))
    }

    /// The scalable target of `resource_id` as the window's listing of every ECS scalable target
    /// shows it (one paged DescribeScalableTargets shared by the window's passes); `Absent` and
    /// `Unknown` mean: read it with [`AutoScalingApi::describe_scalable_target`].
    pub async fn scalable_target_listed(
        &self,
        resource_id: &str,
        window: Duration,
    ) -> Result<Lookup<ScalableTargetObservation>, AwsError> {
        self.listing
            .lookup(resource_id, window, || self.list_scalable_targets())
            .await
    }

    /// (listings taken, passes answered from one), for metrics and tests.
    pub fn listing_stats(&self) -> (u64, u64) {
        self.listing.stats()
    }

    async fn list_scalable_targets(
        &self,
    ) -> Result<(HashMap<String, ScalableTargetObservation>, u64), AwsError> {
        let mut pages = 0;
        let targets = collect_pages("DescribeScalableTargets", |next_token| {
            pages += 1;
            async move {
                let output = self
                    .send("DescribeScalableTargets", || {
                        self.client
                            .describe_scalable_targets()
                            // "If you specify a scalable dimension, you must also specify a
                            // resource ID": the namespace alone, filtered below.
                            .service_namespace(ServiceNamespace::Ecs)
                            .max_results(50)
                            .set_next_token(next_token.clone())
                            .send()
                    })
                    .await?;
                let page: Vec<(String, ScalableTargetObservation)> = output
                    .scalable_targets()
                    .iter()
                    .filter(|t| {
                        t.scalable_dimension() == &ScalableDimension::EcsServiceDesiredCount
                    })
                    .map(|t| (t.resource_id().to_owned(), target_of(t)))
                    .collect();
                Ok((page, output.next_token().map(str::to_owned)))
            }
        })
        .await?;
        Ok((targets.into_iter().collect(), pages))
    }

    async fn send<T, E, F, Fut>(&self, operation: &'static str, make: F) -> Result<T, AwsError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<
                Output = Result<T, aas::error::SdkError<E, aas::config::http::HttpResponse>>,
            >,
        E: aas::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.caller
            .send(ApiCategory::AutoScaling, operation, Repeat::Safe, make)
            .await
    }

    /// Registers (or updates) a scalable target; returns its ARN when AWS reports one.
    pub async fn register_scalable_target(
        &self,
        request: &RegisterScalableTargetRequest,
    ) -> Result<Option<String>, AwsError> {
        let _written = self.listing.written(&request.resource_id);
        let input = sdk::register_scalable_target(request)?;
        // With tags, a second send after a lost answer is refused ("The scalable target that you
        // tried to tag already exists"): never repeated here; the next pass finds the target.
        let repeat = if request.tags.is_some() {
            Repeat::Unsafe
        } else {
            Repeat::Safe
        };
        let output = self
            .caller
            .send(
                ApiCategory::AutoScaling,
                "RegisterScalableTarget",
                repeat,
                || input.clone().send_with(&self.client),
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
        let _written = self.listing.written(resource_id);
        self.send("DeregisterScalableTarget", || {
            self.client
                .deregister_scalable_target()
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .resource_id(resource_id)
                .send()
        })
        .await
        .map(|_| ())
    }

    /// Creates or updates a scaling policy.
    pub async fn put_scaling_policy(
        &self,
        request: &PutScalingPolicyRequest,
    ) -> Result<ScalingPolicyObservation, AwsError> {
        let _written = self.policy_listing.written(&request.resource_id);
        let input = sdk::put_scaling_policy(request)?;
        let output = self
            .send("PutScalingPolicy", || input.clone().send_with(&self.client))
            .await?;
        Ok(ScalingPolicyObservation {
            name: request.policy_name.clone(),
            arn: output.policy_arn().to_owned(),
            policy_type: request.policy_type.clone(),
            alarm_names: output
                .alarms()
                .iter()
                .map(|a| a.alarm_name().to_owned())
                .collect(),
            // The answer has no configuration; what was put is what the spec says.
            figures: PolicyFigures::default(),
        })
    }

    /// Every scaling policy of a service (all pages).
    pub async fn describe_scaling_policies(
        &self,
        resource_id: &str,
    ) -> Result<Vec<ScalingPolicyObservation>, AwsError> {
        collect_pages("DescribeScalingPolicies", |next_token| async move {
            let output = self
                .send("DescribeScalingPolicies", || {
                    self.client
                        .describe_scaling_policies()
                        .service_namespace(ServiceNamespace::Ecs)
                        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                        .resource_id(resource_id)
                        .set_next_token(next_token.clone())
                        .send()
                })
                .await?;
            let policies = output.scaling_policies().iter().map(policy_of).collect();
            Ok((policies, output.next_token().map(str::to_owned)))
        })
        .await
    }

    /// Deletes a scaling policy.
    pub async fn delete_scaling_policy(
        &self,
        resource_id: &str,
        policy_name: &str,
    ) -> Result<(), AwsError> {
        let _written = self.policy_listing.written(resource_id);
        self.send("DeleteScalingPolicy", || {
            self.client
                .delete_scaling_policy()
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .resource_id(resource_id)
                .policy_name(policy_name)
                .send()
        })
        .await
        .map(|_| ())
    }

    /// Creates or updates a scheduled action.
    pub async fn put_scheduled_action(
        &self,
        request: &PutScheduledActionRequest,
    ) -> Result<(), AwsError> {
        let _written = self.action_listing.written(&request.resource_id);
        let input = sdk::put_scheduled_action(request)?;
        self.send("PutScheduledAction", || {
            input.clone().send_with(&self.client)
        })
        .await
        .map(|_| ())
    }

    /// Every scheduled action of a service (all pages).
    pub async fn describe_scheduled_actions(
        &self,
        resource_id: &str,
    ) -> Result<Vec<ScheduledActionObservation>, AwsError> {
        collect_pages("DescribeScheduledActions", |next_token| async move {
            let output = self
                .send("DescribeScheduledActions", || {
                    self.client
                        .describe_scheduled_actions()
                        .service_namespace(ServiceNamespace::Ecs)
                        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                        .resource_id(resource_id)
                        .set_next_token(next_token.clone())
                        .send()
                })
                .await?;
            let actions = output.scheduled_actions().iter().map(action_of).collect();
            Ok((actions, output.next_token().map(str::to_owned)))
        })
        .await
    }

    /// Adds or overwrites tags on a scalable target (the way to tag an existing one:
    /// RegisterScalableTarget takes tags only when it creates the target).
    pub async fn tag_resource(
        &self,
        arn: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let tags: HashMap<String, String> = tags.clone().into_iter().collect();
        self.send("TagResource", || {
            self.client
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags.clone()))
                .send()
        })
        .await
        .map(|_| ())
    }

    /// The tags of a scalable target.
    pub async fn list_tags(
        &self,
        arn: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, AwsError> {
        let output = self
            .send("ListTagsForResource", || {
                self.client
                    .list_tags_for_resource()
                    .resource_arn(arn)
                    .send()
            })
            .await?;
        Ok(output
            .tags()
            .map(|t| t.clone().into_iter().collect())
            .unwrap_or_default())
    }

    /// Deletes a scheduled action.
    pub async fn delete_scheduled_action(
        &self,
        resource_id: &str,
        name: &str,
    ) -> Result<(), AwsError> {
        let _written = self.action_listing.written(resource_id);
        self.send("DeleteScheduledAction", || {
            self.client
                .delete_scheduled_action()
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .resource_id(resource_id)
                .scheduled_action_name(name)
                .send()
        })
        .await
        .map(|_| ())
    }
}

async fn describe_targets(
    client: &aas::Client,
    caller: &Caller,
    ids: Vec<String>,
) -> BatchResult<ScalableTargetObservation> {
    let output = caller
        .send(
            ApiCategory::AutoScaling,
            "DescribeScalableTargets",
            Repeat::Safe,
            || {
                client
                    .describe_scalable_targets()
                    .service_namespace(ServiceNamespace::Ecs)
                    .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                    .set_resource_ids(Some(ids.clone()))
                    .send()
            },
        )
        .await?;
    Ok(output
        .scalable_targets()
        .iter()
        .map(|t| (t.resource_id().to_owned(), target_of(t)))
        .collect::<HashMap<_, _>>())
}

fn target_of(t: &aas::types::ScalableTarget) -> ScalableTargetObservation {
    ScalableTargetObservation {
        resource_id: t.resource_id().to_owned(),
        arn: t.scalable_target_arn().map(str::to_owned),
        min_capacity: t.min_capacity(),
        max_capacity: t.max_capacity(),
        role_arn: t.role_arn().to_owned(),
        suspended: t.suspended_state().map_or((false, false, false), |s| {
            (
                s.dynamic_scaling_in_suspended().unwrap_or(false),
                s.dynamic_scaling_out_suspended().unwrap_or(false),
                s.scheduled_scaling_suspended().unwrap_or(false),
            )
        }),
    }
}

fn policy_of(p: &aas::types::ScalingPolicy) -> ScalingPolicyObservation {
    let tracking = p.target_tracking_scaling_policy_configuration();
    let predefined = tracking.and_then(|t| t.predefined_metric_specification());
    let step = p.step_scaling_policy_configuration();
    ScalingPolicyObservation {
        name: p.policy_name().to_owned(),
        arn: p.policy_arn().to_owned(),
        policy_type: p.policy_type().as_str().to_owned(),
        alarm_names: p
            .alarms()
            .iter()
            .map(|a| a.alarm_name().to_owned())
            .collect(),
        figures: PolicyFigures {
            target_value: tracking.map(|t| t.target_value()),
            predefined_metric_type: predefined
                .map(|m| m.predefined_metric_type().as_str().to_owned()),
            resource_label: predefined
                .and_then(|m| m.resource_label())
                .map(str::to_owned),
            scale_in_cooldown: tracking.and_then(|t| t.scale_in_cooldown()),
            scale_out_cooldown: tracking.and_then(|t| t.scale_out_cooldown()),
            disable_scale_in: tracking.and_then(|t| t.disable_scale_in()),
            adjustment_type: step
                .and_then(|s| s.adjustment_type())
                .map(|a| a.as_str().to_owned()),
            steps: step
                .map(|s| {
                    s.step_adjustments()
                        .iter()
                        .map(|a| {
                            (
                                a.metric_interval_lower_bound(),
                                a.metric_interval_upper_bound(),
                                a.scaling_adjustment(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            cooldown: step.and_then(|s| s.cooldown()),
            metric_aggregation_type: step
                .and_then(|s| s.metric_aggregation_type())
                .map(|m| m.as_str().to_owned()),
            min_adjustment_magnitude: step.and_then(|s| s.min_adjustment_magnitude()),
        },
    }
}

fn action_of(a: &aas::types::ScheduledAction) -> ScheduledActionObservation {
    ScheduledActionObservation {
        name: a.scheduled_action_name().to_owned(),
        arn: a.scheduled_action_arn().to_owned(),
        schedule: a.schedule().to_owned(),
        min_capacity: a.scalable_target_action().and_then(|t| t.min_capacity()),
        max_capacity: a.scalable_target_action().and_then(|t| t.max_capacity()),
        timezone: a.timezone().map(str::to_owned),
        start_time: a.start_time().map(|t| t.secs()),
        end_time: a.end_time().map(|t| t.secs()),
    }
}

/// A resource's items as a listing shows them: none when absent, `None` without a listing.
fn listed<V>(lookup: Lookup<Vec<V>>) -> Option<Vec<V>> {
    match lookup {
        Lookup::Found(found) => Some(found),
        Lookup::Absent => Some(Vec::new()),
        Lookup::Unknown => None,
    }
}

/// Listed items grouped by resource id.
fn group<V>(items: Vec<(String, V)>) -> HashMap<String, Vec<V>> {
    let mut grouped: HashMap<String, Vec<V>> = HashMap::new();
    for (resource_id, item) in items {
        grouped.entry(resource_id).or_default().push(item);
    }
    grouped
}

/// Reads as Application Auto Scaling wrote them (see `raw.rs`), for `import`.
impl AutoScalingApi {
    /// The ECS scalable target of `resource_id` as Application Auto Scaling wrote it, if any.
    pub async fn describe_scalable_target_raw(
        &self,
        resource_id: &str,
    ) -> Result<Option<Value>, AwsError> {
        let raw = super::raw::RawBody::default();
        self.caller
            .send(
                ApiCategory::AutoScaling,
                "DescribeScalableTargets",
                Repeat::Safe,
                || {
                    self.client
                        .describe_scalable_targets()
                        .service_namespace(aas::types::ServiceNamespace::Ecs)
                        .resource_ids(resource_id)
                        .customize()
                        .interceptor(raw.clone())
                        .send()
                },
            )
            .await?;
        Ok(raw
            .json()
            .get("ScalableTargets")
            .and_then(Value::as_array)
            .and_then(|t| t.first().cloned()))
    }

    /// The scaling policies of `resource_id` as Application Auto Scaling wrote them (all pages).
    pub async fn describe_policies_raw(&self, resource_id: &str) -> Result<Vec<Value>, AwsError> {
        collect_pages("DescribeScalingPolicies", |next_token| async move {
            let raw = super::raw::RawBody::default();
            self.caller
                .send(
                    ApiCategory::AutoScaling,
                    "DescribeScalingPolicies",
                    Repeat::Safe,
                    || {
                        self.client
                            .describe_scaling_policies()
                            .service_namespace(aas::types::ServiceNamespace::Ecs)
                            .resource_id(resource_id)
                            .set_next_token(next_token.clone())
                            .customize()
                            .interceptor(raw.clone())
                            .send()
                    },
                )
                .await?;
            Ok(super::raw::page(&raw.json(), "ScalingPolicies"))
        })
        .await
    }

    /// The scheduled actions of `resource_id` as Application Auto Scaling wrote them (all pages).
    pub async fn describe_scheduled_actions_raw(
        &self,
        resource_id: &str,
    ) -> Result<Vec<Value>, AwsError> {
        collect_pages("DescribeScheduledActions", |next_token| async move {
            let raw = super::raw::RawBody::default();
            self.caller
                .send(
                    ApiCategory::AutoScaling,
                    "DescribeScheduledActions",
                    Repeat::Safe,
                    || {
                        self.client
                            .describe_scheduled_actions()
                            .service_namespace(aas::types::ServiceNamespace::Ecs)
                            .resource_id(resource_id)
                            .set_next_token(next_token.clone())
                            .customize()
                            .interceptor(raw.clone())
                            .send()
                    },
                )
                .await?;
            Ok(super::raw::page(&raw.json(), "ScheduledActions"))
        })
        .await
    }
}
