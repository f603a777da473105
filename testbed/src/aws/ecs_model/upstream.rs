//! How the model reaches moto, and moto's answers turned into AWS errors.

use super::*;

/// How the model reaches moto: the URL and the headers of the request being handled (account,
/// authorization with its region).
pub struct Upstream<'a> {
    /// HTTP client.
    pub client: &'a HttpClient,
    /// moto's base URL.
    pub url: &'a str,
    /// Headers to send (authorization, x-moto-account-id).
    pub headers: Vec<(String, String)>,
}

impl Upstream<'_> {
    /// Sends to moto as `signing_service` (moto routes a request to a service backend by the
    /// credential scope of its Authorization header).
    pub(super) async fn call(
        &self,
        signing_service: &str,
        target: &str,
        body: &Value,
    ) -> Result<(u16, Value), String> {
        let headers = self.headers_for(signing_service);
        let mut headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        headers.push(("x-amz-target", target));
        headers.push(("content-type", "application/x-amz-json-1.1"));
        let (status, answer) = http::send(
            self.client,
            "POST",
            &format!("{}/", self.url),
            &headers,
            Bytes::from(body.to_string()),
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok((
            status,
            serde_json::from_slice(&answer).unwrap_or(Value::Null),
        ))
    }

    /// The request's headers, its authorization scoped to `signing_service`.
    fn headers_for(&self, signing_service: &str) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|(n, v)| {
                let v = if n == "authorization" {
                    rescope(v, signing_service)
                } else {
                    v.clone()
                };
                (n.clone(), v)
            })
            .collect()
    }

    /// The ARN of the Auto Scaling group `name_or_arn` names, if the account has it
    /// (CreateCapacityProvider's autoScalingGroupArn: "The Amazon Resource Name (ARN) that
    /// identifies the Auto Scaling group, or the Auto Scaling group name.").
    pub(super) async fn auto_scaling_group_arn(
        &self,
        name_or_arn: &str,
    ) -> Result<Option<String>, String> {
        let name = name_or_arn
            .rsplit_once("autoScalingGroupName/")
            .map_or(name_or_arn, |(_, name)| name);
        let headers = self.headers_for("autoscaling");
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let (status, body) = crate::aws::query::send(
            self.client,
            self.url,
            &headers,
            &crate::aws::query::describe_group_form(name),
        )
        .await?;
        if status != 200 {
            return Err(format!("DescribeAutoScalingGroups: {status} {body}"));
        }
        Ok(crate::aws::query::xml_value(&body, "AutoScalingGroupARN")
            .filter(|arn| !name_or_arn.starts_with("arn:") || arn == name_or_arn))
    }

    pub(super) async fn ecs(&self, operation: &str, body: &Value) -> Result<(u16, Value), String> {
        self.call(
            "ecs",
            &format!("AmazonEC2ContainerServiceV20141113.{operation}"),
            body,
        )
        .await
    }

    pub(super) async fn autoscaling(
        &self,
        operation: &str,
        body: &Value,
    ) -> Result<(u16, Value), String> {
        self.call(
            "application-autoscaling",
            &format!("AnyScaleFrontendService.{operation}"),
            body,
        )
        .await
    }
}

/// The Authorization header with its credential scope's service replaced
/// (`Credential=<key>/<date>/<region>/<service>/aws4_request`).
pub(super) fn rescope(authorization: &str, service: &str) -> String {
    let Some(start) = authorization.find("Credential=") else {
        return authorization.to_owned();
    };
    let rest = &authorization[start + "Credential=".len()..];
    let end = rest.find([',', ' ']).unwrap_or(rest.len());
    let parts: Vec<&str> = rest[..end].split('/').collect();
    if parts.len() != 5 {
        return authorization.to_owned();
    }
    let credential = format!(
        "{}/{}/{}/{service}/{}",
        parts[0], parts[1], parts[2], parts[4]
    );
    format!(
        "{}Credential={credential}{}",
        &authorization[..start],
        &rest[end..]
    )
}

/// Turns a failed upstream answer into the same error for the client.
pub(super) fn upstream_error(status: u16, body: &Value) -> Answer {
    let code = body["__type"]
        .as_str()
        .unwrap_or("ServerException")
        .rsplit('#')
        .next()
        .unwrap_or("ServerException")
        .to_owned();
    let message = body["message"]
        .as_str()
        .or_else(|| body["Message"].as_str())
        .unwrap_or("")
        .to_owned();
    Answer::Error {
        status,
        code,
        message,
    }
}
