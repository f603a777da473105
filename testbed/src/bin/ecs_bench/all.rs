//! `ecs-bench all`: the five whole-stack scenarios, each run `runs` times on fresh stacks, and
//! the report a reader can check: every figure's median, every target with its measured ratio,
//! and the per-run detail in JSON.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ecs_testbed::bench::median;
use ecs_testbed::bench::scenarios::{
    self, BenchStack, ColdStart, Faults, OneChange, Scale, SteadyState, Throttled,
};
use serde::Serialize;
use serde_json::json;

/// One run of every scenario.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    cold_start: ColdStart,
    steady_state: SteadyState,
    one_change: OneChange,
    throttled: Throttled,
    faults: Faults,
}

/// A target of the issue, checked against this run's figures.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    what: &'static str,
    target: &'static str,
    measured: String,
    met: bool,
}

/// Runs every scenario `runs` times and writes `latest.json` and `README.md` into `out`.
pub async fn run(
    operator: &Path,
    out: &Path,
    runs: usize,
    scale: &str,
    resync_seconds: u64,
) -> Result<(), String> {
    let scale = match scale {
        "full" => Scale::full(),
        "small" => Scale::small(),
        other => return Err(format!("--scale {other}: expected full or small")),
    };
    let throttled_scale = Scale::small();
    let resync = Duration::from_secs(resync_seconds.max(1));
    let root = std::env::temp_dir().join(format!("ecs-bench-all-{}", std::process::id()));
    let mut results = Vec::new();
    for run in 1..=runs.max(1) {
        let dir = root.join(format!("run-{run}"));
        eprintln!("run {run}: scenarios 1-3 ({} objects)", scale.objects());
        let mut bench = BenchStack::start(operator, &dir.join("1-3"), scale.clusters, resync)
            .await
            .map_err(|e| e.to_string())?;
        let cold_start = scenarios::cold_start(&mut bench, &scale)
            .await
            .map_err(|e| format!("scenario 1: {e}"))?;
        eprintln!(
            "  cold start: {:.1} s (floor {:.1} s), peak RSS {:.1} MiB",
            cold_start.seconds, cold_start.floor_seconds, cold_start.peak_rss_mib
        );
        let steady_state = scenarios::steady_state(&bench, &scale, resync)
            .await
            .map_err(|e| format!("scenario 2: {e}"))?;
        eprintln!(
            "  steady state: {:.3} reads per object, writes {:?}",
            steady_state.reads_per_object, steady_state.writes
        );
        let one_change = scenarios::one_change(&bench, &scale)
            .await
            .map_err(|e| format!("scenario 3: {e}"))?;
        eprintln!(
            "  one change: writes {:?}, edit to UpdateService {:.2} s",
            one_change.writes, one_change.edit_to_update_seconds
        );
        drop(bench);

        eprintln!(
            "run {run}: scenario 4 ({} objects, throttled)",
            throttled_scale.objects()
        );
        let mut bench = BenchStack::start(
            operator,
            &dir.join("4"),
            throttled_scale.clusters,
            Duration::from_secs(300),
        )
        .await
        .map_err(|e| e.to_string())?;
        let throttled = scenarios::throttled(&mut bench, &throttled_scale)
            .await
            .map_err(|e| format!("scenario 4: {e}"))?;
        eprintln!(
            "  throttled: {:.1} s (floor {:.1} s), {} throttled calls",
            throttled.seconds, throttled.floor_seconds, throttled.throttled_calls
        );
        drop(bench);

        eprintln!(
            "run {run}: scenario 5 ({} objects, faults)",
            scale.objects()
        );
        let mut bench = BenchStack::start(operator, &dir.join("5"), scale.clusters, resync)
            .await
            .map_err(|e| e.to_string())?;
        let faults = scenarios::faults(&mut bench, &scale)
            .await
            .map_err(|e| format!("scenario 5: {e}"))?;
        eprintln!(
            "  faults: converged {} in {:.1} s, duplicates {}/{}, left behind {:?}",
            faults.converged,
            faults.seconds,
            faults.duplicate_services,
            faults.duplicate_revisions,
            faults.left_behind
        );
        drop(bench);
        results.push(Run {
            cold_start,
            steady_state,
            one_change,
            throttled,
            faults,
        });
    }
    let command = format!(
        "cargo run --release -p ecs-testbed --bin ecs-bench -- all --runs {} --scale {} --resync-seconds {resync_seconds}",
        runs.max(1),
        if scale.objects() == Scale::full().objects() {
            "full"
        } else {
            "small"
        }
    );
    let targets = targets(&results);
    let medians = medians(&results);
    let machine = crate::machine();
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    let document = json!({
        "benchmark": "all", "command": command, "machine": machine,
        "scale": {"taskDefinitions": scale.task_definitions, "services": scale.services,
                  "clusters": scale.clusters, "scalingPolicies": scale.policies,
                  "throttledObjects": throttled_scale.objects()},
        "resyncSeconds": resync_seconds, "rolloutSeconds": scenarios::ROLLOUT_SECONDS,
        "targets": targets, "medians": medians, "runs": results,
    });
    std::fs::write(
        out.join("latest.json"),
        serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let notes = std::fs::read_to_string(out.join("notes.md")).unwrap_or_default();
    let readme = readme(
        &command, &machine, &scale, &results, &targets, &medians, &notes,
    );
    std::fs::write(out.join("README.md"), &readme).map_err(|e| e.to_string())?;
    println!("{readme}");
    Ok(())
}

/// The median over runs of one figure.
fn med(results: &[Run], figure: impl Fn(&Run) -> f64) -> f64 {
    median(&results.iter().map(figure).collect::<Vec<_>>())
}

/// The worst run's count.
fn worst(results: &[Run], figure: impl Fn(&Run) -> usize) -> usize {
    results.iter().map(figure).max().unwrap_or(0)
}

fn count_total(map: &BTreeMap<String, usize>) -> usize {
    map.values().sum()
}

/// The issue's targets, each as the measured median (or the worst run for must-be-zero counts).
fn targets(results: &[Run]) -> Vec<Target> {
    let reads = med(results, |r| r.steady_state.reads_per_object);
    let steady_writes = worst(results, |r| count_total(&r.steady_state.writes));
    let rss = med(results, |r| r.cold_start.peak_rss_mib);
    let cold = med(results, |r| r.cold_start.ratio);
    let calls_over_writes = med(results, |r| r.cold_start.aws_calls_over_writes);
    let kube_per_object = med(results, |r| r.cold_start.operator_kube_requests_per_object);
    let throttled = med(results, |r| r.throttled.ratio);
    let edit = med(results, |r| r.one_change.edit_to_update_seconds);
    let change_exact = results.iter().all(|r| {
        let expected = BTreeMap::from([
            ("RegisterTaskDefinition".to_owned(), 1),
            ("UpdateService".to_owned(), r.one_change.following_services),
        ]);
        r.one_change.writes == expected
    });
    let converged = results.iter().all(|r| r.faults.converged);
    let duplicate_services = worst(results, |r| r.faults.duplicate_services);
    let duplicate_revisions = worst(results, |r| r.faults.duplicate_revisions);
    let left = worst(results, |r| count_total(&r.faults.left_behind));
    vec![
        Target {
            what: "steady-state AWS reads per object per resync",
            target: "<= 0.1",
            measured: format!("{reads:.3}"),
            met: reads <= 0.1,
        },
        Target {
            what: "writes on a no-op resync (worst run)",
            target: "0",
            measured: steady_writes.to_string(),
            met: steady_writes == 0,
        },
        Target {
            what: "operator peak RSS after the cold start",
            target: "<= 64 MiB",
            measured: format!("{rss:.1} MiB"),
            met: rss <= 64.0,
        },
        Target {
            what: "cold start: time to all Ready over the test bed's own floor",
            target: "<= 1.5x",
            measured: format!("{cold:.2}x"),
            met: cold <= 1.5,
        },
        Target {
            what: "cold start: AWS calls (attempts included) over the writes the objects need",
            target: "<= 1.3x",
            measured: format!("{calls_over_writes:.2}x"),
            met: calls_over_writes <= 1.3,
        },
        Target {
            what: "cold start: the operator's Kubernetes API requests per object",
            target: "<= 3",
            measured: format!("{kube_per_object:.2}"),
            met: kube_per_object <= 3.0,
        },
        Target {
            what: "throttled: time to all Ready over the bucket floor",
            target: "<= 1.3x",
            measured: format!("{throttled:.2}x"),
            met: throttled <= 1.3,
        },
        Target {
            what: "one change: edit to UpdateService",
            target: "< 2 s",
            measured: format!("{edit:.2} s"),
            met: edit < 2.0,
        },
        Target {
            what: "one change: writes are 1 RegisterTaskDefinition + 1 UpdateService per following service (every run)",
            target: "exact",
            measured: if change_exact {
                "exact"
            } else {
                "not exact (see runs)"
            }
            .to_owned(),
            met: change_exact,
        },
        Target {
            what: "faults: converged (every run)",
            target: "yes",
            measured: if converged { "yes" } else { "no" }.to_owned(),
            met: converged,
        },
        Target {
            what: "faults: duplicate services (worst run)",
            target: "0",
            measured: duplicate_services.to_string(),
            met: duplicate_services == 0,
        },
        Target {
            what: "faults: duplicate revisions of the same content (worst run)",
            target: "0",
            measured: duplicate_revisions.to_string(),
            met: duplicate_revisions == 0,
        },
        Target {
            what: "faults: AWS resources left after deleting everything (worst run)",
            target: "0",
            measured: left.to_string(),
            met: left == 0,
        },
    ]
}

/// Every figure's median, by scenario.
fn medians(results: &[Run]) -> serde_json::Value {
    let by_operation = |pick: &dyn Fn(&Run) -> &BTreeMap<String, usize>| {
        let mut operations: Vec<String> = results
            .iter()
            .flat_map(|r| pick(r).keys().cloned())
            .collect();
        operations.sort();
        operations.dedup();
        operations
            .into_iter()
            .map(|op| {
                let value = med(results, |r| pick(r).get(&op).copied().unwrap_or(0) as f64);
                (op, value)
            })
            .collect::<BTreeMap<_, _>>()
    };
    let kube_verbs = {
        let mut verbs: Vec<String> = results
            .iter()
            .flat_map(|r| r.cold_start.kube_requests.keys().cloned())
            .collect();
        verbs.sort();
        verbs.dedup();
        verbs
            .into_iter()
            .map(|verb| {
                let value = med(results, |r| {
                    r.cold_start.kube_requests.get(&verb).copied().unwrap_or(0) as f64
                });
                (verb, value)
            })
            .collect::<BTreeMap<_, _>>()
    };
    json!({
        "coldStart": {
            "seconds": med(results, |r| r.cold_start.seconds),
            "floorSeconds": med(results, |r| r.cold_start.floor_seconds),
            "ratio": med(results, |r| r.cold_start.ratio),
            "lastWriteSeconds": med(results, |r| r.cold_start.last_write_seconds),
            "awsCalls": med(results, |r| count_total(&r.cold_start.aws_calls) as f64),
            "awsCallsByOperation": by_operation(&|r: &Run| &r.cold_start.aws_calls),
            "kubeRequests": med(results, |r| r.cold_start.kube_requests.values().sum::<u64>() as f64),
            "kubeRequestsByVerbAndResource": kube_verbs,
            "operatorKubeRequestsPerObject": med(results, |r| r.cold_start.operator_kube_requests_per_object),
            "awsCallsOverWrites": med(results, |r| r.cold_start.aws_calls_over_writes),
            "peakRssMiB": med(results, |r| r.cold_start.peak_rss_mib),
            "rssAnonMiB": med(results, |r| r.cold_start.rss_anon_mib),
            "rssFileMiB": med(results, |r| r.cold_start.rss_file_mib),
            "cpuSeconds": med(results, |r| r.cold_start.cpu_seconds),
        },
        "steadyState": {
            "seconds": med(results, |r| r.steady_state.seconds),
            "readsPerObject": med(results, |r| r.steady_state.reads_per_object),
            "readsByOperation": by_operation(&|r: &Run| &r.steady_state.reads),
            "writesByOperation": by_operation(&|r: &Run| &r.steady_state.writes),
        },
        "oneChange": {
            "followingServices": med(results, |r| r.one_change.following_services as f64),
            "editToUpdateServiceSeconds": med(results, |r| r.one_change.edit_to_update_seconds),
            "editToReadySeconds": med(results, |r| r.one_change.edit_to_ready_seconds),
            "writesByOperation": by_operation(&|r: &Run| &r.one_change.writes),
            "readsByOperation": by_operation(&|r: &Run| &r.one_change.reads),
        },
        "throttled": {
            "seconds": med(results, |r| r.throttled.seconds),
            "floorSeconds": med(results, |r| r.throttled.floor_seconds),
            "ratio": med(results, |r| r.throttled.ratio),
            "throttledCalls": med(results, |r| r.throttled.throttled_calls as f64),
            "awsCallsByOperation": by_operation(&|r: &Run| &r.throttled.aws_calls),
        },
        "faults": {
            "seconds": med(results, |r| r.faults.seconds),
            "injectedFaults": med(results, |r| r.faults.injected_faults as f64),
            "watchDrops": med(results, |r| r.faults.watch_drops as f64),
            "kills": med(results, |r| r.faults.kills as f64),
        },
    })
}

fn readme(
    command: &str,
    machine: &str,
    scale: &Scale,
    results: &[Run],
    targets: &[Target],
    medians: &serde_json::Value,
    notes: &str,
) -> String {
    let mut text = format!(
        "# Whole-stack benchmark\n\n{machine} Medians of {} runs, each on fresh stacks \
         (Kubernetes API emulator, the release-built `ecs-operator` process, the AWS proxy with its \
         ECS model, moto). Reproduce with:\n\n```sh\n{command}\n```\n\n\
         Scale: {} EcsTaskDefinitions, {} EcsServices over {} clusters, {} EcsScalingPolicies \
         ({} objects); scenario 4 at a tenth of that. Per-run detail: [`latest.json`](latest.json).\n\n\
         ## Targets\n\n| what | target | measured | met |\n|---|---|---|---|\n",
        results.len(),
        scale.task_definitions,
        scale.services,
        scale.clusters,
        scale.policies,
        scale.objects(),
    );
    for t in targets {
        text.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            t.what,
            t.target,
            t.measured,
            if t.met { "yes" } else { "**no**" }
        ));
    }
    let m = medians;
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let ops = |v: &serde_json::Value| {
        v.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| format!("{k} {}", f(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "none".to_owned())
    };
    text.push_str(&format!(
        "\n## Figures (medians)\n\n\
         **1. Cold start.** All Ready in {:.1} s; the test bed's own floor {:.1} s (ratio {:.2}); \
         the operator's last write {:.1} s after creation. \
         Operator peak RSS {:.1} MiB (when all were Ready: RssAnon {:.1} MiB, RssFile {:.1} MiB), CPU {:.1} s. \
         AWS calls {} ({:.2}x the writes): {}. Kubernetes API requests {}, the operator's {:.2} per object: {}.\n\n\
         **2. Steady state.** One resync of every object took {:.1} s: {:.3} AWS reads per object \
         ({}); writes: {}.\n\n\
         **3. One change.** Edit to UpdateService {:.2} s, to every following service Ready {:.2} s. \
         Writes: {}. Reads: {}.\n\n\
         **4. Throttled.** All Ready in {:.1} s against a bucket floor of {:.1} s (ratio {:.2}); \
         {} calls throttled. AWS calls: {}.\n\n\
         **5. Faults.** Converged in {:.1} s with {} injected faults, {} watch drops and {} SIGKILLs; \
         duplicates and leftovers in the targets above.\n",
        f(&m["coldStart"]["seconds"]),
        f(&m["coldStart"]["floorSeconds"]),
        f(&m["coldStart"]["ratio"]),
        f(&m["coldStart"]["lastWriteSeconds"]),
        f(&m["coldStart"]["peakRssMiB"]),
        f(&m["coldStart"]["rssAnonMiB"]),
        f(&m["coldStart"]["rssFileMiB"]),
        f(&m["coldStart"]["cpuSeconds"]),
        f(&m["coldStart"]["awsCalls"]),
        f(&m["coldStart"]["awsCallsOverWrites"]),
        ops(&m["coldStart"]["awsCallsByOperation"]),
        f(&m["coldStart"]["kubeRequests"]),
        f(&m["coldStart"]["operatorKubeRequestsPerObject"]),
        ops(&m["coldStart"]["kubeRequestsByVerbAndResource"]),
        f(&m["steadyState"]["seconds"]),
        f(&m["steadyState"]["readsPerObject"]),
        ops(&m["steadyState"]["readsByOperation"]),
        ops(&m["steadyState"]["writesByOperation"]),
        f(&m["oneChange"]["editToUpdateServiceSeconds"]),
        f(&m["oneChange"]["editToReadySeconds"]),
        ops(&m["oneChange"]["writesByOperation"]),
        ops(&m["oneChange"]["readsByOperation"]),
        f(&m["throttled"]["seconds"]),
        f(&m["throttled"]["floorSeconds"]),
        f(&m["throttled"]["ratio"]),
        f(&m["throttled"]["throttledCalls"]),
        ops(&m["throttled"]["awsCallsByOperation"]),
        f(&m["faults"]["seconds"]),
        f(&m["faults"]["injectedFaults"]),
        f(&m["faults"]["watchDrops"]),
        f(&m["faults"]["kills"]),
    ));
    if !notes.trim().is_empty() {
        text.push('\n');
        text.push_str(notes.trim_end());
        text.push('\n');
    }
    text
}
