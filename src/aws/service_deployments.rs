//! Service deployments (the lifecycle view of every deployment strategy): listed to tell a
//! rollback, described (batched) while a BLUE_GREEN, LINEAR or CANARY deployment runs, continued
//! past a paused hook, stopped and rolled back.

use aws_sdk_ecs as ecs;

use super::batch::BatchResult;
use super::call::{Caller, Repeat, collect_pages};
use super::ecs::{EcsApi, ForgetAround};
use super::error::AwsError;
use super::limits::ApiCategory;
use super::types::{LifecycleHookObservation, ServiceDeploymentObservation};

impl EcsApi {
    /// Every service deployment of a service (ListServiceDeployments, all pages): BLUE_GREEN,
    /// LINEAR and CANARY deployments report their lifecycle only here, and a rolled-back
    /// deployment of any strategy stays ROLLBACK_* here after ECS forgot it in DescribeServices.
    pub async fn service_deployments(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Vec<ServiceDeploymentObservation>, AwsError> {
        collect_pages("ListServiceDeployments", |next_token| async move {
            let output = self
                .caller
                .send(
                    ApiCategory::ServiceDeploymentRead,
                    "ListServiceDeployments",
                    Repeat::Safe,
                    || {
                        self.client
                            .list_service_deployments()
                            .cluster(cluster)
                            .service(service)
                            .max_results(100)
                            .set_next_token(next_token.clone())
                            .send()
                    },
                )
                .await?;
            let found = output
                .service_deployments()
                .iter()
                .map(|brief| ServiceDeploymentObservation {
                    arn: brief
                        .service_deployment_arn()
                        .unwrap_or_default()
                        .to_owned(),
                    status: brief
                        .status()
                        .map(|s| s.as_str().into())
                        .unwrap_or_default(),
                    status_reason: brief.status_reason().map(str::to_owned),
                    created_at: brief.created_at().map(|t| t.secs()).unwrap_or_default(),
                    ..Default::default()
                })
                .collect::<Vec<_>>();
            Ok((found, output.next_token().map(str::to_owned)))
        })
        .await
    }

    /// One service deployment with its lifecycle stage, hook runs and traffic weights, or `None`
    /// when ECS does not know it. Concurrent calls share DescribeServiceDeployments calls of up
    /// to 20 ARNs (any cluster: the call takes ARNs only).
    pub async fn describe_service_deployment(
        &self,
        arn: &str,
    ) -> Result<Option<ServiceDeploymentObservation>, AwsError> {
        self.service_deployments.get("", arn).await
    }

    /// Acts on a paused (AWAITING_ACTION) lifecycle hook: CONTINUE moves the deployment to its
    /// next stage, ROLLBACK rolls it back. ECS publishes no throttling bucket for it; it is
    /// budgeted as a service write.
    pub async fn continue_service_deployment(
        &self,
        arn: &str,
        hook_id: &str,
        rollback: bool,
    ) -> Result<(), AwsError> {
        use ecs::types::DeploymentLifecycleHookAction as Action;
        let _fresh = ForgetAround::new(self, arn);
        let action = if rollback {
            Action::Rollback
        } else {
            Action::Continue
        };
        self.caller
            .send(
                ApiCategory::ServiceWrite,
                "ContinueServiceDeployment",
                Repeat::Safe,
                || {
                    self.client
                        .continue_service_deployment()
                        .service_deployment_arn(arn)
                        .hook_id(hook_id)
                        .action(action.clone())
                        .send()
                },
            )
            .await?;
        Ok(())
    }

    /// Stops a service deployment and rolls it back to the service revision that ran before
    /// (StopServiceDeployment, stopType ROLLBACK). Budgeted as a service write.
    pub async fn roll_back_service_deployment(&self, arn: &str) -> Result<(), AwsError> {
        let _fresh = ForgetAround::new(self, arn);
        self.caller
            .send(
                ApiCategory::ServiceWrite,
                "StopServiceDeployment",
                Repeat::Safe,
                || {
                    self.client
                        .stop_service_deployment()
                        .service_deployment_arn(arn)
                        .stop_type(ecs::types::StopServiceDeploymentStopType::Rollback)
                        .send()
                },
            )
            .await?;
        Ok(())
    }
}

/// One DescribeServiceDeployments call; ARNs ECS reports as failures (MISSING) are left out.
pub(super) async fn describe(
    client: &ecs::Client,
    caller: &Caller,
    arns: Vec<String>,
) -> BatchResult<ServiceDeploymentObservation> {
    let output = caller
        .send(
            ApiCategory::ServiceDeploymentRead,
            "DescribeServiceDeployments",
            Repeat::Safe,
            || {
                client
                    .describe_service_deployments()
                    .set_service_deployment_arns(Some(arns.clone()))
                    .send()
            },
        )
        .await?;
    Ok(output
        .service_deployments()
        .iter()
        .map(|d| {
            let observed = service_deployment_of(d);
            (observed.arn.clone(), observed)
        })
        .collect())
}

fn service_deployment_of(d: &ecs::types::ServiceDeployment) -> ServiceDeploymentObservation {
    let target = d.target_service_revision();
    ServiceDeploymentObservation {
        arn: d.service_deployment_arn().unwrap_or_default().to_owned(),
        status: d.status().map(|s| s.as_str().into()).unwrap_or_default(),
        status_reason: d.status_reason().map(str::to_owned),
        created_at: d.created_at().map(|t| t.secs()).unwrap_or_default(),
        lifecycle_stage: d.lifecycle_stage().map(|s| s.as_str().to_owned()),
        hooks: d
            .lifecycle_hook_details()
            .iter()
            .map(|h| LifecycleHookObservation {
                id: h.hook_id().unwrap_or_default().to_owned(),
                target_type: h
                    .target_type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                target_arn: h.target_arn().map(str::to_owned),
                status: h
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                expires_at: h.expires_at().map(|t| t.secs()),
            })
            .collect(),
        production_traffic_percent: target.and_then(|t| t.requested_production_traffic_weight()),
        test_traffic_percent: target.and_then(|t| t.requested_test_traffic_weight()),
    }
}
