//! The ECS calls the operator makes: budgeted, counted, classified, retried where that is safe,
//! and batched where ECS allows it. Inputs are the operator's own request types (built by
//! `translate`); answers come back as the observation types in [`super::types`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ecs as ecs;

use super::answers;
use super::batch::{BatchResult, Batcher};
use super::call::{Caller, Repeat, collect_pages, next_page_token};
use super::error::{AwsError, AwsErrorKind};
use super::limits::ApiCategory;
use super::sdk;
use super::snapshot::{Lookup, Snapshot};
use super::types::{
    DeploymentObservation, ServiceDeploymentObservation, ServiceEventObservation,
    ServiceObservation, TaskDefinitionRevision, TaskSetObservation,
};
use crate::api::common::Tag;
use crate::api::task_definition::TaskDefinitionBody;
use crate::translate::service::{CreateServiceRequest, UpdateServiceRequest};
use crate::translate::task_definition::{family_of_arn, revision_of_arn};

pub use super::read_ahead::NextPass;
use super::read_ahead::{AFTER_UPDATE, ReadAhead, ServiceCache, Waiting, Wanted, fill_up};

/// Most services one DescribeServices call may name ("You may specify up to 10 services to describe
/// in a single operation.").
pub const DESCRIBE_SERVICES_MAX: usize = 10;

/// One service's answer in a DescribeServices batch: the service, or why ECS could not describe it.
type ServiceAnswer = Result<ServiceObservation, AwsError>;

/// Most service deployments one DescribeServiceDeployments call may name ("You can specify a
/// maximum of 20 ARNs.").
pub const DESCRIBE_SERVICE_DEPLOYMENTS_MAX: usize = 20;

/// ECS service events kept of a DescribeServices answer (the newest): as many as a pass tells.
pub const SERVICE_EVENTS_KEPT: usize = 10;

/// Which revisions to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListedStatus {
    /// Registered revisions.
    Active,
    /// Deregistered revisions.
    Inactive,
}

/// ECS, for the controllers; cloning shares the client, budgets, counters, batch queue and cache.
#[derive(Clone)]
pub struct EcsApi {
    /// The SDK client (the calls of other resources live in sibling files: `clusters.rs`,
    /// `tasks.rs`, `capacity_providers.rs`).
    pub(super) client: ecs::Client,
    /// Budgets, counts, classifies and retries every call.
    pub(super) caller: Caller,
    services: Batcher<ServiceAnswer>,
    pub(super) service_deployments: Batcher<ServiceDeploymentObservation>,
    cache: Arc<Mutex<ServiceCache>>,
    /// Wakes passes waiting for an answer being read ahead.
    arrived: Arc<tokio::sync::Notify>,
    /// The account's ACTIVE revisions, listed once per window for the drift checks.
    active_revisions: Snapshot<()>,
}

impl EcsApi {
    /// Wraps a client; `batch_window` is how long a describe waits for others to share its call.
    pub fn new(client: ecs::Client, caller: Caller, batch_window: Duration) -> Self {
        let (fetch_client, fetch_caller) = (client.clone(), caller.clone());
        let cache = Arc::new(Mutex::new(ServiceCache::default()));
        let arrived = Arc::new(tokio::sync::Notify::new());
        let (fetch_cache, fetch_arrived) = (cache.clone(), arrived.clone());
        let services = Batcher::new(
            DESCRIBE_SERVICES_MAX,
            batch_window,
            Arc::new(move |cluster, names| {
                let (client, caller, cache, arrived) = (
                    fetch_client.clone(),
                    fetch_caller.clone(),
                    fetch_cache.clone(),
                    fetch_arrived.clone(),
                );
                Box::pin(async move {
                    let all = fill_up(&cache, &cluster, &names);
                    let extra: Vec<(String, String)> = all
                        .iter()
                        .filter(|n| !names.contains(n))
                        .map(|n| (cluster.clone(), n.clone()))
                        .collect();
                    let started = Instant::now();
                    if let Ok(mut cache) = cache.lock() {
                        cache
                            .pending
                            .extend(extra.iter().map(|key| (key.clone(), started)));
                    }
                    let result =
                        describe_services(&client, &caller, cluster.clone(), all.clone()).await;
                    if let Ok(mut cache) = cache.lock() {
                        for key in &extra {
                            cache.pending.remove(key);
                            let written_since =
                                cache.written.get(key).is_some_and(|at| *at >= started);
                            // The asked-for answers go to their callers; the rest wait here.
                            if let (Ok(found), false) = (&result, written_since) {
                                match found.get(&key.1) {
                                    Some(Ok(service)) => {
                                        cache.answers.insert(
                                            key.clone(),
                                            ReadAhead::new(started, Some(service.clone())),
                                        );
                                    }
                                    None => {
                                        cache
                                            .answers
                                            .insert(key.clone(), ReadAhead::new(started, None));
                                    }
                                    // A failure is not an answer: the pass reads for itself.
                                    Some(Err(_)) => {}
                                }
                            }
                        }
                    }
                    arrived.notify_waiters();
                    result
                })
            }),
        );
        let (fetch_client, fetch_caller) = (client.clone(), caller.clone());
        let service_deployments = Batcher::new(
            DESCRIBE_SERVICE_DEPLOYMENTS_MAX,
            batch_window,
            Arc::new(move |_group, arns| {
                let (client, caller) = (fetch_client.clone(), fetch_caller.clone());
                Box::pin(async move {
                    super::service_deployments::describe(&client, &caller, arns).await
                })
            }),
        );
        Self {
            client,
            caller,
            services,
            service_deployments,
            cache,
            arrived,
            active_revisions: Snapshot::default(),
        }
    }

    /// Follows a service: its answers are read ahead with its cluster's other services.
    pub fn follow_service(&self, cluster: &str, service: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.follow(cluster, service);
        }
    }

    /// Stops following a service and forgets its answer.
    pub fn unfollow_service(&self, cluster: &str, service: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.unfollow(cluster, service);
        }
    }

    /// (served from read-ahead answers, had to read) since start, for metrics and tests.
    pub fn read_ahead_stats(&self) -> (u64, u64) {
        self.cache
            .lock()
            .map(|c| (c.hits, c.misses))
            .unwrap_or_default()
    }

    /// Forgets the cached answer of a service, and any answer being read ahead, around a write to
    /// it: called before the write is sent and again when it has returned, since a read-ahead
    /// call that started while the write was in flight may have been answered before AWS
    /// applied it (a service just created, seen missing, would be created again).
    pub fn forget_service(&self, cluster: &str, service: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.forget(cluster, service, AFTER_UPDATE);
        }
    }

    /// [`Self::forget_service`] around a CreateService: any answer read after it returned serves
    /// the new service's poll (see [`AFTER_UPDATE`]).
    fn forget_created_service(&self, cluster: &str, service: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.forget(cluster, service, Duration::ZERO);
        }
    }

    /// A settled service as read at most `max_age` ago (read ahead with a neighbour, or now);
    /// `max_age` is also how long answers read ahead for settled services are kept.
    pub async fn describe_service_cached(
        &self,
        cluster: &str,
        service: &str,
        max_age: Duration,
    ) -> Result<Option<ServiceObservation>, AwsError> {
        self.describe_read_ahead(cluster, service, Wanted::Settled(max_age))
            .await
    }

    /// A service whose rollout runs, as read at most a second before this poll was due (read
    /// ahead by a neighbour's call, see [`Self::expect_pass`]) and at most `late_limit` ago (a
    /// poll that comes later reads again), or less than a second ago, or now.
    pub async fn describe_service_polled(
        &self,
        cluster: &str,
        service: &str,
        late_limit: Duration,
    ) -> Result<Option<ServiceObservation>, AwsError> {
        self.describe_read_ahead(cluster, service, Wanted::Poll { late_limit })
            .await
    }

    /// When a service's next pass is due (a rollout's poll, or a settled service's resync), so
    /// neighbours' calls read it ahead when, and only when, the pass can use the answer.
    pub fn expect_pass(&self, cluster: &str, service: &str, next: NextPass) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.expect_pass(cluster, service, next, Instant::now());
        }
    }

    async fn describe_read_ahead(
        &self,
        cluster: &str,
        service: &str,
        wanted: Wanted,
    ) -> Result<Option<ServiceObservation>, AwsError> {
        let key = (cluster.to_owned(), service.to_owned());
        let mut first = true;
        loop {
            let arrival = self.arrived.notified();
            tokio::pin!(arrival);
            arrival.as_mut().enable();
            match self.take_answer(&key, wanted, std::mem::take(&mut first)) {
                Waiting::Hit(answer) => return Ok(*answer),
                Waiting::Miss => break,
                // A call in flight reads this service ahead: wait for it, not for a call of our
                // own.
                Waiting::InFlight => {
                    let _ = tokio::time::timeout(Duration::from_secs(5), arrival).await;
                }
            }
        }
        self.describe_service(cluster, service).await
    }

    fn take_answer(&self, key: &(String, String), wanted: Wanted, used: bool) -> Waiting {
        match self.cache.lock() {
            Ok(mut cache) => cache.take(key, wanted, used),
            Err(_) => Waiting::Miss,
        }
    }

    /// Whether `arn` is an ACTIVE revision, as the window's listing of every ACTIVE revision in the
    /// account shows it (one paged ListTaskDefinitions shared by the window's passes). `Absent`
    /// and `Unknown` mean: confirm with [`EcsApi::describe_task_definition`].
    pub async fn revision_listed(
        &self,
        arn: &str,
        window: Duration,
    ) -> Result<Lookup<()>, AwsError> {
        self.active_revisions
            .lookup(arn, window, || self.list_active_revisions())
            .await
    }

    /// (listings taken, passes answered from one), for metrics and tests.
    pub fn revision_listing_stats(&self) -> (u64, u64) {
        self.active_revisions.stats()
    }

    async fn list_active_revisions(&self) -> Result<(HashMap<String, ()>, u64), AwsError> {
        let mut pages = 0;
        let arns = collect_pages("ListTaskDefinitions", |next_token| {
            pages += 1;
            async move {
                let output = self
                    .caller
                    .send(
                        ApiCategory::TaskDefinitionRead,
                        "ListTaskDefinitions",
                        Repeat::Safe,
                        || {
                            self.client
                                .list_task_definitions()
                                .status(ecs::types::TaskDefinitionStatus::Active)
                                .max_results(100)
                                .set_next_token(next_token.clone())
                                .send()
                        },
                    )
                    .await?;
                Ok((
                    output.task_definition_arns().to_vec(),
                    output.next_token().map(str::to_owned),
                ))
            }
        })
        .await?;
        Ok((arns.into_iter().map(|arn| (arn, ())).collect(), pages))
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
        let revision = output
            .task_definition()
            .map(revision_of)
            .ok_or_else(|| missing("RegisterTaskDefinition", "taskDefinition"))?;
        // A listing started before now cannot show it; the passes after this one need not
        // describe it to know it is there.
        self.active_revisions.created(&revision.arn, ());
        Ok(revision)
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
            Ok(output) => Ok(output.task_definition().map(|td| {
                (
                    revision_of(td),
                    output.tags().iter().map(answers::tag).collect(),
                )
            })),
            Err(e) if e.kind == super::AwsErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// ARNs of every revision of `family` with the given status, oldest first (all pages).
    pub async fn list_task_definitions(
        &self,
        family: &str,
        status: ListedStatus,
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
            ListedStatus::Active,
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

    /// The newest ACTIVE revision of `family` ("If a revision is not specified, the latest ACTIVE
    /// revision is used."), or `None` when the family has none.
    pub async fn latest_active_revision(&self, family: &str) -> Result<Option<String>, AwsError> {
        let mut latest = None;
        self.page_revisions(
            family,
            ListedStatus::Active,
            ecs::types::SortOrder::Desc,
            |arn| {
                latest = Some(arn.to_owned());
                false
            },
        )
        .await?;
        Ok(latest)
    }

    /// Walks ListTaskDefinitions pages of one family in `sort` order, giving each ARN to `visit`
    /// until it returns false.
    async fn page_revisions(
        &self,
        family: &str,
        status: ListedStatus,
        sort: ecs::types::SortOrder,
        mut visit: impl FnMut(&str) -> bool,
    ) -> Result<(), AwsError> {
        let status = match status {
            ListedStatus::Active => ecs::types::TaskDefinitionStatus::Active,
            ListedStatus::Inactive => ecs::types::TaskDefinitionStatus::Inactive,
        };
        let mut token: Option<String> = None;
        let mut seen = HashSet::new();
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
            match next_page_token("ListTaskDefinitions", &mut seen, output.next_token())? {
                Some(next) => token = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Deregisters a revision.
    pub async fn deregister_task_definition(
        &self,
        arn: &str,
    ) -> Result<TaskDefinitionRevision, AwsError> {
        let _written = self.active_revisions.written(arn);
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
        self.forget_created_service(&request.cluster, &request.service_name);
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
            .await;
        self.forget_created_service(&request.cluster, &request.service_name);
        output?
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
        self.services.get(cluster, service).await?.transpose()
    }

    /// Updates a service to the state `request` describes (repeating it changes nothing more).
    pub async fn update_service(
        &self,
        request: &UpdateServiceRequest,
    ) -> Result<ServiceObservation, AwsError> {
        self.forget_service(&request.cluster, &request.service);
        let input = sdk::update_service(request)?;
        // A forced deployment sent twice is two deployments.
        let repeat = if request.force_new_deployment == Some(true) {
            Repeat::Unsafe
        } else {
            Repeat::Safe
        };
        let output = self
            .caller
            .send(ApiCategory::ServiceWrite, "UpdateService", repeat, || {
                input.clone().send_with(&self.client)
            })
            .await;
        self.forget_service(&request.cluster, &request.service);
        output?
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
        self.forget_service(cluster, service);
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
            .await;
        self.forget_service(cluster, service);
        output?
            .service()
            .map(service_of)
            .ok_or_else(|| missing("DeleteService", "service"))
    }

    /// Makes a resource's tags `change`: UntagResource first, then TagResource, so that near
    /// the 50-tag limit a renamed key frees its slot before the new one takes it.
    pub async fn retag(
        &self,
        arn: &str,
        change: &crate::translate::tags::TagChange,
    ) -> Result<(), AwsError> {
        // A service's answer read ahead before the change would show the old tags.
        let _fresh = ForgetAround::new(self, arn);
        if !change.remove.is_empty() {
            self.untag_resource(arn, &change.remove).await?;
        }
        if !change.set.is_empty() {
            self.tag_resource(arn, &change.set).await?;
        }
        Ok(())
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
        Ok(output.tags().iter().map(answers::tag).collect())
    }
}

/// Forgets the read-ahead answer of the service an ARN names (a service's, or one of its
/// deployments') when made and again when dropped, after the write returned or failed, as
/// every write to a service does.
pub(super) struct ForgetAround<'a> {
    ecs: &'a EcsApi,
    arn: &'a str,
}

impl<'a> ForgetAround<'a> {
    pub(super) fn new(ecs: &'a EcsApi, arn: &'a str) -> Self {
        let around = Self { ecs, arn };
        around.forget();
        around
    }

    fn forget(&self) {
        if let Some((cluster, name)) = service_of_arn(self.arn) {
            self.ecs.forget_service(cluster, name);
        }
    }
}

impl Drop for ForgetAround<'_> {
    fn drop(&mut self) {
        self.forget();
    }
}

/// The cluster and name of the service an ECS ARN names: a service
/// (`...:service/CLUSTER/NAME`) or one of its deployments (`...:service-deployment/CLUSTER/NAME/ID`).
/// Short-form service ARNs (`service/NAME`, before 2021) name no cluster: `None`.
pub fn service_of_arn(arn: &str) -> Option<(&str, &str)> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let mut parts = resource.split('/');
    match (parts.next()?, parts.next()?, parts.next()?) {
        ("service" | "service-deployment", cluster, name) => Some((cluster, name)),
        _ => None,
    }
}

async fn describe_services(
    client: &ecs::Client,
    caller: &Caller,
    cluster: String,
    names: Vec<String>,
) -> BatchResult<ServiceAnswer> {
    // Only a ServiceNotFoundException names a service; any other "not found" (a cluster, say)
    // is passed on, never read as "no such service".
    let service_not_found =
        |error: &AwsError| error.code.as_deref() == Some("ServiceNotFoundException");
    match describe_batch(client, caller, &cluster, &names).await {
        // One name the call cannot resolve fails it for all: describe them one by one, so a
        // service purged a moment ago cannot hold up (or block the deletion of) the nine others.
        Err(error) if service_not_found(&error) && names.len() > 1 => {
            let mut found = HashMap::new();
            for name in &names {
                match describe_batch(client, caller, &cluster, std::slice::from_ref(name)).await {
                    Ok(one) => found.extend(one),
                    Err(error) if service_not_found(&error) => {}
                    Err(error) => {
                        found.insert(name.clone(), Err(error));
                    }
                }
            }
            Ok(found)
        }
        // The one service asked for does not exist.
        Err(error) if service_not_found(&error) => Ok(HashMap::new()),
        other => other,
    }
}

/// One DescribeServices call of at most ten names.
async fn describe_batch(
    client: &ecs::Client,
    caller: &Caller,
    cluster: &str,
    names: &[String],
) -> BatchResult<ServiceAnswer> {
    let output = caller
        .send(
            ApiCategory::ServiceRead,
            "DescribeServices",
            Repeat::Safe,
            || {
                client
                    .describe_services()
                    .cluster(cluster)
                    .set_services(Some(names.to_vec()))
                    .include(ecs::types::ServiceField::Tags)
                    .send()
            },
        )
        .await?;
    let failures = output
        .failures()
        .iter()
        .map(|f| DescribeFailure {
            arn: f.arn().unwrap_or_default().to_owned(),
            reason: f.reason().unwrap_or_default().to_owned(),
            detail: f.detail().map(str::to_owned),
        })
        .collect::<Vec<_>>();
    Ok(answers_of(
        names,
        output.services().iter().map(service_of).collect(),
        &failures,
    ))
}

/// A DescribeServices failure entry.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DescribeFailure {
    arn: String,
    reason: String,
    detail: Option<String>,
}

/// Each asked-for name's answer: the service, an error when ECS gave a failure other than
/// MISSING for it (it may well exist: never read that as "absent", which would create it again),
/// and nothing when ECS does not know it.
fn answers_of(
    names: &[String],
    services: Vec<ServiceObservation>,
    failures: &[DescribeFailure],
) -> HashMap<String, ServiceAnswer> {
    let mut found = HashMap::new();
    for observed in services {
        // Callers may have asked by name or by ARN.
        for key in names {
            if *key == observed.name || *key == observed.arn {
                found.insert(key.clone(), Ok(observed.clone()));
            }
        }
    }
    for failure in failures.iter().filter(|f| f.reason != "MISSING") {
        // Failures name the service by ARN (`.../service/<cluster>/<name>`, or the older
        // `.../service/<name>`), or as it was asked.
        for key in names
            .iter()
            .filter(|key| failure.arn == **key || failure.arn.ends_with(&format!("/{key}")))
        {
            found.entry(key.clone()).or_insert_with(|| {
                Err(AwsError {
                    kind: AwsErrorKind::Transient,
                    operation: "ecs:DescribeServices".into(),
                    code: Some(failure.reason.clone()),
                    message: format!(
                        "ECS could not describe {}: {}",
                        failure.arn,
                        failure.detail.as_deref().unwrap_or(&failure.reason)
                    ),
                })
            });
        }
    }
    found
}

/// An answer without the member it always carries: a broken answer, tried again.
pub(super) fn missing(operation: &str, member: &str) -> AwsError {
    AwsError::local(
        super::error::AwsErrorKind::Transient,
        &format!("ecs:{operation}"),
        format!("the answer had no {member}"),
    )
}

fn revision_of(td: &ecs::types::TaskDefinition) -> TaskDefinitionRevision {
    TaskDefinitionRevision {
        arn: td.task_definition_arn().unwrap_or_default().to_owned(),
        family: td.family().unwrap_or_default().to_owned(),
        revision: td.revision(),
        status: td.status().map(|s| s.as_str().into()).unwrap_or_default(),
        essential_containers: td
            .container_definitions()
            .iter()
            .filter(|c| c.essential() != Some(false))
            .filter_map(|c| c.name().map(str::to_owned))
            .collect(),
    }
}

fn service_of(service: &ecs::types::Service) -> ServiceObservation {
    ServiceObservation {
        arn: service.service_arn().unwrap_or_default().to_owned(),
        name: service.service_name().unwrap_or_default().to_owned(),
        cluster_arn: service.cluster_arn().unwrap_or_default().to_owned(),
        status: service.status().unwrap_or_default().into(),
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
                status: d.status().unwrap_or_default().into(),
                task_definition: d.task_definition().unwrap_or_default().to_owned(),
                rollout_state: d.rollout_state().map(|r| r.as_str().into()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_owned),
                desired_count: d.desired_count(),
                running_count: d.running_count(),
                pending_count: d.pending_count(),
                failed_tasks: d.failed_tasks(),
                created_at: d.created_at().map(|t| t.secs()),
            })
            .collect(),
        // ECS answers up to 100 events, newest first; a pass tells at most the 10 newest, and
        // the read-ahead cache holds an observation per followed service.
        events: service
            .events()
            .iter()
            .take(SERVICE_EVENTS_KEPT)
            .map(|e| ServiceEventObservation {
                id: e.id().unwrap_or_default().to_owned(),
                created_at: e.created_at().map(|t| t.secs()),
                message: e.message().unwrap_or_default().to_owned(),
            })
            .collect(),
        settings: answers::service_settings(service),
        tags: service.tags().iter().map(answers::tag).collect(),
        current_service_deployment: service.current_service_deployment().map(str::to_owned),
        task_sets: service
            .task_sets()
            .iter()
            .map(|t| TaskSetObservation {
                id: t.id().unwrap_or_default().to_owned(),
                status: t.status().unwrap_or_default().to_owned(),
                task_definition: t.task_definition().unwrap_or_default().to_owned(),
                external_id: t.external_id().map(str::to_owned),
                computed_desired_count: t.computed_desired_count(),
                running_count: t.running_count(),
                pending_count: t.pending_count(),
                stability_status: t.stability_status().map(|s| s.as_str().to_owned()),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str) -> ServiceObservation {
        ServiceObservation {
            arn: format!("arn:aws:ecs:us-east-1:1:service/prod/{name}"),
            name: name.into(),
            ..Default::default()
        }
    }

    fn failure(name: &str, reason: &str) -> DescribeFailure {
        DescribeFailure {
            arn: format!("arn:aws:ecs:us-east-1:1:service/prod/{name}"),
            reason: reason.into(),
            detail: None,
        }
    }

    #[test]
    fn only_missing_means_absent() {
        let names: Vec<String> = ["web", "api", "gone", "odd"].map(String::from).to_vec();
        let answers = answers_of(
            &names,
            vec![service("web"), service("api")],
            &[failure("gone", "MISSING"), failure("odd", "INTERNAL_ERROR")],
        );
        assert_eq!(answers["web"].as_ref().map(|s| s.name.as_str()), Ok("web"));
        assert_eq!(answers["api"].as_ref().map(|s| s.name.as_str()), Ok("api"));
        assert!(!answers.contains_key("gone"), "MISSING is absent");
        let odd = answers["odd"].as_ref().expect_err("an error, not absent");
        assert_eq!(odd.code.as_deref(), Some("INTERNAL_ERROR"));
        assert!(odd.is_retryable());
    }

    #[test]
    fn services_asked_by_arn_are_answered_by_arn() {
        let arn = "arn:aws:ecs:us-east-1:1:service/prod/web".to_owned();
        let answers = answers_of(std::slice::from_ref(&arn), vec![service("web")], &[]);
        assert!(answers[&arn].is_ok());
        let answers = answers_of(
            std::slice::from_ref(&arn),
            vec![],
            &[failure("web", "ACCESS_DENIED")],
        );
        assert!(answers[&arn].is_err());
    }

    #[test]
    fn a_service_or_service_deployment_arn_names_its_cluster_and_service() {
        assert_eq!(
            service_of_arn("arn:aws:ecs:us-east-1:123456789012:service/prod/web"),
            Some(("prod", "web"))
        );
        assert_eq!(
            service_of_arn(
                "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/Ykxzb1eX"
            ),
            Some(("prod", "web"))
        );
        assert_eq!(
            service_of_arn("arn:aws:ecs:us-east-1:123456789012:service/web"),
            None
        );
        assert_eq!(
            service_of_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"),
            None
        );
        assert_eq!(service_of_arn("not an arn"), None);
    }
}
