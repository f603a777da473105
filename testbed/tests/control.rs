//! The proxy's control endpoints and the `ecs-testbed` command line, over real HTTP against moto.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use ecs_testbed::http::{self, HttpClient};
use ecs_testbed::{AwsProxy, MotoServer, ProxyConfig, next_account_id};
use serde_json::{Value, json};

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0";

async fn ecs_call(client: &HttpClient, url: &str, operation: &str, body: Value) -> (u16, Value) {
    let target = format!("AmazonEC2ContainerServiceV20141113.{operation}");
    let (status, body) = http::send(
        client,
        "POST",
        &format!("{url}/"),
        &[
            ("x-amz-target", &target),
            ("content-type", "application/x-amz-json-1.1"),
            ("authorization", AUTH),
        ],
        body.to_string().into(),
    )
    .await
    .expect("answer");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn control(client: &HttpClient, url: &str, method: &str, path: &str, body: Value) -> Value {
    let (status, body) = http::send(
        client,
        method,
        &format!("{url}{path}"),
        &[],
        body.to_string().into(),
    )
    .await
    .expect("control answer");
    assert_eq!(
        status,
        200,
        "{method} {path}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).expect("json")
}

#[tokio::test]
async fn records_faults_and_clears_over_http() {
    let moto = MotoServer::shared().expect("moto");
    let proxy = AwsProxy::start(ProxyConfig {
        upstream: moto.url().to_owned(),
        account_id: Some(next_account_id()),
        ..Default::default()
    })
    .await
    .expect("proxy");
    let client = http::client();

    let (status, answer) = ecs_call(
        &client,
        proxy.url(),
        "CreateCluster",
        json!({"clusterName": "c1"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["cluster"]["clusterName"], "c1");

    let record = control(&client, proxy.url(), "GET", "/_proxy/requests", Value::Null).await;
    assert_eq!(record.as_array().map(Vec::len), Some(1));
    assert_eq!(record[0]["service"], "ecs");
    assert_eq!(record[0]["operation"], "CreateCluster");
    assert_eq!(record[0]["body"], json!({"clusterName": "c1"}));
    assert_eq!(record[0]["status"], 200);

    control(
        &client,
        proxy.url(),
        "PUT",
        "/_proxy/faults",
        json!({"rules": [{"operation": "ecs:ListClusters", "everyNth": 2, "fault": {"kind": "throttle"}}]}),
    )
    .await;
    let (first, _) = ecs_call(&client, proxy.url(), "ListClusters", json!({})).await;
    let (second, error) = ecs_call(&client, proxy.url(), "ListClusters", json!({})).await;
    assert_eq!((first, second), (200, 400));
    assert_eq!(error["__type"], "ThrottlingException");
    let faults = control(&client, proxy.url(), "GET", "/_proxy/faults", Value::Null).await;
    assert_eq!(faults["rules"][0]["everyNth"], 2);

    control(
        &client,
        proxy.url(),
        "DELETE",
        "/_proxy/requests",
        Value::Null,
    )
    .await;
    let record = control(&client, proxy.url(), "GET", "/_proxy/requests", Value::Null).await;
    assert_eq!(record, json!([]));

    // Each proxy's account id keeps its state apart in the shared moto.
    let other = AwsProxy::start(ProxyConfig {
        upstream: moto.url().to_owned(),
        account_id: Some(next_account_id()),
        ..Default::default()
    })
    .await
    .expect("proxy");
    let (_, clusters) = ecs_call(&client, other.url(), "ListClusters", json!({})).await;
    assert_eq!(clusters["clusterArns"], json!([]));
}

#[tokio::test]
async fn command_line_proxy_applies_a_faults_file() {
    let moto = MotoServer::shared().expect("moto");
    let dir = std::env::temp_dir().join(format!("ecs-testbed-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let faults = dir.join("faults.json");
    std::fs::write(
        &faults,
        r#"{"rules": [{"operation": "*", "fault": {"kind": "unavailable"}}]}"#,
    )
    .expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecs-testbed"))
        .args(["aws-proxy", "--upstream", moto.url(), "--faults"])
        .arg(&faults)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("url line");
    let url = line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let (status, _) = ecs_call(&http::client(), &url, "ListClusters", json!({})).await;
    child.kill().expect("kill");
    let _ = child.wait();
    assert_eq!(status, 503);
}

#[tokio::test]
async fn latency_rules_delay_the_answer() {
    let moto = MotoServer::shared().expect("moto");
    let proxy = AwsProxy::start(ProxyConfig {
        upstream: moto.url().to_owned(),
        account_id: Some(next_account_id()),
        ..Default::default()
    })
    .await
    .expect("proxy");
    proxy.set_faults(vec![ecs_testbed::FaultRule {
        operation: "ListClusters".into(),
        probability: None,
        every_nth: None,
        max_times: None,
        fault: ecs_testbed::Fault::Latency { millis: 300 },
    }]);
    let started = std::time::Instant::now();
    let (status, _) = ecs_call(&http::client(), proxy.url(), "ListClusters", json!({})).await;
    assert_eq!(status, 200, "delayed, then forwarded");
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(
        proxy.requests()[0].fault.as_deref(),
        Some("Latency { millis: 300 }")
    );
}

#[test]
fn command_line_moto_prints_a_working_url_and_stops_with_its_parent() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecs-testbed"))
        .arg("moto")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("url line");
    let url = line.trim().to_owned();
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port in URL");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "moto answers at {url}"
    );
    child.kill().expect("kill");
    let _ = child.wait();
    // The server is tied to its parent: once the parent is gone, the port closes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "moto outlived ecs-testbed"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn command_line_kube_api_writes_a_kubeconfig_kubectl_uses() {
    let dir = std::env::temp_dir().join(format!("ecs-testbed-kube-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let kubeconfig = dir.join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecs-testbed"))
        .args(["kube-api", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("path line");
    let output = Command::new("kubectl")
        .args([
            "--kubeconfig",
            line.trim(),
            "get",
            "namespaces",
            "-o",
            "name",
        ])
        .output()
        .expect("kubectl");
    child.kill().expect("kill");
    let _ = child.wait();
    let names = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        names.contains("namespace/default") && names.contains("namespace/kube-system"),
        "{names}"
    );
}

/// Throttling counts per account and Region: one account spending its CreateCluster burst leaves
/// another account's, and its own in another Region, untouched; a throttled call reaches nothing.
#[tokio::test]
async fn each_account_and_region_is_throttled_on_its_own() {
    let moto = MotoServer::shared().expect("moto");
    let proxy = AwsProxy::start(ProxyConfig {
        upstream: moto.url().to_owned(),
        ..Default::default()
    })
    .await
    .expect("proxy");
    proxy.set_buckets(&std::collections::BTreeMap::from([(
        "cluster-modify".to_owned(),
        ecs_testbed::aws::throttle::BucketSpec {
            rate: 0.001,
            burst: 2.0,
        },
    )]));
    let client = http::client();
    let (first, second) = (next_account_id(), next_account_id());
    let create = |account: String, region: &'static str, name: &'static str| {
        let client = client.clone();
        let url = proxy.url().to_owned();
        async move {
            let target = "AmazonEC2ContainerServiceV20141113.CreateCluster";
            let auth = AUTH.replace("us-east-1", region);
            let (status, body) = http::send(
                &client,
                "POST",
                &format!("{url}/"),
                &[
                    ("x-amz-target", target),
                    ("content-type", "application/x-amz-json-1.1"),
                    ("authorization", &auth),
                    ("x-moto-account-id", &account),
                ],
                json!({"clusterName": name}).to_string().into(),
            )
            .await
            .expect("answer");
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            (
                status,
                body["__type"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    for name in ["a", "b"] {
        assert_eq!(create(first.clone(), "us-east-1", name).await.0, 200);
    }
    let throttled = create(first.clone(), "us-east-1", "c").await;
    assert_eq!(throttled, (400, "ThrottlingException".to_owned()));
    assert_eq!(
        create(second.clone(), "us-east-1", "c").await.0,
        200,
        "another account"
    );
    assert_eq!(
        create(first.clone(), "eu-west-1", "c").await.0,
        200,
        "another Region"
    );
    assert_eq!(proxy.count("CreateCluster"), 5, "every call recorded");
    let forwarded = proxy
        .requests()
        .iter()
        .filter(|r| r.operation == "CreateCluster" && r.fault.is_none())
        .count();
    assert_eq!(forwarded, 4, "the throttled call went nowhere");
}

/// Credentials from STS AssumeRole act in the role's account: what they create is not in the
/// account of the caller that assumed the role (per-account state and throttle buckets).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assumed_role_credentials_act_in_the_roles_account() {
    use aws_sdk_ecs::config::ProvideCredentials;
    let moto = MotoServer::shared().expect("moto");
    let caller = next_account_id();
    let proxy = AwsProxy::start(ProxyConfig {
        upstream: moto.url().to_owned(),
        account_id: Some(caller.clone()),
        ..Default::default()
    })
    .await
    .expect("proxy");
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(proxy.url())
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    let tenant = next_account_id();
    let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
        "arn:aws:iam::{tenant}:role/ecs-operator"
    ))
    .session_name("ecs-operator-shop")
    .configure(&base)
    .build()
    .await;
    let credentials = provider.provide_credentials().await.expect("assumed");
    assert_ne!(credentials.access_key_id(), "testing");
    let assumed = aws_sdk_ecs::Client::new(
        &base
            .clone()
            .into_builder()
            .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(
                provider,
            ))
            .build(),
    );
    assumed
        .create_cluster()
        .cluster_name("tenant-cluster")
        .send()
        .await
        .expect("created as the role");
    let own = aws_sdk_ecs::Client::new(&base);
    let listed = |client: aws_sdk_ecs::Client| async move {
        client
            .list_clusters()
            .send()
            .await
            .expect("listed")
            .cluster_arns
            .unwrap_or_default()
    };
    let in_tenant = listed(assumed.clone()).await;
    assert!(
        in_tenant
            .iter()
            .any(|arn| arn == &format!("arn:aws:ecs:us-east-1:{tenant}:cluster/tenant-cluster")),
        "{in_tenant:?}"
    );
    let in_caller = listed(own).await;
    assert!(
        !in_caller.iter().any(|arn| arn.ends_with("/tenant-cluster")),
        "the caller's account holds none: {in_caller:?}"
    );
    let operations: Vec<(String, String)> = proxy
        .requests()
        .iter()
        .map(|r| (r.service.clone(), r.operation.clone()))
        .collect();
    assert!(
        operations.contains(&("sts".to_owned(), "AssumeRole".to_owned())),
        "{operations:?}"
    );
}

/// AssumeRole input rules AWS enforces and moto does not: the session name's length and
/// characters, and the external ID's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_refuses_what_sts_refuses() {
    use aws_sdk_ecs::config::ProvideCredentials;
    let moto = MotoServer::shared().expect("moto");
    let proxy = AwsProxy::start(ProxyConfig {
        upstream: moto.url().to_owned(),
        account_id: Some(next_account_id()),
        ..Default::default()
    })
    .await
    .expect("proxy");
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(proxy.url())
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    let role = format!("arn:aws:iam::{}:role/ecs-operator", next_account_id());
    let assume = |session: &'static str, external_id: Option<&'static str>| {
        let base = base.clone();
        let role = role.clone();
        async move {
            let mut builder = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name(session)
                .configure(&base);
            if let Some(id) = external_id {
                builder = builder.external_id(id);
            }
            builder.build().await.provide_credentials().await
        }
    };
    assert!(
        assume("ecs-operator-shop", Some("tenant-42:shop"))
            .await
            .is_ok()
    );
    for (session, external_id) in [
        ("x", None),
        ("has space", None),
        ("ecs-operator-shop", Some("x")),
        ("ecs-operator-shop", Some("no spaces allowed")),
    ] {
        let refused = assume(session, external_id).await;
        assert!(refused.is_err(), "{session:?} {external_id:?} was accepted");
    }
    let statuses: Vec<u16> = proxy
        .requests()
        .iter()
        .filter(|r| r.operation == "AssumeRole")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [200, 400, 400, 400, 400]);
}

/// moto answers each request as asked, as AWS does, however many arrive at once: a
/// DescribeClusters with `include: ["TAGS"]` keeps its tags while describes without TAGS are
/// answered beside it (the launcher's PER_REQUEST_RESPONSE_MEMBERS; moto alone keeps the
/// choice in one dict shared by every request, and this test saw tags go missing without it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_describes_each_get_the_members_they_asked_for() {
    let moto = MotoServer::shared().expect("moto");
    let account = next_account_id();
    let client = http::client();
    let call = move |operation: &'static str, body: Value| {
        let client = client.clone();
        let account = account.clone();
        async move {
            ecs_testbed::bench::ecs_call(&client, moto.url(), &account, operation, &body)
                .await
                .expect("answered")
        }
    };
    // A hundred clusters an answer (the most DescribeClusters takes): serialising one takes long
    // enough for the server to answer other requests meanwhile.
    let names: Vec<String> = (0..100).map(|i| format!("tagged-{i}")).collect();
    for name in &names {
        call(
            "CreateCluster",
            json!({"clusterName": name, "tags": [{"key": "team", "value": "a"}]}),
        )
        .await;
    }
    let with_tags = json!({"clusters": names, "include": ["TAGS"]});
    let without = json!({"clusters": names});
    let mut tasks = Vec::new();
    for worker in 0..6 {
        let call = call.clone();
        let (with_tags, without) = (with_tags.clone(), without.clone());
        tasks.push(tokio::spawn(async move {
            let mut stripped = 0;
            for _ in 0..15 {
                if worker % 2 == 0 {
                    let answer = call("DescribeClusters", with_tags.clone()).await;
                    let clusters = answer["clusters"].as_array().cloned().unwrap_or_default();
                    assert_eq!(clusters.len(), 100, "{answer}");
                    stripped += clusters
                        .iter()
                        .filter(|c| c["tags"][0]["value"] != "a")
                        .count();
                } else {
                    let answer = call("DescribeClusters", without.clone()).await;
                    let clusters = answer["clusters"].as_array().cloned().unwrap_or_default();
                    assert!(clusters.iter().all(|c| c.get("tags").is_none()), "{answer}");
                }
            }
            stripped
        }));
    }
    let mut stripped = 0;
    for task in tasks {
        stripped += task.await.expect("joined");
    }
    assert_eq!(
        stripped, 0,
        "clusters without their tags in answers that asked for them"
    );
}
