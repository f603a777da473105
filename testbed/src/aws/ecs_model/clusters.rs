//! Cluster rules moto lacks: CreateCluster is idempotent only for the same arguments (moto
//! replaces the cluster), and DeleteCluster is refused while the cluster holds services, tasks or
//! container instances (moto deletes anything). moto stays the cluster store.

use super::*;

impl EcsModel {
    /// The cluster's ARN, capacity providers and default strategy as moto describes it, or
    /// ClusterNotFoundException.
    pub(super) async fn active_cluster(
        &self,
        upstream: &Upstream<'_>,
        cluster: &str,
    ) -> Result<Value, Answer> {
        match upstream
            .ecs("DescribeClusters", &json!({"clusters": [cluster]}))
            .await
        {
            Ok((200, answer)) => answer["clusters"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["status"] == "ACTIVE").cloned())
                .ok_or_else(|| error(400, "ClusterNotFoundException", "Cluster not found.")),
            Ok(_) => Err(error(400, "ClusterNotFoundException", "Cluster not found.")),
            Err(e) => Err(error(500, "ServerException", &e)),
        }
    }

    /// The ACTIVE cluster a request names in `cluster` ("If you do not specify a cluster, the
    /// default cluster is assumed."): its DescribeClusters entry and its name, or
    /// ClusterNotFoundException.
    pub(super) async fn requested_cluster(
        &self,
        upstream: &Upstream<'_>,
        body: &Value,
    ) -> Result<(Value, String), Answer> {
        let reference = body["cluster"].as_str().unwrap_or("default");
        let described = self.active_cluster(upstream, reference).await?;
        let name = cluster_name(described["clusterArn"].as_str().unwrap_or(reference));
        Ok((described, name))
    }

    pub(super) async fn create_cluster(
        &self,
        upstream: &Upstream<'_>,
        state: &mut Account,
        body: &Value,
    ) -> Answer {
        let name = body["clusterName"].as_str().unwrap_or("default").to_owned();
        if let Ok(existing) = self.active_cluster(upstream, &name).await {
            // A second CreateCluster is answered with the cluster when its arguments are the
            // first one's; otherwise ECS answers (as users report it) "Arguments on this
            // idempotent request are inconsistent with arguments used in previous request(s)."
            let same = state
                .cluster_requests
                .get(&name)
                .is_none_or(|first| first == body);
            return if same {
                Answer::Ok(json!({"cluster": existing}))
            } else {
                invalid(
                    "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).",
                )
            };
        }
        let (status, answer) = match upstream.ecs("CreateCluster", body).await {
            Ok(answer) => answer,
            Err(e) => return error(500, "ServerException", &e),
        };
        if status != 200 {
            return upstream_error(status, &answer);
        }
        state.cluster_requests.insert(name, body.clone());
        Answer::Ok(answer)
    }

    pub(super) async fn delete_cluster(
        &self,
        upstream: &Upstream<'_>,
        state: &mut Account,
        body: &Value,
    ) -> Answer {
        let (described, name) = match self.requested_cluster(upstream, body).await {
            Ok(found) => found,
            Err(answer) => return answer,
        };
        let cluster_arn = described["clusterArn"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        // ClusterContainsServicesException: "You can't delete a cluster that contains services.
        // First, update the service to reduce its desired task count to 0, and then delete the
        // service." A DRAINING service still holds the cluster. The messages below are ECS's
        // answers as users report them.
        if state
            .services
            .iter()
            .any(|((cluster, _), s)| *cluster == name && s.status != Status::Inactive)
        {
            return error(
                400,
                "ClusterContainsServicesException",
                "The Cluster cannot be deleted while Services are active.",
            );
        }
        // ClusterContainsCapacityProviderException: "You must first delete all capacity
        // providers from the cluster before you can delete the cluster itself" (the Managed
        // Instances providers that belong to it).
        let providers = self.cluster_providers(state, &name);
        if !providers.is_empty() {
            return error(
                400,
                "ClusterContainsCapacityProviderException",
                &format!(
                    "The cluster contains capacity providers that must be deleted first: {}.",
                    providers.join(", ")
                ),
            );
        }
        // ClusterContainsTasksException: "You can't delete a cluster that has active tasks."
        let knobs = self.knobs();
        if state
            .all_tasks()
            .any(|task| task.in_cluster(&name) && !task.is_stopped(&knobs))
        {
            return error(
                400,
                "ClusterContainsTasksException",
                "The Cluster cannot be deleted while Tasks are active.",
            );
        }
        // ClusterContainsContainerInstancesException: "You can't delete a cluster that has
        // registered container instances. First, deregister the container instances before you
        // can delete the cluster."
        match upstream
            .ecs("ListContainerInstances", &json!({"cluster": cluster_arn}))
            .await
        {
            Ok((200, answer))
                if answer["containerInstanceArns"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty()) =>
            {
                return error(
                    400,
                    "ClusterContainsContainerInstancesException",
                    "The Cluster cannot be deleted while Container Instances are active.",
                );
            }
            Ok(_) => {}
            Err(e) => return error(500, "ServerException", &e),
        }
        let (status, answer) = match upstream
            .ecs("DeleteCluster", &json!({"cluster": cluster_arn}))
            .await
        {
            Ok(answer) => answer,
            Err(e) => return error(500, "ServerException", &e),
        };
        if status != 200 {
            return upstream_error(status, &answer);
        }
        state.cluster_requests.remove(&name);
        // Its tasks are all stopped by now; their records go with the cluster.
        state.tasks.retain(|task| !task.in_cluster(&name));
        state.run_tokens.retain(|(cluster, _), _| *cluster != name);
        Answer::Ok(answer)
    }
}
