//! The operator process as Kubernetes runs it: two replicas elect one leader, a standby takes
//! over when the leader is killed, SIGTERM hands the Lease over, a leader that loses its Lease
//! exits non-zero; the admin server's probes and metrics; a list of namespaces to watch.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use ecs_operator::api::EcsTaskDefinition;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

/// One `ecs-operator run` process with its admin port and log file.
struct Replica {
    child: Child,
    admin: String,
    log: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Replica {
    fn start(kubeconfig: &Path, aws: &str, identity: &str, args: &[&str]) -> Self {
        let port = free_port();
        let log = std::env::temp_dir().join(format!(
            "ecs-operator-runtime-{}-{identity}-{port}.log",
            std::process::id()
        ));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_ecs-operator"))
            .arg("run")
            .args(args)
            .args(["--leader-election-identity", identity])
            .args(["--admin-bind-address", &format!("127.0.0.1:{port}")])
            // Shorter than the default, so the takeover test is quicker, with a renewal margin
            // wide enough for a loaded CI machine (a late renewal loses the Lease, by design).
            .args([
                "--lease-duration-seconds",
                "10",
                "--lease-grace-seconds",
                "5",
            ])
            .args(["--log-format", "json", "--log-level", "info"])
            .env("KUBECONFIG", kubeconfig)
            .env("ECS_OPERATOR_AWS_ENDPOINT_URL", aws)
            .env("ECS_OPERATOR_AWS_REGION", "us-east-1")
            .env("ECS_OPERATOR_MAX_BACKOFF_SECONDS", "1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("ecs-operator starts");
        Self {
            child,
            admin: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET on the admin server: (status, body); (0, "") while it does not answer yet.
    async fn get(&self, path: &str) -> (u16, String) {
        match ecs_testbed::http::send(
            &ecs_testbed::http::client(),
            "GET",
            &format!("{}{path}", self.admin),
            &[],
            Default::default(),
        )
        .await
        {
            Ok((status, body)) => (status, String::from_utf8_lossy(&body).into_owned()),
            Err(_) => (0, String::new()),
        }
    }

    async fn wait_ready(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = self.get("/readyz").await;
            if status == 200 {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "never ready ({status} {body}); log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics").await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The metrics once `check` holds for them (a minute at most).
    async fn wait_metrics(&self, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let metrics = self.metrics().await;
            if check(&metrics) {
                return metrics;
            }
            assert!(
                Instant::now() < deadline,
                "metrics never matched:\n{metrics}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    async fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn task_definition(name: &str) -> EcsTaskDefinition {
    serde_json::from_value(json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition",
        "metadata": {"name": name},
        "spec": {"family": name, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                 "cpu": "256", "memory": "512",
                 "containerDefinitions": [{"name": "app", "image": "nginx:1"}]}
    }))
    .expect("object")
}

async fn wait_td_ready(tds: &Api<EcsTaskDefinition>, name: &str, logs: &[&Replica]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let object = tds.get(name).await.expect("object");
        let ready = object.status.as_ref().is_some_and(|s| {
            s.reconcile
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        });
        if ready {
            return;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = logs.iter().map(|r| r.log()).collect();
            panic!(
                "{name} never Ready: {:?}\nlogs:\n{}",
                object.status,
                logs.join("\n---\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn holder(leases: &Api<Lease>) -> Option<String> {
    leases
        .get_opt("ecs-operator")
        .await
        .expect("lease read")
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .filter(|h| !h.is_empty())
}

async fn wait_holder(leases: &Api<Lease>, candidates: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(holder) = holder(leases).await
            && candidates.contains(&holder.as_str())
        {
            return holder;
        }
        assert!(Instant::now() < deadline, "no leader among {candidates:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The value of the sample `line_start` (name and labels) in a metrics text, if present.
fn sample(metrics: &str, line_start: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(line_start))
        .and_then(|rest| rest.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_reconciles_a_standby_takes_over_and_sigterm_hands_the_lease_over() {
    let cluster = common::cluster().await;
    let (proxy, _) = common::moto_proxy().await;
    let ns = cluster.namespace.clone();
    let args = ["--namespaces", &ns, "--leader-election-namespace", &ns];
    let a = Replica::start(&cluster.kubeconfig, proxy.url(), "replica-a", &args);
    let b = Replica::start(&cluster.kubeconfig, proxy.url(), "replica-b", &args);
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), &ns);
    let tds: Api<EcsTaskDefinition> = Api::namespaced(cluster.client.clone(), &ns);

    let leader_name = wait_holder(&leases, &["replica-a", "replica-b"]).await;
    let (leader, mut standby) = if leader_name == "replica-a" {
        (a, b)
    } else {
        (b, a)
    };
    // The Lease names the holder a moment before its process acts on it.
    leader
        .wait_metrics(|m| sample(m, "ecs_operator_leader ") == Some(1.0))
        .await;
    assert!(leader.wait_ready().await.starts_with("leader:"));
    assert!(standby.wait_ready().await.starts_with("standby:"));
    let logs = || {
        format!(
            "leader log:\n{}\nstandby log:\n{}",
            leader.log(),
            standby.log()
        )
    };
    assert_eq!(
        sample(&standby.metrics().await, "ecs_operator_leader "),
        Some(0.0),
        "{}",
        logs()
    );

    tds.create(&PostParams::default(), &task_definition("before-failover"))
        .await
        .expect("created");
    wait_td_ready(&tds, "before-failover", &[&leader, &standby]).await;
    // The status write comes before the pass is counted: wait for the counters to catch up.
    let metrics = leader
        .wait_metrics(|m| {
            sample(
                m,
                r#"ecs_operator_reconciles_total{kind="task_definition",result="ready"} "#,
            )
            .is_some_and(|n| n >= 1.0)
        })
        .await;
    assert_eq!(
        sample(
            &metrics,
            r#"ecs_operator_aws_calls_total{service="ecs",operation="RegisterTaskDefinition",outcome="ok"} "#
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            &format!(
                r#"ecs_operator_objects{{kind="task_definition",object_namespace="{ns}",condition="ready"}} "#
            )
        ),
        Some(1.0),
        "{metrics}"
    );
    assert!(
        metrics.contains("ecs_operator_reconcile_duration_seconds_bucket{kind=\"task_definition\""),
        "{metrics}"
    );
    assert!(
        !metrics.contains("before-failover"),
        "object names never become labels"
    );
    let standby_metrics = standby.metrics().await;
    assert_eq!(
        sample(
            &standby_metrics,
            r#"ecs_operator_reconciles_total{kind="task_definition",result="ready"} "#
        ),
        None,
        "the standby does not reconcile: {standby_metrics}"
    );
    assert_eq!(proxy.count("RegisterTaskDefinition"), 1);

    // The leader dies without releasing: the standby takes over once the Lease expires.
    drop(leader);
    tds.create(&PostParams::default(), &task_definition("after-failover"))
        .await
        .expect("created");
    wait_td_ready(&tds, "after-failover", &[&standby]).await;
    assert_eq!(
        holder(&leases).await.as_deref(),
        Some(standby_name(&leader_name))
    );
    standby
        .wait_metrics(|m| sample(m, "ecs_operator_leader ") == Some(1.0))
        .await;
    assert_eq!(
        proxy.count("RegisterTaskDefinition"),
        2,
        "nothing registered twice"
    );

    // SIGTERM: finish, hand the Lease over (no holder), exit 0.
    standby.signal("-TERM");
    let status = standby.wait_exit().await;
    assert!(status.success(), "{status:?}; log:\n{}", standby.log());
    assert_eq!(holder(&leases).await, None, "the Lease was released");
    let log = standby.log();
    let first = log.lines().next().unwrap_or_default();
    assert!(
        serde_json::from_str::<serde_json::Value>(first).is_ok(),
        "--log-format json writes JSON lines: {first}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes when stderr is not a terminal"
    );
}

fn standby_name(leader: &str) -> &'static str {
    if leader == "replica-a" {
        "replica-b"
    } else {
        "replica-a"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_loses_its_lease_stops_with_a_failure() {
    let cluster = common::cluster().await;
    let (proxy, _) = common::moto_proxy().await;
    let ns = cluster.namespace.clone();
    let args = ["--namespaces", &ns, "--leader-election-namespace", &ns];
    let mut replica = Replica::start(&cluster.kubeconfig, proxy.url(), "the-leader", &args);
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), &ns);
    wait_holder(&leases, &["the-leader"]).await;
    replica
        .wait_metrics(|m| sample(m, "ecs_operator_leader ") == Some(1.0))
        .await;

    // Another process claims the Lease (as if this one had been partitioned away).
    let now = serde_json::to_value(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
        k8s_openapi::jiff::Timestamp::now(),
    ))
    .expect("time");
    leases
        .patch(
            "ecs-operator",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"holderIdentity": "intruder", "renewTime": now,
                                           "acquireTime": now, "leaseDurationSeconds": 60}}),
            ),
        )
        .await
        .expect("lease patched");
    let status = replica.wait_exit().await;
    assert_eq!(status.code(), Some(3), "log:\n{}", replica.log());
    assert!(
        replica.log().contains("lost the Lease"),
        "{}",
        replica.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_listed_namespaces_are_watched() {
    let cluster = common::cluster().await;
    let (proxy, _) = common::moto_proxy().await;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(cluster.client.clone());
    let second = format!("{}-second", cluster.namespace);
    let ignored = format!("{}-ignored", cluster.namespace);
    for name in [&second, &ignored] {
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace"),
            )
            .await
            .expect("namespace created");
    }
    let list = format!("{},{second}", cluster.namespace);
    let replica = Replica::start(
        &cluster.kubeconfig,
        proxy.url(),
        "single",
        &["--namespaces", &list, "--leader-election=false"],
    );
    for ns in [&cluster.namespace, &second, &ignored] {
        let tds: Api<EcsTaskDefinition> = Api::namespaced(cluster.client.clone(), ns);
        tds.create(
            &PostParams::default(),
            &task_definition(&format!("in-{ns}")),
        )
        .await
        .expect("created");
    }
    for ns in [&cluster.namespace, &second] {
        let tds: Api<EcsTaskDefinition> = Api::namespaced(cluster.client.clone(), ns);
        wait_td_ready(&tds, &format!("in-{ns}"), &[&replica]).await;
    }
    assert!(replica.wait_ready().await.starts_with("leader:"));
    // Both listed namespaces are done; the other one was never looked at.
    let tds: Api<EcsTaskDefinition> = Api::namespaced(cluster.client.clone(), &ignored);
    let untouched = tds.get(&format!("in-{ignored}")).await.expect("object");
    assert!(untouched.status.is_none(), "{:?}", untouched.status);
    assert!(untouched.metadata.finalizers.is_none());
    assert_eq!(proxy.count("RegisterTaskDefinition"), 2);
}

async fn emulator_fail(url: &str, rule: serde_json::Value) {
    let (status, _) = ecs_testbed::http::send(
        &ecs_testbed::http::client(),
        "POST",
        &format!("{url}/_emulator/fail"),
        &[],
        rule.to_string().into(),
    )
    .await
    .expect("knob");
    assert_eq!(status, 200);
}

fn lease_expiry(lease: &Lease) -> std::time::SystemTime {
    let spec = lease.spec.clone().unwrap_or_default();
    let renewed = std::time::SystemTime::from(spec.renew_time.expect("renewTime").0);
    renewed
        + Duration::from_secs(
            u64::try_from(spec.lease_duration_seconds.expect("duration")).expect("positive"),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_cannot_renew_steps_down_before_its_lease_expires() {
    // On the emulator: its fault knobs make every Lease write fail while reads still work.
    let cluster = common::emulator_cluster().await;
    let (proxy, _) = common::moto_proxy().await;
    let ns = cluster.namespace.clone();
    let args = ["--namespaces", &ns, "--leader-election-namespace", &ns];
    let mut replica = Replica::start(&cluster.kubeconfig, proxy.url(), "stuck", &args);
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), &ns);
    wait_holder(&leases, &["stuck"]).await;
    replica
        .wait_metrics(|m| sample(m, "ecs_operator_leader ") == Some(1.0))
        .await;

    // A failed renewal alone is survived: the next one succeeds and the leader carries on.
    emulator_fail(
        &cluster.emulator_url().expect("emulator"),
        json!({"verb": "patch", "resource": "leases", "status": 500, "count": 1}),
    )
    .await;
    let before = lease_expiry(&leases.get("ecs-operator").await.expect("lease"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lease = leases.get("ecs-operator").await.expect("lease");
        if lease_expiry(&lease) > before {
            assert_eq!(
                lease.spec.and_then(|s| s.holder_identity).as_deref(),
                Some("stuck")
            );
            break;
        }
        assert!(
            replica.child.try_wait().expect("wait").is_none(),
            "exited on one failed renewal:\n{}",
            replica.log()
        );
        assert!(
            Instant::now() < deadline,
            "never renewed:\n{}",
            replica.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Renewals failing for good: the leader stops before the Lease it holds can expire, so a
    // standby (which waits for that expiry) never overlaps with it.
    emulator_fail(
        &cluster.emulator_url().expect("emulator"),
        json!({"verb": "patch", "resource": "leases", "status": 500, "count": 1_000_000}),
    )
    .await;
    let expiry = lease_expiry(&leases.get("ecs-operator").await.expect("lease"));
    let status = replica.wait_exit().await;
    let stopped = std::time::SystemTime::now();
    assert_eq!(status.code(), Some(3), "log:\n{}", replica.log());
    assert!(
        stopped < expiry,
        "stopped {:?} after the Lease expired",
        stopped.duration_since(expiry)
    );
    assert!(
        replica.log().contains("cannot confirm the Lease"),
        "{}",
        replica.log()
    );
}
