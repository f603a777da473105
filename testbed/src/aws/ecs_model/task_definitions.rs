//! ListTaskDefinitions as ECS orders and pages it (moto lists every family's revisions in the
//! order it stored them, ignoring `sort`, `maxResults` and `nextToken`): the model takes moto's
//! list and applies ECS's order and pages.

use super::*;

/// `(family, revision)` of a task definition ARN, for ordering.
fn family_and_revision(arn: &str) -> (String, u64) {
    let name = arn.rsplit_once("task-definition/").map_or(arn, |(_, n)| n);
    match name.rsplit_once(':') {
        Some((family, revision)) => (family.to_owned(), revision.parse().unwrap_or(0)),
        None => (name.to_owned(), 0),
    }
}

impl EcsModel {
    pub(super) async fn list_task_definitions(
        &self,
        upstream: &Upstream<'_>,
        body: &Value,
    ) -> Answer {
        let mut forwarded = json!({});
        for member in ["familyPrefix", "status"] {
            if let Some(value) = body.get(member) {
                forwarded[member] = value.clone();
            }
        }
        let arns: Vec<String> = match upstream.ecs("ListTaskDefinitions", &forwarded).await {
            Ok((200, answer)) => answer["taskDefinitionArns"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
            Ok((status, answer)) => return upstream_error(status, &answer),
            Err(e) => return error(500, "ServerException", &e),
        };
        // "By default, (ASC) task definitions are listed lexicographically by family name and in
        // ascending numerical order by revision so that the newest task definitions in a family
        // are listed last. Setting this parameter to DESC reverses the sort order on family name
        // and revision."
        let mut ordered: Vec<((String, u64), String)> = arns
            .into_iter()
            .map(|arn| (family_and_revision(&arn), arn))
            .collect();
        ordered.sort();
        match body["sort"].as_str() {
            None | Some("ASC") => {}
            Some("DESC") => ordered.reverse(),
            Some(other) => return invalid(&format!("Invalid sort order {other}.")),
        }
        // "This value can be between 1 and 100. If this parameter isn't used, then
        // ListTaskDefinitions returns up to 100 results and a nextToken value if applicable."
        let max = match body.get("maxResults") {
            None | Some(Value::Null) => 100,
            Some(value) => match value.as_u64() {
                Some(n @ 1..=100) => n as usize,
                _ => return invalid("maxResults must be between 1 and 100."),
            },
        };
        let from = match body["nextToken"].as_str().map(str::parse::<usize>) {
            None => 0,
            Some(Ok(offset)) => offset,
            Some(Err(_)) => return invalid("Invalid nextToken."),
        };
        let page: Vec<&String> = ordered
            .iter()
            .skip(from)
            .take(max)
            .map(|(_, arn)| arn)
            .collect();
        let mut answer = json!({"taskDefinitionArns": page});
        if from + max < ordered.len() {
            answer["nextToken"] = json!((from + max).to_string());
        }
        Answer::Ok(answer)
    }
}
