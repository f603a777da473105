//! The ECS cluster calls (DescribeClusters, CreateCluster, UpdateCluster,
//! PutClusterCapacityProviders, DeleteCluster) and the listing of a cluster's services that a
//! deletion names. Budgeted, counted and classified like every call of [`EcsApi`].

use aws_sdk_ecs as ecs;

use super::call::{Repeat, collect_pages};
use super::ecs::{EcsApi, missing};
use super::error::AwsError;
use super::limits::ApiCategory;
use super::sdk;
use super::types::ClusterObservation;
use crate::api::service::CapacityProviderStrategyItem;
use crate::translate::cluster::{
    CONTAINER_INSIGHTS, CreateClusterRequest, PutClusterCapacityProvidersRequest,
    UpdateClusterRequest,
};

/// Most results one ListServices page may hold ("This value can be between 1 and 100.").
const LIST_SERVICES_PAGE: i32 = 100;

impl EcsApi {
    /// The cluster named `cluster` with its settings and tags, or `None` when ECS has no such
    /// cluster (DescribeClusters reports it as a MISSING failure, not an error).
    pub async fn describe_cluster(
        &self,
        cluster: &str,
    ) -> Result<Option<ClusterObservation>, AwsError> {
        let output = self
            .caller
            .send(
                ApiCategory::ClusterRead,
                "DescribeClusters",
                Repeat::Safe,
                || {
                    self.client
                        .describe_clusters()
                        .clusters(cluster)
                        .include(ecs::types::ClusterField::Settings)
                        .include(ecs::types::ClusterField::Tags)
                        .send()
                },
            )
            .await?;
        Ok(output.clusters().first().map(cluster_of))
    }

    /// Creates a cluster. ECS answers a repeat with the same arguments with the same cluster, so
    /// it is safe to repeat.
    pub async fn create_cluster(
        &self,
        request: &CreateClusterRequest,
    ) -> Result<ClusterObservation, AwsError> {
        let input = sdk::create_cluster(request)?;
        let output = self
            .caller
            .send(
                ApiCategory::ClusterModify,
                "CreateCluster",
                Repeat::Safe,
                || input.clone().send_with(&self.client),
            )
            .await?;
        output
            .cluster()
            .map(cluster_of)
            .ok_or_else(|| missing("CreateCluster", "cluster"))
    }

    /// Sets the settings, configuration and Service Connect default `request` names.
    pub async fn update_cluster(
        &self,
        request: &UpdateClusterRequest,
    ) -> Result<ClusterObservation, AwsError> {
        let input = sdk::update_cluster(request)?;
        let output = self
            .caller
            .send(
                ApiCategory::ClusterModify,
                "UpdateCluster",
                Repeat::Safe,
                || input.clone().send_with(&self.client),
            )
            .await?;
        output
            .cluster()
            .map(cluster_of)
            .ok_or_else(|| missing("UpdateCluster", "cluster"))
    }

    /// Replaces the cluster's capacity providers and default strategy.
    pub async fn put_cluster_capacity_providers(
        &self,
        request: &PutClusterCapacityProvidersRequest,
    ) -> Result<ClusterObservation, AwsError> {
        let input = sdk::put_cluster_capacity_providers(request)?;
        let output = self
            .caller
            .send(
                ApiCategory::ClusterModify,
                "PutClusterCapacityProviders",
                Repeat::Safe,
                || input.clone().send_with(&self.client),
            )
            .await?;
        output
            .cluster()
            .map(cluster_of)
            .ok_or_else(|| missing("PutClusterCapacityProviders", "cluster"))
    }

    /// Deletes a cluster (ECS refuses while it holds services, tasks, container instances or
    /// Managed Instances capacity providers).
    pub async fn delete_cluster(&self, cluster: &str) -> Result<(), AwsError> {
        self.caller
            .send(
                ApiCategory::ClusterModify,
                "DeleteCluster",
                Repeat::Safe,
                || self.client.delete_cluster().cluster(cluster).send(),
            )
            .await
            .map(|_| ())
    }

    /// The ARNs of every service in `cluster` (ACTIVE and DRAINING).
    pub async fn list_services_in(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        collect_pages("ListServices", |next_token| async move {
            let output = self
                .caller
                .send(
                    ApiCategory::ServiceRead,
                    "ListServices",
                    Repeat::Safe,
                    || {
                        self.client
                            .list_services()
                            .cluster(cluster)
                            .max_results(LIST_SERVICES_PAGE)
                            .set_next_token(next_token.clone())
                            .send()
                    },
                )
                .await?;
            Ok((
                output.service_arns().to_vec(),
                output.next_token().map(str::to_owned),
            ))
        })
        .await
    }
}

fn cluster_of(cluster: &ecs::types::Cluster) -> ClusterObservation {
    ClusterObservation {
        arn: cluster.cluster_arn().unwrap_or_default().to_owned(),
        name: cluster.cluster_name().unwrap_or_default().to_owned(),
        status: cluster.status().unwrap_or_default().to_owned(),
        container_insights: cluster
            .settings()
            .iter()
            .find(|s| s.name().map(|n| n.as_str()) == Some(CONTAINER_INSIGHTS))
            .and_then(|s| s.value().map(str::to_owned)),
        capacity_providers: cluster.capacity_providers().to_vec(),
        default_strategy: cluster
            .default_capacity_provider_strategy()
            .iter()
            .map(|item| CapacityProviderStrategyItem {
                capacity_provider: item.capacity_provider().to_owned(),
                weight: Some(item.weight()),
                base: Some(item.base()),
            })
            .collect(),
        tags: cluster.tags().iter().map(super::answers::tag).collect(),
        registered_container_instances: cluster.registered_container_instances_count(),
        running_tasks: cluster.running_tasks_count(),
        pending_tasks: cluster.pending_tasks_count(),
        active_services: cluster.active_services_count(),
    }
}
