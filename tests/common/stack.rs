//! The whole stack for end-to-end tests: a namespace on the suite's cluster, moto behind the
//! recording AWS proxy with its ECS model, and the three controllers of the operator.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_ecs as ecs;
use ecs_operator::api::{EcsScalingPolicy, EcsService, EcsTaskDefinition};
use ecs_operator::aws::{AwsClients, AwsSettings};
use ecs_operator::controller::{Context, ControllerConfig, registry};
use ecs_testbed::{AwsProxy, Knobs, MotoServer, ProxyConfig};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// The stack (see the module).
pub struct Bed {
    pub cluster: super::Cluster,
    pub client: Client,
    pub proxy: AwsProxy,
    pub ecs: ecs::Client,
    pub ctx: Option<Arc<Context>>,
    stop: Vec<tokio::sync::oneshot::Sender<()>>,
    controllers: Vec<tokio::task::JoinHandle<()>>,
    resync: Duration,
    /// Whether the controllers start with `--read-only`.
    pub read_only: bool,
    /// The label selector the controllers start with (`--selector`).
    pub selector: Option<String>,
    /// The controllers' `--default-deletion-policy`.
    pub default_deletion_policy: ecs_operator::api::DeletionPolicy,
    /// The controllers' `--adopt-same-owner`.
    pub adopt_same_owner: bool,
    /// The controllers' `--require-namespace-role`.
    pub require_namespace_role: bool,
}

impl Bed {
    pub async fn start() -> Self {
        Self::with(super::cluster().await, Duration::from_secs(300)).await
    }

    pub async fn with_resync(resync: Duration) -> Self {
        Self::with(super::cluster().await, resync).await
    }

    /// The stack with the controllers in `--read-only` mode.
    pub async fn read_only() -> Self {
        Self::with_mode(super::cluster().await, Duration::from_secs(300), true).await
    }

    pub async fn with(cluster: super::Cluster, resync: Duration) -> Self {
        Self::with_mode(cluster, resync, false).await
    }

    /// The stack with the controllers reconciling only objects `selector` matches.
    pub async fn with_selector(selector: &str) -> Self {
        let mut bed = Self::prepared(super::cluster().await, Duration::from_secs(300), false).await;
        bed.selector = Some(selector.to_owned());
        bed.start_controllers().await;
        bed
    }

    /// The stack with the controllers' `--default-deletion-policy` set.
    pub async fn with_default_deletion_policy(
        policy: ecs_operator::api::DeletionPolicy,
        resync: Duration,
    ) -> Self {
        let mut bed = Self::prepared(super::cluster().await, resync, false).await;
        bed.default_deletion_policy = policy;
        bed.start_controllers().await;
        bed
    }

    /// The stack with the controllers' `--require-namespace-role`.
    pub async fn requiring_namespace_role() -> Self {
        let mut bed = Self::prepared(super::cluster().await, Duration::from_secs(300), false).await;
        bed.require_namespace_role = true;
        bed.start_controllers().await;
        bed
    }

    async fn with_mode(cluster: super::Cluster, resync: Duration, read_only: bool) -> Self {
        let mut bed = Self::prepared(cluster, resync, read_only).await;
        bed.start_controllers().await;
        bed
    }

    /// The stack before any controller starts.
    async fn prepared(cluster: super::Cluster, resync: Duration, read_only: bool) -> Self {
        let moto = MotoServer::shared().expect("moto");
        let proxy = AwsProxy::start(ProxyConfig {
            upstream: moto.url().to_owned(),
            account_id: Some(ecs_testbed::next_account_id()),
            knobs: Knobs {
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
            .load()
            .await;
        let ecs = ecs::Client::new(&config);
        for name in ["prod", "my-cluster"] {
            // Fargate capacity providers are available to all accounts "and only need to be
            // associated with a cluster to be used" (PutClusterCapacityProviders).
            ecs.create_cluster()
                .cluster_name(name)
                .capacity_providers("FARGATE")
                .capacity_providers("FARGATE_SPOT")
                .send()
                .await
                .expect("cluster");
        }
        Self {
            client: cluster.client.clone(),
            cluster,
            proxy,
            ecs,
            ctx: None,
            stop: Vec::new(),
            controllers: Vec::new(),
            resync,
            read_only,
            selector: None,
            default_deletion_policy: ecs_operator::api::DeletionPolicy::Delete,
            adopt_same_owner: false,
            require_namespace_role: false,
        }
    }

    /// Starts a set of controllers with the bed's settings (a second call starts a second set
    /// beside the first, like a second install: change `selector` between the calls).
    pub async fn start_controllers(&mut self) {
        let aws = AwsClients::connect(&AwsSettings {
            region: Some("us-east-1".into()),
            endpoint_url: Some(self.proxy.url().to_owned()),
            max_attempts: 2,
            static_credentials: Some(("testing".into(), "testing".into())),
            budgets: BTreeMap::new(),
            batch_window: Duration::from_millis(20),
        })
        .await;
        let config = ControllerConfig {
            namespace: Some(self.cluster.namespace.clone()),
            resync: self.resync,
            max_backoff: Duration::from_secs(2),
            poll: Duration::from_millis(300),
            concurrency: 32,
            read_only: self.read_only,
            selector: self.selector.clone(),
            default_deletion_policy: self.default_deletion_policy,
            adopt_same_owner: self.adopt_same_owner,
            require_namespace_role: self.require_namespace_role,
            operator_namespace: self.cluster.namespace.clone(),
            namespace_ttl: Duration::from_millis(500),
            wait_event_after: Duration::from_secs(2),
        };
        let ctx = Arc::new(Context::new(
            self.client.clone(),
            aws,
            config,
            "ecs-operator-test",
        ));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        use futures::FutureExt;
        let shutdown = async move {
            let _ = stopped.await;
        }
        .boxed()
        .shared();
        self.controllers.extend(
            registry::run_all(&ctx, &shutdown)
                .into_iter()
                .map(tokio::spawn),
        );
        self.ctx = Some(ctx);
        self.stop.push(stop);
    }

    pub async fn stop_controllers(&mut self) {
        for stop in self.stop.drain(..) {
            let _ = stop.send(());
        }
        for handle in self.controllers.drain(..) {
            tokio::time::timeout(Duration::from_secs(30), handle)
                .await
                .expect("controller stops")
                .expect("no panic");
        }
    }

    pub fn ns(&self) -> &str {
        &self.cluster.namespace
    }

    pub fn services(&self) -> Api<EcsService> {
        Api::namespaced(self.client.clone(), self.ns())
    }

    pub fn policies(&self) -> Api<EcsScalingPolicy> {
        Api::namespaced(self.client.clone(), self.ns())
    }

    pub fn tds(&self) -> Api<EcsTaskDefinition> {
        Api::namespaced(self.client.clone(), self.ns())
    }

    pub async fn create_td(&self, name: &str, image: &str) {
        let object: EcsTaskDefinition = serde_json::from_value(json!({
            "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition",
            "metadata": {"name": name},
            "spec": {"family": name, "containerDefinitions": [{"name": "app", "image": image, "memory": 128}]}
        }))
        .expect("object");
        self.tds()
            .create(&PostParams::default(), &object)
            .await
            .expect("created");
    }

    pub async fn set_image(&self, td: &str, image: &str) {
        self.tds()
            .patch(
                td,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"containerDefinitions": [{"name": "app", "image": image, "memory": 128}]}})),
            )
            .await
            .expect("image");
    }

    pub async fn create_service(&self, name: &str, spec: Value) -> EcsService {
        self.create_service_object(json!({"metadata": {"name": name}, "spec": spec}))
            .await
    }

    pub async fn create_service_object(&self, mut object: Value) -> EcsService {
        object["apiVersion"] = json!("ecs.operator.dev/v1alpha1");
        object["kind"] = json!("EcsService");
        let object: EcsService = serde_json::from_value(object).expect("object");
        self.services()
            .create(&PostParams::default(), &object)
            .await
            .expect("created")
    }

    /// Registers an EC2 (bridge) task definition of one container.
    pub async fn register(&self, family: &str, image: &str) -> String {
        let container = ecs::types::ContainerDefinition::builder()
            .name("app")
            .image(image)
            .memory(128)
            .build();
        Self::arn_of(
            self.ecs
                .register_task_definition()
                .family(family)
                .container_definitions(container),
        )
        .await
    }

    /// Registers an awsvpc task definition validated for FARGATE (what Fargate services need).
    pub async fn register_fargate(&self, family: &str, image: &str) -> String {
        let container = ecs::types::ContainerDefinition::builder()
            .name("app")
            .image(image)
            .build();
        Self::arn_of(
            self.ecs
                .register_task_definition()
                .family(family)
                .network_mode(ecs::types::NetworkMode::Awsvpc)
                .requires_compatibilities(ecs::types::Compatibility::Fargate)
                .cpu("256")
                .memory("512")
                .container_definitions(container),
        )
        .await
    }

    async fn arn_of(
        request: ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder,
    ) -> String {
        request
            .send()
            .await
            .expect("registered")
            .task_definition()
            .and_then(|t| t.task_definition_arn())
            .expect("arn")
            .to_owned()
    }

    pub async fn wait_for(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&EcsService) -> bool,
    ) -> EcsService {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(object) = self.services().get(name).await {
                if check(&object) {
                    return object;
                }
                if Instant::now() > deadline {
                    panic!("{name}: never {what}; last status: {:#?}", object.status);
                }
            } else if Instant::now() > deadline {
                panic!("{name}: never {what}; object missing");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Makes the proxy answer the next `operation` (`service:Operation`) with an AWS error, once.
    pub fn refuse_once(&self, operation: &str, status: u16, code: &str, message: &str) {
        self.proxy
            .set_faults(vec![ecs_testbed::aws::proxy::FaultRule {
                operation: operation.into(),
                probability: None,
                every_nth: None,
                max_times: Some(1),
                fault: ecs_testbed::aws::proxy::Fault::AwsError {
                    status,
                    code: code.into(),
                    message: message.into(),
                },
            }]);
    }

    pub async fn wait_for_gone(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.services().get_opt(name).await.expect("read").is_some() {
            assert!(Instant::now() < deadline, "{name}: never deleted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_ready(&self, name: &str) -> EcsService {
        self.wait_for(name, "Ready", |o| {
            condition(o, "Ready").0 == "True"
                && o.status
                    .as_ref()
                    .and_then(|s| s.reconcile.observed_generation)
                    == o.metadata.generation
        })
        .await
    }

    pub async fn wait_td_ready(&self, name: &str, generation: i64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let td = self.tds().get(name).await.expect("td");
            let ready = td.status.as_ref().is_some_and(|s| {
                s.reconcile.observed_generation == Some(generation)
                    && s.reconcile
                        .conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
            });
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name} never Ready at generation {generation}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn events(&self, name: &str) -> Vec<(String, String, String)> {
        super::events_of(&self.client, self.ns(), name).await
    }

    /// The Events of `name` once one satisfies `check`.
    pub async fn wait_event(
        &self,
        name: &str,
        check: impl Fn(&(String, String, String)) -> bool,
    ) -> Vec<(String, String, String)> {
        super::wait_event(&self.client, self.ns(), name, check).await
    }

    pub fn requests(&self, operation: &str) -> Vec<Value> {
        self.proxy
            .requests()
            .into_iter()
            .filter(|r| r.operation == operation)
            .map(|r| r.body)
            .collect()
    }

    pub async fn describe(&self, cluster: &str, name: &str) -> ecs::types::Service {
        self.ecs
            .describe_services()
            .cluster(cluster)
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
}

/// (status, reason, message) of a condition.
pub fn condition(object: &EcsService, type_: &str) -> (String, String, String) {
    object
        .status
        .as_ref()
        .and_then(|s| s.reconcile.conditions.iter().find(|c| c.type_ == type_))
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
        .unwrap_or_default()
}

/// An EC2 service spec in cluster prod, with `extra`.
pub fn ec2(extra: Value) -> Value {
    let mut spec = json!({"cluster": "prod", "launchType": "EC2", "desiredCount": 2});
    for (k, v) in extra.as_object().expect("object") {
        spec[k] = v.clone();
    }
    spec
}

/// Every member of `expected` is in `actual` with the same value.
pub fn assert_contains(actual: &Value, expected: &Value, path: &str) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for (key, value) in e {
                let found = a
                    .get(key)
                    .unwrap_or_else(|| panic!("{path}.{key} missing in {actual}"));
                assert_contains(found, value, &format!("{path}.{key}"));
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{path}");
            for (i, (x, y)) in a.iter().zip(e).enumerate() {
                assert_contains(x, y, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(
            super::numbers_as_f64(actual),
            super::numbers_as_f64(expected),
            "{path}"
        ),
    }
}
