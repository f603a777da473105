//! `ecs-bench`: benchmarks of the whole local stack (Kubernetes API emulator + the real
//! `ecs-operator` process + AWS proxy + moto). Numbers, with the floor they are compared to
//! measured in the same run.
//!
//! `ecs-bench all --runs 3`: the five scenarios of the whole stack (cold start of 1,000 task
//! definitions, 1,000 services over 10 clusters and 200 scaling policies; a steady-state resync;
//! one change; throttled AWS; faults), medians to `bench-results/latest.json` and
//! `bench-results/README.md`.
//!
//! `ecs-bench task-definitions --count 500 --runs 3`: N new EcsTaskDefinitions until all are Ready,
//! against moto's own time for N registrations; then the same with half of the
//! RegisterTaskDefinition calls throttled.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use ecs_testbed::bench::{self, Stack, median};
use ecs_testbed::{Fault, FaultRule};
use serde_json::{Value, json};

#[path = "ecs_bench/accounts.rs"]
mod accounts;
#[path = "ecs_bench/all.rs"]
mod all;
#[path = "ecs_bench/scale.rs"]
mod scale;

#[derive(Parser)]
#[command(name = "ecs-bench", about)]
struct Cli {
    /// The ecs-operator binary (built with `cargo build --release` when absent).
    #[arg(long, global = true)]
    operator: Option<PathBuf>,
    /// Where results go.
    #[arg(long, global = true, default_value = "bench-results")]
    out: PathBuf,
    #[command(subcommand)]
    command: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// The five scenarios of the whole stack, `runs` times; medians to `latest.json` and
    /// `README.md` in the output directory.
    All {
        /// Runs (each figure is the median; pass/fail counts are the worst run's).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// `full` (1,000 task definitions and services over 10 clusters, 200 policies) or
        /// `small` (a tenth). Scenario 4 always runs at a tenth of the scale: its floor is
        /// set by ECS's documented 1 task-definition write per second.
        #[arg(long, default_value = "full")]
        scale: String,
        /// The operator's resync period in scenarios 1-3 (scenario 2 waits one period).
        #[arg(long, default_value_t = 60)]
        resync_seconds: u64,
    },
    /// One install of a size, on the emulator or the real control plane: cold start, one
    /// steady-state resync, a restart; figures to `scale-<size>-<kube>.json`.
    Scale {
        /// `small` (220 objects), `full` (2,200) or `10k` (4,500 task definitions, 4,500
        /// services over 50 clusters, 1,000 policies).
        #[arg(long, default_value = "full")]
        size: String,
        /// `emulator` (the test bed's Kubernetes API emulator) or `real` (kube-apiserver and
        /// etcd of the test bed's control plane).
        #[arg(long, default_value = "emulator")]
        kube: String,
        /// The operator's resync period (the steady state waits one period).
        #[arg(long, default_value_t = 60)]
        resync_seconds: u64,
    },
    /// The throttled cold start (220 objects) in one account, then spread over `accounts`
    /// accounts (a namespace each, with its role); figures to `accounts.json`.
    Accounts {
        /// Accounts to spread over.
        #[arg(long, default_value_t = 4)]
        accounts: usize,
    },
    /// N new EcsTaskDefinitions until all are Ready; plain, then with half the writes throttled.
    TaskDefinitions {
        /// Objects per run.
        #[arg(long, default_value_t = 500)]
        count: usize,
        /// Runs (each figure is the median).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Share of RegisterTaskDefinition calls the proxy throttles in the second scenario.
        #[arg(long, default_value_t = 0.5)]
        throttle: f64,
        /// Objects in the throttled scenario (each throttle halves the adaptive rate, so it is
        /// slower by design; fewer objects keep the run short).
        #[arg(long, default_value_t = 100)]
        throttled_count: usize,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let operator = match cli.operator.clone().map_or_else(build_operator, Ok) {
        Ok(path) => path,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Scenario::All {
            runs,
            scale,
            resync_seconds,
        } => all::run(&operator, &cli.out, runs, &scale, resync_seconds).await,
        Scenario::Scale {
            size,
            kube,
            resync_seconds,
        } => scale::run(&operator, &cli.out, &size, &kube, resync_seconds).await,
        Scenario::Accounts { accounts } => accounts::run(&operator, &cli.out, accounts).await,
        Scenario::TaskDefinitions {
            count,
            runs,
            throttle,
            throttled_count,
        } => task_definitions(&operator, &cli.out, count, runs, throttle, throttled_count).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo build --release --bin ecs-operator` in this workspace; the binary's path.
fn build_operator() -> Result<PathBuf, String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace")?
        .to_path_buf();
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
        .args([
            "build",
            "--release",
            "-p",
            "ecs-operator",
            "--bin",
            "ecs-operator",
        ])
        .current_dir(&workspace)
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build of ecs-operator failed".into());
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace.join("target"));
    Ok(target.join("release").join("ecs-operator"))
}

/// One measured run of N task definitions.
#[derive(Debug, Default)]
struct Run {
    floor: Duration,
    ready: Duration,
    calls: BTreeMap<String, usize>,
    throttled: usize,
    peak_rss_mib: f64,
    cpu_seconds: f64,
    stalled_seen: usize,
    duplicates: usize,
}

async fn one_run(
    operator: &Path,
    dir: &Path,
    count: usize,
    throttle: Option<f64>,
) -> Result<Run, String> {
    let mut stack = Stack::start(operator, dir)
        .await
        .map_err(|e| e.to_string())?;
    // The floor: moto registering `count` revisions itself, on this machine, now.
    let floor = bench::moto_register_time(stack.moto.url(), count, 8)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(probability) = throttle {
        stack.proxy.set_faults(vec![FaultRule {
            operation: "ecs:RegisterTaskDefinition".into(),
            probability: Some(probability),
            every_nth: None,
            max_times: None,
            fault: Fault::Throttle,
        }]);
    }
    // The ceiling is raised so the operator, not a guessed quota, sets the pace: moto accepts
    // whatever it is sent, as an account with raised quotas would.
    stack
        .start_operator(operator, &["--aws-max-rate".into(), "1000".into()])
        .map_err(|e| e.to_string())?;
    let objects: Vec<Value> = (0..count)
        .map(|i| bench::task_definition_object(&format!("bench-{i}"), "nginx:1"))
        .collect();
    let started = Instant::now();
    stack
        .create_all("ecstaskdefinitions", objects, 8)
        .await
        .map_err(|e| e.to_string())?;
    let (ready, stalled_seen) = stack
        .wait_ready(
            "ecstaskdefinitions",
            count,
            started,
            Duration::from_secs(1800),
        )
        .await
        .map_err(|e| e.to_string())?;
    let usage = stack.operator_usage().unwrap_or_default();
    stack.stop_operator();
    let families = stack
        .active_revisions_per_family()
        .await
        .map_err(|e| e.to_string())?;
    let duplicates = families.values().filter(|n| **n > 1).count();
    if families.len() != count {
        return Err(format!(
            "{} families registered, {count} expected",
            families.len()
        ));
    }
    Ok(Run {
        floor,
        ready,
        throttled: stack
            .proxy
            .requests()
            .iter()
            .filter(|r| r.fault.is_some())
            .count(),
        calls: stack.aws_calls(),
        peak_rss_mib: usage.peak_kib as f64 / 1024.0,
        cpu_seconds: usage.cpu_seconds,
        stalled_seen,
        duplicates,
    })
}

async fn task_definitions(
    operator: &Path,
    out: &Path,
    count: usize,
    runs: usize,
    throttle: f64,
    throttled_count: usize,
) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("ecs-bench-{}", std::process::id()));
    let mut report = Vec::new();
    for (label, n, fault) in [
        ("plain", count, None),
        ("throttled", throttled_count, Some(throttle)),
    ] {
        let mut results = Vec::new();
        for run in 0..runs.max(1) {
            eprintln!("{label}: run {} of {runs} ({n} objects)", run + 1);
            let result = one_run(operator, &dir, n, fault).await?;
            eprintln!("  {result:?}");
            results.push(result);
        }
        report.push((label, n, results));
    }
    let machine = machine();
    let mut json_runs = Vec::new();
    let mut table = String::from(
        "| scenario | objects | moto alone (s) | operator to all Ready (s) | ratio | AWS calls | throttled | peak RSS (MiB) | CPU (s) | Stalled seen | duplicate revisions |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (label, n, results) in &report {
        let floor = median(
            &results
                .iter()
                .map(|r| r.floor.as_secs_f64())
                .collect::<Vec<_>>(),
        );
        let ready = median(
            &results
                .iter()
                .map(|r| r.ready.as_secs_f64())
                .collect::<Vec<_>>(),
        );
        let ratio = median(
            &results
                .iter()
                .map(|r| r.ready.as_secs_f64() / r.floor.as_secs_f64().max(1e-9))
                .collect::<Vec<_>>(),
        );
        let calls = median(
            &results
                .iter()
                .map(|r| r.calls.values().sum::<usize>() as f64)
                .collect::<Vec<_>>(),
        );
        let throttled = median(
            &results
                .iter()
                .map(|r| r.throttled as f64)
                .collect::<Vec<_>>(),
        );
        let rss = median(&results.iter().map(|r| r.peak_rss_mib).collect::<Vec<_>>());
        let cpu = median(&results.iter().map(|r| r.cpu_seconds).collect::<Vec<_>>());
        let stalled = results.iter().map(|r| r.stalled_seen).max().unwrap_or(0);
        let duplicates = results.iter().map(|r| r.duplicates).max().unwrap_or(0);
        table.push_str(&format!(
            "| {label} | {n} | {floor:.2} | {ready:.2} | {ratio:.2} | {calls:.0} | {throttled:.0} | {rss:.1} | {cpu:.2} | {stalled} | {duplicates} |\n"
        ));
        json_runs.push(json!({
            "scenario": label, "objects": n,
            "median": {"motoSeconds": floor, "readySeconds": ready, "ratio": ratio, "awsCalls": calls,
                        "throttled": throttled, "peakRssMiB": rss, "cpuSeconds": cpu},
            "maxStalledSeen": stalled, "maxDuplicateRevisions": duplicates,
            "runs": results.iter().map(|r| json!({
                "motoSeconds": r.floor.as_secs_f64(), "readySeconds": r.ready.as_secs_f64(),
                "awsCallsByOperation": r.calls, "throttled": r.throttled,
                "peakRssMiB": r.peak_rss_mib, "cpuSeconds": r.cpu_seconds,
                "stalledSeen": r.stalled_seen, "duplicateRevisions": r.duplicates,
            })).collect::<Vec<_>>(),
        }));
    }
    println!("{machine}\n\n{table}");
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    let document =
        json!({"benchmark": "task-definitions", "machine": machine, "scenarios": json_runs});
    std::fs::write(
        out.join("task-definitions.json"),
        serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(
        out.join("task-definitions.md"),
        format!("# Task definitions: {count} new objects to all Ready\n\n{machine}\n\nMedians of {runs} runs. Command: `cargo run --release -p ecs-testbed --bin ecs-bench -- task-definitions --count {count} --runs {runs}`\n\n{table}\n{NOTES}"),
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}

const NOTES: &str = "\
How to read it:

- *moto alone* is moto registering the same number of task definitions itself (8 in flight), in the
  same run on the same machine: the floor any operator on this stack can reach. *ratio* is the
  operator's time to all Ready over that floor (target: at most 3).
- The operator runs as its own release-built process, with `--aws-max-rate 1000` so the adaptive
  budget (not a guessed quota) sets the pace; it starts at ECS's documented 1 write per second and
  grows while AWS accepts. *AWS calls* counts every attempt the proxy saw (one ListTaskDefinitions
  to look for a revision a crash may have left, one RegisterTaskDefinition per object).
- *throttled*: the proxy throttles each RegisterTaskDefinition with the given probability whatever
  the rate. On AWS a ThrottlingException means the account's bucket is empty, so the operator
  halves its rate on each one, down to half the documented rate (0.5/s); against rate-independent
  throttling it therefore converges slowly by design. What this scenario proves is convergence:
  no object Stalled and no duplicate revision (a throttle proves AWS did nothing, so the write is
  retried; any other unclear failure of a registration is never retried blindly).
";

/// Cores and memory of this machine, for the record.
pub(crate) fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!("Machine: {cores} cores, {memory_gib:.0} GiB memory.")
}
