//! The lifecycle of BLUE_GREEN, LINEAR and CANARY deployments: the stages of
//! `ServiceDeployment.lifecycleStage` in order, a lifecycle hook run when its stage begins
//! (AWS_LAMBDA hooks answer as the `hookAnswers` knob says, SUCCEEDED by default; PAUSE hooks
//! wait, AWAITING_ACTION, for ContinueServiceDeployment), a FAILED hook rolling the deployment
//! back. The stages share `rolloutSeconds` equally; time spent paused does not count. The
//! documented waits come on top, each minute lasting `minuteSeconds`: PRODUCTION_TRAFFIC_SHIFT
//! shifts production traffic in the strategy's steps (BLUE_GREEN all at once; LINEAR
//! `stepPercent` at a time with `stepBakeTimeInMinutes` between; CANARY `canaryPercent`, then
//! the rest after `canaryBakeTimeInMinutes`), and BAKE_TIME lasts `bakeTimeInMinutes`. Test
//! traffic goes to the new revision at TEST_TRAFFIC_SHIFT. DescribeServiceDeployments reports
//! both as the revisions' requested traffic weights.

use super::*;

/// The stages, in order (RECONCILE_SERVICE "only happens when you start a new service deployment
/// with more than 1 service revision in an ACTIVE state", which the model does not enter).
pub(super) const STAGES: [&str; 9] = [
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
];

/// The stages a hook may name ("You can use a lifecycle hook for this stage.").
const HOOK_STAGES: [&str; 8] = [
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
];

/// What a Lambda hook whose target matches `hook` answers (`hookAnswers` knob).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookAnswer {
    /// Glob on the hook's `hookTargetArn`.
    pub hook: String,
    /// `SUCCEEDED` or `FAILED`: "FAILED – Amazon ECS rolls back the deployment to the last
    /// successful service revision."
    pub answer: String,
}

/// One hook run of a service deployment (`lifecycleHookDetails`).
#[derive(Clone, Debug)]
pub(super) struct HookRun {
    id: String,
    stage: &'static str,
    target_type: String,
    target_arn: Option<String>,
    status: &'static str,
}

/// Where a lifecycle deployment stands.
#[derive(Clone, Debug, Default)]
pub(super) struct Lifecycle {
    /// Stages whose hooks have run (the current stage is the last of them).
    entered: usize,
    paused_total: Duration,
    paused_since: Option<Instant>,
    hooks: Vec<HookRun>,
    /// Production traffic shift steps whose PRODUCTION_TRAFFIC_SHIFT hooks have run.
    shift_steps_hooked: usize,
    /// The percentages of test and production traffic the new revision is requested to get.
    test_weight: f64,
    production_weight: f64,
}

/// The index of a stage in [`STAGES`].
fn stage_index(stage: &str) -> usize {
    STAGES.iter().position(|s| *s == stage).unwrap_or(0)
}

/// The production traffic shift of a strategy: the new revision's weight at each step, with the
/// minutes waited after it. LINEAR: "The percentage of production traffic to shift in each step
/// ... The default value is 10.0"; "The amount of time in minutes to wait between each traffic
/// shifting step ... The default value is 6. This bake time is not applied after reaching 100
/// percent traffic." CANARY: "The percentage of production traffic to shift to the new service
/// revision during the canary phase ... The default value is 5.0"; "The amount of time in
/// minutes to wait during the canary phase before shifting the remaining production traffic ...
/// The default value is 10." BLUE_GREEN shifts everything at once.
fn shift_steps(config: &Value) -> Vec<(f64, f64)> {
    match config["strategy"].as_str() {
        Some("LINEAR") => {
            let linear = &config["linearConfiguration"];
            let step = linear["stepPercent"].as_f64().unwrap_or(10.0).max(0.1);
            let wait = linear["stepBakeTimeInMinutes"].as_f64().unwrap_or(6.0);
            let mut steps = Vec::new();
            let mut weight = 0.0;
            while weight < 100.0 {
                weight = ((weight + step) * 10.0).round() / 10.0;
                let reached = weight >= 100.0;
                steps.push((weight.min(100.0), if reached { 0.0 } else { wait }));
            }
            steps
        }
        Some("CANARY") => {
            let canary = &config["canaryConfiguration"];
            let percent = canary["canaryPercent"].as_f64().unwrap_or(5.0);
            let wait = canary["canaryBakeTimeInMinutes"].as_f64().unwrap_or(10.0);
            if percent >= 100.0 {
                // Nothing left to shift after the canary: nothing to wait for.
                vec![(100.0, 0.0)]
            } else {
                vec![(percent, wait), (100.0, 0.0)]
            }
        }
        _ => vec![(100.0, 0.0)],
    }
}

/// When each stage begins, in seconds of deployment time (paused time not counted), and when
/// the last one ends: an equal share of `rollout` each, plus the traffic shift's waits and the
/// bake time ("The time period when both blue and green service revisions are running
/// simultaneously after the production traffic has shifted.") at `minute` seconds a minute.
fn stage_schedule(config: &Value, rollout: f64, minute: f64) -> ([f64; 9], f64) {
    let share = rollout / STAGES.len() as f64;
    let shift_wait: f64 = shift_steps(config).iter().map(|(_, wait)| wait).sum();
    let bake = config["bakeTimeInMinutes"].as_f64().unwrap_or(0.0);
    let mut begins = [0.0; 9];
    let mut at = 0.0;
    for (i, stage) in STAGES.iter().enumerate() {
        begins[i] = at;
        at += share
            + match *stage {
                "PRODUCTION_TRAFFIC_SHIFT" => shift_wait * minute,
                "BAKE_TIME" => bake * minute,
                _ => 0.0,
            };
    }
    (begins, at)
}

/// The production weight `into` seconds into PRODUCTION_TRAFFIC_SHIFT (the last step begun's),
/// and how many steps have begun.
fn production_weight_at(config: &Value, into: f64, minute: f64) -> (f64, usize) {
    let mut begins_at = 0.0;
    let mut weight = 0.0;
    let mut begun = 0;
    for (step, wait) in shift_steps(config) {
        if into < begins_at {
            break;
        }
        weight = step;
        begun += 1;
        begins_at += wait * minute;
    }
    (weight, begun)
}

/// Runs the PRODUCTION_TRAFFIC_SHIFT hooks of the steps up to `begun` that have not run them
/// ("Lambda functions or lifecycle hooks configured for PRODUCTION_TRAFFIC_SHIFT will be invoked
/// at every production traffic shift step.", the linear deployment guide; the model does the same
/// for CANARY's two steps); why one failed.
fn step_hooks(
    lifecycle: &mut Lifecycle,
    hooks: &[Value],
    answers: &[HookAnswer],
    begun: usize,
) -> Option<String> {
    while lifecycle.shift_steps_hooked < begun {
        lifecycle.shift_steps_hooked += 1;
        let at_shift = |v: &Value| v == "PRODUCTION_TRAFFIC_SHIFT";
        let (_, failed) = run_hooks(
            lifecycle,
            hooks,
            answers,
            "PRODUCTION_TRAFFIC_SHIFT",
            at_shift,
        );
        if failed.is_some() {
            return failed;
        }
    }
    None
}

/// Runs the hooks whose stages `runs_here` takes, recorded at `stage` (AWS_LAMBDA hooks answer as
/// the `hookAnswers` knob says; PAUSE hooks wait): whether one waits, and why one failed.
fn run_hooks(
    lifecycle: &mut Lifecycle,
    hooks: &[Value],
    answers: &[HookAnswer],
    stage: &'static str,
    runs_here: impl Fn(&Value) -> bool,
) -> (bool, Option<String>) {
    let mut paused = false;
    let mut failed = None;
    for hook in hooks.iter().filter(|h| {
        h["lifecycleStages"]
            .as_array()
            .is_some_and(|s| s.iter().any(&runs_here))
    }) {
        let target_type = hook["targetType"]
            .as_str()
            .unwrap_or("AWS_LAMBDA")
            .to_owned();
        let target_arn = hook["hookTargetArn"].as_str().map(str::to_owned);
        let status = if target_type == "PAUSE" {
            paused = true;
            "AWAITING_ACTION"
        } else {
            let answer = target_arn.as_deref().and_then(|arn| {
                answers
                    .iter()
                    .find(|a| glob_matches(&a.hook, arn))
                    .map(|a| a.answer.as_str())
            });
            if answer == Some("FAILED") {
                failed = Some(format!(
                    "Lifecycle hook {} failed at {stage}.",
                    target_arn.clone().unwrap_or_default()
                ));
                "FAILED"
            } else {
                "SUCCEEDED"
            }
        };
        lifecycle.hooks.push(HookRun {
            id: format!("{:016x}", fastrand::u64(..)),
            stage,
            target_type,
            target_arn,
            status,
        });
    }
    (paused, failed)
}

impl Lifecycle {
    /// The new revision's requested test and production traffic weights.
    pub(super) fn weights(&self) -> (f64, f64) {
        (self.test_weight, self.production_weight)
    }

    /// `lifecycleStage` and `lifecycleHookDetails` for DescribeServiceDeployments.
    pub(super) fn describe(&self) -> (Value, Value) {
        let stage = STAGES[self.entered.saturating_sub(1).min(STAGES.len() - 1)];
        let hooks: Vec<Value> = self
            .hooks
            .iter()
            .map(|h| {
                let mut out = json!({"hookId": h.id, "targetType": h.target_type,
                                     "status": h.status});
                if let Some(arn) = &h.target_arn {
                    out["targetArn"] = json!(arn);
                }
                out
            })
            .collect();
        (json!(stage), json!(hooks))
    }
}

/// Whether the service deploys with a lifecycle (not ROLLING).
pub(super) fn has_lifecycle(members: &BTreeMap<String, Value>) -> bool {
    members
        .get("deploymentConfiguration")
        .and_then(|c| c["strategy"].as_str())
        .is_some_and(|s| matches!(s, "BLUE_GREEN" | "LINEAR" | "CANARY"))
}

/// The refusal of a hook ECS would not take, if any: a stage no hook may use, a PAUSE hook at a
/// traffic shift ("PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or
/// PRODUCTION_TRAFFIC_SHIFT stages."), a Lambda hook without its function ("You must provide
/// this parameter when configuring an AWS_LAMBDA lifecycle hook.").
pub(super) fn hook_refusal(members: &BTreeMap<String, Value>) -> Option<Answer> {
    if let Some(refused) = strategy_refusal(members) {
        return Some(refused);
    }
    let hooks = members
        .get("deploymentConfiguration")
        .and_then(|c| c["lifecycleHooks"].as_array().cloned())
        .unwrap_or_default();
    for hook in &hooks {
        let pause = hook["targetType"] == "PAUSE";
        for stage in hook["lifecycleStages"].as_array().into_iter().flatten() {
            let stage = stage.as_str().unwrap_or_default();
            if !HOOK_STAGES.contains(&stage) {
                return Some(invalid(&format!(
                    "A lifecycle hook cannot run at the {stage} stage."
                )));
            }
            if pause && matches!(stage, "TEST_TRAFFIC_SHIFT" | "PRODUCTION_TRAFFIC_SHIFT") {
                return Some(invalid(
                    "PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages.",
                ));
            }
        }
        if !pause && hook["hookTargetArn"].as_str().is_none() {
            return Some(invalid(
                "hookTargetArn must be provided for an AWS_LAMBDA lifecycle hook.",
            ));
        }
    }
    None
}

/// The refusal of a strategy's settings outside their documented ranges, if any. BLUE_GREEN's
/// `bakeTimeInMinutes`: "You must provide this parameter when you use the BLUE_GREEN deployment
/// strategy." LINEAR `stepPercent`: "Valid values are multiples of 0.1 from 3.0 to 100.0";
/// CANARY `canaryPercent`: "Valid values are multiples of 0.1 from 0.1 to 100.0"; their bake
/// times: "Valid values are 0 to 1440 minutes (24 hours)." (The texts are the model's.)
pub(super) fn strategy_refusal(members: &BTreeMap<String, Value>) -> Option<Answer> {
    let config = members.get("deploymentConfiguration")?;
    // Traffic shifting behind a target group needs the second one: "For blue/green deployments
    // with Elastic Load Balancing, you need to create two target groups: A primary target group
    // for the blue service revision ... An alternate target group for the green service
    // revision" (Application Load Balancer resources for blue/green deployments), given as
    // "advancedConfiguration: The advanced settings for the load balancer used in blue/green
    // deployments. Specify the alternate target group, listener rules, and IAM role required
    // for traffic shifting" (API_LoadBalancer). The message is this model's wording.
    let shifting = matches!(
        config["strategy"].as_str(),
        Some("BLUE_GREEN" | "LINEAR" | "CANARY")
    );
    let without_alternate = members
        .get("loadBalancers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|lb| {
            !lb["targetGroupArn"].is_null()
                && lb["advancedConfiguration"]["alternateTargetGroupArn"].is_null()
        });
    if shifting && without_alternate {
        return Some(invalid(
            "A load balancer of a service with a BLUE_GREEN, LINEAR or CANARY deployment strategy must specify advancedConfiguration with an alternateTargetGroupArn.",
        ));
    }
    let tenth = |v: f64| ((v * 10.0).round() - v * 10.0).abs() < 1e-6;
    let minutes_ok = |v: &Value| v.as_f64().is_none_or(|m| (0.0..=1440.0).contains(&m));
    match config["strategy"].as_str() {
        Some("BLUE_GREEN") if config["bakeTimeInMinutes"].is_null() => Some(invalid(
            "bakeTimeInMinutes must be provided for the BLUE_GREEN deployment strategy.",
        )),
        Some("LINEAR") => {
            let linear = &config["linearConfiguration"];
            if linear["stepPercent"]
                .as_f64()
                .is_some_and(|p| !(3.0..=100.0).contains(&p) || !tenth(p))
            {
                return Some(invalid(
                    "linearConfiguration.stepPercent must be a multiple of 0.1 from 3.0 to 100.0.",
                ));
            }
            (!minutes_ok(&linear["stepBakeTimeInMinutes"])).then(|| {
                invalid("linearConfiguration.stepBakeTimeInMinutes must be from 0 to 1440.")
            })
        }
        Some("CANARY") => {
            let canary = &config["canaryConfiguration"];
            if canary["canaryPercent"]
                .as_f64()
                .is_some_and(|p| !(0.1..=100.0).contains(&p) || !tenth(p))
            {
                return Some(invalid(
                    "canaryConfiguration.canaryPercent must be a multiple of 0.1 from 0.1 to 100.0.",
                ));
            }
            (!minutes_ok(&canary["canaryBakeTimeInMinutes"])).then(|| {
                invalid("canaryConfiguration.canaryBakeTimeInMinutes must be from 0 to 1440.")
            })
        }
        _ => None,
    }
}

impl EcsModel {
    /// Moves a lifecycle deployment (the PRIMARY `primary` of `service`) through its stages;
    /// true while it is not over (the caller completes it otherwise).
    pub(super) fn advance_lifecycle(
        &self,
        service: &mut Service,
        primary: &Deployment,
        rollout: Duration,
    ) -> bool {
        let arn = primary.service_deployment.clone();
        let config = service
            .members
            .get("deploymentConfiguration")
            .cloned()
            .unwrap_or(Value::Null);
        let hooks = config["lifecycleHooks"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let knobs = self.knobs();
        let answers = knobs.hook_answers;
        let Some(lifecycle) = service.lifecycle_mut(&arn) else {
            return false;
        };
        if lifecycle.paused_since.is_some() {
            return true;
        }
        let (begins, end) = stage_schedule(&config, rollout.as_secs_f64(), knobs.minute_seconds);
        let effective = primary
            .started
            .elapsed()
            .saturating_sub(lifecycle.paused_total)
            .as_secs_f64();
        let reached = begins.iter().filter(|b| effective >= **b).count().max(1);
        let mut failed = None;
        let mut paused = false;
        let steps = shift_steps(&config).len();
        while lifecycle.entered < reached {
            let stage = STAGES[lifecycle.entered];
            if stage == "POST_PRODUCTION_TRAFFIC_SHIFT" {
                // The shift is over: the hooks of its steps not run yet (several stages passed
                // in one look) run before the next stage's.
                failed = step_hooks(lifecycle, &hooks, &answers, steps);
                if failed.is_some() {
                    break;
                }
            }
            lifecycle.entered += 1;
            // PRE_PRODUCTION_TRAFFIC_SHIFT "occurs before production traffic shift" but is no
            // lifecycleStage of its own: its hooks run as PRODUCTION_TRAFFIC_SHIFT begins.
            let runs_here = |v: &Value| {
                v == stage
                    || (stage == "PRODUCTION_TRAFFIC_SHIFT" && v == "PRE_PRODUCTION_TRAFFIC_SHIFT")
            };
            let (waits, failure) = run_hooks(lifecycle, &hooks, &answers, stage, runs_here);
            paused |= waits;
            failed = failure;
            if stage == "PRODUCTION_TRAFFIC_SHIFT" {
                lifecycle.shift_steps_hooked = 1;
            }
            if failed.is_some() || paused {
                break;
            }
        }
        // Test traffic moves to the new revision at TEST_TRAFFIC_SHIFT, production traffic in
        // the strategy's steps from PRODUCTION_TRAFFIC_SHIFT on (not while hooks before it wait).
        let shift = stage_index("PRODUCTION_TRAFFIC_SHIFT");
        if lifecycle.entered > stage_index("TEST_TRAFFIC_SHIFT") {
            lifecycle.test_weight = 100.0;
        }
        if lifecycle.entered > shift && !(paused && lifecycle.entered == shift + 1) {
            let (weight, begun) =
                production_weight_at(&config, effective - begins[shift], knobs.minute_seconds);
            lifecycle.production_weight = weight;
            if failed.is_none() {
                failed = step_hooks(lifecycle, &hooks, &answers, begun);
            }
        }
        if paused {
            lifecycle.paused_since = Some(Instant::now());
            return true;
        }
        if let Some(reason) = failed {
            self.roll_back(service, &arn, reason);
            return true;
        }
        let entered = lifecycle.entered;
        // The green revision's tasks run from the end of SCALE_UP on.
        let running = if entered > 2 {
            service.desired_count
        } else {
            0
        };
        if let Some(p) = service.deployments.first_mut() {
            p.running_count = running;
            p.pending_count = service.desired_count - running;
        }
        entered < STAGES.len() || effective < end
    }

    /// ContinueServiceDeployment: "Continues or rolls back an Amazon ECS service deployment that
    /// is paused at a lifecycle hook." The hook must be AWAITING_ACTION and the deployment
    /// IN_PROGRESS.
    pub(super) fn continue_service_deployment(&self, state: &mut Account, body: &Value) -> Answer {
        let arn = body["serviceDeploymentArn"].as_str().unwrap_or_default();
        let hook_id = body["hookId"].as_str().unwrap_or_default();
        let action = body["action"].as_str().unwrap_or("CONTINUE");
        let Some(service) = state
            .services
            .values_mut()
            .find(|s| s.has_service_deployment(arn))
        else {
            return error(
                400,
                "ServiceDeploymentNotFoundException",
                "The service deployment does not exist.",
            );
        };
        if !service.service_deployment_in_progress(arn) {
            return invalid("The service deployment is not IN_PROGRESS.");
        }
        let Some(lifecycle) = service.lifecycle_mut(arn) else {
            return invalid("The service deployment has no paused lifecycle hook.");
        };
        let Some(hook) = lifecycle
            .hooks
            .iter_mut()
            .find(|h| h.id == hook_id && h.status == "AWAITING_ACTION")
        else {
            return invalid(&format!(
                "No lifecycle hook {hook_id} is AWAITING_ACTION in this service deployment."
            ));
        };
        hook.status = if action == "ROLLBACK" {
            "FAILED"
        } else {
            "SUCCEEDED"
        };
        let stage = hook.stage;
        // "You can configure both Lambda hooks and pause hooks at the same lifecycle stage. Both
        // hooks must complete before the deployment proceeds to the next stage."
        let waiting = lifecycle
            .hooks
            .iter()
            .any(|h| h.status == "AWAITING_ACTION");
        if !waiting && let Some(since) = lifecycle.paused_since.take() {
            lifecycle.paused_total += since.elapsed();
        }
        if action == "ROLLBACK" {
            self.roll_back(
                service,
                arn,
                format!("Rolled back at the {stage} lifecycle hook by ContinueServiceDeployment."),
            );
        }
        Answer::Ok(json!({"serviceDeploymentArn": arn}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(config: Value) -> Vec<(f64, f64)> {
        shift_steps(&config)
    }

    #[test]
    fn traffic_shifts_in_the_documented_steps_with_no_wait_after_the_last() {
        assert_eq!(
            steps(json!({"strategy": "LINEAR",
                         "linearConfiguration": {"stepPercent": 30.0, "stepBakeTimeInMinutes": 2}})),
            [(30.0, 2.0), (60.0, 2.0), (90.0, 2.0), (100.0, 0.0)]
        );
        let defaults = steps(json!({"strategy": "LINEAR"}));
        assert_eq!(defaults.len(), 10, "10 % a step: {defaults:?}");
        assert_eq!(
            defaults.iter().map(|(_, wait)| wait).sum::<f64>(),
            54.0,
            "nine waits of 6 minutes, none after 100 %"
        );
        assert_eq!(
            steps(json!({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 33.3}})),
            [(33.3, 6.0), (66.6, 6.0), (99.9, 6.0), (100.0, 0.0)]
        );
        assert_eq!(
            steps(json!({"strategy": "CANARY"})),
            [(5.0, 10.0), (100.0, 0.0)]
        );
        assert_eq!(
            steps(json!({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 100.0}})),
            [(100.0, 0.0)]
        );
        assert_eq!(steps(json!({"strategy": "BLUE_GREEN"})), [(100.0, 0.0)]);
        let canary = json!({"strategy": "CANARY", "bakeTimeInMinutes": 3,
                            "canaryConfiguration": {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 4}});
        let (begins, end) = stage_schedule(&canary, 9.0, 1.0);
        let shift = stage_index("PRODUCTION_TRAFFIC_SHIFT");
        assert_eq!(begins[shift], 5.0);
        assert_eq!(
            begins[shift + 1],
            5.0 + 1.0 + 4.0,
            "the canary bake inside the shift"
        );
        assert_eq!(end, 9.0 + 4.0 + 3.0, "and the bake time");
        assert_eq!(production_weight_at(&canary, 3.9, 1.0), (20.0, 1));
        assert_eq!(production_weight_at(&canary, 4.0, 1.0), (100.0, 2));
    }
}
