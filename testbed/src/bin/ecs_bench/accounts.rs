//! `ecs-bench accounts`: the throttled cold start in one account, then the same objects spread
//! over namespaces whose roles are in `accounts` accounts; the speedup against what the buckets
//! alone allow. Figures to `accounts.json` in the output directory.

use std::path::Path;
use std::time::Duration;

use ecs_testbed::bench::accounts::{self, Accounts};
use ecs_testbed::bench::scenarios::{BenchStack, Scale};
use serde_json::json;

/// Both runs, on fresh stacks.
pub async fn run(operator: &Path, out: &Path, count: usize) -> Result<(), String> {
    let scale = Scale::small();
    let root = std::env::temp_dir().join(format!("ecs-bench-accounts-{}", std::process::id()));
    let mut runs = Vec::new();
    for accounts in [1, count.max(2)] {
        eprintln!(
            "{} objects over {accounts} account(s), ECS's documented buckets",
            scale.objects()
        );
        let mut bench = BenchStack::start(
            operator,
            &root.join(format!("{accounts}")),
            scale.clusters,
            Duration::from_secs(300),
        )
        .await
        .map_err(|e| e.to_string())?;
        let spread = accounts::spread(&mut bench, &scale, accounts)
            .await
            .map_err(|e| format!("{accounts} accounts: {e}"))?;
        eprintln!(
            "  all Ready in {:.1} s (floor {:.1} s); throttled by account {:?}",
            spread.seconds, spread.floor_seconds, spread.throttled_by_account
        );
        runs.push(spread);
        drop(bench);
    }
    let spread = runs.pop().unwrap_or_default();
    let one = runs.pop().unwrap_or_default();
    let result = Accounts {
        speedup: one.seconds / spread.seconds.max(1e-9),
        floor_speedup: one.floor_seconds / spread.floor_seconds.max(1e-9),
        one,
        spread,
    };
    eprintln!(
        "  speedup {:.2}x (the buckets alone allow {:.2}x)",
        result.speedup, result.floor_speedup
    );
    let command = format!(
        "cargo run --release -p ecs-testbed --bin ecs-bench -- accounts --accounts {}",
        count.max(2)
    );
    let document = json!({
        "benchmark": "accounts", "command": command, "machine": crate::machine(),
        "scale": {"taskDefinitions": scale.task_definitions, "services": scale.services,
                  "clusters": scale.clusters, "scalingPolicies": scale.policies},
        "result": result,
    });
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    std::fs::write(
        out.join("accounts.json"),
        serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())
}
