//! How GitOps tools judge the objects: the Argo CD health check (the Lua script the chart ships,
//! run by an embedded Lua 5.4) and kstatus (the real sigs.k8s.io/cli-utils library, which Flux's
//! `wait: true` uses), on sample objects and on objects the operator wrote.

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::stack::{Bed, condition, ec2};
use serde_json::{Value, json};

const HEALTH_LUA: &str = "charts/ecs-operator/files/argocd-health.lua";

/// A Lua expression for a JSON value (nulls become nil).
fn lua_value(value: &Value) -> String {
    match value {
        Value::Null => "nil".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("\"{}\"", s.escape_default()),
        Value::Array(items) => format!(
            "{{{}}}",
            items.iter().map(lua_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("[\"{}\"] = {}", k.escape_default(), lua_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// (status, message) of the Argo CD health check for `object`, run the way Argo CD runs it: the
/// script's body with the object as the global `obj`, in a Lua 5.4 interpreter built into the test
/// (the `mlua` crate's vendored sources), so the test needs no Lua installed.
fn argo_health(object: &Value) -> (String, String) {
    let script = std::fs::read_to_string(common::root().join(HEALTH_LUA)).expect("script");
    let lua = mlua::Lua::new();
    lua.load(format!("obj = {}", lua_value(object)))
        .exec()
        .expect("the object as Lua");
    let hs: mlua::Table = lua
        .load(format!("return (function()\n{script}\nend)()"))
        .eval()
        .unwrap_or_else(|e| panic!("the health check fails: {e}"));
    let status: String = hs.get("status").expect("hs.status");
    let message: Option<String> = hs.get("message").expect("hs.message");
    (status, message.unwrap_or_default())
}

/// kstatus of each object, as (status, message).
fn kstatus(objects: &[Value]) -> Vec<(String, String)> {
    let tool = ecs_testbed::tools::kstatus().unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new(tool)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kstatus runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(Value::Array(objects.to_vec()).to_string().as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("kstatus");
    assert!(
        output.status.success(),
        "kstatus: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let result: Value = serde_json::from_str(line).expect("json line");
            (
                result["status"].as_str().unwrap_or_default().to_owned(),
                result["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn sample(generation: i64, observed: Option<i64>, conditions: Value, deleting: bool) -> Value {
    let mut object = json!({
        "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsService",
        "metadata": {"name": "web", "namespace": "default", "generation": generation},
        "spec": {"cluster": "prod"},
    });
    if deleting {
        object["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        object["metadata"]["finalizers"] = json!(["ecs.operator.dev/service"]);
    }
    if let Some(observed) = observed {
        object["status"] = json!({"observedGeneration": observed, "conditions": conditions});
    }
    object
}

fn conditions(ready: &str, reconciling: &str, stalled: &str, generation: i64) -> Value {
    let condition = |type_: &str, status: &str, reason: &str| {
        json!({"type": type_, "status": status, "reason": reason, "message": format!("{type_} is {status}"),
               "observedGeneration": generation, "lastTransitionTime": "2026-01-01T00:00:00Z"})
    };
    json!([
        condition("Ready", ready, "Rolled"),
        condition("Reconciling", reconciling, "RollingOut"),
        condition("Stalled", stalled, "RolloutFailed")
    ])
}

#[test]
fn argo_cd_health_follows_the_conditions() {
    let cases = [
        (
            sample(2, Some(2), conditions("True", "False", "False", 2), false),
            "Healthy",
        ),
        (
            sample(2, Some(2), conditions("False", "True", "False", 2), false),
            "Progressing",
        ),
        (
            sample(3, Some(2), conditions("True", "False", "False", 2), false),
            "Progressing",
        ),
        (
            sample(2, Some(2), conditions("False", "False", "True", 2), false),
            "Degraded",
        ),
        (
            sample(2, Some(2), conditions("True", "False", "False", 2), true),
            "Progressing",
        ),
        (sample(1, None, Value::Null, false), "Progressing"),
        // Paused (the reconcile annotation or --read-only): Suspended, in sync or not.
        (
            sample(
                2,
                Some(2),
                {
                    let mut all = conditions("False", "False", "False", 2);
                    all.as_array_mut().expect("list").push(json!({
                        "type": "Paused", "status": "True", "reason": "ReconcileDisabled",
                        "message": "AWS calls that applying the spec needs: ecs:UpdateService web",
                        "observedGeneration": 2, "lastTransitionTime": "2026-01-01T00:00:00Z"}));
                    all
                },
                false,
            ),
            "Suspended",
        ),
        // Conditions of an older generation say nothing about this one.
        (
            sample(3, Some(3), conditions("False", "False", "True", 2), false),
            "Progressing",
        ),
    ];
    for (object, expected) in cases {
        let (status, message) = argo_health(&object);
        assert_eq!(status, expected, "{object}: {message}");
    }
    let (_, message) = argo_health(&sample(
        2,
        Some(2),
        conditions("False", "False", "True", 2),
        false,
    ));
    assert!(
        message.contains("RolloutFailed: Stalled is True"),
        "{message}"
    );
}

#[test]
fn docs_show_the_shipped_script() {
    let script = std::fs::read_to_string(common::root().join(HEALTH_LUA)).expect("script");
    let docs =
        std::fs::read_to_string(common::root().join("docs").join("gitops.md")).expect("docs");
    for line in script.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            docs.contains(line),
            "docs/gitops.md lacks the script line {line:?}"
        );
    }
}

/// The docs' `argocd-cm` ConfigMap and argo-cd Helm values give every registered kind the
/// shipped script (through the YAML anchor), as Argo CD would read them.
#[test]
fn docs_snippets_give_every_kind_the_shipped_script() {
    let script = std::fs::read_to_string(common::root().join(HEALTH_LUA)).expect("script");
    let docs =
        std::fs::read_to_string(common::root().join("docs").join("gitops.md")).expect("docs");
    let blocks: Vec<&str> = docs
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .filter(|block| block.contains("resource.customizations.health"))
        .collect();
    assert_eq!(blocks.len(), 2, "the ConfigMap and the Helm values");
    for (block, path) in blocks.iter().zip([&["data"][..], &["configs", "cm"][..]]) {
        let parsed: Value = serde_yaml::from_str(block).expect("valid YAML");
        let keys = path.iter().fold(&parsed, |value, key| &value[key]);
        for registration in ecs_operator::controller::registry::kinds() {
            let key = format!(
                "resource.customizations.health.ecs.operator.dev_{}",
                registration.kind()
            );
            assert_eq!(
                keys[&key].as_str().map(str::trim_end),
                Some(script.trim_end()),
                "{path:?}: {key}"
            );
        }
    }
}

async fn knobs(bed: &Bed, patch: Value) {
    let (status, body) = ecs_testbed::http::send(
        &ecs_testbed::http::client(),
        "PUT",
        &format!("{}/_proxy/ecs", bed.proxy.url()),
        &[],
        patch.to_string().into(),
    )
    .await
    .expect("knobs");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
}

async fn object(bed: &Bed, name: &str) -> Value {
    serde_json::to_value(bed.services().get(name).await.expect("object")).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kstatus_and_argo_cd_agree_with_the_operator_on_real_objects() {
    let mut bed = Bed::start().await;
    bed.register("app", "nginx:1").await;
    bed.register("bad", "nginx:broken").await;

    bed.create_service("settled", ec2(json!({"taskDefinition": "app:1"})))
        .await;
    bed.wait_ready("settled").await;
    let ready = object(&bed, "settled").await;

    // A slow rollout, caught while it runs.
    knobs(&bed, json!({"rolloutSeconds": 600.0})).await;
    bed.create_service("rolling", ec2(json!({"taskDefinition": "app:1"})))
        .await;
    bed.wait_for("rolling", "Reconciling", |o| {
        condition(o, "Reconciling").0 == "True"
    })
    .await;
    let rolling = object(&bed, "rolling").await;
    knobs(&bed, json!({"rolloutSeconds": 1.0})).await;

    // A rollout that fails: its tasks never start, and the circuit breaker gives up.
    bed.create_service(
        "failing",
        ec2(json!({"taskDefinition": "bad:1",
                   "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": false}}})),
    )
    .await;
    bed.wait_for("failing", "Stalled", |o| {
        condition(o, "Stalled").0 == "True"
    })
    .await;
    let stalled = object(&bed, "failing").await;

    // A spec change the operator has not looked at yet (the settled object, one generation on).
    let mut stale = ready.clone();
    stale["metadata"]["generation"] = json!(
        ready["metadata"]["generation"]
            .as_i64()
            .expect("generation")
            + 1
    );

    // Being deleted: the service drains in ECS while the finalizer holds the object.
    knobs(&bed, json!({"drainSeconds": 600.0})).await;
    bed.services()
        .delete("settled", &Default::default())
        .await
        .expect("deleted");
    bed.wait_for("settled", "deleting", |o| {
        o.metadata.deletion_timestamp.is_some()
    })
    .await;
    let deleting = object(&bed, "settled").await;
    knobs(&bed, json!({"drainSeconds": 1.0})).await;

    let objects = [ready, rolling, stalled, stale, deleting];
    let expected_kstatus = [
        "Current",
        "InProgress",
        "Failed",
        "InProgress",
        "Terminating",
    ];
    let expected_argo = [
        "Healthy",
        "Progressing",
        "Degraded",
        "Progressing",
        "Progressing",
    ];
    let computed = kstatus(&objects);
    assert_eq!(computed.len(), objects.len());
    for (i, object) in objects.iter().enumerate() {
        let name = format!("{} (#{i})", object["metadata"]["name"]);
        assert_eq!(
            computed[i].0, expected_kstatus[i],
            "kstatus of {name}: {}",
            computed[i].1
        );
        let (argo, message) = argo_health(object);
        assert_eq!(
            argo, expected_argo[i],
            "Argo CD health of {name}: {message}"
        );
    }
    bed.stop_controllers().await;
}

/// A paused object: Argo CD shows Suspended. The real kstatus library knows no pause: it reads
/// Ready, so a paused object that AWS matches is Current and one that drifted is InProgress (it
/// is not what the spec says, and will not become so until resumed).
#[test]
fn a_paused_object_is_suspended_for_argo_cd_and_judged_by_ready_in_kstatus() {
    let paused = |ready: &str| {
        let mut all = conditions(ready, "False", "False", 2);
        all.as_array_mut().expect("list").push(json!({
            "type": "Paused", "status": "True", "reason": "ReconcileDisabled",
            "message": "reconcile disabled; AWS calls that applying the spec needs: ecs:UpdateService web",
            "observedGeneration": 2, "lastTransitionTime": "2026-01-01T00:00:00Z"}));
        sample(2, Some(2), all, false)
    };
    for ready in ["True", "False"] {
        let (status, message) = argo_health(&paused(ready));
        assert_eq!(status, "Suspended", "Ready {ready}");
        assert!(message.starts_with("ReconcileDisabled: "), "{message}");
    }
    let judged = kstatus(&[paused("True"), paused("False")]);
    let statuses: Vec<&str> = judged.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(statuses, ["Current", "InProgress"], "{judged:?}");
}

/// A deployment paused at a PAUSE hook is Reconciling (AwaitingApproval), never Stalled: Argo CD
/// shows Progressing and kstatus InProgress, each with the command that continues it.
#[test]
fn a_paused_deployment_is_progressing_with_the_continue_command() {
    let command = "kubectl annotate ecsservice web -n default ecs.operator.dev/continue-deployment=dep-7/h-1 --overwrite";
    let mut all = conditions("False", "True", "False", 2);
    all[1]["reason"] = json!("AwaitingApproval");
    all[1]["message"] = json!(format!(
        "deployment dep-7 is paused at POST_TEST_TRAFFIC_SHIFT (hook h-1); to continue: {command}"
    ));
    let object = sample(2, Some(2), all, false);
    let (status, message) = argo_health(&object);
    assert_eq!(status, "Progressing", "{message}");
    assert!(message.contains(command), "{message}");
    let judged = kstatus(&[object]);
    assert_eq!(judged[0].0, "InProgress", "{judged:?}");
    assert!(judged[0].1.contains(command), "{judged:?}");
}
