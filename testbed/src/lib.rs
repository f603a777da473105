//! Test bed for ecs-operator (dev-only): a moto launcher, and an HTTP proxy in front of it that
//! records every AWS request, injects faults and overlays answers moto cannot produce.

pub mod http;
pub mod kube_api;
pub mod moto;
pub mod proxy;

pub use moto::{MotoServer, next_account_id};
pub use proxy::{AwsProxy, Fault, FaultRule, Overlay, ProxyConfig, RecordedRequest};

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
}

impl TestbedError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
