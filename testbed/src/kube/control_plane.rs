//! A real Kubernetes control plane for the tests: kube-apiserver, kube-controller-manager
//! (namespace lifecycle, garbage collection, service-account tokens) and etcd, built from the
//! Kubernetes and etcd Go modules by the small Go program in `testbed/control-plane/` (a test tool;
//! the product stays Rust). What a cluster accepts and refuses, the tests see: RBAC, admission,
//! structural schemas, CEL, strategic-merge rules, finalizers, garbage collection.
//!
//! The binary is built on first use with `go build` (Go 1.26 and the Go module proxy) and cached
//! under `target/` by the hash of its sources; `ECS_TESTBED_CONTROL_PLANE` names a prebuilt one.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Deserialize;

use crate::TestbedError;

/// The Kubernetes release the control plane is built from (its `go.mod` pins the same).
pub const KUBERNETES_VERSION: &str = "v1.34.2";

/// What `control-plane up` prints once the API server answers.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// Admin kubeconfig (system:masters, bearer token, the cluster CA).
    pub kubeconfig: PathBuf,
    /// `https://127.0.0.1:<port>`.
    pub server: String,
    /// The admin bearer token.
    pub token: String,
    /// The cluster CA certificate (PEM file).
    pub ca_file: PathBuf,
    /// The state folder (etcd data, certificates, component logs).
    pub dir: PathBuf,
}

/// A running control plane; it stops when dropped, and with the process that started it however
/// that process ends (its stdin closes).
pub struct ControlPlane {
    endpoint: Endpoint,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl ControlPlane {
    /// Builds the binary if needed and starts a control plane with a fresh state folder, the API
    /// server on `port` (a free one when `None`).
    pub fn start(port: Option<u16>) -> Result<Self, TestbedError> {
        let binary = binary()?;
        static RUN: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ecs-testbed-control-plane-{}-{}",
            std::process::id(),
            RUN.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| TestbedError::io("control plane dir", e))?;
        let log = std::fs::File::create(dir.join("up.log"))
            .map_err(|e| TestbedError::io("control plane log", e))?;
        let mut child = Command::new(&binary)
            .arg("up")
            .arg("--dir")
            .arg(&dir)
            .arg("--port")
            .arg(port.unwrap_or(0).to_string())
            // The shared control plane lives in a static and is never dropped: `up` deletes its
            // state folder itself when stdin closes with this process.
            .arg("--remove-dir-on-stop")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| TestbedError::io(format!("starting {}", binary.display()), e))?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| TestbedError::ControlPlane("no stdout pipe".into()))?;
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver
            .recv_timeout(Duration::from_secs(300))
            .unwrap_or_default();
        let endpoint: Endpoint = match serde_json::from_str(line.trim()) {
            Ok(endpoint) => endpoint,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(dir.join("up.log")).unwrap_or_default();
                return Err(TestbedError::ControlPlane(format!(
                    "did not come up (state in {}): {}",
                    dir.display(),
                    log.trim()
                )));
            }
        };
        Ok(Self {
            endpoint,
            child,
            stdin,
        })
    }

    /// One control plane per test binary, started on first use.
    pub fn shared() -> Result<&'static ControlPlane, TestbedError> {
        static SHARED: OnceLock<Result<ControlPlane, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| ControlPlane::start(None).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| TestbedError::ControlPlane(e.clone()))
    }

    /// Where to reach it and as whom.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // Closing stdin asks `up` to stop its components and etcd.
        drop(self.stdin.take());
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a control plane can be had here: a prebuilt binary is named, or Go is installed.
pub fn available() -> bool {
    std::env::var_os("ECS_TESTBED_CONTROL_PLANE").is_some()
        || Command::new("go")
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// The control-plane binary: `$ECS_TESTBED_CONTROL_PLANE`, or the cached build of the sources in
/// `testbed/control-plane/` (built now when the sources changed).
pub fn binary() -> Result<PathBuf, TestbedError> {
    if let Some(path) = std::env::var_os("ECS_TESTBED_CONTROL_PLANE") {
        return Ok(PathBuf::from(path));
    }
    let sources = source_dir();
    let stamp = crate::tools::source_stamp(&sources, &["go.mod", "go.sum", "main.go"])?;
    let folder = crate::aws::moto::target_dir().join(format!("control-plane-{stamp}"));
    let binary = folder.join("control-plane");
    if binary.exists() {
        return Ok(binary);
    }
    std::fs::create_dir_all(&folder).map_err(|e| TestbedError::io("control plane cache", e))?;
    let staging = folder.join(format!("control-plane.{}", std::process::id()));
    build(&sources, &staging)?;
    std::fs::rename(&staging, &binary).map_err(|e| TestbedError::io("control plane cache", e))?;
    Ok(binary)
}

/// `go build` of the control plane into `output`, with the Kubernetes version stamped in (the
/// API server reports it at /version, and kubectl parses it).
pub fn build(sources: &Path, output: &Path) -> Result<(), TestbedError> {
    let (major, minor) = KUBERNETES_VERSION
        .trim_start_matches('v')
        .split_once('.')
        .map(|(major, rest)| (major, rest.split('.').next().unwrap_or("0")))
        .unwrap_or(("1", "0"));
    let ldflags = [
        "-s -w".to_owned(),
        format!("-X k8s.io/component-base/version.gitVersion={KUBERNETES_VERSION}"),
        format!("-X k8s.io/component-base/version.gitMajor={major}"),
        format!("-X k8s.io/component-base/version.gitMinor={minor}"),
        "-X k8s.io/component-base/version.gitTreeState=clean".to_owned(),
        format!("-X k8s.io/client-go/pkg/version.gitVersion={KUBERNETES_VERSION}"),
    ]
    .join(" ");
    crate::tools::go_build(sources, output, &ldflags)
        .map_err(|e| TestbedError::ControlPlane(e.to_string()))
}

/// The Go sources of the control plane.
pub fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("control-plane")
}
