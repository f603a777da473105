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
    finished_at: Option<f64>,
    status: &'static str,
    status_reason: Option<String>,
}

impl EcsModel {
    /// Starts the service deployment of a new deployment of `service` (ECS controller only),
    /// stopping one still in progress; returns its ARN (empty for other controllers).
    pub(super) fn start_service_deployment(&self, service: &mut Service) -> String {
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
        }
        let arn = format!(
            "{}/{:022x}",
            service.arn.replacen(":service/", ":service-deployment/", 1),
            u128::from(self.next_number()) << 64 | u128::from(fastrand::u64(..))
        );
        service.service_deployments.push(ServiceDeploymentRecord {
            arn: arn.clone(),
            created_at: now,
            finished_at: None,
            status: "IN_PROGRESS",
            status_reason: None,
        });
        arn
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
        record.finished_at = finished.then(epoch);
    }
}

/// The ARN of the newest service deployment (`currentServiceDeployment`).
pub(super) fn current_service_deployment(service: &Service) -> Option<&str> {
    service.service_deployments.last().map(|r| r.arn.as_str())
}
