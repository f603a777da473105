//! The restart of an operator that already manages every object (an upgrade, a rescheduled pod,
//! a new leader): how soon its caches are filled, how soon it calls AWS, how long until every
//! object has passed once, and what that pass costs (reads, writes, memory, CPU).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::scenarios::{BenchStack, Scale};
use crate::TestbedError;

/// The figures of one restart.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Restart {
    /// Objects the operator found.
    pub objects: usize,
    /// From the process start to leading with every watch cache filled (the readiness probe).
    pub caches_synced_seconds: f64,
    /// From the process start to its first AWS call.
    pub first_aws_call_seconds: f64,
    /// From the process start to every object having passed once and ended Ready.
    pub all_passed_seconds: f64,
    /// AWS reads until then, by operation.
    pub reads: BTreeMap<String, usize>,
    /// AWS writes until then, by operation (0 expected: nothing changed).
    pub writes: BTreeMap<String, usize>,
    /// All reads over objects.
    pub reads_per_object: f64,
    /// Operator peak resident memory (`VmHWM`) when every object had passed.
    pub peak_rss_mib: f64,
    /// Resident anonymous memory (heap) then.
    pub rss_anon_mib: f64,
    /// Resident file-backed memory (the binary) then.
    pub rss_file_mib: f64,
    /// Operator CPU time until then.
    pub cpu_seconds: f64,
    /// `cpu_seconds` over `all_passed_seconds`: the share of one core the operator used.
    pub cpu_share: f64,
}

/// Stops the operator (SIGTERM, so it hands its Lease back as a rolling upgrade's old pod does)
/// and starts it again over the settled objects of `scale`.
pub async fn restart(bench: &mut BenchStack, scale: &Scale) -> Result<Restart, TestbedError> {
    bench.terminate_operator();
    let skip = bench.stack.proxy.requests().len();
    let started_ms = bench.stack.proxy.elapsed_ms();
    let started = Instant::now();
    bench.start_operator()?;
    let objects = scale.objects();
    let timeout = Duration::from_secs(1800);
    let mut caches_synced = None;
    loop {
        if caches_synced.is_none() && bench.leading_with_caches_synced().await {
            caches_synced = Some(started.elapsed());
        }
        // The counter starts at 0 in the new process: every Ready pass since is this restart's.
        let passes = bench.ready_passes().await.unwrap_or(0.0);
        if caches_synced.is_some() && passes >= objects as f64 {
            break;
        }
        if started.elapsed() > timeout {
            return Err(TestbedError::Http(format!(
                "restart: {passes} of {objects} objects passed in {timeout:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let all_passed = started.elapsed();
    let first_call_ms = bench
        .stack
        .proxy
        .requests()
        .iter()
        .skip(skip)
        .map(|r| r.at_ms)
        .min();
    let (reads, writes) = bench.calls_since(skip);
    let usage = bench.stack.operator_usage().unwrap_or_default();
    let mib = |kib: u64| kib as f64 / 1024.0;
    let total_reads: usize = reads.values().sum();
    Ok(Restart {
        objects,
        caches_synced_seconds: caches_synced.unwrap_or_default().as_secs_f64(),
        first_aws_call_seconds: first_call_ms
            .map(|at| at.saturating_sub(started_ms) as f64 / 1000.0)
            .unwrap_or(f64::NAN),
        all_passed_seconds: all_passed.as_secs_f64(),
        reads_per_object: total_reads as f64 / objects.max(1) as f64,
        reads,
        writes,
        peak_rss_mib: mib(usage.peak_kib),
        rss_anon_mib: mib(usage.anon_kib),
        rss_file_mib: mib(usage.file_kib),
        cpu_seconds: usage.cpu_seconds,
        cpu_share: usage.cpu_seconds / all_passed.as_secs_f64().max(1e-9),
    })
}
