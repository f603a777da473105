//! AWS SDK answers -> the operator's own types: the reverse of [`super::sdk`], for what
//! DescribeServices reports, so controllers compare a service's settings with the spec in the
//! spec's own shape. Members DescribeServices reports only per deployment (Service Connect, volumes,
//! VPC Lattice) are read from the PRIMARY deployment.

use aws_sdk_ecs::types as et;

use crate::api::common::{LogConfiguration, LogDriver, Secret, Tag};
use crate::api::service as svc;

/// One of our string enums from the SDK's (by the AWS spelling; `None` for values we do not know).
fn parse<T>(value: Option<&str>, parse: fn(&str) -> Option<T>) -> Option<T> {
    value.and_then(parse)
}

fn strings(values: &[String]) -> Vec<String> {
    values.to_vec()
}

fn list<S, T>(values: &[S], convert: impl Fn(&S) -> T) -> Option<Vec<T>> {
    (!values.is_empty()).then(|| values.iter().map(convert).collect())
}

/// A tag.
pub fn tag(tag: &et::Tag) -> Tag {
    Tag {
        key: tag.key().unwrap_or_default().to_owned(),
        value: tag.value().map(str::to_owned),
    }
}

/// The settings of a service as DescribeServices reports them, in the spec's shape.
pub fn service_settings(service: &et::Service) -> svc::ServiceSettings {
    let primary = service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"));
    svc::ServiceSettings {
        launch_type: parse(
            service.launch_type().map(|l| l.as_str()),
            svc::LaunchType::parse,
        ),
        capacity_provider_strategy: list(service.capacity_provider_strategy(), |i| {
            svc::CapacityProviderStrategyItem {
                capacity_provider: i.capacity_provider().to_owned(),
                weight: Some(i.weight()),
                base: Some(i.base()),
            }
        }),
        platform_version: service.platform_version().map(str::to_owned),
        scheduling_strategy: parse(
            service.scheduling_strategy().map(|s| s.as_str()),
            svc::SchedulingStrategy::parse,
        ),
        deployment_configuration: service
            .deployment_configuration()
            .map(deployment_configuration),
        deployment_controller: service
            .deployment_controller()
            .and_then(|c| svc::DeploymentControllerType::parse(c.r#type().as_str()))
            .map(|r#type| svc::DeploymentController { r#type }),
        network_configuration: service.network_configuration().map(network_configuration),
        load_balancers: list(service.load_balancers(), |lb| svc::LoadBalancer {
            target_group_arn: lb.target_group_arn().map(str::to_owned),
            load_balancer_name: lb.load_balancer_name().map(str::to_owned),
            container_name: lb.container_name().map(str::to_owned),
            container_port: lb.container_port(),
            advanced_configuration: lb.advanced_configuration().map(|a| {
                svc::AdvancedConfiguration {
                    alternate_target_group_arn: a.alternate_target_group_arn().map(str::to_owned),
                    production_listener_rule: a.production_listener_rule().map(str::to_owned),
                    test_listener_rule: a.test_listener_rule().map(str::to_owned),
                    role_arn: a.role_arn().map(str::to_owned),
                }
            }),
        }),
        service_registries: list(service.service_registries(), |r| svc::ServiceRegistry {
            registry_arn: r.registry_arn().map(str::to_owned),
            port: r.port(),
            container_name: r.container_name().map(str::to_owned),
            container_port: r.container_port(),
        }),
        health_check_grace_period_seconds: service.health_check_grace_period_seconds(),
        placement_constraints: list(service.placement_constraints(), |c| {
            svc::PlacementConstraint {
                r#type: parse(
                    c.r#type().map(|t| t.as_str()),
                    svc::PlacementConstraintType::parse,
                ),
                expression: c.expression().map(str::to_owned),
            }
        }),
        placement_strategy: list(service.placement_strategy(), |p| svc::PlacementStrategy {
            r#type: parse(
                p.r#type().map(|t| t.as_str()),
                svc::PlacementStrategyType::parse,
            ),
            field: p.field().map(str::to_owned),
        }),
        enable_execute_command: Some(service.enable_execute_command()),
        enable_ecs_managed_tags: Some(service.enable_ecs_managed_tags()),
        propagate_tags: parse(
            service.propagate_tags().map(|p| p.as_str()),
            svc::PropagateTags::parse,
        ),
        tags: list(service.tags(), tag),
        service_connect_configuration: primary
            .and_then(|d| d.service_connect_configuration())
            .map(service_connect),
        availability_zone_rebalancing: parse(
            service.availability_zone_rebalancing().map(|a| a.as_str()),
            svc::AvailabilityZoneRebalancing::parse,
        ),
        role: service.role_arn().map(str::to_owned),
        volume_configurations: primary.and_then(|d| list(d.volume_configurations(), volume)),
        vpc_lattice_configurations: primary.and_then(|d| {
            list(d.vpc_lattice_configurations(), |v| {
                svc::VpcLatticeConfiguration {
                    role_arn: v.role_arn().to_owned(),
                    target_group_arn: v.target_group_arn().to_owned(),
                    port_name: v.port_name().to_owned(),
                    advanced_configuration: v.advanced_configuration().map(|a| {
                        svc::VpcLatticeAdvancedConfiguration {
                            alternate_target_group_arn: a
                                .alternate_target_group_arn()
                                .map(str::to_owned),
                            production_listener_rule: a
                                .production_listener_rule()
                                .map(str::to_owned),
                            test_listener_rule: a.test_listener_rule().map(str::to_owned),
                        }
                    }),
                }
            })
        }),
    }
}

fn deployment_configuration(config: &et::DeploymentConfiguration) -> svc::DeploymentConfiguration {
    svc::DeploymentConfiguration {
        maximum_percent: config.maximum_percent(),
        minimum_healthy_percent: config.minimum_healthy_percent(),
        deployment_circuit_breaker: config.deployment_circuit_breaker().map(|b| {
            svc::DeploymentCircuitBreaker {
                enable: b.enable(),
                rollback: b.rollback(),
                reset_on_healthy_task: b.reset_on_healthy_task(),
                threshold_configuration: b.threshold_configuration().and_then(|t| {
                    Some(svc::ThresholdConfiguration {
                        r#type: svc::ThresholdType::parse(t.r#type().as_str())?,
                        value: t.value(),
                    })
                }),
            }
        }),
        alarms: config.alarms().map(|a| svc::DeploymentAlarms {
            alarm_names: strings(a.alarm_names()),
            enable: a.enable(),
            rollback: a.rollback(),
        }),
        strategy: parse(
            config.strategy().map(|s| s.as_str()),
            svc::DeploymentStrategy::parse,
        ),
        bake_time_in_minutes: config.bake_time_in_minutes(),
        lifecycle_hooks: list(config.lifecycle_hooks(), |h| svc::DeploymentLifecycleHook {
            target_type: parse(
                h.target_type().map(|t| t.as_str()),
                svc::DeploymentLifecycleHookTargetType::parse,
            ),
            hook_target_arn: h.hook_target_arn().map(str::to_owned),
            role_arn: h.role_arn().map(str::to_owned),
            hook_details: h.hook_details().map(document_json),
            lifecycle_stages: list(h.lifecycle_stages(), |s| {
                svc::DeploymentLifecycleHookStage::parse(s.as_str())
            })
            .map(|stages| stages.into_iter().flatten().collect()),
            timeout_configuration: h.timeout_configuration().map(|t| {
                svc::DeploymentLifecycleHookTimeoutConfiguration {
                    timeout_in_minutes: t.timeout_in_minutes(),
                    action: parse(
                        t.action().map(|a| a.as_str()),
                        svc::DeploymentLifecycleHookAction::parse,
                    ),
                }
            }),
        }),
        linear_configuration: config
            .linear_configuration()
            .map(|l| svc::LinearConfiguration {
                step_percent: l.step_percent(),
                step_bake_time_in_minutes: l.step_bake_time_in_minutes(),
            }),
        canary_configuration: config
            .canary_configuration()
            .map(|c| svc::CanaryConfiguration {
                canary_percent: c.canary_percent(),
                canary_bake_time_in_minutes: c.canary_bake_time_in_minutes(),
            }),
        early_success_criteria: config.early_success_criteria().map(|e| {
            svc::DeploymentEarlySuccessCriteria {
                enable: e.enable(),
                healthy_percent: e.healthy_percent(),
                source_service_revision_cleanup: parse(
                    e.source_service_revision_cleanup().map(|c| c.as_str()),
                    svc::ServiceRevisionCleanup::parse,
                ),
            }
        }),
    }
}

/// The SDK's document type as JSON (a lifecycle hook's `hookDetails`, compared with the spec's).
fn document_json(document: &aws_smithy_types::Document) -> serde_json::Value {
    use aws_smithy_types::{Document, Number};
    use serde_json::Value;
    match document {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => Value::from(*f),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(document_json).collect()),
        Document::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), document_json(v)))
                .collect(),
        ),
    }
}

fn network_configuration(config: &et::NetworkConfiguration) -> svc::NetworkConfiguration {
    svc::NetworkConfiguration {
        awsvpc_configuration: config
            .awsvpc_configuration()
            .map(|v| svc::AwsVpcConfiguration {
                subnets: strings(v.subnets()),
                security_groups: (!v.security_groups().is_empty())
                    .then(|| strings(v.security_groups())),
                assign_public_ip: parse(
                    v.assign_public_ip().map(|a| a.as_str()),
                    svc::AssignPublicIp::parse,
                ),
            }),
    }
}

fn log_configuration(config: &et::LogConfiguration) -> Option<LogConfiguration> {
    Some(LogConfiguration {
        log_driver: LogDriver::parse(config.log_driver().as_str())?,
        options: config
            .options()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        secret_options: list(config.secret_options(), |s| Secret {
            name: s.name().to_owned(),
            value_from: s.value_from().to_owned(),
        }),
    })
}

fn service_connect(config: &et::ServiceConnectConfiguration) -> svc::ServiceConnectConfiguration {
    svc::ServiceConnectConfiguration {
        enabled: config.enabled(),
        namespace: config.namespace().map(str::to_owned),
        services: list(config.services(), |s| svc::ServiceConnectService {
            port_name: s.port_name().to_owned(),
            discovery_name: s.discovery_name().map(str::to_owned),
            client_aliases: list(s.client_aliases(), |a| svc::ServiceConnectClientAlias {
                port: a.port(),
                dns_name: a.dns_name().map(str::to_owned),
                test_traffic_rules: a.test_traffic_rules().and_then(|r| {
                    let header = r.header()?;
                    Some(svc::ServiceConnectTestTrafficRules {
                        header: svc::ServiceConnectTestTrafficHeaderRules {
                            name: header.name().to_owned(),
                            value: header.value().map(|v| {
                                svc::ServiceConnectTestTrafficHeaderMatchRules {
                                    exact: v.exact().to_owned(),
                                }
                            }),
                        },
                    })
                }),
            }),
            ingress_port_override: s.ingress_port_override(),
            timeout: s.timeout().map(|t| svc::TimeoutConfiguration {
                idle_timeout_seconds: t.idle_timeout_seconds(),
                per_request_timeout_seconds: t.per_request_timeout_seconds(),
            }),
            tls: s.tls().map(|t| svc::ServiceConnectTlsConfiguration {
                issuer_certificate_authority: svc::ServiceConnectTlsCertificateAuthority {
                    aws_pca_authority_arn: t
                        .issuer_certificate_authority()
                        .and_then(|a| a.aws_pca_authority_arn())
                        .map(str::to_owned),
                },
                kms_key: t.kms_key().map(str::to_owned),
                role_arn: t.role_arn().map(str::to_owned),
            }),
        }),
        log_configuration: config.log_configuration().and_then(log_configuration),
    }
}

fn volume(config: &et::ServiceVolumeConfiguration) -> svc::ServiceVolumeConfiguration {
    svc::ServiceVolumeConfiguration {
        name: config.name().to_owned(),
        managed_ebs_volume: config.managed_ebs_volume().map(|v| {
            svc::ServiceManagedEbsVolumeConfiguration {
                encrypted: v.encrypted(),
                kms_key_id: v.kms_key_id().map(str::to_owned),
                volume_type: v.volume_type().map(str::to_owned),
                size_in_gib: v.size_in_gib(),
                snapshot_id: v.snapshot_id().map(str::to_owned),
                volume_initialization_rate: v.volume_initialization_rate(),
                iops: v.iops(),
                throughput: v.throughput(),
                tag_specifications: list(v.tag_specifications(), |t| svc::EbsTagSpecification {
                    resource_type: svc::EbsResourceType::Volume,
                    tags: list(t.tags(), tag),
                    propagate_tags: parse(
                        t.propagate_tags().map(|p| p.as_str()),
                        svc::PropagateTags::parse,
                    ),
                }),
                role_arn: v.role_arn().to_owned(),
                filesystem_type: parse(
                    v.filesystem_type().map(|f| f.as_str()),
                    svc::TaskFilesystemType::parse,
                ),
            }
        }),
    }
}
