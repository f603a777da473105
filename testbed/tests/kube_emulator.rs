//! The Kubernetes API emulator, driven by the real `kube` client and `kube-runtime`: one test per
//! API-server rule the operator relies on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ecs_testbed::kube::emulator::KubeApi;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::Status;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher::{self, watcher};
use kube::{Client, CustomResource, CustomResourceExt, KubeSchema, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A small CRD exercising every schema feature the emulator checks.
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "test.ecs.operator.dev",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    shortname = "wd",
    category = "testing"
)]
#[kube(printcolumn(name = "Size", type_ = "integer", json_path = ".spec.size"))]
#[kube(printcolumn(
    name = "Ready",
    type_ = "string",
    json_path = ".status.conditions[?(@.type==\"Ready\")].status"
))]
#[x_kube(validation = Rule::new("self.size <= self.limit").message("size must not exceed limit"))]
#[serde(rename_all = "camelCase")]
pub struct WidgetSpec {
    #[schemars(range(min = 1, max = 100))]
    size: i32,
    #[serde(default = "default_limit")]
    limit: i32,
    #[schemars(regex(pattern = "^[a-z]+$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("color is immutable"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    color: Option<String>,
}

fn default_limit() -> i32 {
    50
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WidgetStatus {
    #[serde(default)]
    observed: i32,
    #[serde(default)]
    conditions: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
}

async fn emulator() -> (KubeApi, Client) {
    let api = KubeApi::start(None).await.expect("emulator starts");
    let config = kube::Config::new(api.url().parse().expect("url"));
    let client = Client::try_from(config).expect("client");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &Widget::crd())
        .await
        .expect("CRD created");
    (api, client)
}

fn widget(name: &str, size: i32) -> Widget {
    Widget::new(
        name,
        WidgetSpec {
            size,
            limit: 50,
            color: None,
        },
    )
}

fn api_error(error: kube::Error) -> Status {
    match error {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn discovery_lists_crd_resources() {
    let (_api, client) = emulator().await;
    let discovery = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let group = discovery
        .groups()
        .find(|g| g.name() == "test.ecs.operator.dev")
        .expect("group served");
    let (resource, caps) = group.recommended_kind("Widget").expect("Widget");
    assert_eq!(resource.plural, "widgets");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    let version = client.apiserver_version().await.expect("version");
    assert_eq!(version.major, "1");
}

#[tokio::test]
async fn create_get_replace_with_conflicts() {
    let (_api, client) = emulator().await;
    let widgets: Api<Widget> = Api::namespaced(client, "default");
    let created = widgets
        .create(&PostParams::default(), &widget("a", 1))
        .await
        .expect("created");
    assert!(created.uid().is_some());
    assert!(created.creation_timestamp().is_some());
    assert_eq!(created.metadata.generation, Some(1));
    let rv1 = created.resource_version().expect("rv");

    let again = api_error(
        widgets
            .create(&PostParams::default(), &widget("a", 1))
            .await
            .expect_err("exists"),
    );
    assert_eq!((again.code, again.reason.as_str()), (409, "AlreadyExists"));
    let missing = api_error(widgets.get("nope").await.expect_err("missing"));
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));

    let mut changed = created.clone();
    changed.spec.size = 2;
    let replaced = widgets
        .replace("a", &PostParams::default(), &changed)
        .await
        .expect("replaced");
    assert_ne!(replaced.resource_version().expect("rv"), rv1);
    assert_eq!(replaced.metadata.generation, Some(2));
    // The same (now stale) resourceVersion again: 409 Conflict.
    let stale = api_error(
        widgets
            .replace("a", &PostParams::default(), &changed)
            .await
            .expect_err("stale"),
    );
    assert_eq!((stale.code, stale.reason.as_str()), (409, "Conflict"));
    // Creating in a namespace that does not exist.
    let elsewhere: Api<Widget> = Api::namespaced(widgets.clone().into_client(), "nowhere");
    assert_eq!(
        api_error(
            elsewhere
                .create(&PostParams::default(), &widget("b", 1))
                .await
                .expect_err("no ns")
        )
        .code,
        404
    );
}

#[tokio::test]
async fn generation_counts_spec_changes_and_status_is_separate() {
    let (_api, client) = emulator().await;
    let widgets: Api<Widget> = Api::namespaced(client, "default");
    widgets
        .create(&PostParams::default(), &widget("g", 1))
        .await
        .expect("created");
    // Status through the main endpoint is ignored.
    let ignored = widgets
        .patch(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observed": 9}})),
        )
        .await
        .expect("patched");
    assert_eq!(ignored.status, None);
    // Status through /status changes status only, not the generation.
    let with_status = widgets
        .patch_status(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observed": 1}, "spec": {"size": 99}})),
        )
        .await
        .expect("status");
    assert_eq!(with_status.status.as_ref().map(|s| s.observed), Some(1));
    assert_eq!(with_status.spec.size, 1);
    assert_eq!(with_status.metadata.generation, Some(1));
    // Labels are metadata: no new generation.
    let labelled = widgets
        .patch(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await
        .expect("labels");
    assert_eq!(labelled.metadata.generation, Some(1));
    let resized = widgets
        .patch(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 3}})),
        )
        .await
        .expect("resized");
    assert_eq!(resized.metadata.generation, Some(2));
    assert_eq!(
        resized.status.as_ref().map(|s| s.observed),
        Some(1),
        "status survives spec writes"
    );
    // A write that changes nothing keeps the resource version.
    let same = widgets
        .patch(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 3}})),
        )
        .await
        .expect("no-op");
    assert_eq!(same.resource_version(), resized.resource_version());
}

#[tokio::test]
async fn finalizers_hold_deletion() {
    let (_api, client) = emulator().await;
    let widgets: Api<Widget> = Api::namespaced(client, "default");
    let mut w = widget("f", 1);
    w.metadata.finalizers = Some(vec!["test/cleanup".into()]);
    widgets
        .create(&PostParams::default(), &w)
        .await
        .expect("created");
    widgets
        .delete("f", &DeleteParams::default())
        .await
        .expect("delete accepted");
    let marked = widgets.get("f").await.expect("still there");
    assert!(marked.metadata.deletion_timestamp.is_some());
    let added = widgets
        .patch(
            "f",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["test/cleanup", "test/other"]}})),
        )
        .await
        .expect_err("no new finalizers while deleting");
    assert_eq!(api_error(added).code, 422);
    widgets
        .patch(
            "f",
            &PatchParams::default(),
            &Patch::Json::<()>(
                serde_json::from_value(json!([
                    {"op": "test", "path": "/metadata/finalizers", "value": ["test/cleanup"]},
                    {"op": "remove", "path": "/metadata/finalizers"}
                ]))
                .expect("patch"),
            ),
        )
        .await
        .expect("finalizer removed");
    assert_eq!(
        api_error(widgets.get("f").await.expect_err("gone")).code,
        404
    );
}

#[tokio::test]
async fn schema_validation_pruning_defaults_and_cel() {
    let (api, client) = emulator().await;
    let widgets: Api<Widget> = Api::namespaced(client.clone(), "default");
    let raw: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client,
        "default",
        &kube::api::ApiResource::erase::<Widget>(&()),
    );
    let object = |spec: serde_json::Value| -> kube::api::DynamicObject {
        serde_json::from_value(json!({"apiVersion": "test.ecs.operator.dev/v1", "kind": "Widget", "metadata": {"name": "s"}, "spec": spec})).expect("object")
    };

    let invalid = api_error(
        raw.create(&PostParams::default(), &object(json!({"size": 0})))
            .await
            .expect_err("range"),
    );
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));
    assert!(invalid.message.contains("spec.size"), "{}", invalid.message);

    let missing = api_error(
        raw.create(&PostParams::default(), &object(json!({"limit": 5})))
            .await
            .expect_err("required"),
    );
    assert!(
        missing.message.contains("spec.size") && missing.message.contains("Required"),
        "{}",
        missing.message
    );

    let pattern = api_error(
        raw.create(
            &PostParams::default(),
            &object(json!({"size": 1, "color": "Red"})),
        )
        .await
        .expect_err("pattern"),
    );
    assert!(
        pattern.message.contains("spec.color"),
        "{}",
        pattern.message
    );

    let cel = api_error(
        raw.create(&PostParams::default(), &object(json!({"size": 60})))
            .await
            .expect_err("cel"),
    );
    assert!(
        cel.message.contains("size must not exceed limit"),
        "{}",
        cel.message
    );

    // fieldValidation=Strict (what kubectl sends by default) rejects unknown fields.
    let http = ecs_testbed::http::client();
    let (status, body) = ecs_testbed::http::send(
        &http,
        "POST",
        &format!(
            "{}/apis/test.ecs.operator.dev/v1/namespaces/default/widgets?fieldValidation=Strict",
            api.url()
        ),
        &[("content-type", "application/json")],
        serde_json::to_vec(&object(json!({"size": 1, "typo": 1})))
            .expect("json")
            .into(),
    )
    .await
    .expect("answer");
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("spec.typo"));

    let created = raw
        .create(
            &PostParams::default(),
            &object(json!({"size": 1, "typo": 1, "color": "red"})),
        )
        .await
        .expect("pruned");
    assert_eq!(
        created.data["spec"],
        json!({"size": 1, "limit": 50, "color": "red"}),
        "pruned and defaulted"
    );

    let immutable = api_error(
        widgets
            .patch(
                "s",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"color": "blue"}})),
            )
            .await
            .expect_err("transition rule"),
    );
    assert!(
        immutable.message.contains("color is immutable"),
        "{}",
        immutable.message
    );
}

#[tokio::test]
async fn server_side_apply_owns_and_removes_fields() {
    let (_api, client) = emulator().await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    let apply = |data: serde_json::Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": data});
    let first = maps
        .patch(
            "cfg",
            &PatchParams::apply("alice"),
            &Patch::Apply(apply(json!({"a": "1", "b": "2"}))),
        )
        .await
        .expect("created by apply");
    assert_eq!(first.data.as_ref().map(|d| d.len()), Some(2));
    // alice stops applying "b": it is removed.
    let second = maps
        .patch(
            "cfg",
            &PatchParams::apply("alice"),
            &Patch::Apply(apply(json!({"a": "1"}))),
        )
        .await
        .expect("applied");
    assert_eq!(
        second
            .data
            .as_ref()
            .map(|d| d.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["a".to_owned()])
    );
    // bob changing alice's field conflicts, unless forced.
    let conflict = maps
        .patch(
            "cfg",
            &PatchParams::apply("bob"),
            &Patch::Apply(apply(json!({"a": "9"}))),
        )
        .await
        .expect_err("conflict");
    let conflict = api_error(conflict);
    assert_eq!(conflict.code, 409);
    assert!(conflict.message.contains("alice"), "{}", conflict.message);
    let forced = maps
        .patch(
            "cfg",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(apply(json!({"a": "9"}))),
        )
        .await
        .expect("forced");
    assert_eq!(
        forced
            .data
            .as_ref()
            .and_then(|d| d.get("a"))
            .map(String::as_str),
        Some("9")
    );
    let managers: Vec<String> = forced
        .managed_fields()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(managers.contains(&"bob".to_owned()));
}

/// A strategic-merge patch that removes applied fields (kube-lease-manager releasing a Lease)
/// frees them: the next applier does not conflict with the previous holder, as on an API server.
#[tokio::test]
async fn an_update_that_removes_applied_fields_releases_them() {
    let (_api, client) = emulator().await;
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    let apply = |data: serde_json::Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held"}, "data": data});
    maps.patch(
        "held",
        &PatchParams::apply("alice"),
        &Patch::Apply(apply(json!({"holder": "alice", "kept": "1"}))),
    )
    .await
    .expect("created by apply");
    maps.patch(
        "held",
        &PatchParams::default(),
        &Patch::Strategic(json!({"data": {"holder": null}})),
    )
    .await
    .expect("removed by a patch");
    let taken = maps
        .patch(
            "held",
            &PatchParams::apply("bob"),
            &Patch::Apply(apply(json!({"holder": "bob"}))),
        )
        .await
        .expect("bob applies the released field without a conflict");
    assert_eq!(
        taken
            .data
            .as_ref()
            .and_then(|d| d.get("holder"))
            .map(String::as_str),
        Some("bob")
    );
    // alice still owns what nobody touched: bob taking it conflicts.
    let conflict = maps
        .patch(
            "held",
            &PatchParams::apply("bob"),
            &Patch::Apply(apply(json!({"holder": "bob", "kept": "2"}))),
        )
        .await
        .expect_err("kept is alice's");
    assert_eq!(api_error(conflict).code, 409);
}

#[tokio::test]
async fn selectors_and_pagination() {
    let (_api, client) = emulator().await;
    let widgets: Api<Widget> = Api::namespaced(client, "default");
    for i in 0..7 {
        let mut w = widget(&format!("w{i}"), 1);
        w.metadata.labels = Some(
            [(
                "parity".to_owned(),
                if i % 2 == 0 { "even" } else { "odd" }.to_owned(),
            )]
            .into(),
        );
        widgets
            .create(&PostParams::default(), &w)
            .await
            .expect("created");
    }
    let even = widgets
        .list(&ListParams::default().labels("parity=even"))
        .await
        .expect("list");
    assert_eq!(even.items.len(), 4);
    let named = widgets
        .list(&ListParams::default().fields("metadata.name=w3"))
        .await
        .expect("list");
    assert_eq!(
        named.items.iter().map(|w| w.name_any()).collect::<Vec<_>>(),
        ["w3"]
    );
    let mut seen = Vec::new();
    let mut params = ListParams::default().limit(3);
    loop {
        let page = widgets.list(&params).await.expect("page");
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|w| w.name_any()));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    assert_eq!(seen, ["w0", "w1", "w2", "w3", "w4", "w5", "w6"]);
}

#[tokio::test]
async fn watch_streams_changes_bookmarks_and_gone() {
    let (api, client) = emulator().await;
    let widgets: Api<Widget> = Api::namespaced(client, "default");
    let start = widgets
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let stream = widgets
        .watch(&WatchParams::default().timeout(10), &start)
        .await
        .expect("watch");
    futures::pin_mut!(stream);
    widgets
        .create(&PostParams::default(), &widget("w", 1))
        .await
        .expect("created");
    widgets
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2}})),
        )
        .await
        .expect("patched");
    widgets
        .delete("w", &DeleteParams::default())
        .await
        .expect("deleted");
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        match stream.try_next().await.expect("event").expect("open") {
            WatchEvent::Added(w) => kinds.push(format!("ADDED {}", w.spec.size)),
            WatchEvent::Modified(w) => kinds.push(format!("MODIFIED {}", w.spec.size)),
            WatchEvent::Deleted(_) => kinds.push("DELETED".to_owned()),
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(kinds, ["ADDED 1", "MODIFIED 2", "DELETED"]);
    // With nothing happening, bookmarks keep arriving.
    let bookmark = stream.try_next().await.expect("event").expect("open");
    assert!(matches!(bookmark, WatchEvent::Bookmark(_)), "{bookmark:?}");

    // After compaction, resuming from the old version is 410 Gone.
    api.server().store.compact();
    let resumed = widgets
        .watch(&WatchParams::default(), &start)
        .await
        .expect("watch");
    futures::pin_mut!(resumed);
    match resumed.try_next().await.expect("event").expect("an event") {
        WatchEvent::Error(e) => assert_eq!(e.code, 410),
        other => panic!("expected 410, got {other:?}"),
    }
}

#[tokio::test]
async fn tables_carry_printer_columns() {
    let (api, client) = emulator().await;
    let widgets: Api<Widget> = Api::namespaced(client.clone(), "default");
    widgets
        .create(&PostParams::default(), &widget("t", 7))
        .await
        .expect("created");
    let http = ecs_testbed::http::client();
    let (status, body) = ecs_testbed::http::send(
        &http,
        "GET",
        &format!(
            "{}/apis/test.ecs.operator.dev/v1/namespaces/default/widgets",
            api.url()
        ),
        &[(
            "accept",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )],
        bytes::Bytes::new(),
    )
    .await
    .expect("table");
    assert_eq!(status, 200);
    let table: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(table["kind"], "Table");
    let columns: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(columns, ["Name", "Size", "Ready", "Age"]);
    assert_eq!(table["rows"][0]["cells"][0], "t");
    assert_eq!(table["rows"][0]["cells"][1], 7);
}

#[tokio::test]
async fn injected_failures_are_served_as_status() {
    let (api, client) = emulator().await;
    let http = ecs_testbed::http::client();
    let (status, _) = ecs_testbed::http::send(
        &http,
        "POST",
        &format!("{}/_emulator/fail", api.url()),
        &[],
        json!({"verb": "create", "resource": "widgets", "status": 500, "count": 1})
            .to_string()
            .into(),
    )
    .await
    .expect("knob");
    assert_eq!(status, 200);
    let widgets: Api<Widget> = Api::namespaced(client, "default");
    assert_eq!(
        api_error(
            widgets
                .create(&PostParams::default(), &widget("x", 1))
                .await
                .expect_err("injected")
        )
        .code,
        500
    );
    widgets
        .create(&PostParams::default(), &widget("x", 1))
        .await
        .expect("only once");
}

struct Context {
    client: Client,
    reconciles: AtomicUsize,
}

async fn reconcile(widget: Arc<Widget>, ctx: Arc<Context>) -> Result<Action, kube::Error> {
    ctx.reconciles.fetch_add(1, Ordering::SeqCst);
    let widgets: Api<Widget> =
        Api::namespaced(ctx.client.clone(), &widget.namespace().unwrap_or_default());
    let wanted = widget.spec.size;
    if widget.status.as_ref().map(|s| s.observed) != Some(wanted) {
        widgets
            .patch_status(
                &widget.name_any(),
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"observed": wanted}})),
            )
            .await?;
    }
    Ok(Action::await_change())
}

fn error_policy(_: Arc<Widget>, _: &kube::Error, _: Arc<Context>) -> Action {
    Action::requeue(Duration::from_millis(100))
}

async fn wait_for_observed(widgets: &Api<Widget>, name: &str, size: i32) {
    for _ in 0..200 {
        if widgets
            .get(name)
            .await
            .ok()
            .and_then(|w| w.status)
            .map(|s| s.observed)
            == Some(size)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{name} never observed size {size}");
}

#[tokio::test]
async fn a_controller_reconciles_survives_dropped_watches_and_410_and_stops() {
    let (api, client) = emulator().await;
    let widgets: Api<Widget> = Api::namespaced(client.clone(), "default");
    let ctx = Arc::new(Context {
        client: client.clone(),
        reconciles: AtomicUsize::new(0),
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(
        Controller::new(widgets.clone(), watcher::Config::default())
            .graceful_shutdown_on(async move {
                let _ = stopped.await;
            })
            .run(reconcile, error_policy, ctx.clone())
            .for_each(|_| async {}),
    );
    widgets
        .create(&PostParams::default(), &widget("c", 1))
        .await
        .expect("created");
    wait_for_observed(&widgets, "c", 1).await;

    api.server().drop_watches();
    widgets
        .patch(
            "c",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2}})),
        )
        .await
        .expect("patched");
    wait_for_observed(&widgets, "c", 2).await;

    api.server().store.compact();
    api.server().drop_watches();
    widgets
        .patch(
            "c",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 3}})),
        )
        .await
        .expect("patched");
    wait_for_observed(&widgets, "c", 3).await;

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), controller)
        .await
        .expect("stops")
        .expect("no panic");
    // The controller saw its own status writes without looping on them.
    let reconciles = ctx.reconciles.load(Ordering::SeqCst);
    assert!((3..20).contains(&reconciles), "{reconciles} reconciles");
}

#[tokio::test]
async fn dry_run_validates_without_persisting() {
    let (api, client) = emulator().await;
    let widgets: Api<Widget> = Api::namespaced(client, "default");
    let before = api.server().store.resource_version();
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let answered = widgets
        .create(&dry, &widget("d", 1))
        .await
        .expect("dry-run create");
    assert_eq!(answered.name_any(), "d");
    assert_eq!(
        api_error(widgets.get("d").await.expect_err("not stored")).code,
        404
    );
    assert_eq!(api.server().store.resource_version(), before);
    assert_eq!(
        api_error(
            widgets
                .create(&dry, &widget("d", 0))
                .await
                .expect_err("still validated")
        )
        .code,
        422
    );
}

#[tokio::test]
async fn streaming_lists_end_initial_events_with_a_bookmark() {
    let (_api, client) = emulator().await;
    let widgets: Api<Widget> = Api::namespaced(client, "default");
    for i in 0..3 {
        widgets
            .create(&PostParams::default(), &widget(&format!("s{i}"), 1))
            .await
            .expect("created");
    }
    // kube's watcher with streaming lists relies on sendInitialEvents and the initial-events-end
    // bookmark to know when its initial state is complete.
    let stream = watcher(
        widgets.clone(),
        watcher::Config::default().streaming_lists(),
    );
    futures::pin_mut!(stream);
    let mut initial = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .expect("in time")
            .expect("ok")
        {
            Some(watcher::Event::InitApply(w)) => initial.push(w.name_any()),
            Some(watcher::Event::InitDone) => break,
            Some(_) => {}
            None => panic!("stream ended"),
        }
    }
    initial.sort();
    assert_eq!(initial, ["s0", "s1", "s2"]);
}

#[tokio::test]
async fn added_latency_slows_every_request() {
    let (api, client) = emulator().await;
    let http = ecs_testbed::http::client();
    let knob = |millis: u64| {
        let http = http.clone();
        let url = format!("{}/_emulator/latency", api.url());
        async move {
            let (status, _) = ecs_testbed::http::send(
                &http,
                "POST",
                &url,
                &[],
                json!({"millis": millis}).to_string().into(),
            )
            .await
            .expect("knob");
            assert_eq!(status, 200);
        }
    };
    knob(200).await;
    let widgets: Api<Widget> = Api::namespaced(client, "default");
    let started = std::time::Instant::now();
    widgets.list(&ListParams::default()).await.expect("list");
    assert!(started.elapsed() >= Duration::from_millis(200));
    knob(0).await;
}
