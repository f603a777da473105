//! Events are one resource served in two versions, as on a real API server: `events.k8s.io/v1`
//! (what kube-runtime's recorder writes) and core `v1` (what `kubectl describe` reads). The store
//! keeps core `v1` objects and converts at the edge, with the field mapping of Kubernetes'
//! `pkg/apis/events/v1` conversion: `regarding` <-> `involvedObject`, `note` <-> `message`,
//! `reportingController` <-> `reportingComponent`, `deprecatedSource` <-> `source`,
//! `deprecatedFirstTimestamp` / `deprecatedLastTimestamp` / `deprecatedCount` <-> `firstTimestamp`
//! / `lastTimestamp` / `count`; the other fields are the same in both.

use serde_json::{Map, Value};

/// The `events.k8s.io/v1` field and the core `v1` field it is stored as.
const RENAMED: [(&str, &str); 7] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

/// Whether `group`/`plural` is the `events.k8s.io` version of events.
pub fn is_events_k8s_io(group: &str, plural: &str) -> bool {
    group == "events.k8s.io" && plural == "events"
}

/// Whether `group`/`plural` is either version of events.
pub fn is_event(group: &str, plural: &str) -> bool {
    plural == "events" && (group.is_empty() || group == "events.k8s.io")
}

fn rename(object: &Value, from_new: bool) -> Value {
    let Some(map) = object.as_object() else {
        return object.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let renamed = RENAMED.iter().find_map(|(new, old)| {
            if from_new {
                (key == new).then_some(*old)
            } else {
                (key == old).then_some(*new)
            }
        });
        out.insert(renamed.unwrap_or(key).to_owned(), value.clone());
    }
    Value::Object(out)
}

/// An `events.k8s.io/v1` Event as the core `v1` Event it is stored as.
/// (A body that is not an object is returned as it is, for the store to refuse.)
pub fn to_core(event: &Value) -> Value {
    let mut core = rename(event, true);
    if let Some(map) = core.as_object_mut() {
        map.insert("apiVersion".into(), Value::from("v1"));
    }
    core
}

/// A stored core `v1` Event as `events.k8s.io/v1`.
pub fn from_core(event: &Value) -> Value {
    let mut new = rename(event, false);
    if let Some(map) = new.as_object_mut() {
        map.insert("apiVersion".into(), Value::from("events.k8s.io/v1"));
    }
    new
}

/// The fields a field selector may name for events of `group`, besides `metadata.name` and
/// `metadata.namespace` (the real server's list for each version).
pub fn selectable_fields(group: &str) -> &'static [&'static str] {
    if group.is_empty() {
        &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ]
    } else {
        &[
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "source",
            "type",
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_two_versions_convert_both_ways_without_loss() {
        let new = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "team"},
            "eventTime": "2026-12-04T10:00:00.000000Z",
            "regarding": {"kind": "EcsService", "name": "web", "namespace": "team", "uid": "u1"},
            "note": "rolling web to web:2", "reason": "Deploying", "type": "Normal",
            "action": "Deploying", "reportingController": "ecs-operator",
            "reportingInstance": "ecs-operator-0", "series": {"count": 2, "lastObservedTime": "2026-12-04T10:01:00.000000Z"}
        });
        let core = to_core(&new);
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["involvedObject"]["name"], "web");
        assert_eq!(core["message"], "rolling web to web:2");
        assert_eq!(core["reportingComponent"], "ecs-operator");
        assert!(
            core.get("source").is_none(),
            "no source the recorder did not send"
        );
        assert!(core.get("note").is_none() && core.get("regarding").is_none());
        let back = from_core(&core);
        assert_eq!(back["regarding"], new["regarding"]);
        assert_eq!(back["note"], new["note"]);
        assert_eq!(back["series"], new["series"]);
        assert_eq!(back["reportingController"], new["reportingController"]);
        assert_eq!(back["apiVersion"], "events.k8s.io/v1");
        assert!(back.get("deprecatedSource").is_none());
        // Not an object: left for the store to refuse with a 400.
        assert_eq!(to_core(&json!([1])), json!([1]));
        assert_eq!(from_core(&json!("x")), json!("x"));
    }
}
