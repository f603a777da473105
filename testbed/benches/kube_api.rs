//! Load benchmark of the Kubernetes API emulator: 5,000 custom objects created while 10 watchers
//! stream every change, then listed and updated. Reports latency per request and checks that every
//! watcher saw every change. Run: `cargo bench -p ecs-testbed --bench kube_api`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ecs_testbed::http;
use ecs_testbed::kube::emulator::KubeApi;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

const OBJECTS: usize = 5_000;
const WATCHERS: usize = 10;
const CONCURRENCY: usize = 8;

fn crd() -> serde_json::Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "loads.bench.ecs.operator.dev"},
        "spec": {"group": "bench.ecs.operator.dev", "scope": "Namespaced",
            "names": {"kind": "Load", "plural": "loads", "singular": "load", "listKind": "LoadList"},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["size"], "properties": {
                        "size": {"type": "integer", "minimum": 0},
                        "image": {"type": "string", "maxLength": 200}},
                        "x-kubernetes-validations": [{"rule": "self.size >= 0", "message": "size"}]},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut samples: Vec<Duration>, total: Duration) {
    samples.sort();
    println!(
        "{name:<28} n={:<5} total={:>8.1?} rate={:>7.0}/s p50={:>8.2?} p95={:>8.2?} p99={:>8.2?} max={:>8.2?}",
        samples.len(),
        total,
        samples.len() as f64 / total.as_secs_f64(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.95),
        percentile(&samples, 0.99),
        samples[samples.len() - 1],
    );
}

/// Streams a watch and counts events until `expected` arrive; returns (count, time to last).
async fn watcher(url: String, expected: usize) -> (usize, Duration) {
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let request = hyper::Request::get(format!("{url}/apis/bench.ecs.operator.dev/v1/namespaces/default/loads?watch=true&resourceVersion=1&timeoutSeconds=600"))
        .body(Empty::new())
        .expect("request");
    let started = Instant::now();
    let mut body = client.request(request).await.expect("watch").into_body();
    let mut count = 0;
    while count < expected {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    count += data.iter().filter(|b| **b == b'\n').count();
                }
            }
            _ => break,
        }
    }
    (count, started.elapsed())
}

async fn timed_requests(
    client: &http::HttpClient,
    requests: Vec<(String, String, Bytes, &'static str)>,
) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let mut samples = Vec::with_capacity(requests.len());
    let mut pending = requests.into_iter();
    loop {
        let batch: Vec<_> = pending.by_ref().take(CONCURRENCY).collect();
        if batch.is_empty() {
            break;
        }
        let calls = batch.into_iter().map(|(method, url, body, content_type)| {
            let client = client.clone();
            async move {
                let t = Instant::now();
                let (status, answer) = http::send(
                    &client,
                    &method,
                    &url,
                    &[("content-type", content_type)],
                    body,
                )
                .await
                .expect("answer");
                assert!(
                    status < 300,
                    "{method} {url}: {status} {}",
                    String::from_utf8_lossy(&answer)
                );
                t.elapsed()
            }
        });
        samples.extend(futures::future::join_all(calls).await);
    }
    (samples, started.elapsed())
}

#[tokio::main]
async fn main() {
    let api = KubeApi::start(None).await.expect("emulator");
    let url = api.url().to_owned();
    let client = http::client();
    let (status, _) = http::send(
        &client,
        "POST",
        &format!("{url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions"),
        &[("content-type", "application/json")],
        crd().to_string().into(),
    )
    .await
    .expect("crd");
    assert_eq!(status, 201);

    // Every watcher must see every create and every update.
    let expected = OBJECTS * 2;
    let watchers: Vec<_> = (0..WATCHERS)
        .map(|_| tokio::spawn(watcher(url.clone(), expected)))
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let collection = format!("{url}/apis/bench.ecs.operator.dev/v1/namespaces/default/loads");
    let creates = (0..OBJECTS)
        .map(|i| {
            let body = json!({"apiVersion": "bench.ecs.operator.dev/v1", "kind": "Load", "metadata": {"name": format!("load-{i:05}"), "labels": {"shard": (i % 10).to_string()}},
                "spec": {"size": i, "image": "registry.example.com/app:1.0.0"}});
            ("POST".to_owned(), collection.clone(), Bytes::from(body.to_string()), "application/json")
        })
        .collect();
    let (samples, total) = timed_requests(&client, creates).await;
    report("create (10 watchers open)", samples, total);

    let gets = (0..1_000)
        .map(|i| {
            (
                "GET".to_owned(),
                format!("{collection}/load-{:05}", i * 5),
                Bytes::new(),
                "application/json",
            )
        })
        .collect();
    let (samples, total) = timed_requests(&client, gets).await;
    report("get", samples, total);

    let lists = (0..20)
        .map(|i| {
            (
                "GET".to_owned(),
                format!("{collection}?labelSelector=shard%3D{}", i % 10),
                Bytes::new(),
                "application/json",
            )
        })
        .collect();
    let (samples, total) = timed_requests(&client, lists).await;
    report("list by label (500 each)", samples, total);

    let full_lists = (0..5)
        .map(|_| {
            (
                "GET".to_owned(),
                collection.clone(),
                Bytes::new(),
                "application/json",
            )
        })
        .collect();
    let (samples, total) = timed_requests(&client, full_lists).await;
    report("list all (5,000)", samples, total);

    let patches = (0..OBJECTS)
        .map(|i| {
            (
                "PATCH".to_owned(),
                format!("{collection}/load-{i:05}"),
                Bytes::from(json!({"spec": {"size": i + 1}}).to_string()),
                "application/merge-patch+json",
            )
        })
        .collect();
    let (samples, total) = timed_requests(&client, patches).await;
    report("merge patch (10 watchers)", samples, total);

    let mut slowest = Duration::ZERO;
    for handle in watchers {
        let (count, elapsed) = handle.await.expect("watcher");
        assert_eq!(count, expected, "a watcher missed events");
        slowest = slowest.max(elapsed);
    }
    println!(
        "watchers: {WATCHERS} x {expected} events each, all delivered; last watcher done after {slowest:.1?}"
    );
    let (_, stats) = http::send(
        &client,
        "GET",
        &format!("{url}/_emulator/stats"),
        &[],
        Bytes::new(),
    )
    .await
    .expect("stats");
    println!("stats: {}", String::from_utf8_lossy(&stats));
}
