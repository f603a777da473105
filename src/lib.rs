//! ecs-operator: run Amazon ECS task definitions, services and autoscaling from Kubernetes.
//!
//! Layout: `api` holds the CRD types, `translate` the pure spec -> AWS request translation and
//! validation, `crdgen` the generated CRD manifests and `render` the offline `render` command.

pub mod api;
pub mod aws;
pub mod controller;
pub mod crdgen;
pub mod render;
pub mod translate;
