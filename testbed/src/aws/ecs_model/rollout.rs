//! Deployments and how they advance with time: rollouts, the circuit breaker and its rollback,
//! draining.

use super::*;

/// Whether a rolling deployment can neither start a task nor stop one. maximumPercent: "an upper
/// limit on the number of your service's tasks that are allowed in the RUNNING, STOPPING, or
/// PENDING state during a deployment, as a percentage of the desiredCount (rounded down to the
/// nearest integer)"; minimumHealthyPercent: "a lower limit on the number of your service's
/// tasks that must remain in the RUNNING state during a deployment, as a percentage of the
/// desiredCount (rounded up to the nearest integer)". With 100 / 100 and old tasks running
/// there is no room either way.
fn no_room_to_deploy(service: &Service) -> bool {
    let desired = service.desired_count;
    let old: i64 = service
        .deployments
        .iter()
        .skip(1)
        .map(|d| d.running_count)
        .sum();
    if desired <= 0 || old <= 0 {
        return false;
    }
    let config = service
        .members
        .get("deploymentConfiguration")
        .cloned()
        .unwrap_or(Value::Null);
    let max = config["maximumPercent"].as_i64().unwrap_or(200);
    let min = config["minimumHealthyPercent"].as_i64().unwrap_or(100);
    let upper = desired * max / 100;
    let lower = (desired * min + 99) / 100;
    upper - old <= 0 && old - lower <= 0
}

/// Failed tasks `elapsed` seconds into a failing deployment, one every `step` seconds. For tasks
/// that fail to start, after ten the gaps double up to 27 minutes ("the time between attempts is
/// incrementally increased up to a maximum of 27 minutes", service throttle logic; where the
/// back-off begins and how it grows are the model's choices). Crash loops stay linear.
fn failures_after(elapsed: f64, step: f64, start_failure: bool) -> i64 {
    const LINEAR: i64 = 10;
    let linear_end = step * LINEAR as f64;
    if !start_failure || elapsed < linear_end {
        return (elapsed / step) as i64;
    }
    let (mut failures, mut at, mut gap) = (LINEAR, linear_end, step);
    loop {
        gap = (gap * 2.0).min(27.0 * 60.0);
        if at + gap > elapsed {
            return failures;
        }
        at += gap;
        failures += 1;
    }
}

/// The failed task count at which the circuit breaker trips: "minimum threshold <= 0.5 *
/// desired task count => maximum threshold", with 3 and 200 as the documented defaults (the
/// developer guide's deployment circuit breaker page). Rounding up is the model's reading.
pub(super) fn breaker_threshold(desired: i64) -> i64 {
    ((desired.max(0) + 1) / 2).clamp(3, 200)
}

impl EcsModel {
    pub(super) fn new_deployment(
        &self,
        task_definition: &str,
        desired: i64,
        failing: bool,
        members: &BTreeMap<String, Value>,
        reason: Option<String>,
    ) -> Deployment {
        let id = self.deployment_id();
        let now = epoch();
        Deployment {
            rollout_state_reason: reason
                .unwrap_or_else(|| format!("ECS deployment {id} in progress.")),
            id,
            status: "PRIMARY".into(),
            task_definition: task_definition.to_owned(),
            desired_count: desired,
            running_count: 0,
            pending_count: desired,
            failed_tasks: 0,
            rollout_state: "IN_PROGRESS".into(),
            started: Instant::now(),
            created_at: now,
            updated_at: now,
            failing,
            members: DEPLOYMENT_MEMBERS
                .iter()
                .filter_map(|k| members.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                .collect(),
            service_deployment: String::new(),
            is_rollback: false,
            unplaceable: false,
            start_failure: false,
            failed_recorded: 0,
        }
    }

    /// Moves every service of the account to now: rollouts progress, complete or fail (and roll
    /// back), draining services become INACTIVE.
    pub(super) fn advance(&self, account: &mut Account) {
        let knobs = self.knobs();
        let rollout = Duration::from_secs_f64(knobs.rollout_seconds);
        let drain = Duration::from_secs_f64(knobs.drain_seconds);
        let steady = Duration::from_secs_f64(knobs.steady_state_seconds);
        for service in account.services.values_mut() {
            self.advance_service(service, rollout, drain, steady);
            self.materialise_service_tasks(service, &knobs);
        }
        self.forget_stopped_tasks(account);
    }

    pub(super) fn advance_service(
        &self,
        service: &mut Service,
        rollout: Duration,
        drain: Duration,
        steady: Duration,
    ) {
        if service.status == Status::Draining {
            if service
                .draining_since
                .is_some_and(|since| since.elapsed() >= drain)
            {
                // Its tasks stop with the event naming them (materialise_service_tasks).
                service.status = Status::Inactive;
                service.deployments.clear();
            }
            return;
        }
        if service.status != Status::Active || service.deployment_controller != "ECS" {
            return;
        }
        // Every call advances every service of the account: a settled one returns here, before
        // anything is copied.
        let Some(first) = service.deployments.first_mut() else {
            return;
        };
        if first.rollout_state != "IN_PROGRESS" {
            // Scale changes of a settled deployment land after one rollout period.
            if first.rollout_state == "COMPLETED"
                && first.running_count != first.desired_count
                && first.started.elapsed() >= rollout
            {
                first.running_count = first.desired_count;
                first.pending_count = 0;
                first.updated_at = epoch();
            }
            return;
        }
        let primary = first.clone();
        let name = service.name.clone();
        let breaker = &service
            .members
            .get("deploymentConfiguration")
            .cloned()
            .unwrap_or(Value::Null)["deploymentCircuitBreaker"];
        let (breaker_on, rollback) = (
            breaker["enable"].as_bool().unwrap_or(false),
            breaker["rollback"].as_bool().unwrap_or(false),
        );
        let elapsed = primary.started.elapsed();
        if primary.failing {
            // Tasks keep failing: one every third of the rollout time; tasks that never start are
            // retried ever more slowly after the first ten.
            let failed = failures_after(
                elapsed.as_secs_f64(),
                (rollout.as_secs_f64() / 3.0).max(0.05),
                primary.start_failure,
            );
            if let Some(p) = service.deployments.first_mut()
                && failed > p.failed_tasks
            {
                p.failed_tasks = failed;
                p.updated_at = epoch();
            }
            // "Tasks that are stopped after they reach the RUNNING state don't start the throttle
            // logic or the associated service event message" (service throttle logic).
            if primary.start_failure
                && !service
                    .events
                    .first()
                    .is_some_and(|e| e.message.contains("is unable to consistently start tasks"))
            {
                let event = self.event(format!(
                    "(service {name}) is unable to consistently start tasks successfully."
                ));
                service.push_event(event);
            }
            let tripped = breaker_on
                && primary.failed_tasks.max(failed) >= breaker_threshold(service.desired_count);
            record_breaker(
                service,
                &primary.service_deployment,
                primary.failed_tasks.max(failed),
                tripped,
            );
            if tripped {
                let failed_id = primary.id.clone();
                if let Some(p) = service.deployments.first_mut() {
                    p.rollout_state = "FAILED".into();
                    p.rollout_state_reason =
                        "ECS deployment circuit breaker: tasks failed to start.".into();
                    p.updated_at = epoch();
                }
                let event = self.event(format!(
                    "(service {name}) (deployment {failed_id}) deployment failed: tasks failed to start."
                ));
                service.push_event(event);
                let reason = "ECS deployment circuit breaker: tasks failed to start.".to_owned();
                if !(rollback && service.last_completed.is_some()) {
                    // ServiceDeployment stoppedAt: the deployment is STOPPED when "The rollback
                    // option is not in use for the failure detection mechanism (the circuit
                    // breaker or alarm-based) and the service fails." (Nothing ever completed
                    // to go back to is the model's reading of the same.)
                    set_service_deployment(
                        service,
                        &primary.service_deployment,
                        "STOPPED",
                        Some(reason.clone()),
                    );
                }
                if rollback && service.last_completed.is_some() {
                    self.roll_back(service, &primary.service_deployment, reason);
                }
            }
            return;
        }
        if primary.unplaceable {
            // What ECS's scheduler reports when nothing can hold a task, as users report it.
            let message = format!(
                "(service {name}) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster."
            );
            if service.events.first().is_none_or(|e| e.message != message) {
                let event = self.event(message);
                service.push_event(event);
            }
            if let Some(p) = service.deployments.first_mut() {
                p.running_count = 0;
                p.pending_count = 0;
            }
            return;
        }
        if has_lifecycle(&service.members)
            && !primary.is_rollback
            && self.advance_lifecycle(service, &primary, rollout)
        {
            return;
        }
        if !has_lifecycle(&service.members) && no_room_to_deploy(service) {
            // Neither a new task can start nor an old one stop: the rollout waits, IN_PROGRESS,
            // with nothing of the new revision running, until the percentages change.
            if let Some(p) = service.deployments.first_mut() {
                p.running_count = 0;
                p.pending_count = 0;
            }
            return;
        }
        if elapsed >= rollout && elapsed < rollout + steady {
            // Everything runs, and ECS still waits for the service to be steady before it
            // calls the deployment COMPLETED.
            let desired = service.desired_count;
            if let Some(p) = service.deployments.first_mut() {
                p.running_count = desired;
                p.pending_count = 0;
            }
            return;
        }
        if elapsed >= rollout + steady {
            let desired = service.desired_count;
            let id = primary.id.clone();
            let rolled_back = primary.is_rollback;
            if let Some(p) = service.deployments.first_mut() {
                p.rollout_state = "COMPLETED".into();
                // Unverified: a finished rollback deployment is reported as any completed one;
                // the rollback is then told by the service deployment alone (ROLLBACK_SUCCESSFUL).
                p.rollout_state_reason = format!("ECS deployment {id} completed.");
                p.running_count = desired;
                p.pending_count = 0;
                p.desired_count = desired;
                p.updated_at = epoch();
            }
            service.deployments.truncate(1);
            if rolled_back {
                set_service_deployment(
                    service,
                    &primary.service_deployment,
                    "ROLLBACK_SUCCESSFUL",
                    Some("ECS deployment circuit breaker: rollback completed.".into()),
                );
            } else {
                set_service_deployment(service, &primary.service_deployment, "SUCCESSFUL", None);
            }
            service.task_definition = primary.task_definition.clone();
            service.last_completed = Some(primary.task_definition.clone());
            // The new revision's tasks start and the old ones stop (with the events naming
            // them) before the deployment is called completed.
            self.materialise_service_tasks(service, &self.knobs());
            let event = self.event(format!(
                "(service {name}) (deployment {id}) deployment completed."
            ));
            service.push_event(event);
            let event = self.event(format!("(service {name}) has reached a steady state."));
            service.push_event(event);
        } else {
            let fraction = elapsed.as_secs_f64() / rollout.as_secs_f64().max(1e-9);
            let desired = service.desired_count;
            if let Some(p) = service.deployments.first_mut() {
                let running = ((desired as f64) * fraction * 0.5).floor() as i64;
                p.running_count = running.min(desired);
                p.pending_count = desired - p.running_count;
            }
        }
    }

    /// Rolls the service deployment `arn` back to the last revision that completed: the
    /// deployment in flight stays listed, FAILED and ACTIVE, while a new PRIMARY deployment of
    /// that revision runs under the same service deployment (ROLLBACK_IN_PROGRESS, then
    /// ROLLBACK_SUCCESSFUL). With nothing completed before, there is nothing to go back to: the
    /// service deployment is STOPPED (the model's reading).
    pub(super) fn roll_back(&self, service: &mut Service, arn: &str, reason: String) {
        let name = service.name.clone();
        for d in service
            .deployments
            .iter_mut()
            .filter(|d| d.service_deployment == arn && d.rollout_state == "IN_PROGRESS")
        {
            // Unverified: what a deployment stopped by hand reports.
            d.rollout_state = "FAILED".into();
            d.rollout_state_reason = reason.clone();
            d.updated_at = epoch();
        }
        let Some(previous) = service.last_completed.clone() else {
            set_service_deployment(service, arn, "STOPPED", Some(reason));
            return;
        };
        set_service_deployment(service, arn, "ROLLBACK_IN_PROGRESS", Some(reason.clone()));
        record_rollback(service, arn, &reason, &previous);
        let breaker = reason.starts_with("ECS deployment circuit breaker");
        let previous_id = service
            .deployments
            .iter()
            .skip(1)
            .find(|d| d.task_definition == previous)
            .map(|d| d.id.clone())
            .unwrap_or_else(|| "ecs-svc/0000000000000000000".into());
        let back_reason = if breaker {
            format!("ECS deployment circuit breaker: rolling back to deploymentId {previous_id}.")
        } else {
            // The model's text for a rollback asked for with StopServiceDeployment.
            format!("ECS deployment rolling back to deploymentId {previous_id}.")
        };
        let mut back = self.new_deployment(
            &previous,
            service.desired_count,
            false,
            &service.members,
            Some(back_reason),
        );
        let event = self.event(format!(
            "(service {name}) rolling back to deployment {}.",
            back.id
        ));
        service.push_event(event);
        // The failed deployment stays listed, FAILED and ACTIVE, while the rollback runs; the
        // old tasks keep running meanwhile. (Shape as users report it: the rollback deployment
        // is PRIMARY, the failed one beside it.)
        back.running_count = 0;
        back.service_deployment = arn.to_owned();
        back.is_rollback = true;
        for d in service.deployments.iter_mut() {
            d.status = "ACTIVE".into();
        }
        service.deployments.insert(0, back);
        service.task_definition = previous;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_failures_back_off_after_ten_and_crash_loops_do_not() {
        assert_eq!(failures_after(9.9, 1.0, true), 9);
        assert_eq!(failures_after(11.9, 1.0, true), 10, "the 11th waits 2 s");
        assert_eq!(failures_after(12.0, 1.0, true), 11);
        assert_eq!(failures_after(16.0, 1.0, true), 12, "then 4 s");
        assert_eq!(failures_after(16.0, 1.0, false), 16);
        assert!(
            failures_after(86_400.0, 1.0, true) < 80,
            "27-minute gaps at most a day in"
        );
        assert_eq!(breaker_threshold(2), 3);
        assert_eq!(breaker_threshold(10), 5);
        assert_eq!(breaker_threshold(1_000), 200);
    }
}
