//! Discovery documents, OpenAPI v3 documents and `meta.k8s.io/v1` Tables.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::store::ResourceType;

fn verbs() -> Value {
    json!([
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch"
    ])
}

/// `/apis`: every group and its versions.
pub fn group_list(types: &[ResourceType]) -> Value {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in types.iter().filter(|t| !t.group.is_empty()) {
        let versions = groups.entry(&t.group).or_default();
        if !versions.contains(&t.version.as_str()) {
            versions.push(&t.version);
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
                .collect();
            json!({"name": group, "versions": versions, "preferredVersion": versions[0]})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/api/v1` or `/apis/<group>/<version>`: the resources of a group version.
pub fn resource_list(types: &[ResourceType], path: &str) -> Option<Value> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version) = match parts.as_slice() {
        ["api", version] => ("", *version),
        ["apis", group, version] => (*group, *version),
        ["apis", group] => {
            let versions: Vec<&ResourceType> = types.iter().filter(|t| t.group == *group).collect();
            let first = versions.first()?;
            let gv = json!({"groupVersion": first.api_version(), "version": first.version});
            return Some(
                json!({"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [gv], "preferredVersion": gv}),
            );
        }
        _ => return None,
    };
    let served: Vec<&ResourceType> = types
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for t in served {
        resources.push(json!({
            "name": t.plural, "singularName": t.singular, "namespaced": t.namespaced, "kind": t.kind,
            "verbs": verbs(), "shortNames": t.short_names, "categories": t.categories,
        }));
        if t.status_subresource {
            resources.push(json!({"name": format!("{}/status", t.plural), "singularName": "", "namespaced": t.namespaced, "kind": t.kind, "verbs": ["get", "patch", "update"]}));
        }
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    )
}

fn gv_path(t: &ResourceType) -> String {
    if t.group.is_empty() {
        format!("api/{}", t.version)
    } else {
        format!("apis/{}/{}", t.group, t.version)
    }
}

/// `/openapi/v3`: where each group version's document is.
pub fn openapi_root(types: &[ResourceType]) -> Value {
    let mut paths = serde_json::Map::new();
    for t in types {
        let path = gv_path(t);
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}")}),
        );
    }
    json!({"paths": paths})
}

fn schema_name(t: &ResourceType) -> String {
    let reversed: Vec<&str> = if t.group.is_empty() {
        vec!["io", "k8s", "api", "core"]
    } else {
        t.group.split('.').rev().collect()
    };
    format!("{}.{}.{}", reversed.join("."), t.version, t.kind)
}

/// `/openapi/v3/<group version path>`: the schemas of its kinds, tagged with their GVK, which is
/// how `kubectl explain` finds them.
pub fn openapi_document(types: &[ResourceType], gv: &str) -> Option<Value> {
    let served: Vec<&ResourceType> = types
        .iter()
        .filter(|t| gv_path(t) == gv.trim_matches('/'))
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut schemas = serde_json::Map::new();
    let mut paths = serde_json::Map::new();
    for t in served.iter().copied() {
        // kubectl decides from these operations whether the server does field validation itself.
        let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
        let parameters = json!([
            {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        ]);
        let base = if t.group.is_empty() {
            format!("/api/{}", t.version)
        } else {
            format!("/apis/{}/{}", t.group, t.version)
        };
        let collection = if t.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", t.plural)
        } else {
            format!("{base}/{}", t.plural)
        };
        let operation = |action: &str| {
            json!({
                "operationId": format!("{action}{}", t.kind), "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk, "parameters": parameters,
                "responses": {"200": {"description": "OK"}},
            })
        };
        paths.insert(
            collection.clone(),
            json!({"post": operation("post"), "get": operation("list")}),
        );
        paths.insert(format!("{collection}/{{name}}"), json!({
            "get": operation("get"), "put": operation("put"), "patch": operation("patch"), "delete": operation("delete"),
        }));
    }
    for t in served {
        let mut schema = t.schema.as_ref().map(|s| s.openapi.clone()).unwrap_or_else(
            || json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
        );
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            properties.entry("apiVersion").or_insert(json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."}));
            properties.entry("kind").or_insert(json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."}));
            properties
                .entry("metadata")
                .or_insert(json!({"type": "object", "description": "Standard object's metadata."}));
        }
        schema["x-kubernetes-group-version-kind"] =
            json!([{"group": t.group, "version": t.version, "kind": t.kind}]);
        schemas.insert(schema_name(t), schema);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (ecs-testbed emulator)", "version": "v1.34.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// A `meta.k8s.io/v1` Table of one object or a list, with the type's printer columns.
pub fn table(t: &ResourceType, value: &Value) -> Value {
    let mut columns = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}),
    ];
    let custom: Vec<(String, String)> = t
        .printer_columns
        .iter()
        .filter_map(|c| {
            Some((
                c["name"].as_str()?.to_owned(),
                c["jsonPath"].as_str()?.to_owned(),
            ))
        })
        .collect();
    for column in &t.printer_columns {
        columns.push(json!({
            "name": column["name"], "type": column["type"], "format": column.get("format").cloned().unwrap_or(json!("")),
            "description": column.get("description").cloned().unwrap_or(json!("")), "priority": column.get("priority").cloned().unwrap_or(json!(0)),
        }));
    }
    let has_age = custom.iter().any(|(name, _)| name == "Age");
    if !has_age {
        columns.push(json!({"name": "Age", "type": "date", "format": "", "description": "CreationTimestamp", "priority": 0}));
    }
    let objects: Vec<&Value> = match value.get("items").and_then(Value::as_array) {
        Some(items) => items.iter().collect(),
        None => vec![value],
    };
    let date_columns: Vec<bool> = t
        .printer_columns
        .iter()
        .map(|c| c["type"] == json!("date"))
        .collect();
    let rows: Vec<Value> = objects
        .into_iter()
        .map(|object| {
            let mut cells = vec![object["metadata"]["name"].clone()];
            for (i, (_, path)) in custom.iter().enumerate() {
                let value = json_path(object, path);
                // As the API server does, dates are sent as ages ("5m"), which kubectl prints as is.
                cells.push(if date_columns.get(i).copied().unwrap_or(false) {
                    age(&value)
                } else {
                    value
                });
            }
            if !has_age {
                cells.push(age(&object["metadata"]["creationTimestamp"]));
            }
            json!({"cells": cells, "object": object})
        })
        .collect();
    let mut metadata = json!({"resourceVersion": value["metadata"]["resourceVersion"]});
    if let Some(next) = value["metadata"].get("continue") {
        metadata["continue"] = next.clone();
    }
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "columnDefinitions": columns, "rows": rows})
}

/// A timestamp as the age kubectl shows ("42s", "5m10s", "3h", "2d").
fn age(timestamp: &Value) -> Value {
    let Some(seconds) = timestamp.as_str().and_then(super::store::parse_timestamp) else {
        return Value::String("<unknown>".into());
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    json!(human_duration((now - seconds).max(0)))
}

/// Kubernetes' short human-readable durations.
pub fn human_duration(seconds: i64) -> String {
    let (minutes, hours, days) = (seconds / 60, seconds / 3600, seconds / 86_400);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => match s % 60 {
            0 => format!("{minutes}m"),
            rest => format!("{minutes}m{rest}s"),
        },
        s if s < 3 * 3600 => format!("{minutes}m"),
        s if s < 8 * 3600 => match minutes % 60 {
            0 => format!("{hours}h"),
            rest => format!("{hours}h{rest}m"),
        },
        s if s < 48 * 3600 => format!("{hours}h"),
        s if s < 8 * 86_400 => match hours % 24 {
            0 => format!("{days}d"),
            rest => format!("{days}d{rest}h"),
        },
        _ => format!("{days}d"),
    }
}

/// The first value at a printer-column JSONPath (`.status.conditions[?(@.type=="Ready")].status`).
pub fn json_path(object: &Value, path: &str) -> Value {
    let expression = if path.starts_with('$') {
        path.to_owned()
    } else {
        format!("${path}")
    };
    match serde_json_path::JsonPath::parse(&expression) {
        Ok(compiled) => compiled
            .query(object)
            .all()
            .first()
            .map_or(Value::Null, |v| (*v).clone()),
        Err(_) => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_column_paths() {
        let object = json!({"spec": {"cluster": "prod"}, "status": {"conditions": [
            {"type": "Reconciling", "status": "False"}, {"type": "Ready", "status": "True"}]}});
        assert_eq!(json_path(&object, ".spec.cluster"), json!("prod"));
        assert_eq!(
            json_path(&object, ".status.conditions[?(@.type==\"Ready\")].status"),
            json!("True")
        );
        assert_eq!(json_path(&object, ".status.missing"), Value::Null);
    }

    #[test]
    fn ages() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(310), "5m10s");
        assert_eq!(human_duration(3600), "60m");
        assert_eq!(human_duration(5 * 3600 + 60), "5h1m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86_400 + 3600), "3d1h");
        assert_eq!(human_duration(20 * 86_400), "20d");
    }
}
