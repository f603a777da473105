//! The ECS calls the operator makes: rate-limited, counted, classified, and batched where ECS
//! allows it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ecs as ecs;
use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

use super::batch::{BatchResult, Batcher};
use super::error::AwsError;
use super::limits::{ApiCategory, RateLimits};
use super::metrics::CallCounters;
use super::types::{
    DeploymentObservation, ServiceEventObservation, ServiceObservation, TaskDefinitionRevision,
};
use crate::api::common::Tag;

/// Most services one DescribeServices call may name.
pub const DESCRIBE_SERVICES_MAX: usize = 10;

/// Which revisions to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevisionStatus {
    /// Registered revisions.
    Active,
    /// Deregistered revisions.
    Inactive,
}

/// ECS, for the controllers; cloning shares the client, limits, counters and batch queue.
#[derive(Clone)]
pub struct EcsApi {
    client: ecs::Client,
    limits: RateLimits,
    counters: CallCounters,
    services: Batcher<ServiceObservation>,
}

impl EcsApi {
    /// Wraps a client; `batch_window` is how long a describe waits for others to share its call.
    pub fn new(
        client: ecs::Client,
        limits: RateLimits,
        counters: CallCounters,
        batch_window: Duration,
    ) -> Self {
        let fetch_client = client.clone();
        let fetch_limits = limits.clone();
        let fetch_counters = counters.clone();
        let services = Batcher::new(
            DESCRIBE_SERVICES_MAX,
            batch_window,
            Arc::new(move |cluster, names| {
                let (client, limits, counters) = (
                    fetch_client.clone(),
                    fetch_limits.clone(),
                    fetch_counters.clone(),
                );
                Box::pin(async move {
                    describe_services(&client, &limits, &counters, cluster, names).await
                })
            }),
        );
        Self {
            client,
            limits,
            counters,
            services,
        }
    }

    async fn call<T, E, F>(
        &self,
        category: ApiCategory,
        operation: &'static str,
        send: F,
    ) -> Result<T, AwsError>
    where
        F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        call(&self.limits, &self.counters, category, operation, send).await
    }

    /// Registers a revision (the input comes from `translate::sdk::register_task_definition`).
    pub async fn register_task_definition(
        &self,
        input: ecs::operation::register_task_definition::builders::RegisterTaskDefinitionInputBuilder,
    ) -> Result<TaskDefinitionRevision, AwsError> {
        let output = self
            .call(
                ApiCategory::TaskDefinitionWrite,
                "RegisterTaskDefinition",
                input.send_with(&self.client),
            )
            .await?;
        output
            .task_definition()
            .map(revision_of)
            .ok_or_else(|| missing("RegisterTaskDefinition", "taskDefinition"))
    }

    /// A revision and its tags, or `None` when ECS does not know it.
    pub async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<Option<(TaskDefinitionRevision, Vec<Tag>)>, AwsError> {
        let send = self
            .client
            .describe_task_definition()
            .task_definition(task_definition)
            .include(ecs::types::TaskDefinitionField::Tags)
            .send();
        match self
            .call(
                ApiCategory::TaskDefinitionRead,
                "DescribeTaskDefinition",
                send,
            )
            .await
        {
            Ok(output) => Ok(output
                .task_definition()
                .map(|td| (revision_of(td), output.tags().iter().map(tag_of).collect()))),
            // ECS answers ClientException for an unknown task definition.
            Err(e) if e.code.as_deref() == Some("ClientException") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// ARNs of every revision of `family` with the given status, oldest first (all pages).
    pub async fn list_task_definitions(
        &self,
        family: &str,
        status: RevisionStatus,
    ) -> Result<Vec<String>, AwsError> {
        let status = match status {
            RevisionStatus::Active => ecs::types::TaskDefinitionStatus::Active,
            RevisionStatus::Inactive => ecs::types::TaskDefinitionStatus::Inactive,
        };
        collect_pages(|next_token| {
            let send = self
                .client
                .list_task_definitions()
                .family_prefix(family)
                .status(status.clone())
                .sort(ecs::types::SortOrder::Asc)
                .set_next_token(next_token)
                .send();
            async move {
                let output = self
                    .call(ApiCategory::TaskDefinitionRead, "ListTaskDefinitions", send)
                    .await?;
                // familyPrefix matches prefixes: keep exactly this family.
                let arns = output
                    .task_definition_arns()
                    .iter()
                    .filter(|arn| family_of_arn(arn) == Some(family))
                    .cloned()
                    .collect();
                Ok((arns, output.next_token().map(str::to_owned)))
            }
        })
        .await
    }

    /// Deregisters a revision.
    pub async fn deregister_task_definition(
        &self,
        arn: &str,
    ) -> Result<TaskDefinitionRevision, AwsError> {
        let send = self
            .client
            .deregister_task_definition()
            .task_definition(arn)
            .send();
        let output = self
            .call(
                ApiCategory::TaskDefinitionWrite,
                "DeregisterTaskDefinition",
                send,
            )
            .await?;
        output
            .task_definition()
            .map(revision_of)
            .ok_or_else(|| missing("DeregisterTaskDefinition", "taskDefinition"))
    }

    /// Creates a service (the input comes from `translate::sdk::create_service`).
    pub async fn create_service(
        &self,
        input: ecs::operation::create_service::builders::CreateServiceInputBuilder,
    ) -> Result<ServiceObservation, AwsError> {
        let output = self
            .call(
                ApiCategory::ServiceWrite,
                "CreateService",
                input.send_with(&self.client),
            )
            .await?;
        output
            .service()
            .map(service_of)
            .ok_or_else(|| missing("CreateService", "service"))
    }

    /// A service, or `None` when the cluster has no such service. Concurrent calls for services of
    /// the same cluster share DescribeServices calls of up to 10 names.
    pub async fn describe_service(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<ServiceObservation>, AwsError> {
        self.services.get(cluster, service).await
    }

    /// Updates a service (the input comes from `translate::sdk::update_service`).
    pub async fn update_service(
        &self,
        input: ecs::operation::update_service::builders::UpdateServiceInputBuilder,
    ) -> Result<ServiceObservation, AwsError> {
        let output = self
            .call(
                ApiCategory::ServiceWrite,
                "UpdateService",
                input.send_with(&self.client),
            )
            .await?;
        output
            .service()
            .map(service_of)
            .ok_or_else(|| missing("UpdateService", "service"))
    }

    /// Deletes a service; `force` deletes it even while it still has desired tasks.
    pub async fn delete_service(
        &self,
        cluster: &str,
        service: &str,
        force: bool,
    ) -> Result<ServiceObservation, AwsError> {
        let send = self
            .client
            .delete_service()
            .cluster(cluster)
            .service(service)
            .force(force)
            .send();
        let output = self
            .call(ApiCategory::ServiceWrite, "DeleteService", send)
            .await?;
        output
            .service()
            .map(service_of)
            .ok_or_else(|| missing("DeleteService", "service"))
    }

    /// Adds or overwrites tags on a resource.
    pub async fn tag_resource(&self, arn: &str, tags: &[Tag]) -> Result<(), AwsError> {
        let tags = tags
            .iter()
            .map(|t| {
                ecs::types::Tag::builder()
                    .key(&t.key)
                    .set_value(t.value.clone())
                    .build()
            })
            .collect();
        let send = self
            .client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send();
        self.call(ApiCategory::Tagging, "TagResource", send)
            .await
            .map(|_| ())
    }

    /// Removes tags from a resource.
    pub async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        let send = self
            .client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send();
        self.call(ApiCategory::Tagging, "UntagResource", send)
            .await
            .map(|_| ())
    }

    /// The tags of a resource.
    pub async fn list_tags(&self, arn: &str) -> Result<Vec<Tag>, AwsError> {
        let send = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send();
        let output = self
            .call(ApiCategory::Tagging, "ListTagsForResource", send)
            .await?;
        Ok(output.tags().iter().map(tag_of).collect())
    }
}

/// Every item of a paginated read: `fetch` gets the previous page's token (`None` first) and
/// returns one page's items and the next token; an absent or empty token ends the listing.
pub(crate) async fn collect_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, AwsError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), AwsError>>,
{
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let (page, next) = fetch(token).await?;
        items.extend(page);
        match next {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(items),
        }
    }
}

/// Rate-limits, sends, counts and classifies one call.
pub(crate) async fn call<T, E, F>(
    limits: &RateLimits,
    counters: &CallCounters,
    category: ApiCategory,
    operation: &'static str,
    send: F,
) -> Result<T, AwsError>
where
    F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let service = if category == ApiCategory::AutoScaling {
        "application-autoscaling"
    } else {
        "ecs"
    };
    limits.acquire(category).await;
    match send.await {
        Ok(output) => {
            counters.record(service, operation, "ok");
            Ok(output)
        }
        Err(error) => {
            let error = AwsError::from_sdk(&format!("{service}:{operation}"), error);
            counters.record(service, operation, error.kind.as_str());
            tracing::debug!(%error, "AWS call failed");
            Err(error)
        }
    }
}

async fn describe_services(
    client: &ecs::Client,
    limits: &RateLimits,
    counters: &CallCounters,
    cluster: String,
    names: Vec<String>,
) -> BatchResult<ServiceObservation> {
    let send = client
        .describe_services()
        .cluster(&cluster)
        .set_services(Some(names.clone()))
        .send();
    let output = call(
        limits,
        counters,
        ApiCategory::ServiceRead,
        "DescribeServices",
        send,
    )
    .await?;
    let mut found = HashMap::new();
    for service in output.services() {
        let observed = service_of(service);
        // Callers may have asked by name or by ARN.
        for key in &names {
            if *key == observed.name || *key == observed.arn {
                found.insert(key.clone(), observed.clone());
            }
        }
    }
    Ok(found)
}

fn missing(operation: &str, member: &str) -> AwsError {
    AwsError {
        kind: super::error::AwsErrorKind::Transient,
        operation: format!("ecs:{operation}"),
        code: None,
        message: format!("the answer had no {member}"),
    }
}

/// The family of a task definition ARN (`...:task-definition/<family>:<revision>`).
pub fn family_of_arn(arn: &str) -> Option<&str> {
    let (_, rest) = arn.rsplit_once("task-definition/")?;
    rest.rsplit_once(':').map(|(family, _)| family)
}

fn revision_of(td: &ecs::types::TaskDefinition) -> TaskDefinitionRevision {
    TaskDefinitionRevision {
        arn: td.task_definition_arn().unwrap_or_default().to_owned(),
        family: td.family().unwrap_or_default().to_owned(),
        revision: td.revision(),
        status: td
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
    }
}

fn tag_of(tag: &ecs::types::Tag) -> Tag {
    Tag {
        key: tag.key().unwrap_or_default().to_owned(),
        value: tag.value().map(str::to_owned),
    }
}

fn service_of(service: &ecs::types::Service) -> ServiceObservation {
    ServiceObservation {
        arn: service.service_arn().unwrap_or_default().to_owned(),
        name: service.service_name().unwrap_or_default().to_owned(),
        cluster_arn: service.cluster_arn().unwrap_or_default().to_owned(),
        status: service.status().unwrap_or_default().to_owned(),
        desired_count: service.desired_count(),
        running_count: service.running_count(),
        pending_count: service.pending_count(),
        task_definition: service.task_definition().unwrap_or_default().to_owned(),
        launch_type: service.launch_type().map(|l| l.as_str().to_owned()),
        deployments: service
            .deployments()
            .iter()
            .map(|d| DeploymentObservation {
                id: d.id().unwrap_or_default().to_owned(),
                status: d.status().unwrap_or_default().to_owned(),
                task_definition: d.task_definition().unwrap_or_default().to_owned(),
                rollout_state: d.rollout_state().map(|r| r.as_str().to_owned()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_owned),
                desired_count: d.desired_count(),
                running_count: d.running_count(),
                pending_count: d.pending_count(),
                failed_tasks: d.failed_tasks(),
            })
            .collect(),
        events: service
            .events()
            .iter()
            .map(|e| ServiceEventObservation {
                id: e.id().unwrap_or_default().to_owned(),
                created_at: e.created_at().map(|t| t.secs()),
                message: e.message().unwrap_or_default().to_owned(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_are_collected_until_the_token_runs_out() {
        let pages = [
            (vec![1, 2], Some("a")),
            (vec![3], Some("")),
            (vec![99], None),
        ];
        let mut calls = Vec::new();
        let items = collect_pages(|token| {
            calls.push(token.clone());
            let index = calls.len() - 1;
            let (page, next) = pages[index].clone();
            async move { Ok::<_, AwsError>((page, next.map(str::to_owned))) }
        })
        .await
        .expect("pages");
        assert_eq!(items, [1, 2, 3], "an empty token ends the listing");
        assert_eq!(calls, [None, Some("a".to_owned())]);
    }

    #[test]
    fn families_of_arns() {
        assert_eq!(
            family_of_arn("arn:aws:ecs:us-east-1:1:task-definition/web-admin:3"),
            Some("web-admin")
        );
        assert_eq!(family_of_arn("nonsense"), None);
    }
}
