//! Kubernetes API request counts of a real kube-apiserver, in the emulator's terms, so the
//! benchmark's figures compare across the two.

use std::collections::BTreeMap;

/// `apiserver_request_total` of a kube-apiserver's metrics text, summed by the emulator's
/// names: verb ("create", "patch", "list", ...) and resource ("ecsservices/status"). Counts
/// every client's requests, as the emulator does.
pub fn api_server_requests(metrics: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let label = |name: &str| {
            labels.split("\",").find_map(|pair| {
                pair.strip_prefix(&format!("{name}=\""))
                    .map(|v| v.trim_end_matches('"').to_owned())
            })
        };
        let verb = match label("verb").as_deref() {
            Some("POST") => "create",
            Some("PATCH" | "APPLY") => "patch",
            Some("PUT") => "update",
            Some("GET") => "get",
            Some("LIST") => "list",
            Some("WATCH") => "watch",
            Some("DELETE") => "delete",
            _ => continue,
        };
        let resource = match (label("resource"), label("subresource")) {
            (Some(r), Some(sub)) if !sub.is_empty() => format!("{r}/{sub}"),
            (Some(r), _) => r,
            _ => continue,
        };
        let n = value.trim().parse::<f64>().unwrap_or(0.0) as u64;
        *counts.entry(format!("{verb} {resource}")).or_insert(0) += n;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_summed_by_verb_and_resource_with_the_subresource() {
        let text = r#"# HELP apiserver_request_total x
apiserver_request_total{code="201",component="apiserver",dry_run="",group="ecs.operator.dev",resource="ecsservices",scope="resource",subresource="",verb="POST",version="v1alpha1"} 3
apiserver_request_total{code="200",component="apiserver",dry_run="",group="ecs.operator.dev",resource="ecsservices",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 5
apiserver_request_total{code="409",component="apiserver",dry_run="",group="ecs.operator.dev",resource="ecsservices",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 1
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="events",scope="resource",subresource="",verb="APPLY",version="v1"} 2
apiserver_request_total{code="0",component="apiserver",dry_run="",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1"} 4
"#;
        let counts = api_server_requests(text);
        assert_eq!(counts.get("create ecsservices"), Some(&3));
        assert_eq!(counts.get("patch ecsservices/status"), Some(&6));
        assert_eq!(counts.get("patch events"), Some(&2));
        assert_eq!(counts.get("watch pods"), Some(&4));
        assert_eq!(counts.len(), 4);
    }
}
