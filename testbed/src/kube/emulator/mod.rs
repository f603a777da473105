//! An in-memory emulator of the Kubernetes API server, speaking the real REST protocol over HTTP so
//! that the real `kube` client, `kube-runtime` and `kubectl` can be tested against it. See
//! testbed/README.md for what it implements and where it differs from a real API server.

mod apply;
pub mod discovery;
pub mod events;
pub mod schema;
pub mod selectors;
pub mod server;
pub mod store;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::TestbedError;

pub use server::Server;

/// A running emulator; it stops when dropped.
pub struct KubeApi {
    url: String,
    server: Arc<Server>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl KubeApi {
    /// Starts on 127.0.0.1 (`port`, or a free one) in the current tokio runtime.
    pub async fn start(port: Option<u16>) -> Result<Self, TestbedError> {
        let listener = TcpListener::bind(("127.0.0.1", port.unwrap_or(0)))
            .await
            .map_err(|e| TestbedError::io("binding the Kubernetes API emulator", e))?;
        let address = listener
            .local_addr()
            .map_err(|e| TestbedError::io("emulator address", e))?;
        let server = Arc::new(Server::new(address.to_string()));
        let serving = server.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let server = serving.clone();
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request| server::handle(server.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            url: format!("http://{address}"),
            server,
            task,
        })
    }

    /// Base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server state (store, fault knobs) for in-process tests.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The server state, shared (for a task that works its knobs).
    pub fn server_arc(&self) -> Arc<Server> {
        self.server.clone()
    }

    /// A kubeconfig for this emulator, as kubectl and kube read it.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: ecs-testbed\n  cluster:\n    server: {}\nusers:\n- name: ecs-testbed\n  user: {{}}\ncontexts:\n- name: ecs-testbed\n  context:\n    cluster: ecs-testbed\n    user: ecs-testbed\n    namespace: default\ncurrent-context: ecs-testbed\n",
            self.url
        )
    }

    /// Writes the kubeconfig to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<PathBuf, TestbedError> {
        std::fs::write(path, self.kubeconfig())
            .map_err(|e| TestbedError::io(format!("writing {}", path.display()), e))?;
        Ok(path.to_owned())
    }
}
