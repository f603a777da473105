//! The Application Auto Scaling calls the model answers itself (what moto gets wrong about
//! scalable targets and their tags).

use super::*;

/// RegisterScalableTarget: "Use this parameter to tag the scalable target when it is created. To
/// tag an existing scalable target, use the TagResource operation." moto accepts tags on an
/// existing target; AWS answers the ValidationException below.
pub(super) async fn register_scalable_target(
    upstream: &Upstream<'_>,
    state: &mut Account,
    body: &Value,
) -> Answer {
    let has_tags = body["Tags"].as_object().is_some_and(|t| !t.is_empty());
    if has_tags {
        let query = json!({"ServiceNamespace": body["ServiceNamespace"], "ScalableDimension": body["ScalableDimension"],
                           "ResourceIds": [body["ResourceId"]]});
        if let Ok((200, answer)) = upstream
            .autoscaling("DescribeScalableTargets", &query)
            .await
            && answer["ScalableTargets"]
                .as_array()
                .is_some_and(|t| !t.is_empty())
        {
            return error(
                400,
                "ValidationException",
                "The scalable target that you tried to tag already exists. To update tags on an existing scalable target, use the TagResource API.",
            );
        }
    }
    match upstream.autoscaling("RegisterScalableTarget", body).await {
        Ok((200, answer)) => {
            if let (Some(arn), Some(tags)) = (
                answer["ScalableTargetARN"].as_str(),
                body["Tags"].as_object().filter(|t| !t.is_empty()),
            ) {
                state.target_tags.insert(arn.to_owned(), tags.clone());
            }
            Answer::Ok(answer)
        }
        Ok((status, answer)) => upstream_error(status, &answer),
        Err(e) => error(500, "ServerException", &e),
    }
}

/// The ARN of every ECS scalable target moto holds.
pub(super) async fn target_arns(upstream: &Upstream<'_>) -> Result<Vec<String>, Answer> {
    match upstream
        .autoscaling(
            "DescribeScalableTargets",
            &json!({"ServiceNamespace": "ecs", "MaxResults": 1_000_000}),
        )
        .await
    {
        Ok((200, answer)) => Ok(answer["ScalableTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["ScalableTargetARN"].as_str().map(str::to_owned))
            .collect()),
        Ok((status, answer)) => Err(upstream_error(status, &answer)),
        Err(e) => Err(error(500, "ServerException", &e)),
    }
}

/// Application Auto Scaling TagResource, UntagResource and ListTagsForResource on a scalable
/// target ARN ("Tags: ... A tag key-value pair", "TagKeys", an unknown ARN is
/// ResourceNotFoundException). Tags of targets that are gone (deregistered, or removed with their
/// ECS service) are forgotten.
pub(super) async fn target_tags(
    upstream: &Upstream<'_>,
    state: &mut Account,
    operation: &str,
    body: &Value,
) -> Answer {
    let arn = body["ResourceARN"].as_str().unwrap_or_default().to_owned();
    let live = match target_arns(upstream).await {
        Ok(arns) => arns,
        Err(answer) => return answer,
    };
    state.target_tags.retain(|known, _| live.contains(known));
    if !live.contains(&arn) {
        return error(
            400,
            "ResourceNotFoundException",
            &format!("No scalable target found for ARN {arn}"),
        );
    }
    let tags = state.target_tags.entry(arn).or_default();
    match operation {
        "TagResource" => {
            for (key, value) in body["Tags"].as_object().into_iter().flatten() {
                tags.insert(key.clone(), value.clone());
            }
            Answer::Ok(json!({}))
        }
        "UntagResource" => {
            for key in body["TagKeys"].as_array().into_iter().flatten() {
                if let Some(key) = key.as_str() {
                    tags.remove(key);
                }
            }
            Answer::Ok(json!({}))
        }
        _ => Answer::Ok(json!({"Tags": tags})),
    }
}

/// A request's `MaxResults`, `max` when absent, or the ValidationException for one outside 1 to
/// `max`.
fn page_size(body: &Value, max: u64) -> Result<usize, Answer> {
    match body.get("MaxResults") {
        None | Some(Value::Null) => Ok(max as usize),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=max).contains(&n) => Ok(n as usize),
            _ => {
                let bound = if v.as_u64().is_some_and(|n| n > max) {
                    format!("less than or equal to {max}")
                } else {
                    "greater than or equal to 1".to_owned()
                };
                Err(error(
                    400,
                    "ValidationException",
                    &format!(
                        "1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value {bound}"
                    ),
                ))
            }
        },
    }
}

/// DescribeScalingPolicies and DescribeScheduledActions, passed to moto once their `MaxResults`
/// is in range (moto takes any): DescribeScalingPolicies "MaxResults: The maximum number of
/// scalable targets. This value can be between 1 and 10. The default value is 10.";
/// DescribeScheduledActions "The maximum number of scheduled action results. This value can be
/// between 1 and 50. The default value is 50."
pub(super) async fn describe_paged(
    upstream: &Upstream<'_>,
    operation: &str,
    body: &Value,
) -> Answer {
    let max = if operation == "DescribeScalingPolicies" {
        10
    } else {
        50
    };
    let size = match page_size(body, max) {
        Ok(size) => size,
        Err(refused) => return refused,
    };
    // "The default value is 10" (50): moto's own default is larger.
    let mut body = body.clone();
    if let Some(map) = body.as_object_mut() {
        map.insert("MaxResults".into(), json!(size));
    }
    match upstream.autoscaling(operation, &body).await {
        Ok((200, answer)) => Answer::Ok(answer),
        Ok((status, answer)) => upstream_error(status, &answer),
        Err(e) => error(500, "ServerException", &e),
    }
}

/// DescribeScalableTargets, paged as AWS documents it ("MaxResults: The maximum number of scalable
/// targets. This value can be between 1 and 50. The default value is 50."). moto 5.2.5 hands out
/// the page-relative index as NextToken, so from the third page on it repeats the second page
/// forever; the model reads moto's whole list and pages it itself.
pub(super) async fn describe_scalable_targets(upstream: &Upstream<'_>, body: &Value) -> Answer {
    // ScalableDimension: "If you specify a scalable dimension, you must also specify a resource
    // ID." (moto lists the dimension's targets.)
    let has_ids = body["ResourceIds"]
        .as_array()
        .is_some_and(|ids| !ids.is_empty());
    if body.get("ScalableDimension").is_some_and(|d| !d.is_null()) && !has_ids {
        return error(
            400,
            "ValidationException",
            "If you specify a scalable dimension, you must also specify a resource ID.",
        );
    }
    let page_size = match page_size(body, 50) {
        Ok(size) => size,
        Err(refused) => return refused,
    };
    let start = match body["NextToken"].as_str() {
        None | Some("") => 0,
        Some(token) => match token
            .strip_prefix("model-page:")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(start) => start,
            None => return error(400, "InvalidNextTokenException", "Invalid token"),
        },
    };
    let mut everything = body.clone();
    if let Some(map) = everything.as_object_mut() {
        map.remove("NextToken");
        map.insert("MaxResults".into(), json!(1_000_000));
    }
    match upstream
        .autoscaling("DescribeScalableTargets", &everything)
        .await
    {
        Ok((200, answer)) => {
            let all = answer["ScalableTargets"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let page: Vec<Value> = all.iter().skip(start).take(page_size).cloned().collect();
            let mut out = json!({"ScalableTargets": page});
            if start + page_size < all.len() {
                out["NextToken"] = json!(format!("model-page:{}", start + page_size));
            }
            Answer::Ok(out)
        }
        Ok((status, answer)) => upstream_error(status, &answer),
        Err(e) => error(500, "ServerException", &e),
    }
}

/// DeregisterScalableTarget: "Deregistering a scalable target deletes the scaling policies and the
/// scheduled actions that are associated with it." moto keeps them; the model deletes them first.
pub(super) async fn deregister_scalable_target(
    upstream: &Upstream<'_>,
    state: &mut Account,
    body: &Value,
) -> Answer {
    let scope = json!({"ServiceNamespace": body["ServiceNamespace"], "ResourceId": body["ResourceId"],
                       "ScalableDimension": body["ScalableDimension"]});
    if let Ok((200, policies)) = upstream
        .autoscaling("DescribeScalingPolicies", &scope)
        .await
    {
        for policy in policies["ScalingPolicies"].as_array().into_iter().flatten() {
            let mut delete = scope.clone();
            delete["PolicyName"] = policy["PolicyName"].clone();
            let _ = upstream.autoscaling("DeleteScalingPolicy", &delete).await;
        }
    }
    if let Ok((200, actions)) = upstream
        .autoscaling("DescribeScheduledActions", &scope)
        .await
    {
        for action in actions["ScheduledActions"].as_array().into_iter().flatten() {
            let mut delete = scope.clone();
            delete["ScheduledActionName"] = action["ScheduledActionName"].clone();
            let _ = upstream.autoscaling("DeleteScheduledAction", &delete).await;
        }
    }
    match upstream.autoscaling("DeregisterScalableTarget", body).await {
        Ok((200, answer)) => {
            if let Ok(live) = target_arns(upstream).await {
                state.target_tags.retain(|known, _| live.contains(known));
            }
            Answer::Ok(answer)
        }
        Ok((status, answer)) => upstream_error(status, &answer),
        Err(e) => error(500, "ServerException", &e),
    }
}
