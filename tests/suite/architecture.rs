//! The layering rules of docs/architecture.md, checked on the sources so that they enforce
//! themselves: a forbidden import fails here, naming the file and the line.

use crate::common;

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The lines of the files under `src/<dir>` (outside `#[cfg(test)]` modules' own imports too:
/// a test may not break a layer either) that contain any of `forbidden`, as "file:line: text".
fn violations(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let root = common::root().join("src");
    let mut found = Vec::new();
    for file in sources(&root.join(dir)) {
        let text = std::fs::read_to_string(&file).expect("source");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if forbidden.iter().any(|f| code.contains(f)) {
                found.push(format!(
                    "{}:{}: {}",
                    file.strip_prefix(&root).unwrap_or(&file).display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    found
}

#[test]
fn api_imports_nothing_of_ours() {
    let found = violations(
        "api",
        &[
            "crate::translate",
            "crate::aws",
            "crate::controller",
            "crate::runtime",
            "crate::render",
        ],
    );
    assert!(
        found.is_empty(),
        "api/ must import nothing of ours:\n{}",
        found.join("\n")
    );
}

#[test]
fn translate_is_pure_and_imports_only_api() {
    let found = violations(
        "translate",
        &[
            "crate::aws",
            "crate::controller",
            "crate::runtime",
            "crate::render",
            "aws_sdk_",
            "aws_smithy",
            "kube::Api",
            "kube::Client",
            "kube::api::",
            "kube::runtime",
            "tokio::",
            "reqwest",
        ],
    );
    assert!(
        found.is_empty(),
        "translate/ is pure (spec -> requests): no client of any kind, no AWS SDK type, nothing above it:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_the_aws_layer_knows_the_aws_sdk() {
    let mut found = Vec::new();
    for dir in ["api", "translate", "controller", "runtime", "tools"] {
        found.extend(violations(dir, &["aws_sdk_", "aws_smithy", "aws_config"]));
    }
    assert!(
        found.is_empty(),
        "SDK types stay in aws/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_command_line_tools_sit_on_top_and_nothing_imports_them() {
    let mut found = Vec::new();
    for dir in ["api", "translate", "aws", "controller", "runtime"] {
        found.extend(violations(dir, &["crate::tools"]));
    }
    assert!(
        found.is_empty(),
        "tools/ (import, diff, verify) use the layers below; none of them uses tools/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_aws_layer_knows_no_controller_and_no_kubernetes_client() {
    let found = violations(
        "aws",
        &[
            "crate::controller",
            "crate::runtime",
            "kube::Api",
            "kube::Client",
            "kube::runtime",
        ],
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_runtime_knows_no_ecs_type() {
    let found = violations(
        "runtime",
        &[
            "crate::api",
            "crate::translate",
            "crate::aws",
            "crate::controller",
            "Ecs",
        ],
    );
    assert!(
        found.is_empty(),
        "runtime/ is the process around the controllers; main composes them:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_controller_imports_another_controllers_internals() {
    let kinds = [
        "capacity_provider",
        "cluster",
        "task_definition",
        "service",
        "scaling_policy",
        "task",
    ];
    let registered: Vec<String> = ecs_operator::controller::registry::kinds()
        .iter()
        .map(|k| k.label.to_owned())
        .collect();
    for kind in kinds {
        assert!(
            registered.iter().any(|r| r == kind),
            "controller/{kind} is not in the registry"
        );
        let others: Vec<String> = kinds
            .iter()
            .filter(|other| **other != kind)
            .flat_map(|other| {
                [
                    format!("controller::{other}"),
                    format!("super::super::{other}"),
                    format!("super::{other}::"),
                ]
            })
            .collect();
        let others: Vec<&str> = others.iter().map(String::as_str).collect();
        let found = violations(&format!("controller/{kind}"), &others);
        assert!(
            found.is_empty(),
            "what two controllers share goes into the shared machinery:\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn nothing_in_the_product_imports_the_test_bed() {
    let found = violations(".", &["ecs_testbed"]);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn no_source_file_is_over_a_thousand_lines() {
    // The aim is ~800 (docs/architecture.md); this bound stops files from growing back.
    let root = common::root().join("src");
    let long: Vec<String> = sources(&root)
        .into_iter()
        .filter_map(|file| {
            let lines = std::fs::read_to_string(&file)
                .expect("source")
                .lines()
                .count();
            (lines > 1000).then(|| format!("{}: {lines} lines", file.display()))
        })
        .collect();
    assert!(long.is_empty(), "{}", long.join("\n"));
}
