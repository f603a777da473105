//! `ecs-testbed`: start moto or the AWS fault proxy from the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ecs_testbed::aws::proxy::FaultsBody;
use ecs_testbed::{AwsProxy, MotoServer, ProxyConfig};

/// Test services for ecs-operator.
#[derive(Parser)]
#[command(name = "ecs-testbed", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install (if needed) and start moto on 127.0.0.1; prints its URL; Ctrl-C stops it.
    Moto {
        /// Port (a free one when omitted).
        #[arg(long)]
        port: Option<u16>,
    },
    /// Start a Kubernetes API on 127.0.0.1 and write a kubeconfig for it; prints the kubeconfig's
    /// path. A real control plane (kube-apiserver, kube-controller-manager, etcd; built with Go
    /// on first use) when Go is available, else the emulator. Ctrl-C stops it.
    KubeApi {
        /// Port (a free one when omitted).
        #[arg(long)]
        port: Option<u16>,
        /// Where to write the kubeconfig.
        #[arg(long, default_value = "ecs-testbed.kubeconfig")]
        kubeconfig: PathBuf,
        /// Use the in-process emulator (fault knobs: dropped watches, compaction, injected
        /// errors and latency) instead of the real control plane.
        #[arg(long)]
        emulator: bool,
    },
    /// Build (or find cached) the real control plane binary and print its path.
    BuildControlPlane,
    /// Fetch (or find cached) the test tools: helm and the kstatus tool; print their paths.
    Tools,
    /// The whole stack for trying the operator: moto with the ECS model, the Kubernetes API
    /// emulator and ecs-operator; applies the examples, follows them to Ready, prints what
    /// Kubernetes and ECS hold, and keeps running (with a KUBECONFIG to use) until Ctrl-C.
    Sandbox {
        /// The ecs-operator binary (default: `cargo build` it and use target/debug/ecs-operator).
        #[arg(long)]
        operator: Option<PathBuf>,
        /// Manifests to apply (default: the repository's examples/).
        #[arg(long)]
        examples: Option<PathBuf>,
        /// Seconds to wait for everything to be Ready before reporting what is not.
        #[arg(long, default_value_t = 180)]
        timeout_seconds: u64,
        /// The Kubernetes API: `auto` (a real control plane when Go is installed, else the
        /// emulator), `control-plane` or `emulator`.
        #[arg(long, default_value = "auto")]
        kube: String,
    },
    /// Start the recording, fault-injecting proxy in front of an AWS endpoint; prints its URL.
    AwsProxy {
        /// The endpoint to forward to (moto's URL).
        #[arg(long)]
        upstream: String,
        /// Port (a free one when omitted).
        #[arg(long)]
        port: Option<u16>,
        /// JSON file with {"rules": [...]} fault rules.
        #[arg(long)]
        faults: Option<PathBuf>,
        /// Send this x-moto-account-id with every request.
        #[arg(long)]
        account_id: Option<String>,
        /// Forward ECS service calls to moto unchanged (no ECS model).
        #[arg(long)]
        passthrough: bool,
        /// Seconds from a deployment's start to COMPLETED (or FAILED for failing images).
        #[arg(long, default_value_t = 2.0)]
        rollout_seconds: f64,
        /// Seconds from DeleteService (DRAINING) to INACTIVE.
        #[arg(long, default_value_t = 2.0)]
        drain_seconds: f64,
        /// `PATTERN=OUTCOME`: tasks whose image matches the glob end so (success,
        /// runUntilStopped, pullFailure, resourceInitFailure, outOfMemory, exit:N); repeatable,
        /// first match wins. Without any, images matching `*:broken*` fail to pull.
        #[arg(long = "image-outcome")]
        image_outcomes: Vec<ecs_testbed::ImageOutcome>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Moto { port } => match MotoServer::start(port) {
            Ok(server) => {
                println!("{}", server.url());
                let _ = tokio::signal::ctrl_c().await;
                drop(server);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Tools => {
            let tools = [
                ("helm", ecs_testbed::tools::helm()),
                ("kstatus", ecs_testbed::tools::kstatus()),
            ];
            let mut code = ExitCode::SUCCESS;
            for (name, found) in tools {
                match found {
                    Ok(path) => println!("{name}: {}", path.display()),
                    Err(e) => {
                        eprintln!("error: {name}: {e}");
                        code = ExitCode::FAILURE;
                    }
                }
            }
            code
        }
        Command::Sandbox {
            operator,
            examples,
            timeout_seconds,
            kube,
        } => {
            let real = match kube.as_str() {
                "auto" => ecs_testbed::kube::control_plane::available(),
                "control-plane" => true,
                "emulator" => false,
                other => {
                    eprintln!("error: --kube {other}: use auto, control-plane or emulator");
                    return ExitCode::FAILURE;
                }
            };
            sandbox(operator, examples, timeout_seconds, real).await
        }
        Command::BuildControlPlane => match ecs_testbed::kube::control_plane::binary() {
            Ok(path) => {
                println!("{}", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::KubeApi {
            port,
            kubeconfig,
            emulator: false,
        } if ecs_testbed::kube::control_plane::available() => {
            let plane = match ecs_testbed::kube::control_plane::ControlPlane::start(port) {
                Ok(plane) => plane,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            if let Err(e) = std::fs::copy(&plane.endpoint().kubeconfig, &kubeconfig) {
                eprintln!("error: writing {}: {e}", kubeconfig.display());
                return ExitCode::FAILURE;
            }
            let path = std::fs::canonicalize(&kubeconfig).unwrap_or(kubeconfig);
            println!("{}", path.display());
            eprintln!(
                "Kubernetes {} (kube-apiserver, kube-controller-manager, etcd) at {}; export KUBECONFIG={}",
                ecs_testbed::kube::control_plane::KUBERNETES_VERSION,
                plane.endpoint().server,
                path.display()
            );
            let _ = tokio::signal::ctrl_c().await;
            drop(plane);
            ExitCode::SUCCESS
        }
        Command::KubeApi {
            port, kubeconfig, ..
        } => {
            let api = match ecs_testbed::kube::emulator::KubeApi::start(port).await {
                Ok(api) => api,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match api.write_kubeconfig(&kubeconfig) {
                Ok(path) => {
                    let path = std::fs::canonicalize(&path).unwrap_or(path);
                    println!("{}", path.display());
                    eprintln!(
                        "Kubernetes API emulator at {}; export KUBECONFIG={}",
                        api.url(),
                        path.display()
                    );
                    let _ = tokio::signal::ctrl_c().await;
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::AwsProxy {
            upstream,
            port,
            faults,
            account_id,
            passthrough,
            rollout_seconds,
            drain_seconds,
            image_outcomes,
        } => {
            let faults = match faults.map(|path| {
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))
                    .and_then(|text| {
                        serde_json::from_str::<FaultsBody>(&text)
                            .map_err(|e| format!("{}: {e}", path.display()))
                    })
            }) {
                None => Vec::new(),
                Some(Ok(body)) => body.rules,
                Some(Err(e)) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match AwsProxy::start(ProxyConfig {
                upstream,
                port,
                account_id,
                faults,
                passthrough,
                knobs: ecs_testbed::Knobs {
                    rollout_seconds,
                    drain_seconds,
                    image_outcomes: if image_outcomes.is_empty() {
                        ecs_testbed::Knobs::default().image_outcomes
                    } else {
                        image_outcomes
                    },
                    ..Default::default()
                },
            })
            .await
            {
                Ok(proxy) => {
                    println!("{}", proxy.url());
                    let _ = tokio::signal::ctrl_c().await;
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn sandbox(
    operator: Option<PathBuf>,
    examples: Option<PathBuf>,
    timeout_seconds: u64,
    real_control_plane: bool,
) -> ExitCode {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let operator = match operator {
        Some(path) => path,
        None => {
            println!("==> cargo build --bin ecs-operator");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let built = std::process::Command::new(cargo)
                .args(["build", "--quiet", "--bin", "ecs-operator"])
                .current_dir(&workspace)
                .status();
            if !built.is_ok_and(|s| s.success()) {
                eprintln!("error: cargo build --bin ecs-operator failed");
                return ExitCode::FAILURE;
            }
            ecs_testbed::aws::moto::target_dir()
                .join("debug")
                .join("ecs-operator")
        }
    };
    let options = ecs_testbed::bench::sandbox::SandboxOptions {
        operator,
        examples: examples.unwrap_or_else(|| workspace.join("examples")),
        dir: std::env::temp_dir().join(format!("ecs-operator-sandbox-{}", std::process::id())),
        timeout: std::time::Duration::from_secs(timeout_seconds),
        real_control_plane,
    };
    match ecs_testbed::bench::sandbox::run(&options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
