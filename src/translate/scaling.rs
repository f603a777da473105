//! EcsScalingPolicy -> Application Auto Scaling requests (`RegisterScalableTarget`,
//! `PutScalingPolicy`, `PutScheduledAction`), whose JSON members are PascalCase.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::{FieldErrors, TranslateError, duplicates, is_ecs_name};
use crate::api::EcsScalingPolicySpec;
use crate::api::scaling_policy::{
    AdjustmentType, CustomizedMetric, MetricAggregationType, MetricDataQuery, MetricDimension,
    MetricStatistic, PredefinedMetricType, ScheduledAction, StepScalingPolicy,
    TargetTrackingPolicy,
};

/// Application Auto Scaling namespace of ECS.
pub const SERVICE_NAMESPACE: &str = "ecs";
/// The one scalable dimension of an ECS service.
pub const SCALABLE_DIMENSION: &str = "ecs:service:DesiredCount";

/// `RegisterScalableTarget` input.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterScalableTargetRequest {
    /// Always `ecs`.
    pub service_namespace: String,
    /// `service/<cluster>/<service>`.
    pub resource_id: String,
    /// Always `ecs:service:DesiredCount`.
    pub scalable_dimension: String,
    /// Minimum tasks.
    pub min_capacity: i32,
    /// Maximum tasks.
    pub max_capacity: i32,
    /// Custom role, if any.
    #[serde(rename = "RoleARN")]
    pub role_arn: Option<String>,
    /// Suspended scaling activities.
    pub suspended_state: Option<SuspendedStateRequest>,
    /// Tags on the scalable target (the operator's ownership tags).
    pub tags: Option<BTreeMap<String, String>>,
}

/// `SuspendedState` member.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SuspendedStateRequest {
    /// Pause scale-in.
    pub dynamic_scaling_in_suspended: Option<bool>,
    /// Pause scale-out.
    pub dynamic_scaling_out_suspended: Option<bool>,
    /// Pause scheduled actions.
    pub scheduled_scaling_suspended: Option<bool>,
}

/// `PutScalingPolicy` input.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutScalingPolicyRequest {
    /// Policy name.
    pub policy_name: String,
    /// Always `ecs`.
    pub service_namespace: String,
    /// `service/<cluster>/<service>`.
    pub resource_id: String,
    /// Always `ecs:service:DesiredCount`.
    pub scalable_dimension: String,
    /// `TargetTrackingScaling` or `StepScaling`.
    pub policy_type: String,
    /// Step scaling parameters.
    pub step_scaling_policy_configuration: Option<StepScalingConfiguration>,
    /// Target tracking parameters.
    pub target_tracking_scaling_policy_configuration: Option<TargetTrackingConfiguration>,
}

/// `TargetTrackingScalingPolicyConfiguration` member.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetTrackingConfiguration {
    /// Target value of the metric.
    pub target_value: f64,
    /// Predefined metric.
    pub predefined_metric_specification: Option<PredefinedMetricSpecification>,
    /// Custom metric.
    pub customized_metric_specification: Option<CustomizedMetricSpecification>,
    /// Scale-out cooldown.
    pub scale_out_cooldown: Option<i32>,
    /// Scale-in cooldown.
    pub scale_in_cooldown: Option<i32>,
    /// No scale-in.
    pub disable_scale_in: Option<bool>,
}

/// `PredefinedMetricSpecification` member.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PredefinedMetricSpecification {
    /// The metric type.
    pub predefined_metric_type: PredefinedMetricType,
    /// ALB target group label.
    pub resource_label: Option<String>,
}

/// `CustomizedMetricSpecification` member.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomizedMetricSpecification {
    /// Metric name.
    pub metric_name: Option<String>,
    /// Metric namespace.
    pub namespace: Option<String>,
    /// Dimensions.
    pub dimensions: Option<Vec<DimensionRequest>>,
    /// Statistic.
    pub statistic: Option<MetricStatistic>,
    /// Unit.
    pub unit: Option<String>,
    /// Metric math.
    pub metrics: Option<Vec<MetricDataQueryRequest>>,
}

/// `MetricDimension` member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DimensionRequest {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// `TargetTrackingMetricDimension` member (same JSON as `MetricDimension`, another SDK type).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrackingDimensionRequest {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// `TargetTrackingMetricDataQuery` member.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDataQueryRequest {
    /// Query id.
    pub id: String,
    /// Math expression.
    pub expression: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Metric and statistic.
    pub metric_stat: Option<MetricStatRequest>,
    /// Whether this query is tracked.
    pub return_data: Option<bool>,
}

/// `TargetTrackingMetricStat` member.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricStatRequest {
    /// The metric.
    pub metric: MetricRequest,
    /// Statistic.
    pub stat: String,
    /// Unit.
    pub unit: Option<String>,
}

/// `TargetTrackingMetric` member.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricRequest {
    /// Dimensions.
    pub dimensions: Option<Vec<TrackingDimensionRequest>>,
    /// Metric name.
    pub metric_name: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
}

/// `StepScalingPolicyConfiguration` member.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepScalingConfiguration {
    /// Adjustment type.
    pub adjustment_type: Option<AdjustmentType>,
    /// Steps.
    pub step_adjustments: Option<Vec<StepAdjustmentRequest>>,
    /// Minimum magnitude.
    pub min_adjustment_magnitude: Option<i32>,
    /// Cooldown.
    pub cooldown: Option<i32>,
    /// Aggregation.
    pub metric_aggregation_type: Option<MetricAggregationType>,
}

/// `StepAdjustment` member.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepAdjustmentRequest {
    /// Lower bound.
    pub metric_interval_lower_bound: Option<f64>,
    /// Upper bound.
    pub metric_interval_upper_bound: Option<f64>,
    /// Adjustment.
    pub scaling_adjustment: i32,
}

/// `PutScheduledAction` input.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutScheduledActionRequest {
    /// Always `ecs`.
    pub service_namespace: String,
    /// Schedule expression.
    pub schedule: String,
    /// Time zone.
    pub timezone: Option<String>,
    /// Action name.
    pub scheduled_action_name: String,
    /// `service/<cluster>/<service>`.
    pub resource_id: String,
    /// Always `ecs:service:DesiredCount`.
    pub scalable_dimension: String,
    /// Start time (RFC 3339).
    pub start_time: Option<String>,
    /// End time (RFC 3339).
    pub end_time: Option<String>,
    /// New capacity range.
    pub scalable_target_action: ScalableTargetActionRequest,
}

/// The service-linked role Application Auto Scaling uses for ECS in the account (and partition)
/// of `role_arn` (any IAM role ARN of that account): what a target's role goes back to when the
/// spec no longer names one ("If the service supports service-linked roles, Application Auto
/// Scaling uses a service-linked role"); a registration without a role keeps the old one.
pub fn ecs_service_linked_role(role_arn: &str) -> Option<String> {
    let mut parts = role_arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some(format!(
        "arn:{partition}:iam::{account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/{ECS_SERVICE_LINKED_ROLE}"
    ))
}

/// The name of Application Auto Scaling's service-linked role for ECS.
pub const ECS_SERVICE_LINKED_ROLE: &str = "AWSServiceRoleForApplicationAutoScaling_ECSService";

/// The time zone scheduled actions use when none is given.
pub const DEFAULT_TIMEZONE: &str = "UTC";

/// `ScalableTargetAction` member.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalableTargetActionRequest {
    /// New minimum.
    pub min_capacity: Option<i32>,
    /// New maximum.
    pub max_capacity: Option<i32>,
}

/// All requests that set up one object's autoscaling, in the order they must be sent.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingRequests {
    /// The scalable target (first: policies and actions need it).
    pub target: RegisterScalableTargetRequest,
    /// One per policy.
    pub policies: Vec<PutScalingPolicyRequest>,
    /// One per scheduled action.
    pub scheduled_actions: Vec<PutScheduledActionRequest>,
}

/// The ECS resource id of a service: `service/<cluster-name>/<service-name>`; a cluster ARN is
/// reduced to its name, as Application Auto Scaling expects.
pub fn resource_id(cluster: &str, service: &str) -> String {
    let cluster_name = cluster.rsplit('/').next().unwrap_or(cluster);
    format!("service/{cluster_name}/{service}")
}

/// The requests for an object, given the resource id (`spec.resourceId`, or what `serviceRef`
/// resolved to) and the operator's ownership tags.
pub fn requests(
    spec: &EcsScalingPolicySpec,
    resolved_resource_id: Option<&str>,
    tags: &BTreeMap<String, String>,
) -> Result<ScalingRequests, TranslateError> {
    validate(spec).into_result()?;
    assemble_requests(spec, resolved_resource_id, tags)
}

/// [`requests`] of a spec [`validate`] already accepted (the pipeline validates once, first).
pub fn assemble_requests(
    spec: &EcsScalingPolicySpec,
    resolved_resource_id: Option<&str>,
    tags: &BTreeMap<String, String>,
) -> Result<ScalingRequests, TranslateError> {
    let resource_id = match (spec.resource_id.as_deref(), resolved_resource_id) {
        (Some(id), _) | (None, Some(id)) => id.to_owned(),
        (None, None) => {
            return Err(TranslateError::Unresolved {
                path: "spec.serviceRef".into(),
                message: "the referenced EcsService has no ECS service yet".into(),
            });
        }
    };
    let target = RegisterScalableTargetRequest {
        service_namespace: SERVICE_NAMESPACE.into(),
        resource_id: resource_id.clone(),
        scalable_dimension: SCALABLE_DIMENSION.into(),
        min_capacity: spec.min_capacity,
        max_capacity: spec.max_capacity,
        role_arn: spec.role_arn.clone(),
        suspended_state: spec
            .suspended_state
            .as_ref()
            .map(|s| SuspendedStateRequest {
                dynamic_scaling_in_suspended: s.dynamic_scaling_in_suspended,
                dynamic_scaling_out_suspended: s.dynamic_scaling_out_suspended,
                scheduled_scaling_suspended: s.scheduled_scaling_suspended,
            }),
        tags: (!tags.is_empty()).then(|| tags.clone()),
    };
    let policy = |name: &str, policy_type: &str| PutScalingPolicyRequest {
        policy_name: name.to_owned(),
        service_namespace: SERVICE_NAMESPACE.into(),
        resource_id: resource_id.clone(),
        scalable_dimension: SCALABLE_DIMENSION.into(),
        policy_type: policy_type.into(),
        step_scaling_policy_configuration: None,
        target_tracking_scaling_policy_configuration: None,
    };
    let mut policies = Vec::new();
    for tt in &spec.target_tracking_policies {
        let mut request = policy(&tt.policy_name, "TargetTrackingScaling");
        request.target_tracking_scaling_policy_configuration = Some(target_tracking(tt));
        policies.push(request);
    }
    for step in &spec.step_scaling_policies {
        let mut request = policy(&step.policy_name, "StepScaling");
        request.step_scaling_policy_configuration = Some(step_scaling(step));
        policies.push(request);
    }
    let scheduled_actions = spec
        .scheduled_actions
        .iter()
        .map(|action| PutScheduledActionRequest {
            service_namespace: SERVICE_NAMESPACE.into(),
            schedule: action.schedule.clone(),
            // Sent even when the spec has none: "If a time zone is not provided, UTC is used by
            // default", but an update that leaves it out keeps the old one (a removed time zone
            // must be sent as UTC). It applies to at() and cron() schedules only.
            timezone: action.timezone.clone().or_else(|| {
                (action.schedule.starts_with("at(") || action.schedule.starts_with("cron("))
                    .then(|| DEFAULT_TIMEZONE.to_owned())
            }),
            scheduled_action_name: action.name.clone(),
            resource_id: resource_id.clone(),
            scalable_dimension: SCALABLE_DIMENSION.into(),
            start_time: action.start_time.clone(),
            end_time: action.end_time.clone(),
            scalable_target_action: ScalableTargetActionRequest {
                min_capacity: action.min_capacity,
                max_capacity: action.max_capacity,
            },
        })
        .collect();
    Ok(ScalingRequests {
        target,
        policies,
        scheduled_actions,
    })
}

fn dimensions(dims: &Option<Vec<MetricDimension>>) -> Option<Vec<DimensionRequest>> {
    dims.as_ref().map(|list| {
        list.iter()
            .map(|d| DimensionRequest {
                name: d.name.clone(),
                value: d.value.clone(),
            })
            .collect()
    })
}

fn metric_query(query: &MetricDataQuery) -> MetricDataQueryRequest {
    MetricDataQueryRequest {
        id: query.id.clone(),
        expression: query.expression.clone(),
        label: query.label.clone(),
        metric_stat: query.metric_stat.as_ref().map(|stat| MetricStatRequest {
            metric: MetricRequest {
                dimensions: stat.metric.dimensions.as_ref().map(|list| {
                    list.iter()
                        .map(|d| TrackingDimensionRequest {
                            name: d.name.clone(),
                            value: d.value.clone(),
                        })
                        .collect()
                }),
                metric_name: stat.metric.metric_name.clone(),
                namespace: stat.metric.namespace.clone(),
            },
            stat: stat.stat.clone(),
            unit: stat.unit.clone(),
        }),
        return_data: query.return_data,
    }
}

fn customized(metric: &CustomizedMetric) -> CustomizedMetricSpecification {
    CustomizedMetricSpecification {
        metric_name: metric.metric_name.clone(),
        namespace: metric.namespace.clone(),
        dimensions: dimensions(&metric.dimensions),
        statistic: metric.statistic,
        unit: metric.unit.clone(),
        metrics: metric
            .metrics
            .as_ref()
            .map(|queries| queries.iter().map(metric_query).collect()),
    }
}

fn target_tracking(policy: &TargetTrackingPolicy) -> TargetTrackingConfiguration {
    TargetTrackingConfiguration {
        target_value: policy.target_value,
        predefined_metric_specification: policy.predefined_metric.as_ref().map(|m| {
            PredefinedMetricSpecification {
                predefined_metric_type: m.r#type,
                resource_label: m.resource_label.clone(),
            }
        }),
        customized_metric_specification: policy.customized_metric.as_ref().map(customized),
        scale_out_cooldown: policy.scale_out_cooldown,
        scale_in_cooldown: policy.scale_in_cooldown,
        disable_scale_in: policy.disable_scale_in,
    }
}

fn step_scaling(policy: &StepScalingPolicy) -> StepScalingConfiguration {
    StepScalingConfiguration {
        adjustment_type: Some(policy.adjustment_type),
        step_adjustments: Some(
            policy
                .step_adjustments
                .iter()
                .map(|s| StepAdjustmentRequest {
                    metric_interval_lower_bound: s.metric_interval_lower_bound,
                    metric_interval_upper_bound: s.metric_interval_upper_bound,
                    scaling_adjustment: s.scaling_adjustment,
                })
                .collect(),
        ),
        min_adjustment_magnitude: policy.min_adjustment_magnitude,
        cooldown: policy.cooldown,
        metric_aggregation_type: policy.metric_aggregation_type,
    }
}

/// Every rule of Application Auto Scaling a CRD schema cannot express, with field paths.
pub fn validate(spec: &EcsScalingPolicySpec) -> FieldErrors {
    let mut errors = FieldErrors::default();
    match (&spec.service_ref, &spec.resource_id) {
        (Some(_), Some(_)) => errors.push("spec.resourceId", "set exactly one of serviceRef or resourceId, not both"),
        (None, None) => errors.push(
            "spec.serviceRef",
            "set serviceRef (an EcsService in this namespace) or resourceId (service/<cluster>/<service>)",
        ),
        (None, Some(id)) if !is_service_resource_id(id) => errors.push(
            "spec.resourceId",
            format!("{id:?} is not an ECS service resource id: write service/<cluster-name>/<service-name>"),
        ),
        _ => {}
    }
    if spec.min_capacity < 0 {
        errors.push("spec.minCapacity", "must be 0 or more");
    }
    if spec.min_capacity > spec.max_capacity {
        errors.push(
            "spec.minCapacity",
            format!(
                "{} is above maxCapacity {}; minCapacity must not exceed maxCapacity",
                spec.min_capacity, spec.max_capacity
            ),
        );
    }

    let names: Vec<(String, &str)> = spec
        .target_tracking_policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                format!("spec.targetTrackingPolicies[{i}].policyName"),
                p.policy_name.as_str(),
            )
        })
        .chain(spec.step_scaling_policies.iter().enumerate().map(|(i, p)| {
            (
                format!("spec.stepScalingPolicies[{i}].policyName"),
                p.policy_name.as_str(),
            )
        }))
        .collect();
    for (i, name) in duplicates(names.iter().map(|(_, n)| *n)) {
        errors.push(
            names[i].0.clone(),
            format!("duplicate policy name {name:?}: policy names must be unique"),
        );
    }
    // The schema's rule, checked here too so that `render`, `verify` and `import` see it:
    // Application Auto Scaling itself allows any printable name.
    let actions = spec
        .scheduled_actions
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("spec.scheduledActions[{i}].name"), a.name.as_str()));
    for (path, name) in names.iter().map(|(p, n)| (p.clone(), *n)).chain(actions) {
        if name.contains([':', '/']) {
            errors.push(path, format!("{name:?}: names may not contain ':' or '/'"));
        }
    }

    for (i, policy) in spec.target_tracking_policies.iter().enumerate() {
        let at = format!("spec.targetTrackingPolicies[{i}]");
        if !(policy.target_value.is_finite() && policy.target_value > 0.0) {
            errors.push(
                format!("{at}.targetValue"),
                "must be a number greater than 0",
            );
        }
        match (&policy.predefined_metric, &policy.customized_metric) {
            (Some(_), Some(_)) => errors.push(
                format!("{at}.customizedMetric"),
                "set predefinedMetric or customizedMetric, not both",
            ),
            (None, None) => errors.push(
                format!("{at}.predefinedMetric"),
                "set predefinedMetric or customizedMetric",
            ),
            (Some(predefined), None) => {
                let needs_label =
                    predefined.r#type == PredefinedMetricType::AlbRequestCountPerTarget;
                match (&predefined.resource_label, needs_label) {
                    (None, true) => errors.push(
                        format!("{at}.predefinedMetric.resourceLabel"),
                        "ALBRequestCountPerTarget needs resourceLabel: app/<load-balancer-name>/<id>/targetgroup/<target-group-name>/<id>",
                    ),
                    (Some(label), true) if !is_alb_resource_label(label) => errors.push(
                        format!("{at}.predefinedMetric.resourceLabel"),
                        format!("{label:?} is not app/<load-balancer-name>/<id>/targetgroup/<target-group-name>/<id>"),
                    ),
                    (Some(_), false) => errors.push(
                        format!("{at}.predefinedMetric.resourceLabel"),
                        "only ALBRequestCountPerTarget takes a resourceLabel; remove it",
                    ),
                    _ => {}
                }
            }
            (None, Some(custom)) => {
                validate_customized(custom, &format!("{at}.customizedMetric"), &mut errors)
            }
        }
    }

    for (i, policy) in spec.step_scaling_policies.iter().enumerate() {
        let at = format!("spec.stepScalingPolicies[{i}]");
        if policy.step_adjustments.is_empty() {
            errors.push(format!("{at}.stepAdjustments"), "give at least one step");
        }
        let unbounded_below = policy
            .step_adjustments
            .iter()
            .filter(|s| s.metric_interval_lower_bound.is_none())
            .count();
        let unbounded_above = policy
            .step_adjustments
            .iter()
            .filter(|s| s.metric_interval_upper_bound.is_none())
            .count();
        if unbounded_below > 1 || unbounded_above > 1 {
            errors.push(
                format!("{at}.stepAdjustments"),
                "at most one step may omit metricIntervalLowerBound and at most one metricIntervalUpperBound",
            );
        }
        for (j, step) in policy.step_adjustments.iter().enumerate() {
            if let (Some(lower), Some(upper)) = (
                step.metric_interval_lower_bound,
                step.metric_interval_upper_bound,
            ) && lower >= upper
            {
                errors.push(
                    format!("{at}.stepAdjustments[{j}].metricIntervalUpperBound"),
                    format!("{upper} must be greater than metricIntervalLowerBound {lower}"),
                );
            }
            // "The upper and lower bound can't be null in the same step adjustment."
            // Even a single step: Application Auto Scaling refuses it.
            if step.metric_interval_lower_bound.is_none()
                && step.metric_interval_upper_bound.is_none()
            {
                errors.push(
                    format!("{at}.stepAdjustments[{j}]"),
                    "a step needs metricIntervalLowerBound or metricIntervalUpperBound (AWS refuses a step with both null): e.g. metricIntervalLowerBound: 0 for every breach above the alarm threshold",
                );
            }
        }
        // "The ranges of your step adjustments can't overlap or have a gap."
        let mut steps: Vec<(usize, Option<f64>, Option<f64>)> = policy
            .step_adjustments
            .iter()
            .enumerate()
            .map(|(j, s)| {
                (
                    j,
                    s.metric_interval_lower_bound,
                    s.metric_interval_upper_bound,
                )
            })
            .collect();
        steps.sort_by(|a, b| {
            a.1.unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&b.1.unwrap_or(f64::NEG_INFINITY))
        });
        for pair in steps.windows(2) {
            let ((_, _, upper), (j, lower, _)) = (pair[0], pair[1]);
            match (upper, lower) {
                (Some(upper), Some(lower)) if upper < lower => errors.push(
                    format!("{at}.stepAdjustments[{j}].metricIntervalLowerBound"),
                    format!("a gap: the step below ends at {upper}, this one starts at {lower}"),
                ),
                (Some(upper), Some(lower)) if upper > lower => errors.push(
                    format!("{at}.stepAdjustments[{j}].metricIntervalLowerBound"),
                    format!(
                        "an overlap: the step below ends at {upper}, this one starts at {lower}"
                    ),
                ),
                (None, _) => errors.push(
                    format!("{at}.stepAdjustments[{j}].metricIntervalLowerBound"),
                    "an overlap: the step below has no upper bound",
                ),
                _ => {}
            }
        }
        // "If one step adjustment has a negative lower bound, then there must be a step
        // adjustment with a null lower bound" (and likewise for a positive upper bound).
        let steps = &policy.step_adjustments;
        if steps
            .iter()
            .any(|s| s.metric_interval_lower_bound.is_some_and(|l| l < 0.0))
            && unbounded_below == 0
        {
            errors.push(
                format!("{at}.stepAdjustments"),
                "a step starts below 0, so one step must have no metricIntervalLowerBound",
            );
        }
        if steps
            .iter()
            .any(|s| s.metric_interval_upper_bound.is_some_and(|u| u > 0.0))
            && unbounded_above == 0
        {
            errors.push(
                format!("{at}.stepAdjustments"),
                "a step ends above 0, so one step must have no metricIntervalUpperBound",
            );
        }
        if policy.min_adjustment_magnitude.is_some()
            && policy.adjustment_type != AdjustmentType::PercentChangeInCapacity
        {
            errors.push(
                format!("{at}.minAdjustmentMagnitude"),
                "only PercentChangeInCapacity takes minAdjustmentMagnitude",
            );
        }
    }

    for (i, name) in duplicates(spec.scheduled_actions.iter().map(|a| a.name.as_str())) {
        errors.push(
            format!("spec.scheduledActions[{i}].name"),
            format!("duplicate scheduled action name {name:?}"),
        );
    }
    for (i, action) in spec.scheduled_actions.iter().enumerate() {
        validate_scheduled_action(action, &format!("spec.scheduledActions[{i}]"), &mut errors);
    }
    errors
}

fn validate_customized(metric: &CustomizedMetric, at: &str, errors: &mut FieldErrors) {
    match &metric.metrics {
        Some(queries) => {
            if metric.metric_name.is_some()
                || metric.namespace.is_some()
                || metric.statistic.is_some()
            {
                errors.push(
                    format!("{at}.metrics"),
                    "use either metrics (metric math) or metricName/namespace/statistic, not both",
                );
            }
            let returning = queries
                .iter()
                .filter(|q| q.return_data.unwrap_or(true))
                .count();
            if returning != 1 {
                errors.push(
                    format!("{at}.metrics"),
                    format!("exactly one query must return data (returnData), found {returning}"),
                );
            }
            let ids: HashSet<&str> = queries.iter().map(|q| q.id.as_str()).collect();
            if ids.len() != queries.len() {
                errors.push(format!("{at}.metrics"), "query ids must be unique");
            }
            for (j, query) in queries.iter().enumerate() {
                if query.expression.is_some() == query.metric_stat.is_some() {
                    errors.push(
                        format!("{at}.metrics[{j}]"),
                        "set exactly one of expression or metricStat",
                    );
                }
            }
        }
        None => {
            if metric.metric_name.is_none() {
                errors.push(format!("{at}.metricName"), "name the CloudWatch metric");
            }
            if metric.namespace.is_none() {
                errors.push(format!("{at}.namespace"), "give the metric's namespace");
            }
            if metric.statistic.is_none() {
                errors.push(
                    format!("{at}.statistic"),
                    "give the statistic: Average, Minimum, Maximum, SampleCount or Sum",
                );
            }
        }
    }
}

fn validate_scheduled_action(action: &ScheduledAction, at: &str, errors: &mut FieldErrors) {
    if let Err(problem) = check_schedule(&action.schedule) {
        errors.push(format!("{at}.schedule"), problem);
    }
    if action.min_capacity.is_none() && action.max_capacity.is_none() {
        errors.push(
            format!("{at}.minCapacity"),
            "set minCapacity, maxCapacity or both",
        );
    }
    if let (Some(min), Some(max)) = (action.min_capacity, action.max_capacity)
        && min > max
    {
        errors.push(
            format!("{at}.minCapacity"),
            format!("{min} is above maxCapacity {max}"),
        );
    }
    let start = action.start_time.as_deref().map(|t| (t, parse_rfc3339(t)));
    let end = action.end_time.as_deref().map(|t| (t, parse_rfc3339(t)));
    for (field, value) in [("startTime", &start), ("endTime", &end)] {
        if let Some((raw, None)) = value {
            errors.push(
                format!("{at}.{field}"),
                format!("{raw:?} is not an RFC 3339 time such as 2026-12-01T08:00:00Z"),
            );
        }
    }
    if let (Some((_, Some(s))), Some((_, Some(e)))) = (start, end)
        && s >= e
    {
        errors.push(format!("{at}.endTime"), "must be after startTime");
    }
}

/// Seconds since the epoch of an RFC 3339 time (`2026-12-01T08:00:00Z`, or with an offset), or
/// `None` when it is not one. The AWS layer sends exactly these seconds, so what validation accepts
/// is what reaches AWS.
pub fn parse_rfc3339(value: &str) -> Option<i64> {
    value
        .parse::<k8s_openapi::jiff::Timestamp>()
        .ok()
        .map(|t| t.as_second())
}

/// Checks an Application Auto Scaling schedule: `at(yyyy-mm-ddThh:mm:ss)`, `rate(N unit)` or
/// `cron(minutes hours day-of-month month day-of-week year)`.
pub fn check_schedule(schedule: &str) -> Result<(), String> {
    let inner = |prefix: &str| {
        schedule
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
    };
    if let Some(at) = inner("at(") {
        let valid = at.len() == 19 && parse_rfc3339(&format!("{at}Z")).is_some();
        return if valid {
            Ok(())
        } else {
            Err(format!(
                "{schedule:?}: at() takes a time as yyyy-mm-ddThh:mm:ss, e.g. at(2026-12-24T18:00:00)"
            ))
        };
    }
    if let Some(rate) = inner("rate(") {
        let mut parts = rate.split_whitespace();
        let (value, unit) = (parts.next(), parts.next());
        let count = value.and_then(|v| v.parse::<u32>().ok()).filter(|v| *v > 0);
        let unit_ok = match (count, unit) {
            (Some(1), Some("minute" | "hour" | "day")) => true,
            (Some(n), Some("minutes" | "hours" | "days")) if n > 1 => true,
            _ => false,
        };
        return if unit_ok && parts.next().is_none() {
            Ok(())
        } else {
            Err(format!(
                "{schedule:?}: rate() takes a positive whole number and a unit, e.g. rate(1 hour) or rate(5 minutes)"
            ))
        };
    }
    if let Some(cron) = inner("cron(") {
        let fields: Vec<&str> = cron.split_whitespace().collect();
        if fields.len() != 6 {
            return Err(format!(
                "{schedule:?}: cron() takes 6 fields (minutes hours day-of-month month day-of-week year), found {}",
                fields.len()
            ));
        }
        let (dom, dow) = (fields[2], fields[4]);
        if (dom == "?") == (dow == "?") {
            return Err(format!(
                "{schedule:?}: exactly one of day-of-month and day-of-week must be '?'"
            ));
        }
        let allowed = |f: &str| {
            f.chars()
                .all(|c| c.is_ascii_alphanumeric() || ",-*/?LW#".contains(c))
        };
        if let Some(bad) = fields.iter().find(|f| !allowed(f)) {
            return Err(format!("{schedule:?}: {bad:?} is not a cron field"));
        }
        return Ok(());
    }
    Err(format!(
        "{schedule:?} is not a schedule: use at(yyyy-mm-ddThh:mm:ss), rate(N minutes|hours|days) or cron(minutes hours day-of-month month day-of-week year)"
    ))
}

fn is_service_resource_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('/').collect();
    parts.len() == 3 && parts[0] == "service" && is_ecs_name(parts[1]) && is_ecs_name(parts[2])
}

fn is_alb_resource_label(label: &str) -> bool {
    let parts: Vec<&str> = label.split('/').collect();
    parts.len() == 6
        && parts[0] == "app"
        && parts[3] == "targetgroup"
        && parts.iter().all(|p| !p.is_empty())
}

/// Whether `policy` scales `service`: same namespace, and a `serviceRef` naming it or a
/// `resourceId` naming its ECS service. (The service controller hands the desired count to such a
/// policy; the policy controller waits for such a service.)
pub fn scales(policy: &crate::api::EcsScalingPolicy, service: &crate::api::EcsService) -> bool {
    if policy.metadata.namespace != service.metadata.namespace {
        return false;
    }
    let service_object = service.metadata.name.as_deref().unwrap_or_default();
    match (&policy.spec.service_ref, &policy.spec.resource_id) {
        (Some(reference), _) => reference.name == service_object,
        (None, Some(id)) => super::service::cluster_of(service).is_some_and(|cluster| {
            *id == resource_id(
                cluster,
                super::service::service_name(service_object, &service.spec),
            )
        }),
        (None, None) => false,
    }
}

#[cfg(test)]
mod tests;
