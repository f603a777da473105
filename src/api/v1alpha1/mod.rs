//! Version `v1alpha1` of the `ecs.operator.dev` kinds: the served and stored version today.
//!
//! A later version (see `docs/api-versions.md`) gets a module of its own beside this one, with
//! conversions between them; the rest of the operator uses the version `crate::api` re-exports.

#[allow(clippy::duplicated_attributes)]
pub mod capacity_provider;
#[allow(clippy::duplicated_attributes)]
pub mod cluster;
pub mod common;
// kube's `printcolumn(...)` repeats `type_ = ...`, which clippy mistakes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
pub mod scaling_policy;
#[allow(clippy::duplicated_attributes)]
pub mod service;
#[allow(clippy::duplicated_attributes)]
pub mod task;
#[allow(clippy::duplicated_attributes)]
pub mod task_definition;

pub use capacity_provider::{
    EcsCapacityProvider, EcsCapacityProviderSpec, EcsCapacityProviderStatus,
};
pub use cluster::{EcsCluster, EcsClusterSpec, EcsClusterStatus};
pub use common::{
    ADOPT_ANNOTATION, Condition, DELETION_POLICY_ANNOTATION, DeletionPolicy, ECS_CATEGORY, GROUP,
    ReconcileStatus, VERSION,
};
pub use scaling_policy::{EcsScalingPolicy, EcsScalingPolicySpec, EcsScalingPolicyStatus};
pub use service::{EcsService, EcsServiceSpec, EcsServiceStatus};
pub use task::{EcsTask, EcsTaskSpec, EcsTaskStatus};
pub use task_definition::{EcsTaskDefinition, EcsTaskDefinitionSpec, EcsTaskDefinitionStatus};
