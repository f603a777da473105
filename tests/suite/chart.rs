//! The Helm chart: lint, render, schema, the CRDs it ships, and the API server's own check of
//! what it renders (`kubectl apply --dry-run=server` against the real kube-apiserver).

use crate::common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::root;
use serde_json::{Value, json};

fn chart() -> PathBuf {
    root().join("charts").join("ecs-operator")
}

fn helm(args: &[&str]) -> Output {
    let helm = ecs_testbed::tools::helm().unwrap_or_else(|e| panic!("helm: {e}"));
    Command::new(helm).args(args).output().expect("helm runs")
}

fn render(namespace: &str, sets: &[&str]) -> Vec<Value> {
    common::render_chart(namespace, sets)
}

const VARIANTS: &[&[&str]] = &[
    &[],
    &[
        "watchNamespaces={team-a,team-b}",
        "aws.region=eu-west-1",
        "aws.rateCeilings.service-write=10",
        "aws.maxRate=100",
    ],
    &[
        "replicaCount=1",
        "leaderElection.enabled=false",
        "metrics.service.enabled=false",
        "podDisruptionBudget.enabled=false",
    ],
    &[
        "fullnameOverride=ecs",
        "networkPolicy.enabled=true",
        "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=observability",
        "prometheusRule.enabled=true",
        "extraVolumes[0].name=ca",
        "extraVolumes[0].configMap.name=corporate-ca",
        "extraVolumeMounts[0].name=ca",
        "extraVolumeMounts[0].mountPath=/etc/corporate-ca",
        "podDisruptionBudget.unhealthyPodEvictionPolicy=IfHealthyBudget",
        "readOnly=true",
        "instance=eu-west-1",
        "selector=tier notin (batch)",
    ],
    &[
        "argocd.healthCheck.enabled=true",
        "admissionPolicies.namespaceRoleArnPrefixes={arn:aws:iam::444455556666:role/ecs-operator-}",
        "aws.externalIdSecrets=true",
        "requireNamespaceRole=true",
        "metrics.serviceMonitor.enabled=true",
        "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111122223333:role/ecs-operator",
    ],
];

#[test]
fn chart_lints_strictly_with_every_variant() {
    for sets in VARIANTS {
        let chart = chart();
        let mut args = vec!["lint", "--strict", chart.to_str().expect("path")];
        for set in *sets {
            args.extend(["--set", set]);
        }
        let output = helm(&args);
        assert!(
            output.status.success(),
            "helm lint --strict {sets:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The CRD templates render the generated CRDs unchanged (numbers and all, through `fromYaml`),
/// adding only the chart's labels and, with `crds.keep`, the policies that keep them.
#[test]
fn the_crd_templates_render_the_generated_crds_and_keep_them() {
    let crds = |sets: &[&str]| -> Vec<Value> {
        render("ops", sets)
            .into_iter()
            .filter(|d| d["kind"] == "CustomResourceDefinition")
            .collect()
    };
    let rendered = crds(&[]);
    let generated = ecs_operator::crdgen::all();
    assert_eq!(rendered.len(), generated.len());
    for (_, crd) in generated {
        let name = crd.metadata.name.clone().expect("name");
        let document = rendered
            .iter()
            .find(|d| d["metadata"]["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} not rendered"));
        let expected = serde_json::to_value(&crd.spec).expect("json");
        assert!(
            common::numbers_as_f64(&document["spec"]) == common::numbers_as_f64(&expected),
            "{name}: the rendered spec differs from the generated one"
        );
        let annotations = &document["metadata"]["annotations"];
        assert_eq!(annotations["helm.sh/resource-policy"], "keep", "{name}");
        assert_eq!(
            annotations["argocd.argoproj.io/sync-options"],
            "Prune=false"
        );
        assert_eq!(
            document["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "Helm"
        );
    }
    for document in crds(&["crds.keep=false"]) {
        assert!(
            document["metadata"]["annotations"]
                .get("helm.sh/resource-policy")
                .is_none(),
            "{document}"
        );
    }
    assert!(crds(&["crds.enabled=false"]).is_empty());
}

#[test]
fn the_chart_ships_the_generated_crds() {
    for (file, crd) in ecs_operator::crdgen::all() {
        let generated = ecs_operator::crdgen::to_yaml(&crd).expect("yaml");
        let shipped = std::fs::read_to_string(chart().join("files").join("crds").join(&file))
            .unwrap_or_default();
        assert!(
            shipped == generated,
            "charts/ecs-operator/files/crds/{file} is stale: run `cargo run -- crds --output-dir charts/ecs-operator/files/crds`"
        );
    }
}

#[test]
fn the_deployment_is_hardened_and_probed() {
    let documents = render("ops", &[]);
    let deployment = documents
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert_eq!(
        container["securityContext"]["capabilities"]["drop"],
        serde_json::json!(["ALL"])
    );
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(container["resources"]["requests"].is_object());
    assert_eq!(deployment["spec"]["replicas"], 2);
    // The arguments are ones `ecs-operator run` accepts.
    let args: Vec<String> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string").to_owned())
        .collect();
    let mut parsed = Command::new(env!("CARGO_BIN_EXE_ecs-operator"));
    parsed.args(&args).arg("--help");
    let output = parsed.output().expect("runs");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(documents.iter().any(|d| d["kind"] == "PodDisruptionBudget"));
    assert!(
        !documents.iter().any(|d| d["kind"] == "ServiceMonitor"),
        "off by default"
    );
    // No rate ceiling by default (the documented rates); one for an account with raised quotas.
    assert!(
        !args.iter().any(|a| a.starts_with("--aws-max-rate")),
        "{args:?}"
    );
    let raised = render(
        "ops",
        &[
            "aws.maxRate=100",
            "readOnly=true",
            "instance=eu-west-1",
            "selector=tier notin (batch)",
            "defaultDeletionPolicy=Retain",
            "adoptSameOwner=true",
        ],
    );
    let raised_args: Vec<String> = raised
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string").to_owned())
        .collect();
    for flag in [
        "--aws-max-rate=100",
        "--read-only",
        "--selector=ecs.operator.dev/instance=eu-west-1,tier notin (batch)",
        "--default-deletion-policy=Retain",
        "--adopt-same-owner",
    ] {
        assert!(raised_args.iter().any(|a| a == flag), "{raised_args:?}");
    }
    let parsed = Command::new(env!("CARGO_BIN_EXE_ecs-operator"))
        .args(&raised_args)
        .arg("--help")
        .output()
        .expect("runs");
    assert!(
        parsed.status.success(),
        "{raised_args:?}: {}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    assert!(!args.iter().any(|a| a == "--read-only"), "off by default");
    assert!(
        !args.iter().any(|a| a.starts_with("--selector")),
        "every object by default"
    );
    assert!(
        args.iter().any(|a| a == "--default-deletion-policy=Delete"),
        "nothing left behind in AWS by default: {args:?}"
    );
}

#[test]
fn namespace_lists_get_roles_and_nothing_cluster_wide() {
    let documents = render("ops", &["watchNamespaces={team-a,team-b}"]);
    let kinds: Vec<(String, String)> = documents
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or_default().to_owned(),
                d["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    // Nothing cluster-wide for the operator but reading the listed namespaces (their
    // deletion-policy annotation); the tenants' roles are aggregated ClusterRoles.
    let cluster_wide: Vec<&str> = documents
        .iter()
        .filter(|d| d["kind"].as_str().is_some_and(|k| k.starts_with("Cluster")))
        .filter_map(|d| d["metadata"]["name"].as_str())
        .collect();
    assert_eq!(
        cluster_wide,
        [
            "ecs-operator-namespaces",
            "ecs-operator-view",
            "ecs-operator-edit",
            "ecs-operator-namespaces"
        ],
        "{kinds:?}"
    );
    let namespaces = documents
        .iter()
        .find(|d| d["kind"] == "ClusterRole" && d["metadata"]["name"] == "ecs-operator-namespaces")
        .expect("namespace reader");
    assert_eq!(
        namespaces["rules"],
        json!([{"apiGroups": [""], "resources": ["namespaces"],
                "resourceNames": ["team-a", "team-b"], "verbs": ["get"]}])
    );
    for namespace in ["team-a", "team-b"] {
        assert!(
            kinds.contains(&("Role".to_owned(), namespace.to_owned())),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&("RoleBinding".to_owned(), namespace.to_owned())),
            "{kinds:?}"
        );
    }
    let deployment = documents
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("deployment");
    let args = deployment["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(args.contains("--namespaces=team-a,team-b"), "{args}");
}

#[test]
fn bad_values_are_rejected_naming_the_value() {
    for (set, names) in [
        ("logging.format=xml", "/logging/format"),
        ("replicaCount=0", "/replicaCount"),
        ("instance=not a label value", "/instance"),
        ("defaultDeletionPolicy=Keep", "/defaultDeletionPolicy"),
        ("aws.rateCeilings.bogus=1", "bogus"),
        ("watchNamespaces={Not_A_Namespace}", "/watchNamespaces/0"),
        ("leaderElection.enabled=false", "leaderElection.enabled"),
        ("unknownValue=1", "unknownValue"),
        (
            "networkPolicy.apiServerPorts={}",
            "/networkPolicy/apiServerPorts",
        ),
    ] {
        let chart = chart();
        let output = helm(&["template", "x", chart.to_str().expect("path"), "--set", set]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{set} was accepted");
        assert!(stderr.contains(names), "{set}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_server_accepts_every_rendered_manifest() {
    let cluster = common::cluster().await;
    if cluster.kind == common::ClusterKind::Emulator {
        eprintln!("skipped: needs a real API server (Go not available, no E2E_KUBECONFIG)");
        return;
    }
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
        kube::Api::all(cluster.client.clone());
    let team = format!("{}-team", cluster.namespace);
    namespaces
        .create(
            &Default::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": team}})).expect("ns"),
        )
        .await
        .expect("namespace");
    let with_team = format!("watchNamespaces={{{team}}}");
    let variants: Vec<Vec<&str>> = VARIANTS
        .iter()
        .map(|v| {
            v.iter()
                .map(|s| {
                    if s.starts_with("watchNamespaces=") {
                        with_team.as_str()
                    } else {
                        *s
                    }
                })
                .collect()
        })
        .collect();
    for sets in variants {
        // ServiceMonitor and PrometheusRule need the Prometheus Operator's CRDs, which this
        // cluster does not have.
        let documents: Vec<Value> = render(&cluster.namespace, &sets)
            .into_iter()
            .filter(|d| d["kind"] != "ServiceMonitor" && d["kind"] != "PrometheusRule")
            .collect();
        let path = common::temp_yaml("chart", &documents);
        let output = tokio::task::block_in_place(|| {
            Command::new("kubectl")
                .args(["apply", "--dry-run=server", "-f"])
                .arg(&path)
                .env("KUBECONFIG", &cluster.kubeconfig)
                .output()
                .expect("kubectl")
        });
        assert!(
            output.status.success(),
            "{sets:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let out = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            out.matches("(server dry run)").count(),
            documents.len(),
            "{out}"
        );
    }
}

/// Every kind in the operator's registry is in the chart: its objects and their status are
/// writable by the operator's role (with no more verbs than it uses), and the Argo CD health check
/// covers it. A kind registered without its chart lines fails here, by name.
#[test]
fn every_registered_kind_has_its_rbac_and_argo_cd_health() {
    let documents = render("ops", &["argocd.healthCheck.enabled=true"]);
    let role = documents
        .iter()
        .find(|d| d["kind"] == "ClusterRole" && d["metadata"]["name"] == "ecs-operator")
        .expect("ClusterRole");
    let verbs_on = |resource: &str| -> Vec<String> {
        role["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .filter(|rule| {
                rule["apiGroups"]
                    .as_array()
                    .is_some_and(|g| g.iter().any(|g| g == "ecs.operator.dev"))
                    && rule["resources"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(|r| r == resource))
            })
            .flat_map(|rule| rule["verbs"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let health = documents
        .iter()
        .find(|d| {
            d["kind"] == "ConfigMap"
                && d["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("argocd-health"))
        })
        .expect("the Argo CD health ConfigMap");
    for kind in ecs_operator::controller::registry::kinds() {
        let plural = kind.plural();
        let mut verbs = verbs_on(&plural);
        verbs.sort();
        // `get`: an object referenced by another (clusterRef, taskDefinitionRef) is read;
        // `create` and `delete`: only EcsTasks, an EcsService's pre-deploy runs and a run whose
        // ttlSecondsAfterFinished ran out.
        let expected: &[&str] = if plural == "ecstasks" {
            &["create", "delete", "get", "list", "patch", "watch"]
        } else {
            &["get", "list", "patch", "watch"]
        };
        assert_eq!(verbs, expected, "{plural}");
        assert_eq!(
            verbs_on(&format!("{plural}/status")),
            ["patch"],
            "{plural}/status"
        );
        for tenant_role in ["ecs-operator-view", "ecs-operator-edit"] {
            let role = documents
                .iter()
                .find(|d| d["metadata"]["name"] == tenant_role)
                .expect("tenant role");
            assert!(
                role["rules"][0]["resources"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| *r == plural.as_str())),
                "{tenant_role} lacks {plural}"
            );
        }
        let key = format!(
            "resource.customizations.health.ecs.operator.dev_{}",
            kind.kind()
        );
        assert!(
            health["data"][&key]
                .as_str()
                .is_some_and(|lua| lua.contains("conditions")),
            "no Argo CD health check for {}",
            kind.kind()
        );
    }
}

#[test]
fn the_chart_works_as_a_subchart_with_globals_and_a_condition() {
    let parent = std::env::temp_dir().join(format!("ecs-operator-parent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&parent);
    std::fs::create_dir_all(&parent).expect("parent chart folder");
    std::fs::write(
        parent.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: platform\nversion: 1.0.0\ndependencies:\n  - name: ecs-operator\n    version: 0.1.0\n    repository: file://{}\n    condition: ecs-operator.enabled\n",
            chart().display()
        ),
    )
    .expect("Chart.yaml");
    std::fs::write(
        parent.join("values.yaml"),
        "global:\n  imageRegistry: registry.example.com\necs-operator:\n  enabled: true\n",
    )
    .expect("values.yaml");
    let parent_path = parent.to_str().expect("utf-8 path");
    let built = helm(&["dependency", "build", parent_path]);
    assert!(
        built.status.success(),
        "helm dependency build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let rendered = helm(&["template", "platform", parent_path, "--namespace", "ops"]);
    let text = String::from_utf8_lossy(&rendered.stdout);
    assert!(
        rendered.status.success(),
        "helm template of a parent chart: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    assert!(text.contains("kind: Deployment"), "{text}");
    // The condition switches it off.
    let off = helm(&[
        "template",
        "platform",
        parent_path,
        "--set",
        "ecs-operator.enabled=false",
    ]);
    assert!(
        off.status.success(),
        "{}",
        String::from_utf8_lossy(&off.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&off.stdout).contains("kind: Deployment"),
        "disabled by the condition"
    );
    let _ = std::fs::remove_dir_all(&parent);
}

fn find<'a>(documents: &'a [Value], kind: &str) -> &'a Value {
    documents
        .iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn platform_values_image_digest_names_volumes_spread_and_budgets() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let documents = render(
        "ops",
        &[
            &format!("image.digest={digest}"),
            "image.tag=ignored",
            "nameOverride=ecs",
            "extraVolumes[0].name=ca",
            "extraVolumes[0].configMap.name=corporate-ca",
            "extraVolumeMounts[0].name=ca",
            "extraVolumeMounts[0].mountPath=/etc/corporate-ca",
            "extraVolumeMounts[0].readOnly=true",
        ],
    );
    let deployment = find(&documents, "Deployment");
    // The release (`ecs-operator`) contains the name: Helm's convention keeps the release name.
    assert_eq!(deployment["metadata"]["name"], "ecs-operator");
    assert_eq!(
        deployment["metadata"]["labels"]["app.kubernetes.io/name"],
        "ecs"
    );
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(
        container["image"],
        format!("ghcr.io/ecs-operator/ecs-operator@{digest}"),
        "by digest, the tag ignored"
    );
    assert_eq!(pod["volumes"][0]["configMap"]["name"], "corporate-ca");
    assert_eq!(
        container["volumeMounts"][0]["mountPath"],
        "/etc/corporate-ca"
    );
    let spread = &pod["topologySpreadConstraints"][0];
    assert_eq!(spread["topologyKey"], "topology.kubernetes.io/zone");
    assert_eq!(spread["whenUnsatisfiable"], "ScheduleAnyway");
    assert_eq!(
        spread["labelSelector"]["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"]
    );
    assert_eq!(
        find(&documents, "PodDisruptionBudget")["spec"]["unhealthyPodEvictionPolicy"],
        "AlwaysAllow"
    );
    assert!(!documents.iter().any(|d| d["kind"] == "NetworkPolicy"));
    assert!(!documents.iter().any(|d| d["kind"] == "PrometheusRule"));

    let renamed = render("ops", &["fullnameOverride=ecs"]);
    for kind in ["Deployment", "ServiceAccount", "ClusterRole"] {
        assert_eq!(find(&renamed, kind)["metadata"]["name"], "ecs", "{kind}");
    }
    // Without volumes, no empty members.
    let plain = render("ops", &[]);
    let pod = &find(&plain, "Deployment")["spec"]["template"]["spec"];
    assert!(pod.get("volumes").is_none() && pod["containers"][0].get("volumeMounts").is_none());
    // A digest that is not one is refused.
    let chart = chart();
    let refused = helm(&[
        "template",
        "x",
        chart.to_str().expect("path"),
        "--set",
        "image.digest=latest",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("/image/digest"));
    // The CEL rules' reason and fieldPath need Kubernetes 1.28.
    let old = helm(&[
        "template",
        "x",
        chart.to_str().expect("path"),
        "--kube-version",
        "1.27.9",
    ]);
    assert!(!old.status.success());
    assert!(
        String::from_utf8_lossy(&old.stderr).contains("kubeVersion"),
        "{}",
        String::from_utf8_lossy(&old.stderr)
    );
}

#[test]
fn the_network_policy_and_alerts_cover_what_the_operator_talks_to_and_fails_at() {
    let documents = render(
        "ops",
        &[
            "networkPolicy.enabled=true",
            "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=observability",
            "prometheusRule.enabled=true",
            "prometheusRule.labels.release=prometheus",
        ],
    );
    let policy = find(&documents, "NetworkPolicy");
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"],
        find(&documents, "Deployment")["spec"]["selector"]["matchLabels"]
    );
    assert_eq!(policy["spec"]["ingress"][0]["ports"][0]["port"], 8080);
    assert_eq!(
        policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["team"],
        "observability"
    );
    let egress_ports: Vec<(i64, &str)> = policy["spec"]["egress"]
        .as_array()
        .expect("egress")
        .iter()
        .flat_map(|rule| rule["ports"].as_array().cloned().unwrap_or_default())
        .map(|p| {
            (
                p["port"].as_i64().expect("port"),
                if p["protocol"] == "UDP" { "UDP" } else { "TCP" },
            )
        })
        .collect();
    for wanted in [
        (53, "UDP"),
        (53, "TCP"),
        (443, "TCP"),
        (6443, "TCP"),
        (80, "TCP"),
    ] {
        assert!(
            egress_ports.contains(&wanted),
            "{wanted:?} in {egress_ports:?}"
        );
    }
    let rule = find(&documents, "PrometheusRule");
    assert_eq!(rule["metadata"]["labels"]["release"], "prometheus");
    let alerts: Vec<(&str, &str)> = rule["spec"]["groups"][0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            (
                r["alert"].as_str().expect("alert"),
                r["expr"].as_str().expect("expr"),
            )
        })
        .collect();
    let names: Vec<&str> = alerts.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "EcsOperatorObjectsStalled",
            "EcsOperatorNoLeader",
            "EcsOperatorAwsThrottling"
        ]
    );
    // The metrics the expressions name are the ones the operator exports.
    for (metric, alert) in [
        ("ecs_operator_objects{", 0),
        ("ecs_operator_leader{", 1),
        ("ecs_operator_aws_calls_total{", 2),
    ] {
        assert!(alerts[alert].1.contains(metric), "{:?}", alerts[alert]);
        assert!(
            alerts[alert].1.contains("namespace=\"ops\""),
            "{:?}",
            alerts[alert]
        );
    }
    assert!(alerts[0].1.contains("condition=\"stalled\""));
    assert!(alerts[2].1.contains("outcome=\"throttled\""));
}
