//! `ecs-operator render`: offline validation and translation of custom resource files.
//!
//! Reads YAML or JSON files (multi-document), validates every object of our kinds the way the
//! controllers will, and returns the AWS requests each translates to, one JSON line per request, in
//! the AWS API's own shape (`aws <service> <operation> --cli-input-json` accepts each `input`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api::service::ServiceSettings;
use crate::api::task_definition::TaskDefinitionBody;
use crate::api::{
    EcsCapacityProviderSpec, EcsClusterSpec, EcsScalingPolicySpec, EcsServiceSpec,
    EcsTaskDefinitionSpec, EcsTaskSpec, GROUP, VERSION,
};
use crate::translate::{
    FieldError, TranslateError, capacity_provider, cluster, scaling, service, task, task_definition,
};

/// Why `render` could not read its input at all (as opposed to objects that failed validation).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A document is not YAML.
    #[error("{path}: document {index} is not valid YAML: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// 1-based document number in the file.
        index: usize,
        /// The parser's message.
        message: String,
    },
}

/// One object of ours found in the input.
#[derive(Clone, Debug)]
pub struct SourceObject {
    /// File it came from.
    pub file: PathBuf,
    /// Kind (`EcsTaskDefinition`, `EcsService`, `EcsScalingPolicy`).
    pub kind: String,
    /// `metadata.name` (empty when missing).
    pub name: String,
    /// `metadata.namespace` (`default` when missing).
    pub namespace: String,
    /// The whole object.
    pub value: Value,
}

/// One AWS request, as `render` prints it.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderedRequest {
    /// Kind of the object it came from.
    pub kind: String,
    /// Name of the object it came from.
    pub name: String,
    /// `ecs` or `application-autoscaling`.
    pub service: &'static str,
    /// The AWS operation.
    pub operation: &'static str,
    /// The operation's input in the AWS JSON shape.
    pub input: Value,
}

impl RenderedRequest {
    /// The JSON line `render` prints.
    pub fn to_json(&self) -> Value {
        json!({
            "kind": self.kind,
            "name": self.name,
            "service": self.service,
            "operation": self.operation,
            "input": self.input,
        })
    }
}

/// A problem with one object, with the field path.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectError {
    /// File the object came from.
    pub file: PathBuf,
    /// Kind.
    pub kind: String,
    /// Namespace (objects of one name in two namespaces are two objects).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The problem.
    pub error: FieldError,
}

impl ObjectError {
    fn at(object: &SourceObject, error: FieldError) -> Self {
        Self {
            file: object.file.clone(),
            kind: object.kind.clone(),
            namespace: object.namespace.clone(),
            name: object.name.clone(),
            error,
        }
    }
}

impl std::fmt::Display for ObjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} ({}): {}",
            self.kind,
            self.name,
            self.file.display(),
            self.error
        )
    }
}

/// The result of rendering a set of objects: requests for the valid ones, errors for the rest,
/// and notes about assumptions made (for example a reference resolved outside the set).
#[derive(Debug, Default)]
pub struct Rendered {
    /// Requests, in input order.
    pub requests: Vec<RenderedRequest>,
    /// Field errors of invalid objects.
    pub errors: Vec<ObjectError>,
    /// Problems AWS will reject but that do not stop rendering (for example a container without
    /// an image in a partial example).
    pub warnings: Vec<ObjectError>,
    /// Things the user should know that are not errors.
    pub notes: Vec<String>,
}

/// The kinds `render` reads: every registered kind.
static KINDS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    crate::controller::registry::kinds()
        .iter()
        .map(|k| k.kind())
        .collect()
});

/// Reads every object of our kinds from a file, or from every `.yaml`/`.yml`/`.json` file under a
/// folder (sorted, recursive). Documents of other kinds are skipped.
pub fn load(path: &Path) -> Result<(Vec<SourceObject>, Vec<String>), RenderError> {
    let mut files = Vec::new();
    collect_files(path, &mut files)?;
    let mut objects = Vec::new();
    let mut notes = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| RenderError::Io {
            path: file.clone(),
            source,
        })?;
        for (index, document) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let value = Value::deserialize(document).map_err(|e| RenderError::Yaml {
                path: file.clone(),
                index: index + 1,
                message: e.to_string(),
            })?;
            if value.is_null() {
                continue;
            }
            let kind = value["kind"].as_str().unwrap_or_default().to_owned();
            let api_version = value["apiVersion"].as_str().unwrap_or_default();
            if !KINDS.contains(&kind) || api_version != format!("{GROUP}/{VERSION}") {
                notes.push(format!(
                    "{}: skipped document {} ({} {kind}): not an {GROUP}/{VERSION} object",
                    file.display(),
                    index + 1,
                    if api_version.is_empty() {
                        "no apiVersion"
                    } else {
                        api_version
                    },
                ));
                continue;
            }
            objects.push(SourceObject {
                file: file.clone(),
                kind,
                name: value["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                namespace: value["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default")
                    .to_owned(),
                value,
            });
        }
    }
    Ok((objects, notes))
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), RenderError> {
    let io = |source| RenderError::Io {
        path: path.to_owned(),
        source,
    };
    if !path.is_dir() {
        std::fs::metadata(path).map_err(io)?;
        out.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect_files(&entry, out)?;
        } else if entry
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(entry);
        }
    }
    Ok(())
}

/// Validates and translates every object. References (`taskDefinitionRef`, `serviceRef`) resolve
/// to objects of the same namespace in the set, the way the controllers resolve them in-cluster.
pub fn render(objects: &[SourceObject]) -> Rendered {
    let mut out = Rendered::default();
    let mut task_families: BTreeMap<(String, String), String> = BTreeMap::new();
    // Per service: its cluster (Ok) or the EcsCluster it references (Err), and its name.
    let mut services: BTreeMap<(String, String), (Result<String, String>, String)> =
        BTreeMap::new();
    let mut min_capacity_by_service: BTreeMap<(String, String), i32> = BTreeMap::new();
    let mut clusters: BTreeMap<(String, String), String> = BTreeMap::new();

    // First pass: parse everything, so references resolve whatever the file order.
    let mut parsed = Vec::new();
    for object in objects {
        let key = (object.namespace.clone(), object.name.clone());
        let spec = match object.kind.as_str() {
            "EcsTaskDefinition" => parse_spec::<EcsTaskDefinitionSpec, TaskDefinitionBody>(object)
                .map(|spec| {
                    task_families
                        .insert(key, task_definition::family(&object.name, &spec).to_owned());
                    Spec::TaskDefinition(Box::new(spec))
                }),
            "EcsService" => parse_spec::<EcsServiceSpec, ServiceSettings>(object).map(|spec| {
                let name = service::service_name(&object.name, &spec).to_owned();
                // A clusterRef is resolved once every cluster is known (second pass).
                let cluster = spec.cluster.clone().ok_or_else(|| {
                    spec.cluster_ref
                        .as_ref()
                        .map(|r| r.name.clone())
                        .unwrap_or_default()
                });
                services.insert(key, (cluster, name));
                Spec::Service(Box::new(spec))
            }),
            "EcsScalingPolicy" => parse_spec::<EcsScalingPolicySpec, EcsScalingPolicySpec>(object)
                .map(|spec| Spec::Scaling(Box::new(spec))),
            "EcsCluster" => parse_spec::<EcsClusterSpec, EcsClusterSpec>(object).map(|spec| {
                clusters.insert(key, cluster::cluster_name(&object.name, &spec).to_owned());
                Spec::Cluster(Box::new(spec))
            }),
            "EcsTask" => parse_spec::<EcsTaskSpec, EcsTaskSpec>(object)
                .map(|spec| Spec::Task(Box::new(spec))),
            "EcsCapacityProvider" => {
                parse_spec::<EcsCapacityProviderSpec, EcsCapacityProviderSpec>(object)
                    .map(|spec| Spec::CapacityProvider(Box::new(spec)))
            }
            // A registered kind render does not know yet ("Adding a kind", step 7).
            other => Err(vec![FieldError::new(
                "kind",
                format!("render does not render {other} objects yet"),
            )]),
        };
        match spec {
            Ok(spec) => parsed.push((object, spec)),
            Err(errors) => out.errors.extend(
                errors
                    .into_iter()
                    .map(|error| ObjectError::at(object, error)),
            ),
        }
    }
    for (object, spec) in &parsed {
        if let Spec::Scaling(spec) = spec
            && let Some(target) = &spec.service_ref
        {
            min_capacity_by_service.insert(
                (object.namespace.clone(), target.name.clone()),
                spec.min_capacity,
            );
        }
    }

    for (object, spec) in parsed {
        let namespace = object.namespace.clone();
        let result = match &spec {
            Spec::TaskDefinition(spec) => {
                out.warnings
                    .extend(task_definition::warnings(spec).0.into_iter().map(|error| {
                        ObjectError {
                            file: object.file.clone(),
                            kind: object.kind.clone(),
                            namespace: object.namespace.clone(),
                            name: object.name.clone(),
                            error,
                        }
                    }));
                task_definition::register_request(&object.name, spec).map(|request| {
                    vec![request_of(
                        object,
                        "ecs",
                        "RegisterTaskDefinition",
                        &request,
                    )]
                })
            }
            Spec::Service(spec) => {
                let resolved = spec.task_definition_ref.as_ref().map(|r| {
                    task_families
                        .get(&(namespace.clone(), r.name.clone()))
                        .cloned()
                        .unwrap_or_else(|| {
                            out.notes.push(format!(
                                "EcsService {}: EcsTaskDefinition {:?} is not among the rendered objects; assuming its family is {:?}",
                                object.name, r.name, r.name
                            ));
                            r.name.clone()
                        })
                });
                let initial = min_capacity_by_service
                    .get(&(namespace.clone(), object.name.clone()))
                    .copied()
                    .unwrap_or(service::DEFAULT_DESIRED_COUNT_AT_CREATE);
                let cluster = resolve(
                    object,
                    (&spec.cluster, &spec.cluster_ref),
                    (&clusters, "EcsCluster"),
                    &mut out.notes,
                );
                service::create_request(&object.name, spec, resolved.as_deref(), initial, &[]).map(
                    |mut request| {
                        request.cluster = cluster.unwrap_or_default();
                        vec![request_of(object, "ecs", "CreateService", &request)]
                    },
                )
            }
            Spec::Scaling(spec) => {
                let resolved = spec.service_ref.as_ref().and_then(|r| {
                    let found = services.get(&(namespace.clone(), r.name.clone()));
                    if found.is_none() {
                        out.notes.push(format!(
                            "EcsScalingPolicy {}: EcsService {:?} is not among the rendered objects, so its resource id is unknown",
                            object.name, r.name
                        ));
                    }
                    found.map(|(cluster, name)| {
                        let cluster = cluster.clone().unwrap_or_else(|reference| {
                            clusters
                                .get(&(namespace.clone(), reference.clone()))
                                .cloned()
                                .unwrap_or(reference)
                        });
                        scaling::resource_id(&cluster, name)
                    })
                });
                scaling::requests(spec, resolved.as_deref(), &BTreeMap::new()).map(|requests| {
                    let aas = "application-autoscaling";
                    let mut out = vec![request_of(
                        object,
                        aas,
                        "RegisterScalableTarget",
                        &requests.target,
                    )];
                    out.extend(
                        requests
                            .policies
                            .iter()
                            .map(|p| request_of(object, aas, "PutScalingPolicy", p)),
                    );
                    out.extend(
                        requests
                            .scheduled_actions
                            .iter()
                            .map(|a| request_of(object, aas, "PutScheduledAction", a)),
                    );
                    out
                })
            }
            Spec::Cluster(spec) => cluster::validate(&object.name, spec)
                .into_result()
                .map(|()| {
                    vec![request_of(
                        object,
                        "ecs",
                        "CreateCluster",
                        &cluster::create_request(&object.name, spec, &[]),
                    )]
                }),
            Spec::CapacityProvider(spec) => {
                let cluster = resolve(
                    object,
                    (&spec.cluster, &spec.cluster_ref),
                    (&clusters, "EcsCluster"),
                    &mut out.notes,
                );
                capacity_provider::validate(&object.name, spec)
                    .into_result()
                    .map(|()| {
                        vec![request_of(
                            object,
                            "ecs",
                            "CreateCapacityProvider",
                            &capacity_provider::create_request(
                                &object.name,
                                spec,
                                cluster.as_deref(),
                                &[],
                            ),
                        )]
                    })
            }
            Spec::Task(spec) => {
                let cluster = resolve(
                    object,
                    (&spec.cluster, &spec.cluster_ref),
                    (&clusters, "EcsCluster"),
                    &mut out.notes,
                );
                let family = resolve(
                    object,
                    (&spec.task_definition, &spec.task_definition_ref),
                    (&task_families, "EcsTaskDefinition"),
                    &mut out.notes,
                );
                task::validate(spec).into_result().map(|()| {
                    // In-cluster both come from the object's UID.
                    let mut request = task::run_request(
                        spec,
                        &cluster.unwrap_or_default(),
                        &family.unwrap_or_default(),
                        "",
                    );
                    request.started_by = None;
                    request.client_token = None;
                    vec![request_of(object, "ecs", "RunTask", &request)]
                })
            }
        };
        match result {
            Ok(requests) => out.requests.extend(requests),
            Err(error) => out.errors.extend(
                field_errors(error)
                    .into_iter()
                    .map(|error| ObjectError::at(object, error)),
            ),
        }
    }
    out
}

/// What a `literal` or a `reference` of `object` stands for: the literal, or the name the
/// referenced object of `kind` resolves to among the rendered objects of its namespace (`found`),
/// or, with a note, the reference's own name.
fn resolve(
    object: &SourceObject,
    (literal, reference): (
        &Option<String>,
        &Option<crate::api::service::LocalObjectReference>,
    ),
    (found, kind): (&BTreeMap<(String, String), String>, &str),
    notes: &mut Vec<String>,
) -> Option<String> {
    literal.clone().or_else(|| {
        reference.as_ref().map(|r| {
            found
                .get(&(object.namespace.clone(), r.name.clone()))
                .cloned()
                .unwrap_or_else(|| {
                    notes.push(format!(
                        "{} {}: {kind} {:?} is not among the rendered objects; assuming its name is {:?}",
                        object.kind, object.name, r.name, r.name
                    ));
                    r.name.clone()
                })
        })
    })
}

enum Spec {
    CapacityProvider(Box<EcsCapacityProviderSpec>),
    Cluster(Box<EcsClusterSpec>),
    Task(Box<EcsTaskSpec>),
    TaskDefinition(Box<EcsTaskDefinitionSpec>),
    Service(Box<EcsServiceSpec>),
    Scaling(Box<EcsScalingPolicySpec>),
}

fn request_of<T: serde::Serialize>(
    object: &SourceObject,
    service: &'static str,
    operation: &'static str,
    input: &T,
) -> RenderedRequest {
    RenderedRequest {
        kind: object.kind.clone(),
        name: object.name.clone(),
        service,
        operation,
        input: serde_json::to_value(input).unwrap_or(Value::Null),
    }
}

fn field_errors(error: TranslateError) -> Vec<FieldError> {
    match error {
        TranslateError::Invalid(errors) => errors.0,
        TranslateError::Unresolved { path, message } => vec![FieldError::new(path, message)],
    }
}

/// Parses `spec` into its type, reporting type errors and unknown fields with their paths (as
/// `kubectl apply`'s strict field validation would), and a missing `metadata.name`.
///
/// `Flattened` is the part of the spec serde reads through `#[serde(flatten)]`; serde loses the
/// path of errors inside flattened members, so on an error at the root that part is parsed alone
/// to find the path.
fn parse_spec<T, Flattened>(object: &SourceObject) -> Result<T, Vec<FieldError>>
where
    T: DeserializeOwned + serde::Serialize,
    Flattened: DeserializeOwned,
{
    let mut errors = Vec::new();
    if object.name.is_empty() {
        errors.push(FieldError::new(
            "metadata.name",
            "every object needs a name",
        ));
    }
    let Some(spec_value) = object.value.get("spec") else {
        errors.push(FieldError::new("spec", "missing"));
        return Err(errors);
    };
    let spec: T = match serde_path_to_error::deserialize(spec_value) {
        Ok(spec) => spec,
        Err(e) => {
            let located = match e.path().to_string().as_str() {
                "." => serde_path_to_error::deserialize::<_, Flattened>(spec_value).err(),
                _ => Some(e),
            };
            let error = match located {
                Some(e) if e.path().to_string() != "." => {
                    FieldError::new(format!("spec.{}", e.path()), e.into_inner().to_string())
                }
                Some(e) => FieldError::new("spec", e.into_inner().to_string()),
                None => FieldError::new("spec", "does not match the schema"),
            };
            errors.push(error);
            return Err(errors);
        }
    };
    let known = serde_json::to_value(&spec).unwrap_or(Value::Null);
    unknown_fields(spec_value, &known, "spec", &mut errors);
    if errors.is_empty() {
        Ok(spec)
    } else {
        Err(errors)
    }
}

/// Fields present in the input that the typed spec dropped: typos or members we do not know.
fn unknown_fields(input: &Value, known: &Value, path: &str, errors: &mut Vec<FieldError>) {
    match (input, known) {
        (Value::Object(given), Value::Object(kept)) => {
            for (key, value) in given {
                let child = format!("{path}.{key}");
                match kept.get(key) {
                    Some(kept_value) => unknown_fields(value, kept_value, &child, errors),
                    None if value.is_null() => {}
                    None => errors.push(FieldError::new(
                        child,
                        "unknown field (check the spelling; `kubectl explain` lists the fields)",
                    )),
                }
            }
        }
        (Value::Array(given), Value::Array(kept)) => {
            for (i, (value, kept_value)) in given.iter().zip(kept).enumerate() {
                unknown_fields(value, kept_value, &format!("{path}[{i}]"), errors);
            }
        }
        _ => {}
    }
}
