use super::*;

const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/dep-2";

fn hook(id: &str, status: &str, target: Option<&str>) -> LifecycleHookRun {
    LifecycleHookRun {
        id: id.into(),
        target_type: if target.is_some() {
            "AWS_LAMBDA"
        } else {
            "PAUSE"
        }
        .into(),
        target_arn: target.map(str::to_owned),
        status: status.into(),
        expires_at: None,
    }
}

fn deployment(status: &str, stage: &str, hooks: Vec<LifecycleHookRun>) -> CurrentServiceDeployment {
    CurrentServiceDeployment {
        id: "dep-2".into(),
        arn: ARN.into(),
        status: status.into(),
        status_reason: None,
        lifecycle_stage: Some(stage.into()),
        production_traffic_percent: Some(0.0),
        test_traffic_percent: Some(100.0),
        hooks,
    }
}

fn control(continue_id: Option<&str>, rollback_id: Option<&str>) -> Control {
    Control {
        continue_id: continue_id.map(str::to_owned),
        rollback_id: rollback_id.map(str::to_owned),
        namespace: "shop".into(),
        name: "web".into(),
    }
}

#[test]
fn continue_acts_on_the_named_deployments_paused_hooks_once() {
    let paused = deployment(
        "IN_PROGRESS",
        "POST_TEST_TRAFFIC_SHIFT",
        vec![
            hook(
                "h-1",
                "SUCCEEDED",
                Some("arn:aws:lambda:us-east-1:1:function:smoke"),
            ),
            hook("h-2", "AWAITING_ACTION", None),
        ],
    );
    let asked = actions(&control(Some("dep-2"), None), &paused, &[]);
    assert_eq!(
        asked,
        vec![Action::Continue {
            arn: ARN.into(),
            hook_id: "h-2".into()
        }]
    );
    // Done once: not again, even while ECS still reports the hook waiting (a stale read).
    assert!(actions(&control(Some("dep-2"), None), &paused, &[asked[0].marker()]).is_empty());
    // Naming the hook run: that one only; another pause of the deployment waits again.
    assert_eq!(
        actions(&control(Some("dep-2/h-2"), None), &paused, &[]),
        asked
    );
    assert!(actions(&control(Some("dep-2/h-1"), None), &paused, &[]).is_empty());
    // A stale annotation naming an older deployment does nothing.
    assert!(actions(&control(Some("dep-1"), None), &paused, &[]).is_empty());
    // Nothing to continue when no hook waits.
    let running = deployment("IN_PROGRESS", "BAKE_TIME", vec![]);
    assert!(actions(&control(Some("dep-2"), None), &running, &[]).is_empty());
}

#[test]
fn rollback_wins_over_continue_and_only_while_the_deployment_can_stop() {
    let paused = deployment(
        "IN_PROGRESS",
        "POST_SCALE_UP",
        vec![hook("h-1", "AWAITING_ACTION", None)],
    );
    let asked = actions(&control(Some("dep-2"), Some("dep-2")), &paused, &[]);
    assert_eq!(asked, vec![Action::Rollback { arn: ARN.into() }]);
    assert_eq!(asked[0].marker(), "rollback:dep-2");
    assert!(
        actions(
            &control(None, Some("dep-2")),
            &paused,
            &["rollback:dep-2".into()]
        )
        .is_empty()
    );
    for status in ["SUCCESSFUL", "ROLLBACK_IN_PROGRESS", "STOPPED"] {
        let over = deployment(status, "CLEAN_UP", vec![]);
        assert!(
            actions(&control(None, Some("dep-2")), &over, &[]).is_empty(),
            "{status}"
        );
    }
    // Surrounding spaces in the annotation value do not matter.
    assert_eq!(
        actions(&control(None, Some(" dep-2 ")), &paused, &[]).len(),
        1
    );
}

#[test]
fn a_paused_deployment_is_progressing_with_the_commands_to_continue_or_roll_back() {
    let paused = deployment(
        "IN_PROGRESS",
        "POST_TEST_TRAFFIC_SHIFT",
        vec![hook("h-2", "AWAITING_ACTION", None)],
    );
    let Some(Health::Progressing { reason, message }) =
        health(&paused, &control(None, None), &[], "1 of 1 tasks running")
    else {
        panic!("progressing");
    };
    assert_eq!(reason, "AwaitingApproval");
    assert!(
        message.contains(
            "kubectl annotate ecsservice web -n shop ecs.operator.dev/continue-deployment=dep-2/h-2 --overwrite"
        ) && message.contains("ecs.operator.dev/rollback-deployment=dep-2")
            && message.contains("POST_TEST_TRAFFIC_SHIFT")
            && message.contains("100% of test traffic"),
        "{message}"
    );
}

#[test]
fn a_failed_hook_stalls_naming_the_hook_and_a_rollback_asked_for_says_so() {
    let mut failed = deployment(
        "ROLLBACK_SUCCESSFUL",
        "POST_SCALE_UP",
        vec![hook(
            "h-1",
            "FAILED",
            Some("arn:aws:lambda:us-east-1:1:function:smoke-test"),
        )],
    );
    failed.status_reason = Some("Hook execution failed".into());
    let Some(Health::Stalled { reason, message }) = health(&failed, &control(None, None), &[], "")
    else {
        panic!("stalled");
    };
    assert_eq!(reason, "HookFailed");
    assert!(
        message.contains("lifecycle hook smoke-test")
            && message.contains("POST_SCALE_UP")
            && message.contains("Hook execution failed"),
        "{message}"
    );
    let stopped = deployment("ROLLBACK_IN_PROGRESS", "SCALE_UP", vec![]);
    let Some(Health::Stalled { reason, message }) = health(
        &stopped,
        &control(None, Some("dep-2")),
        &["rollback:dep-2".into()],
        "",
    ) else {
        panic!("stalled");
    };
    assert_eq!(reason, "RolledBack");
    assert!(message.contains(ROLLBACK_ANNOTATION), "{message}");
    let Some(Health::Stalled { reason, .. }) = health(&stopped, &control(None, None), &[], "")
    else {
        panic!("stalled");
    };
    assert_eq!(reason, "RolloutFailed");
    assert_eq!(
        health(
            &deployment("SUCCESSFUL", "CLEAN_UP", vec![]),
            &control(None, None),
            &[],
            ""
        ),
        None
    );
}

#[test]
fn events_on_stage_changes_waits_and_failures_only() {
    let c = control(None, None);
    let scale_up = deployment("IN_PROGRESS", "SCALE_UP", vec![]);
    let first = notes(None, &scale_up, &c);
    assert_eq!(
        first.iter().map(|n| n.reason).collect::<Vec<_>>(),
        ["DeploymentStage"]
    );
    assert!(notes(Some(&scale_up), &scale_up, &c).is_empty());
    let paused = deployment(
        "IN_PROGRESS",
        "POST_SCALE_UP",
        vec![hook("h-1", "AWAITING_ACTION", None)],
    );
    assert_eq!(
        notes(Some(&scale_up), &paused, &c)
            .iter()
            .map(|n| n.reason)
            .collect::<Vec<_>>(),
        ["DeploymentStage", "AwaitingApproval"]
    );
    assert!(notes(Some(&paused), &paused, &c).is_empty());
    let failed = deployment(
        "ROLLBACK_IN_PROGRESS",
        "POST_SCALE_UP",
        vec![hook("h-1", "TIMED_OUT", None)],
    );
    let reasons: Vec<_> = notes(Some(&paused), &failed, &c)
        .iter()
        .map(|n| (n.reason, n.warning))
        .collect();
    assert_eq!(reasons, [("HookFailed", true)]);
    let over = deployment("ROLLBACK_SUCCESSFUL", "POST_SCALE_UP", failed.hooks.clone());
    assert_eq!(
        notes(Some(&failed), &over, &c)
            .iter()
            .map(|n| n.reason)
            .collect::<Vec<_>>(),
        ["DeploymentFinished"]
    );
}

#[test]
fn markers_of_earlier_deployments_are_dropped() {
    let now = deployment(
        "IN_PROGRESS",
        "SCALE_UP",
        vec![hook("h-9", "SUCCEEDED", None)],
    );
    let kept = markers_of(
        &now,
        &[
            "continue:h-1".into(),
            "continue:h-9".into(),
            "rollback:dep-1".into(),
            "rollback:dep-2".into(),
        ],
    );
    assert_eq!(kept, ["continue:h-9", "rollback:dep-2"]);
    assert!(is_final(&deployment("ROLLBACK_FAILED", "CLEAN_UP", vec![])));
    assert!(!is_final(&now));
}
