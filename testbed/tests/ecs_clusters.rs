//! Clusters in the ECS model over real HTTP with the AWS SDK: CreateCluster is idempotent only for
//! the same arguments, and DeleteCluster is refused while services, tasks or container instances
//! remain (moto replaces a cluster on a second CreateCluster and deletes anything).

use std::time::{Duration, Instant};

use aws_sdk_ecs as ecs;
use ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, ClusterSetting, ClusterSettingName, Compatibility,
    ContainerDefinition, LaunchType, NetworkConfiguration, NetworkMode,
};
use ecs_testbed::TaskOutcome;
use ecs_testbed::aws::ecs_model::KnobsPatch;

mod model_bed;

use model_bed::*;

fn insights(value: &str) -> ClusterSetting {
    ClusterSetting::builder()
        .name(ClusterSettingName::ContainerInsights)
        .value(value)
        .build()
}

#[tokio::test]
async fn create_cluster_is_idempotent_only_for_the_same_arguments() {
    let bed = bed().await;
    let first = bed
        .ecs
        .create_cluster()
        .cluster_name("batch")
        .settings(insights("enabled"))
        .send()
        .await
        .expect("created");
    let again = bed
        .ecs
        .create_cluster()
        .cluster_name("batch")
        .settings(insights("enabled"))
        .send()
        .await
        .expect("the same request again");
    let arn = |c: &ecs::operation::create_cluster::CreateClusterOutput| {
        c.cluster().and_then(|c| c.cluster_arn()).map(str::to_owned)
    };
    assert_eq!(arn(&first), arn(&again));
    let other = bed
        .ecs
        .create_cluster()
        .cluster_name("batch")
        .settings(insights("disabled"))
        .send()
        .await
        .expect_err("other arguments");
    assert_eq!(
        err_code(&other),
        (
            "InvalidParameterException".into(),
            "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).".into()
        )
    );
    let described = bed
        .ecs
        .describe_clusters()
        .clusters("batch")
        .include(ecs::types::ClusterField::Settings)
        .send()
        .await
        .expect("described");
    let settings = described.clusters()[0].settings();
    assert_eq!(
        settings.first().and_then(|s| s.value()),
        Some("enabled"),
        "the first cluster stands: {settings:?}"
    );
}

#[tokio::test]
async fn delete_cluster_is_refused_while_services_or_tasks_remain() {
    let bed = bed().await;
    bed.proxy.model().expect("model").set_knobs(KnobsPatch {
        task_seconds: Some(0.3),
        image_outcomes: Some(vec![ecs_testbed::ImageOutcome {
            image: "*:server".into(),
            outcome: TaskOutcome::RunUntilStopped,
        }]),
        ..Default::default()
    });
    let td = bed.register("web", "web:1").await;
    bed.create("web", &td).send().await.expect("service");
    let refused = bed
        .ecs
        .delete_cluster()
        .cluster("prod")
        .send()
        .await
        .expect_err("a service remains");
    assert_eq!(err_code(&refused).0, "ClusterContainsServicesException");
    bed.ecs
        .update_service()
        .cluster("prod")
        .service("web")
        .desired_count(0)
        .send()
        .await
        .expect("scaled in");
    bed.ecs
        .delete_service()
        .cluster("prod")
        .service("web")
        .send()
        .await
        .expect("deleted");
    let draining = bed.ecs.delete_cluster().cluster("prod").send().await;
    assert_eq!(
        err_code(&draining.expect_err("the service is still draining")).0,
        "ClusterContainsServicesException"
    );
    bed.wait("web", "INACTIVE", |s| s.status() == Some("INACTIVE"))
        .await;

    let server = bed
        .ecs
        .register_task_definition()
        .family("server")
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("web:server")
                .build(),
        )
        .send()
        .await
        .expect("registered");
    let task = bed
        .ecs
        .run_task()
        .cluster("prod")
        .task_definition(
            server
                .task_definition()
                .and_then(|t| t.task_definition_arn())
                .expect("arn"),
        )
        .launch_type(LaunchType::Fargate)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets("subnet-12345678")
                        .assign_public_ip(AssignPublicIp::Disabled)
                        .build()
                        .expect("awsvpc"),
                )
                .build(),
        )
        .send()
        .await
        .expect("ran");
    let task_arn = task.tasks()[0].task_arn().expect("arn").to_owned();
    let refused = bed.ecs.delete_cluster().cluster("prod").send().await;
    assert_eq!(
        err_code(&refused.expect_err("a task runs")).0,
        "ClusterContainsTasksException"
    );
    bed.ecs
        .stop_task()
        .cluster("prod")
        .task(&task_arn)
        .send()
        .await
        .expect("stopped");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match bed.ecs.delete_cluster().cluster("prod").send().await {
            Ok(_) => break,
            Err(e) => {
                assert_eq!(err_code(&e).0, "ClusterContainsTasksException", "{e:?}");
                assert!(Instant::now() < deadline, "the task never stopped");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let gone = bed
        .ecs
        .list_tasks()
        .cluster("prod")
        .send()
        .await
        .expect_err("the cluster is gone");
    assert_eq!(err_code(&gone).0, "ClusterNotFoundException");
}

#[tokio::test]
async fn delete_cluster_is_refused_while_container_instances_are_registered() {
    let bed = bed().await;
    let instance = bed.container_instance("prod").await;
    let refused = bed.ecs.delete_cluster().cluster("prod").send().await;
    assert_eq!(
        err_code(&refused.expect_err("an instance is registered")).0,
        "ClusterContainsContainerInstancesException"
    );
    bed.ecs
        .deregister_container_instance()
        .cluster("prod")
        .container_instance(&instance)
        .force(true)
        .send()
        .await
        .expect("deregistered");
    bed.ecs
        .delete_cluster()
        .cluster("prod")
        .send()
        .await
        .expect("nothing holds it now");
}

/// With `requireContainerInstances`, an EC2 service's rollout waits while the cluster has no
/// container instance (the scheduler's event says why), and goes on once one is registered.
#[tokio::test]
async fn an_ec2_rollout_waits_for_a_container_instance() {
    let bed = bed().await;
    bed.proxy.model().expect("model").set_knobs(KnobsPatch {
        require_container_instances: Some(true),
        ..Default::default()
    });
    let td = bed.register("web", "web:1").await;
    bed.create("web", &td).send().await.expect("service");
    let waiting = bed
        .wait("web", "the placement event", |s| {
            s.events().iter().any(|e| {
                e.message()
                    .unwrap_or_default()
                    .ends_with("Reason: No Container Instances were found in your cluster.")
            })
        })
        .await;
    assert_eq!(waiting.running_count(), 0);
    // Twice the rollout time later it still waits.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let still = bed.describe("web").await;
    assert_eq!(
        still.deployments()[0].rollout_state(),
        Some(&ecs::types::DeploymentRolloutState::InProgress)
    );
    assert_eq!(still.running_count(), 0);
    bed.container_instance("prod").await;
    bed.wait("web", "completed on the instance", |s| {
        s.deployments()[0].rollout_state() == Some(&ecs::types::DeploymentRolloutState::Completed)
            && s.running_count() == 2
    })
    .await;
}
