//! `ecs-bench scale`: one install at a given size, on the Kubernetes API emulator or on the real
//! control plane: the cold start (against its floor), one steady-state resync, and a restart over
//! the settled objects (caches synced, first AWS call, every object passed once, CPU share).
//! The figures go to `scale-<size>-<kube>.json` in the output directory.

use std::path::Path;
use std::time::Duration;

use ecs_testbed::bench::restart;
use ecs_testbed::bench::scenarios::{self, BenchStack, Scale};
use serde_json::json;

/// Runs the three measurements once and writes their figures.
pub async fn run(
    operator: &Path,
    out: &Path,
    size: &str,
    kube: &str,
    resync_seconds: u64,
) -> Result<(), String> {
    let scale = match size {
        "small" => Scale::small(),
        "full" => Scale::full(),
        "10k" => Scale::ten_thousand(),
        other => return Err(format!("--size {other}: expected small, full or 10k")),
    };
    let real = match kube {
        "emulator" => false,
        "real" => true,
        other => return Err(format!("--kube {other}: expected emulator or real")),
    };
    let resync = Duration::from_secs(resync_seconds.max(1));
    let dir = std::env::temp_dir().join(format!("ecs-bench-scale-{}", std::process::id()));
    eprintln!(
        "{size} on the {kube} Kubernetes API: {} objects",
        scale.objects()
    );
    let mut bench = BenchStack::start_on(operator, &dir, scale.clusters, resync, real)
        .await
        .map_err(|e| e.to_string())?;
    let cold_start = scenarios::cold_start(&mut bench, &scale)
        .await
        .map_err(|e| format!("cold start: {e}"))?;
    eprintln!(
        "  cold start: {:.1} s (floor {:.1} s, ratio {:.2}), AWS calls {:.2}x the writes, {:.2} Kubernetes requests per object, peak RSS {:.1} MiB (anon {:.1}, file {:.1})",
        cold_start.seconds,
        cold_start.floor_seconds,
        cold_start.ratio,
        cold_start.aws_calls_over_writes,
        cold_start.operator_kube_requests_per_object,
        cold_start.peak_rss_mib,
        cold_start.rss_anon_mib,
        cold_start.rss_file_mib
    );
    let steady_state = scenarios::steady_state(&bench, &scale, resync)
        .await
        .map_err(|e| format!("steady state: {e}"))?;
    eprintln!(
        "  steady state: {:.3} reads per object, writes {:?}",
        steady_state.reads_per_object, steady_state.writes
    );
    let restart = restart::restart(&mut bench, &scale)
        .await
        .map_err(|e| format!("restart: {e}"))?;
    eprintln!(
        "  restart: caches synced {:.1} s, first AWS call {:.1} s, all passed {:.1} s, {:.3} reads per object, writes {:?}, peak RSS {:.1} MiB, CPU share {:.2}",
        restart.caches_synced_seconds,
        restart.first_aws_call_seconds,
        restart.all_passed_seconds,
        restart.reads_per_object,
        restart.writes,
        restart.peak_rss_mib,
        restart.cpu_share
    );
    // Every AWS call, for a reader who wants to know where the figures come from.
    let calls: Vec<String> = bench
        .stack
        .proxy
        .requests()
        .iter()
        .filter_map(|r| serde_json::to_string(r).ok())
        .collect();
    let _ = std::fs::write(dir.join("aws-calls.jsonl"), calls.join("\n"));
    drop(bench);
    let command = format!(
        "cargo run --release -p ecs-testbed --bin ecs-bench -- scale --size {size} --kube {kube} --resync-seconds {resync_seconds}"
    );
    let document = json!({
        "benchmark": "scale", "command": command, "machine": crate::machine(),
        "kube": kube, "size": size,
        "scale": {"taskDefinitions": scale.task_definitions, "services": scale.services,
                  "clusters": scale.clusters, "scalingPolicies": scale.policies},
        "resyncSeconds": resync_seconds,
        "coldStart": cold_start, "steadyState": steady_state, "restart": restart,
    });
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    let path = out.join(format!("scale-{size}-{kube}.json"));
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    eprintln!("  figures in {}", path.display());
    Ok(())
}
