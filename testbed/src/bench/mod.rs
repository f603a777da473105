//! The whole local stack for benchmarks: moto, the AWS proxy in front of it, the Kubernetes API
//! emulator, and the real `ecs-operator` binary as a separate process (so its memory and CPU are
//! its own and measurable). Objects are created and watched over plain HTTP, as any client would.

pub mod accounts;
pub mod kube_counts;
pub mod restart;
pub mod sandbox;
pub mod scenarios;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::http::{self, HttpClient};
use crate::kube::control_plane::ControlPlane;
use crate::kube::emulator::KubeApi;
use crate::{AwsProxy, MotoServer, ProxyConfig, TestbedError};

/// The API path of the operator's custom resources of `plural` in namespace `default`.
pub fn collection(plural: &str) -> String {
    collection_in("default", plural)
}

/// The API path of the operator's custom resources of `plural` in `namespace`.
pub fn collection_in(namespace: &str, plural: &str) -> String {
    format!("/apis/ecs.operator.dev/v1alpha1/namespaces/{namespace}/{plural}")
}

/// The Kubernetes API a stack runs on.
pub enum Kube {
    /// The in-process emulator (the benchmark's: it counts requests and drops watches on cue).
    Emulator(KubeApi),
    /// A real kube-apiserver, kube-controller-manager and etcd, reached over plain HTTP through
    /// `kubectl proxy` (which adds the admin credentials and the TLS).
    ControlPlane {
        /// The control plane.
        plane: ControlPlane,
        /// `kubectl proxy`, killed with the stack.
        proxy: KubectlProxy,
    },
}

impl Kube {
    /// The plain-HTTP URL of the API.
    pub fn url(&self) -> &str {
        match self {
            Self::Emulator(api) => api.url(),
            Self::ControlPlane { proxy, .. } => &proxy.url,
        }
    }

    /// The emulator, for what only it can do (request counts, dropping watches).
    pub fn emulator(&self) -> Result<&KubeApi, TestbedError> {
        match self {
            Self::Emulator(api) => Ok(api),
            Self::ControlPlane { .. } => Err(TestbedError::Http(
                "this needs the Kubernetes API emulator, not the real control plane".into(),
            )),
        }
    }

    /// Whether this is the real control plane.
    pub fn is_real(&self) -> bool {
        matches!(self, Self::ControlPlane { .. })
    }
}

/// A `kubectl proxy` process serving a cluster on loopback.
pub struct KubectlProxy {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl KubectlProxy {
    /// Starts `kubectl proxy` for `kubeconfig` on a free loopback port.
    pub fn start(kubeconfig: &Path) -> Result<Self, TestbedError> {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new("kubectl")
            .args(["proxy", "--port=0", "--address=127.0.0.1"])
            .env("KUBECONFIG", kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| TestbedError::io("starting kubectl proxy", e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| TestbedError::Tool("kubectl proxy: no stdout".into()))?;
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        // "Starting to serve on 127.0.0.1:PORT"
        let Some(address) = line.trim().rsplit(' ').next().filter(|a| a.contains(':')) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(TestbedError::Tool(format!(
                "kubectl proxy did not start: {line:?}"
            )));
        };
        Ok(Self {
            url: format!("http://{address}"),
            child,
        })
    }
}

impl Drop for KubectlProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The operator process's memory and CPU, from `/proc`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// Peak resident set (`VmHWM`), KiB.
    pub peak_kib: u64,
    /// Resident anonymous memory now (`RssAnon`: the heap and stacks), KiB.
    pub anon_kib: u64,
    /// Resident file-backed memory now (`RssFile`: mostly the binary's own pages), KiB.
    pub file_kib: u64,
    /// User plus system CPU time so far.
    pub cpu_seconds: f64,
}

/// A running stack.
pub struct Stack {
    /// The moto server (AWS state).
    pub moto: MotoServer,
    /// The proxy the operator talks to (records every call).
    pub proxy: AwsProxy,
    /// The Kubernetes API (the emulator, or a real control plane).
    pub kube: Kube,
    /// The account the proxy isolates this stack's AWS state in.
    pub account: String,
    operator: Option<Child>,
    kubeconfig: PathBuf,
    http: HttpClient,
}

impl Stack {
    /// Starts moto, the proxy and the emulator, and installs the CRDs `operator crds` prints.
    pub async fn start(operator: &Path, dir: &Path) -> Result<Self, TestbedError> {
        Self::start_on(operator, dir, false).await
    }

    /// Like [`Stack::start`], on a real control plane when `real` (built with Go on first use).
    pub async fn start_on(operator: &Path, dir: &Path, real: bool) -> Result<Self, TestbedError> {
        let moto = MotoServer::start(None)?;
        let account = crate::next_account_id();
        let proxy = AwsProxy::start(ProxyConfig {
            upstream: moto.url().to_owned(),
            account_id: Some(account.clone()),
            ..Default::default()
        })
        .await?;
        std::fs::create_dir_all(dir).map_err(|e| TestbedError::io("bench dir", e))?;
        let (kube, kubeconfig) = if real {
            let plane = tokio::task::spawn_blocking(|| ControlPlane::start(None))
                .await
                .map_err(|e| TestbedError::ControlPlane(e.to_string()))??;
            // The admin kubeconfig, where the emulator's would be (`<dir>/kubeconfig`).
            let kubeconfig = dir.join("kubeconfig");
            std::fs::copy(&plane.endpoint().kubeconfig, &kubeconfig)
                .map_err(|e| TestbedError::io("copying the kubeconfig", e))?;
            let proxy = KubectlProxy::start(&kubeconfig)?;
            (Kube::ControlPlane { plane, proxy }, kubeconfig)
        } else {
            let api = KubeApi::start(None).await?;
            let kubeconfig = api.write_kubeconfig(&dir.join("kubeconfig"))?;
            (Kube::Emulator(api), kubeconfig)
        };
        let stack = Self {
            moto,
            proxy,
            kube,
            account,
            operator: None,
            kubeconfig,
            http: http::client(),
        };
        let output = Command::new(operator)
            .arg("crds")
            .output()
            .map_err(|e| TestbedError::io(format!("{} crds", operator.display()), e))?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        for document in text.split("\n---\n") {
            let crd: Value = serde_yaml::from_str(document)
                .map_err(|e| TestbedError::Http(format!("CRD YAML: {e}")))?;
            stack
                .post(
                    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                    &crd,
                )
                .await?;
        }
        if stack.kube.is_real() {
            // A real API server serves a CRD's kind only once it is Established.
            let output = Command::new("kubectl")
                .args([
                    "wait",
                    "--for=condition=Established",
                    "crd",
                    "--all",
                    "--timeout=60s",
                ])
                .env("KUBECONFIG", &stack.kubeconfig)
                .output()
                .map_err(|e| TestbedError::io("kubectl wait", e))?;
            if !output.status.success() {
                return Err(TestbedError::Tool(format!(
                    "the CRDs were not established: {}",
                    String::from_utf8_lossy(&output.stderr)
                )));
            }
        }
        Ok(stack)
    }

    /// Starts the operator process with `args` after `run` (plus the stack's endpoints); its log
    /// goes to this process's stderr.
    pub fn start_operator(&mut self, operator: &Path, args: &[String]) -> Result<(), TestbedError> {
        self.start_operator_logged(operator, args, None)
    }

    /// Like [`Stack::start_operator`], with the log written to `log` when given.
    pub fn start_operator_logged(
        &mut self,
        operator: &Path,
        args: &[String],
        log: Option<&Path>,
    ) -> Result<(), TestbedError> {
        let stderr = match log {
            Some(path) => Stdio::from(
                std::fs::File::create(path)
                    .map_err(|e| TestbedError::io(format!("creating {}", path.display()), e))?,
            ),
            None => Stdio::inherit(),
        };
        let child = Command::new(operator)
            .arg("run")
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("ECS_OPERATOR_AWS_ENDPOINT_URL", self.proxy.url())
            .env("ECS_OPERATOR_AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "warn")
            .env("ECS_OPERATOR_ADMIN_BIND_ADDRESS", "127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| TestbedError::io("starting the operator", e))?;
        self.operator = Some(child);
        Ok(())
    }

    /// The kubeconfig of the stack's Kubernetes API.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Peak resident memory (KiB) and CPU seconds of the operator process so far.
    pub fn operator_usage(&self) -> Option<Usage> {
        let pid = self.operator.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kib = |field: &str| -> Option<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name (which may contain spaces) end with ')'.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(Usage {
            peak_kib: kib("VmHWM:")?,
            anon_kib: kib("RssAnon:").unwrap_or(0),
            file_kib: kib("RssFile:").unwrap_or(0),
            cpu_seconds: ticks / clock_ticks_per_second(),
        })
    }

    /// Stops the operator as Kubernetes stops a pod (SIGTERM: it finishes its passes and hands
    /// its Lease back) and waits up to `grace` for it to exit before a SIGKILL.
    pub fn terminate_operator(&mut self, grace: Duration) {
        if let Some(child) = &mut self.operator {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        self.stop_operator();
    }

    /// Stops the operator (SIGKILL: the benchmark has what it needs).
    pub fn stop_operator(&mut self) {
        if let Some(mut child) = self.operator.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// POSTs `body` to the emulator.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, TestbedError> {
        let (status, answer) = http::send(
            &self.http,
            "POST",
            &format!("{}{path}", self.kube.url()),
            &[("content-type", "application/json")],
            Bytes::from(body.to_string()),
        )
        .await?;
        if !(200..300).contains(&status) {
            return Err(TestbedError::Http(format!(
                "POST {path}: {status} {}",
                String::from_utf8_lossy(&answer)
            )));
        }
        serde_json::from_slice(&answer).map_err(|e| TestbedError::Http(e.to_string()))
    }

    /// GETs a path of the emulator as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, TestbedError> {
        let (status, answer) = http::send(
            &self.http,
            "GET",
            &format!("{}{path}", self.kube.url()),
            &[],
            Bytes::new(),
        )
        .await?;
        if status != 200 {
            return Err(TestbedError::Http(format!("GET {path}: {status}")));
        }
        serde_json::from_slice(&answer).map_err(|e| TestbedError::Http(e.to_string()))
    }

    /// Creates `objects` in `plural` (each in its `metadata.namespace`), `concurrency` requests
    /// at a time.
    pub async fn create_all(
        &self,
        plural: &str,
        objects: Vec<Value>,
        concurrency: usize,
    ) -> Result<(), TestbedError> {
        use futures::StreamExt;
        let results: Vec<Result<Value, TestbedError>> = futures::stream::iter(objects)
            .map(|object| {
                let namespace = object["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default");
                let path = collection_in(namespace, plural);
                async move { self.post(&path, &object).await }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        results
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map(|_| ())
    }

    /// How many objects of `plural` (in every namespace) are Ready at their generation, and how
    /// many are Stalled.
    pub async fn health(&self, plural: &str) -> Result<Health, TestbedError> {
        let list = self
            .get(&format!("/apis/ecs.operator.dev/v1alpha1/{plural}"))
            .await?;
        let mut health = Health::default();
        for item in list["items"].as_array().into_iter().flatten() {
            health.total += 1;
            let condition = |type_: &str| {
                item["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|c| c["type"] == type_)
                    .and_then(|c| c["status"].as_str())
                    .map(str::to_owned)
            };
            let current = item["status"]["observedGeneration"] == item["metadata"]["generation"];
            if current && condition("Ready").as_deref() == Some("True") {
                health.ready += 1;
            }
            if condition("Stalled").as_deref() == Some("True") {
                health.stalled += 1;
            }
        }
        Ok(health)
    }

    /// Waits until `expected` objects of `plural` are Ready; returns how long that took from
    /// `since`, and how many Stalled objects were ever seen on the way.
    pub async fn wait_ready(
        &self,
        plural: &str,
        expected: usize,
        since: Instant,
        timeout: Duration,
    ) -> Result<(Duration, usize), TestbedError> {
        let mut stalled_seen = 0;
        loop {
            let health = self.health(plural).await?;
            stalled_seen = stalled_seen.max(health.stalled);
            if health.ready >= expected {
                return Ok((since.elapsed(), stalled_seen));
            }
            if since.elapsed() > timeout {
                return Err(TestbedError::Http(format!(
                    "{plural}: {} of {expected} Ready after {timeout:?} ({} Stalled)",
                    health.ready, health.stalled
                )));
            }
            // Each look lists every object of the kind from the emulator, in this process: at
            // 1,000 objects every 100 ms that took CPU the stack under test needed (2 cores).
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// AWS calls the proxy saw, by operation (every attempt, whatever its outcome).
    pub fn aws_calls(&self) -> BTreeMap<String, usize> {
        let mut calls = BTreeMap::new();
        for request in self.proxy.requests() {
            *calls.entry(request.operation).or_insert(0) += 1;
        }
        calls
    }

    /// Sends an ECS JSON call straight to moto in this stack's account (not through the proxy, so
    /// the record stays the operator's).
    pub async fn ecs(&self, operation: &str, body: &Value) -> Result<Value, TestbedError> {
        ecs_call(&self.http, self.moto.url(), &self.account, operation, body).await
    }

    /// ACTIVE revisions per family in this stack's account.
    pub async fn active_revisions_per_family(
        &self,
    ) -> Result<BTreeMap<String, usize>, TestbedError> {
        self.revisions_per_family("ACTIVE").await
    }

    /// Revisions in `status` (ACTIVE or INACTIVE) per family in this stack's account.
    pub async fn revisions_per_family(
        &self,
        status: &str,
    ) -> Result<BTreeMap<String, usize>, TestbedError> {
        let mut families = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"status": status, "maxResults": 100});
            if let Some(token) = &token {
                body["nextToken"] = json!(token);
            }
            let page = self.ecs("ListTaskDefinitions", &body).await?;
            for arn in page["taskDefinitionArns"].as_array().into_iter().flatten() {
                if let Some((family, _)) = arn
                    .as_str()
                    .and_then(|a| a.rsplit_once("task-definition/"))
                    .and_then(|(_, rest)| rest.rsplit_once(':'))
                {
                    *families.entry(family.to_owned()).or_insert(0) += 1;
                }
            }
            match page["nextToken"].as_str() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(families),
            }
        }
    }

    /// A JSON merge patch of an emulator object.
    pub async fn merge_patch(&self, path: &str, body: &Value) -> Result<Value, TestbedError> {
        let (status, answer) = http::send(
            &self.http,
            "PATCH",
            &format!("{}{path}", self.kube.url()),
            &[("content-type", "application/merge-patch+json")],
            Bytes::from(body.to_string()),
        )
        .await?;
        if status != 200 {
            return Err(TestbedError::Http(format!(
                "PATCH {path}: {status} {}",
                String::from_utf8_lossy(&answer)
            )));
        }
        serde_json::from_slice(&answer).map_err(|e| TestbedError::Http(e.to_string()))
    }

    /// Deletes an emulator object (absent is fine).
    pub async fn delete(&self, path: &str) -> Result<(), TestbedError> {
        let (status, answer) = http::send(
            &self.http,
            "DELETE",
            &format!("{}{path}", self.kube.url()),
            &[],
            Bytes::new(),
        )
        .await?;
        if status >= 300 && status != 404 {
            return Err(TestbedError::Http(format!(
                "DELETE {path}: {status} {}",
                String::from_utf8_lossy(&answer)
            )));
        }
        Ok(())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop_operator();
    }
}

/// Ready / Stalled counts of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// Objects listed.
    pub total: usize,
    /// Ready at their current generation.
    pub ready: usize,
    /// Stalled.
    pub stalled: usize,
}

/// One Application Auto Scaling JSON-protocol call to `url` in `account`.
pub async fn autoscaling_call(
    client: &HttpClient,
    url: &str,
    account: &str,
    operation: &str,
    body: &Value,
) -> Result<Value, TestbedError> {
    let service = ("application-autoscaling", "AnyScaleFrontendService");
    aws_json_call(client, url, account, service, operation, body).await
}

/// One ECS JSON-protocol call to `url` in `account` (moto checks no signature).
pub async fn ecs_call(
    client: &HttpClient,
    url: &str,
    account: &str,
    operation: &str,
    body: &Value,
) -> Result<Value, TestbedError> {
    aws_json_call(
        client,
        url,
        account,
        ("ecs", "AmazonEC2ContainerServiceV20141113"),
        operation,
        body,
    )
    .await
}

/// One AWS JSON-1.1 call to `url` in `account`: `service` is (signing name, target prefix).
pub async fn aws_json_call(
    client: &HttpClient,
    url: &str,
    account: &str,
    (signing_name, target_prefix): (&str, &str),
    operation: &str,
    body: &Value,
) -> Result<Value, TestbedError> {
    let target = format!("{target_prefix}.{operation}");
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{signing_name}/aws4_request, SignedHeaders=host, Signature=0"
    );
    let (status, answer) = http::send(
        client,
        "POST",
        &format!("{url}/"),
        &[
            ("x-amz-target", target.as_str()),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-moto-account-id", account),
            ("authorization", authorization.as_str()),
        ],
        Bytes::from(body.to_string()),
    )
    .await?;
    if status != 200 {
        return Err(TestbedError::Http(format!(
            "{operation}: {status} {}",
            String::from_utf8_lossy(&answer)
        )));
    }
    serde_json::from_slice(&answer).map_err(|e| TestbedError::Http(e.to_string()))
}

/// How long moto itself takes to register `count` task definitions (`concurrency` in flight), in
/// a fresh account: the floor any operator on this stack can reach.
pub async fn moto_register_time(
    moto_url: &str,
    count: usize,
    concurrency: usize,
) -> Result<Duration, TestbedError> {
    use futures::StreamExt;
    let client = http::client();
    let account = crate::next_account_id();
    let started = Instant::now();
    let results: Vec<Result<Value, TestbedError>> = futures::stream::iter(0..count)
        .map(|i| {
            let (client, account) = (&client, &account);
            async move {
                ecs_call(
                    client,
                    moto_url,
                    account,
                    "RegisterTaskDefinition",
                    &task_definition_body(&format!("floor-{i}"), "nginx:1"),
                )
                .await
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(started.elapsed())
}

/// A small Fargate task definition (the RegisterTaskDefinition body and the spec are the same
/// JSON, which is the point of the EcsTaskDefinition kind).
pub fn task_definition_body(family: &str, image: &str) -> Value {
    json!({
        "family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "app", "image": image, "portMappings": [{"containerPort": 80}]}]
    })
}

/// An EcsTaskDefinition object named `name`.
pub fn task_definition_object(name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition",
        "metadata": {"name": name, "namespace": "default"},
        "spec": task_definition_body(name, image),
    })
}

fn clock_ticks_per_second() -> f64 {
    // Linux reports /proc times in USER_HZ, which is 100 on every architecture we run on.
    100.0
}

/// The median of `values` (0 when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}
