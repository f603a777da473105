//! One-off tasks: RunTask, StopTask, DescribeTasks and ListTasks, answered by the model (moto's
//! tasks stop by themselves with exit code 0 and no containers to speak of).
//!
//! A task's life is computed from its start time and the knobs, never stepped: PROVISIONING,
//! PENDING and ACTIVATING a third of `taskSeconds` each, then RUNNING; it ends by its image's
//! outcome (the `imageOutcomes` table) or by StopTask, whichever comes first, and goes through
//! DEACTIVATING, STOPPING and DEPROVISIONING to STOPPED in another `taskSeconds`. The task-state
//! names and their order are the developer guide's task lifecycle page.

use super::*;

/// How a task ended (or is ending).
#[derive(Clone, Debug, PartialEq)]
enum Ending {
    /// Never started: a pull or resource initialisation failure (stop code TaskFailedToStart).
    FailedToStart(String),
    /// An essential container exited (stop code EssentialContainerExited).
    EssentialContainerExited,
    /// Stopped from outside, with its stop code (UserInitiated for StopTask,
    /// ServiceSchedulerInitiated for a service's scheduler) and reason.
    Stopped(&'static str, String),
}

/// One container of a task: its task-definition name and image, and what it does.
#[derive(Clone, Debug)]
struct TaskContainer {
    name: String,
    image: String,
    essential: bool,
    outcome: TaskOutcome,
}

/// A task the model ran.
#[derive(Clone, Debug)]
pub(super) struct Task {
    arn: String,
    cluster: String,
    cluster_arn: String,
    task_definition_arn: String,
    family: String,
    group: String,
    started_by: Option<String>,
    launch_type: Option<String>,
    capacity_provider_name: Option<String>,
    platform_version: Option<String>,
    containers: Vec<TaskContainer>,
    cpu: Option<String>,
    memory: Option<String>,
    overrides: Value,
    tags: Vec<Value>,
    enable_execute_command: bool,
    started: Instant,
    created_at: f64,
    /// A stop from outside: seconds after `started`, stop code and reason.
    stop_request: Option<(f64, &'static str, String)>,
    /// Started by a service: a `success` image runs until stopped.
    service_task: bool,
}

/// What RunTask's client token stands for: the request without it, and the tasks it ran.
#[derive(Clone, Debug)]
pub(super) struct RunTaskToken {
    request: Value,
    task_arns: Vec<String>,
}

/// The task's life in seconds after its start, from the knobs.
struct Timeline {
    /// When it reached RUNNING, if it did.
    running_at: Option<f64>,
    /// When it began to stop, and why.
    ending: Option<(f64, Ending)>,
    /// `taskSeconds`.
    span: f64,
}

impl Task {
    /// The task id, the last part of its ARN.
    pub(super) fn id(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or(&self.arn)
    }

    /// Whether it runs (or ran) in the cluster of this name.
    pub(super) fn in_cluster(&self, name: &str) -> bool {
        self.cluster == name
    }

    /// A task a service's scheduler started for deployment `deployment` of `service`, `age`
    /// seconds ago (so a rollout's tasks are already RUNNING, a failed one already STOPPED).
    pub(super) fn for_service(
        service: &Service,
        deployment: &Deployment,
        facts: &TdFacts,
        knobs: &Knobs,
        id: &str,
        age: f64,
    ) -> Self {
        let age = Duration::from_secs_f64(age.max(0.0));
        let capacity_provider_name = deployment
            .members
            .get("capacityProviderStrategy")
            .and_then(first_provider);
        let fargate = uses_fargate(&deployment.members);
        Self {
            arn: format!(
                "{}/{id}",
                service.cluster_arn.replacen(":cluster/", ":task/", 1)
            ),
            cluster: cluster_name(&service.cluster_arn),
            cluster_arn: service.cluster_arn.clone(),
            task_definition_arn: facts.arn.clone(),
            family: facts.family.clone(),
            group: format!("service:{}", service.name),
            // "If an Amazon ECS service started the task, the startedBy parameter contains the
            // deployment ID of that service."
            started_by: Some(deployment.id.clone()),
            launch_type: deployment
                .members
                .get("launchType")
                .and_then(Value::as_str)
                .map(str::to_owned),
            capacity_provider_name,
            platform_version: fargate.then(|| "1.4.0".to_owned()),
            containers: facts
                .containers
                .iter()
                .map(|(name, image, essential)| TaskContainer {
                    name: name.clone(),
                    image: image.clone(),
                    essential: *essential,
                    outcome: outcome_of(&knobs.image_outcomes, image),
                })
                .collect(),
            cpu: facts.cpu.clone(),
            memory: facts.memory.clone(),
            overrides: json!({"containerOverrides": [], "inferenceAcceleratorOverrides": []}),
            tags: Vec::new(),
            enable_execute_command: service
                .members
                .get("enableExecuteCommand")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            started: Instant::now().checked_sub(age).unwrap_or_else(Instant::now),
            created_at: epoch() - age.as_secs_f64(),
            stop_request: None,
            service_task: true,
        }
    }

    /// How long after its start a task of these images is STOPPED on its own, if it is.
    pub(super) fn stops_on_its_own_after(&self, knobs: &Knobs) -> Option<f64> {
        self.natural_end(knobs.task_seconds, knobs.run_seconds)
            .map(|(at, _)| at + knobs.task_seconds)
    }

    /// The deployment (or RunTask caller) that started it.
    pub(super) fn started_by(&self) -> Option<&str> {
        self.started_by.as_deref()
    }

    /// Whether it runs or is on its way to, neither ending nor asked to stop.
    pub(super) fn is_live(&self, knobs: &Knobs) -> bool {
        self.desired_status(knobs) == "RUNNING"
    }

    /// Stops it from outside (a service's scheduler), unless it is already stopping.
    pub(super) fn stop(&mut self, code: &'static str, reason: String, knobs: &Knobs) {
        if self.is_live(knobs) {
            self.stop_request = Some((self.started.elapsed().as_secs_f64(), code, reason));
        }
    }

    /// Whether it was placed by this capacity provider.
    pub(super) fn runs_on(&self, provider: &str) -> bool {
        self.capacity_provider_name.as_deref() == Some(provider)
    }

    /// Whether it is STOPPED now.
    pub(super) fn is_stopped(&self, knobs: &Knobs) -> bool {
        self.stopped_after(knobs)
            .is_some_and(|at| self.started.elapsed().as_secs_f64() >= at)
    }

    /// The essential containers' outcome that decides the task's: a failure to start anywhere
    /// first, then the first essential container that exits.
    fn natural_end(&self, span: f64, run: f64) -> Option<(f64, Ending)> {
        if let Some(failed) = self.containers.iter().find(|c| {
            matches!(
                c.outcome,
                TaskOutcome::PullFailure | TaskOutcome::ResourceInitFailure
            )
        }) {
            return Some((span, Ending::FailedToStart(start_failure(failed))));
        }
        self.containers
            .iter()
            .any(|c| {
                c.essential
                    && match c.outcome {
                        TaskOutcome::RunUntilStopped => false,
                        TaskOutcome::Success => !self.service_task,
                        _ => true,
                    }
            })
            .then_some((span + run, Ending::EssentialContainerExited))
    }

    fn timeline(&self, knobs: &Knobs) -> Timeline {
        let span = knobs.task_seconds;
        let natural = self.natural_end(span, knobs.run_seconds);
        let ending = match (natural, &self.stop_request) {
            (Some((at, ending)), Some((stop_at, _, _))) if at <= *stop_at => Some((at, ending)),
            (_, Some((stop_at, code, reason))) => {
                Some((*stop_at, Ending::Stopped(code, reason.clone())))
            }
            (natural, None) => natural,
        };
        let running_at = match &ending {
            Some((_, Ending::FailedToStart(_))) => None,
            Some((at, _)) if *at < span => None,
            _ => Some(span),
        };
        Timeline {
            running_at,
            ending,
            span,
        }
    }

    /// Seconds after its start at which it is STOPPED, if it stops.
    fn stopped_after(&self, knobs: &Knobs) -> Option<f64> {
        let timeline = self.timeline(knobs);
        timeline.ending.map(|(at, _)| at + timeline.span)
    }

    /// `desiredStatus` now: STOPPED once it was asked to stop or began to.
    fn desired_status(&self, knobs: &Knobs) -> &'static str {
        let now = self.started.elapsed().as_secs_f64();
        let timeline = self.timeline(knobs);
        if self.stop_request.is_some() || timeline.ending.is_some_and(|(at, _)| now >= at) {
            "STOPPED"
        } else {
            "RUNNING"
        }
    }

    /// The task as DescribeTasks reports it now.
    pub(super) fn describe(&self, knobs: &Knobs, with_tags: bool) -> Value {
        let now = self.started.elapsed().as_secs_f64();
        let timeline = self.timeline(knobs);
        let span = timeline.span;
        let at = |offset: f64| self.created_at + (offset * 1000.0).round() / 1000.0;
        let ended = timeline.ending.clone().filter(|(at, _)| now >= *at);
        let last_status = match &ended {
            Some((end, _)) => {
                let into = now - end;
                if into >= span {
                    "STOPPED"
                } else if into >= span * 2.0 / 3.0 {
                    "DEPROVISIONING"
                } else if into >= span / 3.0 {
                    "STOPPING"
                } else {
                    "DEACTIVATING"
                }
            }
            None if timeline.running_at.is_some_and(|r| now >= r) => "RUNNING",
            None if now >= span * 2.0 / 3.0 => "ACTIVATING",
            None if now >= span / 3.0 => "PENDING",
            None => "PROVISIONING",
        };
        let mut task = json!({
            "taskArn": self.arn,
            "clusterArn": self.cluster_arn,
            "taskDefinitionArn": self.task_definition_arn,
            "lastStatus": last_status,
            "desiredStatus": self.desired_status(knobs),
            "createdAt": self.created_at,
            "group": self.group,
            "overrides": self.overrides,
            "enableExecuteCommand": self.enable_execute_command,
            "version": 1 + i64::from(ended.is_some()) + i64::from(last_status == "STOPPED"),
        });
        let mut put = |key: &str, value: Value| {
            if let Some(o) = task.as_object_mut() {
                o.insert(key.to_owned(), value);
            }
        };
        for (key, value) in [
            ("startedBy", self.started_by.clone()),
            ("launchType", self.launch_type.clone()),
            ("capacityProviderName", self.capacity_provider_name.clone()),
            ("platformVersion", self.platform_version.clone()),
            ("cpu", self.cpu.clone()),
            ("memory", self.memory.clone()),
        ] {
            if let Some(value) = value {
                put(key, json!(value));
            }
        }
        if now >= span / 3.0 {
            put("pullStartedAt", json!(at(span / 3.0)));
        }
        if now >= span * 2.0 / 3.0
            && !matches!(
                ended,
                Some((end, Ending::FailedToStart(_)) | (end, Ending::Stopped(..))) if end < span * 2.0 / 3.0
            )
        {
            put("pullStoppedAt", json!(at(span * 2.0 / 3.0)));
        }
        if let Some(running) = timeline.running_at.filter(|r| now >= *r) {
            put("startedAt", json!(at(running)));
            put("connectivity", json!("CONNECTED"));
            put("connectivityAt", json!(at(running)));
        }
        if let Some((end, ending)) = &ended {
            let (code, reason) = match ending {
                Ending::FailedToStart(reason) => ("TaskFailedToStart", reason.clone()),
                Ending::EssentialContainerExited => (
                    "EssentialContainerExited",
                    "Essential container in task exited".to_owned(),
                ),
                Ending::Stopped(code, reason) => (*code, reason.clone()),
            };
            put("stopCode", json!(code));
            put("stoppedReason", json!(reason));
            put("stoppingAt", json!(at(*end)));
            put("executionStoppedAt", json!(at(*end)));
            if last_status == "STOPPED" {
                put("stoppedAt", json!(at(end + span)));
            }
        }
        let containers: Vec<Value> = self
            .containers
            .iter()
            .map(|c| self.describe_container(c, last_status, &timeline, ended.as_ref()))
            .collect();
        put("containers", json!(containers));
        if with_tags {
            put("tags", json!(self.tags));
        }
        task
    }

    fn describe_container(
        &self,
        container: &TaskContainer,
        task_status: &str,
        timeline: &Timeline,
        ended: Option<&(f64, Ending)>,
    ) -> Value {
        let mut out = json!({
            "containerArn": format!("{}/{}", self.arn.replacen(":task/", ":container/", 1), container.name),
            "taskArn": self.arn,
            "name": container.name,
            "image": container.image,
            "lastStatus": match (task_status, ended) {
                (_, Some(_)) => "STOPPED",
                ("RUNNING", None) => "RUNNING",
                _ => "PENDING",
            },
            "networkInterfaces": [],
        });
        let Some((_, ending)) = ended else {
            return out;
        };
        let ran = timeline.running_at.is_some();
        let (exit_code, reason) = match ending {
            // "CannotPullContainerError" and "ResourceInitializationError" leave no exit codes:
            // nothing ran.
            Ending::FailedToStart(reason) => (None, Some(reason.clone())),
            _ if !ran => (None, None),
            Ending::EssentialContainerExited => match container.outcome {
                TaskOutcome::Exit(code) => (Some(code), None),
                TaskOutcome::OutOfMemory => (
                    Some(137),
                    Some("OutOfMemoryError: Container killed due to memory usage".to_owned()),
                ),
                TaskOutcome::Success => (Some(0), None),
                // Stopped with the task when an essential container exited (the model reports
                // 128 + SIGTERM; a real program may exit otherwise).
                _ => (Some(143), None),
            },
            // StopTask: "the equivalent of docker stop is issued to the containers": SIGTERM.
            Ending::Stopped(..) => (Some(143), None),
        };
        if let Some(o) = out.as_object_mut() {
            if let Some(code) = exit_code {
                o.insert("exitCode".into(), json!(code));
            }
            if let Some(reason) = reason {
                o.insert("reason".into(), json!(reason));
            }
        }
        out
    }
}

/// The stopped reason of a task that never started because of this container. The texts follow
/// the developer guide's stopped-task error codes page ("ResourceInitializationError: failed to
/// initialize logging driver: <reason>"); the details after the prefix are the model's.
fn start_failure(container: &TaskContainer) -> String {
    match container.outcome {
        TaskOutcome::ResourceInitFailure => format!(
            "ResourceInitializationError: failed to initialize logging driver: container {}: the log group does not exist",
            container.name
        ),
        _ => format!(
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref {}: not found",
            container.image
        ),
    }
}

/// "You can specify up to 10 tasks for each call." (RunTask `count`).
const MAX_TASKS_PER_RUN: i64 = 10;

/// "A list of up to 100 task IDs or full ARN entries." (DescribeTasks `tasks`).
const MAX_DESCRIBED_TASKS: usize = 100;

impl EcsModel {
    pub(super) async fn run_task(
        &self,
        upstream: &Upstream<'_>,
        state: &mut Account,
        body: &Value,
    ) -> Answer {
        let (described, cluster) = match self.requested_cluster(upstream, body).await {
            Ok(found) => found,
            Err(answer) => return answer,
        };
        let cluster_arn = described["clusterArn"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut request = body.clone();
        let token = request
            .as_object_mut()
            .and_then(|o| o.remove("clientToken"))
            .and_then(|v| v.as_str().map(str::to_owned));
        if let Some(token) = &token {
            // "Up to 64 characters are allowed. The valid characters are characters in the
            // range of 33-126, inclusive."
            if token.len() > 64 || !token.bytes().all(|b| (33..=126).contains(&b)) {
                return invalid(
                    "clientToken: up to 64 characters in the range of 33-126 are allowed.",
                );
            }
            // "Requests with the same token in the same cluster are idempotent."
            if let Some(earlier) = state.run_tokens.get(&(cluster.clone(), token.clone())) {
                if earlier.request != request {
                    // "The provided clientToken is already in use with a different RunTask
                    // request."
                    return error(
                        400,
                        "ConflictException",
                        "The request could not be processed because of conflict in the current state of the resource.",
                    );
                }
                let knobs = self.knobs();
                let tasks: Vec<Value> = earlier
                    .task_arns
                    .iter()
                    .filter_map(|arn| state.tasks.iter().find(|t| &t.arn == arn))
                    .map(|t| t.describe(&knobs, false))
                    .collect();
                return Answer::Ok(json!({"tasks": tasks, "failures": []}));
            }
        }
        // startedBy: "Up to 128 letters (uppercase and lowercase), numbers, hyphens (-), forward
        // slash (/), and underscores (_) are allowed." (The refusal's text is the model's.)
        if let Some(started_by) = body["startedBy"].as_str()
            && (started_by.len() > 128
                || !started_by
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '_')))
        {
            return invalid(
                "startedBy: up to 128 letters, numbers, hyphens (-), forward slashes (/) and underscores (_) are allowed.",
            );
        }
        let count = body["count"].as_i64().unwrap_or(1);
        if !(1..=MAX_TASKS_PER_RUN).contains(&count) {
            return invalid(
                "count must be between 1 and 10: you can specify up to 10 tasks for each call.",
            );
        }
        let mut members: BTreeMap<String, Value> = [
            "launchType",
            "capacityProviderStrategy",
            "networkConfiguration",
            "placementConstraints",
            "placementStrategy",
        ]
        .iter()
        .filter_map(|k| body.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect();
        if members.contains_key("launchType") && members.contains_key("capacityProviderStrategy") {
            return invalid(
                "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.",
            );
        }
        if !members.contains_key("launchType") && !members.contains_key("capacityProviderStrategy")
        {
            // RunTask capacityProviderStrategy: "If a capacityProviderStrategy is specified, the
            // launchType parameter must be omitted. If no capacityProviderStrategy or
            // launchType is specified, the defaultCapacityProviderStrategy for the cluster is
            // used."
            match described["defaultCapacityProviderStrategy"].as_array() {
                Some(strategy) if !strategy.is_empty() => {
                    members.insert("capacityProviderStrategy".into(), json!(strategy));
                }
                _ => {
                    members.insert("launchType".into(), json!("EC2"));
                }
            }
        }
        if let Some(refused) = unassociated_provider(&described, &members) {
            return refused;
        }
        if let Some(rejection) = fargate_placement(&members) {
            return rejection;
        }
        let Some(reference) = body["taskDefinition"].as_str() else {
            return invalid("taskDefinition must be specified.");
        };
        let facts = match self.active_task_definition(upstream, reference).await {
            Ok(found) => found,
            Err(answer) => return answer,
        };
        if let Some(misfit) = task_definition_misfit(&facts, &members) {
            return misfit;
        }
        let launch_type = members
            .get("launchType")
            .and_then(Value::as_str)
            .map(str::to_owned);
        // What ECS answers when nothing can hold the task ("No Container Instances were found
        // in your cluster.", an InvalidParameterException as users report it).
        if launch_type.as_deref() == Some("EC2") {
            match has_container_instances(upstream, &cluster_arn).await {
                Ok(true) => {}
                Ok(false) => return invalid("No Container Instances were found in your cluster."),
                Err(answer) => return answer,
            }
        }
        let capacity_provider_name = members
            .get("capacityProviderStrategy")
            .and_then(first_provider);
        let fargate = uses_fargate(&members);
        let knobs = self.knobs();
        let containers: Vec<TaskContainer> = facts
            .containers
            .iter()
            .map(|(name, image, essential)| TaskContainer {
                name: name.clone(),
                image: image.clone(),
                essential: *essential,
                outcome: outcome_of(&knobs.image_outcomes, image),
            })
            .collect();
        let prefix = cluster_arn.replacen(":cluster/", ":task/", 1);
        let mut arns = Vec::new();
        let mut tasks = Vec::new();
        for _ in 0..count {
            let task = Task {
                arn: format!("{prefix}/{}", &self.task_id()[..32]),
                cluster: cluster.clone(),
                cluster_arn: cluster_arn.clone(),
                task_definition_arn: facts.arn.clone(),
                family: facts.family.clone(),
                group: body["group"]
                    .as_str()
                    .map_or_else(|| format!("family:{}", facts.family), str::to_owned),
                started_by: body["startedBy"].as_str().map(str::to_owned),
                launch_type: launch_type.clone(),
                capacity_provider_name: capacity_provider_name.clone(),
                platform_version: fargate.then(|| match body["platformVersion"].as_str() {
                    None | Some("LATEST") => "1.4.0".to_owned(),
                    Some(version) => version.to_owned(),
                }),
                containers: containers.clone(),
                cpu: facts.cpu.clone(),
                memory: facts.memory.clone(),
                overrides: body.get("overrides").cloned().unwrap_or_else(
                    || json!({"containerOverrides": [], "inferenceAcceleratorOverrides": []}),
                ),
                tags: body["tags"].as_array().cloned().unwrap_or_default(),
                enable_execute_command: body["enableExecuteCommand"].as_bool().unwrap_or(false),
                started: Instant::now(),
                created_at: epoch(),
                stop_request: None,
                service_task: false,
            };
            arns.push(task.arn.clone());
            tasks.push(task.describe(&knobs, false));
            state.tasks.push(task);
        }
        if let Some(token) = token {
            state.run_tokens.insert(
                (cluster, token),
                RunTaskToken {
                    request,
                    task_arns: arns,
                },
            );
        }
        Answer::Ok(json!({"tasks": tasks, "failures": []}))
    }

    pub(super) async fn stop_task(
        &self,
        upstream: &Upstream<'_>,
        state: &mut Account,
        body: &Value,
    ) -> Answer {
        let cluster = match self.requested_cluster(upstream, body).await {
            Ok((_, name)) => name,
            Err(answer) => return answer,
        };
        let wanted = body["task"].as_str().unwrap_or_default();
        let knobs = self.knobs();
        let Some(task) = state
            .tasks_mut()
            .find(|t| t.cluster == cluster && (t.arn == wanted || t.id() == wanted))
        else {
            return invalid("The referenced task was not found.");
        };
        if task.stop_request.is_none() && task.desired_status(&knobs) == "RUNNING" {
            // StopTask reason: "the message appears in subsequent DescribeTasks API operations
            // on this task". Without one, the model says what users report ECS says.
            let reason = body["reason"]
                .as_str()
                .filter(|r| !r.is_empty())
                .unwrap_or("Task stopped by user")
                .to_owned();
            task.stop_request = Some((
                task.started.elapsed().as_secs_f64(),
                "UserInitiated",
                reason,
            ));
            // "Any tags associated with the task will be deleted."
            task.tags.clear();
        }
        Answer::Ok(json!({"task": task.describe(&knobs, false)}))
    }

    pub(super) async fn describe_tasks(
        &self,
        upstream: &Upstream<'_>,
        state: &Account,
        body: &Value,
    ) -> Answer {
        let (described, cluster) = match self.requested_cluster(upstream, body).await {
            Ok(found) => found,
            Err(answer) => return answer,
        };
        let cluster_arn = described["clusterArn"].as_str().unwrap_or_default();
        let wanted = body["tasks"].as_array().cloned().unwrap_or_default();
        // What ECS answers an empty list, as users report it.
        if wanted.is_empty() {
            return invalid("Tasks cannot be empty.");
        }
        if wanted.len() > MAX_DESCRIBED_TASKS {
            return invalid("tasks can have at most 100 items.");
        }
        let with_tags = body["include"]
            .as_array()
            .is_some_and(|i| i.iter().any(|v| v == "TAGS"));
        let knobs = self.knobs();
        let mut tasks = Vec::new();
        let mut failures = Vec::new();
        for reference in wanted.iter().filter_map(Value::as_str) {
            match state
                .all_tasks()
                .find(|t| t.cluster == cluster && (t.arn == reference || t.id() == reference))
            {
                Some(task) => tasks.push(task.describe(&knobs, with_tags)),
                // "The specified task wasn't found. Verify the correct cluster or Region is
                // specified and that both the task ARN or ID is valid." (reason MISSING)
                None => failures.push(json!({
                    "arn": if reference.starts_with("arn:") { reference.to_owned() } else {
                        format!("{}/{reference}", cluster_arn.replacen(":cluster/", ":task/", 1))
                    },
                    "reason": "MISSING",
                })),
            }
        }
        Answer::Ok(json!({"tasks": tasks, "failures": failures}))
    }

    pub(super) async fn list_tasks(
        &self,
        upstream: &Upstream<'_>,
        state: &Account,
        body: &Value,
    ) -> Answer {
        let cluster = match self.requested_cluster(upstream, body).await {
            Ok((_, name)) => name,
            Err(answer) => return answer,
        };
        // "This value can be between 1 and 100."
        let max = body["maxResults"].as_i64().unwrap_or(100);
        if !(1..=100).contains(&max) {
            return invalid("maxResults must be between 1 and 100.");
        }
        // "When you specify startedBy as the filter, it must be the only filter that you use."
        let filters = ["family", "serviceName", "containerInstance", "launchType"];
        if body.get("startedBy").is_some() && filters.iter().any(|f| body.get(*f).is_some()) {
            return invalid("startedBy must be the only filter when it is specified.");
        }
        // "The default status filter is RUNNING ... Although you can filter results based on
        // a desired status of PENDING, this doesn't return any results."
        let desired = body["desiredStatus"].as_str().unwrap_or("RUNNING");
        let knobs = self.knobs();
        let matching: Vec<&Task> = state
            .all_tasks()
            .filter(|t| t.cluster == cluster)
            .filter(|t| t.desired_status(&knobs) == desired)
            .filter(|t| body["family"].as_str().is_none_or(|f| t.family == f))
            .filter(|t| {
                body["serviceName"]
                    .as_str()
                    .is_none_or(|s| t.group == format!("service:{s}"))
            })
            .filter(|t| {
                body["startedBy"]
                    .as_str()
                    .is_none_or(|s| t.started_by.as_deref() == Some(s))
            })
            .filter(|t| {
                body["launchType"]
                    .as_str()
                    .is_none_or(|l| t.launch_type.as_deref() == Some(l))
            })
            .collect();
        let from = match body["nextToken"].as_str() {
            None => 0,
            Some(token) => match token.parse::<usize>() {
                Ok(offset) => offset,
                Err(_) => return invalid("Invalid nextToken."),
            },
        };
        let page: Vec<&str> = matching
            .iter()
            .skip(from)
            .take(max as usize)
            .map(|t| t.arn.as_str())
            .collect();
        let mut answer = json!({"taskArns": page});
        let next = from + page.len();
        if next < matching.len() {
            answer["nextToken"] = json!(next.to_string());
        }
        Answer::Ok(answer)
    }

    /// Drops stopped tasks older than `stoppedRetentionSeconds`: "stopped tasks appear in the
    /// returned results for at least one hour" (DescribeTasks).
    pub(super) fn forget_stopped_tasks(&self, account: &mut Account) {
        let knobs = self.knobs();
        let kept = |task: &Task| {
            task.stopped_after(&knobs).is_none_or(|stopped| {
                task.started.elapsed().as_secs_f64() < stopped + knobs.stopped_retention_seconds
            })
        };
        account.tasks.retain(kept);
        for service in account.services.values_mut() {
            service.tasks.retain(kept);
        }
    }
}

/// Whether the cluster has a registered container instance (moto's ListContainerInstances).
pub(super) async fn has_container_instances(
    upstream: &Upstream<'_>,
    cluster: &str,
) -> Result<bool, Answer> {
    match upstream
        .ecs("ListContainerInstances", &json!({"cluster": cluster}))
        .await
    {
        Ok((200, answer)) => Ok(answer["containerInstanceArns"]
            .as_array()
            .is_some_and(|a| !a.is_empty())),
        Ok((status, answer)) => Err(upstream_error(status, &answer)),
        Err(e) => Err(error(500, "ServerException", &e)),
    }
}

/// The first provider of a strategy (the one a single task lands on in the model).
pub(super) fn first_provider(strategy: &Value) -> Option<String> {
    strategy
        .as_array()?
        .iter()
        .max_by_key(|item| {
            (
                item["base"].as_i64().unwrap_or(0),
                item["weight"].as_i64().unwrap_or(0),
            )
        })
        .and_then(|item| item["capacityProvider"].as_str().map(str::to_owned))
}

/// A strategy naming a provider the cluster does not have: "A capacity provider must be
/// associated with the cluster to be used in a capacity provider strategy" (CreateService and
/// RunTask `capacityProviderStrategy`). The text is ECS's answer as users report it.
pub(super) fn unassociated_provider(
    cluster: &Value,
    members: &BTreeMap<String, Value>,
) -> Option<Answer> {
    let associated: Vec<&str> = cluster["capacityProviders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let strategy = members.get("capacityProviderStrategy")?.as_array()?;
    strategy
        .iter()
        .filter_map(|item| item["capacityProvider"].as_str())
        .any(|name| !associated.contains(&name))
        .then(|| {
            invalid(
                "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.",
            )
        })
}
