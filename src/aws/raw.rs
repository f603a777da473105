//! Reads whose answer is wanted as AWS wrote it: the JSON body, not the SDK's types. The CRDs
//! spell members as the AWS APIs do, so a described resource becomes a spec by selecting members
//! rather than by converting every SDK type back by hand; `import` and the adoption of a task
//! definition revision by its content read this way. Only reads live here (Application Auto
//! Scaling's are in `autoscaling.rs`).

use std::sync::{Arc, Mutex};

use aws_sdk_ecs as ecs;
use ecs::config::interceptors::AfterDeserializationInterceptorContextRef;
use ecs::config::{ConfigBag, Intercept, RuntimeComponents};
use serde_json::Value;

use super::call::Repeat;
use super::ecs::{DESCRIBE_SERVICES_MAX, EcsApi};
use super::error::AwsError;
use super::limits::ApiCategory;

/// Keeps the body of the last answer of the call it is attached to.
#[derive(Clone, Debug, Default)]
pub(super) struct RawBody(Arc<Mutex<Option<Vec<u8>>>>);

impl RawBody {
    /// The kept body as JSON (`Null` when there is none).
    pub(super) fn json(&self) -> Value {
        self.0
            .lock()
            .ok()
            .and_then(|body| body.as_ref().and_then(|b| serde_json::from_slice(b).ok()))
            .unwrap_or(Value::Null)
    }
}

impl Intercept for RawBody {
    fn name(&self) -> &'static str {
        "RawBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        // Non-streaming answers are read whole before deserialisation, so the bytes are here.
        if let Some(bytes) = context.response().body().bytes()
            && let Ok(mut kept) = self.0.lock()
        {
            *kept = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// One page of an Application Auto Scaling listing (its members, and the next token).
pub(super) fn page(body: &Value, member: &str) -> (Vec<Value>, Option<String>) {
    (
        body.get(member)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        body.get("NextToken")
            .and_then(Value::as_str)
            .map(str::to_owned),
    )
}

impl EcsApi {
    /// `DescribeTaskDefinition` (with tags) as ECS wrote it: `{"taskDefinition": ..., "tags":
    /// ...}`, or `None` when ECS does not know the revision.
    pub async fn describe_task_definition_raw(
        &self,
        task_definition: &str,
    ) -> Result<Option<Value>, AwsError> {
        let raw = RawBody::default();
        let result = self
            .caller
            .send(
                ApiCategory::TaskDefinitionRead,
                "DescribeTaskDefinition",
                Repeat::Safe,
                || {
                    self.client
                        .describe_task_definition()
                        .task_definition(task_definition)
                        .include(ecs::types::TaskDefinitionField::Tags)
                        .customize()
                        .interceptor(raw.clone())
                        .send()
                },
            )
            .await;
        match result {
            Ok(_) => Ok(Some(raw.json())),
            Err(e) if e.kind == super::AwsErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `DescribeClusters` of one cluster with its settings, configuration and tags, as ECS wrote
    /// it; `None` when ECS reports it missing.
    pub async fn describe_cluster_raw(&self, cluster: &str) -> Result<Option<Value>, AwsError> {
        let raw = RawBody::default();
        self.caller
            .send(
                ApiCategory::ClusterRead,
                "DescribeClusters",
                Repeat::Safe,
                || {
                    self.client
                        .describe_clusters()
                        .clusters(cluster)
                        .include(ecs::types::ClusterField::Settings)
                        .include(ecs::types::ClusterField::Configurations)
                        .include(ecs::types::ClusterField::Tags)
                        .customize()
                        .interceptor(raw.clone())
                        .send()
                },
            )
            .await?;
        Ok(raw
            .json()
            .get("clusters")
            .and_then(Value::as_array)
            .and_then(|c| c.first().cloned()))
    }

    /// `DescribeServices` (with tags) of every named service in `cluster`, as ECS wrote them (in
    /// calls of ten, the most one takes).
    pub async fn describe_services_raw(
        &self,
        cluster: &str,
        services: &[String],
    ) -> Result<Vec<Value>, AwsError> {
        let mut described = Vec::new();
        for chunk in services.chunks(DESCRIBE_SERVICES_MAX) {
            let raw = RawBody::default();
            self.caller
                .send(
                    ApiCategory::ServiceRead,
                    "DescribeServices",
                    Repeat::Safe,
                    || {
                        self.client
                            .describe_services()
                            .cluster(cluster)
                            .set_services(Some(chunk.to_vec()))
                            .include(ecs::types::ServiceField::Tags)
                            .customize()
                            .interceptor(raw.clone())
                            .send()
                    },
                )
                .await?;
            if let Some(services) = raw.json().get("services").and_then(Value::as_array) {
                described.extend(services.iter().cloned());
            }
        }
        Ok(described)
    }
}
