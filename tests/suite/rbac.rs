//! Least privilege, proven: the chart's rendered RBAC installed in the real API server, the
//! operator run as the chart's ServiceAccount (impersonated) with the chart's own arguments, every
//! example Ready and then deleted; every AWS call it made is in docs/iam-policy.json. A permission
//! taken out of the Role shows up as a 403.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ecs_operator::api::EcsTaskDefinition;
use ecs_testbed::{AwsProxy, Knobs, MotoServer, ProxyConfig};
use kube::api::Api;
use serde_json::{Value, json};

const SERVICE_ACCOUNT: &str = "ecs-operator";
/// Every registered kind, as kubectl takes a list of resources.
fn kinds() -> String {
    ecs_operator::controller::registry::kinds()
        .iter()
        .map(|k| k.plural())
        .collect::<Vec<_>>()
        .join(",")
}

struct Setup {
    cluster: common::Cluster,
    proxy: AwsProxy,
    documents: Vec<Value>,
    dir: PathBuf,
}

async fn setup() -> Option<Setup> {
    let cluster = common::cluster().await;
    if cluster.kind == common::ClusterKind::Emulator {
        eprintln!(
            "skipped: needs a real API server with RBAC (Go not available, no E2E_KUBECONFIG)"
        );
        return None;
    }
    let moto = MotoServer::shared().expect("moto");
    let account = ecs_testbed::next_account_id();
    let proxy = AwsProxy::start(ProxyConfig {
        upstream: moto.url().to_owned(),
        account_id: Some(account.clone()),
        knobs: Knobs {
            rollout_seconds: 1.0,
            drain_seconds: 1.0,
            image_outcomes: vec![],
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .expect("proxy");
    // Straight to moto, so the proxy records only what the operator calls.
    ecs_testbed::bench::sandbox::seed_aws(&ecs_testbed::http::client(), moto.url(), &account)
        .await
        .expect("seeded");
    let ns = cluster.namespace.clone();
    let documents = common::render_chart(
        &ns,
        &[
            &format!("watchNamespaces={{{ns}}}"),
            "controller.pollSeconds=1",
            "controller.maxBackoffSeconds=2",
        ],
    );
    let dir = std::env::temp_dir().join(format!("ecs-operator-rbac-{}-{ns}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    Some(Setup {
        cluster,
        proxy,
        documents,
        dir,
    })
}

impl Setup {
    fn kubectl(&self, kubeconfig: &Path, args: &[&str]) -> std::process::Output {
        Command::new("kubectl")
            .args(args)
            .args(["--namespace", &self.cluster.namespace])
            .env("KUBECONFIG", kubeconfig)
            .current_dir(common::root())
            .output()
            .expect("kubectl")
    }

    fn admin(&self, args: &[&str]) -> String {
        let output = self.kubectl(&self.cluster.kubeconfig, args);
        assert!(
            output.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Installs the chart's RBAC objects (the ServiceAccount, Roles and RoleBindings), after
    /// `edit` had its way with them.
    fn install_rbac(&self, edit: impl Fn(&mut Value)) {
        let mut rbac: Vec<Value> = self
            .documents
            .iter()
            .filter(|d| {
                matches!(
                    d["kind"].as_str(),
                    Some("ServiceAccount" | "Role" | "RoleBinding")
                ) || d["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("-namespaces"))
            })
            .cloned()
            .collect();
        assert_eq!(
            rbac.len(),
            7,
            "ServiceAccount, two Roles, two RoleBindings, the namespace reader and its binding: {rbac:?}"
        );
        // The namespace reader is cluster-wide: one per test namespace, so the tests of this
        // binary do not overwrite each other's.
        let ns = &self.cluster.namespace;
        for document in &mut rbac {
            if document["kind"] == "ClusterRole" {
                document["metadata"]["name"] = json!(format!("ecs-operator-namespaces-{ns}"));
            }
            if document["kind"] == "ClusterRoleBinding" {
                document["metadata"]["name"] = json!(format!("ecs-operator-namespaces-{ns}"));
                document["roleRef"]["name"] = json!(format!("ecs-operator-namespaces-{ns}"));
            }
        }
        for document in &mut rbac {
            edit(document);
        }
        let path = self.dir.join("rbac.yaml");
        let text: Vec<String> = rbac
            .iter()
            .map(|d| serde_yaml::to_string(d).expect("yaml"))
            .collect();
        std::fs::write(&path, text.join("---\n")).expect("write");
        self.admin(&["apply", "-f", path.to_str().expect("path")]);
    }

    /// A kubeconfig acting as the chart's ServiceAccount.
    fn service_account_kubeconfig(&self) -> PathBuf {
        let text = std::fs::read_to_string(&self.cluster.kubeconfig).expect("kubeconfig");
        let mut config: Value = serde_yaml::from_str(&text).expect("yaml");
        let ns = &self.cluster.namespace;
        for user in config["users"].as_array_mut().expect("users") {
            user["user"]["as"] = json!(format!("system:serviceaccount:{ns}:{SERVICE_ACCOUNT}"));
            user["user"]["as-groups"] = json!([
                "system:serviceaccounts",
                format!("system:serviceaccounts:{ns}")
            ]);
        }
        let path = self.dir.join("service-account.kubeconfig");
        std::fs::write(&path, serde_yaml::to_string(&config).expect("yaml")).expect("write");
        path
    }

    /// The operator with the arguments of the chart's Deployment.
    fn start_operator(&self, kubeconfig: &Path, log: &Path) -> Child {
        let deployment = self
            .documents
            .iter()
            .find(|d| d["kind"] == "Deployment")
            .expect("deployment");
        let args: Vec<String> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| a.as_str().expect("string").to_owned())
            .map(|a| {
                if a.starts_with("--admin-bind-address=") {
                    "--admin-bind-address=127.0.0.1:0".to_owned()
                } else {
                    a
                }
            })
            .collect();
        Command::new(env!("CARGO_BIN_EXE_ecs-operator"))
            .args(&args)
            .env("KUBECONFIG", kubeconfig)
            .env("POD_NAME", "ecs-operator-test")
            .env("ECS_OPERATOR_AWS_ENDPOINT_URL", self.proxy.url())
            .env("ECS_OPERATOR_AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("log"))
            .spawn()
            .expect("operator starts")
    }
}

fn read(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Waits until the operator's log shows `text`.
async fn wait_log(log: &Path, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let content = read(log);
        if content.contains(text) {
            return content;
        }
        assert!(
            Instant::now() < deadline,
            "no {text:?} in the log:\n{content}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `service:Action` of every Allow statement of docs/iam-policy.json.
fn policy_actions() -> BTreeSet<String> {
    let policy = common::read_json(&common::root().join("docs").join("iam-policy.json"));
    let mut actions = BTreeSet::new();
    for statement in policy["Statement"].as_array().expect("statements") {
        assert_eq!(statement["Effect"], "Allow");
        match &statement["Action"] {
            Value::String(action) => {
                actions.insert(action.clone());
            }
            Value::Array(list) => {
                actions.extend(list.iter().filter_map(|a| a.as_str().map(str::to_owned)))
            }
            other => panic!("Action {other}"),
        }
    }
    actions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_the_charts_service_account_every_example_becomes_ready_and_is_cleaned_up() {
    let Some(setup) = setup().await else { return };
    setup.install_rbac(|_| {});
    let kubeconfig = setup.service_account_kubeconfig();
    let log = setup.dir.join("operator.log");
    let mut operator = setup.start_operator(&kubeconfig, &log);

    tokio::task::block_in_place(|| {
        setup.admin(&["apply", "-R", "-f", "examples/"]);
        let kinds = kinds();
        let out = setup.admin(&[
            "wait",
            "--for=condition=Ready",
            &kinds,
            "--all",
            "--timeout=180s",
        ]);
        assert_eq!(
            out.matches("condition met").count(),
            21,
            "{out}\nlog:\n{}",
            read(&log)
        );
        setup.admin(&[
            "delete",
            "-R",
            "-f",
            "examples/",
            "--wait",
            "--timeout=180s",
        ]);
        let left = setup.admin(&["get", &kinds, "-o", "name"]);
        assert!(left.trim().is_empty(), "{left}");
    });
    let content = read(&log);
    assert!(!content.contains("Forbidden"), "{content}");
    let _ = operator.kill();
    let _ = operator.wait();

    // Every AWS action the operator took is in the IAM policy.
    let allowed = policy_actions();
    let mut used = BTreeSet::new();
    for request in setup.proxy.requests() {
        let service = match request.service.as_str() {
            "ecs" => "ecs",
            "application-autoscaling" => "application-autoscaling",
            other => panic!("the operator called {other}:{}", request.operation),
        };
        used.insert(format!("{service}:{}", request.operation));
    }
    let missing: Vec<&String> = used.difference(&allowed).collect();
    assert!(missing.is_empty(), "docs/iam-policy.json lacks {missing:?}");
    for expected in [
        "ecs:CreateService",
        "ecs:DeleteService",
        "ecs:DeregisterTaskDefinition",
        "ecs:CreateCluster",
        "ecs:DeleteCluster",
        "ecs:RunTask",
        "ecs:CreateCapacityProvider",
        "ecs:DeleteCapacityProvider",
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:DeregisterScalableTarget",
    ] {
        assert!(
            used.contains(expected),
            "the run exercised {expected}: {used:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_taken_out_of_the_role_is_a_403() {
    let Some(setup) = setup().await else { return };
    let ns = setup.cluster.namespace.clone();
    // Without `patch` on the status subresources, nothing can be reported.
    setup.install_rbac(|document| {
        if document["kind"] == "Role" && document["metadata"]["name"] == "ecs-operator" {
            for rule in document["rules"].as_array_mut().expect("rules") {
                let status = rule["resources"].as_array().is_some_and(|r| {
                    r.iter()
                        .any(|x| x.as_str().is_some_and(|x| x.ends_with("/status")))
                });
                if status {
                    rule["verbs"] = json!(["get"]);
                }
            }
        }
    });
    let kubeconfig = setup.service_account_kubeconfig();
    let log = setup.dir.join("no-status.log");
    let mut operator = setup.start_operator(&kubeconfig, &log);
    tokio::task::block_in_place(|| {
        setup.admin(&["apply", "-f", "examples/task-definitions/basic.yaml"])
    });
    // kube's error text carries the API status: `... is forbidden: ... reason: "Forbidden", code: 403`.
    let content = wait_log(&log, "Forbidden").await;
    assert!(
        content.contains("code: 403") && content.contains("ecstaskdefinitions/status"),
        "{content}"
    );
    let tds: Api<EcsTaskDefinition> = Api::namespaced(setup.cluster.client.clone(), &ns);
    assert!(tds.get("basic").await.expect("object").status.is_none());
    let _ = operator.kill();
    let _ = operator.wait();

    // Without the Lease permissions, the operator cannot take part in the election and stops.
    setup.install_rbac(|document| {
        if document["kind"] == "Role"
            && document["metadata"]["name"] == "ecs-operator-leader-election"
        {
            document["rules"] =
                json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]);
        }
    });
    let log = setup.dir.join("no-lease.log");
    let mut operator = setup.start_operator(&kubeconfig, &log);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = operator.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "still running:\n{}", read(&log));
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!status.success());
    let content = read(&log);
    assert!(
        content.contains("Lease") && content.contains("code: 403"),
        "{content}"
    );
}
