//! What one pass would do for an object, without doing it: the pipeline's own stages up to the
//! plan (validate, lookups, desired, observe, plan), then the plan's steps as AWS calls. Nothing
//! is written, to AWS or to Kubernetes. `ecs-operator diff` is built on this, so a preview and a
//! pass cannot disagree about what the spec means.

use std::time::Duration;

use futures::future::BoxFuture;
use kube::api::ObjectMeta;
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde_json::Value;

use super::Context;
use super::error::{ErrorClass, ReconcileError};
use super::pipeline::{Call, Kind, Progress, StatusOf, Timing, plan_pass};
use super::runner::Managed;

/// Where the object would stand once the calls were made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Standing {
    /// AWS would match the spec.
    Ready,
    /// AWS would be working on it (a rollout, a draining service).
    Progressing,
    /// The pass would wait for something that happens by itself (a reference becoming Ready).
    Waiting,
    /// The object would be Stalled: the spec is invalid, AWS refused, or a human must decide.
    Stalled,
    /// The preview could not be made (a read failed).
    Error,
}

/// One object's preview.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// The kind (`EcsService`).
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Whether the object exists in the cluster (its status then tells what was applied).
    pub in_cluster: bool,
    /// The AWS calls the pass would make, in order.
    pub calls: Vec<Call>,
    /// Where the object would stand after them.
    pub standing: Standing,
    /// The condition reason it would get.
    pub reason: String,
    /// The condition message it would get.
    pub message: String,
}

impl Preview {
    /// Whether applying the object would change anything in AWS (or wait on something that will).
    pub fn changes(&self) -> bool {
        !self.calls.is_empty() || self.standing == Standing::Waiting
    }

    /// Whether the object cannot be applied as it is, or could not be previewed.
    pub fn is_error(&self) -> bool {
        matches!(self.standing, Standing::Stalled | Standing::Error)
    }
}

/// Previews objects of one kind: built once per run (the kind's dependency caches with it).
pub type Previewer = Box<dyn Fn(Value) -> BoxFuture<'static, Preview> + Send + Sync>;

/// The previewer of kind `kind`: each call deserialises one object (as written in a file),
/// joins it with its live copy in the cluster, and previews it.
pub fn previewer<K: Kind>(kind: K, ctx: std::sync::Arc<Context>) -> Previewer {
    if let Some(drive) = kind.drive_dependencies() {
        tokio::spawn(drive);
    }
    let kind = std::sync::Arc::new(kind);
    Box::new(move |value: Value| {
        let kind = kind.clone();
        let ctx = ctx.clone();
        Box::pin(async move { preview_value(kind.as_ref(), &ctx, value).await })
    })
}

async fn preview_value<K: Kind>(kind: &K, ctx: &Context, value: Value) -> Preview {
    let kind_name = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let meta: ObjectMeta = value
        .get("metadata")
        .cloned()
        .and_then(|m| serde_json::from_value(m).ok())
        .unwrap_or_default();
    let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
    let name = meta.name.clone().unwrap_or_default();
    let failed = |standing: Standing, reason: &str, message: String, in_cluster: bool| Preview {
        kind: kind_name.clone(),
        namespace: namespace.clone(),
        name: name.clone(),
        in_cluster,
        calls: Vec::new(),
        standing,
        reason: reason.to_owned(),
        message,
    };
    let mut object: K::Object = match serde_json::from_value(value.clone()) {
        Ok(object) => object,
        Err(e) => {
            return failed(
                Standing::Stalled,
                "InvalidSpec",
                format!("not a valid {kind_name}: {e}"),
                false,
            );
        }
    };
    object.meta_mut().namespace = Some(namespace.clone());
    let api: Api<K::Object> = Api::namespaced(ctx.client.clone(), &namespace);
    let live = match api.get_opt(&name).await {
        Ok(live) => live,
        Err(e) => {
            return failed(
                Standing::Error,
                "KubernetesError",
                format!("cannot read the object from the cluster: {e}"),
                false,
            );
        }
    };
    let in_cluster = live.is_some();
    // The live copy's identity and status (what was applied); the file's spec and annotations.
    let status = match &live {
        Some(live) => {
            // Applying a different spec makes a new generation: the stages that skip work for
            // an unchanged generation (a literal revision resolved before, a cached describe)
            // must see the change as the controller will.
            let spec = |o: &K::Object| serde_json::to_value(o).ok().map(|v| v["spec"].clone());
            let changed = spec(&object) != spec(live);
            object.meta_mut().uid = live.uid();
            object.meta_mut().generation = live
                .meta()
                .generation
                .map(|g| if changed { g + 1 } else { g });
            object.meta_mut().resource_version = live.resource_version();
            live.status().cloned().unwrap_or_default()
        }
        None => StatusOf::<K>::default(),
    };
    let mut preview = preview(kind, ctx, &object, &status, PREVIEW_TIMEOUT).await;
    preview.kind = kind_name;
    preview.namespace = namespace;
    preview.name = name;
    preview.in_cluster = in_cluster;
    preview
}

/// How long one object's reads may take. The controllers wait for their watch caches to fill;
/// a preview cannot wait forever for a watch that never fills (an identity that may not list a
/// kind in every namespace, a CRD not installed), so that becomes an error (exit status 2).
pub const PREVIEW_TIMEOUT: Duration = Duration::from_secs(60);

/// The calls and the outcome of one pass over `object` with `status` as last written; an error
/// when its reads take longer than `within`.
pub async fn preview<K: Kind>(
    kind: &K,
    ctx: &Context,
    object: &K::Object,
    status: &StatusOf<K>,
    within: Duration,
) -> Preview {
    let mut preview = Preview {
        kind: String::new(),
        namespace: object.namespace().unwrap_or_default(),
        name: object.name_any(),
        in_cluster: false,
        calls: Vec::new(),
        standing: Standing::Ready,
        reason: String::new(),
        message: String::new(),
    };
    // The namespace's own AWS identity, as the controllers use it.
    let ahead = async {
        let own = ctx.for_object_namespace(&preview.namespace).await?;
        plan_ahead(kind, own.as_ref().unwrap_or(ctx), object, status).await
    };
    let plan = match tokio::time::timeout(within, ahead).await {
        Ok(Ok(plan)) => plan,
        Ok(Err(error)) => {
            set_error(&mut preview, &error);
            return preview;
        }
        Err(_) => {
            preview.standing = Standing::Error;
            preview.reason = "Timeout".into();
            preview.message = format!(
                "the reads behind this object gave no answer within {} s: the {} watches need list and watch in every namespace, and the CRDs installed; or AWS did not answer",
                within.as_secs(),
                K::KIND
            );
            return preview;
        }
    };
    preview.calls = plan.calls;
    match plan.outcome {
        Ok(progress) => {
            let (standing, reason, message) = match progress {
                Progress::Ready { reason, message }
                | Progress::ReadyFor {
                    reason, message, ..
                } => (Standing::Ready, reason, message),
                Progress::Progressing {
                    reason, message, ..
                } => (Standing::Progressing, reason, message),
                Progress::Stalled {
                    reason, message, ..
                } => (Standing::Stalled, reason, message),
            };
            preview.standing = standing;
            preview.reason = reason;
            preview.message = message;
        }
        Err(error) => set_error(&mut preview, &error),
    }
    preview
}

/// What a pass would do, looked at without doing it: every AWS call the passes until the next
/// write would make, and where the object would then stand.
pub struct Ahead {
    /// The AWS calls.
    pub calls: Vec<Call>,
    /// The outcome once they were made.
    pub outcome: Result<Progress, ReconcileError>,
}

/// Passes that only move the status before writing (an EcsService records the client token of
/// its CreateService first) are followed, with the moved status, until a plan has steps or
/// the status stops moving (at most a few), so the calls shown are the ones applying makes.
const LOOK_AHEAD_PASSES: usize = 3;

/// The stages of a pass up to the plan, without its steps (see [`Ahead`]).
pub async fn plan_ahead<K: Kind>(
    kind: &K,
    ctx: &Context,
    object: &K::Object,
    status: &StatusOf<K>,
) -> Result<Ahead, ReconcileError> {
    let timing = Timing {
        poll: ctx.config.poll,
        resync: ctx.config.resync,
    };
    let mut status = status.clone();
    for _ in 0..LOOK_AHEAD_PASSES {
        let plan = plan_pass(kind, ctx, object, &status, timing).await?;
        let moved = plan.status != status;
        if !plan.steps.is_empty() || !moved || plan.outcome.is_err() {
            return Ok(Ahead {
                calls: plan.steps.iter().flat_map(K::calls).collect(),
                outcome: plan.outcome.map(|o| K::finish(o, &plan.status, timing)),
            });
        }
        status = plan.status;
    }
    Err(ReconcileError::waiting(
        "LookAhead",
        "the plan kept moving the status without a write; the next pass decides",
    ))
}

fn set_error(preview: &mut Preview, error: &ReconcileError) {
    preview.standing = match error.class() {
        ErrorClass::Waiting => Standing::Waiting,
        ErrorClass::InvalidSpec | ErrorClass::Terminal => Standing::Stalled,
        ErrorClass::Retryable => Standing::Error,
    };
    preview.reason = error.reason();
    preview.message = error.to_string();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::task_definition::EcsTaskDefinitionStatus;
    use crate::controller::pipeline::tests::{Fake, context};

    fn object() -> crate::api::EcsTaskDefinition {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "ecs.operator.dev/v1alpha1", "kind": "EcsTaskDefinition",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"containerDefinitions": [{"name": "app", "image": "nginx"}]}
        }))
        .expect("object")
    }

    #[tokio::test]
    async fn the_plans_steps_are_the_calls_shown() {
        let ctx = context().await;
        let fake = Fake::default();
        let status = EcsTaskDefinitionStatus::default();
        let shown = preview(&fake, &ctx, &object(), &status, PREVIEW_TIMEOUT).await;
        let operations: Vec<&str> = shown.calls.iter().map(|c| c.target.as_str()).collect();
        assert_eq!(operations, ["1", "2", "3"]);
        assert_eq!(shown.standing, Standing::Ready);
        assert!(
            fake.calls.lock().map(|c| c.is_empty()).unwrap_or(false),
            "nothing applied"
        );
    }

    #[tokio::test]
    async fn reads_that_never_finish_are_an_error_not_a_hang() {
        let ctx = context().await;
        let fake = Fake {
            hang_lookups: true,
            ..Fake::default()
        };
        let status = EcsTaskDefinitionStatus::default();
        let shown = preview(&fake, &ctx, &object(), &status, Duration::from_millis(50)).await;
        assert_eq!(shown.standing, Standing::Error, "{shown:?}");
        assert_eq!(shown.reason, "Timeout");
        assert!(shown.is_error());
    }
}
