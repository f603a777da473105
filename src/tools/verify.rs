//! `ecs-operator verify`: what AWS would refuse when the files are applied, found before they are,
//! from reads the operator is already allowed. Each finding names the object and the field.
//!
//! The checks are pure ([`check`]) over [`Facts`], the few AWS reads [`gather`] makes for what
//! the files name: referenced clusters exist and are ACTIVE, capacity providers exist and are
//! associated with the cluster, task definition revisions named literally exist, a task
//! definition suits the launch type, network mode and load balancers of its service or task,
//! and a scaling policy's service exists. Reads only.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::aws::AwsClients;
use crate::render::{self, SourceObject};

/// Something AWS would refuse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The object's kind.
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The field's path (`spec.cluster`).
    pub field: String,
    /// What AWS would do and what to change.
    pub message: String,
}

/// A cluster as verify read it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterFacts {
    /// ACTIVE, PROVISIONING, INACTIVE, ...
    pub status: String,
    /// Its capacity providers.
    pub capacity_providers: Vec<String>,
}

/// A task definition revision as verify read it (or as the files will register it).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskDefinitionFacts {
    /// ACTIVE or INACTIVE.
    pub status: String,
    /// The launch types it runs on (`compatibilities` as ECS derived it, or the file's
    /// `requiresCompatibilities`); `None` when unknown.
    pub compatibilities: Option<Vec<String>>,
    /// Its network mode (`bridge` when it sets none).
    pub network_mode: String,
    /// Its containers and their container ports.
    pub containers: Vec<(String, Vec<i64>)>,
}

/// What AWS holds of what the files name; `None` where AWS has nothing of that name.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// By the name or ARN the files use.
    pub clusters: BTreeMap<String, Option<ClusterFacts>>,
    /// By the reference the files use (family, family:revision or ARN).
    pub task_definitions: BTreeMap<String, Option<TaskDefinitionFacts>>,
    /// By `service/<cluster>/<service>`: the service's status.
    pub services: BTreeMap<String, Option<String>>,
    /// By name: whether the capacity provider exists.
    pub capacity_providers: BTreeMap<String, bool>,
}

/// The AWS reads the files need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Needs {
    /// Cluster names or ARNs.
    pub clusters: BTreeSet<String>,
    /// Task definition references.
    pub task_definitions: BTreeSet<String>,
    /// `service/<cluster>/<service>`.
    pub services: BTreeSet<String>,
    /// Capacity provider names.
    pub capacity_providers: BTreeSet<String>,
}

/// The objects of the files, for references between them.
struct Files<'a> {
    objects: &'a [SourceObject],
}

impl<'a> Files<'a> {
    fn find(&self, kind: &str, namespace: &str, name: &str) -> Option<&'a SourceObject> {
        self.objects
            .iter()
            .find(|o| o.kind == kind && o.namespace == namespace && o.name == name)
    }

    /// The ECS cluster name an object's `cluster` / `clusterRef` names (`None`: a reference to an
    /// EcsCluster outside the files).
    fn cluster_of(&self, object: &SourceObject) -> Option<(String, Option<&'a SourceObject>)> {
        let spec = &object.value["spec"];
        if let Some(cluster) = spec["cluster"].as_str() {
            return Some((cluster.to_owned(), None));
        }
        let reference = spec["clusterRef"]["name"].as_str()?;
        let cluster = self.find("EcsCluster", &object.namespace, reference)?;
        let name = cluster.value["spec"]["clusterName"]
            .as_str()
            .unwrap_or(&cluster.name)
            .to_owned();
        Some((name, Some(cluster)))
    }

    /// The task definition an object's `taskDefinition` / `taskDefinitionRef` names: a literal
    /// reference, or the EcsTaskDefinition of the files.
    fn task_definition_of(&self, object: &SourceObject) -> Option<TaskDefinitionSource<'a>> {
        let spec = &object.value["spec"];
        if let Some(literal) = spec["taskDefinition"].as_str() {
            return Some(TaskDefinitionSource::Literal(literal.to_owned()));
        }
        let reference = spec["taskDefinitionRef"]["name"].as_str()?;
        self.find("EcsTaskDefinition", &object.namespace, reference)
            .map(TaskDefinitionSource::File)
    }
}

enum TaskDefinitionSource<'a> {
    Literal(String),
    File(&'a SourceObject),
}

const FARGATE_PROVIDERS: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];

/// What [`check`] will look up in AWS for `objects`.
pub fn needs(objects: &[SourceObject]) -> Needs {
    let files = Files { objects };
    let mut needs = Needs::default();
    for object in objects {
        let spec = &object.value["spec"];
        match object.kind.as_str() {
            "EcsService" | "EcsTask" => {
                if let Some((cluster, _)) = files.cluster_of(object) {
                    needs.clusters.insert(cluster);
                }
                if let Some(TaskDefinitionSource::Literal(reference)) =
                    files.task_definition_of(object)
                {
                    needs.task_definitions.insert(reference);
                }
            }
            "EcsScalingPolicy" => {
                if let Some(id) = spec["resourceId"].as_str() {
                    needs.services.insert(id.to_owned());
                }
            }
            "EcsCluster" => {
                for provider in spec["capacityProviders"].as_array().into_iter().flatten() {
                    let Some(provider) = provider.as_str() else {
                        continue;
                    };
                    let defined = objects.iter().any(|o| {
                        o.kind == "EcsCapacityProvider"
                            && o.value["spec"]["name"].as_str().unwrap_or(&o.name) == provider
                    });
                    if !FARGATE_PROVIDERS.contains(&provider) && !defined {
                        needs.capacity_providers.insert(provider.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    needs
}

/// Reads what `needs` names.
pub async fn gather(aws: &AwsClients, needs: &Needs) -> Result<Facts, crate::aws::AwsError> {
    let mut facts = Facts::default();
    for cluster in &needs.clusters {
        let described = aws.ecs.describe_cluster_raw(cluster).await?;
        facts.clusters.insert(
            cluster.clone(),
            described.map(|c| ClusterFacts {
                status: c["status"].as_str().unwrap_or_default().to_owned(),
                capacity_providers: strings(&c["capacityProviders"]),
            }),
        );
    }
    for reference in &needs.task_definitions {
        let described = aws.ecs.describe_task_definition_raw(reference).await?;
        facts.task_definitions.insert(
            reference.clone(),
            described.map(|answer| described_task_definition(&answer["taskDefinition"])),
        );
    }
    for id in &needs.services {
        let status = match id.split('/').collect::<Vec<_>>()[..] {
            ["service", cluster, service] => aws
                .ecs
                .describe_services_raw(cluster, &[service.to_owned()])
                .await
                .or_else(|e| match e.kind {
                    // A missing cluster: no service either.
                    crate::aws::AwsErrorKind::NotFound
                    | crate::aws::AwsErrorKind::MissingDependency => Ok(Vec::new()),
                    _ => Err(e),
                })?
                .first()
                .and_then(|s| s["status"].as_str().map(str::to_owned)),
            _ => None,
        };
        facts.services.insert(id.clone(), status);
    }
    for provider in &needs.capacity_providers {
        let found = aws.ecs.describe_capacity_provider(provider).await?;
        facts
            .capacity_providers
            .insert(provider.clone(), found.is_some());
    }
    Ok(facts)
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The facts of a revision as `DescribeTaskDefinition` wrote it.
pub fn described_task_definition(described: &Value) -> TaskDefinitionFacts {
    TaskDefinitionFacts {
        status: described["status"].as_str().unwrap_or_default().to_owned(),
        compatibilities: described["compatibilities"]
            .is_array()
            .then(|| strings(&described["compatibilities"])),
        ..body_facts(described)
    }
}

/// The facts of a task definition body (a spec or a described revision).
fn body_facts(body: &Value) -> TaskDefinitionFacts {
    TaskDefinitionFacts {
        status: "ACTIVE".into(),
        compatibilities: body["requiresCompatibilities"]
            .is_array()
            .then(|| strings(&body["requiresCompatibilities"])),
        network_mode: body["networkMode"].as_str().unwrap_or("bridge").to_owned(),
        containers: body["containerDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_owned(),
                    c["portMappings"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p["containerPort"].as_i64())
                        .collect(),
                )
            })
            .collect(),
    }
}

/// Every finding: the objects the operator would refuse (as `render` finds them), then what AWS
/// would refuse given `facts`.
pub fn check(objects: &[SourceObject], facts: &Facts) -> Vec<Finding> {
    let files = Files { objects };
    let rendered = render::render(objects);
    let mut findings: Vec<Finding> = rendered
        .errors
        .iter()
        .map(|e| Finding {
            kind: e.kind.clone(),
            namespace: e.namespace.clone(),
            name: e.name.clone(),
            field: e.error.path.clone(),
            message: e.error.message.clone(),
        })
        .collect();
    for object in objects {
        let mut found = |field: &str, message: String| {
            findings.push(Finding {
                kind: object.kind.clone(),
                namespace: object.namespace.clone(),
                name: object.name.clone(),
                field: format!("spec.{field}"),
                message,
            });
        };
        let spec = &object.value["spec"];
        match object.kind.as_str() {
            "EcsService" | "EcsTask" => check_workload(&files, object, facts, &mut found),
            "EcsScalingPolicy" => {
                if let Some(id) = spec["resourceId"].as_str()
                    && let Some(status) = facts.services.get(id)
                    && status.as_deref() != Some("ACTIVE")
                {
                    found(
                        "resourceId",
                        format!(
                            "no ACTIVE ECS service {id}: RegisterScalableTarget would fail; create the service first or correct the id"
                        ),
                    );
                }
            }
            "EcsCluster" => {
                for (i, provider) in strings(&spec["capacityProviders"]).iter().enumerate() {
                    if facts.capacity_providers.get(provider) == Some(&false) {
                        found(
                            &format!("capacityProviders[{i}]"),
                            format!(
                                "no capacity provider named {provider}: PutClusterCapacityProviders would fail; create it (an EcsCapacityProvider) or remove it"
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    findings
}

/// The checks of an EcsService or EcsTask: its cluster, its task definition, and how they fit.
fn check_workload(
    files: &Files<'_>,
    object: &SourceObject,
    facts: &Facts,
    found: &mut impl FnMut(&str, String),
) {
    let spec = &object.value["spec"];
    // The cluster: it exists and is ACTIVE, and holds the strategy's providers.
    let cluster = files.cluster_of(object);
    let cluster_field = if spec["cluster"].is_string() {
        "cluster"
    } else {
        "clusterRef"
    };
    let providers: Option<Vec<String>> = match &cluster {
        Some((name, None)) => match facts.clusters.get(name) {
            Some(Some(live)) if live.status == "ACTIVE" => Some(live.capacity_providers.clone()),
            Some(Some(live)) => {
                found(
                    cluster_field,
                    format!(
                        "ECS cluster {name} is {}, not ACTIVE: ECS would refuse to place anything in it",
                        live.status
                    ),
                );
                None
            }
            Some(None) => {
                found(
                    cluster_field,
                    format!(
                        "no ECS cluster named {name}: ECS would answer ClusterNotFoundException; create it (an EcsCluster) or correct the name"
                    ),
                );
                None
            }
            None => None,
        },
        // An EcsCluster of the files: the providers it will have.
        Some((_, Some(file))) => file.value["spec"]["capacityProviders"]
            .is_array()
            .then(|| strings(&file.value["spec"]["capacityProviders"])),
        None => None,
    };
    let strategy = spec["capacityProviderStrategy"].as_array();
    if let (Some(providers), Some(strategy)) = (&providers, strategy) {
        for (i, item) in strategy.iter().enumerate() {
            let Some(provider) = item["capacityProvider"].as_str() else {
                continue;
            };
            if !providers.iter().any(|p| p == provider) {
                found(
                    &format!("capacityProviderStrategy[{i}].capacityProvider"),
                    format!(
                        "capacity provider {provider} is not associated with the cluster (it has {}): ECS would refuse the strategy; add it to the cluster's capacityProviders",
                        if providers.is_empty() {
                            "none".to_owned()
                        } else {
                            providers.join(", ")
                        }
                    ),
                );
            }
        }
    }

    // The task definition: it exists, and suits the launch type and the network.
    let td_field = if spec["taskDefinition"].is_string() {
        "taskDefinition"
    } else {
        "taskDefinitionRef"
    };
    let td = match files.task_definition_of(object) {
        Some(TaskDefinitionSource::Literal(reference)) => {
            match facts.task_definitions.get(&reference) {
                Some(Some(td)) if td.status == "ACTIVE" => Some(td.clone()),
                Some(Some(_)) => {
                    found(
                        td_field,
                        format!(
                            "task definition {reference} is deregistered (INACTIVE): ECS would refuse to start new tasks from it; register a new revision"
                        ),
                    );
                    None
                }
                Some(None) => {
                    found(
                        td_field,
                        format!(
                            "no task definition {reference}: ECS would answer that it cannot find it; register it or correct the reference"
                        ),
                    );
                    None
                }
                None => None,
            }
        }
        Some(TaskDefinitionSource::File(file)) => Some(body_facts(&file.value["spec"])),
        None => None,
    };
    let Some(td) = td else {
        return;
    };
    let launch_type = spec["launchType"].as_str().map(str::to_owned).or_else(|| {
        let strategy = strategy?;
        let fargate = strategy
            .iter()
            .all(|i| FARGATE_PROVIDERS.contains(&i["capacityProvider"].as_str().unwrap_or("")));
        (fargate && !strategy.is_empty()).then(|| "FARGATE".to_owned())
    });
    if let (Some(launch_type), Some(compatibilities)) = (&launch_type, &td.compatibilities)
        && !compatibilities.iter().any(|c| c == launch_type)
    {
        found(
            if spec["launchType"].is_string() {
                "launchType"
            } else {
                "capacityProviderStrategy"
            },
            format!(
                "the task definition is compatible with {} only, not {launch_type}: ECS would refuse it; add {launch_type} to its requiresCompatibilities or run it on {}",
                compatibilities.join(", "),
                compatibilities.join(" or ")
            ),
        );
    }
    if launch_type.as_deref() == Some("FARGATE") && td.network_mode != "awsvpc" {
        found(
            td_field,
            format!(
                "the task definition's networkMode is {}: Fargate runs only awsvpc task definitions",
                td.network_mode
            ),
        );
    }
    let awsvpc_configured = spec["networkConfiguration"]["awsvpcConfiguration"].is_object();
    if td.network_mode == "awsvpc" && !awsvpc_configured {
        found(
            "networkConfiguration",
            "the task definition uses networkMode awsvpc: ECS requires networkConfiguration.awsvpcConfiguration (subnets, security groups)".to_owned(),
        );
    }
    if td.network_mode != "awsvpc" && awsvpc_configured {
        found(
            "networkConfiguration",
            format!(
                "networkConfiguration is only for awsvpc task definitions and this one's networkMode is {}: ECS would refuse it; remove it or use networkMode awsvpc",
                td.network_mode
            ),
        );
    }
    for (i, balancer) in spec["loadBalancers"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(container) = balancer["containerName"].as_str() else {
            continue;
        };
        match td.containers.iter().find(|(name, _)| name == container) {
            None => found(
                &format!("loadBalancers[{i}].containerName"),
                format!(
                    "the task definition has no container {container} (it has {}): ECS would refuse the load balancer",
                    td.containers
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Some((_, ports)) => {
                if let Some(port) = balancer["containerPort"].as_i64()
                    && !ports.contains(&port)
                {
                    found(
                        &format!("loadBalancers[{i}].containerPort"),
                        format!(
                            "container {container} maps no containerPort {port}: ECS would refuse the load balancer; add the port mapping or correct the port"
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(kind: &str, name: &str, spec: Value) -> SourceObject {
        SourceObject {
            file: "test.yaml".into(),
            kind: kind.into(),
            name: name.into(),
            namespace: "apps".into(),
            value: json!({"apiVersion": "ecs.operator.dev/v1alpha1", "kind": kind,
                          "metadata": {"name": name, "namespace": "apps"}, "spec": spec}),
        }
    }

    fn fields(findings: &[Finding]) -> Vec<String> {
        findings
            .iter()
            .map(|f| format!("{}/{} {}", f.kind, f.name, f.field))
            .collect()
    }

    fn prod() -> Facts {
        let mut facts = Facts::default();
        facts.clusters.insert(
            "prod".into(),
            Some(ClusterFacts {
                status: "ACTIVE".into(),
                capacity_providers: vec!["FARGATE".into()],
            }),
        );
        facts
    }

    #[test]
    fn a_fitting_set_has_no_findings() {
        let objects = [
            object(
                "EcsTaskDefinition",
                "web",
                json!({"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                       "cpu": "256", "memory": "512",
                       "containerDefinitions": [{"name": "app", "image": "nginx",
                                                 "portMappings": [{"containerPort": 80}]}]}),
            ),
            object(
                "EcsService",
                "web",
                json!({"cluster": "prod", "taskDefinitionRef": {"name": "web"}, "desiredCount": 1,
                       "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
                       "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
                       "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/1",
                                          "containerName": "app", "containerPort": 80}]}),
            ),
        ];
        assert_eq!(
            needs(&objects).clusters,
            BTreeSet::from(["prod".to_owned()])
        );
        assert_eq!(check(&objects, &prod()), Vec::<Finding>::new());
    }

    #[test]
    fn a_task_definition_that_does_not_suit_its_service_is_named_field_by_field() {
        let objects = [
            object(
                "EcsTaskDefinition",
                "web",
                json!({"family": "web", "requiresCompatibilities": ["EC2"],
                       "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128,
                                                 "portMappings": [{"containerPort": 80}]}]}),
            ),
            object(
                "EcsService",
                "web",
                json!({"cluster": "prod", "taskDefinitionRef": {"name": "web"}, "desiredCount": 1,
                       "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
                       "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
                       "loadBalancers": [
                           {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/a/1",
                            "containerName": "app", "containerPort": 8080},
                           {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/b/1",
                            "containerName": "sidecar", "containerPort": 80}]}),
            ),
        ];
        let findings = check(&objects, &prod());
        assert_eq!(
            fields(&findings),
            [
                "EcsService/web spec.capacityProviderStrategy[0].capacityProvider",
                "EcsService/web spec.capacityProviderStrategy",
                "EcsService/web spec.taskDefinitionRef",
                "EcsService/web spec.networkConfiguration",
                "EcsService/web spec.loadBalancers[0].containerPort",
                "EcsService/web spec.loadBalancers[1].containerName",
            ],
            "{findings:#?}"
        );
        assert!(findings[0].message.contains("FARGATE_SPOT"));
        assert!(findings[2].message.contains("bridge"));
    }

    #[test]
    fn what_aws_lacks_is_found_where_it_is_named() {
        let objects = [
            object(
                "EcsService",
                "api",
                json!({"cluster": "gone", "taskDefinition": "api:7", "desiredCount": 1}),
            ),
            object(
                "EcsTask",
                "migrate",
                json!({"cluster": "prod", "taskDefinition": "old:1"}),
            ),
            object(
                "EcsScalingPolicy",
                "api",
                json!({"resourceId": "service/prod/ghost", "minCapacity": 1, "maxCapacity": 2,
                       "targetTrackingPolicies": [{"policyName": "cpu", "targetValue": 50.0,
                         "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}}]}),
            ),
            object(
                "EcsCluster",
                "batch",
                json!({"capacityProviders": ["FARGATE", "spot-fleet", "mine"]}),
            ),
            object(
                "EcsCapacityProvider",
                "mine",
                json!({"autoScalingGroupProvider": {"autoScalingGroupArn": "asg"}}),
            ),
        ];
        let wanted = needs(&objects);
        assert_eq!(
            wanted.capacity_providers,
            BTreeSet::from(["spot-fleet".to_owned()]),
            "Fargate's and the files' own providers need no read"
        );
        assert_eq!(
            wanted.task_definitions,
            BTreeSet::from(["api:7".to_owned(), "old:1".to_owned()])
        );
        let mut facts = prod();
        facts.clusters.insert("gone".into(), None);
        facts.task_definitions.insert("api:7".into(), None);
        facts.task_definitions.insert(
            "old:1".into(),
            Some(TaskDefinitionFacts {
                status: "INACTIVE".into(),
                ..Default::default()
            }),
        );
        facts.services.insert("service/prod/ghost".into(), None);
        facts.capacity_providers.insert("spot-fleet".into(), false);
        let findings = check(&objects, &facts);
        assert_eq!(
            fields(&findings),
            [
                "EcsService/api spec.cluster",
                "EcsService/api spec.taskDefinition",
                "EcsTask/migrate spec.taskDefinition",
                "EcsScalingPolicy/api spec.resourceId",
                "EcsCluster/batch spec.capacityProviders[1]",
            ],
            "{findings:#?}"
        );
        assert!(findings[2].message.contains("INACTIVE"));
    }

    #[test]
    fn an_invalid_object_is_a_finding_too() {
        let objects = [object(
            "EcsService",
            "web",
            json!({"cluster": "prod", "taskDefinition": "web", "launchType": "FARGATE",
                   "capacityProviderStrategy": [{"capacityProvider": "FARGATE"}]}),
        )];
        let findings = check(&objects, &prod());
        assert!(
            findings
                .iter()
                .any(|f| f.field.contains("capacityProviderStrategy") && f.name == "web"),
            "{findings:#?}"
        );
    }

    #[test]
    fn a_described_revision_runs_where_ecs_says_it_does() {
        let facts = described_task_definition(&json!({
            "status": "ACTIVE", "networkMode": "awsvpc", "compatibilities": ["EC2", "FARGATE"],
            "requiresCompatibilities": ["FARGATE"],
            "containerDefinitions": [{"name": "app", "portMappings": [{"containerPort": 80}]}]
        }));
        assert_eq!(
            facts.compatibilities,
            Some(vec!["EC2".to_owned(), "FARGATE".to_owned()])
        );
        assert_eq!(facts.containers, [("app".to_owned(), vec![80])]);
    }
}
