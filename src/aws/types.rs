//! What the operator observes in AWS, in its own types, so nothing outside `aws` depends on SDK
//! shapes.

use crate::api::common::Tag;
use crate::api::service::ServiceSettings;

/// Defines an ECS state as an enum of the values the API reference documents, with an `Unknown`
/// arm for any value it adds later (kept as sent, never an error).
macro_rules! ecs_state {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A value the reference did not list when this was written.
            Unknown(String),
        }

        impl $name {
            /// The value as ECS spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Unknown(other) => other,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)+
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self::from(text.as_str())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::Unknown(String::new())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

ecs_state! {
    /// The status of a task definition revision.
    RevisionStatus {
        /// Registered and usable.
        Active = "ACTIVE",
        /// Deregistered.
        Inactive = "INACTIVE",
        /// Being deleted.
        DeleteInProgress = "DELETE_IN_PROGRESS",
    }
}

ecs_state! {
    /// The status of a service.
    ServiceStatus {
        /// Running.
        Active = "ACTIVE",
        /// Being deleted: its tasks are stopping.
        Draining = "DRAINING",
        /// Deleted.
        Inactive = "INACTIVE",
    }
}

ecs_state! {
    /// The status of one deployment of a service.
    DeploymentStatus {
        /// The newest deployment.
        Primary = "PRIMARY",
        /// An older deployment still running tasks.
        Active = "ACTIVE",
        /// A deployment whose tasks are all replaced.
        Inactive = "INACTIVE",
    }
}

ecs_state! {
    /// The rollout state of a deployment (rolling updates with the circuit breaker).
    RolloutState {
        /// Finished: every task of it is running and healthy.
        Completed = "COMPLETED",
        /// Failed (the circuit breaker tripped).
        Failed = "FAILED",
        /// Still rolling out.
        InProgress = "IN_PROGRESS",
    }
}

ecs_state! {
    /// The status of a service deployment (the lifecycle view of every deployment strategy).
    ServiceDeploymentStatus {
        /// Not started.
        Pending = "PENDING",
        /// Running.
        InProgress = "IN_PROGRESS",
        /// Finished.
        Successful = "SUCCESSFUL",
        /// Stopped.
        Stopped = "STOPPED",
        /// Asked to stop.
        StopRequested = "STOP_REQUESTED",
        /// A rollback was asked for.
        RollbackRequested = "ROLLBACK_REQUESTED",
        /// Rolling back.
        RollbackInProgress = "ROLLBACK_IN_PROGRESS",
        /// Rolled back.
        RollbackSuccessful = "ROLLBACK_SUCCESSFUL",
        /// The rollback failed.
        RollbackFailed = "ROLLBACK_FAILED",
    }
}

impl ServiceDeploymentStatus {
    /// Whether ECS is rolling this deployment back, or did.
    pub fn is_rollback(&self) -> bool {
        match self {
            Self::RollbackRequested
            | Self::RollbackInProgress
            | Self::RollbackSuccessful
            | Self::RollbackFailed => true,
            // A rollback state added after this was written.
            Self::Unknown(other) => other.starts_with("ROLLBACK_"),
            _ => false,
        }
    }
}

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
    pub status: RevisionStatus,
    /// The names of its essential containers (a task succeeds when they all exit 0).
    pub essential_containers: Vec<String>,
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
    pub status: ServiceStatus,
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
    /// The ARN of its newest service deployment (`currentServiceDeployment`), when ECS reports one.
    pub current_service_deployment: Option<String>,
    /// Its task sets (EXTERNAL and CODE_DEPLOY services).
    pub task_sets: Vec<TaskSetObservation>,
}

/// A task set of a service, as DescribeServices reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskSetObservation {
    /// Task set id.
    pub id: String,
    /// PRIMARY, ACTIVE or DRAINING.
    pub status: String,
    /// Task definition ARN it runs.
    pub task_definition: String,
    /// The deployer's id for it.
    pub external_id: Option<String>,
    /// Tasks it should run.
    pub computed_desired_count: i32,
    /// Running tasks.
    pub running_count: i32,
    /// Pending tasks.
    pub pending_count: i32,
    /// STEADY_STATE or STABILIZING.
    pub stability_status: Option<String>,
}

/// One deployment of a service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeploymentObservation {
    /// Deployment id.
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: DeploymentStatus,
    /// Task definition ARN it deploys.
    pub task_definition: String,
    /// IN_PROGRESS, COMPLETED or FAILED.
    pub rollout_state: Option<RolloutState>,
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
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceDeploymentObservation {
    /// Its ARN.
    pub arn: String,
    /// PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED, STOP_REQUESTED, ROLLBACK_REQUESTED,
    /// ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED.
    pub status: ServiceDeploymentStatus,
    /// Why, as ECS says it.
    pub status_reason: Option<String>,
    /// When it was created (seconds since the epoch).
    pub created_at: i64,
    /// The lifecycle stage it is in (DescribeServiceDeployments only; ListServiceDeployments
    /// does not report it).
    pub lifecycle_stage: Option<String>,
    /// Its lifecycle hook runs (DescribeServiceDeployments only).
    pub hooks: Vec<LifecycleHookObservation>,
    /// Percent of production traffic the new revision is to receive (DescribeServiceDeployments
    /// only).
    pub production_traffic_percent: Option<f64>,
    /// Percent of test traffic the new revision is to receive (DescribeServiceDeployments only).
    pub test_traffic_percent: Option<f64>,
}

impl ServiceDeploymentObservation {
    /// The deployment's id: the last segment of its ARN, what the continue and rollback
    /// annotations name.
    pub fn id(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or(&self.arn)
    }
}

/// One lifecycle hook run of a service deployment (`lifecycleHookDetails`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LifecycleHookObservation {
    /// The id ContinueServiceDeployment names.
    pub id: String,
    /// AWS_LAMBDA or PAUSE.
    pub target_type: String,
    /// The Lambda function (AWS_LAMBDA hooks).
    pub target_arn: Option<String>,
    /// IN_PROGRESS, SUCCEEDED, FAILED, TIMED_OUT or AWAITING_ACTION.
    pub status: String,
    /// When an AWAITING_ACTION hook times out (seconds since the epoch).
    pub expires_at: Option<i64>,
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
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScalingPolicyObservation {
    /// Policy name.
    pub name: String,
    /// Policy ARN.
    pub arn: String,
    /// TargetTrackingScaling or StepScaling.
    pub policy_type: String,
    /// CloudWatch alarms of the policy.
    pub alarm_names: Vec<String>,
    /// Its configuration's figures (when read from DescribeScalingPolicies).
    pub figures: PolicyFigures,
}

/// The members of a scaling policy's configuration that drift checks compare, as AWS reports them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyFigures {
    /// Target tracking: the target value.
    pub target_value: Option<f64>,
    /// Target tracking: the predefined metric type.
    pub predefined_metric_type: Option<String>,
    /// Target tracking: the predefined metric's resource label.
    pub resource_label: Option<String>,
    /// Target tracking: scale-in cooldown.
    pub scale_in_cooldown: Option<i32>,
    /// Target tracking: scale-out cooldown.
    pub scale_out_cooldown: Option<i32>,
    /// Target tracking: scale-in disabled.
    pub disable_scale_in: Option<bool>,
    /// Step scaling: the adjustment type.
    pub adjustment_type: Option<String>,
    /// Step scaling: (lower bound, upper bound, adjustment) of each step.
    pub steps: Vec<(Option<f64>, Option<f64>, i32)>,
    /// Step scaling: the cooldown.
    pub cooldown: Option<i32>,
    /// Step scaling: the metric aggregation type.
    pub metric_aggregation_type: Option<String>,
    /// Step scaling: the minimum adjustment magnitude.
    pub min_adjustment_magnitude: Option<i32>,
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
    /// Its time zone, when it has one (UTC otherwise).
    pub timezone: Option<String>,
    /// When it starts to apply, in seconds since the epoch.
    pub start_time: Option<i64>,
    /// When it stops applying, in seconds since the epoch.
    pub end_time: Option<i64>,
}

#[cfg(test)]
mod state_tests {
    use super::*;

    #[test]
    fn documented_values_parse_and_others_are_kept_as_sent() {
        assert_eq!(ServiceStatus::from("DRAINING"), ServiceStatus::Draining);
        assert_eq!(
            RolloutState::from("PAUSED"),
            RolloutState::Unknown("PAUSED".into())
        );
        assert_eq!(RolloutState::from("PAUSED").as_str(), "PAUSED");
        assert_eq!(DeploymentStatus::Primary.to_string(), "PRIMARY");
        assert!(ServiceDeploymentStatus::from("ROLLBACK_SUCCESSFUL").is_rollback());
        assert!(!ServiceDeploymentStatus::from("SUCCESSFUL").is_rollback());
        assert!(ServiceDeploymentStatus::from("ROLLBACK_SOMETHING_NEW").is_rollback());
    }
}

/// An ECS cluster as DescribeClusters reports it (with its settings and tags).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterObservation {
    /// Cluster ARN.
    pub arn: String,
    /// Cluster name.
    pub name: String,
    /// ACTIVE, PROVISIONING, DEPROVISIONING, FAILED or INACTIVE.
    pub status: String,
    /// The `containerInsights` setting's value.
    pub container_insights: Option<String>,
    /// The associated capacity providers.
    pub capacity_providers: Vec<String>,
    /// The default capacity provider strategy.
    pub default_strategy: Vec<crate::api::service::CapacityProviderStrategyItem>,
    /// Its tags.
    pub tags: Vec<Tag>,
    /// Registered container instances.
    pub registered_container_instances: i32,
    /// RUNNING tasks.
    pub running_tasks: i32,
    /// PENDING tasks.
    pub pending_tasks: i32,
    /// ACTIVE services.
    pub active_services: i32,
}

/// One container of a task, as DescribeTasks reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerObservation {
    /// Container name.
    pub name: String,
    /// PENDING, RUNNING or STOPPED.
    pub last_status: String,
    /// Its exit code, once it exited.
    pub exit_code: Option<i32>,
    /// Why it stopped (CannotPullContainerError, OutOfMemoryError, ...).
    pub reason: Option<String>,
}

/// A task, as DescribeTasks reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskObservation {
    /// Task ARN.
    pub arn: String,
    /// Its cluster's ARN.
    pub cluster_arn: String,
    /// Task definition ARN.
    pub task_definition_arn: String,
    /// PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING or
    /// STOPPED.
    pub last_status: String,
    /// RUNNING or STOPPED.
    pub desired_status: String,
    /// Who started it (an EcsTask's token, a service's deployment id).
    pub started_by: Option<String>,
    /// TaskFailedToStart, EssentialContainerExited, UserInitiated, ...
    pub stop_code: Option<String>,
    /// Why it stopped, as ECS says it.
    pub stopped_reason: Option<String>,
    /// When it started running (RFC 3339).
    pub started_at: Option<String>,
    /// When it stopped (RFC 3339).
    pub stopped_at: Option<String>,
    /// Its containers.
    pub containers: Vec<ContainerObservation>,
}

/// A capacity provider, as DescribeCapacityProviders reports it (with its tags).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CapacityProviderObservation {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// EC2_AUTOSCALING or MANAGED_INSTANCES.
    pub kind: Option<String>,
    /// PROVISIONING, ACTIVE, DEPROVISIONING or INACTIVE.
    pub status: String,
    /// The state of the last update.
    pub update_status: Option<String>,
    /// Why.
    pub update_status_reason: Option<String>,
    /// The cluster of a Managed Instances provider.
    pub cluster: Option<String>,
    /// The Auto Scaling group's ARN.
    pub auto_scaling_group_arn: Option<String>,
    /// Its tags.
    pub tags: Vec<Tag>,
}
