//! `ecs-operator diff`: for each object in the files, the AWS calls applying it would make now,
//! from the controllers' own plan functions run against live reads (see
//! [`crate::controller::preview`]). For CI gates: exit 0 when nothing would change, 1 when
//! something would, 2 when an object cannot be applied or previewed.

use std::fmt::Write as _;
use std::sync::Arc;

use futures::StreamExt;

use crate::api::task_definition::TaskDefinitionBody;
use crate::controller::Context;
use crate::controller::preview::{Preview, Standing};
use crate::controller::registry;
use crate::render::SourceObject;
use crate::translate::described;

/// Objects previewed at once.
const CONCURRENCY: usize = 8;

/// The preview of every object, kinds in the order their controllers start (clusters first),
/// objects in file order within a kind.
pub async fn diff(ctx: Arc<Context>, objects: &[SourceObject]) -> Vec<Preview> {
    let mut previews = Vec::new();
    for registration in registry::kinds() {
        let kind = registration.kind();
        let values: Vec<serde_json::Value> = objects
            .iter()
            .filter(|o| o.kind == kind)
            .map(|o| o.value.clone())
            .collect();
        if values.is_empty() {
            continue;
        }
        let previewer = (registration.previewer)(ctx.clone());
        let previewer = &previewer;
        let mut of_kind: Vec<Preview> = futures::stream::iter(values)
            .map(previewer)
            .buffered(CONCURRENCY)
            .collect()
            .await;
        previews.append(&mut of_kind);
    }
    compare_revisions(&ctx, &mut previews).await;
    explain_waits(objects, &mut previews);
    previews
}

/// Objects that name no namespace go where `kubectl apply` puts them: the kubeconfig context's
/// namespace (`namespace`), not `default`.
pub fn default_namespace(objects: &mut [SourceObject], namespace: &str) {
    for object in objects
        .iter_mut()
        .filter(|o| o.value["metadata"]["namespace"].as_str().is_none())
    {
        object.namespace = namespace.to_owned();
        object.value["metadata"]["namespace"] = serde_json::json!(namespace);
    }
}

/// For each RegisterTaskDefinition, what the new revision changes against the family's latest
/// ACTIVE revision (read as ECS wrote it; ECS's written-out defaults left out on both sides).
async fn compare_revisions(ctx: &Context, previews: &mut [Preview]) {
    for call in previews
        .iter_mut()
        .flat_map(|p| p.calls.iter_mut())
        .filter(|c| c.operation == "ecs:RegisterTaskDefinition")
    {
        let Ok(Some(answer)) = ctx.aws.ecs.describe_task_definition_raw(&call.target).await else {
            continue;
        };
        let described_revision = &answer["taskDefinition"];
        let (Ok(before), Ok(after)) = (
            described::task_definition_body(described_revision),
            serde_json::from_value::<TaskDefinitionBody>(call.input.clone()),
        ) else {
            continue;
        };
        let plain = |body: TaskDefinitionBody| {
            serde_json::to_value(described::comparable_task_definition(&body)).unwrap_or_default()
        };
        let revision = described_revision["revision"].as_i64().unwrap_or_default();
        let changed = described::changes(&plain(before), &plain(after));
        call.changes = if changed.is_empty() {
            vec![format!(
                "(the content of {}:{revision}; registered again because that revision is not this object's)",
                call.target
            )]
        } else {
            std::iter::once(format!("against {}:{revision}:", call.target))
                .chain(changed)
                .collect()
        };
    }
}

/// A preview waiting for an object that is only in the files (not applied yet) says so: the
/// wait ends once that object is applied and Ready.
fn explain_waits(objects: &[SourceObject], previews: &mut [Preview]) {
    let pending: Vec<(String, String, String)> = previews
        .iter()
        .filter(|p| !p.in_cluster)
        .map(|p| (p.kind.clone(), p.namespace.clone(), p.name.clone()))
        .collect();
    for preview in previews
        .iter_mut()
        .filter(|p| p.standing == Standing::Waiting)
    {
        let Some(object) = objects.iter().find(|o| {
            o.kind == preview.kind && o.namespace == preview.namespace && o.name == preview.name
        }) else {
            continue;
        };
        let spec = &object.value["spec"];
        for (member, kind) in [
            ("taskDefinitionRef", "EcsTaskDefinition"),
            ("clusterRef", "EcsCluster"),
            ("serviceRef", "EcsService"),
        ] {
            let Some(name) = spec[member]["name"].as_str() else {
                continue;
            };
            if pending
                .iter()
                .any(|(k, ns, n)| k == kind && *ns == preview.namespace && n == name)
            {
                preview.message = format!(
                    "{} (the {kind} {name} is in the files but not applied yet: this object's calls follow once it is applied and Ready)",
                    preview.message
                );
            }
        }
    }
}

/// 0 when nothing would change, 1 when something would, 2 when any object cannot be applied as
/// it is or could not be previewed.
pub fn exit_code(previews: &[Preview]) -> u8 {
    if previews.iter().any(Preview::is_error) {
        2
    } else if previews.iter().any(Preview::changes) {
        1
    } else {
        0
    }
}

/// The previews for people: per object its calls with their inputs (YAML), then where it would
/// stand.
pub fn to_text(previews: &[Preview]) -> String {
    let mut out = String::new();
    for preview in previews {
        let place = if preview.in_cluster {
            "applied before"
        } else {
            "new"
        };
        let _ = writeln!(
            out,
            "{} {}/{} ({place}): {}",
            preview.kind,
            preview.namespace,
            preview.name,
            match preview.calls.len() {
                0 => "no AWS calls".to_owned(),
                1 => "1 AWS call".to_owned(),
                n => format!("{n} AWS calls"),
            }
        );
        for call in &preview.calls {
            let _ = writeln!(out, "  {} {}", call.operation, call.target);
            for change in &call.changes {
                let _ = writeln!(out, "    {change}");
            }
            if !call.input.is_null() {
                let _ = writeln!(out, "    input:");
                let yaml = serde_yaml::to_string(&call.input).unwrap_or_default();
                for line in yaml.lines() {
                    let _ = writeln!(out, "      {line}");
                }
            }
        }
        let standing = match preview.standing {
            Standing::Ready => "Ready",
            Standing::Progressing => "Progressing",
            Standing::Waiting => "Waiting",
            Standing::Stalled => "Stalled",
            Standing::Error => "Error",
        };
        let _ = writeln!(
            out,
            "  => {standing} ({}){}{}",
            preview.reason,
            if preview.message.is_empty() { "" } else { ": " },
            preview.message
        );
    }
    out
}
