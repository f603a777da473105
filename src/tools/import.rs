//! `ecs-operator import`: reads a cluster, its services, their task definitions and their
//! autoscaling from AWS and prints the manifests that, applied, make the operator take them over
//! without writing anything but its owner tags (see [`super::manifests`] for the translation).
//! Reads only.

use std::collections::BTreeMap;

use serde_json::Value;

use super::manifests::{self, ServiceLinks};
use crate::aws::AwsClients;
use crate::render::{self, SourceObject};
use crate::translate::task_definition::{family_of_arn, revision_of_arn};

/// What to import.
#[derive(Clone, Debug, Default)]
pub struct ImportRequest {
    /// The cluster (name or ARN).
    pub cluster: String,
    /// Only these services (names); every ACTIVE service of the cluster when empty.
    pub services: Vec<String>,
    /// The namespace the manifests go to.
    pub namespace: String,
}

/// The manifests, in the order they can be applied, and what could not be imported.
#[derive(Clone, Debug, Default)]
pub struct Imported {
    /// EcsCluster, EcsTaskDefinitions, EcsServices, EcsScalingPolicies.
    pub objects: Vec<Value>,
    /// What was left out and why (the rest is still imported).
    pub problems: Vec<String>,
    /// What the user should know (a revision kept as a literal ARN, say).
    pub notes: Vec<String>,
}

/// Reads what `request` names and translates it. Fails only when the cluster cannot be read.
pub async fn import(aws: &AwsClients, request: &ImportRequest) -> Result<Imported, String> {
    let namespace = request.namespace.as_str();
    let cluster = aws
        .ecs
        .describe_cluster_raw(&request.cluster)
        .await
        .map_err(|e| format!("cannot read cluster {}: {e}", request.cluster))?
        .filter(|c| c["status"] == "ACTIVE")
        .ok_or_else(|| format!("no ACTIVE ECS cluster named {}", request.cluster))?;
    let cluster_name = cluster["clusterName"]
        .as_str()
        .unwrap_or(&request.cluster)
        .to_owned();
    let mut imported = Imported::default();
    let cluster_object = manifests::cluster(&cluster, namespace)
        .map_err(|e| format!("cluster {cluster_name}: {e}"))?;
    let cluster_ref = object_name_of(&cluster_object);

    let names: Vec<String> = if request.services.is_empty() {
        aws.ecs
            .list_services_in(&cluster_name)
            .await
            .map_err(|e| format!("cannot list the services of {cluster_name}: {e}"))?
    } else {
        request.services.clone()
    };
    let described = aws
        .ecs
        .describe_services_raw(&cluster_name, &names)
        .await
        .map_err(|e| format!("cannot describe the services of {cluster_name}: {e}"))?;
    let mut services: Vec<Value> = described
        .into_iter()
        .filter(|s| s["status"] == "ACTIVE")
        .collect();
    services.retain(|s| {
        let name = s["serviceName"].as_str().unwrap_or_default();
        // "Identifies whether an ECS Service is an Express Service managed by ECS, or managed by
        // the customer": ECS manages the former itself.
        if s["resourceManagementType"] == "ECS" {
            imported.notes.push(format!(
                "service {name} is an Express service that ECS manages itself: left out"
            ));
            return false;
        }
        // "If you try to tag a service with a short ARN, you receive an InvalidParameterException
        // error": the operator could not add its owner tags.
        let arn = s["serviceArn"].as_str().unwrap_or_default();
        if arn.split_once(":service/").is_some_and(|(_, rest)| !rest.contains('/')) {
            imported.problems.push(format!(
                "service {name} has an ARN in the old short format ({arn}), which ECS cannot tag, and taking it over needs the operator's owner tags: opt the account in to the long ARN format (serviceLongArnFormat) and recreate the service; left out"
            ));
            return false;
        }
        true
    });
    for wanted in &request.services {
        if !services
            .iter()
            .any(|s| s["serviceName"] == wanted.as_str() || s["serviceArn"] == wanted.as_str())
        {
            imported.problems.push(format!(
                "service {wanted}: no ACTIVE service of that name in cluster {cluster_name}"
            ));
        }
    }

    // One EcsTaskDefinition per family, from the newest ACTIVE revision a service runs; services
    // on another revision of the family name that revision by ARN.
    let mut in_use: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for arn in services.iter().filter_map(|s| s["taskDefinition"].as_str()) {
        let family = family_of_arn(arn).unwrap_or(arn).to_owned();
        in_use.entry(family).or_default().push(arn.to_owned());
    }
    let mut task_definitions = Vec::new();
    let mut td_refs: BTreeMap<String, String> = BTreeMap::new();
    let mut inactive: Vec<String> = Vec::new();
    for arns in in_use.values_mut() {
        arns.sort_by_key(|arn| std::cmp::Reverse(revision_of_arn(arn)));
        arns.dedup();
        for arn in arns.iter() {
            let answer = match aws.ecs.describe_task_definition_raw(arn).await {
                Ok(Some(answer)) => answer,
                Ok(None) => {
                    imported
                        .problems
                        .push(format!("task definition {arn}: ECS does not know it"));
                    continue;
                }
                Err(e) => return Err(format!("cannot read task definition {arn}: {e}")),
            };
            // "You can only describe INACTIVE task definitions while an active task or service
            // references them": such a revision cannot be taken over (only an ACTIVE one can be
            // an object's current revision), so its services keep naming it by ARN.
            if answer["taskDefinition"]["status"] != "ACTIVE" {
                inactive.push(arn.clone());
                continue;
            }
            match manifests::task_definition(&answer, namespace) {
                Ok(object) => {
                    td_refs.insert(arn.clone(), object_name_of(&object));
                    task_definitions.push(object);
                }
                Err(e) => imported
                    .problems
                    .push(format!("task definition {arn}: {e}")),
            }
            break;
        }
    }

    let mut service_objects = Vec::new();
    let mut policies = Vec::new();
    for service in &services {
        let service_name = service["serviceName"].as_str().unwrap_or_default();
        let resource_id = format!("service/{cluster_name}/{service_name}");
        let target = aws
            .autoscaling
            .describe_scalable_target_raw(&resource_id)
            .await
            .map_err(|e| format!("cannot read the scalable target {resource_id}: {e}"))?;
        let td_arn = service["taskDefinition"].as_str().unwrap_or_default();
        let links = ServiceLinks {
            cluster_ref: Some(cluster_ref.clone()),
            task_definition_ref: td_refs.get(td_arn).cloned(),
            scaled: target.is_some(),
        };
        if !td_arn.is_empty() && links.task_definition_ref.is_none() {
            imported.notes.push(if inactive.iter().any(|a| a == td_arn) {
                format!(
                    "service {service_name} runs {td_arn}, a deregistered (INACTIVE) revision: its manifest names it by ARN, and no EcsTaskDefinition is imported for it; register a new revision to manage it"
                )
            } else {
                format!(
                    "service {service_name} runs {td_arn}, another revision than the family's imported one: its manifest names that revision by ARN"
                )
            });
        }
        let object = match manifests::service(service, namespace, &links) {
            Ok(object) => object,
            Err(e) => {
                imported
                    .problems
                    .push(format!("service {service_name}: {e}"));
                continue;
            }
        };
        let service_ref = object_name_of(&object);
        service_objects.push(object);
        let Some(target) = target else {
            continue;
        };
        let read = async {
            let policies = aws.autoscaling.describe_policies_raw(&resource_id).await?;
            let actions = aws
                .autoscaling
                .describe_scheduled_actions_raw(&resource_id)
                .await?;
            Ok::<_, crate::aws::AwsError>((policies, actions))
        };
        let (found, actions) = read
            .await
            .map_err(|e| format!("cannot read the autoscaling of {resource_id}: {e}"))?;
        for policy in &found {
            let kind = policy["PolicyType"].as_str().unwrap_or_default();
            if kind != "TargetTrackingScaling" && kind != "StepScaling" {
                imported.notes.push(format!(
                    "{kind} policy {} of {resource_id} is not something EcsScalingPolicy manages: left out (the operator neither changes nor deletes it)",
                    policy["PolicyName"].as_str().unwrap_or_default()
                ));
            }
        }
        match manifests::scaling_policy(&target, &found, &actions, namespace, Some(&service_ref)) {
            Ok(object) => policies.push(object),
            Err(e) => imported
                .problems
                .push(format!("autoscaling of {resource_id}: {e}")),
        }
    }

    imported.objects.push(cluster_object);
    imported.objects.extend(task_definitions);
    imported.objects.extend(service_objects);
    imported.objects.extend(policies);
    // Object names are AWS names made valid for Kubernetes (lower case, `_` as `-`): two AWS
    // names can meet in one, and the second object applied would replace the first.
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for object in &imported.objects {
        let key = (
            object["kind"].as_str().unwrap_or_default().to_owned(),
            object_name_of(object),
        );
        *seen.entry(key).or_default() += 1;
    }
    for ((kind, name), count) in seen.into_iter().filter(|(_, count)| *count > 1) {
        imported.problems.push(format!(
            "{count} {kind} objects are named {name} (their AWS names differ only in case or `_`): give each a distinct metadata.name before applying (the AWS name stays in the spec)"
        ));
    }
    // What the operator would refuse (a name or a member AWS allows and the CRD does not) is a
    // problem to fix before applying.
    let sources: Vec<SourceObject> = imported
        .objects
        .iter()
        .map(|object| SourceObject {
            file: "import".into(),
            kind: object["kind"].as_str().unwrap_or_default().to_owned(),
            name: object_name_of(object),
            namespace: namespace.to_owned(),
            value: object.clone(),
        })
        .collect();
    for error in render::render(&sources).errors {
        imported.problems.push(format!(
            "{} {}: {} (AWS accepted it, the operator will not: fix it in the manifest)",
            error.kind, error.name, error.error
        ));
    }
    Ok(imported)
}

fn object_name_of(object: &Value) -> String {
    object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
