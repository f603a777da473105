//! Task sets of EXTERNAL services (CreateTaskSet, UpdateServicePrimaryTaskSet, DeleteTaskSet, and
//! `taskSets` in DescribeServices): what an external deployer drives and the operator reports.
//! CreateTaskSet: "This is used when a service uses the EXTERNAL deployment controller type."
//! DescribeServices "returns all fields specified for a primary task set" at the service level.
//! The model's own choices: a task set runs its computed desired count (the service's desired
//! count times its scale, 100 % when none is given) `rolloutSeconds` after it was created,
//! STABILIZING until then, then STEADY_STATE; a deleted task set is gone at once.

use super::*;

/// One task set.
#[derive(Clone, Debug)]
pub(super) struct TaskSet {
    id: String,
    arn: String,
    status: &'static str,
    task_definition: String,
    external_id: Option<String>,
    scale_percent: f64,
    /// The service members it carries (launch type, network, load balancers, ...).
    members: BTreeMap<String, Value>,
    /// When its tasks run (`rolloutSeconds` after it was created).
    ready_at: Instant,
    created_at: f64,
}

impl TaskSet {
    fn computed_desired(&self, service_desired: i64) -> i64 {
        ((service_desired as f64) * self.scale_percent / 100.0).ceil() as i64
    }

    fn running(&self, service_desired: i64) -> i64 {
        if Instant::now() >= self.ready_at {
            self.computed_desired(service_desired)
        } else {
            0
        }
    }
}

impl EcsModel {
    /// CreateTaskSet.
    pub(super) async fn create_task_set(
        &self,
        upstream: &Upstream<'_>,
        state: &mut Account,
        body: &Value,
    ) -> Answer {
        let cluster = body["cluster"].as_str().unwrap_or("default").to_owned();
        let Some(name) = body["service"].as_str() else {
            return invalid("service must be specified.");
        };
        let Some(reference) = body["taskDefinition"].as_str() else {
            return invalid("taskDefinition must be specified.");
        };
        let task_definition = match self.active_task_definition(upstream, reference).await {
            Ok(found) => found.arn,
            Err(answer) => return answer,
        };
        let Some(service) = state
            .services
            .get_mut(&service_key(&cluster, name))
            .filter(|s| s.status == Status::Active)
        else {
            return error(400, "ServiceNotFoundException", "Service not found.");
        };
        if service.deployment_controller != "EXTERNAL" {
            return invalid(
                "Task sets can only be created for services using the EXTERNAL deployment controller.",
            );
        }
        let scale_percent = match &body["scale"] {
            Value::Null => 100.0,
            scale => scale["value"].as_f64().unwrap_or(100.0),
        };
        let id = format!(
            "ecs-svc/{:019}",
            self.next_number() + 1_000_000_000_000_000_000
        );
        let task_set = TaskSet {
            arn: format!(
                "{}/{id}",
                service.arn.replacen(":service/", ":task-set/", 1)
            ),
            id,
            status: "ACTIVE",
            task_definition,
            external_id: body["externalId"].as_str().map(str::to_owned),
            scale_percent,
            members: TASK_SET_MEMBERS
                .iter()
                .filter_map(|k| body.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                .collect(),
            ready_at: Instant::now() + Duration::from_secs_f64(self.knobs().rollout_seconds),
            created_at: epoch(),
        };
        let answer = describe_task_set(&task_set, service.desired_count);
        service.task_sets.push(task_set);
        Answer::Ok(json!({"taskSet": answer}))
    }

    /// UpdateServicePrimaryTaskSet.
    pub(super) fn primary_task_set(&self, state: &mut Account, body: &Value) -> Answer {
        let cluster = body["cluster"].as_str().unwrap_or("default");
        let name = body["service"].as_str().unwrap_or_default();
        let wanted = body["primaryTaskSet"].as_str().unwrap_or_default();
        let Some(service) = state.services.get_mut(&service_key(cluster, name)) else {
            return error(400, "ServiceNotFoundException", "Service not found.");
        };
        if !service
            .task_sets
            .iter()
            .any(|t| t.arn == wanted || t.id == wanted)
        {
            return error(
                400,
                "TaskSetNotFoundException",
                "The specified task set does not exist.",
            );
        }
        for task_set in &mut service.task_sets {
            task_set.status = if task_set.arn == wanted || task_set.id == wanted {
                "PRIMARY"
            } else {
                "ACTIVE"
            };
        }
        let primary = service.task_sets.iter().find(|t| t.status == "PRIMARY");
        Answer::Ok(json!({"taskSet": primary.map(|t| describe_task_set(t, service.desired_count))}))
    }

    /// DeleteTaskSet.
    pub(super) fn delete_task_set(&self, state: &mut Account, body: &Value) -> Answer {
        let cluster = body["cluster"].as_str().unwrap_or("default");
        let name = body["service"].as_str().unwrap_or_default();
        let wanted = body["taskSet"].as_str().unwrap_or_default();
        let Some(service) = state.services.get_mut(&service_key(cluster, name)) else {
            return error(400, "ServiceNotFoundException", "Service not found.");
        };
        let Some(index) = service
            .task_sets
            .iter()
            .position(|t| t.arn == wanted || t.id == wanted)
        else {
            return error(
                400,
                "TaskSetNotFoundException",
                "The specified task set does not exist.",
            );
        };
        let mut gone = service.task_sets.remove(index);
        gone.status = "DRAINING";
        Answer::Ok(json!({"taskSet": describe_task_set(&gone, service.desired_count)}))
    }
}

/// The members a task set carries and its service reports while it is PRIMARY.
const TASK_SET_MEMBERS: [&str; 6] = [
    "launchType",
    "capacityProviderStrategy",
    "platformVersion",
    "networkConfiguration",
    "loadBalancers",
    "serviceRegistries",
];

/// The members of the PRIMARY task set of a service, as the service reports them.
pub(super) fn primary_task_set_members(service: &Service) -> BTreeMap<String, Value> {
    service
        .task_sets
        .iter()
        .find(|t| t.status == "PRIMARY")
        .map(|t| t.members.clone())
        .unwrap_or_default()
}

/// The running tasks of a service's task sets.
pub(super) fn task_sets_running(service: &Service) -> i64 {
    service
        .task_sets
        .iter()
        .map(|t| t.running(service.desired_count))
        .sum()
}

/// `taskSets` of a service as DescribeServices reports them.
pub(super) fn describe_task_sets(service: &Service) -> Vec<Value> {
    service
        .task_sets
        .iter()
        .map(|t| describe_task_set(t, service.desired_count))
        .collect()
}

fn describe_task_set(task_set: &TaskSet, desired: i64) -> Value {
    let computed = task_set.computed_desired(desired);
    let running = task_set.running(desired);
    let mut out = json!({
        "id": task_set.id,
        "taskSetArn": task_set.arn,
        "status": task_set.status,
        "taskDefinition": task_set.task_definition,
        "computedDesiredCount": computed,
        "runningCount": running,
        "pendingCount": computed - running,
        "scale": {"value": task_set.scale_percent, "unit": "PERCENT"},
        "stabilityStatus": if running == computed { "STEADY_STATE" } else { "STABILIZING" },
        "createdAt": task_set.created_at,
    });
    if let Some(id) = &task_set.external_id {
        out["externalId"] = json!(id);
    }
    out
}
