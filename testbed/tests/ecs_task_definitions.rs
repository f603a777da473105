//! ListTaskDefinitions in the ECS model over real HTTP with the AWS SDK: ECS's order (family
//! name, then revision; `sort: DESC` reverses both) and its pages (`maxResults` 1-100, default
//! 100, `nextToken`). moto lists revisions in the order it stored them and ignores all three.

use aws_sdk_ecs as ecs;

mod model_bed;

use model_bed::*;

/// `family:revision` of each listed ARN.
fn short(arns: &[String]) -> Vec<String> {
    arns.iter()
        .map(|a| {
            a.rsplit_once("task-definition/")
                .map_or(a.as_str(), |(_, n)| n)
                .to_owned()
        })
        .collect()
}

/// Registers b, a, b, a, b: stored in that order, listed by ECS as a:1, a:2, b:1, b:2, b:3.
async fn families(bed: &Bed) {
    for family in ["beta", "alpha", "beta", "alpha", "beta"] {
        bed.register(family, "nginx").await;
    }
}

async fn list(bed: &Bed, sort: Option<ecs::types::SortOrder>) -> Vec<String> {
    let answer = bed
        .ecs
        .list_task_definitions()
        .set_sort(sort)
        .send()
        .await
        .expect("listed");
    short(answer.task_definition_arns())
}

#[tokio::test]
async fn revisions_are_listed_by_family_then_revision_and_desc_reverses_both() {
    let bed = bed().await;
    families(&bed).await;
    assert_eq!(
        list(&bed, None).await,
        ["alpha:1", "alpha:2", "beta:1", "beta:2", "beta:3"]
    );
    assert_eq!(
        list(&bed, Some(ecs::types::SortOrder::Desc)).await,
        ["beta:3", "beta:2", "beta:1", "alpha:2", "alpha:1"]
    );

    // moto alone keeps its storage order whatever is asked: the rule above is the model's.
    let moto = bed_with(true).await;
    families(&moto).await;
    assert_ne!(
        list(&moto, Some(ecs::types::SortOrder::Desc)).await,
        ["beta:3", "beta:2", "beta:1", "alpha:2", "alpha:1"]
    );
}

#[tokio::test]
async fn pages_follow_max_results_and_next_token() {
    let bed = bed().await;
    families(&bed).await;
    let first = bed
        .ecs
        .list_task_definitions()
        .family_prefix("beta")
        .sort(ecs::types::SortOrder::Desc)
        .max_results(2)
        .send()
        .await
        .expect("first page");
    assert_eq!(short(first.task_definition_arns()), ["beta:3", "beta:2"]);
    let token = first.next_token().expect("a next page").to_owned();
    let second = bed
        .ecs
        .list_task_definitions()
        .family_prefix("beta")
        .sort(ecs::types::SortOrder::Desc)
        .max_results(2)
        .next_token(token)
        .send()
        .await
        .expect("second page");
    assert_eq!(short(second.task_definition_arns()), ["beta:1"]);
    assert_eq!(second.next_token(), None, "the last page has no token");

    // "This value can be between 1 and 100."
    let refused = bed
        .ecs
        .list_task_definitions()
        .max_results(101)
        .send()
        .await
        .expect_err("refused");
    assert_eq!(
        err_code(refused.as_service_error().expect("service error")).0,
        "InvalidParameterException"
    );
}
