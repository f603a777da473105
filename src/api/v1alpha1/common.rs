//! Types shared by the three kinds: deletion policy, AWS key/value shapes, schema helpers.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// The Kubernetes condition shape (`metav1.Condition`) used in every status, so kstatus-aware tools
/// (kubectl wait, Flux, Argo CD) read our health without extra configuration.
pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

/// API group of every kind this operator serves.
pub const GROUP: &str = "ecs.operator.dev";
/// API version of every kind this operator serves.
pub const VERSION: &str = "v1alpha1";
/// Annotation (`"true"`) that lets an object take over an AWS resource of its name that it did
/// not create (an ECS service, a scalable target).
pub const ADOPT_ANNOTATION: &str = "ecs.operator.dev/adopt";

/// With [`ADOPT_ANNOTATION`] on an EcsTaskDefinition: the revision number to take over when it
/// holds the spec's content (the one a service runs, as `ecs-operator import` writes it), rather
/// than the newest revision that does: adopting an identical later revision would roll every
/// service that follows the object onto it.
pub const ADOPT_REVISION_ANNOTATION: &str = "ecs.operator.dev/adopt-revision";
/// Annotation that pauses one object: with the value `disabled` the operator observes it and
/// reports drift, but makes no AWS write for it; deleting it then leaves AWS as it is.
pub const RECONCILE_ANNOTATION: &str = "ecs.operator.dev/reconcile";
/// Namespace annotation (`Delete` or `Retain`) deciding what deleting an object of the namespace
/// does in AWS when its spec does not say: a platform team marks production namespaces `Retain`,
/// so deleting the namespace (or an object) leaves ECS running.
pub const DELETION_POLICY_ANNOTATION: &str = "ecs.operator.dev/deletion-policy";
/// Namespace annotation naming the IAM role (`arn:aws:iam::<account>:role/<name>`) the objects
/// of the namespace are reconciled with, through STS AssumeRole: one AWS account per tenant.
pub const AWS_ROLE_ANNOTATION: &str = "ecs.operator.dev/aws-role-arn";
/// Namespace annotation naming the AWS Region the objects of the namespace live in.
pub const AWS_REGION_ANNOTATION: &str = "ecs.operator.dev/aws-region";
/// Namespace annotation naming a Secret of the operator's namespace whose key `external-id` is
/// the external ID the role's trust policy requires.
pub const AWS_EXTERNAL_ID_SECRET_ANNOTATION: &str = "ecs.operator.dev/aws-external-id-secret";
/// Category shared by all kinds, so `kubectl get ecs` lists them together.
pub const ECS_CATEGORY: &str = "ecs";

/// What deleting the object does in AWS: `Delete` (delete or deregister what it made) or `Retain`
/// (leave it). Unset: the namespace's `ecs.operator.dev/deletion-policy` annotation, else the
/// operator's `--default-deletion-policy` (Delete unless the platform team chose otherwise).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete (or deregister) what this object created in AWS.
    #[default]
    Delete,
    /// Leave the AWS resources in place; only the Kubernetes object goes away.
    Retain,
}

impl std::str::FromStr for DeletionPolicy {
    type Err = String;

    /// The spelling of the spec field, for the namespace annotation and the command line.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "Delete" => Ok(Self::Delete),
            "Retain" => Ok(Self::Retain),
            other => Err(format!(
                "{other:?} is not a deletion policy: use Delete or Retain"
            )),
        }
    }
}

impl DeletionPolicy {
    /// The policy that applies to an object: its spec's, else the namespace annotation's, else
    /// the operator's default. A namespace annotation that is not a policy is an error, never a
    /// silent fallback (that could delete what the namespace was marked to keep).
    pub fn effective(
        spec: Option<Self>,
        namespace_annotation: Option<&str>,
        default: Self,
    ) -> Result<Self, String> {
        match (spec, namespace_annotation) {
            (Some(policy), _) => Ok(policy),
            (None, Some(annotation)) => annotation.trim().parse(),
            (None, None) => Ok(default),
        }
    }
}

/// The status fields every kind shares, so that condition handling (and kstatus-based health in
/// kubectl, Flux and Argo CD) works the same for all of them.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileStatus {
    /// The `metadata.generation` this status describes.
    pub observed_generation: Option<i64>,
    /// Ready, Reconciling and Stalled conditions (kstatus), in the `metav1.Condition` shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The AWS identity the object's resources live under (`<role ARN or operator>@<Region or
    /// default>`, from its namespace's annotations): when the namespace's changes, the object
    /// stops instead of making its resources again in another account.
    pub aws_identity: Option<String>,
}

/// A name/value pair, as ECS uses for environment variables and proxy properties.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyValuePair {
    /// The name of the pair (for environment variables: the variable name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The value of the pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// An ECS resource tag (lower-case `key`/`value`, as the ECS API spells it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    /// Tag key: 1-128 characters; the prefix `aws:` is reserved by AWS.
    #[schemars(length(min = 1, max = 128))]
    pub key: String,
    /// Tag value: 0-256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub value: Option<String>,
}

/// A secret injected into a container or a log driver: `valueFrom` is a Secrets Manager ARN or an SSM
/// Parameter Store parameter name or ARN.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    /// The environment variable (or log option) name the secret is exposed as.
    pub name: String,
    /// Secrets Manager secret ARN (optionally with `:json-key:version-stage:version-id`), or an SSM
    /// parameter name or ARN.
    pub value_from: String,
}

/// A log driver configuration, used by containers and by Service Connect proxies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    /// The log driver: awslogs, awsfirelens, fluentd, gelf, journald, json-file, splunk or syslog.
    pub log_driver: LogDriver,
    /// Driver options, for example `awslogs-group` and `awslogs-stream-prefix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<std::collections::BTreeMap<String, String>>,
    /// Options whose values come from secrets (Secrets Manager or SSM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_options: Option<Vec<Secret>>,
}

/// Declares a string enum whose variants serialize to the AWS API's exact spelling.
///
/// The enum gets serde, schemars (a plain `enum` of strings in the CRD) and `as_str` for the
/// translation layer, which maps it onto the AWS SDK's own enum.
macro_rules! aws_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize, ::schemars::JsonSchema)]
        pub enum $name {
            $(
                #[allow(missing_docs)]
                #[serde(rename = $value)]
                $variant,
            )+
        }

        impl $name {
            /// The value exactly as the AWS API spells it.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)+
                }
            }

            /// The variant AWS spells `value`, if there is one.
            pub fn parse(value: &str) -> Option<Self> {
                match value {
                    $($value => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use aws_enum;

aws_enum! {
    /// A container log driver supported by ECS.
    LogDriver {
        JsonFile = "json-file",
        Syslog = "syslog",
        Journald = "journald",
        Gelf = "gelf",
        Fluentd = "fluentd",
        Awslogs = "awslogs",
        Splunk = "splunk",
        Awsfirelens = "awsfirelens",
    }
}

/// Schema for free-form JSON the API server keeps as written (a hook's `hookDetails`).
pub fn any_json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// Schema for a value that may be written as a number or a string (`cpu: 256` or `cpu: "256"`).
pub fn int_or_string_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "x-kubernetes-int-or-string": true })
}

/// Deserializes an optional string that users may have written as a bare number in YAML.
pub fn de_opt_string_or_int<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StringOrInt {
        Str(String),
        Int(i64),
    }
    Ok(
        Option::<StringOrInt>::deserialize(deserializer)?.map(|v| match v {
            StringOrInt::Str(s) => s,
            StringOrInt::Int(i) => i.to_string(),
        }),
    )
}

#[cfg(test)]
mod deletion_policy_tests {
    use super::DeletionPolicy::{self, Delete, Retain};

    #[test]
    fn the_spec_wins_then_the_namespace_then_the_default() {
        assert_eq!(
            DeletionPolicy::effective(Some(Delete), Some("Retain"), Retain),
            Ok(Delete)
        );
        assert_eq!(
            DeletionPolicy::effective(None, Some("Retain"), Delete),
            Ok(Retain)
        );
        assert_eq!(
            DeletionPolicy::effective(None, Some(" Delete "), Retain),
            Ok(Delete)
        );
        assert_eq!(DeletionPolicy::effective(None, None, Retain), Ok(Retain));
        assert_eq!(DeletionPolicy::effective(None, None, Delete), Ok(Delete));
    }

    #[test]
    fn a_namespace_annotation_that_is_no_policy_is_an_error_not_a_fallback() {
        let refused = DeletionPolicy::effective(None, Some("keep"), Delete).unwrap_err();
        assert!(
            refused.contains("\"keep\"") && refused.contains("Delete or Retain"),
            "{refused}"
        );
        assert_eq!(
            DeletionPolicy::effective(Some(Retain), Some("keep"), Delete),
            Ok(Retain)
        );
    }
}
