//! The writes the operator makes to its own objects: the status that replaces the last one, and the
//! finalizer added or removed. Each carries the resourceVersion it was read at as a precondition, so
//! a replica working from a stale cache cannot overwrite newer state.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde_json::json;

use super::conditions::{self, Health};
use super::error::ReconcileError;
use super::runner::Managed;

/// Writes `status` with the conditions for `health` and `observedGeneration`, replacing the whole
/// status (so fields that became empty are removed); returns whether the conditions or the
/// observed generation changed, i.e. whether this is news worth an Event, and the object as the
/// write returned it (none when nothing changed, so nothing was written).
pub(super) async fn write_status<K: Managed>(
    api: &Api<K>,
    object: &K,
    mut status: K::Status,
    health: &Health,
) -> Result<(bool, Option<K>), ReconcileError> {
    let generation = object.meta().generation;
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let shared = K::reconcile_status(&mut status);
    let changed_conditions = conditions::apply(&mut shared.conditions, health, generation, &now);
    let changed_generation = shared.observed_generation != generation;
    shared.observed_generation = generation;
    let written = if object.status() != Some(&status) {
        let patch = status_patch(object, &status)?;
        Some(
            api.patch_status(&object.name_any(), &write_params(), &patch)
                .await?,
        )
    } else {
        None
    };
    Ok((changed_conditions || changed_generation, written))
}

/// The field manager of every write the operator makes to its objects, so `managedFields` shows
/// which fields are the operator's.
pub const FIELD_MANAGER: &str = "ecs-operator";

fn write_params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    }
}

/// The patch that replaces the whole status of `object` (so fields that became empty are removed),
/// only if the object is still at the resourceVersion it was read at: the API server uses a
/// resourceVersion in the patched object as a precondition and answers 409 Conflict when the
/// object moved on, so a replica working from a stale cache (two leaders overlapping) cannot
/// overwrite newer status. A conflict is retried with backoff, from a fresh read.
pub fn status_patch<K: Resource, S: Serialize>(
    object: &K,
    status: &S,
) -> Result<Patch<()>, ReconcileError> {
    let mut operations = precondition(object);
    operations.push(json!({"op": "add", "path": "/status", "value": status}));
    patch_of(serde_json::Value::Array(operations))
}

/// The resourceVersion precondition of a JSON patch, when the object was read with one.
fn precondition<K: Resource>(object: &K) -> Vec<serde_json::Value> {
    object
        .meta()
        .resource_version
        .as_ref()
        .map(|version| {
            json!({"op": "replace", "path": "/metadata/resourceVersion", "value": version})
        })
        .into_iter()
        .collect()
}

/// Adds `finalizer`, failing (409/422) if the list changed since `object` was read.
pub(super) async fn add_finalizer<K: Managed>(
    api: &Api<K>,
    object: &K,
    finalizer: &str,
) -> Result<K, ReconcileError> {
    let operations = match &object.meta().finalizers {
        None => json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": [finalizer]},
        ]),
        Some(current) => json!([
            {"op": "test", "path": "/metadata/finalizers", "value": current},
            {"op": "add", "path": "/metadata/finalizers/-", "value": finalizer},
        ]),
    };
    json_patch(api, object, operations).await
}

/// Removes `finalizer`, failing if it moved since `object` was read.
pub(super) async fn remove_finalizer<K: Managed>(
    api: &Api<K>,
    object: &K,
    finalizer: &str,
) -> Result<(), ReconcileError> {
    let Some(index) = object
        .meta()
        .finalizers
        .iter()
        .flatten()
        .position(|f| f == finalizer)
    else {
        return Ok(());
    };
    let path = format!("/metadata/finalizers/{index}");
    let operations = json!([
        {"op": "test", "path": path, "value": finalizer},
        {"op": "remove", "path": path},
    ]);
    match json_patch(api, object, operations).await {
        // Already gone with its last finalizer: what we wanted.
        Err(ReconcileError::Kube(kube::Error::Api(status))) if status.code == 404 => Ok(()),
        other => other.map(|_| ()),
    }
}

async fn json_patch<K: Managed>(
    api: &Api<K>,
    object: &K,
    operations: serde_json::Value,
) -> Result<K, ReconcileError> {
    let mut all = precondition(object);
    all.extend(operations.as_array().into_iter().flatten().cloned());
    Ok(api
        .patch(
            &object.name_any(),
            &write_params(),
            &patch_of(serde_json::Value::Array(all))?,
        )
        .await?)
}

/// A JSON patch (RFC 6902) of `operations`.
fn patch_of(operations: serde_json::Value) -> Result<Patch<()>, ReconcileError> {
    serde_json::from_value(operations)
        .map(Patch::Json)
        .map_err(|e| ReconcileError::blocked("InternalError", e.to_string()))
}
