//! AWS resources as AWS describes them -> what the spec would say (pure). The CRDs spell members
//! as the AWS APIs do, so a described resource becomes a spec by dropping the read-only members
//! and the defaults AWS writes out. `import` prints specs from these; the controllers use the
//! comparisons to take over a resource that already holds what the spec asks for without
//! writing it again.

use serde_json::{Map, Value};

use crate::api::task_definition::{NetworkMode, TaskDefinitionBody};

use super::task_definition::normalise;

/// Members of `DescribeTaskDefinition`'s `taskDefinition` that `RegisterTaskDefinition` does not
/// take.
const TASK_DEFINITION_READ_ONLY: [&str; 8] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
];

/// The RegisterTaskDefinition request a described revision holds (its tags not included).
pub fn task_definition_body(described: &Value) -> Result<TaskDefinitionBody, String> {
    let mut members: Map<String, Value> = described
        .as_object()
        .cloned()
        .ok_or_else(|| "the task definition is not a JSON object".to_owned())?;
    for member in TASK_DEFINITION_READ_ONLY {
        members.remove(member);
    }
    members.remove("tags");
    serde_path_to_error::deserialize(Value::Object(members))
        .map_err(|e| format!("{}: {}", e.path(), e.inner()))
}

/// `body` without the defaults ECS writes into a described revision (a container's `cpu: 0`, a
/// bridge port's `hostPort: 0`, `essential: true`, empty lists and maps): what a person would
/// have written to register it.
pub fn without_task_definition_defaults(body: &TaskDefinitionBody) -> TaskDefinitionBody {
    let mut out = normalise(body);
    let dynamic_host_ports = matches!(out.network_mode, None | Some(NetworkMode::Bridge));
    for container in &mut out.container_definitions {
        if container.cpu == Some(0) {
            container.cpu = None;
        }
        if container.essential == Some(true) {
            container.essential = None;
        }
        for port in container.port_mappings.iter_mut().flatten() {
            if dynamic_host_ports && port.host_port == Some(0) {
                port.host_port = None;
            }
        }
    }
    out
}

/// `body` in the one form in which a spec and a described revision of the same content are
/// equal: ECS's written-out defaults left out, the defaults it may or may not echo written the
/// same way, tags removed (they are not content).
pub fn comparable_task_definition(body: &TaskDefinitionBody) -> TaskDefinitionBody {
    let mut body = without_task_definition_defaults(body);
    body.tags = None;
    // "If no network mode is specified, the default is bridge" (Linux; ECS may describe it
    // either way).
    if body.network_mode == Some(NetworkMode::Bridge) {
        body.network_mode = None;
    }
    let host = body.network_mode == Some(NetworkMode::Host);
    for container in &mut body.container_definitions {
        // Host mode: "host ports must either be undefined or match the container port".
        for port in container.port_mappings.iter_mut().flatten() {
            if host && port.host_port.is_none() {
                port.host_port = port.container_port;
            }
        }
        // The health check's documented defaults: interval 30, timeout 5, retries 3 seconds.
        if let Some(check) = container.health_check.as_mut() {
            check.interval.get_or_insert(30);
            check.timeout.get_or_insert(5);
            check.retries.get_or_insert(3);
        }
    }
    body
}

/// Whether a described revision holds exactly what `desired` registers.
pub fn same_task_definition(desired: &TaskDefinitionBody, described: &TaskDefinitionBody) -> bool {
    comparable_task_definition(desired) == comparable_task_definition(described)
}

/// What differs from `before` to `after`, one line per changed member, `path: before -> after`
/// (`(none)` for a member on one side only), members in order, list items by position.
pub fn changes(before: &Value, after: &Value) -> Vec<String> {
    fn walk(path: &str, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<String>) {
        let show = |v: Option<&Value>| v.map_or_else(|| "(none)".to_owned(), Value::to_string);
        match (before, after) {
            (Some(Value::Object(b)), Some(Value::Object(a))) => {
                let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
                for key in keys {
                    let at = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    walk(&at, b.get(key), a.get(key), out);
                }
            }
            (Some(Value::Array(b)), Some(Value::Array(a))) => {
                for i in 0..b.len().max(a.len()) {
                    walk(&format!("{path}[{i}]"), b.get(i), a.get(i), out);
                }
            }
            (b, a) if b != a => out.push(format!("{path}: {} -> {}", show(b), show(a))),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", Some(before), Some(after), &mut out);
    out
}

/// Whether every member `wanted` sets holds the same value in `seen` (objects member by member,
/// lists element by element and of the same length, anything else equal). Members `wanted` does
/// not set are not compared: the spec leaves them to AWS.
pub fn holds(wanted: &Value, seen: &Value) -> bool {
    match (wanted, seen) {
        (Value::Null, _) => true,
        (Value::Object(wanted), Value::Object(seen)) => wanted
            .iter()
            .all(|(key, value)| holds(value, seen.get(key).unwrap_or(&Value::Null))),
        (Value::Array(wanted), Value::Array(seen)) => {
            wanted.len() == seen.len() && wanted.iter().zip(seen).all(|(w, s)| holds(w, s))
        }
        (Value::Number(wanted), Value::Number(seen)) => wanted.as_f64() == seen.as_f64(),
        (wanted, seen) => wanted == seen,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn described() -> Value {
        json!({
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/web:3",
            "family": "web", "revision": 3, "status": "ACTIVE",
            "networkMode": "bridge",
            "containerDefinitions": [{
                "name": "app", "image": "nginx:1", "cpu": 0, "memory": 128, "essential": true,
                "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}],
                "environment": [], "mountPoints": [], "volumesFrom": [], "systemControls": []
            }],
            "volumes": [], "placementConstraints": [],
            "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
            "compatibilities": ["EC2"],
            "registeredAt": 1733000000.5, "registeredBy": "arn:aws:iam::1:user/me"
        })
    }

    #[test]
    fn a_described_revision_matches_the_spec_that_registered_it() {
        let body = task_definition_body(&described()).expect("body");
        let written: TaskDefinitionBody = serde_json::from_value(json!({
            "family": "web",
            "containerDefinitions": [{"name": "app", "image": "nginx:1", "memory": 128,
                                      "portMappings": [{"containerPort": 80}]}]
        }))
        .expect("spec");
        assert!(same_task_definition(&written, &body));
        let mut other = written.clone();
        other.container_definitions[0].image = Some("nginx:2".into());
        assert!(!same_task_definition(&other, &body));
        let mut more_cpu = written;
        more_cpu.container_definitions[0].cpu = Some(256);
        assert!(!same_task_definition(&more_cpu, &body));
    }

    #[test]
    fn defaults_are_left_out_of_what_a_person_would_write() {
        let body = task_definition_body(&described()).expect("body");
        let plain = serde_json::to_value(without_task_definition_defaults(&body)).expect("json");
        let container = &plain["containerDefinitions"][0];
        for member in [
            "cpu",
            "essential",
            "environment",
            "mountPoints",
            "volumesFrom",
        ] {
            assert!(container.get(member).is_none(), "{member}: {container}");
        }
        assert_eq!(
            container["portMappings"],
            json!([{"containerPort": 80, "protocol": "tcp"}])
        );
        assert!(plain.get("volumes").is_none() && plain.get("revision").is_none());
    }

    #[test]
    fn host_ports_and_health_check_defaults_compare_written_out_or_not() {
        let mut value = described();
        value["networkMode"] = json!("host");
        value["containerDefinitions"][0]["portMappings"][0]["hostPort"] = json!(80);
        value["containerDefinitions"][0]["healthCheck"] =
            json!({"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3});
        let described = task_definition_body(&value).expect("body");
        let written: TaskDefinitionBody = serde_json::from_value(json!({
            "family": "web", "networkMode": "host",
            "containerDefinitions": [{"name": "app", "image": "nginx:1", "memory": 128,
                                      "portMappings": [{"containerPort": 80}],
                                      "healthCheck": {"command": ["CMD", "true"]}}]
        }))
        .expect("spec");
        assert!(same_task_definition(&written, &described));
        let mut slower = written;
        slower.container_definitions[0]
            .health_check
            .as_mut()
            .expect("check")
            .interval = Some(60);
        assert!(!same_task_definition(&slower, &described));
    }

    #[test]
    fn awsvpc_host_ports_stay() {
        let mut value = described();
        value["networkMode"] = json!("awsvpc");
        value["containerDefinitions"][0]["portMappings"][0]["hostPort"] = json!(80);
        let body = task_definition_body(&value).expect("body");
        let plain = without_task_definition_defaults(&body);
        assert_eq!(
            plain.container_definitions[0]
                .port_mappings
                .as_ref()
                .expect("ports")[0]
                .host_port,
            Some(80)
        );
    }

    #[test]
    fn changes_name_each_changed_member_once() {
        let before = json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "nginx:1", "environment": [{"name": "A", "value": "1"}]}]});
        let after = json!({"family": "web", "cpu": "256", "containerDefinitions": [
            {"name": "app", "image": "nginx:2"}, {"name": "log", "image": "fluent"}]});
        assert_eq!(
            changes(&before, &after),
            [
                "containerDefinitions[0].environment: [{\"name\":\"A\",\"value\":\"1\"}] -> (none)",
                "containerDefinitions[0].image: \"nginx:1\" -> \"nginx:2\"",
                "containerDefinitions[1]: (none) -> {\"name\":\"log\",\"image\":\"fluent\"}",
                "cpu: (none) -> \"256\"",
            ]
        );
        assert!(changes(&after, &after).is_empty());
    }

    #[test]
    fn holds_compares_only_what_is_wanted() {
        let seen = json!({"a": 1, "b": {"c": "x", "d": [1, 2]}, "e": true});
        assert!(holds(&json!({"a": 1.0, "b": {"d": [1, 2]}}), &seen));
        assert!(holds(&json!({"z": null}), &seen));
        assert!(!holds(&json!({"b": {"d": [1]}}), &seen));
        assert!(!holds(&json!({"e": false}), &seen));
        assert!(!holds(&json!({"f": 1}), &seen));
    }
}
