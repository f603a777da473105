//! What the operator observes in AWS, in its own types, so nothing outside `aws` depends on SDK
//! shapes.

use crate::api::common::Tag;
use crate::api::service::ServiceSettings;

/// A task definition revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskDefinitionRevision {
    /// Its ARN.
    pub arn: String,
    /// Its family.
    pub family: String,
    /// Its revision number.
    pub revision: i32,
    /// ACTIVE, INACTIVE or DELETE_IN_PROGRESS.
    pub status: String,
}

/// An ECS service as DescribeServices reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceObservation {
    /// Service ARN.
    pub arn: String,
    /// Service name.
    pub name: String,
    /// Cluster ARN.
    pub cluster_arn: String,
    /// ACTIVE, DRAINING or INACTIVE.
    pub status: String,
    /// Desired tasks.
    pub desired_count: i32,
    /// Running tasks.
    pub running_count: i32,
    /// Pending tasks.
    pub pending_count: i32,
    /// Task definition ARN of the service (its primary deployment's).
    pub task_definition: String,
    /// Launch type, when the service uses one.
    pub launch_type: Option<String>,
    /// Deployments, PRIMARY first as ECS lists them.
    pub deployments: Vec<DeploymentObservation>,
    /// The newest service events, newest first.
    pub events: Vec<ServiceEventObservation>,
    /// The service's settings in the spec's shape (Service Connect, volumes and VPC Lattice from
    /// the PRIMARY deployment).
    pub settings: ServiceSettings,
    /// The service's tags (when DescribeServices was asked for them).
    pub tags: Vec<Tag>,
}

/// One deployment of a service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeploymentObservation {
    /// Deployment id.
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: String,
    /// Task definition ARN it deploys.
    pub task_definition: String,
    /// IN_PROGRESS, COMPLETED or FAILED.
    pub rollout_state: Option<String>,
    /// ECS's explanation of the rollout state.
    pub rollout_state_reason: Option<String>,
    /// Desired tasks.
    pub desired_count: i32,
    /// Running tasks.
    pub running_count: i32,
    /// Pending tasks.
    pub pending_count: i32,
    /// Tasks that failed to start.
    pub failed_tasks: i32,
    /// When the deployment started (seconds since the epoch).
    pub created_at: Option<i64>,
}

/// A service deployment (the lifecycle view of BLUE_GREEN, LINEAR and CANARY deployments).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceDeploymentObservation {
    /// Its ARN.
    pub arn: String,
    /// PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED, STOP_REQUESTED, ROLLBACK_REQUESTED,
    /// ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED.
    pub status: String,
    /// Why, as ECS says it.
    pub status_reason: Option<String>,
    /// When it was created (seconds since the epoch).
    pub created_at: i64,
}

/// A service event (placement failures, steady state, ...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceEventObservation {
    /// Event id.
    pub id: String,
    /// Seconds since the epoch.
    pub created_at: Option<i64>,
    /// The message.
    pub message: String,
}

/// An Application Auto Scaling scalable target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScalableTargetObservation {
    /// `service/<cluster>/<service>`.
    pub resource_id: String,
    /// Target ARN, when reported.
    pub arn: Option<String>,
    /// Minimum capacity.
    pub min_capacity: i32,
    /// Maximum capacity.
    pub max_capacity: i32,
    /// Role used.
    pub role_arn: String,
    /// Suspended scaling activities: (dynamic in, dynamic out, scheduled).
    pub suspended: (bool, bool, bool),
}

/// A scaling policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScalingPolicyObservation {
    /// Policy name.
    pub name: String,
    /// Policy ARN.
    pub arn: String,
    /// TargetTrackingScaling or StepScaling.
    pub policy_type: String,
    /// CloudWatch alarms of the policy.
    pub alarm_names: Vec<String>,
}

/// A scheduled action.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScheduledActionObservation {
    /// Action name.
    pub name: String,
    /// Action ARN.
    pub arn: String,
    /// Schedule expression.
    pub schedule: String,
    /// New minimum capacity.
    pub min_capacity: Option<i32>,
    /// New maximum capacity.
    pub max_capacity: Option<i32>,
}
