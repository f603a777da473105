//! ecs-operator: run Amazon ECS task definitions, services and autoscaling from Kubernetes.
//!
//! Layout: `api` holds the CRD types, `translate` the pure spec -> AWS request translation and
//! validation, `crdgen` the generated CRD manifests, `render` the offline `render` command and `runtime`
//! the process around the controllers (admin server, leader election, logging).

pub mod api;
pub mod aws;
pub mod controller;
pub mod crdgen;
pub mod render;
pub mod runtime;
pub mod tools;
pub mod translate;
