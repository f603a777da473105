//! A namespace's AWS identity from its annotations (pure): the role to assume, the Region, and
//! the session name CloudTrail shows.

use std::collections::BTreeMap;

use super::error::ReconcileError;
use crate::api::common::{AWS_REGION_ANNOTATION, AWS_ROLE_ANNOTATION};
use crate::aws::accounts::Identity;

/// The identity `annotations` give `namespace`; `external_id` comes from the Secret the
/// namespace names. A malformed role ARN or Region is refused by name, never sent to STS.
pub fn from_annotations(
    namespace: &str,
    annotations: &BTreeMap<String, String>,
    external_id: Option<String>,
) -> Result<Identity, ReconcileError> {
    let role_arn = annotations
        .get(AWS_ROLE_ANNOTATION)
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if let Some(role) = &role_arn
        && !is_role_arn(role)
    {
        return Err(ReconcileError::blocked(
            "InvalidNamespaceRole",
            format!(
                "namespace {namespace} annotation {AWS_ROLE_ANNOTATION}: {role:?} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)"
            ),
        ));
    }
    let region = annotations
        .get(AWS_REGION_ANNOTATION)
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if let Some(region) = &region
        && !is_region(region)
    {
        return Err(ReconcileError::blocked(
            "InvalidNamespaceRegion",
            format!(
                "namespace {namespace} annotation {AWS_REGION_ANNOTATION}: {region:?} is not an AWS Region (e.g. eu-west-1)"
            ),
        ));
    }
    Ok(Identity {
        role_arn,
        region,
        external_id,
        session_name: Identity::session_name_for(namespace),
    })
}

/// The refusal of a pass whose namespace's AWS identity (`current`) is not the one the object's
/// resources live under (`recorded` in its status): a pass would make them all again in the other
/// account, or clean up nothing there, so the object stops until a person decides.
pub fn changed(recorded: Option<&str>, current: &str, namespace: &str) -> Option<ReconcileError> {
    let recorded = recorded.filter(|r| *r != current)?;
    Some(ReconcileError::blocked(
        "AwsIdentityChanged",
        format!(
            "namespace {namespace}'s AWS identity is now {current}, but this object's resources live under {recorded}: \
             restore the namespace's {AWS_ROLE_ANNOTATION} / {AWS_REGION_ANNOTATION} annotations, or delete this object \
             (with the ecs.operator.dev/reconcile: disabled annotation first to leave its resources as they are) \
             and create it again to start over under the new identity"
        ),
    ))
}

/// The AWS partitions a role ARN may name.
const PARTITIONS: [&str; 8] = [
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// `arn:<partition>:iam::<12 digits>:role/<path/><name>`, the name 1-64 of `[\w+=,.@-]` (IAM's
/// role name rule), each path segment non-empty.
fn is_role_arn(value: &str) -> bool {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let ["arn", partition, "iam", "", account, resource] = parts.as_slice() else {
        return false;
    };
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return false;
    };
    let segments: Vec<&str> = path_and_name.split('/').collect();
    let Some((name, path)) = segments.split_last() else {
        return false;
    };
    PARTITIONS.contains(partition)
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
        && path
            .iter()
            .all(|segment| !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_graphic()))
}

/// Lower-case words and a number joined by dashes (`us-east-1`, `us-gov-west-1`,
/// `eusc-de-east-1`); the number without a leading zero.
fn is_region(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.starts_with('0')
        && number.parse::<u8>().is_ok_and(|n| n > 0)
}

/// Whether `value` is an external ID STS takes: 2-1224 of `[\w+=,.@:/-]`.
pub fn is_external_id(value: &str) -> bool {
    (2..=1224).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_namespace_without_annotations_uses_the_operators_identity() {
        let identity = from_annotations("shop", &BTreeMap::new(), None).expect("valid");
        assert!(identity.is_default());
        assert_eq!(identity.session_name, "ecs-operator-shop");
    }

    #[test]
    fn role_region_and_external_id_make_the_identity() {
        let identity = from_annotations(
            "shop",
            &annotations(&[
                (
                    AWS_ROLE_ANNOTATION,
                    " arn:aws:iam::111122223333:role/teams/shop ",
                ),
                (AWS_REGION_ANNOTATION, "eu-west-1"),
            ]),
            Some("secret-id".into()),
        )
        .expect("valid");
        assert_eq!(
            identity.role_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/teams/shop")
        );
        assert_eq!(identity.region.as_deref(), Some("eu-west-1"));
        assert_eq!(identity.external_id.as_deref(), Some("secret-id"));
        assert!(!identity.is_default());
        let region_only = from_annotations(
            "x",
            &annotations(&[(AWS_REGION_ANNOTATION, "us-gov-west-1")]),
            None,
        )
        .expect("valid");
        assert!(!region_only.is_default() && region_only.role_arn.is_none());
    }

    #[test]
    fn malformed_annotations_are_refused_by_name() {
        for (key, value, reason) in [
            (AWS_ROLE_ANNOTATION, "shop-role", "InvalidNamespaceRole"),
            (
                AWS_ROLE_ANNOTATION,
                "arn:aws:iam::1111:role/x",
                "InvalidNamespaceRole",
            ),
            (
                AWS_ROLE_ANNOTATION,
                "arn:aws:iam::111122223333:user/x",
                "InvalidNamespaceRole",
            ),
            (AWS_REGION_ANNOTATION, "Europe", "InvalidNamespaceRegion"),
            (AWS_REGION_ANNOTATION, "eu-west", "InvalidNamespaceRegion"),
            (
                AWS_REGION_ANNOTATION,
                "us-east-01",
                "InvalidNamespaceRegion",
            ),
            (
                AWS_ROLE_ANNOTATION,
                "arn:awsx:iam::111122223333:role/x",
                "InvalidNamespaceRole",
            ),
            (
                AWS_ROLE_ANNOTATION,
                "arn:aws:iam::111122223333:role/teams/",
                "InvalidNamespaceRole",
            ),
            (
                AWS_ROLE_ANNOTATION,
                "arn:aws:iam::111122223333:role/a b",
                "InvalidNamespaceRole",
            ),
        ] {
            let error =
                from_annotations("shop", &annotations(&[(key, value)]), None).expect_err(value);
            assert_eq!(error.reason(), reason, "{value}");
            assert!(error.to_string().contains(key), "{error}");
        }
    }

    #[test]
    fn a_changed_identity_stops_the_object_and_an_unrecorded_one_does_not() {
        assert!(changed(None, "operator@default", "shop").is_none());
        assert!(changed(Some("operator@default"), "operator@default", "shop").is_none());
        let error = changed(
            Some("arn:aws:iam::111122223333:role/a@default"),
            "arn:aws:iam::444455556666:role/b@default",
            "shop",
        )
        .expect("refused");
        assert_eq!(error.reason(), "AwsIdentityChanged");
        assert!(
            error
                .to_string()
                .contains("now arn:aws:iam::444455556666:role/b@default")
        );
    }

    #[test]
    fn real_roles_regions_and_external_ids_pass() {
        for role in [
            "arn:aws:iam::111122223333:role/shop",
            "arn:aws-cn:iam::111122223333:role/teams/shop/ecs-operator",
            "arn:aws-us-gov:iam::111122223333:role/a+b=c,d.e@f-g_h",
        ] {
            assert!(is_role_arn(role), "{role}");
        }
        for region in [
            "us-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "eusc-de-east-1",
            "us-isob-east-1",
        ] {
            assert!(is_region(region), "{region}");
        }
        assert!(is_external_id("tenant-42:shop/prod"));
        assert!(!is_external_id("x"));
        assert!(!is_external_id("has space"));
    }

    #[test]
    fn session_names_stay_within_what_sts_takes() {
        let long = "n".repeat(63);
        assert_eq!(Identity::session_name_for(&long).len(), 64);
    }
}
