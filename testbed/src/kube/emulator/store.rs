//! The emulator's state: resource types (built-in and from CRDs), objects, the global resource
//! version, the watch history, and every write rule of the Kubernetes API conventions.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use super::apply::{leaf_paths, release_changed_fields, server_side_apply, set_managed_fields};
use super::events;
use super::schema::{self, Cause};
use super::selectors::{FieldSelector, LabelSelector};

/// How many watch events are kept for watches resuming from an older resource version.
pub const HISTORY_LIMIT: usize = 100_000;

/// A resource type the emulator serves.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceType {
    /// API group (`""` for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names (`ecssvc`).
    pub short_names: Vec<String>,
    /// Categories (`ecs`).
    pub categories: Vec<String>,
    /// Whether `/status` is a subresource.
    pub status_subresource: bool,
    /// The openAPIV3Schema (custom resources only), shared: every request looks its type up.
    pub schema: Option<Arc<CrdSchema>>,
    /// additionalPrinterColumns (custom resources only).
    pub printer_columns: Vec<Value>,
}

/// A custom resource version's openAPIV3Schema with its `x-kubernetes-validations` rules compiled
/// once, when the CRD is stored, as the API server does. Compiling them and copying the schema on
/// every write took a quarter of the benchmark process's CPU during a 2,200-object cold start
/// (`perf`), CPU the stack under test shares on 2 cores.
pub struct CrdSchema {
    /// The schema as the CRD gives it.
    pub openapi: Value,
    /// Its CEL rules, compiled.
    rules: ::kube::core::cel::CompiledSchema,
}

impl CrdSchema {
    /// Compiles the rules of `openapi`.
    pub fn new(openapi: Value) -> Self {
        let rules = ::kube::core::cel::compile_schema(&openapi);
        Self { openapi, rules }
    }
}

impl PartialEq for CrdSchema {
    fn eq(&self, other: &Self) -> bool {
        // The rules are compiled from the schema.
        self.openapi == other.openapi
    }
}

impl std::fmt::Debug for CrdSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.openapi.fmt(f)
    }
}

impl ResourceType {
    /// `group/version`, or `version` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural.group` (or `plural` for core), as error messages name resources.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    fn key(&self) -> TypeKey {
        self.storage_key()
    }

    /// Where objects of this type are stored, and under which (group, plural) their changes are
    /// recorded: one storage for both versions of events.
    pub fn storage_key(&self) -> (String, String) {
        if events::is_events_k8s_io(&self.group, &self.plural) {
            (String::new(), self.plural.clone())
        } else {
            (self.group.clone(), self.plural.clone())
        }
    }

    /// A stored object as this type serves it (its apiVersion and kind; events converted).
    pub fn present(&self, stored: &Value) -> Value {
        let mut object = if events::is_events_k8s_io(&self.group, &self.plural) {
            events::from_core(stored)
        } else {
            stored.clone()
        };
        object["apiVersion"] = json!(self.api_version());
        object["kind"] = json!(self.kind);
        object
    }

    /// A stored object converted to this type's version, but otherwise as stored (what a patch
    /// in this version applies to).
    fn present_as_sent(&self, stored: &Value) -> Value {
        if events::is_events_k8s_io(&self.group, &self.plural) {
            events::from_core(stored)
        } else {
            stored.clone()
        }
    }

    /// An object sent in this type's version as it is stored.
    fn absorb(&self, sent: Value) -> Value {
        if events::is_events_k8s_io(&self.group, &self.plural) {
            events::to_core(&sent)
        } else {
            sent
        }
    }

    fn builtin(
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        namespaced: bool,
        short_names: &[&str],
    ) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_ascii_lowercase(),
            namespaced,
            short_names: short_names.iter().map(|s| (*s).to_owned()).collect(),
            categories: Vec::new(),
            status_subresource: false,
            schema: None,
            printer_columns: Vec::new(),
        }
    }
}

type TypeKey = (String, String);
type ObjectKey = (String, String);

/// An API error, rendered as a `Status` object.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub code: u16,
    /// `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `BadRequest`, `Gone`, ...
    pub reason: &'static str,
    /// Message.
    pub message: String,
    /// `details` of the Status.
    pub details: Option<Value>,
}

impl ApiError {
    pub(crate) fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// The `Status` body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }

    fn not_found(rt: &ResourceType, name: &str) -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", rt.qualified()),
        );
        e.details = Some(json!({"name": name, "group": rt.group, "kind": rt.plural}));
        e
    }

    fn conflict(rt: &ResourceType, name: &str) -> Self {
        let mut e = Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                rt.qualified()
            ),
        );
        e.details = Some(json!({"name": name, "group": rt.group, "kind": rt.plural}));
        e
    }

    fn invalid(rt: &ResourceType, name: &str, causes: Vec<Cause>) -> Self {
        let summary: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let detail = if summary.len() == 1 {
            summary[0].clone()
        } else {
            format!("[{}]", summary.join(", "))
        };
        let mut e = Self::new(
            422,
            "Invalid",
            format!("{}.{} \"{name}\" is invalid: {detail}", rt.kind, rt.group),
        );
        e.details = Some(json!({
            "name": name, "group": rt.group, "kind": rt.kind,
            "causes": causes.iter().map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field})).collect::<Vec<_>>(),
        }));
        e
    }
}

/// One change, as watches deliver it.
#[derive(Clone, Debug)]
pub struct Change {
    /// Resource version of the change.
    pub rv: u64,
    /// Group and plural of the object.
    pub group: String,
    /// Plural.
    pub plural: String,
    /// Namespace (`""` for cluster-scoped).
    pub namespace: String,
    /// ADDED, MODIFIED or DELETED.
    pub kind: &'static str,
    /// The object after the change (before it, for DELETED, with the new resource version).
    pub object: Value,
}

/// Where an object lives: group, version, plural, namespace (`""` when cluster-scoped), name.
#[derive(Clone, Copy, Debug)]
pub struct ObjectRef<'a> {
    /// API group (`""` for core).
    pub group: &'a str,
    /// Version.
    pub version: &'a str,
    /// Plural resource name.
    pub plural: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Name.
    pub name: &'a str,
}

/// A write option set.
#[derive(Clone, Copy, Debug, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: validate, do not persist.
    pub dry_run: bool,
    /// `fieldValidation=Strict`: unknown fields are an error rather than pruned.
    pub strict: bool,
}

/// A patch, by content type.
#[derive(Clone, Debug)]
pub enum Patch {
    /// RFC 7386 (`application/merge-patch+json`; also used for strategic merge patches).
    Merge(Value),
    /// RFC 6902 (`application/json-patch+json`).
    Json(Value),
    /// Server-side apply (`application/apply-patch+yaml`).
    Apply {
        /// The applied configuration.
        config: Value,
        /// `fieldManager`.
        manager: String,
        /// `force`.
        force: bool,
    },
}

struct Inner {
    rv: u64,
    types: Vec<ResourceType>,
    objects: HashMap<TypeKey, BTreeMap<ObjectKey, Value>>,
    history: VecDeque<Change>,
    /// Watches may resume from this resource version or later.
    oldest_rv: u64,
}

/// The emulator's state, shared by all connections.
pub struct Store {
    inner: Mutex<Inner>,
    changes: broadcast::Sender<Arc<Change>>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// A store with the built-in kinds and the `default`, `kube-system` and `kube-public` namespaces.
    pub fn new() -> Self {
        let types = vec![
            ResourceType::builtin("", "v1", "Namespace", "namespaces", false, &["ns"]),
            ResourceType::builtin("", "v1", "Event", "events", true, &["ev"]),
            ResourceType::builtin("", "v1", "Secret", "secrets", true, &[]),
            ResourceType::builtin("", "v1", "ConfigMap", "configmaps", true, &["cm"]),
            ResourceType::builtin("events.k8s.io", "v1", "Event", "events", true, &["ev"]),
            ResourceType::builtin("coordination.k8s.io", "v1", "Lease", "leases", true, &[]),
            ResourceType::builtin(
                "apiextensions.k8s.io",
                "v1",
                "CustomResourceDefinition",
                "customresourcedefinitions",
                false,
                &["crd", "crds"],
            ),
        ];
        let (changes, _) = broadcast::channel(65_536);
        let store = Self {
            inner: Mutex::new(Inner {
                rv: 1,
                types,
                objects: HashMap::new(),
                history: VecDeque::new(),
                oldest_rv: 1,
            }),
            changes,
        };
        for namespace in ["default", "kube-system", "kube-public"] {
            let ns =
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
            let _ = store.create("", "v1", "namespaces", "", ns, WriteOptions::default());
        }
        store
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every served type.
    pub fn types(&self) -> Vec<ResourceType> {
        self.lock().types.clone()
    }

    /// The type served at group/version/plural.
    pub fn resource_type(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.lock()
            .types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// The current resource version.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Number of stored objects (all types).
    pub fn object_count(&self) -> usize {
        self.lock().objects.values().map(BTreeMap::len).sum()
    }

    /// Subscribes to changes of a type from `from_rv` on: the changes already in history, then a
    /// live receiver. `Err(Gone)` when `from_rv` is older than the history kept.
    pub fn watch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        from_rv: u64,
    ) -> Result<(Vec<Change>, broadcast::Receiver<Arc<Change>>), ApiError> {
        let inner = self.lock();
        if from_rv + 1 < inner.oldest_rv {
            return Err(ApiError::new(
                410,
                "Expired",
                format!(
                    "too old resource version: {from_rv} ({})",
                    inner.oldest_rv - 1
                ),
            ));
        }
        let receiver = self.changes.subscribe();
        let replay = inner
            .history
            .iter()
            .filter(|c| c.rv > from_rv && (c.group.clone(), c.plural.clone()) == rt.storage_key())
            .filter(|c| namespace.is_none_or(|ns| c.namespace == ns))
            .cloned()
            .collect();
        Ok((replay, receiver))
    }

    /// Forgets the watch history: watches resuming from before now get 410 Gone.
    pub fn compact(&self) {
        let mut inner = self.lock();
        inner.history.clear();
        inner.oldest_rv = inner.rv + 1;
    }

    /// One object.
    pub fn get(&self, at: &ObjectRef<'_>) -> Result<Value, ApiError> {
        let ObjectRef {
            group,
            version,
            plural,
            namespace,
            name,
        } = *at;
        let inner = self.lock();
        let rt = find_type(&inner, group, version, plural)?;
        inner
            .objects
            .get(&rt.key())
            .and_then(|objects| objects.get(&(namespace.to_owned(), name.to_owned())))
            .map(|o| with_type(o, &rt))
            .ok_or_else(|| ApiError::not_found(&rt, name))
    }

    /// Objects of a type (in a namespace, or all), filtered, paginated by `limit`/`continue`.
    /// Returns (items, resource version, continue token).
    #[allow(clippy::too_many_arguments)]
    pub fn list(
        &self,
        group: &str,
        version: &str,
        plural: &str,
        namespace: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: Option<usize>,
        continue_after: Option<&str>,
    ) -> Result<(Vec<Value>, u64, Option<String>), ApiError> {
        let inner = self.lock();
        let rt = find_type(&inner, group, version, plural)?;
        let after: Option<ObjectKey> = match continue_after {
            None | Some("") => None,
            Some(token) => Some(
                token
                    .split_once('/')
                    .map(|(ns, name)| (ns.to_owned(), name.to_owned()))
                    .ok_or_else(|| ApiError::new(400, "BadRequest", "invalid continue token"))?,
            ),
        };
        let mut items = Vec::new();
        let mut next = None;
        if let Some(objects) = inner.objects.get(&rt.key()) {
            for ((ns, name), object) in objects {
                if namespace.is_some_and(|wanted| wanted != ns) {
                    continue;
                }
                if after
                    .as_ref()
                    .is_some_and(|(a_ns, a_name)| (ns, name) <= (a_ns, a_name))
                {
                    continue;
                }
                // Selectors name the fields of the version listed (one storage serves both
                // versions of events).
                let view = if events::is_events_k8s_io(&rt.group, &rt.plural) {
                    std::borrow::Cow::Owned(rt.present(object))
                } else {
                    std::borrow::Cow::Borrowed(object)
                };
                if !labels.matches(&view) || !fields.matches(&view) {
                    continue;
                }
                if limit.is_some_and(|l| items.len() >= l) {
                    next = items.last().map(|o: &Value| {
                        format!(
                            "{}/{}",
                            o["metadata"]["namespace"].as_str().unwrap_or(""),
                            o["metadata"]["name"].as_str().unwrap_or("")
                        )
                    });
                    break;
                }
                items.push(with_type(object, &rt));
            }
        }
        Ok((items, inner.rv, next))
    }

    /// Creates an object.
    pub fn create(
        &self,
        group: &str,
        version: &str,
        plural: &str,
        namespace: &str,
        mut object: Value,
        options: WriteOptions,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let rt = find_type(&inner, group, version, plural)?;
        if !object.is_object() {
            return Err(ApiError::new(
                400,
                "BadRequest",
                "the body must be a JSON object",
            ));
        }
        object = rt.absorb(object);
        let body_ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if rt.namespaced && !body_ns.is_empty() && body_ns != namespace {
            return Err(ApiError::new(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let namespace = if rt.namespaced {
            namespace.to_owned()
        } else {
            String::new()
        };
        if rt.namespaced && !namespace_exists(&inner, &namespace) {
            let ns_type = ResourceType::builtin("", "v1", "Namespace", "namespaces", false, &[]);
            return Err(ApiError::not_found(&ns_type, &namespace));
        }
        let name = match object["metadata"]["name"]
            .as_str()
            .filter(|n| !n.is_empty())
        {
            Some(name) => name.to_owned(),
            None => match object["metadata"]["generateName"].as_str() {
                Some(prefix) => format!("{prefix}{}", random_suffix()),
                None => {
                    return Err(ApiError::invalid(
                        &rt,
                        "",
                        vec![Cause {
                            reason: "FieldValueRequired".into(),
                            field: "metadata.name".into(),
                            message: "Required value: name or generateName is required".into(),
                        }],
                    ));
                }
            },
        };
        let key = (namespace.clone(), name.clone());
        if inner
            .objects
            .get(&rt.key())
            .is_some_and(|o| o.contains_key(&key))
        {
            let mut e = ApiError::new(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", rt.qualified()),
            );
            e.details = Some(json!({"name": name, "group": rt.group, "kind": rt.plural}));
            return Err(e);
        }
        if rt.status_subresource
            && let Some(map) = object.as_object_mut()
        {
            map.remove("status");
        }
        admit(&rt, &name, &mut object, None, options)?;
        let now = now_rfc3339();
        let rv = inner.rv + 1;
        let metadata = metadata_mut(&mut object);
        metadata.insert("name".into(), json!(name));
        if rt.namespaced {
            metadata.insert("namespace".into(), json!(namespace));
        } else {
            metadata.remove("namespace");
        }
        metadata.insert("uid".into(), json!(random_uid()));
        metadata.insert("creationTimestamp".into(), json!(now));
        metadata.insert("resourceVersion".into(), json!(rv.to_string()));
        metadata.insert("generation".into(), json!(1));
        metadata.remove("deletionTimestamp");
        metadata.remove("deletionGracePeriodSeconds");
        if rt.key()
            == (
                "apiextensions.k8s.io".into(),
                "customresourcedefinitions".into(),
            )
        {
            crd_established(&mut object);
        }
        if options.dry_run {
            return Ok(with_type(&object, &rt));
        }
        if rt.key()
            == (
                "apiextensions.k8s.io".into(),
                "customresourcedefinitions".into(),
            )
        {
            register_crd(&mut inner, &object)?;
        }
        inner.rv = rv;
        inner
            .objects
            .entry(rt.key())
            .or_default()
            .insert(key, object.clone());
        self.record(&mut inner, &rt, &namespace, "ADDED", &object);
        Ok(with_type(&object, &rt))
    }

    /// Replaces an object (`PUT`), or its status (`PUT .../status`).
    pub fn replace(
        &self,
        at: &ObjectRef<'_>,
        object: Value,
        status: bool,
        options: WriteOptions,
    ) -> Result<Value, ApiError> {
        let ObjectRef {
            group,
            version,
            plural,
            namespace,
            name,
        } = *at;
        let mut inner = self.lock();
        let rt = find_type(&inner, group, version, plural)?;
        let current = current(&inner, &rt, namespace, name)?;
        if let Some(sent) = object["metadata"]["resourceVersion"]
            .as_str()
            .filter(|s| !s.is_empty())
            && Some(sent) != current["metadata"]["resourceVersion"].as_str()
        {
            return Err(ApiError::conflict(&rt, name));
        }
        let mut object = rt.absorb(object);
        release_changed_fields(&current, &mut object, &rt);
        self.write(
            &mut inner, &rt, namespace, name, current, object, status, options,
        )
    }

    /// Patches an object (or its status); an apply patch creates a missing object.
    pub fn patch(
        &self,
        at: &ObjectRef<'_>,
        patch: Patch,
        status: bool,
        options: WriteOptions,
    ) -> Result<Value, ApiError> {
        let ObjectRef {
            group,
            version,
            plural,
            namespace,
            name,
        } = *at;
        let mut inner = self.lock();
        let rt = find_type(&inner, group, version, plural)?;
        // A patch applies to the object as this version shows it.
        let existing = current(&inner, &rt, namespace, name).map(|c| rt.present_as_sent(&c));
        let (current, target) = match (&patch, existing) {
            (
                Patch::Apply {
                    config, manager, ..
                },
                Err(e),
            ) if e.code == 404 && !status => {
                drop(inner);
                let mut object = config.clone();
                set_managed_fields(&mut object, &[(manager.clone(), leaf_paths(config))], &rt);
                return self.create(group, version, plural, namespace, object, options);
            }
            (_, Err(e)) => return Err(e),
            (Patch::Merge(p), Ok(current)) => {
                if let Some(sent) = p["metadata"]["resourceVersion"].as_str()
                    && Some(sent) != current["metadata"]["resourceVersion"].as_str()
                {
                    return Err(ApiError::conflict(&rt, name));
                }
                let mut target = current.clone();
                json_patch::merge(&mut target, p);
                release_changed_fields(&current, &mut target, &rt);
                (current, target)
            }
            (Patch::Json(p), Ok(current)) => {
                // As the API server's JSON patch library does, a `test` for null passes when the
                // path does not exist (kube's finalizer helper relies on it).
                let mut p = p.clone();
                if let Some(ops) = p.as_array_mut() {
                    let mut failed_null_test = None;
                    ops.retain(|op| {
                        let is_null_test = op["op"] == json!("test")
                            && op.get("value").is_some_and(Value::is_null);
                        if !is_null_test {
                            return true;
                        }
                        match op["path"].as_str().and_then(|path| current.pointer(path)) {
                            None | Some(Value::Null) => false,
                            Some(_) => {
                                failed_null_test = op["path"].as_str().map(str::to_owned);
                                true
                            }
                        }
                    });
                    if let Some(path) = failed_null_test {
                        return Err(ApiError::new(
                            422,
                            "Invalid",
                            format!("the JSON patch test at {path} failed"),
                        ));
                    }
                }
                let operations: json_patch::Patch =
                    serde_json::from_value(p.clone()).map_err(|e| {
                        ApiError::new(400, "BadRequest", format!("invalid JSON patch: {e}"))
                    })?;
                let mut target = current.clone();
                json_patch::patch(&mut target, &operations).map_err(|e| {
                    ApiError::new(
                        422,
                        "Invalid",
                        format!("the JSON patch could not be applied: {e}"),
                    )
                })?;
                // The API server's store: "if newResourceVersion != existingResourceVersion"
                // the update is refused with a Conflict (a patch that sets the resourceVersion
                // makes it a precondition, as an update carrying one does).
                if target["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"] {
                    return Err(ApiError::conflict(&rt, name));
                }
                release_changed_fields(&current, &mut target, &rt);
                (current, target)
            }
            (
                Patch::Apply {
                    config,
                    manager,
                    force,
                },
                Ok(current),
            ) => {
                let target = server_side_apply(&rt, name, &current, config, manager, *force)?;
                (current, target)
            }
        };
        let (current, target) = (rt.absorb(current), rt.absorb(target));
        self.write(
            &mut inner, &rt, namespace, name, current, target, status, options,
        )
    }

    /// Deletes an object: with finalizers it is only marked (`deletionTimestamp`).
    pub fn delete(&self, at: &ObjectRef<'_>, options: WriteOptions) -> Result<Value, ApiError> {
        let ObjectRef {
            group,
            version,
            plural,
            namespace,
            name,
        } = *at;
        let mut inner = self.lock();
        let rt = find_type(&inner, group, version, plural)?;
        let mut object = current(&inner, &rt, namespace, name)?;
        if options.dry_run {
            return Ok(with_type(&object, &rt));
        }
        let has_finalizers = object["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        inner.rv += 1;
        let rv = inner.rv;
        metadata_mut(&mut object).insert("resourceVersion".into(), json!(rv.to_string()));
        if has_finalizers {
            if object["metadata"]["deletionTimestamp"].is_null() {
                let metadata = metadata_mut(&mut object);
                metadata.insert("deletionTimestamp".into(), json!(now_rfc3339()));
                metadata.insert("deletionGracePeriodSeconds".into(), json!(0));
            }
            inner
                .objects
                .entry(rt.key())
                .or_default()
                .insert((namespace.to_owned(), name.to_owned()), object.clone());
            self.record(&mut inner, &rt, namespace, "MODIFIED", &object);
        } else {
            self.remove(&mut inner, &rt, namespace, name, &object);
        }
        Ok(with_type(&object, &rt))
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        inner: &mut Inner,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        current: Value,
        mut target: Value,
        status: bool,
        options: WriteOptions,
    ) -> Result<Value, ApiError> {
        if !target.is_object() {
            return Err(ApiError::new(
                400,
                "BadRequest",
                "the body must be a JSON object",
            ));
        }
        if status {
            // The status subresource changes status only.
            let new_status = target.get("status").cloned();
            target = current.clone();
            match new_status {
                Some(s) => target["status"] = s,
                None => {
                    if let Some(map) = target.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
        } else if rt.status_subresource {
            match current.get("status") {
                Some(s) => target["status"] = s.clone(),
                None => {
                    if let Some(map) = target.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
        }
        // The server owns identity and bookkeeping fields.
        for field in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            match current["metadata"].get(field) {
                Some(v) => {
                    metadata_mut(&mut target).insert(field.into(), v.clone());
                }
                None => {
                    metadata_mut(&mut target).remove(field);
                }
            }
        }
        let deleting = !current["metadata"]["deletionTimestamp"].is_null();
        if deleting {
            let before: BTreeSet<&str> = finalizers(&current).into_iter().collect();
            if finalizers(&target).iter().any(|f| !before.contains(f)) {
                return Err(ApiError::invalid(rt, name, vec![Cause { reason: "FieldValueForbidden".into(), field: "metadata.finalizers".into(), message: "Forbidden: no new finalizers can be added if the object is being deleted".into() }]));
            }
        }
        admit(rt, name, &mut target, Some(&current), options)?;
        if content_changed(&current, &target) {
            let generation = current["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            metadata_mut(&mut target).insert("generation".into(), json!(generation));
        }
        if target == current || strip_rv(&target) == strip_rv(&current) {
            return Ok(with_type(&current, rt));
        }
        if rt.key()
            == (
                "apiextensions.k8s.io".into(),
                "customresourcedefinitions".into(),
            )
        {
            crd_established(&mut target);
        }
        if options.dry_run {
            return Ok(with_type(&target, rt));
        }
        if rt.key()
            == (
                "apiextensions.k8s.io".into(),
                "customresourcedefinitions".into(),
            )
        {
            register_crd(inner, &target)?;
        }
        inner.rv += 1;
        let rv = inner.rv;
        metadata_mut(&mut target).insert("resourceVersion".into(), json!(rv.to_string()));
        if deleting && finalizers(&target).is_empty() {
            self.remove(inner, rt, namespace, name, &target);
            return Ok(with_type(&target, rt));
        }
        inner
            .objects
            .entry(rt.key())
            .or_default()
            .insert((namespace.to_owned(), name.to_owned()), target.clone());
        self.record(inner, rt, namespace, "MODIFIED", &target);
        Ok(with_type(&target, rt))
    }

    fn remove(
        &self,
        inner: &mut Inner,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        object: &Value,
    ) {
        if let Some(objects) = inner.objects.get_mut(&rt.key()) {
            objects.remove(&(namespace.to_owned(), name.to_owned()));
        }
        self.record(inner, rt, namespace, "DELETED", object);
        if rt.key()
            == (
                "apiextensions.k8s.io".into(),
                "customresourcedefinitions".into(),
            )
        {
            let group = object["spec"]["group"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let plural = object["spec"]["names"]["plural"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            inner
                .types
                .retain(|t| !(t.group == group && t.plural == plural));
            inner.objects.remove(&(group, plural));
        }
        if rt.key() == (String::new(), "namespaces".into()) {
            for objects in inner.objects.values_mut() {
                objects.retain(|(ns, _), _| ns != name);
            }
        }
    }

    fn record(
        &self,
        inner: &mut Inner,
        rt: &ResourceType,
        namespace: &str,
        kind: &'static str,
        object: &Value,
    ) {
        let (group, plural) = rt.storage_key();
        // Recorded as stored; each watch shows it in the version it watches.
        let change = Change {
            rv: inner.rv,
            group,
            plural,
            namespace: namespace.to_owned(),
            kind,
            object: object.clone(),
        };
        inner.history.push_back(change.clone());
        while inner.history.len() > HISTORY_LIMIT {
            if let Some(dropped) = inner.history.pop_front() {
                inner.oldest_rv = dropped.rv + 1;
            }
        }
        let _ = self.changes.send(Arc::new(change));
    }
}

fn find_type(
    inner: &Inner,
    group: &str,
    version: &str,
    plural: &str,
) -> Result<ResourceType, ApiError> {
    inner
        .types
        .iter()
        .find(|t| t.group == group && t.version == version && t.plural == plural)
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            )
        })
}

fn current(
    inner: &Inner,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
) -> Result<Value, ApiError> {
    inner
        .objects
        .get(&rt.key())
        .and_then(|o| o.get(&(namespace.to_owned(), name.to_owned())))
        .cloned()
        .ok_or_else(|| ApiError::not_found(rt, name))
}

fn namespace_exists(inner: &Inner, namespace: &str) -> bool {
    inner
        .objects
        .get(&(String::new(), "namespaces".to_owned()))
        .is_some_and(|n| n.contains_key(&(String::new(), namespace.to_owned())))
}

/// Prune, default, validate and evaluate CEL rules for custom resources.
fn admit(
    rt: &ResourceType,
    name: &str,
    object: &mut Value,
    old: Option<&Value>,
    options: WriteOptions,
) -> Result<(), ApiError> {
    let Some(schema) = &rt.schema else {
        return Ok(());
    };
    let rules = &schema.rules;
    let schema = &schema.openapi;
    let unknown = schema::prune(schema, object, "");
    if options.strict && !unknown.is_empty() {
        let fields: Vec<String> = unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        return Err(ApiError::new(
            400,
            "BadRequest",
            format!("strict decoding error: {}", fields.join(", ")),
        ));
    }
    schema::apply_defaults(schema, object);
    let mut causes = Vec::new();
    schema::validate(schema, object, "", &mut causes);
    if causes.is_empty() {
        causes = schema::validate_cel(rules, object, old);
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rt, name, causes))
    }
}

fn content_changed(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(map) = v.as_object_mut() {
            map.remove("metadata");
            map.remove("status");
            map.remove("apiVersion");
            map.remove("kind");
        }
        v
    };
    strip(old) != strip(new)
}

fn strip_rv(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(metadata) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("resourceVersion");
    }
    if let Some(map) = v.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    v
}

fn finalizers(object: &Value) -> Vec<&str> {
    object["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

pub(super) fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    match object.get_mut("metadata").and_then(Value::as_object_mut) {
        Some(m) => m,
        None => unreachable!("metadata was just made an object"),
    }
}

fn with_type(object: &Value, rt: &ResourceType) -> Value {
    rt.present(object)
}

fn crd_established(crd: &mut Value) {
    let names = crd["spec"]["names"].clone();
    let now = now_rfc3339();
    crd["status"] = json!({
        "acceptedNames": names,
        "storedVersions": crd["spec"]["versions"].as_array().into_iter().flatten()
            .filter(|v| v["storage"] == json!(true)).filter_map(|v| v["name"].as_str()).collect::<Vec<_>>(),
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
    });
}

fn register_crd(inner: &mut Inner, crd: &Value) -> Result<(), ApiError> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default().to_owned();
    let names = &spec["names"];
    let plural = names["plural"].as_str().unwrap_or_default().to_owned();
    let kind = names["kind"].as_str().unwrap_or_default().to_owned();
    if group.is_empty() || plural.is_empty() || kind.is_empty() {
        return Err(ApiError::new(
            422,
            "Invalid",
            "CustomResourceDefinition needs spec.group, spec.names.plural and spec.names.kind",
        ));
    }
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    inner
        .types
        .retain(|t| !(t.group == group && t.plural == plural));
    for version in spec["versions"].as_array().into_iter().flatten() {
        if version["served"] == json!(false) {
            continue;
        }
        inner.types.push(ResourceType {
            group: group.clone(),
            version: version["name"].as_str().unwrap_or_default().to_owned(),
            kind: kind.clone(),
            plural: plural.clone(),
            singular: names["singular"]
                .as_str()
                .map_or_else(|| kind.to_ascii_lowercase(), str::to_owned),
            namespaced: spec["scope"].as_str() != Some("Cluster"),
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            status_subresource: version["subresources"]["status"].is_object(),
            schema: version["schema"]["openAPIV3Schema"]
                .as_object()
                .map(|_| Arc::new(CrdSchema::new(version["schema"]["openAPIV3Schema"].clone()))),
            printer_columns: version["additionalPrinterColumns"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        });
    }
    Ok(())
}

/// Now, as Kubernetes writes timestamps (RFC 3339, whole seconds, UTC).
pub fn now_rfc3339() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Seconds since the epoch of an RFC 3339 timestamp (`2026-12-04T10:00:00Z`, fractions ignored).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    text.parse::<k8s_openapi::jiff::Timestamp>()
        .ok()
        .map(|t| t.as_second())
}

fn random_uid() -> String {
    let hex = |n: usize| -> String {
        (0..n)
            .map(|_| format!("{:x}", fastrand::u8(0..16)))
            .collect()
    };
    format!("{}-{}-4{}-{}-{}", hex(8), hex(4), hex(3), hex(4), hex(12))
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::apply::{fields_v1, leaf_paths, paths_of_fields_v1};
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-02T00:00:01Z"), Some(86_401));
        assert_eq!(
            parse_timestamp("2000-02-29T00:00:00.123456Z"),
            Some(11_016 * 86_400)
        );
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(parse_timestamp(&now).is_some(), "{now}");
        assert_eq!(
            parse_timestamp("2026-11-27T00:00:00Z"),
            Some(20_784 * 86_400)
        );
        assert_eq!(parse_timestamp("garbage"), None);
    }

    #[test]
    fn fields_v1_round_trip() {
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"a": "b"}}, "data": {"k": "v", "list": [1, 2]}});
        let paths = leaf_paths(&config);
        assert_eq!(paths_of_fields_v1(&fields_v1(&paths)), paths);
        assert!(paths.contains(&vec![
            "metadata".to_owned(),
            "labels".to_owned(),
            "a".to_owned()
        ]));
        assert!(paths.contains(&vec!["data".to_owned(), "list".to_owned()]));
    }
}
