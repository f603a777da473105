//! Service deployments as ListServiceDeployments reports them: one per deployment ECS starts
//! for a service of the ECS deployment controller (a CreateService, an UpdateService that starts a
//! deployment), whose status follows its rollout, and which a circuit-breaker rollback turns into
//! ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL (the rollback runs under the failed deployment's
//! service deployment; it starts no new one).
//!
//! Statuses (API_ServiceDeployment): "PENDING | SUCCESSFUL | STOPPED | STOP_REQUESTED |
//! IN_PROGRESS | ROLLBACK_REQUESTED | ROLLBACK_IN_PROGRESS | ROLLBACK_SUCCESSFUL | ROLLBACK_FAILED".
//! A circuit-breaker failure without rollback ends STOPPED ("The rollback option is not in use for
//! the failure detection mechanism ... and the service fails", ServiceDeployment stoppedAt). Not in
//! the reference, so marked as this model's choice: service deployments only for the ECS
//! controller, IN_PROGRESS at once (the reference has a PENDING stage first, which the operator
//! does not read), a deployment replaced while in progress ends STOPPED, newest listed first.

use super::*;

/// One service deployment.
#[derive(Clone, Debug)]
pub(super) struct ServiceDeploymentRecord {
    arn: String,
    created_at: f64,
    updated_at: f64,
    finished_at: Option<f64>,
    stopped_at: Option<f64>,
    status: &'static str,
    status_reason: Option<String>,
    /// The service revision (task definition) it deploys.
    target: String,
    /// The revisions running when it started.
    sources: Vec<String>,
    /// A rollback: why, when, to which revision.
    rollback: Option<(String, f64, String)>,
    /// Failed tasks the circuit breaker counted, and whether it tripped.
    breaker: (i64, bool),
    /// Stages and hooks of a BLUE_GREEN, LINEAR or CANARY deployment.
    lifecycle: Option<Lifecycle>,
}

impl Service {
    /// The lifecycle of service deployment `arn`, if it has one.
    pub(super) fn lifecycle_mut(&mut self, arn: &str) -> Option<&mut Lifecycle> {
        self.service_deployments
            .iter_mut()
            .find(|r| r.arn == arn)
            .and_then(|r| r.lifecycle.as_mut())
    }

    /// Whether service deployment `arn` is this service's.
    pub(super) fn has_service_deployment(&self, arn: &str) -> bool {
        self.service_deployments.iter().any(|r| r.arn == arn)
    }

    /// Whether service deployment `arn` is IN_PROGRESS.
    pub(super) fn service_deployment_in_progress(&self, arn: &str) -> bool {
        self.service_deployments
            .iter()
            .any(|r| r.arn == arn && r.status == "IN_PROGRESS")
    }
}

/// The states StopServiceDeployment acts on (developer guide, "Stopping Amazon ECS service
/// deployments": "You can stop a deployment that is in any of the following states: PENDING ...
/// IN_PROGRESS ... STOP_REQUESTED ... ROLLBACK_REQUESTED ... ROLLBACK_IN_PROGRESS").
const STOPPABLE: [&str; 5] = [
    "PENDING",
    "IN_PROGRESS",
    "STOP_REQUESTED",
    "ROLLBACK_REQUESTED",
    "ROLLBACK_IN_PROGRESS",
];

/// "You can specify a maximum of 20 ARNs." (DescribeServiceDeployments)
const MAX_DESCRIBED_DEPLOYMENTS: usize = 20;

impl EcsModel {
    /// Starts the service deployment of a new deployment of `service` (ECS controller only),
    /// stopping one still in progress; returns its ARN (empty for other controllers).
    pub(super) fn start_service_deployment(
        &self,
        service: &mut Service,
        target_task_definition: &str,
    ) -> String {
        if service.deployment_controller != "ECS" {
            return String::new();
        }
        let now = epoch();
        for record in service
            .service_deployments
            .iter_mut()
            .filter(|r| r.finished_at.is_none())
        {
            // Unverified: the reference does not say what a replaced deployment ends as.
            record.status = "STOPPED";
            record.status_reason = Some("replaced by a newer service deployment".into());
            record.finished_at = Some(now);
            record.stopped_at = Some(now);
        }
        let arn = format!(
            "{}/{:022x}",
            service.arn.replacen(":service/", ":service-deployment/", 1),
            u128::from(self.next_number()) << 64 | u128::from(fastrand::u64(..))
        );
        let sources = service
            .deployments
            .iter()
            .filter(|d| d.running_count > 0)
            .map(|d| d.task_definition.clone())
            .collect();
        service.service_deployments.push(ServiceDeploymentRecord {
            arn: arn.clone(),
            created_at: now,
            updated_at: now,
            finished_at: None,
            stopped_at: None,
            status: "IN_PROGRESS",
            status_reason: None,
            target: target_task_definition.to_owned(),
            sources,
            rollback: None,
            breaker: (0, false),
            lifecycle: has_lifecycle(&service.members).then(Lifecycle::default),
        });
        arn
    }

    /// DescribeServiceDeployments: the service deployments of the account by ARN.
    pub(super) fn describe_service_deployments(&self, state: &Account, body: &Value) -> Answer {
        let arns: Vec<&str> = body["serviceDeploymentArns"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if arns.len() > MAX_DESCRIBED_DEPLOYMENTS {
            return invalid("serviceDeploymentArns can have at most 20 items.");
        }
        let mut found = Vec::new();
        let mut failures = Vec::new();
        for arn in arns {
            match find_record(state, arn) {
                Some((service, record)) => found.push(describe_record(service, record)),
                None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
            }
        }
        Answer::Ok(json!({"serviceDeployments": found, "failures": failures}))
    }

    /// StopServiceDeployment: ROLLBACK "rolls back the service deployment to the previous service
    /// revision. You can use this option even if you didn't configure the service deployment for
    /// the rollback option."
    pub(super) fn stop_service_deployment(&self, state: &mut Account, body: &Value) -> Answer {
        let arn = body["serviceDeploymentArn"].as_str().unwrap_or_default();
        let stop_type = body["stopType"].as_str().unwrap_or("ROLLBACK");
        let Some(key) = state
            .services
            .iter()
            .find(|(_, s)| s.service_deployments.iter().any(|r| r.arn == arn))
            .map(|(k, _)| k.clone())
        else {
            // ServiceDeploymentNotFoundException: "The service deploy ARN that you specified
            // ... doesn't exist."
            return error(
                400,
                "ServiceDeploymentNotFoundException",
                "The service deployment does not exist.",
            );
        };
        let Some(service) = state.services.get_mut(&key) else {
            return error(
                400,
                "ServiceDeploymentNotFoundException",
                "The service deployment does not exist.",
            );
        };
        let status = service
            .service_deployments
            .iter()
            .find(|r| r.arn == arn)
            .map_or("", |r| r.status);
        if !STOPPABLE.contains(&status) {
            // ConflictException: "The request could not be processed because of conflict in
            // the current state of the resource."
            return error(
                400,
                "ConflictException",
                &format!(
                    "The service deployment is {status}: only a deployment in progress can be stopped."
                ),
            );
        }
        if status == "IN_PROGRESS" || status == "PENDING" {
            match stop_type {
                "ROLLBACK" => self.roll_back(
                    service,
                    arn,
                    "Service deployment rolled back by the user.".into(),
                ),
                // ABORT: the reference gives no text; the model stops where it is (unverified).
                _ => {
                    set_service_deployment(
                        service,
                        arn,
                        "STOPPED",
                        Some("Service deployment stopped by the user.".into()),
                    );
                    if let Some(d) = service
                        .deployments
                        .iter_mut()
                        .find(|d| d.service_deployment == arn)
                    {
                        d.rollout_state = "FAILED".into();
                        d.rollout_state_reason = "Service deployment stopped by the user.".into();
                        d.updated_at = epoch();
                    }
                }
            }
        }
        Answer::Ok(json!({"serviceDeploymentArn": arn}))
    }

    /// ListServiceDeployments.
    pub(super) fn list_service_deployments(&self, state: &Account, body: &Value) -> Answer {
        // maxResults: "This value can be between 1 and 100."
        let max = match body.get("maxResults") {
            None | Some(Value::Null) => 20,
            Some(value) => match value.as_u64() {
                Some(n @ 1..=100) => n as usize,
                _ => return invalid("maxResults must be between 1 and 100."),
            },
        };
        let Some(name) = body["service"].as_str() else {
            return invalid("service is required.");
        };
        let cluster = body["cluster"].as_str().unwrap_or("default");
        let Some(service) = state.services.get(&service_key(cluster, name)) else {
            return error(400, "ServiceNotFoundException", "Service not found.");
        };
        let statuses: Vec<&str> = body["status"]
            .as_array()
            .map(|s| s.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let after = body["createdAt"]["after"].as_f64();
        let before = body["createdAt"]["before"].as_f64();
        let matching: Vec<Value> = service
            .service_deployments
            .iter()
            .rev()
            .filter(|r| statuses.is_empty() || statuses.contains(&r.status))
            .filter(|r| after.is_none_or(|a| r.created_at >= a))
            .filter(|r| before.is_none_or(|b| r.created_at <= b))
            .map(|r| {
                let mut brief = json!({
                    "serviceDeploymentArn": r.arn,
                    "serviceArn": service.arn,
                    "clusterArn": service.cluster_arn,
                    "createdAt": r.created_at,
                    "startedAt": r.created_at,
                    "status": r.status,
                });
                if let Some(finished) = r.finished_at {
                    brief["finishedAt"] = json!(finished);
                }
                if let Some(reason) = &r.status_reason {
                    brief["statusReason"] = json!(reason);
                }
                brief
            })
            .collect();
        let start: usize = body["nextToken"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let page: Vec<&Value> = matching.iter().skip(start).take(max).collect();
        let mut answer = json!({"serviceDeployments": page});
        if start + max < matching.len() {
            answer["nextToken"] = json!((start + max).to_string());
        }
        Answer::Ok(answer)
    }
}

/// The service and record of a service deployment ARN.
fn find_record<'a>(
    state: &'a Account,
    arn: &str,
) -> Option<(&'a Service, &'a ServiceDeploymentRecord)> {
    state.services.values().find_map(|service| {
        service
            .service_deployments
            .iter()
            .find(|r| r.arn == arn)
            .map(|record| (service, record))
    })
}

/// A service revision's ARN: the model keeps one per task definition a service ran.
fn revision_arn(service: &Service, task_definition: &str) -> String {
    let revision = task_definition.rsplit(':').next().unwrap_or("0");
    let family = task_definition
        .rsplit('/')
        .next()
        .and_then(|f| f.split(':').next())
        .unwrap_or("unknown");
    format!(
        "{}/{family}-{revision}",
        service.arn.replacen(":service/", ":service-revision/", 1)
    )
}

/// A service deployment as DescribeServiceDeployments reports it.
fn describe_record(service: &Service, record: &ServiceDeploymentRecord) -> Value {
    let deployment = service
        .deployments
        .iter()
        .find(|d| d.service_deployment == record.arn && d.task_definition == record.target);
    let threshold = super::rollout::breaker_threshold(service.desired_count);
    let breaker = &service
        .members
        .get("deploymentConfiguration")
        .cloned()
        .unwrap_or(Value::Null)["deploymentCircuitBreaker"];
    let (failures, tripped) = record.breaker;
    let breaker_status = if !breaker["enable"].as_bool().unwrap_or(false) {
        "DISABLED"
    } else if tripped {
        "TRIGGERED"
    } else if record.finished_at.is_some() {
        "MONITORING_COMPLETE"
    } else {
        "MONITORING"
    };
    let mut out = json!({
        "serviceDeploymentArn": record.arn,
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "createdAt": record.created_at,
        "startedAt": record.created_at,
        "updatedAt": record.updated_at,
        "status": record.status,
        "targetServiceRevision": {
            "arn": revision_arn(service, &record.target),
            "requestedTaskCount": service.desired_count,
            "runningTaskCount": deployment.map_or(0, |d| d.running_count),
            "pendingTaskCount": deployment.map_or(0, |d| d.pending_count),
        },
        "sourceServiceRevisions": record.sources.iter().map(|td| json!({
            "arn": revision_arn(service, td),
            "requestedTaskCount": 0,
            "runningTaskCount": service.deployments.iter().filter(|d| &d.task_definition == td && d.task_definition != record.target).map(|d| d.running_count).sum::<i64>(),
            "pendingTaskCount": 0,
        })).collect::<Vec<_>>(),
        "deploymentCircuitBreaker": {
            "status": breaker_status,
            "failureCount": failures,
            "threshold": threshold,
        },
        "deploymentConfiguration": service.members.get("deploymentConfiguration").cloned().unwrap_or(Value::Null),
    });
    if let Some(o) = out.as_object_mut() {
        if let Some(reason) = &record.status_reason {
            o.insert("statusReason".into(), json!(reason));
        }
        if let Some(at) = record.finished_at {
            o.insert("finishedAt".into(), json!(at));
        }
        if let Some(at) = record.stopped_at {
            o.insert("stoppedAt".into(), json!(at));
        }
        if let Some(lifecycle) = record.lifecycle.as_ref() {
            let (stage, hooks) = lifecycle.describe();
            if record.finished_at.is_none() {
                o.insert("lifecycleStage".into(), stage);
            }
            o.insert("lifecycleHookDetails".into(), hooks);
            // ServiceRevisionSummary's requestedTestTrafficWeight and
            // requestedProductionTrafficWeight: "The percentage of ... traffic that is directed
            // to this service revision." A rollback sends it all back to the source revision.
            let (test, production) = if record.status.starts_with("ROLLBACK") {
                (0.0, 0.0)
            } else {
                lifecycle.weights()
            };
            if let Some(target) = o.get_mut("targetServiceRevision") {
                target["requestedTestTrafficWeight"] = json!(test);
                target["requestedProductionTrafficWeight"] = json!(production);
            }
            if let Some(sources) = o
                .get_mut("sourceServiceRevisions")
                .and_then(Value::as_array_mut)
            {
                // The rest, shared by the source revisions (the model's reading), in tenths
                // like the steps.
                let n = sources.len().max(1) as f64;
                let share = |w: f64| ((100.0 - w) / n * 10.0).round() / 10.0;
                let (test_rest, production_rest) = (share(test), share(production));
                for source in sources {
                    source["requestedTestTrafficWeight"] = json!(test_rest);
                    source["requestedProductionTrafficWeight"] = json!(production_rest);
                }
            }
        }
        if let Some((reason, at, to)) = &record.rollback {
            o.insert(
                "rollback".into(),
                json!({"reason": reason, "startedAt": at, "serviceRevisionArn": revision_arn(service, to)}),
            );
        }
    }
    out
}

/// Records the circuit breaker's count of failed tasks for `arn`, and whether it tripped.
pub(super) fn record_breaker(service: &mut Service, arn: &str, failures: i64, tripped: bool) {
    if let Some(record) = service
        .service_deployments
        .iter_mut()
        .find(|r| r.arn == arn)
    {
        record.breaker = (failures, record.breaker.1 || tripped);
    }
}

/// Records that `arn`'s rollback to `to` started, and why.
pub(super) fn record_rollback(service: &mut Service, arn: &str, reason: &str, to: &str) {
    if let Some(record) = service
        .service_deployments
        .iter_mut()
        .find(|r| r.arn == arn)
    {
        record.rollback = Some((reason.to_owned(), epoch(), to.to_owned()));
    }
}

/// Moves the service deployment `arn` of `service` to `status` (finished unless in progress).
pub(super) fn set_service_deployment(
    service: &mut Service,
    arn: &str,
    status: &'static str,
    reason: Option<String>,
) {
    let finished = !status.ends_with("IN_PROGRESS");
    if let Some(record) = service
        .service_deployments
        .iter_mut()
        .find(|r| r.arn == arn)
    {
        record.status = status;
        record.status_reason = reason;
        record.updated_at = epoch();
        record.finished_at = finished.then(epoch);
        // stoppedAt: "A user manually stops the deployment; The rollback option is not in use
        // for the failure detection mechanism ... and the service fails."
        if status == "STOPPED" {
            record.stopped_at = Some(epoch());
        }
    }
}

/// The ARN of the newest service deployment (`currentServiceDeployment`).
pub(super) fn current_service_deployment(service: &Service) -> Option<&str> {
    service.service_deployments.last().map(|r| r.arn.as_str())
}
