//! Custom resource types: the user's contract (`spec`) and the operator's report (`status`).
//!
//! Everything here is plain data with serde and schemars derives; the CRD YAML in `crds/` and the
//! descriptions `kubectl explain` shows are generated from these types and their doc comments.
//! The types live in a module per API version ([`v1alpha1`]); this module re-exports the
//! version the controllers work with (the storage version), so moving them to a later version
//! is one change here (`docs/api-versions.md` has the plan).

pub mod v1alpha1;

pub use v1alpha1::{
    ADOPT_ANNOTATION, Condition, DELETION_POLICY_ANNOTATION, DeletionPolicy, ECS_CATEGORY,
    EcsCapacityProvider, EcsCapacityProviderSpec, EcsCapacityProviderStatus, EcsCluster,
    EcsClusterSpec, EcsClusterStatus, EcsScalingPolicy, EcsScalingPolicySpec,
    EcsScalingPolicyStatus, EcsService, EcsServiceSpec, EcsServiceStatus, EcsTask,
    EcsTaskDefinition, EcsTaskDefinitionSpec, EcsTaskDefinitionStatus, EcsTaskSpec, EcsTaskStatus,
    GROUP, ReconcileStatus, VERSION,
};
pub use v1alpha1::{
    capacity_provider, cluster, common, scaling_policy, service, task, task_definition,
};
