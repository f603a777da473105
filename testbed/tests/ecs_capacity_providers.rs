//! Capacity providers in the ECS model over real HTTP with the AWS SDK: creation rules (names,
//! kinds, managed scaling), Managed Instances providers that belong to a cluster, deletion
//! refusals and DELETE_IN_PROGRESS -> INACTIVE, PutClusterCapacityProviders' rules, and
//! DescribeCapacityProviders. moto replaces, deletes and associates anything.

use std::time::{Duration, Instant};

use aws_sdk_ecs as ecs;
use ecs::types::{
    AutoScalingGroupProvider, CapacityProviderStatus, CapacityProviderStrategyItem,
    CreateManagedInstancesProviderConfiguration, InstanceLaunchTemplate, ManagedScaling,
    ManagedScalingStatus, ManagedTerminationProtection,
};
use ecs_testbed::aws::ecs_model::KnobsPatch;

mod model_bed;

use model_bed::*;

/// The ARN of Auto Scaling group `name`, made in moto if it is not there yet.
async fn asg(bed: &Bed, name: &str) -> String {
    ecs_testbed::aws::query::auto_scaling_group(bed.proxy.url(), name)
        .await
        .expect("Auto Scaling group")
}

/// A provider on Auto Scaling group `name` (made in moto if it is not there yet).
async fn group(bed: &Bed, name: &str) -> AutoScalingGroupProvider {
    AutoScalingGroupProvider::builder()
        .auto_scaling_group_arn(asg(bed, name).await)
        .build()
        .expect("group")
}

fn item(provider: &str) -> CapacityProviderStrategyItem {
    CapacityProviderStrategyItem::builder()
        .capacity_provider(provider)
        .weight(1)
        .build()
        .expect("item")
}

impl Bed {
    async fn provider(&self, name: &str) -> ecs::types::CapacityProvider {
        self.ecs
            .describe_capacity_providers()
            .capacity_providers(name)
            .send()
            .await
            .expect("described")
            .capacity_providers()
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("no provider {name}"))
    }

    async fn until_provider(&self, name: &str, status: CapacityProviderStatus) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.provider(name).await.status() != Some(&status) {
            assert!(Instant::now() < deadline, "{name} never {status:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn provider_bed() -> Bed {
    let bed = bed().await;
    bed.proxy.model().expect("model").set_knobs(KnobsPatch {
        provider_seconds: Some(0.5),
        ..Default::default()
    });
    bed
}

#[tokio::test]
async fn create_capacity_provider_refuses_what_ecs_refuses() {
    let bed = provider_bed().await;
    for reserved in ["aws-spot", "ECS-pool", "fargate2"] {
        let refused = bed
            .ecs
            .create_capacity_provider()
            .name(reserved)
            .auto_scaling_group_provider(group(&bed, "a").await)
            .send()
            .await
            .expect_err("reserved prefix");
        assert_eq!(
            err_code(&refused).0,
            "InvalidParameterException",
            "{reserved}"
        );
    }
    let refused = bed
        .ecs
        .create_capacity_provider()
        .name("bad name")
        .auto_scaling_group_provider(group(&bed, "a").await)
        .send()
        .await
        .expect_err("space in the name");
    assert_eq!(err_code(&refused).0, "InvalidParameterException");
    let neither = bed
        .ecs
        .create_capacity_provider()
        .name("empty")
        .send()
        .await;
    assert_eq!(
        err_code(&neither.expect_err("no kind")).0,
        "InvalidParameterException"
    );
    let protection_alone = bed
        .ecs
        .create_capacity_provider()
        .name("protected")
        .auto_scaling_group_provider(
            AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(asg(&bed, "asg-protected").await)
                .managed_termination_protection(ManagedTerminationProtection::Enabled)
                .build()
                .expect("group"),
        )
        .send()
        .await
        .expect_err("termination protection without managed scaling");
    assert!(err_code(&protection_alone).1.contains("managed scaling"));
    let out_of_range = bed
        .ecs
        .create_capacity_provider()
        .name("wide")
        .auto_scaling_group_provider(
            AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(asg(&bed, "asg-wide").await)
                .managed_scaling(ManagedScaling::builder().target_capacity(101).build())
                .build()
                .expect("group"),
        )
        .send()
        .await
        .expect_err("targetCapacity 101");
    assert!(err_code(&out_of_range).1.contains("targetCapacity"));

    let created = bed
        .ecs
        .create_capacity_provider()
        .name("pool")
        .auto_scaling_group_provider(group(&bed, "pool").await)
        .send()
        .await
        .expect("created")
        .capacity_provider()
        .cloned()
        .expect("provider");
    assert_eq!(created.status(), Some(&CapacityProviderStatus::Active));
    let scaling = created
        .auto_scaling_group_provider()
        .and_then(|g| g.managed_scaling())
        .expect("defaults filled in");
    assert_eq!(
        (
            scaling.status(),
            scaling.target_capacity(),
            scaling.instance_warmup_period()
        ),
        (Some(&ManagedScalingStatus::Disabled), Some(100), Some(300))
    );
    let again = bed
        .ecs
        .create_capacity_provider()
        .name("pool")
        .auto_scaling_group_provider(group(&bed, "other").await)
        .send()
        .await
        .expect_err("the name is taken");
    assert_eq!(err_code(&again).0, "ClientException");
    let same_group = bed
        .ecs
        .create_capacity_provider()
        .name("pool-two")
        .auto_scaling_group_provider(group(&bed, "pool").await)
        .send()
        .await
        .expect_err("the group has a provider");
    assert!(err_code(&same_group).1.contains("already in use"));
    let same_group_by_name = bed
        .ecs
        .create_capacity_provider()
        .name("pool-three")
        .auto_scaling_group_provider(
            AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn("pool")
                .build()
                .expect("group"),
        )
        .send()
        .await
        .expect_err("the group, by its name, has a provider");
    assert!(err_code(&same_group_by_name).1.contains("already in use"));

    // The group must exist; a name stands for the group's ARN, and an ARN must be the group's.
    let pool = asg(&bed, "pool").await;
    let missing_arn = pool.replace("/pool", "/nowhere");
    // arn:aws:autoscaling:REGION:ACCOUNT:autoScalingGroup:UUID:autoScalingGroupName/pool
    let mut parts: Vec<&str> = pool.split(':').collect();
    parts[6] = "00000000-0000-0000-0000-000000000000";
    let other_group_id = parts.join(":");
    assert_ne!(other_group_id, pool);
    for missing in ["nowhere", missing_arn.as_str(), other_group_id.as_str()] {
        let refused = bed
            .ecs
            .create_capacity_provider()
            .name("ghost")
            .auto_scaling_group_provider(
                AutoScalingGroupProvider::builder()
                    .auto_scaling_group_arn(missing)
                    .build()
                    .expect("group"),
            )
            .send()
            .await
            .expect_err("no such group");
        // (Refused for the group, not for the name "pool", which has a provider.)
        assert!(
            err_code(&refused).1.contains("could not be found"),
            "{missing}: {refused:?}"
        );
        assert_eq!(
            err_code(&refused).0,
            "InvalidParameterException",
            "{missing}"
        );
    }
    let spare = asg(&bed, "spare").await;
    let by_name = bed
        .ecs
        .create_capacity_provider()
        .name("by-name")
        .auto_scaling_group_provider(
            AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn("spare")
                .build()
                .expect("group"),
        )
        .send()
        .await
        .expect("created by the group's name");
    assert_eq!(
        by_name
            .capacity_provider()
            .and_then(|p| p.auto_scaling_group_provider())
            .map(|g| g.auto_scaling_group_arn()),
        Some(spare.as_str())
    );
}

#[tokio::test]
async fn put_cluster_capacity_providers_keeps_its_rules() {
    let bed = provider_bed().await;
    bed.ecs
        .create_cluster()
        .cluster_name("batch")
        .send()
        .await
        .expect("cluster");
    for name in ["pool", "spare"] {
        bed.ecs
            .create_capacity_provider()
            .name(name)
            .auto_scaling_group_provider(group(&bed, name).await)
            .send()
            .await
            .expect("created");
    }
    let put = |cluster: &str, providers: &[&str], default: &[&str]| {
        let mut request = bed
            .ecs
            .put_cluster_capacity_providers()
            .cluster(cluster)
            .set_capacity_providers(Some(providers.iter().map(|p| (*p).to_owned()).collect()))
            .set_default_capacity_provider_strategy(Some(Vec::new()));
        for provider in default {
            request = request.default_capacity_provider_strategy(item(provider));
        }
        request.send()
    };
    let unknown = put("prod", &["nowhere"], &[])
        .await
        .expect_err("unknown provider");
    assert!(err_code(&unknown).1.contains("does not exist"));
    let outside = put("prod", &["pool"], &["spare"])
        .await
        .expect_err("default outside the list");
    assert_eq!(err_code(&outside).0, "InvalidParameterException");
    put("prod", &["pool", "spare", "FARGATE"], &["pool"])
        .await
        .expect("associated");
    let twice = put("batch", &["pool"], &[])
        .await
        .expect_err("on another cluster");
    assert!(err_code(&twice).1.contains("already associated"));

    let td = bed.register("web", "web:1").await;
    bed.ecs
        .create_service()
        .cluster("prod")
        .service_name("web")
        .task_definition(&td)
        .desired_count(1)
        .capacity_provider_strategy(item("pool"))
        .send()
        .await
        .expect("service on the pool");
    let in_use = put("prod", &["spare", "FARGATE"], &[])
        .await
        .expect_err("the service uses pool");
    assert_eq!(err_code(&in_use).0, "ResourceInUseException");
    let associated = bed
        .ecs
        .delete_capacity_provider()
        .capacity_provider("pool")
        .send()
        .await
        .expect_err("used and associated");
    assert_eq!(err_code(&associated).0, "ClientException");

    bed.ecs
        .update_service()
        .cluster("prod")
        .service("web")
        .capacity_provider_strategy(item("spare"))
        .force_new_deployment(true)
        .send()
        .await
        .expect("moved to spare");
    let still_associated = bed
        .ecs
        .delete_capacity_provider()
        .capacity_provider("pool")
        .send()
        .await
        .expect_err("still associated");
    assert!(
        err_code(&still_associated)
            .1
            .contains("associated with cluster prod")
    );
    put("prod", &["spare", "FARGATE"], &[])
        .await
        .expect("pool removed");
    let deleting = bed
        .ecs
        .delete_capacity_provider()
        .capacity_provider("pool")
        .send()
        .await
        .expect("deleted")
        .capacity_provider()
        .cloned()
        .expect("provider");
    assert_eq!(
        deleting.update_status(),
        Some(&ecs::types::CapacityProviderUpdateStatus::DeleteInProgress)
    );
    bed.until_provider("pool", CapacityProviderStatus::Inactive)
        .await;
    let reserved = bed
        .ecs
        .delete_capacity_provider()
        .capacity_provider("FARGATE")
        .send()
        .await
        .expect_err("reserved");
    assert_eq!(err_code(&reserved).0, "InvalidParameterException");
}

#[tokio::test]
async fn managed_instances_providers_belong_to_their_cluster() {
    let bed = provider_bed().await;
    bed.ecs
        .create_cluster()
        .cluster_name("managed")
        .send()
        .await
        .expect("cluster");
    let managed = CreateManagedInstancesProviderConfiguration::builder()
        .infrastructure_role_arn("arn:aws:iam::123456789012:role/ecsInfrastructureRole")
        .instance_launch_template(
            InstanceLaunchTemplate::builder()
                .ec2_instance_profile_arn("arn:aws:iam::123456789012:instance-profile/ecsInstance")
                .network_configuration(
                    ecs::types::ManagedInstancesNetworkConfiguration::builder()
                        .subnets("subnet-12345678")
                        .build(),
                )
                .build()
                .expect("template"),
        )
        .build()
        .expect("managed");
    let without_cluster = bed
        .ecs
        .create_capacity_provider()
        .name("mi")
        .managed_instances_provider(managed.clone())
        .send()
        .await
        .expect_err("cluster-scoped");
    assert_eq!(err_code(&without_cluster).0, "InvalidParameterException");
    let created = bed
        .ecs
        .create_capacity_provider()
        .name("mi")
        .cluster("managed")
        .managed_instances_provider(managed)
        .send()
        .await
        .expect("created")
        .capacity_provider()
        .cloned()
        .expect("provider");
    assert_eq!(
        created.status(),
        Some(&CapacityProviderStatus::Provisioning)
    );
    assert_eq!(created.cluster(), Some("managed"));
    bed.until_provider("mi", CapacityProviderStatus::Active)
        .await;

    let other = bed
        .ecs
        .put_cluster_capacity_providers()
        .cluster("prod")
        .capacity_providers("mi")
        .set_default_capacity_provider_strategy(Some(Vec::new()))
        .send()
        .await
        .expect_err("another cluster's provider");
    assert!(err_code(&other).1.contains("another cluster"));
    let held = bed
        .ecs
        .delete_cluster()
        .cluster("managed")
        .send()
        .await
        .expect_err("its provider remains");
    assert_eq!(
        err_code(&held).0,
        "ClusterContainsCapacityProviderException"
    );
    bed.ecs
        .delete_capacity_provider()
        .capacity_provider("mi")
        .send()
        .await
        .expect("deleted");
    bed.until_provider("mi", CapacityProviderStatus::Inactive)
        .await;
    bed.ecs
        .delete_cluster()
        .cluster("managed")
        .send()
        .await
        .expect("nothing holds it now");
}

#[tokio::test]
async fn describe_capacity_providers_pages_and_reports_missing_ones() {
    let bed = provider_bed().await;
    for i in 0..3 {
        bed.ecs
            .create_capacity_provider()
            .name(format!("pool-{i}"))
            .auto_scaling_group_provider(group(&bed, &format!("pool-{i}")).await)
            .tags(
                ecs::types::Tag::builder()
                    .key("n")
                    .value(i.to_string())
                    .build(),
            )
            .send()
            .await
            .expect("created");
    }
    let described = bed
        .ecs
        .describe_capacity_providers()
        .capacity_providers("FARGATE")
        .capacity_providers("pool-1")
        .capacity_providers("nowhere")
        .send()
        .await
        .expect("described");
    let names: Vec<&str> = described
        .capacity_providers()
        .iter()
        .filter_map(|p| p.name())
        .collect();
    assert_eq!(names, ["FARGATE", "pool-1"]);
    assert!(
        described.capacity_providers()[1].tags().is_empty(),
        "tags only on request"
    );
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
    let refused = bed
        .ecs
        .describe_capacity_providers()
        .max_results(11)
        .send()
        .await
        .expect_err("maxResults 11");
    assert_eq!(err_code(&refused).0, "InvalidParameterException");
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = bed
            .ecs
            .describe_capacity_providers()
            .max_results(2)
            .set_next_token(token.clone())
            .include(ecs::types::CapacityProviderField::Tags)
            .send()
            .await
            .expect("page");
        all.extend(
            page.capacity_providers()
                .iter()
                .filter_map(|p| p.name().map(str::to_owned)),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        all,
        ["FARGATE", "FARGATE_SPOT", "pool-0", "pool-1", "pool-2"]
    );
    // With a cluster: "only capacity providers associated with this cluster are returned".
    bed.ecs
        .put_cluster_capacity_providers()
        .cluster("prod")
        .capacity_providers("FARGATE")
        .capacity_providers("pool-1")
        .set_default_capacity_provider_strategy(Some(Vec::new()))
        .send()
        .await
        .expect("associated");
    let of_prod = bed
        .ecs
        .describe_capacity_providers()
        .cluster("prod")
        .send()
        .await
        .expect("prod's providers");
    let names: Vec<&str> = of_prod
        .capacity_providers()
        .iter()
        .filter_map(|p| p.name())
        .collect();
    assert_eq!(names, ["FARGATE", "pool-1"]);
    let unknown = bed
        .ecs
        .describe_capacity_providers()
        .cluster("nowhere")
        .send()
        .await
        .expect_err("no such cluster");
    assert_eq!(err_code(&unknown).0, "ClusterNotFoundException");
}

#[tokio::test]
async fn services_take_the_cluster_default_strategy_and_associated_providers_only() {
    let bed = provider_bed().await;
    let td = bed.register("web", "web:1").await;
    bed.ecs
        .create_capacity_provider()
        .name("pool")
        .auto_scaling_group_provider(group(&bed, "pool").await)
        .send()
        .await
        .expect("created");
    let unassociated = bed
        .ecs
        .create_service()
        .cluster("prod")
        .service_name("web")
        .task_definition(&td)
        .capacity_provider_strategy(item("pool"))
        .send()
        .await
        .expect_err("pool is not the cluster's");
    assert!(
        err_code(&unassociated)
            .1
            .contains("not associated with the cluster")
    );
    bed.ecs
        .put_cluster_capacity_providers()
        .cluster("prod")
        .capacity_providers("FARGATE")
        .capacity_providers("pool")
        .default_capacity_provider_strategy(item("pool"))
        .send()
        .await
        .expect("associated, and the default");
    let created = bed
        .ecs
        .create_service()
        .cluster("prod")
        .service_name("web")
        .task_definition(&td)
        .desired_count(1)
        .send()
        .await
        .expect("created on the default strategy")
        .service()
        .cloned()
        .expect("service");
    assert_eq!(created.launch_type(), None);
    assert_eq!(
        created.capacity_provider_strategy()[0].capacity_provider(),
        "pool"
    );
    let update = bed
        .ecs
        .update_service()
        .cluster("prod")
        .service("web")
        .capacity_provider_strategy(item("elsewhere"))
        .force_new_deployment(true)
        .send()
        .await
        .expect_err("not the cluster's");
    assert!(
        err_code(&update)
            .1
            .contains("not associated with the cluster")
    );
}
