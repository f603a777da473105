//! The commands beside `run` that read a live account: `diff` (what applying files would call in
//! AWS), `import` (manifests that take over what already runs) and `verify` (what AWS would
//! refuse). They only read: none of them writes to AWS or to Kubernetes.

pub mod diff;
pub mod import;
pub mod manifests;
pub mod verify;

use std::path::PathBuf;
use std::sync::Arc;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::aws::{AwsClients, AwsSettings};
use crate::controller::{Context, ControllerConfig};

/// Where the tools find Kubernetes and AWS.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// Kubeconfig file (otherwise $KUBECONFIG or ~/.kube/config).
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (otherwise its current context).
    pub kube_context: Option<String>,
    /// AWS region (otherwise the AWS default chain).
    pub aws_region: Option<String>,
    /// AWS endpoint override.
    pub aws_endpoint_url: Option<String>,
}

impl Connection {
    /// The AWS clients, with the operator's default rate budgets.
    pub async fn aws(&self) -> AwsClients {
        AwsClients::connect(&AwsSettings {
            region: self.aws_region.clone(),
            endpoint_url: self.aws_endpoint_url.clone(),
            ..Default::default()
        })
        .await
    }

    /// A controller context over the kubeconfig's cluster and the AWS account.
    pub async fn context(&self) -> Result<Arc<Context>, String> {
        let config = kube_config(self.kubeconfig.as_ref(), self.kube_context.as_deref()).await?;
        let client = kube::Client::try_from(config).map_err(|e| e.to_string())?;
        Ok(Arc::new(Context::new(
            client,
            self.aws().await,
            ControllerConfig::default(),
            "ecs-operator-cli",
        )))
    }
}

/// The Kubernetes client configuration: `path` if given, else the default kubeconfig (with
/// `context` if given), else the in-cluster service account.
pub async fn kube_config(
    path: Option<&PathBuf>,
    context: Option<&str>,
) -> Result<kube::Config, String> {
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..Default::default()
    };
    match (path, context) {
        (Some(path), _) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| format!("{}: {e}", path.display()))
        }
        (None, Some(_)) => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| e.to_string()),
        (None, None) => kube::Config::infer().await.map_err(|e| e.to_string()),
    }
}
