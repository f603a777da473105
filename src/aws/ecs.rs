//! The ECS calls the operator makes: budgeted, counted, classified, retried where that is safe,
//! and batched where ECS allows it. Inputs are the operator's own request types (built by
//! `translate`); answers come back as the observation types in [`super::types`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ecs as ecs;

use super::batch::{BatchResult, Batcher};
use super::call::{Caller, Repeat};
use super::error::AwsError;
use super::limits::ApiCategory;
use super::sdk;
use super::types::{
    DeploymentObservation, ServiceEventObservation, ServiceObservation, TaskDefinitionRevision,
};
use crate::api::common::Tag;
use crate::api::task_definition::TaskDefinitionBody;
use crate::translate::service::{CreateServiceRequest, UpdateServiceRequest};

/// Most services one DescribeServices call may name ("You may specify up to 10 services to describe
/// in a single operation.").
pub const DESCRIBE_SERVICES_MAX: usize = 10;

/// Which revisions to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevisionStatus {
    /// Registered revisions.
    Active,
    /// Deregistered revisions.
    Inactive,
}

/// ECS, for the controllers; cloning shares the client, budgets, counters and batch queue.
#[derive(Clone)]
pub struct EcsApi {
    client: ecs::Client,
    caller: Caller,
    services: Batcher<ServiceObservation>,
}

impl EcsApi {
    /// Wraps a client; `batch_window` is how long a describe waits for others to share its call.
    pub fn new(client: ecs::Client, caller: Caller, batch_window: Duration) -> Self {
        let (fetch_client, fetch_caller) = (client.clone(), caller.clone());
        let services = Batcher::new(
            DESCRIBE_SERVICES_MAX,
            batch_window,
            Arc::new(move |cluster, names| {
                let (client, caller) = (fetch_client.clone(), fetch_caller.clone());
                Box::pin(async move { describe_services(&client, &caller, cluster, names).await })
            }),
        );
        Self {
            client,
            caller,
            services,
        }
    }

    /// Registers a revision of `request` with the operator's `extra_tags` added to the user's.
    /// Never retried after an unclear failure: see [`Repeat::Unsafe`].
    pub async fn register_task_definition(
        &self,
        request: &TaskDefinitionBody,
        extra_tags: &[Tag],
    ) -> Result<TaskDefinitionRevision, AwsError> {
        let input = sdk::register_task_definition(request, extra_tags)?;
        let output = self
            .caller
            .send(
                ApiCategory::TaskDefinitionWrite,
                "RegisterTaskDefinition",
                Repeat::Unsafe,
                || input.clone().send_with(&self.client),
            )
            .await?;
        output
            .task_definition()
            .map(revision_of)
            .ok_or_else(|| missing("RegisterTaskDefinition", "taskDefinition"))
    }

    /// A revision and its tags, or `None` when ECS does not know it ("Unable to describe task
    /// definition."; any other failure is an error, never a reason to register again).
    pub async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<Option<(TaskDefinitionRevision, Vec<Tag>)>, AwsError> {
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
                        .send()
                },
            )
            .await;
        match result {
            Ok(output) => Ok(output
                .task_definition()
                .map(|td| (revision_of(td), output.tags().iter().map(tag_of).collect()))),
            Err(e) if e.kind == super::AwsErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// ARNs of every revision of `family` with the given status, oldest first (all pages).
    pub async fn list_task_definitions(
        &self,
        family: &str,
        status: RevisionStatus,
    ) -> Result<Vec<String>, AwsError> {
        let mut arns = Vec::new();
        self.page_revisions(family, status, ecs::types::SortOrder::Asc, |arn| {
            arns.push(arn.to_owned());
            true
        })
        .await?;
        Ok(arns)
    }

    /// ARNs of the ACTIVE revisions of `family` numbered above `above`, newest first, at most
    /// `limit` of them. Pages newest first (`sort: DESC`) and stops as soon as it reaches revision
    /// `above`, so a long family history costs one call, not a walk through all of it.
    pub async fn active_revisions_above(
        &self,
        family: &str,
        above: i32,
        limit: usize,
    ) -> Result<Vec<String>, AwsError> {
        let mut arns = Vec::new();
        self.page_revisions(
            family,
            RevisionStatus::Active,
            ecs::types::SortOrder::Desc,
            |arn| {
                if revision_of_arn(arn) <= above || arns.len() >= limit {
                    return false;
                }
                arns.push(arn.to_owned());
                true
            },
        )
        .await?;
        Ok(arns)
    }

    /// Walks ListTaskDefinitions pages of one family in `sort` order, giving each ARN to `visit`
    /// until it returns false.
    async fn page_revisions(
        &self,
        family: &str,
        status: RevisionStatus,
        sort: ecs::types::SortOrder,
        mut visit: impl FnMut(&str) -> bool,
    ) -> Result<(), AwsError> {
        let status = match status {
            RevisionStatus::Active => ecs::types::TaskDefinitionStatus::Active,
            RevisionStatus::Inactive => ecs::types::TaskDefinitionStatus::Inactive,
        };
        let mut token: Option<String> = None;
        loop {
            let output = self
                .caller
                .send(
                    ApiCategory::TaskDefinitionRead,
                    "ListTaskDefinitions",
                    Repeat::Safe,
                    || {
                        self.client
                            .list_task_definitions()
                            .family_prefix(family)
                            .status(status.clone())
                            .sort(sort.clone())
                            .set_next_token(token.clone())
                            .send()
                    },
                )
                .await?;
            // familyPrefix names a whole family, but keep exactly this one to be safe.
            for arn in output
                .task_definition_arns()
                .iter()
                .filter(|arn| family_of_arn(arn) == Some(family))
            {
                if !visit(arn) {
                    return Ok(());
                }
            }
            match output.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(()),
            }
        }
    }

    /// Deregisters a revision.
    pub async fn deregister_task_definition(
        &self,
        arn: &str,
    ) -> Result<TaskDefinitionRevision, AwsError> {
        let output = self
            .caller
            .send(
                ApiCategory::TaskDefinitionWrite,
                "DeregisterTaskDefinition",
                Repeat::Safe,
                || {
                    self.client
                        .deregister_task_definition()
                        .task_definition(arn)
                        .send()
                },
            )
            .await?;
        output
            .task_definition()
            .map(revision_of)
            .ok_or_else(|| missing("DeregisterTaskDefinition", "taskDefinition"))
    }

    /// Creates a service. Safe to repeat only with a client token, which the service controller
    /// always sets.
    pub async fn create_service(
        &self,
        request: &CreateServiceRequest,
    ) -> Result<ServiceObservation, AwsError> {
        let input = sdk::create_service(request)?;
        let repeat = if request.client_token.is_some() {
            Repeat::Safe
        } else {
            Repeat::Unsafe
        };
        let output = self
            .caller
            .send(ApiCategory::ServiceWrite, "CreateService", repeat, || {
                input.clone().send_with(&self.client)
            })
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

    /// Updates a service to the state `request` describes (repeating it changes nothing more).
    pub async fn update_service(
        &self,
        request: &UpdateServiceRequest,
    ) -> Result<ServiceObservation, AwsError> {
        let input = sdk::update_service(request)?;
        let output = self
            .caller
            .send(
                ApiCategory::ServiceWrite,
                "UpdateService",
                Repeat::Safe,
                || input.clone().send_with(&self.client),
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
        let output = self
            .caller
            .send(
                ApiCategory::ServiceWrite,
                "DeleteService",
                Repeat::Safe,
                || {
                    self.client
                        .delete_service()
                        .cluster(cluster)
                        .service(service)
                        .force(force)
                        .send()
                },
            )
            .await?;
        output
            .service()
            .map(service_of)
            .ok_or_else(|| missing("DeleteService", "service"))
    }

    /// Adds or overwrites tags on a resource.
    pub async fn tag_resource(&self, arn: &str, tags: &[Tag]) -> Result<(), AwsError> {
        let tags: Vec<ecs::types::Tag> = tags
            .iter()
            .map(|t| {
                ecs::types::Tag::builder()
                    .key(&t.key)
                    .set_value(t.value.clone())
                    .build()
            })
            .collect();
        self.caller
            .send(ApiCategory::TagWrite, "TagResource", Repeat::Safe, || {
                self.client
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await
            .map(|_| ())
    }

    /// Removes tags from a resource.
    pub async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        self.caller
            .send(ApiCategory::TagWrite, "UntagResource", Repeat::Safe, || {
                self.client
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(keys.to_vec()))
                    .send()
            })
            .await
            .map(|_| ())
    }

    /// The tags of a resource.
    pub async fn list_tags(&self, arn: &str) -> Result<Vec<Tag>, AwsError> {
        let output = self
            .caller
            .send(
                ApiCategory::TagRead,
                "ListTagsForResource",
                Repeat::Safe,
                || {
                    self.client
                        .list_tags_for_resource()
                        .resource_arn(arn)
                        .send()
                },
            )
            .await?;
        Ok(output.tags().iter().map(tag_of).collect())
    }
}

async fn describe_services(
    client: &ecs::Client,
    caller: &Caller,
    cluster: String,
    names: Vec<String>,
) -> BatchResult<ServiceObservation> {
    let output = caller
        .send(
            ApiCategory::ServiceRead,
            "DescribeServices",
            Repeat::Safe,
            || {
                client
                    .describe_services()
                    .cluster(&cluster)
                    .set_services(Some(names.clone()))
                    .include(ecs::types::ServiceField::Tags)
                    .send()
            },
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
    AwsError::local(
        super::error::AwsErrorKind::Transient,
        &format!("ecs:{operation}"),
        format!("the answer had no {member}"),
    )
}

/// The revision number of a task definition ARN (0 when it has none).
pub fn revision_of_arn(arn: &str) -> i32 {
    arn.rsplit(':')
        .next()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
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

    #[test]
    fn families_of_arns() {
        assert_eq!(
            family_of_arn("arn:aws:ecs:us-east-1:1:task-definition/web-admin:3"),
            Some("web-admin")
        );
        assert_eq!(family_of_arn("nonsense"), None);
        assert_eq!(
            revision_of_arn("arn:aws:ecs:us-east-1:1:task-definition/web:12"),
            12
        );
        assert_eq!(revision_of_arn("garbage"), 0);
    }
}
