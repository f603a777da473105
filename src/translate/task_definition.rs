//! EcsTaskDefinition -> ECS `RegisterTaskDefinition`: validation, request, normalisation, content hash.

use super::{FieldErrors, TranslateError, duplicates, is_arn_of, is_ecs_name};
use crate::api::EcsTaskDefinitionSpec;
use crate::api::task_definition::{
    Compatibility, ContainerCondition, ContainerDefinition, NetworkMode, TaskDefinitionBody,
    TransportProtocol,
};

/// The `RegisterTaskDefinition` request for an object: the spec's ECS members, with `family`
/// defaulted to the object's name. Validates first, so an invalid spec never reaches AWS.
pub fn register_request(
    object_name: &str,
    spec: &EcsTaskDefinitionSpec,
) -> Result<TaskDefinitionBody, TranslateError> {
    validate(object_name, spec).into_result()?;
    Ok(assemble_request(object_name, spec))
}

/// The request of a spec [`validate`] already accepted (the pipeline validates once, first).
pub fn assemble_request(object_name: &str, spec: &EcsTaskDefinitionSpec) -> TaskDefinitionBody {
    let mut request = spec.definition.clone();
    request.family = Some(family(object_name, spec).to_owned());
    request
}

/// The family the object registers: `spec.family`, or the object's name.
pub fn family<'a>(object_name: &'a str, spec: &'a EcsTaskDefinitionSpec) -> &'a str {
    spec.definition.family.as_deref().unwrap_or(object_name)
}

/// A stable hash of the request's content: equal for requests ECS would store identically
/// (environment order, defaults written out or not, "1 vCPU" vs "1024"), different otherwise.
/// Tags are not content (they change in place with TagResource, never by a new revision).
///
/// The hash carries its algorithm version (`v1:<hex>`). A later release that normalises
/// differently adds `v2` and keeps `v1` in [`hash_matches`], so revisions recorded under an older
/// version still match their unchanged spec and are never registered again by an upgrade.
pub fn content_hash(request: &TaskDefinitionBody) -> String {
    let mut content = request.clone();
    content.tags = None;
    format!("v1:{}", digest(&normalise(&content)))
}

/// Whether `recorded` (a content hash written by this release or an earlier one, in status or in
/// a revision's tag) is the hash of `request`'s content under the algorithm that wrote it.
pub fn hash_matches(recorded: &str, request: &TaskDefinitionBody) -> bool {
    match recorded.split_once(':') {
        Some(("v1", _)) => recorded == content_hash(request),
        // Before versioned hashes: bare hex over the request including its tags.
        None => recorded == digest(&normalise(request)),
        // A newer release's algorithm (after a downgrade): not comparable, so not a match.
        Some(_) => false,
    }
}

fn digest(normalised: &TaskDefinitionBody) -> String {
    // Serialising plain data (strings, numbers, sorted maps) cannot fail.
    super::short_hash(&serde_json::to_vec(normalised).unwrap_or_default(), 16)
}

/// The request with AWS defaults written out and order-insensitive lists sorted.
pub fn normalise(request: &TaskDefinitionBody) -> TaskDefinitionBody {
    let mut out = request.clone();
    let awsvpc = out.network_mode == Some(NetworkMode::Awsvpc);
    if let Some(cpu) = out.cpu.as_deref().and_then(parse_cpu_units) {
        out.cpu = Some(cpu.to_string());
    }
    if let Some(memory) = out.memory.as_deref().and_then(parse_memory_mib) {
        out.memory = Some(memory.to_string());
    }
    if let Some(compat) = out.requires_compatibilities.as_mut() {
        compat.sort();
        compat.dedup();
    }
    if let Some(tags) = out.tags.as_mut() {
        tags.sort_by(|a, b| a.key.cmp(&b.key));
    }
    for container in &mut out.container_definitions {
        normalise_container(container, awsvpc);
    }
    drop_empty(&mut out.volumes);
    drop_empty(&mut out.placement_constraints);
    drop_empty(&mut out.tags);
    drop_empty(&mut out.inference_accelerators);
    out
}

fn normalise_container(container: &mut ContainerDefinition, awsvpc: bool) {
    container.essential.get_or_insert(true);
    if let Some(env) = container.environment.as_mut() {
        env.sort_by(|a, b| a.name.cmp(&b.name));
    }
    if let Some(secrets) = container.secrets.as_mut() {
        secrets.sort_by(|a, b| a.name.cmp(&b.name));
    }
    if let Some(ports) = container.port_mappings.as_mut() {
        for port in ports.iter_mut() {
            port.protocol.get_or_insert(TransportProtocol::Tcp);
            if awsvpc && port.host_port.is_none() {
                port.host_port = port.container_port;
            }
        }
    }
    drop_empty(&mut container.links);
    drop_empty(&mut container.port_mappings);
    drop_empty(&mut container.entry_point);
    drop_empty(&mut container.command);
    drop_empty(&mut container.environment);
    drop_empty(&mut container.environment_files);
    drop_empty(&mut container.mount_points);
    drop_empty(&mut container.volumes_from);
    drop_empty(&mut container.secrets);
    drop_empty(&mut container.depends_on);
    drop_empty(&mut container.dns_servers);
    drop_empty(&mut container.dns_search_domains);
    drop_empty(&mut container.extra_hosts);
    drop_empty(&mut container.docker_security_options);
    drop_empty(&mut container.ulimits);
    drop_empty(&mut container.system_controls);
    drop_empty(&mut container.resource_requirements);
    drop_empty(&mut container.credential_specs);
    if container
        .docker_labels
        .as_ref()
        .is_some_and(|m| m.is_empty())
    {
        container.docker_labels = None;
    }
}

fn drop_empty<T>(list: &mut Option<Vec<T>>) {
    if list.as_ref().is_some_and(Vec::is_empty) {
        *list = None;
    }
}

/// Task CPU in CPU units, from "256", "0.25 vCPU" or "1 vcpu".
pub fn parse_cpu_units(value: &str) -> Option<u32> {
    let value = value.trim();
    if let Ok(units) = value.parse::<u32>() {
        return Some(units);
    }
    let lower = value.to_ascii_lowercase();
    let number = lower.strip_suffix("vcpu")?.trim();
    let vcpus: f64 = number.parse().ok()?;
    let units = vcpus * 1024.0;
    (units.fract() == 0.0 && units > 0.0).then_some(units as u32)
}

/// Task memory in MiB, from "512", "1 GB" or "0.5gb".
pub fn parse_memory_mib(value: &str) -> Option<u32> {
    let value = value.trim();
    if let Ok(mib) = value.parse::<u32>() {
        return Some(mib);
    }
    let lower = value.to_ascii_lowercase();
    let number = lower.strip_suffix("gb")?.trim();
    let gib: f64 = number.parse().ok()?;
    let mib = gib * 1024.0;
    (mib.fract() == 0.0 && mib > 0.0).then_some(mib as u32)
}

/// The Fargate CPU/memory table: the memory sizes (MiB) valid for each task CPU size.
pub fn fargate_memory_options(cpu_units: u32) -> Option<Vec<u32>> {
    let range = |from_gib: u32, to_gib: u32, step_gib: u32| -> Vec<u32> {
        (from_gib..=to_gib)
            .step_by(step_gib as usize)
            .map(|g| g * 1024)
            .collect()
    };
    match cpu_units {
        256 => Some(vec![512, 1024, 2048]),
        512 => Some(range(1, 4, 1)),
        1024 => Some(range(2, 8, 1)),
        2048 => Some(range(4, 16, 1)),
        4096 => Some(range(8, 30, 1)),
        8192 => Some(range(16, 60, 4)),
        16384 => Some(range(32, 120, 8)),
        _ => None,
    }
}

/// Omissions ECS rejects at registration but that partial examples (and drafts) routinely have:
/// reported as warnings, so such a spec still renders; the controller surfaces ECS's own error.
pub fn warnings(spec: &EcsTaskDefinitionSpec) -> FieldErrors {
    let mut warnings = FieldErrors::default();
    let def = &spec.definition;
    for (i, container) in def.container_definitions.iter().enumerate() {
        if container.image.as_deref().is_none_or(str::is_empty) {
            warnings.push(
                format!("spec.containerDefinitions[{i}].image"),
                "no image: ECS rejects a container without one",
            );
        }
        if def.memory.is_none()
            && container.memory.is_none()
            && container.memory_reservation.is_none()
        {
            warnings.push(
                format!("spec.containerDefinitions[{i}].memory"),
                "no memory limit: ECS needs memory or memoryReservation on each container when the task sets no memory",
            );
        }
    }
    warnings
}

/// Every rule of the ECS API a CRD schema cannot express, reported with field paths.
pub fn validate(object_name: &str, spec: &EcsTaskDefinitionSpec) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let def = &spec.definition;

    let family = family(object_name, spec);
    if !is_ecs_name(family) {
        let path = if def.family.is_some() {
            "spec.family"
        } else {
            "spec.family (defaulted from metadata.name)"
        };
        errors.push(
            path,
            format!("{family:?} is not a valid family: use 1-255 letters, digits, hyphens or underscores"),
        );
    }

    validate_task_size(def, &mut errors);
    validate_containers(def, &mut errors);
    super::tags::validate(
        def.tags.as_deref().unwrap_or_default(),
        "spec.tags",
        &mut errors,
    );

    let volume_names: Vec<&str> = def
        .volumes
        .iter()
        .flatten()
        .filter_map(|v| v.name.as_deref())
        .collect();
    for (i, name) in duplicates(volume_names.iter().copied()) {
        errors.push(
            format!("spec.volumes[{i}].name"),
            format!("duplicate volume name {name:?}"),
        );
    }
    for (i, volume) in def.volumes.iter().flatten().enumerate() {
        let kinds = [
            volume.host.is_some(),
            volume.docker_volume_configuration.is_some(),
            volume.efs_volume_configuration.is_some(),
            volume
                .fsx_windows_file_server_volume_configuration
                .is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() > 1 {
            errors.push(
                format!("spec.volumes[{i}]"),
                "set only one of host, dockerVolumeConfiguration, efsVolumeConfiguration, fsxWindowsFileServerVolumeConfiguration",
            );
        }
        if volume.name.is_none() {
            errors.push(
                format!("spec.volumes[{i}].name"),
                "a volume needs a name for mountPoints to refer to",
            );
        }
    }
    for (i, container) in def.container_definitions.iter().enumerate() {
        for (j, mount) in container.mount_points.iter().flatten().enumerate() {
            if let Some(source) = mount.source_volume.as_deref()
                && !volume_names.contains(&source)
            {
                errors.push(
                    format!("spec.containerDefinitions[{i}].mountPoints[{j}].sourceVolume"),
                    format!("no volume named {source:?} in spec.volumes"),
                );
            }
        }
    }
    if let Some(proxy) = &def.proxy_configuration
        && !def
            .container_definitions
            .iter()
            .any(|c| c.name == proxy.container_name)
    {
        errors.push(
            "spec.proxyConfiguration.containerName",
            format!(
                "no container named {:?} in spec.containerDefinitions",
                proxy.container_name
            ),
        );
    }
    errors
}

fn is_fargate(def: &TaskDefinitionBody) -> bool {
    def.requires_compatibilities
        .iter()
        .flatten()
        .any(|c| *c == Compatibility::Fargate)
}

fn validate_task_size(def: &TaskDefinitionBody, errors: &mut FieldErrors) {
    let cpu = match def.cpu.as_deref() {
        Some(raw) => match parse_cpu_units(raw) {
            Some(units) => Some(units),
            None => {
                errors.push("spec.cpu", format!("{raw:?} is not a CPU size: write CPU units (\"1024\") or vCPUs (\"1 vCPU\")"));
                None
            }
        },
        None => None,
    };
    let memory = match def.memory.as_deref() {
        Some(raw) => match parse_memory_mib(raw) {
            Some(mib) => Some(mib),
            None => {
                errors.push(
                    "spec.memory",
                    format!("{raw:?} is not a memory size: write MiB (\"2048\") or GB (\"2 GB\")"),
                );
                None
            }
        },
        None => None,
    };

    if is_fargate(def) {
        if def.network_mode != Some(NetworkMode::Awsvpc) {
            errors.push("spec.networkMode", "Fargate requires networkMode: awsvpc");
        }
        if def.cpu.is_none() {
            errors.push(
                "spec.cpu",
                "Fargate requires a task-level cpu (for example \"256\")",
            );
        }
        if def.memory.is_none() {
            errors.push(
                "spec.memory",
                "Fargate requires a task-level memory (for example \"512\")",
            );
        }
        if let (Some(cpu), Some(memory)) = (cpu, memory) {
            match fargate_memory_options(cpu) {
                None => errors.push(
                    "spec.cpu",
                    format!("{cpu} CPU units is not a Fargate size: use 256, 512, 1024, 2048, 4096, 8192 or 16384"),
                ),
                Some(options) if !options.contains(&memory) => errors.push(
                    "spec.memory",
                    format!(
                        "{memory} MiB is not valid with cpu {cpu} on Fargate: use one of {}",
                        describe_sizes(&options)
                    ),
                ),
                Some(_) => {}
            }
        }
    }

    let mut container_memory_total: u64 = 0;
    for (i, container) in def.container_definitions.iter().enumerate() {
        if let (Some(soft), Some(hard)) = (container.memory_reservation, container.memory)
            && soft > hard
        {
            errors.push(
                format!("spec.containerDefinitions[{i}].memoryReservation"),
                format!("{soft} MiB exceeds the container's hard limit memory: {hard}"),
            );
        }
        container_memory_total += container
            .memory
            .or(container.memory_reservation)
            .map_or(0, |m| u64::try_from(m).unwrap_or(0));
    }
    if let Some(task_memory) = memory
        && container_memory_total > u64::from(task_memory)
    {
        errors.push(
                "spec.containerDefinitions",
                format!("containers reserve {container_memory_total} MiB in total, more than the task's memory of {task_memory} MiB"),
            );
    }
}

fn describe_sizes(options: &[u32]) -> String {
    let strings: Vec<String> = options.iter().map(u32::to_string).collect();
    strings.join(", ")
}

fn validate_containers(def: &TaskDefinitionBody, errors: &mut FieldErrors) {
    let containers = &def.container_definitions;
    if containers.is_empty() {
        errors.push(
            "spec.containerDefinitions",
            "at least one container is required",
        );
        return;
    }
    for (i, name) in duplicates(containers.iter().map(|c| c.name.as_str())) {
        errors.push(
            format!("spec.containerDefinitions[{i}].name"),
            format!("duplicate container name {name:?}: container names must be unique"),
        );
    }
    if containers.iter().all(|c| c.essential == Some(false)) {
        errors.push(
            "spec.containerDefinitions",
            "at least one container must be essential (essential: true, the default)",
        );
    }
    let awsvpc = def.network_mode == Some(NetworkMode::Awsvpc);
    for (i, container) in containers.iter().enumerate() {
        let at = format!("spec.containerDefinitions[{i}]");
        if !is_ecs_name(&container.name) {
            errors.push(
                format!("{at}.name"),
                format!("{:?} is not a valid container name: use 1-255 letters, digits, hyphens or underscores", container.name),
            );
        }
        for (j, dep) in container.depends_on.iter().flatten().enumerate() {
            let path = format!("{at}.dependsOn[{j}].containerName");
            if dep.container_name == container.name {
                errors.push(path, "a container cannot depend on itself");
                continue;
            }
            match containers.iter().find(|c| c.name == dep.container_name) {
                None => errors.push(
                    path,
                    format!(
                        "no container named {:?} in this task definition",
                        dep.container_name
                    ),
                ),
                Some(target)
                    if dep.condition == ContainerCondition::Healthy
                        && target.health_check.is_none() =>
                {
                    errors.push(
                        format!("{at}.dependsOn[{j}].condition"),
                        format!(
                            "HEALTHY needs a healthCheck on container {:?}",
                            dep.container_name
                        ),
                    )
                }
                Some(_) => {}
            }
        }
        for (j, source) in container.volumes_from.iter().flatten().enumerate() {
            if let Some(name) = source.source_container.as_deref()
                && !containers.iter().any(|c| c.name == name)
            {
                errors.push(
                    format!("{at}.volumesFrom[{j}].sourceContainer"),
                    format!("no container named {name:?} in this task definition"),
                );
            }
        }
        for (j, port) in container.port_mappings.iter().flatten().enumerate() {
            let path = format!("{at}.portMappings[{j}]");
            match (port.container_port, port.container_port_range.as_deref()) {
                (None, None) => errors.push(
                    format!("{path}.containerPort"),
                    "set containerPort (or containerPortRange)",
                ),
                (Some(_), Some(_)) => errors.push(
                    format!("{path}.containerPortRange"),
                    "set containerPort or containerPortRange, not both",
                ),
                _ => {}
            }
            if awsvpc
                && let (Some(host), Some(container_port)) = (port.host_port, port.container_port)
                && host != container_port
            {
                errors.push(
                            format!("{path}.hostPort"),
                            format!("with networkMode awsvpc, hostPort must equal containerPort ({container_port}) or be omitted"),
                        );
            }
        }
        let env_names: Vec<&str> = container
            .environment
            .iter()
            .flatten()
            .map(|kv| kv.name.as_deref().unwrap_or(""))
            .collect();
        for (j, kv) in container.environment.iter().flatten().enumerate() {
            if kv.name.as_deref().is_none_or(str::is_empty) {
                errors.push(
                    format!("{at}.environment[{j}].name"),
                    "an environment variable needs a name",
                );
            }
        }
        for (j, name) in duplicates(env_names.iter().copied()) {
            if name.is_empty() {
                continue;
            }
            errors.push(
                format!("{at}.environment[{j}].name"),
                format!("duplicate environment variable {name:?}"),
            );
        }
        let secret_names: Vec<&str> = container
            .secrets
            .iter()
            .flatten()
            .map(|s| s.name.as_str())
            .collect();
        for (j, name) in duplicates(secret_names.iter().copied()) {
            errors.push(
                format!("{at}.secrets[{j}].name"),
                format!("duplicate secret {name:?}"),
            );
        }
        for name in secret_names.iter().filter(|n| env_names.contains(n)) {
            errors.push(
                format!("{at}.secrets"),
                format!("{name:?} is both an environment variable and a secret"),
            );
        }
        for (j, secret) in container.secrets.iter().flatten().enumerate() {
            check_value_from(
                &secret.value_from,
                &format!("{at}.secrets[{j}].valueFrom"),
                errors,
            );
        }
        if let Some(log) = &container.log_configuration {
            for (j, secret) in log.secret_options.iter().flatten().enumerate() {
                check_value_from(
                    &secret.value_from,
                    &format!("{at}.logConfiguration.secretOptions[{j}].valueFrom"),
                    errors,
                );
            }
        }
        if let Some(check) = &container.health_check
            && !matches!(
                check.command.first().map(String::as_str),
                Some("CMD" | "CMD-SHELL" | "NONE")
            )
        {
            errors.push(
                format!("{at}.healthCheck.command"),
                "start the command with \"CMD\" (exec form) or \"CMD-SHELL\" (shell form)",
            );
        }
    }
}

/// A secret's `valueFrom`: a Secrets Manager ARN, an SSM parameter ARN, or an SSM parameter name.
fn check_value_from(value: &str, path: &str, errors: &mut FieldErrors) {
    let is_parameter_name = !value.is_empty()
        && !value.starts_with("arn:")
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c));
    if !(is_arn_of(value, "secretsmanager") || is_arn_of(value, "ssm") || is_parameter_name) {
        errors.push(
            path,
            format!("{value:?} is neither a Secrets Manager or SSM parameter ARN nor an SSM parameter name"),
        );
    }
}

/// The revision number of a task definition ARN (0 when it has none).
pub fn revision_of_arn(arn: &str) -> i32 {
    arn.rsplit(':')
        .next()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// `family:revision` of a task definition ARN (anything else as it is), for messages.
pub fn short_reference(arn: &str) -> String {
    arn.rsplit_once("task-definition/")
        .map_or(arn, |(_, rest)| rest)
        .to_owned()
}

/// The family of a task definition ARN (`...:task-definition/<family>:<revision>`).
pub fn family_of_arn(arn: &str) -> Option<&str> {
    let (_, rest) = arn.rsplit_once("task-definition/")?;
    rest.rsplit_once(':').map(|(family, _)| family)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_of_arns() {
        assert_eq!(
            family_of_arn("arn:aws:ecs:us-east-1:1:task-definition/web-admin:3"),
            Some("web-admin")
        );
        assert_eq!(family_of_arn("nonsense"), None);
        assert_eq!(
            revision_of_arn("arn:aws:ecs:us-east-1:1:task-definition/web:12"),
            12
        );
        assert_eq!(revision_of_arn("garbage"), 0);
    }
    use serde_json::json;

    fn spec(value: serde_json::Value) -> EcsTaskDefinitionSpec {
        serde_json::from_value(value).expect("spec")
    }

    #[test]
    fn equal_meaning_hashes_equal() {
        let a = spec(
            json!({"family": "f", "networkMode": "awsvpc", "cpu": "1 vCPU", "memory": "2 GB",
            "containerDefinitions": [{"name": "app", "image": "i", "portMappings": [{"containerPort": 80}],
              "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}]}),
        );
        let b = spec(
            json!({"family": "f", "networkMode": "awsvpc", "cpu": 1024, "memory": "2048",
            "containerDefinitions": [{"name": "app", "image": "i", "essential": true,
              "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
              "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "links": []}]}),
        );
        let ra = register_request("f", &a).expect("a");
        let rb = register_request("f", &b).expect("b");
        assert_eq!(content_hash(&ra), content_hash(&rb));
    }

    #[test]
    fn different_meaning_hashes_differ() {
        let a =
            spec(json!({"containerDefinitions": [{"name": "app", "image": "i:1", "memory": 128}]}));
        let b =
            spec(json!({"containerDefinitions": [{"name": "app", "image": "i:2", "memory": 128}]}));
        let ha = content_hash(&register_request("f", &a).expect("a"));
        let hb = content_hash(&register_request("f", &b).expect("b"));
        assert_ne!(ha, hb);
        assert_eq!(ha.len(), 3 + 32);
        assert!(ha.starts_with("v1:"));
    }

    #[test]
    fn tags_are_not_content() {
        let plain =
            spec(json!({"containerDefinitions": [{"name": "app", "image": "i:1", "memory": 128}]}));
        let tagged = spec(
            json!({"tags": [{"key": "team", "value": "a"}], "containerDefinitions": [{"name": "app", "image": "i:1", "memory": 128}]}),
        );
        let (p, t) = (
            register_request("f", &plain).expect("plain"),
            register_request("f", &tagged).expect("tagged"),
        );
        assert_eq!(content_hash(&p), content_hash(&t));
    }

    #[test]
    fn hashes_of_earlier_versions_still_match_their_content() {
        let s = spec(
            json!({"tags": [{"key": "team", "value": "a"}], "containerDefinitions": [{"name": "app", "image": "i:1", "memory": 128}]}),
        );
        let request = register_request("f", &s).expect("request");
        // What the release before versioned hashes recorded: bare hex over the request with tags.
        let legacy = digest(&normalise(&request));
        assert!(hash_matches(&legacy, &request));
        assert!(hash_matches(&content_hash(&request), &request));
        let mut edited = request.clone();
        edited.container_definitions[0].image = Some("i:2".into());
        assert!(!hash_matches(&legacy, &edited));
        assert!(!hash_matches(&content_hash(&request), &edited));
        assert!(
            !hash_matches("v9:abc", &request),
            "unknown versions never match"
        );
    }

    #[test]
    fn family_defaults_to_object_name_and_must_be_valid() {
        let s =
            spec(json!({"containerDefinitions": [{"name": "app", "image": "i", "memory": 128}]}));
        assert_eq!(
            register_request("web", &s).expect("ok").family.as_deref(),
            Some("web")
        );
        let errors = validate("my.app", &s);
        assert!(
            errors.0.iter().any(|e| e.path.starts_with("spec.family")),
            "{errors}"
        );
    }

    #[test]
    fn fargate_table() {
        assert_eq!(fargate_memory_options(256), Some(vec![512, 1024, 2048]));
        let options = fargate_memory_options(8192).expect("8 vCPU");
        assert_eq!(
            (
                options[0],
                options[options.len() - 1],
                options[1] - options[0]
            ),
            (16384, 61440, 4096)
        );
        assert_eq!(fargate_memory_options(3000), None);
        assert_eq!(parse_cpu_units("0.25 vCPU"), Some(256));
        assert_eq!(parse_memory_mib("0.5GB"), Some(512));
        assert_eq!(parse_cpu_units("lots"), None);
    }

    #[test]
    fn partial_definitions_warn_but_validate() {
        let s = spec(json!({"containerDefinitions": [{"name": "app"}]}));
        assert!(validate("x", &s).0.is_empty());
        let paths: Vec<String> = warnings(&s).0.into_iter().map(|w| w.path).collect();
        assert_eq!(
            paths,
            [
                "spec.containerDefinitions[0].image",
                "spec.containerDefinitions[0].memory"
            ]
        );
    }
}
