//! The `ecs-operator` command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use futures::FutureExt;

use ecs_operator::controller::{Context, ControllerConfig, registry};
use ecs_operator::runtime;
use ecs_operator::runtime::admin::{self, Role};
use ecs_operator::runtime::leader::{self, Election, ElectionConfig};
use ecs_operator::runtime::telemetry::{self, LogFormat};
use ecs_operator::{crdgen, render, tools};

/// Kubernetes operator for Amazon ECS task definitions, services and autoscaling.
#[derive(Parser)]
#[command(name = "ecs-operator", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the CustomResourceDefinitions as YAML (or write one file per kind with --output-dir).
    Crds {
        /// Write ecstaskdefinitions.yaml, ecsservices.yaml and ecsscalingpolicies.yaml here instead.
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
    },
    /// Run the controllers against the cluster of the current kubeconfig (or in-cluster config).
    Run(Box<RunArgs>),
    /// Validate custom resources and print the AWS requests they translate to, one JSON per line.
    /// Offline: needs no cluster and no AWS.
    Render {
        /// A YAML/JSON file (multi-document) or a folder of them.
        #[arg(short = 'f', long = "filename", value_name = "PATH")]
        path: PathBuf,
    },
    /// Show the AWS calls applying the files would make now (the controllers' own plans against
    /// live AWS reads; writes nothing). Exit 0: no change; 1: changes; 2: errors.
    Diff {
        /// A YAML/JSON file (multi-document) or a folder of them.
        #[arg(short = 'f', long = "filename", value_name = "PATH")]
        path: PathBuf,
        #[command(flatten)]
        connection: ConnectionArgs,
        /// Output format.
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Print manifests that take over a running ECS cluster, its services, their task definitions
    /// and their autoscaling (with the adopt annotation: applied, the operator writes nothing but
    /// its owner tags). Reads AWS only.
    Import {
        /// The ECS cluster (name or ARN).
        #[arg(long)]
        cluster: String,
        /// Only this service (repeatable); every ACTIVE service of the cluster when omitted.
        #[arg(long = "service", value_name = "NAME")]
        services: Vec<String>,
        /// Namespace of the manifests.
        #[arg(short = 'n', long, default_value = "default")]
        namespace: String,
        #[command(flatten)]
        connection: AwsArgs,
        /// Output format: YAML documents, or one JSON `List`.
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Yaml)]
        output: Output,
    },
    /// Find what AWS would refuse when the files are applied (missing or inactive clusters,
    /// providers and task definitions; a task definition that does not suit its launch type,
    /// network or load balancers). Reads AWS only. Exit 0: nothing found; 1: findings; 2: errors.
    Verify {
        /// A YAML/JSON file (multi-document) or a folder of them.
        #[arg(short = 'f', long = "filename", value_name = "PATH")]
        path: PathBuf,
        #[command(flatten)]
        connection: AwsArgs,
        /// Output format.
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
}

/// How the tools print their results.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Output {
    /// For people.
    Text,
    /// One JSON document.
    Json,
    /// YAML.
    Yaml,
}

/// Where `diff` finds Kubernetes and AWS.
#[derive(clap::Args, Debug)]
struct ConnectionArgs {
    /// Kubeconfig file (otherwise $KUBECONFIG or ~/.kube/config).
    #[arg(long, env = "ECS_OPERATOR_KUBECONFIG", value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (otherwise its current context).
    #[arg(long, env = "ECS_OPERATOR_KUBE_CONTEXT")]
    kube_context: Option<String>,
    #[command(flatten)]
    aws: AwsArgs,
}

/// Where `diff`, `import` and `verify` find AWS.
#[derive(clap::Args, Debug)]
struct AwsArgs {
    /// AWS region (otherwise from the AWS default chain).
    #[arg(long, alias = "region", env = "ECS_OPERATOR_AWS_REGION")]
    aws_region: Option<String>,
    /// AWS endpoint override.
    #[arg(long, env = "ECS_OPERATOR_AWS_ENDPOINT_URL")]
    aws_endpoint_url: Option<String>,
}

impl ConnectionArgs {
    fn connection(&self) -> tools::Connection {
        tools::Connection {
            kubeconfig: self.kubeconfig.clone(),
            kube_context: self.kube_context.clone(),
            ..self.aws.connection()
        }
    }
}

impl AwsArgs {
    fn connection(&self) -> tools::Connection {
        tools::Connection {
            aws_region: self.aws_region.clone(),
            aws_endpoint_url: self.aws_endpoint_url.clone(),
            ..Default::default()
        }
    }
}

/// Settings of `run`; every flag can also be set through its environment variable.
#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Kubeconfig file (otherwise $KUBECONFIG, ~/.kube/config, or the in-cluster service
    /// account).
    #[arg(long, env = "ECS_OPERATOR_KUBECONFIG", value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (otherwise its current context).
    #[arg(long, env = "ECS_OPERATOR_KUBE_CONTEXT")]
    kube_context: Option<String>,
    /// Watch only these namespaces, comma-separated (all namespaces when unset).
    #[arg(
        long,
        alias = "namespace",
        env = "ECS_OPERATOR_NAMESPACES",
        value_delimiter = ','
    )]
    namespaces: Vec<String>,
    /// AWS region (otherwise from the AWS default chain: AWS_REGION, profile, IMDS).
    #[arg(long, env = "ECS_OPERATOR_AWS_REGION")]
    aws_region: Option<String>,
    /// AWS endpoint override: a VPC endpoint, LocalStack or moto.
    #[arg(long, env = "ECS_OPERATOR_AWS_ENDPOINT_URL")]
    aws_endpoint_url: Option<String>,
    /// Attempts per AWS call for failures a retry can fix (throttling, 5xx); the controllers retry
    /// with their own backoff on top.
    #[arg(long, env = "ECS_OPERATOR_AWS_MAX_ATTEMPTS", default_value_t = 3)]
    aws_max_attempts: u32,
    /// Highest rate, in calls per second, of every AWS API category, for an account whose ECS
    /// quotas were raised. Each category starts at the rate ECS documents, grows while AWS
    /// accepts calls up to this (by default: not past the documented rate) and halves when it
    /// throttles.
    #[arg(long, env = "ECS_OPERATOR_AWS_MAX_RATE")]
    aws_max_rate: Option<f64>,
    /// Per-category ceilings overriding --aws-max-rate, e.g.
    /// `task-definition-write=5,service-write=10` (categories: cluster-read, service-read,
    /// service-write, service-deployment-read, task-definition-read, task-definition-write,
    /// tag-write, tag-read, autoscaling).
    #[arg(long, env = "ECS_OPERATOR_AWS_RATE_CEILINGS", value_delimiter = ',', value_parser = parse_ceiling)]
    aws_rate_ceilings: Vec<(ecs_operator::aws::ApiCategory, f64)>,
    /// Observe and report only: no AWS writes for any object (each shows a Paused condition
    /// with the calls applying it would make); deleting an object leaves AWS as it is. For a
    /// second install that watches a production account, or a freeze.
    #[arg(long, env = "ECS_OPERATOR_READ_ONLY")]
    read_only: bool,
    /// Reconcile only objects whose labels match this label selector (e.g.
    /// `ecs.operator.dev/instance=eu-west-1`), so that installs per region or account split the
    /// objects and never reconcile the same one. References between objects (clusterRef,
    /// taskDefinitionRef, serviceRef) resolve whatever install reconciles the object named.
    #[arg(long, env = "ECS_OPERATOR_SELECTOR", value_name = "LABEL_SELECTOR")]
    selector: Option<String>,
    /// What deleting an object does in AWS when neither its `spec.deletionPolicy` nor its
    /// namespace's `ecs.operator.dev/deletion-policy` annotation says: `Delete` or `Retain`.
    #[arg(
        long,
        env = "ECS_OPERATOR_DEFAULT_DELETION_POLICY",
        default_value = "Delete",
        value_parser = |value: &str| value.parse::<ecs_operator::api::DeletionPolicy>()
    )]
    default_deletion_policy: ecs_operator::api::DeletionPolicy,
    /// Objects whose `ecs.operator.dev/adopt` annotation says nothing take over the AWS resources
    /// an object of the same namespace and name created (owner tag; for task definitions, the
    /// same content), as `ecs.operator.dev/adopt: same-owner` does for one object: a new
    /// Kubernetes cluster (or a restored backup) takes over without registering or creating
    /// anything again. Stop the old cluster's operator (or make it `--read-only`) first.
    #[arg(long, env = "ECS_OPERATOR_ADOPT_SAME_OWNER")]
    adopt_same_owner: bool,
    /// Reconcile a namespace only when it names an AWS role of its own
    /// (`ecs.operator.dev/aws-role-arn`); objects elsewhere are Stalled, naming the annotation,
    /// and the operator's own identity is never used for them.
    #[arg(long, env = "ECS_OPERATOR_REQUIRE_NAMESPACE_ROLE")]
    require_namespace_role: bool,
    /// Seconds between drift checks of a settled object.
    #[arg(long, env = "ECS_OPERATOR_RESYNC_SECONDS", default_value_t = 600)]
    resync_seconds: u64,
    /// Longest wait, in seconds, between retries of a failing object.
    #[arg(long, env = "ECS_OPERATOR_MAX_BACKOFF_SECONDS", default_value_t = 300)]
    max_backoff_seconds: u64,
    /// Seconds between looks at an object that waits (for a reference, a rollout, a draining
    /// service).
    #[arg(long, env = "ECS_OPERATOR_POLL_SECONDS", default_value_t = 5)]
    poll_seconds: u64,
    /// Seconds an object waits for another (its task definition, its service) before the wait
    /// is published as an Event; its condition says so at once. Objects applied together wait
    /// for a moment on every start, and those waits are no news (0: an Event for every wait).
    #[arg(
        long,
        env = "ECS_OPERATOR_WAIT_EVENT_AFTER_SECONDS",
        default_value_t = 30
    )]
    wait_event_after_seconds: u64,
    /// Objects reconciled at once by each controller (per kind and namespace list entry).
    #[arg(long, env = "ECS_OPERATOR_CONCURRENCY", default_value_t = 32)]
    concurrency: u16,
    /// Name of this controller in Kubernetes Events.
    #[arg(long, env = "ECS_OPERATOR_REPORTER", default_value = "ecs-operator")]
    reporter: String,
    /// Elect a leader through a Lease so that only one replica reconciles
    /// (`--leader-election=false` for a single process outside a cluster).
    #[arg(long, env = "ECS_OPERATOR_LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    leader_election: bool,
    /// Namespace of the Lease (default: the pod's namespace in a cluster, the kubeconfig
    /// context's namespace outside).
    #[arg(long, env = "ECS_OPERATOR_LEADER_ELECTION_NAMESPACE")]
    leader_election_namespace: Option<String>,
    /// Name of the Lease; replicas sharing it share one leader.
    #[arg(
        long,
        env = "ECS_OPERATOR_LEADER_ELECTION_LEASE_NAME",
        default_value = "ecs-operator"
    )]
    leader_election_lease_name: String,
    /// This replica's identity in the Lease (default: $POD_NAME or the host name, plus a random
    /// suffix).
    #[arg(long, env = "ECS_OPERATOR_LEADER_ELECTION_IDENTITY")]
    leader_election_identity: Option<String>,
    /// Seconds the Lease stays valid without renewal: how long a standby waits after the leader
    /// dies without releasing it.
    #[arg(
        long,
        env = "ECS_OPERATOR_LEASE_DURATION_SECONDS",
        default_value_t = 15
    )]
    lease_duration_seconds: u64,
    /// Seconds before expiry at which the leader renews (clock skew allowed between nodes).
    #[arg(long, env = "ECS_OPERATOR_LEASE_GRACE_SECONDS", default_value_t = 5)]
    lease_grace_seconds: u64,
    /// Address of the admin server (/metrics, /healthz, /readyz).
    #[arg(
        long,
        env = "ECS_OPERATOR_ADMIN_BIND_ADDRESS",
        default_value = "0.0.0.0:8080"
    )]
    admin_bind_address: String,
    /// Log line format.
    #[arg(long, env = "ECS_OPERATOR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Plain)]
    log_format: LogFormat,
    /// Log filter, e.g. `info` or `warn,ecs_operator=debug` (default: $RUST_LOG, else `info`).
    #[arg(long, env = "ECS_OPERATOR_LOG_LEVEL")]
    log_level: Option<String>,
    /// Seconds that in-flight reconciles get to finish after SIGTERM.
    #[arg(
        long,
        env = "ECS_OPERATOR_SHUTDOWN_TIMEOUT_SECONDS",
        default_value_t = 20
    )]
    shutdown_timeout_seconds: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run(*args),
        Command::Crds { output_dir } => crds(output_dir),
        Command::Render { path } => render_command(&path),
        Command::Diff {
            path,
            connection,
            output,
        } => block_on(diff_command(path, connection.connection(), output)),
        Command::Import {
            cluster,
            services,
            namespace,
            connection,
            output,
        } => {
            let request = tools::import::ImportRequest {
                cluster,
                services,
                namespace,
            };
            block_on(import_command(request, connection.connection(), output))
        }
        Command::Verify {
            path,
            connection,
            output,
        } => block_on(verify_command(path, connection.connection(), output)),
    }
}

/// The objects in the files at `path` (notes on stderr); exit status 2 when they cannot be read.
fn load_files(path: &std::path::Path) -> Result<Vec<render::SourceObject>, ExitCode> {
    let (objects, notes) = render::load(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })?;
    for note in &notes {
        eprintln!("note: {note}");
    }
    Ok(objects)
}

async fn verify_command(path: PathBuf, connection: tools::Connection, output: Output) -> ExitCode {
    let objects = match load_files(&path) {
        Ok(objects) => objects,
        Err(code) => return code,
    };
    let aws = connection.aws().await;
    let needs = tools::verify::needs(&objects);
    let facts = match tools::verify::gather(&aws, &needs).await {
        Ok(facts) => facts,
        Err(e) => {
            eprintln!("error: cannot read AWS: {e}");
            return ExitCode::from(2);
        }
    };
    let findings = tools::verify::check(&objects, &facts);
    let printed = match output {
        Output::Text => {
            for finding in &findings {
                println!(
                    "{} {}/{}: {}: {}",
                    finding.kind, finding.namespace, finding.name, finding.field, finding.message
                );
            }
            if findings.is_empty() {
                println!("{} objects: nothing AWS would refuse", objects.len());
            }
            true
        }
        _ => print_structured(&findings, output),
    };
    if !printed {
        ExitCode::from(2)
    } else if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn import_command(
    request: tools::import::ImportRequest,
    connection: tools::Connection,
    output: Output,
) -> ExitCode {
    let aws = connection.aws().await;
    let imported = match tools::import::import(&aws, &request).await {
        Ok(imported) => imported,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for note in &imported.notes {
        eprintln!("note: {note}");
    }
    let printed = match output {
        Output::Json => print_structured(
            &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": imported.objects}),
            output,
        ),
        _ => {
            let mut documents = Vec::new();
            for object in &imported.objects {
                match serde_yaml::to_string(object) {
                    Ok(yaml) => documents.push(yaml),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            print!("{}", documents.join("---\n"));
            true
        }
    };
    for problem in &imported.problems {
        eprintln!("error: {problem}");
    }
    if printed && imported.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// Runs a tool command on a runtime of its own.
fn block_on(command: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(command),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(2)
        }
    }
}

/// Prints `value` as JSON or YAML.
fn print_structured(value: &impl serde::Serialize, output: Output) -> bool {
    let text = match output {
        Output::Yaml => serde_yaml::to_string(value).map_err(|e| e.to_string()),
        _ => serde_json::to_string_pretty(value)
            .map(|j| j + "\n")
            .map_err(|e| e.to_string()),
    };
    match text {
        Ok(text) => {
            print!("{text}");
            true
        }
        Err(e) => {
            eprintln!("error: {e}");
            false
        }
    }
}

async fn diff_command(path: PathBuf, connection: tools::Connection, output: Output) -> ExitCode {
    let mut objects = match load_files(&path) {
        Ok(objects) => objects,
        Err(code) => return code,
    };
    let ctx = match connection.context().await {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("error: cannot reach Kubernetes: {e}");
            return ExitCode::from(2);
        }
    };
    tools::diff::default_namespace(&mut objects, ctx.client.default_namespace());
    let previews = tools::diff::diff(ctx, &objects).await;
    let printed = match output {
        Output::Text => {
            print!("{}", tools::diff::to_text(&previews));
            true
        }
        _ => print_structured(&previews, output),
    };
    for preview in previews.iter().filter(|p| p.is_error()) {
        eprintln!(
            "error: {} {}/{}: {}: {}",
            preview.kind, preview.namespace, preview.name, preview.reason, preview.message
        );
    }
    if !printed {
        return ExitCode::from(2);
    }
    ExitCode::from(tools::diff::exit_code(&previews))
}

fn crds(output_dir: Option<PathBuf>) -> ExitCode {
    let mut documents = Vec::new();
    for (file, crd) in crdgen::all() {
        match crdgen::to_yaml(&crd) {
            Ok(yaml) => documents.push((file, yaml)),
            Err(e) => {
                eprintln!("error: cannot serialise the CRD {file}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    match output_dir {
        Some(dir) => {
            for (file, yaml) in documents {
                let path = dir.join(file);
                if let Err(e) = std::fs::write(&path, yaml) {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        None => {
            let all: Vec<String> = documents.into_iter().map(|(_, yaml)| yaml).collect();
            print!("{}", all.join("---\n"));
        }
    }
    ExitCode::SUCCESS
}

fn render_command(path: &std::path::Path) -> ExitCode {
    let (objects, mut notes) = match render::load(path) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rendered = render::render(&objects);
    notes.extend(rendered.notes);
    for note in &notes {
        eprintln!("note: {note}");
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for request in &rendered.requests {
        if writeln!(out, "{}", request.to_json()).is_err() {
            return ExitCode::FAILURE;
        }
    }
    for warning in &rendered.warnings {
        eprintln!("warning: {warning}");
    }
    for error in &rendered.errors {
        eprintln!("error: {error}");
    }
    if rendered.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run(args: RunArgs) -> ExitCode {
    let level = args
        .log_level
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok().filter(|l| !l.is_empty()))
        .unwrap_or_else(|| "info".to_owned());
    if let Err(e) = telemetry::init(args.log_format, &level) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(operate(args));
    // Reconciles abandoned at the shutdown deadline must not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

/// Asks the API server to list with `selector` once, so a malformed selector stops the start
/// with the server's reason instead of failing every watch forever. Other failures (RBAC, the
/// CRD not yet installed) are left to the watches, which report and retry them.
async fn check_selector(client: &kube::Client, selector: &str) -> Result<(), String> {
    let api: kube::Api<ecs_operator::api::EcsService> = kube::Api::all(client.clone());
    match api
        .list_metadata(&kube::api::ListParams::default().labels(selector).limit(1))
        .await
    {
        Err(kube::Error::Api(status)) if status.code == 400 => Err(format!(
            "--selector {selector:?} is not a valid label selector: {}",
            status.message
        )),
        _ => Ok(()),
    }
}

/// Exit code when leadership is lost or cannot be confirmed: Kubernetes restarts the pod, which
/// then waits as a standby.
const EXIT_LEADERSHIP_LOST: u8 = 3;

async fn operate(args: RunArgs) -> ExitCode {
    let kube_config = match kube_config(&args).await {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("cannot reach Kubernetes (kubeconfig or in-cluster config): {e}");
            return ExitCode::FAILURE;
        }
    };
    let client = match kube::Client::try_from(kube_config.clone()) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!("cannot reach Kubernetes (kubeconfig or in-cluster config): {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut budgets = ecs_operator::aws::limits::default_budgets(args.aws_max_rate);
    for (category, ceiling) in &args.aws_rate_ceilings {
        if let Some(budget) = budgets.get_mut(category) {
            budget.max_per_second = *ceiling;
            budget.start_per_second = budget.start_per_second.min(*ceiling);
        }
    }
    let aws = ecs_operator::aws::AwsClients::connect(&ecs_operator::aws::AwsSettings {
        region: args.aws_region.clone(),
        endpoint_url: args.aws_endpoint_url.clone(),
        max_attempts: args.aws_max_attempts,
        budgets,
        ..Default::default()
    })
    .await;
    let config = ControllerConfig {
        namespace: None,
        resync: Duration::from_secs(args.resync_seconds.max(1)),
        max_backoff: Duration::from_secs(args.max_backoff_seconds.max(1)),
        poll: Duration::from_secs(args.poll_seconds.max(1)),
        wait_event_after: Duration::from_secs(args.wait_event_after_seconds),
        concurrency: args.concurrency,
        read_only: args.read_only,
        selector: args.selector.clone().filter(|s| !s.trim().is_empty()),
        default_deletion_policy: args.default_deletion_policy,
        adopt_same_owner: args.adopt_same_owner,
        require_namespace_role: args.require_namespace_role,
        // In a cluster, the pod's namespace: where the external-ID Secrets live.
        operator_namespace: client.default_namespace().to_owned(),
        ..ControllerConfig::default()
    };
    if let Some(selector) = &config.selector
        && let Err(e) = check_selector(&client, selector).await
    {
        tracing::error!("{e}");
        return ExitCode::FAILURE;
    }
    let ctx = Arc::new(Context::new(client.clone(), aws, config, &args.reporter));
    let caches = ctx.caches.clone();
    let registry = ctx.metrics.registry();
    let status = admin::Status::new(&registry, Arc::new(move || caches.all_synced()));

    let listener = match admin::bind(&args.admin_bind_address).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "admin server listening (/metrics, /healthz, /readyz)");
    }
    let server_status = status.clone();
    tokio::spawn(async move {
        let stopped = admin::serve(listener, server_status, registry, std::future::pending()).await;
        if let Err(e) = stopped {
            tracing::error!("{e}");
        }
    });

    let shutdown = runtime::shutdown_signal().shared();
    let election = if args.leader_election {
        let config = ElectionConfig {
            namespace: args
                .leader_election_namespace
                .clone()
                .unwrap_or_else(|| client.default_namespace().to_owned()),
            lease_name: args.leader_election_lease_name.clone(),
            identity: args
                .leader_election_identity
                .clone()
                .unwrap_or_else(leader::default_identity),
            duration_seconds: args.lease_duration_seconds,
            grace_seconds: args.lease_grace_seconds,
        };
        let election = tokio::select! {
            joined = Election::join(kube_config, &config) => joined,
            _ = shutdown.clone() => return ExitCode::SUCCESS,
        };
        let election = match election {
            Ok(election) => Arc::new(election),
            Err(e) => {
                tracing::error!("{e}");
                return ExitCode::FAILURE;
            }
        };
        status.set_lease_reachable(election.reachable());
        status.set_role(Role::Standby);
        tracing::info!(identity = %config.identity, lease = %format!("{}/{}", config.namespace, config.lease_name), "waiting for the leader Lease");
        tokio::select! {
            _ = election.acquire() => {}
            _ = shutdown.clone() => {
                status.set_role(Role::Stopping);
                return ExitCode::SUCCESS;
            }
        }
        tracing::info!(identity = %config.identity, "leading");
        Some(election)
    } else {
        None
    };
    status.set_role(Role::Leading);

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stop_signal = async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|stop| *stop).await;
    }
    .boxed()
    .shared();
    let mut controllers = tokio::spawn(run_controllers(ctx, args.namespaces.clone(), stop_signal));
    // Renewing runs (and the watchdog watches) until this future is dropped.
    let mut lost = {
        let election = election.clone();
        async move {
            match election {
                Some(election) => election.lost().await,
                None => std::future::pending().await,
            }
        }
        .boxed()
    };

    tokio::select! {
        error = &mut lost => {
            status.set_role(Role::Stopping);
            controllers.abort();
            tracing::error!("{error}; stopping so that Kubernetes restarts this replica as a standby");
            return ExitCode::from(EXIT_LEADERSHIP_LOST);
        }
        ended = &mut controllers => {
            status.set_role(Role::Stopping);
            tracing::error!(?ended, "the controllers stopped by themselves");
            drop(lost);
            release(election).await;
            return ExitCode::FAILURE;
        }
        _ = shutdown.clone() => {}
    }

    // SIGTERM: take no new work, give in-flight reconciles the deadline, keep the Lease renewed
    // meanwhile (another leader must not start while they run), then hand it over.
    status.set_role(Role::Stopping);
    tracing::info!("shutting down: finishing in-flight reconciles");
    let _ = stop.send(true);
    let deadline = Duration::from_secs(args.shutdown_timeout_seconds);
    tokio::select! {
        finished = tokio::time::timeout(deadline, &mut controllers) => {
            if finished.is_err() {
                tracing::warn!(?deadline, "in-flight reconciles did not finish in time; abandoning them (the next leader repeats them)");
                controllers.abort();
            }
        }
        error = &mut lost => {
            controllers.abort();
            tracing::error!("{error} while shutting down");
            return ExitCode::from(EXIT_LEADERSHIP_LOST);
        }
    }
    // A renewal cut short would hold the election's lock: stop renewing before releasing.
    drop(lost);
    release(election).await;
    tracing::info!("ecs-operator stopped");
    ExitCode::SUCCESS
}

/// Hands the Lease over (in a task of its own: a failure or panic in the crate must not turn a
/// clean shutdown into a crash).
async fn release(election: Option<Arc<Election>>) {
    let Some(election) = election else { return };
    match tokio::spawn(async move { election.release().await }).await {
        Ok(Ok(())) => tracing::info!("released the leader Lease"),
        Ok(Err(e)) => tracing::warn!("{e}"),
        Err(e) => tracing::warn!("releasing the Lease failed: {e}"),
    }
}

/// Every registered controller, once for all namespaces or once per listed namespace, until `stop`.
async fn run_controllers(
    ctx: Arc<Context>,
    namespaces: Vec<String>,
    stop: futures::future::Shared<futures::future::BoxFuture<'static, ()>>,
) {
    let contexts: Vec<Arc<Context>> = if namespaces.is_empty() {
        vec![ctx]
    } else {
        namespaces
            .into_iter()
            .map(|namespace| Arc::new(ctx.for_namespace(Some(namespace))))
            .collect()
    };
    let mut runs = Vec::new();
    for ctx in contexts {
        runs.extend(registry::run_all(&ctx, &stop));
    }
    futures::future::join_all(runs).await;
}

/// The Kubernetes connection from `--kubeconfig`/`--kube-context`, else inferred (KUBECONFIG,
/// ~/.kube/config, in-cluster).
async fn kube_config(args: &RunArgs) -> Result<kube::Config, String> {
    tools::kube_config(args.kubeconfig.as_ref(), args.kube_context.as_deref()).await
}

/// `category=calls-per-second`.
fn parse_ceiling(text: &str) -> Result<(ecs_operator::aws::ApiCategory, f64), String> {
    let (name, rate) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: write category=calls-per-second"))?;
    let category = ecs_operator::aws::ApiCategory::parse(name.trim())
        .ok_or_else(|| format!("{name:?} is not an API category"))?;
    let rate: f64 = rate
        .trim()
        .parse()
        .map_err(|_| format!("{rate:?} is not a number of calls per second"))?;
    if rate <= 0.0 {
        return Err(format!("{rate} must be above 0"));
    }
    Ok((category, rate))
}
