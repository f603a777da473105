//! Query-protocol calls (form-encoded requests, XML answers) to moto, for what ECS refers to
//! outside itself: EC2 instances for container instances, and Auto Scaling groups for capacity
//! providers. The tests set these up through the proxy; the ECS model looks them up.

use bytes::Bytes;

use crate::http::{self, HttpClient};

/// The Authorization header the tests send for `service` (moto routes by its credential scope
/// and checks no signature).
pub(crate) fn authorization(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    )
}

/// Sends `form` to `url` with the headers given; the status and the XML answer.
pub async fn send(
    client: &HttpClient,
    url: &str,
    headers: &[(&str, &str)],
    form: &str,
) -> Result<(u16, String), String> {
    let mut headers = headers.to_vec();
    headers.push(("content-type", "application/x-www-form-urlencoded"));
    let (status, body) = http::send(
        client,
        "POST",
        &format!("{}/", url.trim_end_matches('/')),
        &headers,
        Bytes::from(form.to_owned()),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Sends `form` as a test would, to `service` through the proxy at `url` (the proxy's account).
pub async fn call(url: &str, service: &str, form: &str) -> Result<(u16, String), String> {
    let auth = authorization(service);
    send(
        &http::client(),
        url,
        &[("authorization", auth.as_str())],
        form,
    )
    .await
}

/// Every `<tag>value</tag>` in an XML document, in order, without duplicates.
pub fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut values: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        rest = &rest[start + open.len()..];
        let Some(end) = rest.find(&close) else { break };
        let value = rest[..end].to_owned();
        if !values.contains(&value) {
            values.push(value);
        }
        rest = &rest[end..];
    }
    values
}

/// The text of the first `<tag>` element of an XML answer.
pub fn xml_value(xml: &str, tag: &str) -> Option<String> {
    xml_values(xml, tag).into_iter().next()
}

/// The form of DescribeAutoScalingGroups for the group `name`.
pub fn describe_group_form(name: &str) -> String {
    format!(
        "Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.member.1={}",
        form_encode(name)
    )
}

/// Percent-encodes a form value.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Makes sure moto (behind the proxy at `url`, default account) has an Auto Scaling group
/// `name`, creating it with a launch configuration of its own when it has none; its ARN.
pub async fn auto_scaling_group(url: &str, name: &str) -> Result<String, String> {
    let describe = || async {
        let (status, body) = call(url, "autoscaling", &describe_group_form(name)).await?;
        if status != 200 {
            return Err(format!("DescribeAutoScalingGroups: {status} {body}"));
        }
        Ok(xml_value(&body, "AutoScalingGroupARN"))
    };
    if let Some(arn) = describe().await? {
        return Ok(arn);
    }
    let configuration = format!("{name}-configuration");
    for form in [
        format!(
            "Action=CreateLaunchConfiguration&Version=2011-01-01&LaunchConfigurationName={}&ImageId=ami-12c6146b&InstanceType=t3.micro",
            form_encode(&configuration)
        ),
        format!(
            "Action=CreateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName={}&LaunchConfigurationName={}&MinSize=0&MaxSize=2&AvailabilityZones.member.1=us-east-1a",
            form_encode(name),
            form_encode(&configuration)
        ),
    ] {
        let (status, body) = call(url, "autoscaling", &form).await?;
        if status != 200 {
            return Err(format!("{form}: {status} {body}"));
        }
    }
    describe()
        .await?
        .ok_or_else(|| format!("Auto Scaling group {name} not listed after its creation"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_values_in_order() {
        let xml =
            "<a><subnetId>s-1</subnetId><x/><subnetId>s-2</subnetId><subnetId>s-1</subnetId></a>";
        assert_eq!(xml_values(xml, "subnetId"), ["s-1", "s-2"]);
        assert_eq!(xml_value(xml, "subnetId").as_deref(), Some("s-1"));
        assert_eq!(xml_value(xml, "groupId"), None);
    }

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(form_encode("a b/c~d"), "a%20b%2Fc~d");
    }
}
