//! Server-side apply as the emulator does it: the fields each manager set (`managedFields` in
//! the `FieldsV1` form), conflicts with other managers, and releasing fields another write changed.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::store::{ApiError, ResourceType, metadata_mut, now_rfc3339};

/// Leaf paths of a configuration (lists are atomic leaves), skipping identity fields.
pub(super) fn leaf_paths(config: &Value) -> BTreeSet<Vec<String>> {
    fn walk(value: &Value, path: &mut Vec<String>, out: &mut BTreeSet<Vec<String>>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, child) in map {
                    path.push(key.clone());
                    walk(child, path, out);
                    path.pop();
                }
            }
            _ => {
                out.insert(path.clone());
            }
        }
    }
    let mut out = BTreeSet::new();
    let mut trimmed = config.clone();
    if let Some(map) = trimmed.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
        map.remove("status");
        if let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in [
                "name",
                "namespace",
                "resourceVersion",
                "uid",
                "managedFields",
                "creationTimestamp",
                "generation",
            ] {
                metadata.remove(field);
            }
        }
        // Identity alone is not a field anyone owns (two appliers of one object would otherwise
        // conflict over `.metadata`).
        if map
            .get("metadata")
            .and_then(Value::as_object)
            .is_some_and(|m| m.is_empty())
        {
            map.remove("metadata");
        }
    }
    walk(&trimmed, &mut Vec::new(), &mut out);
    out.retain(|p| !p.is_empty());
    out
}

pub(super) fn fields_v1(paths: &BTreeSet<Vec<String>>) -> Value {
    let mut root = json!({});
    for path in paths {
        let mut node = &mut root;
        for key in path {
            let key = format!("f:{key}");
            if !node[&key].is_object() {
                node[&key] = json!({});
            }
            node = &mut node[&key];
        }
    }
    root
}

pub(super) fn paths_of_fields_v1(fields: &Value) -> BTreeSet<Vec<String>> {
    fn walk(node: &Value, path: &mut Vec<String>, out: &mut BTreeSet<Vec<String>>) {
        let children: Vec<(&String, &Value)> = node
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.starts_with("f:"))
            .collect();
        if children.is_empty() {
            if !path.is_empty() {
                out.insert(path.clone());
            }
            return;
        }
        for (key, child) in children {
            path.push(key[2..].to_owned());
            walk(child, path, out);
            path.pop();
        }
    }
    let mut out = BTreeSet::new();
    walk(fields, &mut Vec::new(), &mut out);
    out
}

pub(super) fn managed_by_apply(object: &Value) -> Vec<(String, BTreeSet<Vec<String>>)> {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["operation"] == json!("Apply"))
        .map(|m| {
            (
                m["manager"].as_str().unwrap_or_default().to_owned(),
                paths_of_fields_v1(&m["fieldsV1"]),
            )
        })
        .collect()
}

/// A write that is not an apply (update, merge, strategic or JSON patch) takes the fields it
/// changes or removes away from the apply managers, as the API server's field manager does (they
/// move to the writer's own Update entry, which this emulator does not list): a later apply by
/// another manager must not conflict over values the first applier no longer set.
pub(super) fn release_changed_fields(current: &Value, target: &mut Value, rt: &ResourceType) {
    let managers = managed_by_apply(current);
    let mut released = false;
    let kept: Vec<(String, BTreeSet<Vec<String>>)> = managers
        .into_iter()
        .map(|(manager, paths)| {
            let before = paths.len();
            let paths: BTreeSet<Vec<String>> = paths
                .into_iter()
                .filter(|path| get_path(current, path) == get_path(target, path))
                .collect();
            released |= paths.len() != before;
            (manager, paths)
        })
        .collect();
    if released {
        set_managed_fields(target, &kept, rt);
    } else if let Some(fields) = current["metadata"].get("managedFields") {
        // A PUT of an object read earlier keeps the server's record, not the client's copy.
        metadata_mut(target).insert("managedFields".into(), fields.clone());
    }
}

pub(super) fn set_managed_fields(
    object: &mut Value,
    managers: &[(String, BTreeSet<Vec<String>>)],
    rt: &ResourceType,
) {
    let now = now_rfc3339();
    let entries: Vec<Value> = managers
        .iter()
        .filter(|(_, paths)| !paths.is_empty())
        .map(|(manager, paths)| json!({
            "manager": manager, "operation": "Apply", "apiVersion": rt.api_version(), "time": now,
            "fieldsType": "FieldsV1", "fieldsV1": fields_v1(paths),
        }))
        .collect();
    metadata_mut(object).insert("managedFields".into(), json!(entries));
}

pub(super) fn get_path<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

pub(super) fn remove_path(value: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = value;
    for key in parents {
        match node.get_mut(key) {
            Some(next) => node = next,
            None => return,
        }
    }
    if let Some(map) = node.as_object_mut() {
        map.remove(last);
    }
}

pub(super) fn deep_merge(target: &mut Value, config: &Value) {
    match (target, config) {
        (Value::Object(t), Value::Object(c)) => {
            for (key, value) in c {
                match t.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        deep_merge(existing, value)
                    }
                    _ => {
                        t.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, config) => *target = config.clone(),
    }
}

/// Server-side apply with field ownership among apply managers (see testbed/README.md).
pub(super) fn server_side_apply(
    rt: &ResourceType,
    name: &str,
    current: &Value,
    config: &Value,
    manager: &str,
    force: bool,
) -> Result<Value, ApiError> {
    let applied = leaf_paths(config);
    let mut managers = managed_by_apply(current);
    let previous: BTreeSet<Vec<String>> = managers
        .iter()
        .find(|(m, _)| m == manager)
        .map(|(_, p)| p.clone())
        .unwrap_or_default();
    let mut conflicts = Vec::new();
    for (other, owned) in managers.iter().filter(|(m, _)| m != manager) {
        for path in applied.intersection(owned) {
            if get_path(current, path) != get_path(config, path) {
                conflicts.push((other.clone(), path.clone()));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        let list: Vec<String> = conflicts
            .iter()
            .map(|(m, p)| format!("conflict with \"{m}\": .{}", p.join(".")))
            .collect();
        let mut e = ApiError::new(
            409,
            "Conflict",
            format!(
                "Apply failed with {} conflict{}: {}",
                list.len(),
                if list.len() == 1 { "" } else { "s" },
                list.join("\n")
            ),
        );
        e.details = Some(json!({"name": name, "group": rt.group, "kind": rt.plural,
            "causes": conflicts.iter().map(|(m, p)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{m}\""), "field": format!(".{}", p.join("."))})).collect::<Vec<_>>()}));
        return Err(e);
    }
    let mut target = current.clone();
    deep_merge(&mut target, config);
    let others: BTreeSet<Vec<String>> = managers
        .iter()
        .filter(|(m, _)| m != manager)
        .flat_map(|(_, p)| p.iter().cloned())
        .collect();
    for path in previous.difference(&applied) {
        if !others.contains(path) {
            remove_path(&mut target, path);
        }
    }
    for (other, owned) in managers.iter_mut().filter(|(m, _)| m != manager) {
        for (m, path) in &conflicts {
            if m == other {
                owned.remove(path);
            }
        }
    }
    managers.retain(|(m, _)| m != manager);
    managers.push((manager.to_owned(), applied));
    set_managed_fields(&mut target, &managers, rt);
    Ok(target)
}
