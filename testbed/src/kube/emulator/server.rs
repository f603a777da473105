//! The HTTP face of the emulator: Kubernetes REST paths, discovery, OpenAPI v3, tables, watch
//! streams and the `/_emulator/` fault knobs.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, watch};

use super::selectors::{FieldSelector, LabelSelector};
use super::store::{ApiError, Change, ObjectRef, Patch, ResourceType, Store, WriteOptions};

/// Response body: whole documents or streams.
pub type Body = BoxBody<Bytes, Infallible>;

/// A failure rule set through `/_emulator/fail`.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailRule {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete` or `*`.
    pub verb: String,
    /// Plural resource name or `*`.
    pub resource: String,
    /// HTTP status to answer (409, 429, 500, ...).
    pub status: u16,
    /// How many matching requests to fail.
    pub count: u32,
}

/// Shared server state.
pub struct Server {
    /// The objects.
    pub store: Store,
    address: String,
    faults: Mutex<Vec<FailRule>>,
    latency_ms: Mutex<u64>,
    drop_watches: watch::Sender<u64>,
    /// How often watches with `allowWatchBookmarks` get a BOOKMARK.
    pub bookmark_interval: Duration,
    /// Print every request on stderr (`ECS_TESTBED_LOG=1`), for debugging clients.
    pub log_requests: bool,
    requests: Mutex<std::collections::BTreeMap<(String, String), u64>>,
}

impl Server {
    /// A server that will report `address` in discovery.
    pub fn new(address: String) -> Self {
        let (drop_watches, _) = watch::channel(0);
        Self {
            store: Store::new(),
            address,
            faults: Mutex::new(Vec::new()),
            latency_ms: Mutex::new(0),
            drop_watches,
            bookmark_interval: Duration::from_secs(1),
            log_requests: std::env::var_os("ECS_TESTBED_LOG").is_some(),
            requests: Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    /// Resource requests served so far, by (verb, resource), e.g. ("patch", "ecsservices/status").
    pub fn request_counts(&self) -> std::collections::BTreeMap<(String, String), u64> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Ends every open watch (clients reconnect).
    pub fn drop_watches(&self) {
        self.drop_watches.send_modify(|n| *n += 1);
    }
}

fn full(status: u16, value: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

fn error(e: &ApiError) -> Response<Body> {
    full(e.code, &e.to_status())
}

fn query_map(query: Option<&str>) -> HashMap<String, String> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], decoded) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (byte, None) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A parsed resource path.
struct Target {
    group: String,
    version: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
    status: bool,
}

fn parse_path(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => (String::new(), (*version).to_owned(), rest),
        ["apis", group, version, rest @ ..] => ((*group).to_owned(), (*version).to_owned(), rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, more @ ..] if !more.is_empty() => (Some((*ns).to_owned()), more),
        _ => (None, rest),
    };
    let (plural, name, status) = match rest {
        [plural] => ((*plural).to_owned(), None, false),
        [plural, name] => ((*plural).to_owned(), Some((*name).to_owned()), false),
        [plural, name, "status"] => ((*plural).to_owned(), Some((*name).to_owned()), true),
        _ => return None,
    };
    Some(Target {
        group,
        version,
        namespace,
        plural,
        name,
        status,
    })
}

/// Handles one request.
pub async fn handle(
    server: Arc<Server>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let latency = server.latency_ms.lock().map(|l| *l).unwrap_or(0);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = query_map(request.uri().query());
    let accept = request
        .headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = match request.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(error(&ApiError::new(400, "BadRequest", "unreadable body"))),
    };
    if server.log_requests {
        eprintln!(
            "{method} {path} {query:?} accept={accept} content-type={content_type} body={}",
            String::from_utf8_lossy(&body)
        );
    }

    if let Some(knob) = path.strip_prefix("/_emulator/") {
        return Ok(emulator_knob(&server, &method, knob, &body));
    }
    match path.as_str() {
        "/version" => {
            return Ok(full(
                200,
                &json!({"major": "1", "minor": "34", "gitVersion": "v1.34.0-ecs-testbed", "platform": "linux/amd64"}),
            ));
        }
        "/healthz" | "/readyz" | "/livez" => {
            return Ok(Response::new(Full::new(Bytes::from_static(b"ok")).boxed()));
        }
        "/api" => {
            return Ok(full(
                200,
                &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server.address}]}),
            ));
        }
        "/apis" => {
            return Ok(full(
                200,
                &super::discovery::group_list(&server.store.types()),
            ));
        }
        "/openapi/v3" => {
            return Ok(full(
                200,
                &super::discovery::openapi_root(&server.store.types()),
            ));
        }
        _ => {}
    }
    if let Some(gv) = path.strip_prefix("/openapi/v3/") {
        return Ok(
            match super::discovery::openapi_document(&server.store.types(), gv) {
                Some(doc) => full(200, &doc),
                None => error(&ApiError::new(404, "NotFound", "no such group version")),
            },
        );
    }
    let Some(target) = parse_path(&path) else {
        return Ok(
            match super::discovery::resource_list(&server.store.types(), &path) {
                Some(list) => full(200, &list),
                None => error(&ApiError::new(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                )),
            },
        );
    };
    let is_watch = query.get("watch").is_some_and(|w| w == "true" || w == "1");
    let verb = match (method.as_str(), target.name.is_some()) {
        ("GET", _) if is_watch => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", _) => "delete",
        _ => "unknown",
    };
    if let Ok(mut requests) = server.requests.lock() {
        let resource = if target.status {
            format!("{}/status", target.plural)
        } else {
            target.plural.clone()
        };
        *requests.entry((verb.to_owned(), resource)).or_insert(0) += 1;
    }
    if let Some(status) = injected_failure(&server, verb, &target.plural) {
        let reason = match status {
            409 => "Conflict",
            429 => "TooManyRequests",
            500 => "InternalError",
            503 => "ServiceUnavailable",
            _ => "InternalError",
        };
        return Ok(error(&ApiError::new(
            status,
            reason,
            format!("injected failure for {verb} {}", target.plural),
        )));
    }
    let options = WriteOptions {
        dry_run: query.get("dryRun").is_some_and(|d| d == "All"),
        strict: query.get("fieldValidation").is_some_and(|v| v == "Strict"),
    };
    let namespace = target.namespace.clone().unwrap_or_default();
    let Some(rt) = server
        .store
        .resource_type(&target.group, &target.version, &target.plural)
    else {
        return Ok(error(&ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )));
    };
    let at = ObjectRef {
        group: &target.group,
        version: &target.version,
        plural: &target.plural,
        namespace: &namespace,
        name: target.name.as_deref().unwrap_or_default(),
    };
    let result = match verb {
        "watch" => {
            return Ok(watch_stream(
                &server,
                &rt,
                target.namespace.as_deref(),
                &query,
                target.name.as_deref(),
            ));
        }
        "get" => server.store.get(&at),
        "list" => list(&server, &rt, target.namespace.as_deref(), &query),
        "create" => parse_body(&body, &content_type).and_then(|object| {
            server.store.create(
                &target.group,
                &target.version,
                &target.plural,
                &namespace,
                object,
                options,
            )
        }),
        "update" => parse_body(&body, &content_type)
            .and_then(|object| server.store.replace(&at, object, target.status, options)),
        "patch" => parse_patch(&body, &content_type, &query)
            .and_then(|patch| server.store.patch(&at, patch, target.status, options)),
        "delete" => server.store.delete(&at, options),
        _ => Err(ApiError::new(405, "MethodNotAllowed", "method not allowed")),
    };
    Ok(match result {
        Ok(value) => {
            let status = if verb == "create" { 201 } else { 200 };
            if accept.contains("as=Table") && (verb == "get" || verb == "list") {
                full(200, &super::discovery::table(&rt, &value))
            } else {
                full(status, &value)
            }
        }
        Err(e) => error(&e),
    })
}

fn list(
    server: &Server,
    rt: &ResourceType,
    namespace: Option<&str>,
    query: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))
        .map_err(|e| ApiError::new(400, "BadRequest", e))?;
    let fields = FieldSelector::parse_with(
        query.get("fieldSelector").map_or("", String::as_str),
        selectable_fields(rt),
    )
    .map_err(|e| ApiError::new(400, "BadRequest", e))?;
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let (items, rv, next) = server.store.list(
        &rt.group,
        &rt.version,
        &rt.plural,
        namespace,
        &labels,
        &fields,
        limit,
        query.get("continue").map(String::as_str),
    )?;
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if let Some(next) = next {
        metadata["continue"] = json!(next);
    }
    Ok(
        json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(), "metadata": metadata, "items": items}),
    )
}

fn parse_body(body: &Bytes, content_type: &str) -> Result<Value, ApiError> {
    let parsed = if content_type.contains("yaml") {
        serde_yaml::from_slice::<Value>(body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice::<Value>(body).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| {
        ApiError::new(
            400,
            "BadRequest",
            format!("the body could not be decoded: {e}"),
        )
    })
}

fn parse_patch(
    body: &Bytes,
    content_type: &str,
    query: &HashMap<String, String>,
) -> Result<Patch, ApiError> {
    let value = parse_body(body, content_type)?;
    if content_type.starts_with("application/json-patch+json") {
        Ok(Patch::Json(value))
    } else if content_type.starts_with("application/apply-patch") {
        let manager = query
            .get("fieldManager")
            .filter(|m| !m.is_empty())
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "BadRequest",
                    "PATCH requests with apply patches need a fieldManager",
                )
            })?;
        let force = query.get("force").is_some_and(|f| f == "true");
        Ok(Patch::Apply {
            config: value,
            manager,
            force,
        })
    } else if content_type.starts_with("application/merge-patch+json")
        || content_type.starts_with("application/strategic-merge-patch+json")
    {
        Ok(Patch::Merge(value))
    } else {
        Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format: {content_type}"),
        ))
    }
}

fn injected_failure(server: &Server, verb: &str, resource: &str) -> Option<u16> {
    let mut faults = server.faults.lock().ok()?;
    let rule = faults.iter_mut().find(|r| {
        r.count > 0
            && (r.verb == "*" || r.verb == verb)
            && (r.resource == "*" || r.resource == resource)
    })?;
    rule.count -= 1;
    Some(rule.status)
}

fn emulator_knob(server: &Server, method: &str, knob: &str, body: &Bytes) -> Response<Body> {
    match (method, knob) {
        ("POST", "drop-watches") => {
            server.drop_watches();
            full(200, &json!({"ok": true}))
        }
        ("POST", "compact") => {
            server.store.compact();
            full(
                200,
                &json!({"ok": true, "resourceVersion": server.store.resource_version().to_string()}),
            )
        }
        ("POST", "fail") => match serde_json::from_slice::<FailRule>(body) {
            Ok(rule) => {
                if let Ok(mut faults) = server.faults.lock() {
                    faults.push(rule);
                }
                full(200, &json!({"ok": true}))
            }
            Err(e) => error(&ApiError::new(
                400,
                "BadRequest",
                format!("expected {{verb, resource, status, count}}: {e}"),
            )),
        },
        ("DELETE", "fail") => {
            if let Ok(mut faults) = server.faults.lock() {
                faults.clear();
            }
            full(200, &json!({"ok": true}))
        }
        ("POST", "latency") => match serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["millis"].as_u64())
        {
            Some(ms) => {
                if let Ok(mut latency) = server.latency_ms.lock() {
                    *latency = ms;
                }
                full(200, &json!({"ok": true}))
            }
            None => error(&ApiError::new(
                400,
                "BadRequest",
                "expected {\"millis\": N}",
            )),
        },
        ("GET", "stats") => full(
            200,
            &json!({"objects": server.store.object_count(), "resourceVersion": server.store.resource_version().to_string()}),
        ),
        _ => error(&ApiError::new(404, "NotFound", "unknown emulator knob")),
    }
}

fn watch_stream(
    server: &Arc<Server>,
    rt: &ResourceType,
    namespace: Option<&str>,
    query: &HashMap<String, String>,
    name: Option<&str>,
) -> Response<Body> {
    let labels = match LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str)) {
        Ok(l) => l,
        Err(e) => return error(&ApiError::new(400, "BadRequest", e)),
    };
    let mut field_text = query.get("fieldSelector").cloned().unwrap_or_default();
    if let Some(name) = name {
        field_text = format!("metadata.name={name}");
    }
    let fields = match FieldSelector::parse_with(&field_text, selectable_fields(rt)) {
        Ok(f) => f,
        Err(e) => return error(&ApiError::new(400, "BadRequest", e)),
    };
    let bookmarks = query
        .get("allowWatchBookmarks")
        .is_some_and(|b| b == "true");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let from = query
        .get("resourceVersion")
        .map(String::as_str)
        .unwrap_or("");
    let send_initial = query.get("sendInitialEvents").is_some_and(|s| s == "true");
    let (tx, rx) = mpsc::channel::<Bytes>(1024);
    let line = |kind: &str, object: &Value| -> Bytes {
        let mut text = json!({"type": kind, "object": object}).to_string();
        text.push('\n');
        Bytes::from(text)
    };
    let matches = {
        let (labels, fields) = (labels.clone(), fields.clone());
        move |object: &Value| labels.matches(object) && fields.matches(object)
    };

    // Where to start: "" or "0" means "now, with the current objects as ADDED events first".
    let (initial, start_rv) = if from.is_empty() || from == "0" || send_initial {
        let (items, rv, _) = match server.store.list(
            &rt.group,
            &rt.version,
            &rt.plural,
            namespace,
            &labels,
            &fields,
            None,
            None,
        ) {
            Ok(listed) => listed,
            Err(e) => return error(&e),
        };
        (items, rv)
    } else {
        match from.parse::<u64>() {
            Ok(rv) => (Vec::new(), rv),
            Err(_) => {
                return error(&ApiError::new(
                    400,
                    "BadRequest",
                    format!("invalid resourceVersion {from:?}"),
                ));
            }
        }
    };
    let subscription = server.store.watch(rt, namespace, start_rv);
    let bookmark_kind = (rt.kind.clone(), rt.api_version());
    // Changes are recorded under the type's storage (one for both versions of events) and shown
    // in the version watched.
    let (watched_group, watched_plural) = rt.storage_key();
    let watched_type = rt.clone();
    let watched_namespace = namespace.map(str::to_owned);
    let interval = server.bookmark_interval;
    let mut dropped = server.drop_watches.subscribe();

    tokio::spawn(async move {
        let (replay, mut receiver): (Vec<Change>, broadcast::Receiver<Arc<Change>>) =
            match subscription {
                Ok(s) => s,
                Err(e) => {
                    // As the real server does: a 200 stream with one ERROR event carrying the Status.
                    let _ = tx.send(line("ERROR", &e.to_status())).await;
                    return;
                }
            };
        let mut last_rv = start_rv;
        for object in &initial {
            if tx.send(line("ADDED", object)).await.is_err() {
                return;
            }
        }
        if send_initial && bookmarks {
            let object = json!({"kind": bookmark_kind.0, "apiVersion": bookmark_kind.1, "metadata": {"resourceVersion": start_rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}});
            if tx.send(line("BOOKMARK", &object)).await.is_err() {
                return;
            }
        }
        for change in replay {
            last_rv = change.rv;
            let object = watched_type.present(&change.object);
            if matches(&object) && tx.send(line(change.kind, &object)).await.is_err() {
                return;
            }
        }
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut ticker = tokio::time::interval(interval);
        ticker.tick().await;
        loop {
            let sleep_until_deadline = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep_until_deadline => return,
                _ = dropped.changed() => return,
                _ = ticker.tick(), if bookmarks => {
                    let mut object = json!({"kind": bookmark_kind.0, "apiVersion": bookmark_kind.1, "metadata": {}});
                    object["metadata"]["resourceVersion"] = json!(last_rv.to_string());
                    if tx.send(line("BOOKMARK", &object)).await.is_err() {
                        return;
                    }
                }
                received = receiver.recv() => match received {
                    Ok(change) => {
                        if change.rv <= last_rv || change.group != watched_group || change.plural != watched_plural {
                            continue;
                        }
                        last_rv = change.rv;
                        if watched_namespace.as_deref().is_some_and(|ns| ns != change.namespace) {
                            continue;
                        }
                        let object = watched_type.present(&change.object);
                        if matches(&object) && tx.send(line(change.kind, &object)).await.is_err() {
                            return;
                        }
                    }
                    // A watcher too slow for the change feed ends; the client re-lists.
                    Err(_) => return,
                },
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, Infallible>(Frame::data(bytes)), rx))
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("transfer-encoding", "chunked")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

/// The fields a field selector may name for `rt` besides the metadata ones.
fn selectable_fields(rt: &ResourceType) -> &'static [&'static str] {
    if super::events::is_event(&rt.group, &rt.plural) {
        super::events::selectable_fields(&rt.group)
    } else {
        &[]
    }
}
