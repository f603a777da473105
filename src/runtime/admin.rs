//! The admin HTTP server: `/healthz` (the process serves), `/readyz` (a standby, or a leader
//! whose controllers run with synced caches) and `/metrics` (Prometheus text, or OpenMetrics
//! when the scraper asks for it).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

/// Where the process is in its life, for the readiness probe and the leader metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Role {
    /// Connecting, joining the election.
    Starting = 0,
    /// Waiting for the Lease: healthy, ready (it serves metrics and can take over).
    Standby = 1,
    /// Holding the Lease (or running without election): ready once the controllers' caches are
    /// synced.
    Leading = 2,
    /// Shutting down: not ready, so no new traffic and no rollout waits on it.
    Stopping = 3,
}

impl Role {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Standby,
            2 => Self::Leading,
            3 => Self::Stopping,
            _ => Self::Starting,
        }
    }
}

/// Whether the controllers are running with synced watch caches.
pub type WorkloadReady = Arc<dyn Fn() -> bool + Send + Sync>;

/// The process state the probes report; cloning shares it.
#[derive(Clone)]
pub struct Status {
    role: Arc<AtomicU8>,
    leader: Gauge,
    workload_ready: WorkloadReady,
    lease_reachable: Arc<Mutex<Option<Arc<AtomicBool>>>>,
}

impl std::fmt::Debug for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Status")
            .field("role", &self.role())
            .finish_non_exhaustive()
    }
}

impl Status {
    /// A status in `Starting`, with its `leader` gauge in `registry`.
    pub fn new(registry: &Mutex<Registry>, workload_ready: WorkloadReady) -> Self {
        let leader = Gauge::default();
        if let Ok(mut registry) = registry.lock() {
            registry.register(
                "leader",
                "1 while this process holds the leader Lease (or runs without election)",
                leader.clone(),
            );
        }
        Self {
            role: Arc::new(AtomicU8::new(Role::Starting as u8)),
            leader,
            workload_ready,
            lease_reachable: Arc::new(Mutex::new(None)),
        }
    }

    /// Makes a standby ready only while it can read the Lease (it could not take over
    /// otherwise).
    pub fn set_lease_reachable(&self, reachable: Arc<AtomicBool>) {
        if let Ok(mut slot) = self.lease_reachable.lock() {
            *slot = Some(reachable);
        }
    }

    /// Moves to `role`.
    pub fn set_role(&self, role: Role) {
        self.role.store(role as u8, Ordering::SeqCst);
        self.leader.set(i64::from(role == Role::Leading));
    }

    /// The current role.
    pub fn role(&self) -> Role {
        Role::from_u8(self.role.load(Ordering::SeqCst))
    }

    fn lease_reachable(&self) -> bool {
        self.lease_reachable
            .lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(|r| r.load(Ordering::SeqCst)))
            .unwrap_or(true)
    }

    /// Readiness and why.
    pub fn readiness(&self) -> (bool, &'static str) {
        match self.role() {
            Role::Starting => (false, "starting"),
            Role::Standby if self.lease_reachable() => {
                (true, "standby: waiting for the leader Lease")
            }
            Role::Standby => (false, "standby: cannot read the leader Lease"),
            Role::Leading if (self.workload_ready)() => (true, "leader: controllers running"),
            Role::Leading => (false, "leader: watch caches not synced yet"),
            Role::Stopping => (false, "shutting down"),
        }
    }
}

#[derive(Clone)]
struct AdminState {
    status: Status,
    registry: Arc<Mutex<Registry>>,
}

/// The routes, for [`serve`] and tests.
pub fn router(status: Status, registry: Arc<Mutex<Registry>>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(AdminState { status, registry })
}

/// Why the admin server could not run.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The address is taken or not ours.
    #[error("cannot listen on the admin address {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server stopped.
    #[error("the admin server stopped: {0}")]
    Serve(std::io::Error),
}

/// Binds the admin address (failing early, before any reconcile, when it is taken).
pub async fn bind(address: &str) -> Result<TcpListener, AdminError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| AdminError::Bind {
            address: address.to_owned(),
            source,
        })
}

/// Serves the admin routes on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    status: Status,
    registry: Arc<Mutex<Registry>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AdminError> {
    axum::serve(listener, router(status, registry))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(AdminError::Serve)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AdminState>) -> Response {
    let (ready, why) = state.status.readiness();
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, format!("{why}\n")).into_response()
}

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn metrics(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let mut text = String::new();
    let encoded = match state.registry.lock() {
        Ok(registry) if openmetrics => {
            prometheus_client::encoding::text::encode(&mut text, &registry)
        }
        Ok(registry) => prometheus_client::encoding::prometheus_text::encode(&mut text, &registry),
        Err(_) => Err(std::fmt::Error),
    };
    match encoded {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                if openmetrics {
                    OPENMETRICS
                } else {
                    PROMETHEUS_TEXT
                },
            )],
            text,
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot encode the metrics\n",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(address: std::net::SocketAddr, path: &str, accept: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        response
    }

    #[tokio::test]
    async fn probes_follow_the_role_and_metrics_negotiate_the_format() {
        let registry = Arc::new(Mutex::new(Registry::with_prefix("ecs_operator")));
        let synced = Arc::new(AtomicBool::new(false));
        let flag = synced.clone();
        let status = Status::new(&registry, Arc::new(move || flag.load(Ordering::SeqCst)));
        let listener = bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(serve(
            listener,
            status.clone(),
            registry,
            std::future::pending(),
        ));

        assert!(
            get(address, "/healthz", "*/*")
                .await
                .starts_with("HTTP/1.1 200")
        );
        let starting = get(address, "/readyz", "*/*").await;
        assert!(starting.starts_with("HTTP/1.1 503"), "{starting}");
        status.set_role(Role::Standby);
        assert!(
            get(address, "/readyz", "*/*")
                .await
                .starts_with("HTTP/1.1 200")
        );
        status.set_role(Role::Leading);
        let unsynced = get(address, "/readyz", "*/*").await;
        assert!(unsynced.starts_with("HTTP/1.1 503") && unsynced.contains("not synced"));
        synced.store(true, Ordering::SeqCst);
        assert!(
            get(address, "/readyz", "*/*")
                .await
                .starts_with("HTTP/1.1 200")
        );

        let prometheus = get(address, "/metrics", "text/plain").await;
        assert!(
            prometheus.contains("text/plain; version=0.0.4"),
            "{prometheus}"
        );
        assert!(prometheus.contains("ecs_operator_leader 1"), "{prometheus}");
        assert!(!prometheus.contains("# EOF"), "{prometheus}");
        let openmetrics = get(address, "/metrics", "application/openmetrics-text").await;
        assert!(
            openmetrics.contains("application/openmetrics-text"),
            "{openmetrics}"
        );
        assert!(openmetrics.contains("# EOF"), "{openmetrics}");

        status.set_role(Role::Stopping);
        assert!(
            get(address, "/readyz", "*/*")
                .await
                .starts_with("HTTP/1.1 503")
        );
        assert!(
            get(address, "/metrics", "*/*")
                .await
                .contains("ecs_operator_leader 0")
        );
        server.abort();
    }

    #[tokio::test]
    async fn a_taken_address_is_a_clear_error() {
        let first = bind("127.0.0.1:0").await.expect("bind");
        let address = first.local_addr().expect("address").to_string();
        let error = bind(&address).await.expect_err("taken");
        assert!(error.to_string().contains(&address), "{error}");
    }
}
