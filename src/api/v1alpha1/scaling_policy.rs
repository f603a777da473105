//! `EcsScalingPolicy`: Application Auto Scaling of an ECS service's desired count.
//!
//! One object owns the scalable target of one service and every policy and scheduled action on it.
//! The spec is shaped for people (camelCase, one list per policy kind); the translation layer builds
//! the Application Auto Scaling requests (whose members are PascalCase) from it.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::common::{DeletionPolicy, ReconcileStatus, aws_enum};
use super::service::LocalObjectReference;

/// Desired autoscaling of one ECS service.
#[skip_serializing_none]
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "ecs.operator.dev",
    version = "v1alpha1",
    kind = "EcsScalingPolicy",
    namespaced,
    status = "EcsScalingPolicyStatus",
    shortname = "ecssp",
    category = "ecs",
    doc = "Application Auto Scaling for the desired count of an Amazon ECS service.",
    printcolumn(name = "Target", type_ = "string", json_path = ".status.resourceId"),
    printcolumn(name = "Min", type_ = "integer", json_path = ".spec.minCapacity"),
    printcolumn(name = "Max", type_ = "integer", json_path = ".spec.maxCapacity"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("has(self.serviceRef) != has(self.resourceId)").message("set exactly one of serviceRef (an EcsService in this namespace) or resourceId (service/<cluster>/<service>)").reason(Reason::FieldValueInvalid))]
#[x_kube(validation = Rule::new("self.minCapacity <= self.maxCapacity").message("minCapacity must not exceed maxCapacity").field_path(".minCapacity").reason(Reason::FieldValueInvalid))]
#[serde(rename_all = "camelCase")]
pub struct EcsScalingPolicySpec {
    /// The `EcsService` in this namespace to scale.
    pub service_ref: Option<LocalObjectReference>,
    /// A service managed elsewhere, as `service/<cluster-name>/<service-name>`.
    #[schemars(regex(pattern = r"^service/[a-zA-Z0-9_-]+/[a-zA-Z0-9_-]+$"))]
    pub resource_id: Option<String>,
    /// Fewest tasks the autoscaler may leave running.
    #[schemars(range(min = 0))]
    pub min_capacity: i32,
    /// Most tasks the autoscaler may start.
    #[schemars(range(min = 0))]
    pub max_capacity: i32,
    /// Pause scale-in, scale-out or scheduled scaling.
    pub suspended_state: Option<SuspendedState>,
    /// IAM role Application Auto Scaling uses; omit to use its service-linked role.
    pub role_arn: Option<String>,
    /// Target tracking policies (keep a metric near a target value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_tracking_policies: Vec<TargetTrackingPolicy>,
    /// Step scaling policies (adjust by steps when a CloudWatch alarm you own fires).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_scaling_policies: Vec<StepScalingPolicy>,
    /// Scheduled changes of min/max capacity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduled_actions: Vec<ScheduledAction>,
    /// What to do in AWS when this object is deleted: `Delete` (deregister the scalable target and
    /// its policies) or `Retain`. Unset: the namespace's `ecs.operator.dev/deletion-policy`
    /// annotation, else the operator's `--default-deletion-policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
}

/// Pauses of scaling activity.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuspendedState {
    /// Pause scale-in by policies.
    pub dynamic_scaling_in_suspended: Option<bool>,
    /// Pause scale-out by policies.
    pub dynamic_scaling_out_suspended: Option<bool>,
    /// Pause scheduled actions.
    pub scheduled_scaling_suspended: Option<bool>,
}

/// A target tracking policy.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetTrackingPolicy {
    /// Policy name, unique among this object's policies (1-256 characters, no `:` or `/`).
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^[^:/]+$"))]
    pub policy_name: String,
    /// The value of the metric to hold (for utilisation: a percentage).
    pub target_value: f64,
    /// A predefined ECS metric; exactly one of this or `customizedMetric`.
    pub predefined_metric: Option<PredefinedMetric>,
    /// A CloudWatch metric of your own; exactly one of this or `predefinedMetric`.
    pub customized_metric: Option<CustomizedMetric>,
    /// Seconds after a scale-in before another scale-in.
    #[schemars(range(min = 0, max = 86400))]
    pub scale_in_cooldown: Option<i32>,
    /// Seconds after a scale-out before another scale-out.
    #[schemars(range(min = 0, max = 86400))]
    pub scale_out_cooldown: Option<i32>,
    /// Never scale in through this policy.
    pub disable_scale_in: Option<bool>,
}

/// A predefined metric of an ECS service.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PredefinedMetric {
    /// ECSServiceAverageCPUUtilization, ECSServiceAverageMemoryUtilization or ALBRequestCountPerTarget.
    pub r#type: PredefinedMetricType,
    /// For ALBRequestCountPerTarget: `app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>`.
    pub resource_label: Option<String>,
}

aws_enum! {
    /// A predefined metric for ECS services.
    PredefinedMetricType {
        EcsServiceAverageCpuUtilization = "ECSServiceAverageCPUUtilization",
        EcsServiceAverageMemoryUtilization = "ECSServiceAverageMemoryUtilization",
        AlbRequestCountPerTarget = "ALBRequestCountPerTarget",
    }
}

/// A customised CloudWatch metric: either one metric (`metricName`, `namespace`, `statistic`) or
/// metric math (`metrics`).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomizedMetric {
    /// Metric name.
    pub metric_name: Option<String>,
    /// Metric namespace.
    pub namespace: Option<String>,
    /// Metric dimensions.
    pub dimensions: Option<Vec<MetricDimension>>,
    /// Average, Minimum, Maximum, SampleCount or Sum.
    pub statistic: Option<MetricStatistic>,
    /// Metric unit.
    pub unit: Option<String>,
    /// Metric math queries; exactly one must return data.
    pub metrics: Option<Vec<MetricDataQuery>>,
}

/// A CloudWatch metric dimension.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricDimension {
    /// Dimension name.
    pub name: String,
    /// Dimension value.
    pub value: String,
}

/// One query of a metric math expression.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricDataQuery {
    /// Short id used in expressions.
    pub id: String,
    /// A math expression over other queries' ids.
    pub expression: Option<String>,
    /// Human-readable label.
    pub label: Option<String>,
    /// A metric and statistic (instead of `expression`).
    pub metric_stat: Option<MetricStat>,
    /// Whether this query is the one the policy tracks.
    pub return_data: Option<bool>,
}

/// A metric with its statistic.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricStat {
    /// The metric.
    pub metric: Metric,
    /// The statistic (Average, Sum, p99, ...).
    pub stat: String,
    /// The unit.
    pub unit: Option<String>,
}

/// A CloudWatch metric.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    /// Metric name.
    pub metric_name: Option<String>,
    /// Metric namespace.
    pub namespace: Option<String>,
    /// Metric dimensions.
    pub dimensions: Option<Vec<MetricDimension>>,
}

aws_enum! {
    /// A CloudWatch statistic.
    MetricStatistic { Average = "Average", Minimum = "Minimum", Maximum = "Maximum", SampleCount = "SampleCount", Sum = "Sum" }
}

/// A step scaling policy.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepScalingPolicy {
    /// Policy name, unique among this object's policies (1-256 characters, no `:` or `/`).
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^[^:/]+$"))]
    pub policy_name: String,
    /// ChangeInCapacity, ExactCapacity or PercentChangeInCapacity.
    pub adjustment_type: AdjustmentType,
    /// Steps by metric interval (relative to the alarm threshold).
    #[schemars(length(min = 1))]
    pub step_adjustments: Vec<StepAdjustment>,
    /// With PercentChangeInCapacity: the smallest change in tasks.
    pub min_adjustment_magnitude: Option<i32>,
    /// Seconds to wait after a scaling activity.
    pub cooldown: Option<i32>,
    /// Average, Minimum or Maximum.
    pub metric_aggregation_type: Option<MetricAggregationType>,
}

/// One step of a step scaling policy.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepAdjustment {
    /// Lower bound of the interval (inclusive); omit for negative infinity.
    pub metric_interval_lower_bound: Option<f64>,
    /// Upper bound of the interval (exclusive); omit for infinity.
    pub metric_interval_upper_bound: Option<f64>,
    /// Tasks (or percent) to add; negative removes.
    pub scaling_adjustment: i32,
}

aws_enum! {
    /// How a step changes capacity.
    AdjustmentType { ChangeInCapacity = "ChangeInCapacity", ExactCapacity = "ExactCapacity", PercentChangeInCapacity = "PercentChangeInCapacity" }
}
aws_enum! {
    /// How metric data points are aggregated for step scaling.
    MetricAggregationType { Average = "Average", Minimum = "Minimum", Maximum = "Maximum" }
}

/// A scheduled change of the capacity range.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledAction {
    /// Action name, unique among this object's actions.
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^[^:/]+$"))]
    pub name: String,
    /// `at(yyyy-mm-ddThh:mm:ss)`, `rate(N minutes|hours|days)` or `cron(min hour dom month dow year)`.
    pub schedule: String,
    /// IANA time zone of the schedule (default UTC).
    pub timezone: Option<String>,
    /// When the action starts to apply (RFC 3339).
    pub start_time: Option<String>,
    /// When the action stops applying (RFC 3339).
    pub end_time: Option<String>,
    /// New minimum capacity.
    #[schemars(range(min = 0))]
    pub min_capacity: Option<i32>,
    /// New maximum capacity.
    #[schemars(range(min = 0))]
    pub max_capacity: Option<i32>,
}

/// What the operator reports about the autoscaling of the service.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsScalingPolicyStatus {
    /// `observedGeneration` and the Ready / Reconciling / Stalled conditions.
    #[serde(flatten)]
    pub reconcile: ReconcileStatus,
    /// Resource id of the scalable target (`service/<cluster>/<service>`).
    pub resource_id: Option<String>,
    /// ARN of the scalable target.
    pub scalable_target_arn: Option<String>,
    /// Minimum capacity in force.
    pub min_capacity: Option<i32>,
    /// Maximum capacity in force.
    pub max_capacity: Option<i32>,
    /// The policies in force, with their ARNs and the CloudWatch alarms AWS made for them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyStatus>,
    /// The scheduled actions in force, with their ARNs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduled_actions: Vec<ScheduledActionStatus>,
    /// Per request (`target`, `policy/<name>`, `action/<name>`), a hash of what was last sent, so
    /// unchanged ones cost no write.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub applied: std::collections::BTreeMap<String, String>,
}

/// A scheduled action in force.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledActionStatus {
    /// Action name.
    pub name: String,
    /// Action ARN.
    pub arn: String,
}

/// A scaling policy in force.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyStatus {
    /// Policy name.
    pub policy_name: String,
    /// Policy ARN.
    pub policy_arn: String,
    /// TargetTrackingScaling or StepScaling.
    #[serde(default)]
    pub policy_type: String,
    /// Names of the CloudWatch alarms of the policy.
    #[serde(default)]
    pub alarm_names: Vec<String>,
}
