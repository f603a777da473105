//! The controllers. Shared machinery here (`runner`: watch, finalizer, status write, Events,
//! backoff; `error`: error classes and their reactions; `conditions`; `metrics`), and one
//! submodule per kind holding only its own observe -> plan (pure) -> apply.

pub mod capacity_provider;
pub mod cluster;
pub mod conditions;
pub mod error;
pub mod events;
pub mod gates;
pub mod identity;
pub mod metrics;
pub mod own_writes;
pub mod pipeline;
pub mod preview;
pub mod registry;
pub mod runner;
pub mod scaling_policy;
pub mod service;
pub mod stopped_tasks;
pub mod task;
pub mod task_definition;
pub mod waits;
mod writes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::aws::AwsClients;
pub use error::{ErrorClass, ReconcileError};
pub use metrics::Metrics;

/// Settings of the controllers.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Watch only this namespace (all when `None`).
    pub namespace: Option<String>,
    /// How often a settled object is checked again for drift in AWS (and a terminal failure
    /// tried again).
    pub resync: Duration,
    /// Longest wait between retries of a failing object.
    pub max_backoff: Duration,
    /// How soon to look again while waiting (a reference, a rollout, a draining service).
    pub poll: Duration,
    /// Objects reconciled at once per controller (0: unbounded).
    pub concurrency: u16,
    /// Observe and report only: no AWS writes for any object (`--read-only`).
    pub read_only: bool,
    /// Reconcile only objects whose labels match (`--selector`), so that two installs (per
    /// region or account) split the objects between them and never reconcile the same one.
    pub selector: Option<String>,
    /// What deleting an object does in AWS when neither its spec nor its namespace's
    /// `ecs.operator.dev/deletion-policy` annotation says (`--default-deletion-policy`).
    pub default_deletion_policy: crate::api::DeletionPolicy,
    /// Objects without the adopt annotation take over what an object of the same namespace
    /// and name created (`--adopt-same-owner`, for moving to a new Kubernetes cluster).
    pub adopt_same_owner: bool,
    /// Namespaces without `ecs.operator.dev/aws-role-arn` are not reconciled (Stalled, naming
    /// the annotation) instead of using the operator's own AWS identity
    /// (`--require-namespace-role`).
    pub require_namespace_role: bool,
    /// Where the Secrets named by `ecs.operator.dev/aws-external-id-secret` live: the
    /// operator's own namespace (tenants cannot write there).
    pub operator_namespace: String,
    /// How long a namespace's identity annotations are trusted before they are read again.
    pub namespace_ttl: Duration,
    /// How long an object waits for another (its task definition, its service) before the wait
    /// is told as an Event (`--wait-event-after-seconds`); the condition says so at once.
    pub wait_event_after: Duration,
}

/// Values read from Kubernetes by name, with when they were read (shared by derived contexts).
type TtlCache<V> = Arc<Mutex<HashMap<String, (std::time::Instant, V)>>>;

/// A Secret's data.
type SecretData = std::collections::BTreeMap<String, k8s_openapi::ByteString>;

/// A namespace's annotations (empty when it does not exist).
type NamespaceAnnotations = std::collections::BTreeMap<String, String>;

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            namespace: None,
            resync: Duration::from_secs(600),
            max_backoff: Duration::from_secs(300),
            poll: Duration::from_secs(5),
            concurrency: 32,
            read_only: false,
            selector: None,
            default_deletion_policy: crate::api::DeletionPolicy::Delete,
            adopt_same_owner: false,
            require_namespace_role: false,
            operator_namespace: "default".to_owned(),
            namespace_ttl: Duration::from_secs(30),
            wait_event_after: Duration::from_secs(30),
        }
    }
}

/// What every reconcile shares.
pub struct Context {
    /// Kubernetes.
    pub client: kube::Client,
    /// AWS.
    pub aws: AwsClients,
    /// One recorder per process, so repeated Events aggregate into series.
    pub recorder: events::EventRecorder,
    /// Settings.
    pub config: ControllerConfig,
    /// Reconcile metrics.
    pub metrics: Metrics,
    /// Which watch caches are filled, for the readiness probe.
    pub caches: CacheSync,
    retries: Arc<Mutex<HashMap<String, u32>>>,
    /// The waits for other objects under way, for when to tell them as Events.
    pub waits: waits::WaitNotices,
    /// The AWS identity of `aws` as status records it ([`crate::aws::accounts::Identity::label`]).
    pub aws_identity: String,
    /// Secrets read for external IDs (their data), with when they were read.
    external_ids: TtlCache<Option<SecretData>>,
    /// Namespace annotations read for AWS identities, with when they were read.
    namespaces: TtlCache<NamespaceAnnotations>,
    /// Held while a namespace is read, so the passes that all miss at a start wait for one read.
    namespace_reads: Arc<tokio::sync::Mutex<()>>,
}

/// The longest a namespace's annotations are waited for (one read at a time fills the cache).
const NAMESPACE_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Counts the controllers started and those whose watch cache holds the first full list, so
/// the readiness probe can wait for all of them; cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct CacheSync {
    counts: Arc<Mutex<(usize, usize)>>,
}

impl CacheSync {
    /// A controller started filling its cache.
    pub fn started(&self) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.0 += 1;
        }
    }

    /// A controller's cache is filled.
    pub fn synced(&self) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.1 += 1;
        }
    }

    /// Whether at least one controller started and every started one is synced.
    pub fn all_synced(&self) -> bool {
        self.counts
            .lock()
            .map(|counts| counts.0 > 0 && counts.1 >= counts.0)
            .unwrap_or(false)
    }
}

impl Context {
    /// A context; `reporter` names the controller in Events.
    pub fn new(
        client: kube::Client,
        aws: AwsClients,
        config: ControllerConfig,
        reporter: &str,
    ) -> Self {
        let recorder = events::EventRecorder::new(
            client.clone(),
            reporter,
            crate::runtime::leader::process_name(),
        );
        let metrics = Metrics::default();
        metrics.watch_aws(aws.counters.clone(), aws.limits.clone());
        let waits = waits::WaitNotices::new(config.wait_event_after);
        Self {
            client,
            aws,
            recorder,
            config,
            metrics,
            caches: CacheSync::default(),
            retries: Arc::new(Mutex::new(HashMap::new())),
            waits,
            aws_identity: crate::aws::accounts::Identity::default().label(),
            namespaces: Arc::new(Mutex::new(HashMap::new())),
            namespace_reads: Arc::default(),
            external_ids: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The same clients, recorder, metrics and cache tracking, watching `namespace` (one
    /// context per namespace when the operator watches a list of them).
    pub fn for_namespace(&self, namespace: Option<String>) -> Self {
        Self {
            client: self.client.clone(),
            aws: self.aws.clone(),
            recorder: self.recorder.clone(),
            config: ControllerConfig {
                namespace,
                ..self.config.clone()
            },
            metrics: self.metrics.clone(),
            caches: self.caches.clone(),
            retries: Arc::new(Mutex::new(HashMap::new())),
            waits: self.waits.clone(),
            aws_identity: crate::aws::accounts::Identity::default().label(),
            namespaces: Arc::new(Mutex::new(HashMap::new())),
            namespace_reads: Arc::default(),
            external_ids: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The API of kind `K` over what this context watches: its namespace, or all of them.
    pub fn watched_api<K>(&self) -> kube::Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        match &self.config.namespace {
            Some(namespace) => kube::Api::namespaced(self.client.clone(), namespace),
            None => kube::Api::all(self.client.clone()),
        }
    }

    /// The object of kind `K` that the owner tags on an AWS resource name, when it exists with
    /// that UID and is not `uid` (the object asking): `namespace/name` for messages. Adopting a
    /// resource another live object owns would make both manage it (and either delete it), so
    /// adoption refuses it; an owner that is gone (deleted with `deletionPolicy: Retain`, or
    /// its cluster rebuilt) leaves the resource free to adopt.
    pub async fn live_other_owner<K>(
        &self,
        owner_uid: Option<&str>,
        owner: Option<&str>,
        uid: &str,
    ) -> Result<Option<String>, ReconcileError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let (Some(owner_uid), Some((namespace, name))) =
            (owner_uid, owner.and_then(|o| o.split_once('/')))
        else {
            return Ok(None);
        };
        if owner_uid == uid {
            return Ok(None);
        }
        let api: kube::Api<K> = kube::Api::namespaced(self.client.clone(), namespace);
        let found = match api.get_opt(name).await {
            Ok(found) => found,
            // Outside what this operator may read: it cannot tell, so it takes the tag's word.
            Err(kube::Error::Api(status)) if status.code == 403 => {
                return Ok(Some(format!("{namespace}/{name}")));
            }
            Err(error) => return Err(error.into()),
        };
        Ok(found
            .filter(|object| object.meta().uid.as_deref() == Some(owner_uid))
            .map(|_| format!("{namespace}/{name}")))
    }

    /// [`Context::live_other_owner`] of a resource with `tags` that is not owned by `uid`;
    /// `None` when it is (nothing to refuse).
    pub async fn claimed_by_other<K>(
        &self,
        tags: &[crate::api::common::Tag],
        uid: &str,
    ) -> Result<Option<String>, ReconcileError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        use crate::translate::tags as t;
        if t::is_owned_by(tags, uid) {
            return Ok(None);
        }
        self.live_other_owner::<K>(t::value(tags, t::OWNER_UID), t::value(tags, t::OWNER), uid)
            .await
    }

    /// This context with another identity's AWS clients (the rest shared).
    fn with_aws(&self, aws: AwsClients, identity: &crate::aws::accounts::Identity) -> Self {
        Self {
            client: self.client.clone(),
            aws,
            aws_identity: identity.label(),
            recorder: self.recorder.clone(),
            config: self.config.clone(),
            metrics: self.metrics.clone(),
            caches: self.caches.clone(),
            retries: self.retries.clone(),
            waits: self.waits.clone(),
            namespaces: self.namespaces.clone(),
            namespace_reads: self.namespace_reads.clone(),
            external_ids: self.external_ids.clone(),
        }
    }

    /// Takes `namespace` as read now with no annotations (tests without an API server).
    #[cfg(test)]
    pub(crate) fn know_namespace(&self, namespace: &str) {
        if let Ok(mut cache) = self.namespaces.lock() {
            cache.insert(
                namespace.to_owned(),
                (std::time::Instant::now(), NamespaceAnnotations::new()),
            );
        }
    }

    /// The annotations of `namespace`, read at most every `namespace_ttl`.
    async fn namespace_annotations(
        &self,
        namespace: &str,
    ) -> Result<NamespaceAnnotations, ReconcileError> {
        let cached = || {
            self.namespaces
                .lock()
                .ok()
                .and_then(|n| n.get(namespace).cloned())
                .filter(|(read, _)| read.elapsed() < self.config.namespace_ttl)
                .map(|(_, annotations)| annotations)
        };
        if let Some(annotations) = cached() {
            return Ok(annotations);
        }
        let _reading = self.namespace_reads.lock().await;
        // Another pass may have read it while this one waited.
        if let Some(annotations) = cached() {
            return Ok(annotations);
        }
        let now = std::time::Instant::now();
        let api: kube::Api<k8s_openapi::api::core::v1::Namespace> =
            kube::Api::all(self.client.clone());
        // Bounded: the passes of every namespace not cached wait behind this read.
        let read = tokio::time::timeout(NAMESPACE_READ_TIMEOUT, api.get_metadata_opt(namespace))
            .await
            .map_err(|_| {
                ReconcileError::waiting(
                    "NamespaceUnreadable",
                    format!(
                        "reading namespace {namespace} (its AWS identity annotations) took over {}s",
                        NAMESPACE_READ_TIMEOUT.as_secs()
                    ),
                )
            })?;
        let annotations = read?
            .and_then(|n| n.metadata.annotations)
            .unwrap_or_default();
        if let Ok(mut cache) = self.namespaces.lock() {
            cache.insert(namespace.to_owned(), (now, annotations.clone()));
        }
        Ok(annotations)
    }

    /// The AWS identity objects of `namespace` are reconciled with, from its annotations.
    pub async fn identity(
        &self,
        namespace: &str,
    ) -> Result<crate::aws::accounts::Identity, ReconcileError> {
        let annotations = self.namespace_annotations(namespace).await?;
        let external_id =
            match annotations.get(crate::api::common::AWS_EXTERNAL_ID_SECRET_ANNOTATION) {
                Some(secret) => Some(self.external_id(namespace, secret).await?),
                None => None,
            };
        identity::from_annotations(namespace, &annotations, external_id)
    }

    /// The external ID in the Secret `name` of the operator's namespace (key `external-id`).
    async fn external_id(&self, namespace: &str, name: &str) -> Result<String, ReconcileError> {
        use crate::api::common::AWS_EXTERNAL_ID_SECRET_ANNOTATION as ANNOTATION;
        let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
            kube::Api::namespaced(self.client.clone(), &self.config.operator_namespace);
        let cached = self
            .external_ids
            .lock()
            .ok()
            .and_then(|ids| ids.get(name).cloned())
            .filter(|(read, _)| read.elapsed() < self.config.namespace_ttl);
        let data = match cached {
            Some((_, data)) => data,
            None => {
                let data = secrets.get_opt(name).await?.and_then(|s| s.data);
                if let Ok(mut ids) = self.external_ids.lock() {
                    ids.insert(name.to_owned(), (std::time::Instant::now(), data.clone()));
                }
                data
            }
        };
        data
            .and_then(|data| data.get("external-id").cloned())
            .and_then(|bytes| String::from_utf8(bytes.0).ok())
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .map(|id| {
                if identity::is_external_id(&id) {
                    Ok(id)
                } else {
                    // The value stays out of the message: status and Events are the tenant's.
                    Err(ReconcileError::blocked(
                        "InvalidExternalId",
                        format!(
                            "namespace {namespace} annotation {ANNOTATION}: the key external-id of Secret {name} is not an external ID STS takes (2-1224 of letters, digits and _+=,.@:/-)"
                        ),
                    ))
                }
            })
            .transpose()?
            .ok_or_else(|| {
                ReconcileError::blocked(
                    "ExternalIdMissing",
                    format!(
                        "namespace {namespace} annotation {ANNOTATION} names Secret {name}, which has no key external-id in namespace {}",
                        self.config.operator_namespace
                    ),
                )
            })
    }

    /// The context to reconcile an object of `namespace` with: `None` for this one (the
    /// operator's own identity), else one with the namespace's AWS clients. A role that cannot
    /// be assumed, or a namespace without one under `--require-namespace-role`, is an error
    /// that names the annotation.
    pub async fn for_object_namespace(
        &self,
        namespace: &str,
    ) -> Result<Option<Self>, ReconcileError> {
        use crate::api::common::AWS_ROLE_ANNOTATION;
        let identity = self.identity(namespace).await?;
        if identity.role_arn.is_none() && self.config.require_namespace_role {
            return Err(ReconcileError::blocked(
                "NamespaceRoleRequired",
                format!(
                    "namespace {namespace} has no {AWS_ROLE_ANNOTATION} annotation; this operator (--require-namespace-role) reconciles a namespace only with an AWS role of its own: ask the platform team to annotate the namespace"
                ),
            ));
        }
        if identity.is_default() {
            return Ok(None);
        }
        let aws = self
            .aws
            .for_identity(&identity)
            .await
            .map_err(|mut error| {
                error.message = format!(
                    "namespace {namespace} ({AWS_ROLE_ANNOTATION}): {}",
                    error.message
                );
                ReconcileError::from(error)
            })?;
        Ok(Some(self.with_aws(aws, &identity)))
    }

    /// How this context's watches list and watch a kind: only the objects its selector matches.
    /// A labelled object that stops matching leaves the cache as if deleted (its finalizer
    /// stays for the install that matches it now).
    pub fn watch_config(&self) -> kube::runtime::watcher::Config {
        let config = kube::runtime::watcher::Config::default();
        match self
            .config
            .selector
            .as_deref()
            .filter(|s| !s.trim().is_empty())
        {
            Some(selector) => config.labels(selector),
            None => config,
        }
    }

    /// The deletion policy of an object whose spec says `spec` in `namespace`: the spec's, else
    /// the namespace's `ecs.operator.dev/deletion-policy` annotation (read at deletion time, so
    /// a namespace being deleted still answers), else `--default-deletion-policy`. A namespace
    /// that cannot be read, or an annotation that is no policy, stops the deletion (it waits)
    /// rather than deleting what may have been marked to keep.
    pub async fn deletion_policy(
        &self,
        spec: Option<crate::api::DeletionPolicy>,
        namespace: &str,
    ) -> Result<crate::api::DeletionPolicy, ReconcileError> {
        use crate::api::{DELETION_POLICY_ANNOTATION, DeletionPolicy};
        if let Some(policy) = spec {
            return Ok(policy);
        }
        let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
            kube::Api::all(self.client.clone());
        let found = namespaces.get_metadata_opt(namespace).await?;
        let annotation = found
            .as_ref()
            .and_then(|n| n.metadata.annotations.as_ref())
            .and_then(|a| a.get(DELETION_POLICY_ANNOTATION));
        DeletionPolicy::effective(
            None,
            annotation.map(String::as_str),
            self.config.default_deletion_policy,
        )
        .map_err(|problem| {
            ReconcileError::blocked(
                "InvalidDeletionPolicy",
                format!(
                    "namespace {namespace} annotation {DELETION_POLICY_ANNOTATION}: {problem} \
                     (or set spec.deletionPolicy); the deletion waits until then"
                ),
            )
        })
    }

    /// How long an account-wide listing answers drift checks: half the resync period (between
    /// 1 s and 10 min), so two listings serve every pass of a resync however its objects' passes
    /// are spread over it (a cold start spreads them over the whole period), and out-of-band
    /// changes are seen at most that much later. A tenth cost 10 listings a resync: with
    /// DescribeScalingPolicies' 10 a page, more reads than one per policy.
    pub fn listing_window(&self) -> Duration {
        (self.config.resync / 2).clamp(Duration::from_secs(1), Duration::from_secs(600))
    }

    /// Counts a failed attempt for `key` and returns how long to wait before the next one.
    pub fn next_backoff(&self, key: &str) -> Duration {
        let attempt = self
            .retries
            .lock()
            .map(|mut retries| {
                let n = retries.entry(key.to_owned()).or_insert(0);
                *n += 1;
                *n
            })
            .unwrap_or(1);
        backoff(attempt, self.config.max_backoff)
    }

    /// Forgets the failures of `key` after a success.
    pub fn reset_backoff(&self, key: &str) {
        if let Ok(mut retries) = self.retries.lock() {
            retries.remove(key);
        }
    }
}

/// The adoption `object`'s adopt annotation asks for (see [`crate::translate::tags::Adoption`]).
pub fn adoption_of<K: kube::Resource>(object: &K) -> crate::translate::tags::Adoption {
    let meta = object.meta();
    crate::translate::tags::Adoption::from_annotation(
        meta.annotations
            .as_ref()
            .and_then(|a| a.get(crate::api::ADOPT_ANNOTATION))
            .map(String::as_str),
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default(),
    )
}

/// Whether `object` is Ready for its current generation: what an object that references it
/// (`taskDefinitionRef`, `clusterRef`) waits for.
pub fn is_ready<K: runner::Managed>(object: &K) -> bool {
    let Some(mut status) = object.status().cloned() else {
        return false;
    };
    let generation = kube::Resource::meta(object).generation;
    let shared = K::reconcile_status(&mut status);
    shared.observed_generation == generation
        && shared
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// The status of the EcsCluster `reference` names in `namespace`, once it is Ready: what
/// `clusterRef` waits for (EcsService, EcsTask, EcsCapacityProvider).
pub async fn ready_cluster(
    ctx: &Context,
    namespace: &str,
    reference: &crate::api::service::LocalObjectReference,
) -> Result<crate::api::EcsClusterStatus, ReconcileError> {
    let api: kube::Api<crate::api::EcsCluster> =
        kube::Api::namespaced(ctx.client.clone(), namespace);
    match api.get_opt(&reference.name).await? {
        Some(cluster) if is_ready(&cluster) => Ok(cluster.status.unwrap_or_default()),
        found => Err(ReconcileError::waiting(
            if found.is_some() {
                "ClusterNotReady"
            } else {
                "ClusterNotFound"
            },
            format!(
                "waiting for EcsCluster {} (spec.clusterRef) in namespace {namespace} to be Ready",
                reference.name
            ),
        )),
    }
}

/// Exponential backoff from 1 s, capped, with full jitter in its upper half so that many objects
/// failing together (a throttled account) do not retry together.
pub fn backoff(attempt: u32, max: Duration) -> Duration {
    let exponential = Duration::from_secs(1)
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16)));
    let capped = exponential.min(max);
    let half = capped / 2;
    half + half.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let max = Duration::from_secs(60);
        for attempt in 1..20 {
            let wait = backoff(attempt, max);
            let ceiling = Duration::from_secs(1 << (attempt - 1).min(16)).min(max);
            assert!(
                wait >= ceiling / 2 && wait <= ceiling,
                "attempt {attempt}: {wait:?}"
            );
        }
    }
}
