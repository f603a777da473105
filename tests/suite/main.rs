//! The test suite as one binary: one link instead of one per area, and one control plane and one
//! moto server (both started on first use, see `common`) shared by every test, which each work in
//! a namespace and an AWS account of their own. Areas are modules, so one area runs with
//! `cargo test --test suite service_controller::`.
//!
//! `chart_upgrade` stays a binary of its own: it deletes and recreates the CRDs, which the tests
//! running beside it here rely on.

#[path = "../common/mod.rs"]
mod common;

mod architecture;
mod aws_layer;
mod bench_small;
mod chart;
mod cluster_and_task;
mod control_plane;
mod crds;
mod deletion;
mod deployments;
mod gitops;
mod guard_rails;
mod iam_policy;
mod invalid_objects;
mod kubectl;
mod migration;
mod namespace_role;
mod operator_binary;
mod pause;
mod rbac;
mod render_fixtures;
mod runtime;
mod sandbox;
mod scale;
mod scaling_controller;
mod service_controller;
mod sharding;
mod task_definition_controller;
mod tools;
