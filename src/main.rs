//! The `ecs-operator` command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ecs_operator::{crdgen, render};

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
    Run(RunArgs),
    /// Validate custom resources and print the AWS requests they translate to, one JSON per line.
    /// Offline: needs no cluster and no AWS.
    Render {
        /// A YAML/JSON file (multi-document) or a folder of them.
        #[arg(short = 'f', long = "filename", value_name = "PATH")]
        path: PathBuf,
    },
}

/// Settings of `run`; every flag can also be set through its environment variable.
#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Watch only this namespace (all namespaces when unset).
    #[arg(long, env = "ECS_OPERATOR_NAMESPACE")]
    namespace: Option<String>,
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
    /// Highest rate, in calls per second, of every AWS API category. Each category starts at the
    /// rate ECS documents, grows while AWS accepts calls and halves when it throttles.
    #[arg(long, env = "ECS_OPERATOR_AWS_MAX_RATE", default_value_t = ecs_operator::aws::DEFAULT_RATE_CEILING)]
    aws_max_rate: f64,
    /// Per-category ceilings overriding --aws-max-rate, e.g.
    /// `task-definition-write=5,service-write=10` (categories: cluster-read, service-read,
    /// service-write, task-definition-read, task-definition-write, tag-write, tag-read,
    /// autoscaling).
    #[arg(long, env = "ECS_OPERATOR_AWS_RATE_CEILINGS", value_delimiter = ',', value_parser = parse_ceiling)]
    aws_rate_ceilings: Vec<(ecs_operator::aws::ApiCategory, f64)>,
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
    /// Objects of one kind reconciled at once.
    #[arg(long, env = "ECS_OPERATOR_CONCURRENCY", default_value_t = 32)]
    concurrency: u16,
    /// Name of this controller in Kubernetes Events.
    #[arg(long, env = "ECS_OPERATOR_REPORTER", default_value = "ecs-operator")]
    reporter: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run(args),
        Command::Crds { output_dir } => crds(output_dir),
        Command::Render { path } => render_command(&path),
    }
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
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
    runtime.block_on(async move {
        let client = match kube::Client::try_default().await {
            Ok(client) => client,
            Err(e) => {
                eprintln!("error: cannot reach Kubernetes (kubeconfig or in-cluster config): {e}");
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
            region: args.aws_region,
            endpoint_url: args.aws_endpoint_url,
            max_attempts: args.aws_max_attempts,
            budgets,
            ..Default::default()
        })
        .await;
        let config = ecs_operator::controller::ControllerConfig {
            namespace: args.namespace,
            resync: std::time::Duration::from_secs(args.resync_seconds.max(1)),
            max_backoff: std::time::Duration::from_secs(args.max_backoff_seconds.max(1)),
            poll: std::time::Duration::from_secs(args.poll_seconds.max(1)),
            concurrency: args.concurrency,
        };
        let ctx = std::sync::Arc::new(ecs_operator::controller::Context::new(
            client,
            aws,
            config,
            &args.reporter,
        ));
        tracing::info!("ecs-operator running");
        use futures::FutureExt;
        let shutdown = shutdown_signal().shared();
        let services = ecs_operator::controller::service::Services::new(&ctx);
        let policies = ecs_operator::controller::scaling_policy::ScalingPolicies::new(&ctx);
        tokio::join!(
            ecs_operator::controller::runner::run(
                ecs_operator::controller::task_definition::TaskDefinitions,
                ctx.clone(),
                shutdown.clone(),
            ),
            ecs_operator::controller::runner::run(services, ctx.clone(), shutdown.clone()),
            ecs_operator::controller::runner::run(policies, ctx, shutdown),
        );
        tracing::info!("ecs-operator stopped");
        ExitCode::SUCCESS
    })
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

/// Completes on SIGTERM (how Kubernetes stops a pod) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
