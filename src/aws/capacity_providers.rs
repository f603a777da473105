//! The ECS capacity provider calls (DescribeCapacityProviders, CreateCapacityProvider,
//! UpdateCapacityProvider, DeleteCapacityProvider) and the clusters a provider is associated
//! with (ListClusters, DescribeClusters), which a deletion names. Budgeted, counted and
//! classified like every call of [`EcsApi`].

use aws_sdk_ecs as ecs;

use super::call::{Repeat, collect_pages};
use super::ecs::{EcsApi, missing};
use super::error::AwsError;
use super::limits::ApiCategory;
use super::sdk;
use super::types::CapacityProviderObservation;
use crate::translate::capacity_provider::{
    CreateCapacityProviderRequest, UpdateCapacityProviderRequest,
};

/// Most clusters one DescribeClusters call may name ("Up to 100 cluster names or full cluster
/// ARN entries").
const DESCRIBE_CLUSTERS_MAX: usize = 100;

impl EcsApi {
    /// The capacity provider `name` with its tags, or `None` when ECS has none of that name.
    pub async fn describe_capacity_provider(
        &self,
        name: &str,
    ) -> Result<Option<CapacityProviderObservation>, AwsError> {
        let output = self
            .caller
            .send(
                ApiCategory::CapacityProviderRead,
                "DescribeCapacityProviders",
                Repeat::Safe,
                || {
                    self.client
                        .describe_capacity_providers()
                        .capacity_providers(name)
                        .include(ecs::types::CapacityProviderField::Tags)
                        .send()
                },
            )
            .await?;
        Ok(output.capacity_providers().first().map(provider_of))
    }

    /// Creates a capacity provider (a repeat is refused as "already exists", which the
    /// controller reads back by name and owner tags).
    pub async fn create_capacity_provider(
        &self,
        request: &CreateCapacityProviderRequest,
    ) -> Result<CapacityProviderObservation, AwsError> {
        let input = sdk::create_capacity_provider(request)?;
        let output = self
            .caller
            .send(
                ApiCategory::CapacityProviderModify,
                "CreateCapacityProvider",
                Repeat::Unsafe,
                || input.clone().send_with(&self.client),
            )
            .await?;
        output
            .capacity_provider()
            .map(provider_of)
            .ok_or_else(|| missing("CreateCapacityProvider", "capacityProvider"))
    }

    /// Sets what `request` names.
    pub async fn update_capacity_provider(
        &self,
        request: &UpdateCapacityProviderRequest,
    ) -> Result<CapacityProviderObservation, AwsError> {
        let input = sdk::update_capacity_provider(request)?;
        let output = self
            .caller
            .send(
                ApiCategory::CapacityProviderModify,
                "UpdateCapacityProvider",
                Repeat::Safe,
                || input.clone().send_with(&self.client),
            )
            .await?;
        output
            .capacity_provider()
            .map(provider_of)
            .ok_or_else(|| missing("UpdateCapacityProvider", "capacityProvider"))
    }

    /// Deletes a capacity provider (of `cluster`, for a Managed Instances one).
    pub async fn delete_capacity_provider(
        &self,
        name: &str,
        cluster: Option<&str>,
    ) -> Result<(), AwsError> {
        self.caller
            .send(
                ApiCategory::CapacityProviderModify,
                "DeleteCapacityProvider",
                Repeat::Safe,
                || {
                    self.client
                        .delete_capacity_provider()
                        .capacity_provider(name)
                        .set_cluster(cluster.map(str::to_owned))
                        .send()
                },
            )
            .await
            .map(|_| ())
    }

    /// The capacity providers of `cluster` (associated with it, and the Managed Instances
    /// providers that belong to it), 10 to a page ("The maximum number of results ... between 1
    /// and 10").
    pub async fn cluster_capacity_providers(
        &self,
        cluster: &str,
    ) -> Result<Vec<CapacityProviderObservation>, AwsError> {
        collect_pages("DescribeCapacityProviders", |next_token| async move {
            let output = self
                .caller
                .send(
                    ApiCategory::CapacityProviderRead,
                    "DescribeCapacityProviders",
                    Repeat::Safe,
                    || {
                        self.client
                            .describe_capacity_providers()
                            .cluster(cluster)
                            .include(ecs::types::CapacityProviderField::Tags)
                            .max_results(10)
                            .set_next_token(next_token.clone())
                            .send()
                    },
                )
                .await?;
            Ok((
                output
                    .capacity_providers()
                    .iter()
                    .map(provider_of)
                    .collect(),
                output.next_token().map(str::to_owned),
            ))
        })
        .await
    }

    /// The names of the clusters that list `provider` among their capacity providers.
    pub async fn clusters_with_provider(&self, provider: &str) -> Result<Vec<String>, AwsError> {
        let arns = collect_pages("ListClusters", |next_token| async move {
            let output = self
                .caller
                .send(
                    ApiCategory::ClusterRead,
                    "ListClusters",
                    Repeat::Safe,
                    || {
                        self.client
                            .list_clusters()
                            .max_results(100)
                            .set_next_token(next_token.clone())
                            .send()
                    },
                )
                .await?;
            Ok((
                output.cluster_arns().to_vec(),
                output.next_token().map(str::to_owned),
            ))
        })
        .await?;
        let mut holding = Vec::new();
        for chunk in arns.chunks(DESCRIBE_CLUSTERS_MAX) {
            let output = self
                .caller
                .send(
                    ApiCategory::ClusterRead,
                    "DescribeClusters",
                    Repeat::Safe,
                    || {
                        self.client
                            .describe_clusters()
                            .set_clusters(Some(chunk.to_vec()))
                            .send()
                    },
                )
                .await?;
            holding.extend(
                output
                    .clusters()
                    .iter()
                    .filter(|c| c.status() == Some("ACTIVE"))
                    .filter(|c| c.capacity_providers().iter().any(|p| p == provider))
                    .filter_map(|c| c.cluster_name().map(str::to_owned)),
            );
        }
        Ok(holding)
    }
}

fn provider_of(provider: &ecs::types::CapacityProvider) -> CapacityProviderObservation {
    CapacityProviderObservation {
        arn: provider
            .capacity_provider_arn()
            .unwrap_or_default()
            .to_owned(),
        name: provider.name().unwrap_or_default().to_owned(),
        kind: provider.r#type().map(|t| t.as_str().to_owned()),
        status: provider
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        update_status: provider.update_status().map(|s| s.as_str().to_owned()),
        update_status_reason: provider.update_status_reason().map(str::to_owned),
        cluster: provider.cluster().map(str::to_owned),
        auto_scaling_group_arn: provider
            .auto_scaling_group_provider()
            .map(|g| g.auto_scaling_group_arn().to_owned()),
        tags: provider.tags().iter().map(super::answers::tag).collect(),
    }
}
