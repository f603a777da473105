//! The AWS side of the test bed: moto (the store), the proxy in front of it (records, faults,
//! overlays), the ECS model the proxy answers ECS service calls from, and AWS's throttling.

pub mod ecs_model;
pub mod moto;
pub mod proxy;
pub mod query;
pub mod throttle;
