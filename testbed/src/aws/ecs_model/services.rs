//! The ECS service operations the model answers: CreateService, UpdateService, DeleteService,
//! DescribeServices, ListServices and the tag operations on services.

use super::*;

impl EcsModel {
    pub(super) async fn create(
        &self,
        upstream: &Upstream<'_>,
        state: &mut Account,
        body: &Value,
    ) -> Answer {
        let Some(name) = body["serviceName"].as_str().map(str::to_owned) else {
            return invalid("serviceName must be specified.");
        };
        let cluster = body["cluster"].as_str().unwrap_or("default").to_owned();
        let key = (cluster_name(&cluster), name.clone());
        let mut request = body.clone();
        let client_token = request
            .as_object_mut()
            .and_then(|o| o.remove("clientToken"))
            .and_then(|v| v.as_str().map(str::to_owned));
        if let Some(existing) = state.services.get(&key) {
            match existing.status {
                // "If you attempt to create a new service with the same name as an existing
                // service in either ACTIVE or DRAINING status, you receive an error."
                Status::Draining => {
                    return invalid("Unable to Start a service that is still Draining.");
                }
                Status::Active => {
                    let same_token =
                        client_token.is_some() && existing.client_token == client_token;
                    return if existing.create_request == request
                        && (client_token.is_none() || same_token)
                    {
                        Answer::Ok(json!({"service": describe(existing)}))
                    } else {
                        invalid("Creation of service was not idempotent.")
                    };
                }
                Status::Inactive => {}
            }
        }
        let mut members: BTreeMap<String, Value> = DEFINITION_MEMBERS
            .iter()
            .filter_map(|k| body.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        if members.contains_key("launchType") && members.contains_key("capacityProviderStrategy") {
            return invalid(
                "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.",
            );
        }
        let controller_type = members
            .get("deploymentController")
            .and_then(|c| c["type"].as_str())
            .unwrap_or("ECS");
        if controller_type != "EXTERNAL" {
            let described = match self.active_cluster(upstream, &cluster).await {
                Ok(found) => found,
                Err(answer) => return answer,
            };
            // capacityProviderStrategy: "If no capacityProviderStrategy or launchType is
            // specified, the defaultCapacityProviderStrategy for the cluster is used."
            if !members.contains_key("launchType")
                && !members.contains_key("capacityProviderStrategy")
                && let Some(strategy) = described["defaultCapacityProviderStrategy"]
                    .as_array()
                    .filter(|s| !s.is_empty())
            {
                members.insert("capacityProviderStrategy".into(), json!(strategy));
            }
            if let Some(refused) = unassociated_provider(&described, &members) {
                return refused;
            }
        }
        if let Some(rejection) = fargate_placement(&members) {
            return rejection;
        }
        if let Some(rejection) = hook_refusal(&members) {
            return rejection;
        }
        let controller = members
            .get("deploymentController")
            .and_then(|c| c["type"].as_str())
            .unwrap_or("ECS")
            .to_owned();
        let daemon = members.get("schedulingStrategy").and_then(Value::as_str) == Some("DAEMON");
        let external = controller == "EXTERNAL";
        // An EXTERNAL service's task sets name their task definitions and launch types; the
        // service itself takes neither ("TaskDefinition must be blank" is what ECS answers).
        if external && (body.get("taskDefinition").is_some() || body.get("launchType").is_some()) {
            return invalid(
                "TaskDefinition must be blank: a service with the EXTERNAL deployment controller takes its task definition and launch type from its task sets.",
            );
        }
        let (task_definition, images) = match body["taskDefinition"].as_str() {
            None if external => (String::new(), Vec::new()),
            None => return invalid("A task definition must be specified."),
            Some(reference) => {
                let facts = match self.active_task_definition(upstream, reference).await {
                    Ok(found) => found,
                    Err(answer) => return answer,
                };
                if let Some(misfit) = task_definition_misfit(&facts, &members) {
                    return misfit;
                }
                (facts.arn, facts.containers)
            }
        };
        // moto keeps a plain copy (cluster check, Application Auto Scaling's existence check).
        let mut copy = json!({"cluster": cluster, "serviceName": name,
                              "desiredCount": body["desiredCount"].as_i64().unwrap_or(0), "launchType": "EC2"});
        if !external {
            copy["taskDefinition"] = json!(task_definition);
        }
        let (status, answer) = match upstream.ecs("CreateService", &copy).await {
            Ok(answer) => answer,
            Err(e) => return error(500, "ServerException", &e),
        };
        if status != 200 {
            return upstream_error(status, &answer);
        }
        // Defaults ECS fills in and DescribeServices reports.
        if !external
            && !members.contains_key("launchType")
            && !members.contains_key("capacityProviderStrategy")
        {
            members.insert("launchType".into(), json!("EC2"));
        }
        members
            .entry("schedulingStrategy".into())
            .or_insert(json!("REPLICA"));
        members
            .entry("deploymentConfiguration".into())
            .or_insert_with(|| {
                if daemon {
                    json!({"maximumPercent": 100, "minimumHealthyPercent": 0})
                } else {
                    json!({"maximumPercent": 200, "minimumHealthyPercent": 100})
                }
            });
        normalise_members(&mut members, daemon, &controller);
        members
            .entry("deploymentController".into())
            .or_insert(json!({"type": "ECS"}));
        if uses_fargate(&members) {
            members
                .entry("platformVersion".into())
                .or_insert(json!("LATEST"));
        }
        members
            .entry("enableECSManagedTags".into())
            .or_insert(json!(false));
        members
            .entry("enableExecuteCommand".into())
            .or_insert(json!(false));
        members
            .entry("propagateTags".into())
            .or_insert(json!("NONE"));
        members
            .entry("availabilityZoneRebalancing".into())
            .or_insert(json!(if daemon { "DISABLED" } else { "ENABLED" }));
        members
            .entry("healthCheckGracePeriodSeconds".into())
            .or_insert(json!(0));
        members
            .entry("placementConstraints".into())
            .or_insert(json!([]));
        members
            .entry("placementStrategy".into())
            .or_insert(json!([]));
        members.entry("loadBalancers".into()).or_insert(json!([]));
        members
            .entry("serviceRegistries".into())
            .or_insert(json!([]));
        let desired = if daemon {
            1
        } else {
            body["desiredCount"].as_i64().unwrap_or(0)
        };
        let failing = self.failing(&images);
        let mut service = Service {
            arn: answer["service"]["serviceArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            name: name.clone(),
            cluster_arn: answer["service"]["clusterArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            status: Status::Active,
            draining_since: None,
            created_at: epoch(),
            client_token,
            create_request: request,
            desired_count: desired,
            task_definition: task_definition.clone(),
            deployments: Vec::new(),
            events: Vec::new(),
            tags: body["tags"].as_array().cloned().unwrap_or_default(),
            last_completed: None,
            deployment_controller: controller,
            members,
            service_deployments: Vec::new(),
            task_sets: Vec::new(),
            tasks: Vec::new(),
            listed_from: Instant::now() + Duration::from_secs_f64(self.knobs().unlisted_seconds),
        };
        // EXTERNAL services run task sets, no ECS deployments.
        if !external {
            let mut deployment =
                self.new_deployment(&task_definition, desired, failing, &service.members, None);
            deployment.unplaceable = self
                .unplaceable(upstream, &service.cluster_arn, &service.members)
                .await;
            deployment.start_failure = self.fails_to_start(&images);
            deployment.service_deployment =
                self.start_service_deployment(&mut service, &task_definition);
            service.deployments.push(deployment);
        }
        let answer = json!({"service": describe(&service)});
        state.services.insert(key, service);
        Answer::Ok(answer)
    }

    pub(super) async fn update(
        &self,
        upstream: &Upstream<'_>,
        state: &mut Account,
        body: &Value,
    ) -> Answer {
        let cluster = body["cluster"].as_str().unwrap_or("default").to_owned();
        let key = service_key(&cluster, body["service"].as_str().unwrap_or_default());
        let Some(service) = state.services.get(&key) else {
            return error(400, "ServiceNotFoundException", "Service not found.");
        };
        if service.status != Status::Active {
            return error(400, "ServiceNotActiveException", "Service was not ACTIVE.");
        }
        let controller = service.deployment_controller.clone();
        if controller == "CODE_DEPLOY" && body.get("taskDefinition").is_some() {
            return invalid(
                "Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.",
            );
        }
        // "If your service uses the EXTERNAL deployment controller, you can update only the
        // desired count, task placement constraints and strategies, health check grace period,
        // enable ECS managed tags option, and propagate tags option, using this API."
        if controller == "EXTERNAL"
            && let Some(member) = body.as_object().and_then(|members| {
                members.keys().find(|k| {
                    !matches!(
                        k.as_str(),
                        "cluster"
                            | "service"
                            | "desiredCount"
                            | "placementConstraints"
                            | "placementStrategy"
                            | "healthCheckGracePeriodSeconds"
                            | "enableECSManagedTags"
                            | "propagateTags"
                            | "deploymentController"
                    )
                })
            })
        {
            return invalid(&format!(
                "{member} cannot be updated on a service with the EXTERNAL deployment controller; change its task sets instead."
            ));
        }
        let force = body["forceNewDeployment"].as_bool().unwrap_or(false);
        let mut members = service.members.clone();
        let mut sent = BTreeMap::new();
        for k in DEFINITION_MEMBERS {
            if let Some(v) = body.get(k) {
                sent.insert(k.to_owned(), v.clone());
            }
        }
        // What UpdateService sends is stored as CreateService stores it, defaults filled in
        // (unverified for deploymentConfiguration: that members it leaves out go back to their
        // defaults rather than keep their values).
        // Checked as sent: the defaults filled in below would hide a BLUE_GREEN bake time left
        // out ("You must provide this parameter when you use the BLUE_GREEN deployment
        // strategy.").
        if let Some(refused) = strategy_refusal(&sent) {
            return refused;
        }
        let daemon = members.get("schedulingStrategy").and_then(Value::as_str) == Some("DAEMON");
        normalise_members(&mut sent, daemon, &controller);
        let sent_strategy = sent.get("capacityProviderStrategy").cloned();
        members.extend(sent);
        // Going back to a launch type: an empty strategy.
        let strategy_change = sent_strategy.as_ref().map(|new| {
            let old = service.members.get("capacityProviderStrategy");
            let from_launch_type = old.is_none();
            let emptied = new.as_array().is_some_and(Vec::is_empty);
            (from_launch_type && !emptied) || (!from_launch_type && Some(new) != old)
        });
        if strategy_change == Some(true) && !force {
            return invalid(
                "When switching from launch type to capacity provider strategy on an existing service, or making a change to a capacity provider strategy on a service that is already using one, you must force a new deployment.",
            );
        }
        if body
            .get("capacityProviderStrategy")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            members.remove("capacityProviderStrategy");
            if !members.contains_key("launchType") {
                match service.create_request.get("launchType") {
                    Some(launch_type) => {
                        members.insert("launchType".into(), launch_type.clone());
                    }
                    None => {
                        return invalid(
                            "No launch type to fall back to for empty capacity provider strategy. Your service was not created with a launch type.",
                        );
                    }
                }
            }
        } else if members.contains_key("capacityProviderStrategy") {
            members.remove("launchType");
        }
        if body
            .get("capacityProviderStrategy")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty())
        {
            let described = match self.active_cluster(upstream, &cluster).await {
                Ok(found) => found,
                Err(answer) => return answer,
            };
            if let Some(refused) = unassociated_provider(&described, &members) {
                return refused;
            }
        }
        if let Some(rejection) = fargate_placement(&members) {
            return rejection;
        }
        if let Some(rejection) = hook_refusal(&members) {
            return rejection;
        }
        let new_task_definition = match body["taskDefinition"].as_str() {
            Some(reference) => match self.active_task_definition(upstream, reference).await {
                Ok(facts) => Some(facts),
                Err(answer) => return answer,
            },
            None => None,
        };
        // The members as they will stand must fit the task definition the service will run.
        let running = state.services.get(&key).and_then(|s| {
            let primary = s
                .deployments
                .first()
                .map_or(s.task_definition.as_str(), |d| d.task_definition.as_str());
            self.known_task_definition(primary)
        });
        if let Some(misfit) = new_task_definition
            .as_ref()
            .or(running.as_ref())
            .and_then(|facts| task_definition_misfit(facts, &members))
        {
            return misfit;
        }
        let new_task_definition = new_task_definition.map(|facts| (facts.arn, facts.containers));
        let Some(service) = state.services.get_mut(&key) else {
            return error(400, "ServiceNotFoundException", "Service not found.");
        };
        let primary_td = service
            .deployments
            .first()
            .map(|d| d.task_definition.clone())
            .unwrap_or_else(|| service.task_definition.clone());
        let td_changed = new_task_definition
            .as_ref()
            .is_some_and(|(arn, _)| *arn != primary_td);
        // Compared as stored (normalised), so resending a member without its defaults is no
        // change.
        let deploying_change = DEPLOYING_MEMBERS
            .iter()
            .any(|k| body.get(*k).is_some() && service.members.get(*k) != members.get(*k));
        if let Some(desired) = body["desiredCount"].as_i64() {
            service.desired_count = desired;
            for d in service.deployments.iter_mut().take(1) {
                d.desired_count = desired;
                if d.rollout_state == "COMPLETED" {
                    // The scale lands one rollout period from now.
                    d.started = Instant::now();
                }
            }
        }
        service.members = members;
        if td_changed || deploying_change || force || strategy_change == Some(true) {
            let (task_definition, images) = match new_task_definition {
                Some((arn, images)) => (arn, images),
                None => {
                    let images = self
                        .known_task_definition(&primary_td)
                        .map(|facts| facts.containers)
                        .unwrap_or_default();
                    (primary_td, images)
                }
            };
            let failing = self.failing(&images);
            for d in service.deployments.iter_mut() {
                d.status = "ACTIVE".into();
            }
            // A deployment that never started a task is simply replaced.
            service
                .deployments
                .retain(|d| d.running_count > 0 || d.rollout_state == "COMPLETED");
            let mut deployment = self.new_deployment(
                &task_definition,
                service.desired_count,
                failing,
                &service.members,
                None,
            );
            deployment.unplaceable = self
                .unplaceable(upstream, &service.cluster_arn, &service.members)
                .await;
            deployment.start_failure = self.fails_to_start(&images);
            let target = deployment.task_definition.clone();
            deployment.service_deployment = self.start_service_deployment(service, &target);
            service.deployments.insert(0, deployment);
        }
        let copy = json!({"cluster": cluster, "service": service.name, "desiredCount": service.desired_count});
        let answer = json!({"service": describe(service)});
        if let Err(e) = upstream.ecs("UpdateService", &copy).await {
            return error(500, "ServerException", &e);
        }
        Answer::Ok(answer)
    }

    pub(super) async fn delete(
        &self,
        upstream: &Upstream<'_>,
        state: &mut Account,
        body: &Value,
    ) -> Answer {
        let cluster = body["cluster"].as_str().unwrap_or("default").to_owned();
        let key = service_key(&cluster, body["service"].as_str().unwrap_or_default());
        let force = body["force"].as_bool().unwrap_or(false);
        let Some(service) = state.services.get_mut(&key) else {
            return error(400, "ServiceNotFoundException", "Service not found.");
        };
        match service.status {
            Status::Inactive => {
                return error(400, "ServiceNotFoundException", "Service not found.");
            }
            Status::Draining => return Answer::Ok(json!({"service": describe(service)})),
            Status::Active => {}
        }
        let replica = service
            .members
            .get("schedulingStrategy")
            .and_then(Value::as_str)
            != Some("DAEMON");
        // "You can delete a service if you have no running tasks in it and the desired task
        // count is zero." `force` deletes it anyway (REPLICA only needs it).
        if replica && service.desired_count > 0 && !force {
            return invalid("The service cannot be stopped while it is scaled above 0.");
        }
        service.status = Status::Draining;
        service.draining_since = Some(Instant::now());
        service.desired_count = 0;
        for d in service.deployments.iter_mut() {
            d.desired_count = 0;
        }
        let name = service.name.clone();
        let answer = json!({"service": describe(service)});
        // moto's copy goes now, and with it (as on AWS) the service's scalable target and its
        // policies and scheduled actions.
        let cluster_key = key.0.clone();
        let _ = upstream
            .ecs(
                "DeleteService",
                &json!({"cluster": cluster, "service": name, "force": true}),
            )
            .await;
        let _ = deregister_scalable_target(
            upstream,
            state,
            &json!({"ServiceNamespace": "ecs", "ResourceId": format!("service/{cluster_key}/{name}"),
                    "ScalableDimension": "ecs:service:DesiredCount"}),
        )
        .await;
        Answer::Ok(answer)
    }

    pub(super) async fn describe_services(
        &self,
        upstream: &Upstream<'_>,
        state: &Account,
        body: &Value,
    ) -> Answer {
        let cluster = body["cluster"].as_str().unwrap_or("default").to_owned();
        // moto checks the cluster (ClusterNotFoundException) the way ECS does.
        match upstream
            .ecs("DescribeClusters", &json!({"clusters": [cluster]}))
            .await
        {
            Ok((200, answer))
                if answer["clusters"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["status"] == "ACTIVE")) => {}
            Ok(_) => return error(400, "ClusterNotFoundException", "Cluster not found."),
            Err(e) => return error(500, "ServerException", &e),
        }
        // "You may specify up to 10 services to describe in a single operation."
        if body["services"].as_array().is_some_and(|s| s.len() > 10) {
            return invalid("service names can have at most 10 items");
        }
        let with_tags = body["include"]
            .as_array()
            .is_some_and(|i| i.iter().any(|v| v == "TAGS"));
        let mut services = Vec::new();
        let mut failures = Vec::new();
        for name in body["services"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            match state
                .services
                .get(&service_key(&cluster, name))
                .filter(|s| Instant::now() >= s.listed_from)
            {
                Some(service) => {
                    let mut described = describe(service);
                    if !with_tags && let Some(o) = described.as_object_mut() {
                        o.remove("tags");
                    }
                    services.push(described);
                }
                None => failures.push(json!({
                    "arn": if name.starts_with("arn:") { name.to_owned() } else {
                        format!("arn:aws:ecs:us-east-1:000000000000:service/{}/{name}", cluster_name(&cluster))
                    },
                    "reason": "MISSING"
                })),
            }
        }
        Answer::Ok(json!({"services": services, "failures": failures}))
    }

    pub(super) async fn list_services(
        &self,
        upstream: &Upstream<'_>,
        state: &Account,
        body: &Value,
    ) -> Answer {
        let cluster = body["cluster"].as_str().unwrap_or("default").to_owned();
        if let Ok((status, answer)) = upstream
            .ecs("ListServices", &json!({"cluster": cluster}))
            .await
            && status != 200
        {
            return upstream_error(status, &answer);
        }
        let wanted = cluster_name(&cluster);
        // "The launch type to use when filtering the ListServices results."; "The scheduling
        // strategy to use when filtering the ListServices results." (A service on a capacity
        // provider strategy has no launch type to match.)
        let member = |s: &Service, key: &str| {
            s.members
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let launch_type = body["launchType"].as_str();
        let scheduling = body["schedulingStrategy"].as_str();
        // DRAINING and INACTIVE services are "no longer visible ... in the ListServices API".
        let arns: Vec<String> = state
            .services
            .iter()
            .filter(|((c, _), s)| *c == wanted && s.status == Status::Active)
            .filter(|(_, s)| {
                launch_type.is_none_or(|lt| member(s, "launchType").as_deref() == Some(lt))
            })
            .filter(|(_, s)| {
                scheduling.is_none_or(|st| {
                    member(s, "schedulingStrategy")
                        .as_deref()
                        .unwrap_or("REPLICA")
                        == st
                })
            })
            .map(|(_, s)| s.arn.clone())
            .collect();
        // "This value can be between 1 and 100": outside, an error (not clamped).
        let max = match body.get("maxResults") {
            None | Some(Value::Null) => 10,
            Some(value) => match value.as_u64() {
                Some(n @ 1..=100) => n as usize,
                _ => return invalid("maxResults must be between 1 and 100."),
            },
        };
        let start: usize = body["nextToken"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let page: Vec<&String> = arns.iter().skip(start).take(max).collect();
        let mut answer = json!({"serviceArns": page});
        if start + max < arns.len() {
            answer["nextToken"] = json!((start + max).to_string());
        }
        Answer::Ok(answer)
    }

    pub(super) async fn tags(
        &self,
        upstream: &Upstream<'_>,
        state: &mut Account,
        operation: &str,
        body: &Value,
    ) -> Answer {
        let arn = body["resourceArn"].as_str().unwrap_or_default();
        let service = state
            .services
            .values_mut()
            .find(|s| s.arn == arn && s.status != Status::Inactive);
        let Some(service) = service else {
            // Not a service: moto's tags (task definitions, clusters).
            return match upstream.ecs(operation, body).await {
                Ok((200, answer)) => Answer::Ok(answer),
                Ok((status, answer)) => upstream_error(status, &answer),
                Err(e) => error(500, "ServerException", &e),
            };
        };
        match operation {
            "ListTagsForResource" => Answer::Ok(json!({"tags": service.tags})),
            "TagResource" => {
                let mut tags = service.tags.clone();
                for tag in body["tags"].as_array().into_iter().flatten() {
                    tags.retain(|t| t["key"] != tag["key"]);
                    tags.push(tag.clone());
                }
                // "Maximum number of tags per resource - 50" (aws: keys do not count).
                let counted = tags
                    .iter()
                    .filter(|t| {
                        !t["key"]
                            .as_str()
                            .is_some_and(|k| k.to_ascii_lowercase().starts_with("aws:"))
                    })
                    .count();
                if counted > 50 {
                    return error(
                        400,
                        "LimitExceededException",
                        "The limit for the resource was exceeded.",
                    );
                }
                service.tags = tags;
                Answer::Ok(json!({}))
            }
            _ => {
                let keys: Vec<&Value> = body["tagKeys"].as_array().into_iter().flatten().collect();
                service.tags.retain(|t| !keys.contains(&&t["key"]));
                Answer::Ok(json!({}))
            }
        }
    }
}

impl Service {
    pub(super) fn running(&self) -> i64 {
        self.deployments
            .iter()
            .map(|d| d.running_count)
            .sum::<i64>()
            + task_sets_running(self)
    }

    pub(super) fn push_event(&mut self, event: Event) {
        self.events.insert(0, event);
        // "A maximum of 100 of the latest events are displayed."
        self.events.truncate(100);
    }
}

impl EcsModel {
    /// Whether a new deployment on these members finds nothing to place its tasks on: the EC2
    /// launch type, `requireContainerInstances` on, and no container instance in the cluster.
    async fn unplaceable(
        &self,
        upstream: &Upstream<'_>,
        cluster_arn: &str,
        members: &BTreeMap<String, Value>,
    ) -> bool {
        self.knobs().require_container_instances
            && members.get("launchType").and_then(Value::as_str) == Some("EC2")
            && matches!(
                tasks::has_container_instances(upstream, cluster_arn).await,
                Ok(false)
            )
    }

    /// Lets waiting EC2 deployments of the named services start once an instance is there.
    pub(super) async fn place_waiting(
        &self,
        upstream: &Upstream<'_>,
        state: &mut Account,
        keys: &[(String, String)],
    ) {
        for key in keys {
            let Some(service) = state.services.get_mut(key) else {
                continue;
            };
            if !service.deployments.first().is_some_and(|d| d.unplaceable) {
                continue;
            }
            if matches!(
                tasks::has_container_instances(upstream, &service.cluster_arn).await,
                Ok(true)
            ) && let Some(d) = service.deployments.first_mut()
            {
                d.unplaceable = false;
                d.started = Instant::now();
            }
        }
    }
}

/// Fills in what ECS reports for members sent without them (CreateService and UpdateService
/// alike): a rolling deployment configuration's circuit breaker (off), strategy (ROLLING), bake
/// time (0) and alarms (off) for the ECS controller, and the percentages ("If a service is using
/// the rolling update (ECS) deployment type, the maximumPercent ... default value ... is 200%";
/// minimum 100%, DAEMON 100 / 0); `assignPublicIp` DISABLED ("The default value is DISABLED.");
/// a strategy item's base and weight ("If no value is specified, the default value of 0 is
/// used.").
pub(super) fn normalise_members(
    members: &mut BTreeMap<String, Value>,
    daemon: bool,
    controller: &str,
) {
    if let Some(config) = members.get_mut("deploymentConfiguration")
        && controller == "ECS"
    {
        if config.get("deploymentCircuitBreaker").is_none() {
            config["deploymentCircuitBreaker"] = json!({"enable": false, "rollback": false});
        }
        if config.get("strategy").is_none() {
            config["strategy"] = json!("ROLLING");
        }
        if config.get("bakeTimeInMinutes").is_none() {
            config["bakeTimeInMinutes"] = json!(0);
        }
        if config.get("alarms").is_none() {
            config["alarms"] = json!({"alarmNames": [], "enable": false, "rollback": false});
        }
    }
    if let Some(config) = members.get_mut("deploymentConfiguration") {
        if config.get("maximumPercent").is_none() {
            config["maximumPercent"] = json!(if daemon { 100 } else { 200 });
        }
        if config.get("minimumHealthyPercent").is_none() {
            config["minimumHealthyPercent"] = json!(if daemon { 0 } else { 100 });
        }
    }
    if let Some(vpc) = members
        .get_mut("networkConfiguration")
        .and_then(|n| n.get_mut("awsvpcConfiguration"))
        && vpc.get("assignPublicIp").is_none()
    {
        vpc["assignPublicIp"] = json!("DISABLED");
    }
    if let Some(items) = members
        .get_mut("capacityProviderStrategy")
        .and_then(Value::as_array_mut)
    {
        for item in items {
            for key in ["base", "weight"] {
                if item.get(key).is_none() {
                    item[key] = json!(0);
                }
            }
        }
    }
}

/// A service as DescribeServices reports it.
pub(super) fn describe(service: &Service) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("serviceArn".into(), json!(service.arn));
    out.insert("serviceName".into(), json!(service.name));
    out.insert("clusterArn".into(), json!(service.cluster_arn));
    out.insert(
        "status".into(),
        serde_json::to_value(service.status).unwrap_or(Value::Null),
    );
    out.insert("desiredCount".into(), json!(service.desired_count));
    out.insert("runningCount".into(), json!(service.running()));
    out.insert(
        "pendingCount".into(),
        json!(
            service
                .deployments
                .iter()
                .map(|d| d.pending_count)
                .sum::<i64>()
        ),
    );
    // The service's task definition is its PRIMARY deployment's (it moves at UpdateService, and
    // back on a rollback).
    let task_definition = service
        .deployments
        .first()
        .map_or(&service.task_definition, |d| &d.task_definition);
    if !task_definition.is_empty() {
        out.insert("taskDefinition".into(), json!(task_definition));
    }
    if !service.task_sets.is_empty() {
        out.insert("taskSets".into(), json!(describe_task_sets(service)));
        for (k, v) in primary_task_set_members(service) {
            out.insert(k, v);
        }
    }
    for (k, v) in &service.members {
        out.insert(k.clone(), v.clone());
    }
    // ECS reports Service Connect, volume and VPC Lattice settings per deployment only.
    for k in [
        "serviceConnectConfiguration",
        "volumeConfigurations",
        "vpcLatticeConfigurations",
    ] {
        out.remove(k);
    }
    out.insert(
        "deployments".into(),
        serde_json::to_value(&service.deployments).unwrap_or(json!([])),
    );
    out.insert(
        "events".into(),
        serde_json::to_value(&service.events).unwrap_or(json!([])),
    );
    if let Some(arn) = current_service_deployment(service) {
        out.insert("currentServiceDeployment".into(), json!(arn));
    }
    out.insert("createdAt".into(), json!(service.created_at));
    out.insert(
        "createdBy".into(),
        json!("arn:aws:iam::000000000000:role/ecs-operator"),
    );
    if !service.tags.is_empty() {
        out.insert("tags".into(), json!(service.tags));
    }
    Value::Object(out)
}
