//! One-off tasks in the ECS model over real HTTP with the AWS SDK: the documented lifecycle, the
//! outcome table by image (pull and resource failures, exit codes, out of memory), StopTask,
//! RunTask's rules and client token, DescribeTasks and ListTasks with their limits, filters and
//! pages, and the retention of stopped tasks. moto's tasks stop by themselves with exit code 0.

use std::time::{Duration, Instant};

use aws_sdk_ecs as ecs;
use ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, DesiredStatus, LaunchType,
    NetworkConfiguration, Tag, TaskStopCode,
};
use ecs_testbed::aws::ecs_model::KnobsPatch;
use ecs_testbed::{ImageOutcome, TaskOutcome};

mod model_bed;

use model_bed::*;

/// The order of the task states on the developer guide's task lifecycle page.
const LIFECYCLE: [&str; 8] = [
    "PROVISIONING",
    "PENDING",
    "ACTIVATING",
    "RUNNING",
    "DEACTIVATING",
    "STOPPING",
    "DEPROVISIONING",
    "STOPPED",
];

async fn task_bed(outcomes: &[(&str, TaskOutcome)]) -> Bed {
    let bed = bed().await;
    bed.proxy.model().expect("model").set_knobs(KnobsPatch {
        task_seconds: Some(0.6),
        run_seconds: Some(0.6),
        image_outcomes: Some(
            outcomes
                .iter()
                .map(|(image, outcome)| ImageOutcome {
                    image: (*image).to_owned(),
                    outcome: *outcome,
                })
                .collect(),
        ),
        ..Default::default()
    });
    bed
}

fn network() -> NetworkConfiguration {
    NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets("subnet-12345678")
                .assign_public_ip(AssignPublicIp::Disabled)
                .build()
                .expect("awsvpc"),
        )
        .build()
}

impl Bed {
    fn run(
        &self,
        task_definition: &str,
    ) -> ecs::operation::run_task::builders::RunTaskFluentBuilder {
        self.ecs
            .run_task()
            .cluster("prod")
            .task_definition(task_definition)
            .launch_type(LaunchType::Fargate)
            .network_configuration(network())
    }

    async fn run_one(&self, task_definition: &str) -> String {
        let answer = self.run(task_definition).send().await.expect("ran");
        answer.tasks()[0].task_arn().expect("arn").to_owned()
    }

    async fn task(&self, arn: &str) -> ecs::types::Task {
        let answer = self
            .ecs
            .describe_tasks()
            .cluster("prod")
            .tasks(arn)
            .send()
            .await
            .expect("described");
        answer
            .tasks()
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("{arn}: {:?}", answer.failures()))
    }

    /// Polls the task until it is STOPPED, collecting each `lastStatus` seen on the way.
    async fn until_stopped(&self, arn: &str) -> (ecs::types::Task, Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen: Vec<String> = Vec::new();
        loop {
            let task = self.task(arn).await;
            let status = task.last_status().unwrap_or_default().to_owned();
            if seen.last() != Some(&status) {
                seen.push(status.clone());
            }
            if status == "STOPPED" {
                return (task, seen);
            }
            assert!(Instant::now() < deadline, "{arn} never stopped: {task:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn list(
        &self,
        request: ecs::operation::list_tasks::builders::ListTasksFluentBuilder,
    ) -> Vec<String> {
        request.send().await.expect("listed").task_arns().to_vec()
    }
}

fn in_lifecycle_order(seen: &[String]) -> bool {
    let positions: Vec<Option<usize>> = seen
        .iter()
        .map(|s| LIFECYCLE.iter().position(|l| l == s))
        .collect();
    positions.iter().all(Option::is_some) && positions.windows(2).all(|w| w[0] < w[1])
}

fn container<'a>(task: &'a ecs::types::Task, name: &str) -> &'a ecs::types::Container {
    task.containers()
        .iter()
        .find(|c| c.name() == Some(name))
        .unwrap_or_else(|| panic!("no container {name}: {task:#?}"))
}

#[tokio::test]
async fn a_task_runs_through_the_documented_states_and_exits_as_its_image_says() {
    let bed = task_bed(&[
        ("*:exit-3", TaskOutcome::Exit(3)),
        ("*:server", TaskOutcome::RunUntilStopped),
    ])
    .await;
    let td = bed
        .register_fargate("job", "migrate:exit-3", Some("proxy:server"))
        .await;
    let answer = bed
        .run(&td)
        .started_by("ci-run-7")
        .send()
        .await
        .expect("ran");
    assert!(answer.failures().is_empty());
    let first = &answer.tasks()[0];
    assert_eq!(first.last_status(), Some("PROVISIONING"));
    assert_eq!(first.desired_status(), Some("RUNNING"));
    assert_eq!(first.group(), Some("family:job"), "RunTask's default group");
    assert_eq!(first.started_by(), Some("ci-run-7"));
    assert_eq!(first.platform_version(), Some("1.4.0"), "LATEST resolved");
    assert_eq!(
        first.containers().len(),
        2,
        "every container of the task definition"
    );
    let arn = first.task_arn().expect("arn").to_owned();

    let (task, seen) = bed.until_stopped(&arn).await;
    assert!(seen.contains(&"RUNNING".to_owned()), "it ran: {seen:?}");
    assert!(in_lifecycle_order(&seen), "states out of order: {seen:?}");
    assert_eq!(
        task.stop_code(),
        Some(&TaskStopCode::EssentialContainerExited)
    );
    assert_eq!(
        task.stopped_reason(),
        Some("Essential container in task exited")
    );
    assert_eq!(task.desired_status(), Some("STOPPED"));
    assert_eq!(container(&task, "app").exit_code(), Some(3));
    assert_eq!(container(&task, "app").last_status(), Some("STOPPED"));
    assert!(
        container(&task, "sidecar").exit_code().is_some(),
        "stopped with the task"
    );
    let (created, started, stopping, stopped) = (
        task.created_at().expect("createdAt").as_secs_f64(),
        task.started_at().expect("startedAt").as_secs_f64(),
        task.stopping_at().expect("stoppingAt").as_secs_f64(),
        task.stopped_at().expect("stoppedAt").as_secs_f64(),
    );
    assert!(
        created < started && started < stopping && stopping < stopped,
        "{task:#?}"
    );
}

#[tokio::test]
async fn failures_to_start_and_out_of_memory_leave_their_reasons() {
    let bed = task_bed(&[
        ("*:broken*", TaskOutcome::PullFailure),
        ("*:no-logs", TaskOutcome::ResourceInitFailure),
        ("*:hungry", TaskOutcome::OutOfMemory),
    ])
    .await;
    let pull = bed.register_fargate("pull", "app:broken", None).await;
    let init = bed.register_fargate("init", "app:no-logs", None).await;
    let oom = bed.register_fargate("oom", "app:hungry", None).await;
    let (pull, init, oom) = (
        bed.run_one(&pull).await,
        bed.run_one(&init).await,
        bed.run_one(&oom).await,
    );

    for (arn, prefix) in [
        (&pull, "CannotPullContainerError"),
        (&init, "ResourceInitializationError"),
    ] {
        let (task, seen) = bed.until_stopped(arn).await;
        assert!(!seen.contains(&"RUNNING".to_owned()), "never ran: {seen:?}");
        assert!(in_lifecycle_order(&seen), "{seen:?}");
        assert_eq!(task.stop_code(), Some(&TaskStopCode::TaskFailedToStart));
        assert!(
            task.stopped_reason()
                .unwrap_or_default()
                .starts_with(prefix),
            "{task:#?}"
        );
        assert!(
            task.started_at().is_none(),
            "no startedAt for a task that never started"
        );
        let app = container(&task, "app");
        assert_eq!(app.exit_code(), None, "nothing ran, so no exit code");
        assert!(app.reason().unwrap_or_default().starts_with(prefix));
    }
    let (task, _) = bed.until_stopped(&oom).await;
    assert_eq!(
        task.stop_code(),
        Some(&TaskStopCode::EssentialContainerExited)
    );
    let app = container(&task, "app");
    assert_eq!(app.exit_code(), Some(137));
    assert_eq!(
        app.reason(),
        Some("OutOfMemoryError: Container killed due to memory usage")
    );
}

#[tokio::test]
async fn stop_task_is_user_initiated_with_the_reason_given() {
    let bed = task_bed(&[("*:server", TaskOutcome::RunUntilStopped)]).await;
    let td = bed.register_fargate("server", "web:server", None).await;
    let arn = bed.run_one(&td).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while bed.task(&arn).await.last_status() != Some("RUNNING") {
        assert!(Instant::now() < deadline, "never RUNNING");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let running = bed.list(bed.ecs.list_tasks().cluster("prod")).await;
    assert_eq!(
        running,
        vec![arn.clone()],
        "RUNNING is ListTasks' default filter"
    );

    let stopped = bed
        .ecs
        .stop_task()
        .cluster("prod")
        .task(arn.rsplit('/').next().expect("id"))
        .reason("rotating credentials")
        .send()
        .await
        .expect("stopped")
        .task()
        .cloned()
        .expect("task");
    assert_eq!(stopped.desired_status(), Some("STOPPED"), "at once");
    assert_eq!(stopped.stop_code(), Some(&TaskStopCode::UserInitiated));
    assert_eq!(stopped.stopped_reason(), Some("rotating credentials"));
    assert!(
        bed.list(bed.ecs.list_tasks().cluster("prod"))
            .await
            .is_empty()
    );
    let listed = bed
        .list(
            bed.ecs
                .list_tasks()
                .cluster("prod")
                .desired_status(DesiredStatus::Stopped),
        )
        .await;
    assert_eq!(listed, vec![arn.clone()]);
    let (task, _) = bed.until_stopped(&arn).await;
    assert_eq!(task.stopped_reason(), Some("rotating credentials"));
    assert_eq!(container(&task, "app").exit_code(), Some(143), "SIGTERM");

    let unknown = bed
        .ecs
        .stop_task()
        .cluster("prod")
        .task("0123456789abcdef0123456789abcdef")
        .send()
        .await
        .expect_err("unknown task");
    assert_eq!(
        err_code(&unknown),
        (
            "InvalidParameterException".into(),
            "The referenced task was not found.".into()
        )
    );
}

#[tokio::test]
async fn run_task_refuses_what_ecs_refuses() {
    let bed = task_bed(&[]).await;
    let fargate = bed.register_fargate("refused", "app:1", None).await;
    let ec2_only = bed.register("ec2-only", "app:1").await;
    let refused = |result: Result<
        ecs::operation::run_task::RunTaskOutput,
        ecs::error::SdkError<ecs::operation::run_task::RunTaskError>,
    >| { err_code(&result.expect_err("refused")) };

    let (code, message) = refused(bed.run(&fargate).count(11).send().await);
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("up to 10 tasks"), "{message}");
    let (code, _) = refused(bed.run(&fargate).count(0).send().await);
    assert_eq!(code, "InvalidParameterException");
    for started_by in ["has space", "colon:not-allowed", &"x".repeat(129)] {
        let (code, message) = refused(bed.run(&fargate).started_by(started_by).send().await);
        assert_eq!(code, "InvalidParameterException", "{started_by}");
        assert!(message.starts_with("startedBy"), "{message}");
    }

    let (_, message) = refused(
        bed.run(&fargate)
            .capacity_provider_strategy(
                CapacityProviderStrategyItem::builder()
                    .capacity_provider("FARGATE")
                    .build()
                    .expect("item"),
            )
            .send()
            .await,
    );
    assert!(
        message.starts_with("Specifying both a launch type and capacity provider strategy"),
        "{message}"
    );
    let (_, message) = refused(
        bed.ecs
            .run_task()
            .cluster("prod")
            .task_definition(&fargate)
            .capacity_provider_strategy(
                CapacityProviderStrategyItem::builder()
                    .capacity_provider("pool-of-another-cluster")
                    .build()
                    .expect("item"),
            )
            .network_configuration(network())
            .send()
            .await,
    );
    assert!(
        message.contains("not associated with the cluster"),
        "{message}"
    );
    let (_, message) = refused(
        bed.ecs
            .run_task()
            .cluster("prod")
            .task_definition(&ec2_only)
            .send()
            .await,
    );
    assert_eq!(
        message, "No Container Instances were found in your cluster.",
        "EC2 is the default launch type"
    );
    let (_, message) = refused(
        bed.ecs
            .run_task()
            .cluster("prod")
            .task_definition(&fargate)
            .launch_type(LaunchType::Fargate)
            .send()
            .await,
    );
    assert!(
        message.starts_with("Network Configuration must be provided"),
        "{message}"
    );
    let (_, message) = refused(
        bed.ecs
            .run_task()
            .cluster("prod")
            .task_definition(&ec2_only)
            .launch_type(LaunchType::Fargate)
            .send()
            .await,
    );
    assert!(
        message.contains("does not support launch_type FARGATE"),
        "{message}"
    );
    let (code, _) = refused(bed.run(&fargate).cluster("nowhere").send().await);
    assert_eq!(code, "ClusterNotFoundException");
    bed.ecs
        .deregister_task_definition()
        .task_definition(&fargate)
        .send()
        .await
        .expect("deregistered");
    let (_, message) = refused(bed.run(&fargate).send().await);
    assert_eq!(message, "TaskDefinition is inactive.");
    assert!(
        bed.list(bed.ecs.list_tasks().cluster("prod"))
            .await
            .is_empty(),
        "nothing ran"
    );
    bed.container_instance("prod").await;
    let on_ec2 = bed
        .ecs
        .run_task()
        .cluster("prod")
        .task_definition(&ec2_only)
        .send()
        .await
        .expect("an instance to run on now");
    assert_eq!(
        on_ec2.tasks()[0].launch_type(),
        Some(&LaunchType::Ec2),
        "the default launch type"
    );
    let allowed = bed
        .ecs
        .run_task()
        .cluster("prod")
        .task_definition(&ec2_only)
        .started_by(format!("team/batch_{}", "x".repeat(117)))
        .send()
        .await
        .expect("128 allowed characters");
    assert_eq!(allowed.tasks().len(), 1);
}

#[tokio::test]
async fn the_cluster_default_strategy_applies_when_a_task_names_neither() {
    let bed = task_bed(&[]).await;
    bed.ecs
        .create_cluster()
        .cluster_name("spot")
        .capacity_providers("FARGATE_SPOT")
        .default_capacity_provider_strategy(
            CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE_SPOT")
                .weight(1)
                .build()
                .expect("item"),
        )
        .send()
        .await
        .expect("cluster");
    let td = bed.register_fargate("spot", "app:1", None).await;
    let answer = bed
        .ecs
        .run_task()
        .cluster("spot")
        .task_definition(&td)
        .network_configuration(network())
        .send()
        .await
        .expect("ran on the default strategy");
    let task = &answer.tasks()[0];
    assert_eq!(task.capacity_provider_name(), Some("FARGATE_SPOT"));
    assert_eq!(task.launch_type(), None, "a strategy, not a launch type");
}

#[tokio::test]
async fn a_client_token_makes_run_task_idempotent_in_its_cluster() {
    let bed = task_bed(&[("*:server", TaskOutcome::RunUntilStopped)]).await;
    bed.ecs
        .create_cluster()
        .cluster_name("other")
        .send()
        .await
        .expect("cluster");
    let td = bed.register_fargate("once", "web:server", None).await;
    let first = bed
        .run(&td)
        .count(2)
        .client_token("deploy-42")
        .send()
        .await
        .expect("ran");
    let again = bed
        .run(&td)
        .count(2)
        .client_token("deploy-42")
        .send()
        .await
        .expect("same answer");
    let arns = |answer: &ecs::operation::run_task::RunTaskOutput| -> Vec<String> {
        answer
            .tasks()
            .iter()
            .filter_map(|t| t.task_arn().map(str::to_owned))
            .collect()
    };
    assert_eq!(arns(&first).len(), 2);
    assert_eq!(arns(&first), arns(&again), "the retry ran nothing new");
    assert_eq!(
        bed.list(bed.ecs.list_tasks().cluster("prod")).await.len(),
        2
    );

    let conflict = bed
        .run(&td)
        .count(1)
        .client_token("deploy-42")
        .send()
        .await
        .expect_err("other arguments");
    assert_eq!(err_code(&conflict).0, "ConflictException");
    let elsewhere = bed
        .run(&td)
        .cluster("other")
        .count(2)
        .client_token("deploy-42")
        .send()
        .await
        .expect("another cluster");
    assert_eq!(arns(&elsewhere).len(), 2);
    assert!(
        arns(&elsewhere).iter().all(|a| !arns(&first).contains(a)),
        "a separate request"
    );
}

#[tokio::test]
async fn describe_and_list_tasks_keep_their_limits_filters_and_pages() {
    let bed = task_bed(&[("*:server", TaskOutcome::RunUntilStopped)]).await;
    let web = bed.register_fargate("web", "web:server", None).await;
    let worker = bed.register_fargate("worker", "worker:server", None).await;
    let mut webs = Vec::new();
    for _ in 0..3 {
        webs.push(bed.run_one(&web).await);
    }
    let tagged = bed
        .run(&worker)
        .started_by("nightly")
        .tags(Tag::builder().key("team").value("data").build())
        .send()
        .await
        .expect("ran");
    let worker_arn = tagged.tasks()[0].task_arn().expect("arn").to_owned();
    assert!(tagged.tasks()[0].tags().is_empty(), "tags only on request");

    let described = bed
        .ecs
        .describe_tasks()
        .cluster("prod")
        .tasks(&worker_arn)
        .tasks("fedcba9876543210fedcba9876543210")
        .include(ecs::types::TaskField::Tags)
        .send()
        .await
        .expect("described");
    assert_eq!(described.tasks()[0].tags().len(), 1);
    assert_eq!(described.failures().len(), 1);
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
    let empty = bed.ecs.describe_tasks().cluster("prod").send().await;
    assert_eq!(
        err_code(&empty.expect_err("no tasks named")),
        (
            "InvalidParameterException".into(),
            "Tasks cannot be empty.".into()
        )
    );
    bed.ecs
        .stop_task()
        .cluster("prod")
        .task(&worker_arn)
        .send()
        .await
        .expect("stopped");
    let untagged = bed
        .ecs
        .describe_tasks()
        .cluster("prod")
        .tasks(&worker_arn)
        .include(ecs::types::TaskField::Tags)
        .send()
        .await
        .expect("described");
    assert!(
        untagged.tasks()[0].tags().is_empty(),
        "StopTask deletes the task's tags"
    );
    let mut too_many = bed.ecs.describe_tasks().cluster("prod");
    for i in 0..101 {
        too_many = too_many.tasks(format!("{i:032x}"));
    }
    assert_eq!(
        err_code(&too_many.send().await.expect_err("101")).0,
        "InvalidParameterException"
    );

    let family = bed
        .list(bed.ecs.list_tasks().cluster("prod").family("web"))
        .await;
    assert_eq!(family.len(), 3);
    assert!(family.iter().all(|a| webs.contains(a)));
    let started = bed
        .list(
            bed.ecs
                .list_tasks()
                .cluster("prod")
                .started_by("nightly")
                .desired_status(DesiredStatus::Stopped),
        )
        .await;
    assert_eq!(started, vec![worker_arn.clone()]);
    let pending = bed
        .list(
            bed.ecs
                .list_tasks()
                .cluster("prod")
                .desired_status(DesiredStatus::Pending),
        )
        .await;
    assert!(
        pending.is_empty(),
        "ECS never sets the desired status PENDING"
    );
    let mixed = bed
        .ecs
        .list_tasks()
        .cluster("prod")
        .started_by("nightly")
        .family("worker")
        .send()
        .await;
    assert_eq!(
        err_code(&mixed.expect_err("startedBy with another filter")).0,
        "InvalidParameterException"
    );
    for max in [0, 101] {
        let out_of_range = bed
            .ecs
            .list_tasks()
            .cluster("prod")
            .max_results(max)
            .send()
            .await;
        assert_eq!(
            err_code(&out_of_range.expect_err("out of range")).0,
            "InvalidParameterException",
            "{max}"
        );
    }

    let mut pages = 0;
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = bed
            .ecs
            .list_tasks()
            .cluster("prod")
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("page");
        pages += 1;
        all.extend(page.task_arns().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        (pages, all.len()),
        (2, 3),
        "the three web tasks still running"
    );
}

#[tokio::test]
async fn stopped_tasks_are_forgotten_after_their_retention() {
    let bed = task_bed(&[]).await;
    bed.proxy.model().expect("model").set_knobs(KnobsPatch {
        stopped_retention_seconds: Some(0.5),
        ..Default::default()
    });
    let td = bed.register_fargate("brief", "job:1", None).await;
    let arn = bed.run_one(&td).await;
    let (task, _) = bed.until_stopped(&arn).await;
    assert_eq!(
        container(&task, "app").exit_code(),
        Some(0),
        "success exits 0"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = bed
            .ecs
            .describe_tasks()
            .cluster("prod")
            .tasks(&arn)
            .send()
            .await
            .expect("described");
        if answer.tasks().is_empty() {
            assert_eq!(answer.failures()[0].reason(), Some("MISSING"));
            break;
        }
        assert!(Instant::now() < deadline, "never forgotten");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stopped = bed
        .list(
            bed.ecs
                .list_tasks()
                .cluster("prod")
                .desired_status(DesiredStatus::Stopped),
        )
        .await;
    assert!(stopped.is_empty());
}

/// A service's tasks are there to list and describe: its running count as RUNNING tasks of group
/// `service:<name>` started by the deployment; scaling in stops one (ServiceSchedulerInitiated);
/// a failing image leaves STOPPED tasks with the image's reason, one per failed task.
#[tokio::test]
async fn service_tasks_are_listed_and_a_failing_image_leaves_its_reasons() {
    let bed = task_bed(&[("*:broken*", TaskOutcome::PullFailure)]).await;
    let good = bed.register("web", "web:1").await;
    bed.create("web", &good).send().await.expect("service");
    let service = bed
        .wait("web", "completed", |s| {
            s.deployments().len() == 1 && s.running_count() == 2
        })
        .await;
    let deployment = service.deployments()[0].id().expect("id").to_owned();
    let listed = bed
        .list(bed.ecs.list_tasks().cluster("prod").service_name("web"))
        .await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    for arn in &listed {
        let task = bed.task(arn).await;
        assert_eq!(task.group(), Some("service:web"));
        assert_eq!(task.started_by(), Some(deployment.as_str()));
        assert_eq!(task.last_status(), Some("RUNNING"));
        assert_eq!(task.task_definition_arn(), Some(good.as_str()));
    }
    // The service event names the tasks DescribeTasks knows, not made-up ones.
    let task_id = |arn: &str| arn.rsplit('/').next().unwrap_or_default().to_owned();
    let named = |message: &str| -> Vec<String> {
        message
            .split("(task ")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
            .map(str::to_owned)
            .collect()
    };
    let started = service
        .events()
        .iter()
        .filter_map(|e| e.message())
        .find(|m| m.starts_with("(service web) has started 2 tasks: "))
        .map(named)
        .unwrap_or_default();
    let mut listed_ids: Vec<String> = listed.iter().map(|a| task_id(a)).collect();
    let mut started_ids = started.clone();
    listed_ids.sort();
    started_ids.sort();
    assert_eq!(started_ids, listed_ids, "{:?}", service.events());

    bed.ecs
        .update_service()
        .cluster("prod")
        .service("web")
        .desired_count(1)
        .send()
        .await
        .expect("scaled in");
    let deadline = Instant::now() + Duration::from_secs(30);
    let stopped = loop {
        let stopped = bed
            .list(
                bed.ecs
                    .list_tasks()
                    .cluster("prod")
                    .service_name("web")
                    .desired_status(DesiredStatus::Stopped),
            )
            .await;
        if !stopped.is_empty() {
            break stopped;
        }
        assert!(Instant::now() < deadline, "nothing stopped on scale-in");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let scaled_in = bed.task(&stopped[0]).await;
    assert_eq!(
        scaled_in.stop_code(),
        Some(&TaskStopCode::ServiceSchedulerInitiated)
    );
    let after = bed.describe("web").await;
    let stopped_event = after
        .events()
        .iter()
        .filter_map(|e| e.message())
        .find(|m| m.starts_with("(service web) has stopped 1 running tasks: "))
        .map(named);
    assert_eq!(
        stopped_event,
        Some(vec![task_id(&stopped[0])]),
        "{:?}",
        after.events()
    );

    let bad = bed.register("web", "web:broken").await;
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("web")
        .task_definition(&bad)
        .send()
        .await
        .expect("updated");
    let failing = bed
        .wait("web", "two failed tasks", |s| {
            s.deployments()[0].failed_tasks() >= 2
        })
        .await;
    let failing_id = failing.deployments()[0].id().expect("id").to_owned();
    let failed = bed
        .list(
            bed.ecs
                .list_tasks()
                .cluster("prod")
                .started_by(&failing_id)
                .desired_status(DesiredStatus::Stopped),
        )
        .await;
    assert!(failed.len() >= 2, "{failed:?}");
    let task = bed.task(&failed[0]).await;
    assert_eq!(task.stop_code(), Some(&TaskStopCode::TaskFailedToStart));
    assert!(
        task.stopped_reason()
            .unwrap_or_default()
            .starts_with("CannotPullContainerError"),
        "{task:?}"
    );
    assert_eq!(task.task_definition_arn(), Some(bad.as_str()));
    let running = bed
        .list(bed.ecs.list_tasks().cluster("prod").service_name("web"))
        .await;
    assert_eq!(
        running.len(),
        1,
        "the old revision keeps its task: {running:?}"
    );
}

/// A crash loop (the essential container exits) fails the deployment, but it is not the
/// scheduler's "unable to consistently start tasks" case: those tasks ran. A non-essential
/// container that exits fails nothing.
#[tokio::test]
async fn crash_loops_and_exiting_sidecars_are_told_apart() {
    let bed = task_bed(&[
        ("*:crash", TaskOutcome::Exit(2)),
        ("*:once", TaskOutcome::Exit(0)),
    ])
    .await;
    let crash = bed.register("crash", "app:crash").await;
    bed.create("crash", &crash).send().await.expect("service");
    let failing = bed
        .wait("crash", "two failed tasks", |s| {
            s.deployments()[0].failed_tasks() >= 2
        })
        .await;
    assert!(
        failing.events().iter().all(|e| !e
            .message()
            .unwrap_or_default()
            .contains("unable to consistently start tasks")),
        "{:?}",
        failing.events()
    );
    let id = failing.deployments()[0].id().expect("id").to_owned();
    let stopped = bed
        .list(
            bed.ecs
                .list_tasks()
                .cluster("prod")
                .started_by(&id)
                .desired_status(DesiredStatus::Stopped),
        )
        .await;
    let task = bed.task(&stopped[0]).await;
    assert_eq!(
        task.stop_code(),
        Some(&TaskStopCode::EssentialContainerExited)
    );
    assert_eq!(container(&task, "app").exit_code(), Some(2));
    assert!(task.started_at().is_some(), "it ran");

    let with_sidecar = bed
        .register_fargate("sidecar", "web:1", Some("setup:once"))
        .await;
    bed.ecs
        .create_service()
        .cluster("prod")
        .service_name("sidecar")
        .task_definition(&with_sidecar)
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network())
        .send()
        .await
        .expect("service");
    bed.wait("sidecar", "completed", completed).await;
}
