//! The sandbox: the whole stack on one machine for a person to try the operator. moto behind the
//! proxy with its ECS model, the Kubernetes API emulator, the operator; the repository's
//! `examples/` applied with kubectl and followed until Ready.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::TestbedError;
use crate::bench::{Health, Stack, autoscaling_call, ecs_call};
use crate::http::{self, HttpClient};

/// The clusters the examples name.
pub const CLUSTERS: [&str; 2] = ["my-cluster", "prod"];

/// The kinds, as (plural for the API, label for people).
pub const KINDS: [(&str, &str); 6] = [
    ("ecscapacityproviders", "capacity providers"),
    ("ecsclusters", "clusters"),
    ("ecstaskdefinitions", "task definitions"),
    ("ecsservices", "services"),
    ("ecsscalingpolicies", "scaling policies"),
    ("ecstasks", "one-off tasks"),
];

/// Creates in `account` behind `aws_url` what the examples expect to exist already: their clusters
/// (with the Fargate capacity providers associated), the task definitions two services and a
/// task name literally (`web-app:1`, `web-app-ec2`, `report-builder`), and the Auto Scaling
/// group of the capacity provider example (`ecs-ec2-instances`).
pub async fn seed_aws(
    client: &HttpClient,
    aws_url: &str,
    account: &str,
) -> Result<(), TestbedError> {
    for cluster in CLUSTERS {
        ecs_call(
            client,
            aws_url,
            account,
            "CreateCluster",
            // The examples' Fargate strategies need FARGATE and FARGATE_SPOT associated.
            &json!({"clusterName": cluster, "capacityProviders": ["FARGATE", "FARGATE_SPOT"]}),
        )
        .await?;
    }
    let web_app = json!({
        "family": "web-app", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "web-app", "image": "public.ecr.aws/nginx/nginx:1.27",
                                  "essential": true, "portMappings": [{"containerPort": 80}]}]
    });
    let web_app_ec2 = json!({
        "family": "web-app-ec2", "networkMode": "bridge", "requiresCompatibilities": ["EC2"],
        "containerDefinitions": [{"name": "web-app", "image": "public.ecr.aws/nginx/nginx:1.27",
                                  "essential": true, "memory": 256,
                                  "portMappings": [{"containerPort": 80, "hostPort": 0}]}]
    });
    let report_builder = json!({
        "family": "report-builder", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "512", "memory": "1024",
        "containerDefinitions": [{"name": "report", "image": "public.ecr.aws/docker/library/busybox:1.37",
                                  "essential": true}]
    });
    for body in [web_app, web_app_ec2, report_builder] {
        ecs_call(client, aws_url, account, "RegisterTaskDefinition", &body).await?;
    }
    // The Auto Scaling group the capacity provider example names.
    let auth = crate::aws::query::authorization("autoscaling");
    let headers = [
        ("authorization", auth.as_str()),
        ("x-moto-account-id", account),
    ];
    for form in [
        "Action=CreateLaunchConfiguration&Version=2011-01-01&LaunchConfigurationName=ecs-ec2-instances&ImageId=ami-12c6146b&InstanceType=t3.medium",
        "Action=CreateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName=ecs-ec2-instances&LaunchConfigurationName=ecs-ec2-instances&MinSize=0&MaxSize=4&AvailabilityZones.member.1=us-east-1a",
    ] {
        let (status, body) = crate::aws::query::send(client, aws_url, &headers, form)
            .await
            .map_err(TestbedError::Tool)?;
        if status != 200 {
            return Err(TestbedError::Tool(format!("{form}: {status} {body}")));
        }
    }
    Ok(())
}

/// `kubectl` with `kubeconfig`, failing with its stderr.
pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> Result<String, TestbedError> {
    let output = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .map_err(|e| TestbedError::io("kubectl (is it installed?)", e))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(TestbedError::Tool(format!(
            "kubectl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}

/// Options of [`run`].
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    /// The `ecs-operator` binary.
    pub operator: PathBuf,
    /// The folder of example manifests to apply.
    pub examples: PathBuf,
    /// Where the kubeconfig and the operator's log go.
    pub dir: PathBuf,
    /// How long to wait for everything to be Ready before reporting what is not.
    pub timeout: Duration,
    /// Run on a real control plane (kube-apiserver, kube-controller-manager, etcd) rather than
    /// the emulator: what a user sees with `kubectl` is then what a cluster shows.
    pub real_control_plane: bool,
}

/// A running sandbox; dropping it stops everything.
pub struct Sandbox {
    /// The stack (moto, proxy, emulator, operator).
    pub stack: Stack,
    /// Whether every example became Ready within the timeout.
    pub all_ready: bool,
    dir: PathBuf,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stack.stop_operator();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Brings the stack up, applies the examples, follows them to Ready and prints what Kubernetes
/// and ECS hold.
pub async fn up(options: &SandboxOptions) -> Result<Sandbox, TestbedError> {
    say(if options.real_control_plane {
        "starting moto, the AWS proxy (ECS model) and a real Kubernetes control plane (kube-apiserver, etcd; built with Go on first use)"
    } else {
        "starting moto, the AWS proxy (ECS model) and the Kubernetes API emulator"
    });
    let mut stack =
        Stack::start_on(&options.operator, &options.dir, options.real_control_plane).await?;
    let client = http::client();
    // Straight to moto: the proxy's record stays the operator's own calls.
    seed_aws(&client, stack.moto.url(), &stack.account).await?;
    let log = options.dir.join("operator.log");
    say(&format!("starting ecs-operator (log: {})", log.display()));
    stack.start_operator_logged(
        &options.operator,
        &[
            "--poll-seconds=1".to_owned(),
            "--max-backoff-seconds=10".to_owned(),
            "--log-level=info".to_owned(),
        ],
        Some(&log),
    )?;
    let mut sandbox = Sandbox {
        stack,
        all_ready: false,
        dir: options.dir.clone(),
    };
    let kubeconfig = sandbox.stack.kubeconfig().to_owned();
    let examples = options.examples.to_string_lossy().into_owned();
    say(&format!("kubectl apply -R -f {examples}"));
    print!(
        "{}",
        kubectl(&kubeconfig, &["apply", "-R", "-f", &examples])?
    );

    let started = Instant::now();
    let all_ready = follow(&sandbox.stack, started, options.timeout).await?;
    sandbox.all_ready = all_ready;
    println!();
    print!("{}", kubectl(&kubeconfig, &["get", "ecs"])?);
    if !all_ready {
        say(&format!(
            "not everything is Ready after {}s; the conditions say why:",
            options.timeout.as_secs()
        ));
        print!(
            "{}",
            kubectl(
                &kubeconfig,
                &[
                    "get",
                    "ecs",
                    "-o",
                    "custom-columns=KIND:.kind,NAME:.metadata.name,READY:.status.conditions[?(@.type==\"Ready\")].reason,MESSAGE:.status.conditions[?(@.type==\"Ready\")].message"
                ],
            )?
        );
    }
    println!();
    print_ecs(&client, &sandbox.stack).await?;
    Ok(sandbox)
}

/// [`up`], then keeps everything running until Ctrl-C (or SIGTERM).
pub async fn run(options: &SandboxOptions) -> Result<(), TestbedError> {
    let sandbox = up(options).await?;
    println!();
    say("the sandbox keeps running. In another shell:");
    println!(
        "  export KUBECONFIG={}",
        sandbox.stack.kubeconfig().display()
    );
    println!("  kubectl get ecs");
    println!(
        "  kubectl describe ecssvc web-service   # conditions and the Events the operator reported"
    );
    println!("  kubectl apply -f your-object.yaml");
    println!(
        "AWS (moto behind the proxy) answers at {} in account {}.",
        sandbox.stack.proxy.url(),
        sandbox.stack.account
    );
    say("Ctrl-C stops everything and removes the sandbox's files");
    stopped().await;
    say("stopping");
    drop(sandbox);
    Ok(())
}

/// Shows progress until every object of the three kinds is Ready or `timeout` passes; returns
/// whether all became Ready.
async fn follow(stack: &Stack, started: Instant, timeout: Duration) -> Result<bool, TestbedError> {
    let terminal = std::io::stdout().is_terminal();
    let mut last = String::new();
    loop {
        let mut parts = Vec::new();
        let mut done = true;
        for (plural, label) in KINDS {
            let Health {
                total,
                ready,
                stalled,
            } = stack.health(plural).await?;
            done &= ready == total;
            let stalled = if stalled > 0 {
                format!(" ({stalled} stalled)")
            } else {
                String::new()
            };
            parts.push(format!("{label} {ready}/{total}{stalled}"));
        }
        let line = format!(
            "[{:>3}s] Ready: {}",
            started.elapsed().as_secs(),
            parts.join(", ")
        );
        if terminal {
            print!("\r{line}  ");
            let _ = std::io::stdout().flush();
        } else if line[7..] != last.get(7..).unwrap_or_default()[..] {
            println!("{line}");
        }
        last = line;
        if done {
            return Ok(true);
        }
        if started.elapsed() > timeout {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What ECS and Application Auto Scaling hold now, read through the proxy.
async fn print_ecs(client: &HttpClient, stack: &Stack) -> Result<(), TestbedError> {
    say("what ECS holds now:");
    let url = stack.proxy.url();
    let account = &stack.account;
    let families = ecs_call(
        client,
        url,
        account,
        "ListTaskDefinitionFamilies",
        &json!({"status": "ACTIVE"}),
    )
    .await?;
    let names: Vec<&str> = families["families"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    println!("  task definition families: {}", names.join(", "));
    for cluster in CLUSTERS {
        let listed = ecs_call(
            client,
            url,
            account,
            "ListServices",
            &json!({"cluster": cluster}),
        )
        .await?;
        let arns: Vec<Value> = listed["serviceArns"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if arns.is_empty() {
            continue;
        }
        let described = ecs_call(
            client,
            url,
            account,
            "DescribeServices",
            &json!({"cluster": cluster, "services": arns}),
        )
        .await?;
        println!("  cluster {cluster}:");
        for service in described["services"].as_array().into_iter().flatten() {
            let task_definition = service["taskDefinition"].as_str().unwrap_or_default();
            println!(
                "    service {:<16} {:<8} desired {:>2} running {:>2}  {}",
                service["serviceName"].as_str().unwrap_or_default(),
                service["status"].as_str().unwrap_or_default(),
                service["desiredCount"],
                service["runningCount"],
                task_definition.rsplit('/').next().unwrap_or_default(),
            );
        }
    }
    let targets = autoscaling_call(
        client,
        url,
        account,
        "DescribeScalableTargets",
        &json!({"ServiceNamespace": "ecs"}),
    )
    .await?;
    for target in targets["ScalableTargets"].as_array().into_iter().flatten() {
        println!(
            "  scalable target {} ({}-{} tasks)",
            target["ResourceId"].as_str().unwrap_or_default(),
            target["MinCapacity"],
            target["MaxCapacity"],
        );
    }
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn stopped() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

fn say(text: &str) {
    println!("==> {text}");
}
