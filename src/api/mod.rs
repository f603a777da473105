//! Custom resource types: the user's contract (`spec`) and the operator's report (`status`).
//!
//! Everything here is plain data with serde and schemars derives; the CRD YAML in `crds/` and the
//! descriptions `kubectl explain` shows are generated from these types and their doc comments.

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
