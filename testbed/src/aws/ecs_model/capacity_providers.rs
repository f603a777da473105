//! Capacity providers as a registry the model keeps (moto replaces a provider of the same name,
//! deletes anything, knows no Managed Instances providers, and associates any name with a
//! cluster): CreateCapacityProvider, UpdateCapacityProvider, DeleteCapacityProvider,
//! DescribeCapacityProviders, and the rules of PutClusterCapacityProviders before moto stores the
//! association. Managed Instances providers are PROVISIONING for `providerSeconds`, then ACTIVE;
//! a deleted provider is DELETE_IN_PROGRESS for `providerSeconds`, then INACTIVE.

use super::*;

/// The providers every account has and nobody creates or deletes.
const FARGATE_PROVIDERS: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];

/// A capacity provider of the account.
#[derive(Clone, Debug)]
pub(super) struct CapacityProvider {
    arn: String,
    name: String,
    /// `autoScalingGroupProvider`, as stored (defaults filled in).
    auto_scaling_group: Option<Value>,
    /// `managedInstancesProvider`, as stored.
    managed_instances: Option<Value>,
    /// The cluster a Managed Instances provider belongs to.
    cluster: Option<String>,
    tags: Vec<Value>,
    created: Instant,
    update_status: String,
    deleted: Option<Instant>,
}

impl CapacityProvider {
    fn status(&self, knobs: &Knobs) -> &'static str {
        let settle = Duration::from_secs_f64(knobs.provider_seconds);
        match self.deleted {
            Some(at) if at.elapsed() >= settle => "INACTIVE",
            Some(_) => "ACTIVE",
            None if self.managed_instances.is_some() && self.created.elapsed() < settle => {
                "PROVISIONING"
            }
            None => "ACTIVE",
        }
    }

    fn update_status(&self, knobs: &Knobs) -> String {
        let settle = Duration::from_secs_f64(knobs.provider_seconds);
        match self.deleted {
            Some(at) if at.elapsed() >= settle => "DELETE_COMPLETE".into(),
            Some(_) => "DELETE_IN_PROGRESS".into(),
            None => self.update_status.clone(),
        }
    }

    fn describe(&self, knobs: &Knobs, with_tags: bool) -> Value {
        let mut out = json!({
            "capacityProviderArn": self.arn,
            "name": self.name,
            "status": self.status(knobs),
        });
        let update_status = self.update_status(knobs);
        if let Some(o) = out.as_object_mut() {
            if !update_status.is_empty() {
                o.insert("updateStatus".into(), json!(update_status));
            }
            if let Some(group) = &self.auto_scaling_group {
                o.insert("autoScalingGroupProvider".into(), group.clone());
            }
            if let Some(managed) = &self.managed_instances {
                o.insert("managedInstancesProvider".into(), managed.clone());
                o.insert("type".into(), json!("MANAGED_INSTANCES"));
            } else {
                o.insert("type".into(), json!("EC2_AUTOSCALING"));
            }
            if let Some(cluster) = &self.cluster {
                o.insert("cluster".into(), json!(cluster));
            }
            if with_tags {
                o.insert("tags".into(), json!(self.tags));
            }
        }
        out
    }

    fn is_live(&self, knobs: &Knobs) -> bool {
        self.status(knobs) != "INACTIVE"
    }
}

/// Auto Scaling group provider members with what ECS fills in when they are left out.
fn with_group_defaults(group: &Value) -> Value {
    let mut group = group.clone();
    let scaling = &mut group["managedScaling"];
    if scaling.is_null() {
        *scaling = json!({});
    }
    for (key, default) in [
        ("status", json!("DISABLED")),
        ("targetCapacity", json!(100)),
        ("minimumScalingStepSize", json!(1)),
        ("maximumScalingStepSize", json!(10000)),
        ("instanceWarmupPeriod", json!(300)),
    ] {
        if scaling.get(key).is_none() {
            scaling[key] = default;
        }
    }
    if group.get("managedTerminationProtection").is_none() {
        group["managedTerminationProtection"] = json!("DISABLED");
    }
    if group.get("managedDraining").is_none() {
        group["managedDraining"] = json!("ENABLED");
    }
    group
}

/// The refusal of out-of-range managed scaling figures, if any.
fn scaling_out_of_range(group: &Value) -> Option<Answer> {
    let scaling = &group["managedScaling"];
    for (key, low, high) in [
        ("targetCapacity", 1, 100),
        ("minimumScalingStepSize", 1, 10_000),
        ("maximumScalingStepSize", 1, 10_000),
        ("instanceWarmupPeriod", 0, 10_000),
    ] {
        if let Some(value) = scaling[key].as_i64()
            && !(low..=high).contains(&value)
        {
            return Some(invalid(&format!(
                "managedScaling.{key} must be between {low} and {high}."
            )));
        }
    }
    if let (Some(min), Some(max)) = (
        scaling["minimumScalingStepSize"].as_i64(),
        scaling["maximumScalingStepSize"].as_i64(),
    ) && min > max
    {
        return Some(invalid(
            "managedScaling.minimumScalingStepSize must not be greater than maximumScalingStepSize.",
        ));
    }
    None
}

/// The strings of a JSON list (a cluster's `capacityProviders`).
fn string_list(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Providers named in a strategy.
fn strategy_providers(strategy: &Value) -> Vec<String> {
    strategy
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["capacityProvider"].as_str().map(str::to_owned))
        .collect()
}

impl EcsModel {
    fn provider_arn(&self, upstream: &Upstream<'_>, name: &str) -> String {
        let account = upstream
            .headers
            .iter()
            .find(|(n, _)| n == "x-moto-account-id")
            .map_or("123456789012", |(_, v)| v.as_str());
        format!("arn:aws:ecs:us-east-1:{account}:capacity-provider/{name}")
    }

    pub(super) async fn create_capacity_provider(
        &self,
        upstream: &Upstream<'_>,
        state: &mut Account,
        body: &Value,
    ) -> Answer {
        let knobs = self.knobs();
        let name = body["name"].as_str().unwrap_or_default().to_owned();
        if name.is_empty()
            || name.len() > 255
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return invalid(
                "The capacity provider name can contain up to 255 letters, numbers, underscores and hyphens.",
            );
        }
        // "Up to 255 characters are allowed. They include letters (both upper and lowercase
        // letters), numbers, underscores (_), and hyphens (-). The name can't be prefixed with
        // "aws", "ecs", or "fargate"." (The texts of these answers are the model's.)
        let lower = name.to_ascii_lowercase();
        if ["aws", "ecs", "fargate"]
            .iter()
            .any(|p| lower.starts_with(p))
        {
            return invalid(
                "The capacity provider name can't be prefixed with \"aws\", \"ecs\", or \"fargate\".",
            );
        }
        if state
            .capacity_providers
            .get(&name)
            .is_some_and(|p| p.is_live(&knobs))
        {
            // ECS's answer as users report it.
            return error(
                400,
                "ClientException",
                "The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider.",
            );
        }
        let group = body
            .get("autoScalingGroupProvider")
            .filter(|g| !g.is_null());
        let managed = body
            .get("managedInstancesProvider")
            .filter(|m| !m.is_null());
        let (auto_scaling_group, managed_instances, cluster) = match (group, managed) {
            (Some(group), None) => {
                let Some(given) = group["autoScalingGroupArn"].as_str() else {
                    return invalid(
                        "autoScalingGroupProvider.autoScalingGroupArn must be specified.",
                    );
                };
                // The group must exist in the account and Region; a name stands for its ARN,
                // which DescribeCapacityProviders reports. (The refusal's text is the model's.)
                let arn = match upstream.auto_scaling_group_arn(given).await {
                    Ok(Some(arn)) => arn,
                    Ok(None) => {
                        return invalid(&format!(
                            "The specified Auto Scaling group {given} could not be found."
                        ));
                    }
                    Err(e) => return error(500, "ServerException", &e),
                };
                let mut group = group.clone();
                group["autoScalingGroupArn"] = json!(arn);
                let group = &group;
                if let Some(refused) = scaling_out_of_range(group) {
                    return refused;
                }
                // "When using managed termination protection, managed scaling must also be used
                // otherwise managed termination protection doesn't work."
                if group["managedTerminationProtection"] == "ENABLED"
                    && group["managedScaling"]["status"] != "ENABLED"
                {
                    // A ClientException as users report it.
                    return error(
                        400,
                        "ClientException",
                        "The managed termination protection setting for the capacity provider is invalid. To enable managed termination protection for a capacity provider, the capacity provider must have managed scaling enabled.",
                    );
                }
                // One group, one provider (the model's reading of "the capacity provider must be
                // created but not associated with another cluster").
                if state.capacity_providers.values().any(|p| {
                    p.is_live(&knobs)
                        && p.auto_scaling_group
                            .as_ref()
                            .is_some_and(|g| g["autoScalingGroupArn"] == arn)
                }) {
                    return invalid(
                        "The specified Auto Scaling group is already in use by another capacity provider.",
                    );
                }
                (Some(with_group_defaults(group)), None, None)
            }
            (None, Some(managed)) => {
                // "When you create a capacity provider with Amazon ECS Managed Instances, it
                // becomes available only within the specified cluster."
                let Some(cluster) = body["cluster"].as_str() else {
                    return invalid(
                        "cluster must be specified for a capacity provider with a managedInstancesProvider.",
                    );
                };
                let described = match self.active_cluster(upstream, cluster).await {
                    Ok(found) => found,
                    Err(answer) => return answer,
                };
                if managed["infrastructureRoleArn"].as_str().is_none() {
                    return invalid(
                        "managedInstancesProvider.infrastructureRoleArn must be specified.",
                    );
                }
                let cluster_name =
                    cluster_name(described["clusterArn"].as_str().unwrap_or(cluster));
                (None, Some(managed.clone()), Some(cluster_name))
            }
            // Both or neither: unverified (the reference makes both optional); a provider of
            // no kind or of two kinds cannot place anything.
            _ => {
                return invalid(
                    "Specify exactly one of autoScalingGroupProvider and managedInstancesProvider.",
                );
            }
        };
        let provider = CapacityProvider {
            arn: self.provider_arn(upstream, &name),
            name: name.clone(),
            auto_scaling_group,
            managed_instances,
            cluster,
            tags: body["tags"].as_array().cloned().unwrap_or_default(),
            created: Instant::now(),
            update_status: String::new(),
            deleted: None,
        };
        let answer = json!({"capacityProvider": provider.describe(&knobs, true)});
        state.capacity_providers.insert(name, provider);
        Answer::Ok(answer)
    }

    pub(super) fn update_capacity_provider(&self, state: &mut Account, body: &Value) -> Answer {
        let knobs = self.knobs();
        let wanted = body["name"].as_str().unwrap_or_default();
        let Some(provider) = state
            .capacity_providers
            .values_mut()
            .find(|p| (p.name == wanted || p.arn == wanted) && p.is_live(&knobs))
        else {
            return invalid("The specified capacity provider does not exist.");
        };
        if provider.deleted.is_some() {
            return error(
                400,
                "ClientException",
                "The capacity provider is being deleted.",
            );
        }
        match (
            body.get("autoScalingGroupProvider")
                .filter(|g| !g.is_null()),
            body.get("managedInstancesProvider")
                .filter(|m| !m.is_null()),
            &mut provider.auto_scaling_group,
            &mut provider.managed_instances,
        ) {
            (Some(change), None, Some(group), None) => {
                let mut merged = group.clone();
                if let Some(scaling) = change.get("managedScaling") {
                    for (key, value) in scaling.as_object().into_iter().flatten() {
                        merged["managedScaling"][key] = value.clone();
                    }
                }
                for key in ["managedTerminationProtection", "managedDraining"] {
                    if let Some(value) = change.get(key) {
                        merged[key] = value.clone();
                    }
                }
                if let Some(refused) = scaling_out_of_range(&merged) {
                    return refused;
                }
                *group = merged;
            }
            (None, Some(change), None, Some(managed)) => {
                for (key, value) in change.as_object().into_iter().flatten() {
                    managed[key] = value.clone();
                }
            }
            _ => {
                return invalid(
                    "The update must use the provider kind the capacity provider was created with.",
                );
            }
        }
        provider.update_status = "UPDATE_COMPLETE".into();
        Answer::Ok(json!({"capacityProvider": provider.describe(&knobs, false)}))
    }

    pub(super) async fn delete_capacity_provider(
        &self,
        upstream: &Upstream<'_>,
        state: &mut Account,
        body: &Value,
    ) -> Answer {
        let knobs = self.knobs();
        let wanted = body["capacityProvider"].as_str().unwrap_or_default();
        // "The FARGATE and FARGATE_SPOT capacity providers are reserved and can't be deleted."
        if FARGATE_PROVIDERS.contains(&wanted) {
            return invalid(
                "The FARGATE and FARGATE_SPOT capacity providers are reserved and can't be deleted.",
            );
        }
        let Some(name) = state
            .capacity_providers
            .values()
            .find(|p| (p.name == wanted || p.arn == wanted) && p.is_live(&knobs))
            .map(|p| p.name.clone())
        else {
            return invalid("The specified capacity provider does not exist.");
        };
        // "Prior to a capacity provider being deleted, the capacity provider must be removed from
        // the capacity provider strategy from all services." ... "Only capacity providers that
        // aren't associated with a cluster can be deleted."
        if let Some(using) = state
            .services
            .values()
            .find(|s| {
                s.status != Status::Inactive
                    && s.members
                        .get("capacityProviderStrategy")
                        .is_some_and(|st| strategy_providers(st).contains(&name))
            })
            .map(|s| s.name.clone())
        {
            // ClientException: ResourceInUseException is not among DeleteCapacityProvider's
            // errors.
            return error(
                400,
                "ClientException",
                &format!(
                    "The specified capacity provider is in use by service {using}: remove it from the service's capacity provider strategy first."
                ),
            );
        }
        match self.cluster_holding(upstream, &name).await {
            Ok(Some(cluster)) => {
                return error(
                    400,
                    "ClientException",
                    &format!(
                        "The specified capacity provider is associated with cluster {cluster}: only capacity providers that aren't associated with a cluster can be deleted."
                    ),
                );
            }
            Ok(None) => {}
            Err(answer) => return answer,
        }
        let Some(provider) = state.capacity_providers.get_mut(&name) else {
            return invalid("The specified capacity provider does not exist.");
        };
        if provider.deleted.is_none() {
            provider.deleted = Some(Instant::now());
        }
        Answer::Ok(json!({"capacityProvider": provider.describe(&knobs, false)}))
    }

    /// The cluster (moto's association) holding a provider, if any.
    async fn cluster_holding(
        &self,
        upstream: &Upstream<'_>,
        provider: &str,
    ) -> Result<Option<String>, Answer> {
        let (status, listed) = upstream
            .ecs("ListClusters", &json!({}))
            .await
            .map_err(|e| error(500, "ServerException", &e))?;
        if status != 200 {
            return Err(upstream_error(status, &listed));
        }
        let arns = listed["clusterArns"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if arns.is_empty() {
            return Ok(None);
        }
        let (status, described) = upstream
            .ecs("DescribeClusters", &json!({"clusters": arns}))
            .await
            .map_err(|e| error(500, "ServerException", &e))?;
        if status != 200 {
            return Err(upstream_error(status, &described));
        }
        Ok(described["clusters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| {
                c["status"] == "ACTIVE"
                    && string_list(&c["capacityProviders"])
                        .iter()
                        .any(|p| p == provider)
            })
            .and_then(|c| c["clusterName"].as_str().map(str::to_owned)))
    }

    pub(super) async fn describe_capacity_providers(
        &self,
        upstream: &Upstream<'_>,
        state: &Account,
        body: &Value,
    ) -> Answer {
        let knobs = self.knobs();
        // cluster: "When specified, only capacity providers associated with this cluster are
        // returned, including Amazon ECS Managed Instances capacity providers."
        let associated: Option<Vec<String>> = match body["cluster"].as_str() {
            None => None,
            Some(cluster) => match self.active_cluster(upstream, cluster).await {
                Ok(described) => {
                    let name = cluster_name(described["clusterArn"].as_str().unwrap_or(cluster));
                    let mut names = string_list(&described["capacityProviders"]);
                    names.extend(self.cluster_providers(state, &name));
                    Some(names)
                }
                Err(answer) => return answer,
            },
        };
        let in_cluster = |name: &str| {
            associated
                .as_ref()
                .is_none_or(|a| a.iter().any(|n| n == name))
        };
        let with_tags = body["include"]
            .as_array()
            .is_some_and(|i| i.iter().any(|v| v == "TAGS"));
        let builtin = |name: &str| {
            json!({"capacityProviderArn": format!("arn:aws:ecs:us-east-1:aws:capacity-provider/{name}"),
                   "name": name, "status": "ACTIVE", "type": "FARGATE"})
        };
        let names = string_list(&body["capacityProviders"]);
        // "Up to 100 capacity providers can be described in an action."
        if names.len() > 100 {
            return invalid("capacityProviders can have at most 100 items.");
        }
        let mut providers = Vec::new();
        let mut failures = Vec::new();
        if names.is_empty() {
            providers.extend(
                FARGATE_PROVIDERS
                    .iter()
                    .filter(|n| in_cluster(n))
                    .map(|n| builtin(n)),
            );
            providers.extend(
                state
                    .capacity_providers
                    .values()
                    .filter(|p| in_cluster(&p.name))
                    .map(|p| p.describe(&knobs, with_tags)),
            );
        }
        for name in &names {
            if FARGATE_PROVIDERS.contains(&name.as_str()) && in_cluster(name) {
                providers.push(builtin(name));
            } else if let Some(p) = state
                .capacity_providers
                .values()
                .find(|p| (&p.name == name || &p.arn == name) && in_cluster(&p.name))
            {
                providers.push(p.describe(&knobs, with_tags));
            } else {
                failures.push(json!({"arn": name, "reason": "MISSING"}));
            }
        }
        // "This value can be between 1 and 10."
        let max = body["maxResults"].as_i64().unwrap_or(10);
        if !(1..=10).contains(&max) {
            return invalid("maxResults must be between 1 and 10.");
        }
        let from = match body["nextToken"].as_str().map(str::parse::<usize>) {
            None => 0,
            Some(Ok(offset)) => offset,
            Some(Err(_)) => return invalid("Invalid nextToken."),
        };
        let total = providers.len();
        let page: Vec<Value> = providers
            .into_iter()
            .skip(from)
            .take(max as usize)
            .collect();
        let mut answer = json!({"capacityProviders": page, "failures": failures});
        if from + (max as usize) < total {
            answer["nextToken"] = json!((from + max as usize).to_string());
        }
        Answer::Ok(answer)
    }

    /// PutClusterCapacityProviders' rules, then moto stores the association.
    pub(super) async fn put_cluster_capacity_providers(
        &self,
        upstream: &Upstream<'_>,
        state: &mut Account,
        body: &Value,
    ) -> Answer {
        let knobs = self.knobs();
        let (described, cluster) = match self.requested_cluster(upstream, body).await {
            Ok(found) => found,
            Err(answer) => return answer,
        };
        // "If specifying a capacity provider that uses an Auto Scaling group, the capacity
        // provider must already be created." Managed Instances providers belong to their cluster.
        let wanted = string_list(&body["capacityProviders"]);
        for name in &wanted {
            if FARGATE_PROVIDERS.contains(&name.as_str()) {
                continue;
            }
            match state
                .capacity_providers
                .get(name)
                .filter(|p| p.is_live(&knobs))
            {
                None => {
                    return invalid(&format!(
                        "The specified capacity provider {name} does not exist."
                    ));
                }
                Some(p) if p.deleted.is_some() => {
                    return invalid(&format!(
                        "The specified capacity provider {name} is being deleted."
                    ));
                }
                Some(p) if p.cluster.as_ref().is_some_and(|c| *c != cluster) => {
                    return invalid(&format!(
                        "The capacity provider {name} belongs to another cluster."
                    ));
                }
                Some(_) => {}
            }
            // "the capacity provider must be created but not associated with another cluster"
            // (CreateCluster `capacityProviders`).
            if let Ok(Some(holder)) = self.cluster_holding(upstream, name).await
                && holder != cluster
            {
                return invalid(&format!(
                    "The capacity provider {name} is already associated with cluster {holder}."
                ));
            }
        }
        // "A capacity provider must be associated with the cluster to be used in a capacity
        // provider strategy." (defaultCapacityProviderStrategy)
        let default_strategy = strategy_providers(&body["defaultCapacityProviderStrategy"]);
        if let Some(outside) = default_strategy.iter().find(|p| !wanted.contains(p)) {
            return invalid(&format!(
                "The default capacity provider strategy names {outside}, which is not among the cluster's capacity providers."
            ));
        }
        // "Any existing capacity providers that are associated with a cluster that are omitted
        // from a PutClusterCapacityProviders API call will be disassociated with the cluster. You
        // can only disassociate an existing capacity provider from a cluster if it's not being
        // used by any existing tasks." ResourceInUseException: "The specified resource is in-use
        // and can't be removed." (A service's strategy counts as use: its tasks run there.)
        let current = string_list(&described["capacityProviders"]);
        for removed in current.iter().filter(|p| !wanted.contains(p)) {
            let used_by_service = state.services.iter().any(|((c, _), s)| {
                *c == cluster
                    && s.status != Status::Inactive
                    && s.members
                        .get("capacityProviderStrategy")
                        .is_some_and(|st| strategy_providers(st).contains(removed))
            });
            let used_by_task = state
                .all_tasks()
                .any(|t| t.in_cluster(&cluster) && t.runs_on(removed) && !t.is_stopped(&knobs));
            if used_by_service || used_by_task {
                return error(
                    400,
                    "ResourceInUseException",
                    &format!(
                        "The specified resource is in-use and can't be removed: capacity provider {removed}."
                    ),
                );
            }
        }
        let (status, answer) = match upstream.ecs("PutClusterCapacityProviders", body).await {
            Ok(answer) => answer,
            Err(e) => return error(500, "ServerException", &e),
        };
        if status != 200 {
            return upstream_error(status, &answer);
        }
        Answer::Ok(answer)
    }

    /// Managed Instances providers of a cluster that are not INACTIVE (they hold it).
    pub(super) fn cluster_providers(&self, state: &Account, cluster: &str) -> Vec<String> {
        let knobs = self.knobs();
        state
            .capacity_providers
            .values()
            .filter(|p| p.cluster.as_deref() == Some(cluster) && p.is_live(&knobs))
            .map(|p| p.name.clone())
            .collect()
    }
}
