//! An HTTP proxy between AWS SDK clients and moto: it records every request (the exact wire
//! payload AWS would get), injects faults by rule, models the ECS service behaviour moto lacks
//! ([`crate::aws::ecs_model`]: deployments, rollouts, draining, idempotency, documented rejections),
//! and overlays fields of DescribeServices answers.
//!
//! Control endpoints: `GET|DELETE /_proxy/requests`, `GET|PUT /_proxy/faults`,
//! `GET|PUT /_proxy/overlays`, `GET|PUT /_proxy/ecs` (the model's knobs and state).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::TestbedError;
use crate::aws::ecs_model::{self, Answer, EcsModel, Knobs, KnobsPatch, Upstream};
use crate::http::{self, HttpClient};

/// One request that passed through the proxy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// Order of arrival, from 1.
    pub seq: u64,
    /// Milliseconds since the proxy started.
    pub at_ms: u64,
    /// `ecs`, `application-autoscaling`, `ec2` or `unknown`.
    pub service: String,
    /// The operation (`RegisterTaskDefinition`), from `X-Amz-Target` or the Query `Action`.
    pub operation: String,
    /// The JSON body (`null` for non-JSON bodies).
    pub body: Value,
    /// The status returned to the client (0 when the connection was dropped).
    pub status: u16,
    /// The fault injected, if any.
    pub fault: Option<String>,
    /// The account the caller's credentials belong to (the proxy's, or an assumed role's).
    #[serde(default)]
    pub account: String,
}

/// A fault to inject.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Fault {
    /// A `ThrottlingException`, as AWS sends it (HTTP 400).
    Throttle,
    /// HTTP 500 with a `ServerException`.
    InternalError,
    /// HTTP 503 with a plain-text body, as a load balancer in front of AWS would send.
    Unavailable,
    /// Forward normally, but only after this delay.
    Latency {
        /// Delay in milliseconds.
        millis: u64,
    },
    /// Forward at once, but hold the answer back this long: the answer describes the state
    /// when the request arrived, and arrives late (a slow network on the way back).
    SlowAnswer {
        /// Delay in milliseconds.
        millis: u64,
    },
    /// Close the connection without answering (the request never reaches AWS).
    Drop,
    /// Let the request through, then close the connection instead of answering: AWS did the
    /// work, the client cannot know (what makes idempotency matter).
    DropResponse,
    /// Any AWS error answer, e.g. `{"kind": "awsError", "status": 400, "code": "ClientException",
    /// "message": "..."}`.
    AwsError {
        /// HTTP status.
        status: u16,
        /// AWS error code (`__type`).
        code: String,
        /// Message.
        message: String,
    },
}

/// When to inject a fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// `*`, an operation (`DescribeServices`), or `service:operation` / `service:*`.
    pub operation: String,
    /// Inject with this probability (0-1).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Inject on every Nth matching request (the Nth, 2Nth, ...).
    #[serde(default)]
    pub every_nth: Option<u64>,
    /// Inject at most this many times.
    #[serde(default)]
    pub max_times: Option<u64>,
    /// What to inject.
    pub fault: Fault,
}

/// Fields to set in the services of DescribeServices answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overlay {
    /// Only services with this name (all when absent).
    #[serde(default)]
    pub service_name: Option<String>,
    /// JSON pointer (relative to the service object) -> value, e.g.
    /// `{"/deployments/0/rolloutState": "FAILED"}`.
    pub set: HashMap<String, Value>,
}

/// How to start a proxy.
#[derive(Clone, Debug, Default)]
pub struct ProxyConfig {
    /// Base URL of moto (or any AWS-compatible endpoint).
    pub upstream: String,
    /// Port to listen on (a free one when absent).
    pub port: Option<u16>,
    /// Sent as `x-moto-account-id` on every forwarded request, isolating a test's state in moto.
    pub account_id: Option<String>,
    /// Initial fault rules.
    pub faults: Vec<FaultRule>,
    /// Forward ECS service calls to moto as they are, without the ECS model.
    pub passthrough: bool,
    /// The ECS model's knobs (ignored with `passthrough`).
    pub knobs: Knobs,
}

#[derive(Default)]
struct Rules {
    faults: Vec<FaultRule>,
    matched: Vec<u64>,
    injected: Vec<u64>,
}

struct State {
    upstream: String,
    account_id: Option<String>,
    started: Instant,
    client: HttpClient,
    records: Mutex<Vec<RecordedRequest>>,
    /// Requests that arrived (recorded or still being answered).
    received: std::sync::atomic::AtomicU64,
    /// AWS's per-category token buckets, when modelled.
    throttle: crate::aws::throttle::Throttle,
    rules: Mutex<Rules>,
    overlays: Mutex<Vec<Overlay>>,
    model: Option<Arc<EcsModel>>,
    /// The account of each access key STS AssumeRole handed out through this proxy.
    assumed: Mutex<std::collections::HashMap<String, String>>,
}

/// A running proxy; it stops when dropped.
pub struct AwsProxy {
    url: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AwsProxy {
    /// Starts listening on 127.0.0.1 in the current tokio runtime.
    pub async fn start(config: ProxyConfig) -> Result<Self, TestbedError> {
        let listener = TcpListener::bind(("127.0.0.1", config.port.unwrap_or(0)))
            .await
            .map_err(|e| TestbedError::io("binding the proxy", e))?;
        let address: SocketAddr = listener
            .local_addr()
            .map_err(|e| TestbedError::io("proxy address", e))?;
        let state = Arc::new(State {
            upstream: config.upstream.trim_end_matches('/').to_owned(),
            account_id: config.account_id,
            started: Instant::now(),
            client: http::client(),
            records: Mutex::new(Vec::new()),
            received: std::sync::atomic::AtomicU64::new(0),
            throttle: crate::aws::throttle::Throttle::default(),
            rules: Mutex::new(Rules::default()),
            overlays: Mutex::new(Vec::new()),
            model: (!config.passthrough).then(|| Arc::new(EcsModel::new(config.knobs))),
            assumed: Mutex::new(std::collections::HashMap::new()),
        });
        set_rules(&state, config.faults);
        let serving = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(state.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            url: format!("http://{address}"),
            state,
            task,
        })
    }

    /// The proxy's base URL (give it to the SDK as endpoint URL).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Everything recorded so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state
            .records
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Forgets the record.
    pub fn clear(&self) {
        if let Ok(mut records) = self.state.records.lock() {
            records.clear();
        }
    }

    /// How many AWS requests arrived so far, including those still being answered (a request is
    /// recorded when its answer leaves).
    pub fn received(&self) -> u64 {
        self.state
            .received
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many requests of `operation` were recorded.
    pub fn count(&self, operation: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.operation == operation)
            .count()
    }

    /// Replaces the fault rules.
    pub fn set_faults(&self, faults: Vec<FaultRule>) {
        set_rules(&self.state, faults);
    }

    /// Throttles calls as AWS does, one token bucket per API category (`throttle::documented()`
    /// for ECS's figures); an empty map stops throttling.
    pub fn set_buckets(
        &self,
        buckets: &std::collections::BTreeMap<String, crate::aws::throttle::BucketSpec>,
    ) {
        self.state.throttle.set(buckets);
    }

    /// Milliseconds since the proxy started: the clock of [`RecordedRequest::at_ms`].
    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.state.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The ECS model (absent in passthrough mode).
    pub fn model(&self) -> Option<Arc<EcsModel>> {
        self.state.model.clone()
    }

    /// Replaces the DescribeServices overlays.
    pub fn set_overlays(&self, overlays: Vec<Overlay>) {
        if let Ok(mut current) = self.state.overlays.lock() {
            *current = overlays;
        }
    }
}

fn set_rules(state: &State, faults: Vec<FaultRule>) {
    if let Ok(mut rules) = state.rules.lock() {
        rules.matched = vec![0; faults.len()];
        rules.injected = vec![0; faults.len()];
        rules.faults = faults;
    }
}

/// The account a request acts in: `x-moto-account-id` when the test sends one; else, for
/// credentials STS AssumeRole handed out, the role's account; else the proxy's. AWS: "Returns a
/// set of temporary security credentials that you can use to access AWS resources"; a role
/// "can be assumed by a user or application" of another account, and what they then create
/// belongs to the account that owns the role (IAM User Guide, cross-account access). moto
/// honours the header before the key, so the proxy decides and sends the header.
fn account_of(state: &State, headers: &hyper::HeaderMap) -> String {
    if let Some(account) = headers
        .get("x-moto-account-id")
        .and_then(|v| v.to_str().ok())
    {
        return account.to_owned();
    }
    let assumed = access_key_of(headers).and_then(|key| {
        state
            .assumed
            .lock()
            .ok()
            .and_then(|keys| keys.get(&key).cloned())
    });
    assumed
        .or_else(|| state.account_id.clone())
        .unwrap_or_else(|| "123456789012".into())
}

/// The access key a request is signed with (`Credential=<key>/<date>/...`).
fn access_key_of(headers: &hyper::HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').next())
        .map(str::to_owned)
}

/// The account (see [`account_of`]) and Region (the signature's credential scope,
/// `Credential=<key>/<date>/<region>/<service>/aws4_request`) a request counts against.
fn caller_of(state: &State, headers: &hyper::HeaderMap) -> (String, String) {
    let account = account_of(state, headers);
    let region = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').nth(2))
        .unwrap_or("us-east-1")
        .to_owned();
    (account, region)
}

/// Notes the account of the credentials an AssumeRole answer hands out: the role ARN's
/// (`arn:aws:iam::<account>:role/<name>`), keyed by the answer's access key.
fn remember_assumed(state: &State, request: &[u8], answer: &[u8]) {
    let request = String::from_utf8_lossy(request);
    let role = request
        .split('&')
        .find_map(|pair| pair.strip_prefix("RoleArn="))
        .map(percent_decode);
    let answer = String::from_utf8_lossy(answer);
    let key = answer
        .split("<AccessKeyId>")
        .nth(1)
        .and_then(|rest| rest.split("</AccessKeyId>").next());
    if let (Some(role), Some(key)) = (role, key)
        && let Some(account) = role.split(':').nth(4).filter(|a| !a.is_empty())
        && let Ok(mut assumed) = state.assumed.lock()
    {
        assumed.insert(key.trim().to_owned(), account.to_owned());
    }
}

/// STS AssumeRole's input constraints (API Reference, AssumeRole, Request Parameters), which moto
/// does not check:
/// - RoleArn: "Length Constraints: Minimum length of 20. Maximum length of 2048." (required);
/// - RoleSessionName: "Length Constraints: Minimum length of 2. Maximum length of 64. Pattern:
///   `[\w+=,.@-]*`" (required);
/// - ExternalId: "Length Constraints: Minimum length of 2. Maximum length of 1224. Pattern:
///   `[\w+=,.@:\/-]*`".
fn assume_role_input(fields: &Value) -> Result<(), String> {
    let field = |name: &str| fields.get(name).and_then(Value::as_str);
    let word = |c: char, extra: &str| c.is_ascii_alphanumeric() || c == '_' || extra.contains(c);
    let role = field("RoleArn").ok_or("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")?;
    if !(20..=2048).contains(&role.len()) {
        return Err(format!(
            "1 validation error detected: Value '{role}' at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048"
        ));
    }
    let session = field("RoleSessionName").ok_or("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")?;
    if !(2..=64).contains(&session.len()) || !session.chars().all(|c| word(c, "+=,.@-")) {
        return Err(format!(
            "1 validation error detected: Value '{session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64"
        ));
    }
    if let Some(id) = field("ExternalId")
        && (!(2..=1224).contains(&id.len()) || !id.chars().all(|c| word(c, "+=,.@:/-")))
    {
        return Err("1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:/-]* and have length between 2 and 1224".to_owned());
    }
    Ok(())
}

/// The fields of a form-encoded body, decoded (`Null` when there are none).
fn form_fields(body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    let fields: serde_json::Map<String, Value> = text
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (percent_decode(key), Value::String(percent_decode(value))))
        .collect();
    if fields.is_empty() {
        Value::Null
    } else {
        Value::Object(fields)
    }
}

/// `%XX` escapes and `+` of a form value decoded.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An error returned from the service makes hyper close the connection without an answer.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
struct Dropped;

type ProxyResponse = Response<Full<Bytes>>;

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<ProxyResponse, Dropped> {
    if request.uri().path().starts_with("/_proxy/") {
        return Ok(control(&state, request).await);
    }
    state
        .received
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(plain(StatusCode::BAD_REQUEST, "unreadable body")),
    };
    let (service, operation) = identify(&parts.headers, &body);
    // Query-protocol bodies (STS, EC2) are recorded as an object of their form fields.
    let json_body: Value = serde_json::from_slice(&body).unwrap_or_else(|_| form_fields(&body));
    let (account, region) = caller_of(&state, &parts.headers);
    let caller = crate::aws::throttle::Caller {
        account: &account,
        region: &region,
    };
    let fault = if state
        .throttle
        .admit(&caller, &service, &operation, &json_body)
    {
        pick_fault(&state, &service, &operation)
    } else {
        Some(Fault::Throttle)
    };
    let mut record = RecordedRequest {
        seq: 0,
        at_ms: u64::try_from(state.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        service,
        operation: operation.clone(),
        body: json_body,
        status: 0,
        fault: fault.as_ref().map(|f| format!("{f:?}")),
        account: account.clone(),
    };

    let response = match fault {
        Some(Fault::Drop) => {
            push(&state, record);
            return Err(Dropped);
        }
        Some(Fault::Throttle) => aws_error(
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            "Rate exceeded",
        ),
        Some(Fault::InternalError) => aws_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerException",
            "injected server error",
        ),
        Some(Fault::Unavailable) => plain(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
        Some(Fault::AwsError {
            status,
            code,
            message,
        }) if !parts.headers.contains_key("x-amz-target") => query_error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            &code,
            &message,
        ),
        Some(Fault::AwsError {
            status,
            code,
            message,
        }) => aws_error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            &code,
            &message,
        ),
        Some(Fault::Latency { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            serve(&state, &parts, body, &record.service, &operation).await
        }
        Some(Fault::SlowAnswer { millis }) => {
            let answer = serve(&state, &parts, body, &record.service, &operation).await;
            tokio::time::sleep(Duration::from_millis(millis)).await;
            answer
        }
        Some(Fault::DropResponse) => {
            let _ = serve(&state, &parts, body, &record.service, &operation).await;
            push(&state, record);
            return Err(Dropped);
        }
        None => serve(&state, &parts, body, &record.service, &operation).await,
    };
    record.status = response.status().as_u16();
    push(&state, record);
    Ok(response)
}

/// Answers a request: from the ECS model for what it models, from moto for the rest.
async fn serve(
    state: &State,
    parts: &hyper::http::request::Parts,
    body: Bytes,
    service: &str,
    operation: &str,
) -> ProxyResponse {
    if service == "sts"
        && operation == "AssumeRole"
        && let Err(message) = assume_role_input(&form_fields(&body))
    {
        return query_error(StatusCode::BAD_REQUEST, "ValidationError", &message);
    }
    let Some(model) = state
        .model
        .as_ref()
        .filter(|_| ecs_model::handles(service, operation))
    else {
        return forward(state, parts, body, operation).await;
    };
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let account = account_of(state, &parts.headers);
    let mut headers = vec![("x-moto-account-id".to_owned(), account.clone())];
    if let Some(auth) = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    {
        headers.push(("authorization".to_owned(), auth.to_owned()));
    }
    let upstream = Upstream {
        client: &state.client,
        url: &state.upstream,
        headers,
    };
    match model
        .handle(&upstream, &account, service, operation, &request)
        .await
    {
        Answer::Ok(answer) => {
            let bytes = Bytes::from(answer.to_string());
            let bytes = if operation == "DescribeServices" {
                overlay(state, bytes)
            } else {
                bytes
            };
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/x-amz-json-1.1")
                .body(Full::new(bytes))
                .unwrap_or_else(|_| plain(StatusCode::BAD_GATEWAY, "bad model answer"))
        }
        Answer::Error {
            status,
            code,
            message,
        } => aws_error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            &code,
            &message,
        ),
    }
}

fn push(state: &State, mut record: RecordedRequest) {
    if let Ok(mut records) = state.records.lock() {
        record.seq = records.len() as u64 + 1;
        records.push(record);
    }
}

async fn forward(
    state: &State,
    parts: &hyper::http::request::Parts,
    body: Bytes,
    operation: &str,
) -> ProxyResponse {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", state.upstream);
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "host" | "content-length" | "connection"))
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    if !headers.iter().any(|(name, _)| name == "x-moto-account-id") {
        headers.push((
            "x-moto-account-id".into(),
            account_of(state, &parts.headers),
        ));
    }
    let json = parts.headers.contains_key("x-amz-target");
    let request_body = (operation == "AssumeRole").then(|| body.clone());
    let header_refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    match http::send(
        &state.client,
        parts.method.as_str(),
        &url,
        &header_refs,
        body,
    )
    .await
    {
        Ok((status, body)) => {
            let body = if operation == "DescribeServices" {
                overlay(state, body)
            } else {
                body
            };
            if let Some(request) = &request_body
                && status == 200
            {
                remember_assumed(state, request, &body);
            }
            Response::builder()
                .status(status)
                .header(
                    "content-type",
                    if json {
                        "application/x-amz-json-1.1"
                    } else {
                        "text/xml"
                    },
                )
                .body(Full::new(body))
                .unwrap_or_else(|_| plain(StatusCode::BAD_GATEWAY, "bad upstream answer"))
        }
        Err(e) => plain(StatusCode::BAD_GATEWAY, &e.to_string()),
    }
}

fn overlay(state: &State, body: Bytes) -> Bytes {
    let overlays = state.overlays.lock().map(|o| o.clone()).unwrap_or_default();
    if overlays.is_empty() {
        return body;
    }
    let Ok(mut answer) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    if let Some(services) = answer.get_mut("services").and_then(Value::as_array_mut) {
        for service in services.iter_mut() {
            let name = service
                .get("serviceName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            for rule in overlays
                .iter()
                .filter(|o| o.service_name.as_deref().is_none_or(|n| n == name))
            {
                for (pointer, value) in &rule.set {
                    set_pointer(service, pointer, value.clone());
                }
            }
        }
    }
    serde_json::to_vec(&answer).map(Bytes::from).unwrap_or(body)
}

/// Sets `value` at a JSON pointer, creating objects on the way (array indexes must exist).
fn set_pointer(target: &mut Value, pointer: &str, value: Value) {
    let mut current = target;
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, path)) = tokens.split_last() else {
        *current = value;
        return;
    };
    for token in path {
        current = match current {
            Value::Array(items) => match token.parse::<usize>().ok().and_then(|i| items.get_mut(i))
            {
                Some(item) => item,
                None => return,
            },
            Value::Object(map) => map.entry(token.clone()).or_insert_with(|| json!({})),
            _ => return,
        };
    }
    match current {
        Value::Object(map) => {
            map.insert(last.clone(), value);
        }
        Value::Array(items) => {
            if let Some(item) = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *item = value;
            }
        }
        _ => {}
    }
}

fn pick_fault(state: &State, service: &str, operation: &str) -> Option<Fault> {
    let mut rules = state.rules.lock().ok()?;
    let Rules {
        faults,
        matched,
        injected,
    } = &mut *rules;
    for (i, rule) in faults.iter().enumerate() {
        if !operation_matches(&rule.operation, service, operation) {
            continue;
        }
        matched[i] += 1;
        if rule.max_times.is_some_and(|max| injected[i] >= max) {
            continue;
        }
        let by_count = rule.every_nth.is_none_or(|n| n > 0 && matched[i] % n == 0);
        let by_chance = rule.probability.is_none_or(|p| fastrand::f64() < p);
        if by_count && by_chance {
            injected[i] += 1;
            return Some(rule.fault.clone());
        }
    }
    None
}

fn operation_matches(pattern: &str, service: &str, operation: &str) -> bool {
    match pattern.split_once(':') {
        _ if pattern == "*" => true,
        Some((svc, "*")) => svc == service,
        Some((svc, op)) => svc == service && op == operation,
        None => pattern == operation,
    }
}

/// (service, operation) of a request: from `X-Amz-Target` (JSON protocols) or `Action=` (Query).
fn identify(headers: &hyper::HeaderMap, body: &Bytes) -> (String, String) {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (prefix, operation) = target.split_once('.').unwrap_or(("", target));
        let service = if prefix.starts_with("AmazonEC2ContainerService") {
            "ecs"
        } else if prefix.starts_with("AnyScaleFrontendService") {
            "application-autoscaling"
        } else {
            "unknown"
        };
        return (service.to_owned(), operation.to_owned());
    }
    let text = String::from_utf8_lossy(body);
    let action = text
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .unwrap_or("unknown");
    // Query protocol: the signature's credential scope names the service (`.../sts/aws4_request`);
    // the tests' unsigned seed calls are EC2's.
    let service = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').nth(3))
        .unwrap_or("ec2");
    (service.to_owned(), action.to_owned())
}

fn aws_error(status: StatusCode, code: &str, message: &str) -> ProxyResponse {
    let body = json!({"__type": code, "message": message}).to_string();
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-errortype", code)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// An error of a Query-protocol service (STS, EC2) in its XML shape, so SDKs read its code.
fn query_error(status: StatusCode, code: &str, message: &str) -> ProxyResponse {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let body = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>injected</RequestId></ErrorResponse>",
        escape(code),
        escape(message)
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn plain(status: StatusCode, text: &str) -> ProxyResponse {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain")
        .body(Full::new(Bytes::from(text.to_owned())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn json_response(value: &Value) -> ProxyResponse {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

async fn control(state: &State, request: Request<Incoming>) -> ProxyResponse {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return plain(StatusCode::BAD_REQUEST, "unreadable body"),
    };
    match (method.as_str(), path.as_str()) {
        ("GET", "/_proxy/requests") => {
            let records = state.records.lock().map(|r| r.clone()).unwrap_or_default();
            json_response(&json!(records))
        }
        ("DELETE", "/_proxy/requests") => {
            if let Ok(mut records) = state.records.lock() {
                records.clear();
            }
            json_response(&json!({"cleared": true}))
        }
        ("GET", "/_proxy/faults") => {
            let faults = state
                .rules
                .lock()
                .map(|r| r.faults.clone())
                .unwrap_or_default();
            json_response(&json!({"rules": faults}))
        }
        ("PUT", "/_proxy/faults") => match serde_json::from_slice::<FaultsBody>(&body) {
            Ok(parsed) => {
                set_rules(state, parsed.rules);
                json_response(&json!({"ok": true}))
            }
            Err(e) => plain(
                StatusCode::BAD_REQUEST,
                &format!("expected {{\"rules\": [...]}}: {e}"),
            ),
        },
        ("GET", "/_proxy/overlays") => {
            let overlays = state.overlays.lock().map(|o| o.clone()).unwrap_or_default();
            json_response(&json!({"overlays": overlays}))
        }
        ("PUT", "/_proxy/overlays") => match serde_json::from_slice::<OverlaysBody>(&body) {
            Ok(parsed) => {
                if let Ok(mut overlays) = state.overlays.lock() {
                    *overlays = parsed.overlays;
                }
                json_response(&json!({"ok": true}))
            }
            Err(e) => plain(
                StatusCode::BAD_REQUEST,
                &format!("expected {{\"overlays\": [...]}}: {e}"),
            ),
        },
        ("GET", "/_proxy/ecs") => match &state.model {
            Some(model) => json_response(&model.state().await),
            None => json_response(&json!({"passthrough": true})),
        },
        ("PUT", "/_proxy/ecs") => match (&state.model, serde_json::from_slice::<KnobsPatch>(&body))
        {
            (Some(model), Ok(patch)) => {
                model.set_knobs(patch);
                json_response(&json!(model.knobs()))
            }
            (None, _) => plain(
                StatusCode::CONFLICT,
                "the proxy runs with --passthrough: no ECS model",
            ),
            (_, Err(e)) => plain(
                StatusCode::BAD_REQUEST,
                &format!(
                    "expected any of the knobs in testbed/README.md (rolloutSeconds, drainSeconds, imageOutcomes, unlistedSeconds, taskSeconds, runSeconds, stoppedRetentionSeconds, providerSeconds, steadyStateSeconds, hookAnswers, requireContainerInstances, minuteSeconds): {e}"
                ),
            ),
        },
        _ => plain(StatusCode::NOT_FOUND, "unknown control endpoint"),
    }
}

/// Body of `PUT /_proxy/faults` (and the `--faults` file).
#[derive(Debug, Deserialize)]
pub struct FaultsBody {
    /// The rules.
    pub rules: Vec<FaultRule>,
}

#[derive(Deserialize)]
struct OverlaysBody {
    overlays: Vec<Overlay>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(operation_matches("*", "ecs", "X"));
        assert!(operation_matches(
            "DescribeServices",
            "ecs",
            "DescribeServices"
        ));
        assert!(operation_matches("ecs:*", "ecs", "CreateService"));
        assert!(!operation_matches(
            "ecs:*",
            "application-autoscaling",
            "PutScalingPolicy"
        ));
        assert!(operation_matches(
            "application-autoscaling:PutScalingPolicy",
            "application-autoscaling",
            "PutScalingPolicy"
        ));
    }

    #[test]
    fn pointer_set() {
        let mut service = json!({"deployments": [{"rolloutState": "COMPLETED"}]});
        set_pointer(&mut service, "/deployments/0/rolloutState", json!("FAILED"));
        set_pointer(&mut service, "/events", json!([{"message": "m"}]));
        set_pointer(&mut service, "/deployments/5/x", json!(1));
        assert_eq!(
            service,
            json!({"deployments": [{"rolloutState": "FAILED"}], "events": [{"message": "m"}]})
        );
    }
}
