//! The test bed every model test starts from: a proxy with the ECS model in front of the shared
//! moto, its own account, SDK clients without retries, and a cluster named `prod`.
#![allow(dead_code)] // each test file uses its own part

use std::time::{Duration, Instant};

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_ecs as ecs;
use aws_sdk_ecs::error::ProvideErrorMetadata;
use ecs::types::{Compatibility, ContainerDefinition, LaunchType, NetworkMode};
use ecs_testbed::{AwsProxy, MotoServer, ProxyConfig};

pub struct Bed {
    pub proxy: AwsProxy,
    pub ecs: ecs::Client,
    pub aas: aas::Client,
    pub account: String,
}

pub async fn bed() -> Bed {
    bed_with(false).await
}

pub async fn bed_with(passthrough: bool) -> Bed {
    let moto = MotoServer::shared().expect("moto");
    let account = ecs_testbed::next_account_id();
    let proxy = AwsProxy::start(ProxyConfig {
        upstream: moto.url().to_owned(),
        account_id: Some(account.clone()),
        passthrough,
        knobs: ecs_testbed::Knobs {
            rollout_seconds: 1.0,
            drain_seconds: 1.0,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .expect("proxy");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(proxy.url())
        .credentials_provider(ecs::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let bed = Bed {
        ecs: ecs::Client::new(&config),
        aas: aas::Client::new(&config),
        account,
        proxy,
    };
    bed.ecs
        .create_cluster()
        .cluster_name("prod")
        .capacity_providers("FARGATE")
        .capacity_providers("FARGATE_SPOT")
        .send()
        .await
        .expect("cluster");
    bed
}

impl Bed {
    pub async fn register(&self, family: &str, image: &str) -> String {
        self.ecs
            .register_task_definition()
            .family(family)
            .container_definitions(
                ecs::types::ContainerDefinition::builder()
                    .name("app")
                    .image(image)
                    .memory(128)
                    .build(),
            )
            .send()
            .await
            .expect("registered")
            .task_definition()
            .and_then(|t| t.task_definition_arn())
            .expect("arn")
            .to_owned()
    }

    pub fn create(
        &self,
        name: &str,
        task_definition: &str,
    ) -> ecs::operation::create_service::builders::CreateServiceFluentBuilder {
        self.ecs
            .create_service()
            .cluster("prod")
            .service_name(name)
            .task_definition(task_definition)
            .desired_count(2)
            .launch_type(LaunchType::Ec2)
    }

    pub async fn describe(&self, name: &str) -> ecs::types::Service {
        self.ecs
            .describe_services()
            .cluster("prod")
            .services(name)
            .include(ecs::types::ServiceField::Tags)
            .send()
            .await
            .expect("described")
            .services()
            .first()
            .cloned()
            .expect("service")
    }

    /// Polls until `check` holds for the service (or panics after 30 s).
    pub async fn wait(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&ecs::types::Service) -> bool,
    ) -> ecs::types::Service {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let service = self.describe(name).await;
            if check(&service) {
                return service;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: never {what}: {service:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub fn err_code<E: ProvideErrorMetadata>(error: &E) -> (String, String) {
    (
        error.code().unwrap_or_default().to_owned(),
        error.message().unwrap_or_default().to_owned(),
    )
}

/// Launches an EC2 instance in moto (through the proxy, so in the bed's account) for a container
/// instance to stand on; moto's RegisterContainerInstance wants a real instance id.
pub async fn ec2_instance(bed: &Bed) -> String {
    let (status, body) = ecs_testbed::aws::query::call(
        bed.proxy.url(),
        "ec2",
        "Action=RunInstances&Version=2016-11-15&ImageId=ami-12c6146b&MinCount=1&MaxCount=1",
    )
    .await
    .expect("RunInstances");
    assert_eq!(status, 200, "{body}");
    ecs_testbed::aws::query::xml_value(&body, "instanceId").expect("an instance")
}

impl Bed {
    /// Registers a container instance (on a new moto EC2 instance) in `cluster`; its ARN.
    pub async fn container_instance(&self, cluster: &str) -> String {
        let instance_id = ec2_instance(self).await;
        self.ecs
            .register_container_instance()
            .cluster(cluster)
            .instance_identity_document(format!(
                r#"{{"instanceId": "{instance_id}", "region": "us-east-1"}}"#
            ))
            .send()
            .await
            .expect("registered")
            .container_instance()
            .and_then(|c| c.container_instance_arn())
            .expect("arn")
            .to_owned()
    }
}

impl Bed {
    /// A Fargate task definition with an essential `app` and, optionally, a non-essential sidecar.
    pub async fn register_fargate(&self, family: &str, app: &str, sidecar: Option<&str>) -> String {
        let mut request = self
            .ecs
            .register_task_definition()
            .family(family)
            .requires_compatibilities(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu("256")
            .memory("512")
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image(app)
                    .essential(true)
                    .build(),
            );
        if let Some(image) = sidecar {
            request = request.container_definitions(
                ContainerDefinition::builder()
                    .name("sidecar")
                    .image(image)
                    .essential(false)
                    .build(),
            );
        }
        request
            .send()
            .await
            .expect("registered")
            .task_definition()
            .and_then(|t| t.task_definition_arn())
            .expect("arn")
            .to_owned()
    }
}

/// Whether the service's one deployment is COMPLETED.
/// A deployment configuration with the circuit breaker on, rolling back or not.
pub fn circuit_breaker(rollback: bool) -> ecs::types::DeploymentConfiguration {
    ecs::types::DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            ecs::types::DeploymentCircuitBreaker::builder()
                .enable(true)
                .rollback(rollback)
                .build(),
        )
        .build()
}

pub fn completed(service: &ecs::types::Service) -> bool {
    service.deployments().len() == 1
        && service.deployments()[0].rollout_state()
            == Some(&ecs::types::DeploymentRolloutState::Completed)
}
