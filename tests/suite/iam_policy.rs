//! docs/iam-policy.json grants exactly the ECS and Application Auto Scaling actions the code
//! calls (read from the AWS layer's sources, where every call is labelled with its operation),
//! plus only the IAM and CloudWatch actions AWS requires on the operator's behalf, each limited.
//! The end-to-end RBAC test checks the same policy against the calls a full run really made.

use crate::common;

use std::collections::BTreeSet;

use regex::Regex;
use serde_json::Value;

fn policy() -> Value {
    common::read_json(&common::root().join("docs").join("iam-policy.json"))
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(action) => vec![action.clone()],
        Value::Array(list) => list
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        other => panic!("Action {other}"),
    }
}

fn snake(operation: &str) -> String {
    let mut out = String::new();
    for (i, c) in operation.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `service:Operation` of every call in the AWS layer, checked against the SDK operations the
/// layer uses (client methods in ecs.rs, clusters.rs, tasks.rs, service_deployments.rs and autoscaling.rs, request
/// builders in sdk.rs), so a label
/// cannot drift from the call it counts.
fn called() -> BTreeSet<String> {
    let read = |file: &str| {
        std::fs::read_to_string(common::root().join("src").join("aws").join(file)).expect("source")
    };
    let label = Regex::new(r#"send\(\s*(?:ApiCategory::\w+,\s*)?"([A-Z]\w+)""#).expect("regex");
    let method = Regex::new(r"client\s*\.\s*([a-z_]+)\(\)").expect("regex");
    let sdk = read("sdk.rs");
    let mut all = BTreeSet::new();
    for (files, service, alias) in [
        (
            &[
                "ecs.rs",
                "clusters.rs",
                "tasks.rs",
                "capacity_providers.rs",
                "raw.rs",
                "service_deployments.rs",
            ][..],
            "ecs",
            "ecs",
        ),
        (&["autoscaling.rs"][..], "application-autoscaling", "aas"),
    ] {
        let file = files.join(" + ");
        let source: String = files.iter().map(|f| read(f)).collect();
        let labels: BTreeSet<String> = label
            .captures_iter(&source)
            .map(|c| c[1].to_owned())
            .collect();
        let builder = Regex::new(&format!(r"\b{alias}::operation::([a-z_]+)::")).expect("regex");
        let used: BTreeSet<String> = method
            .captures_iter(&source)
            .chain(builder.captures_iter(&sdk))
            .map(|c| c[1].to_owned())
            .filter(|m| m != "clone")
            .collect();
        let labelled: BTreeSet<String> = labels.iter().map(|l| snake(l)).collect();
        assert_eq!(
            labelled, used,
            "{file}: operation labels and SDK calls differ"
        );
        all.extend(labels.into_iter().map(|l| format!("{service}:{l}")));
    }
    all
}

#[test]
fn the_policy_grants_exactly_the_called_actions() {
    let called = called();
    assert!(
        called.contains("ecs:RegisterTaskDefinition")
            && called.contains("application-autoscaling:PutScalingPolicy"),
        "{called:?}"
    );
    let granted: BTreeSet<String> = policy()["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(actions)
        .filter(|a| a.starts_with("ecs:") || a.starts_with("application-autoscaling:"))
        .collect();
    let missing: Vec<&String> = called.difference(&granted).collect();
    let unused: Vec<&String> = granted.difference(&called).collect();
    assert!(missing.is_empty(), "the policy lacks {missing:?}");
    assert!(
        unused.is_empty(),
        "the policy grants what the operator never calls: {unused:?}"
    );
}

#[test]
fn other_actions_are_the_ones_aws_requires_and_are_limited() {
    for statement in policy()["Statement"].as_array().expect("statements") {
        assert_eq!(statement["Effect"], "Allow");
        for action in actions(statement) {
            assert!(!action.contains('*'), "no wildcard actions: {action}");
            match action.as_str() {
                "iam:PassRole" => {
                    let to = &statement["Condition"]["StringEquals"]["iam:PassedToService"];
                    // Task and execution roles; infrastructure, load balancer and lifecycle-hook
                    // roles; an EcsScalingPolicy's roleArn.
                    assert!(
                        to == "ecs-tasks.amazonaws.com"
                            || to == "ecs.amazonaws.com"
                            || to == "application-autoscaling.amazonaws.com",
                        "{statement}"
                    );
                }
                "iam:CreateServiceLinkedRole" => {
                    let name = &statement["Condition"]["StringLike"]["iam:AWSServiceName"];
                    assert!(
                        name == "ecs.amazonaws.com"
                            || name == "ecs.application-autoscaling.amazonaws.com",
                        "{statement}"
                    );
                    assert!(
                        statement["Resource"]
                            .as_str()
                            .is_some_and(|r| r.contains("aws-service-role/"))
                    );
                }
                // Application Auto Scaling manages the alarms of target tracking policies with the
                // caller's permissions.
                "cloudwatch:DescribeAlarms"
                | "cloudwatch:PutMetricAlarm"
                | "cloudwatch:DeleteAlarms" => {}
                other => assert!(
                    other.starts_with("ecs:") || other.starts_with("application-autoscaling:"),
                    "unexpected action {other}"
                ),
            }
        }
    }
}
